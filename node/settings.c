/* The node's settings, shown. See settings.h. */
#include "node/settings.h"

#include "lib/conf.h"
#include "lib/digest.h"
#include "lib/err.h"
#include "lib/file.h"
#include "node/config_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALUE_MAX 4096
#define SETTINGS_FILE_MAX (16u << 20)

struct settings {
	const struct config *cfg;
	char self[64];
};

/* The SHA-256 of the file at path, "" when it cannot be read. */
static void file_sha(const char *path, char out[DIGEST_SHA256_HEX + 1])
{
	char *text;
	size_t len;

	out[0] = '\0';
	if (!*path || file_read_all(path, SETTINGS_FILE_MAX, &text, &len))
		return;
	digest_sha256_hex(text, len, out);
	free(text);
}

static void on_show(void *state, struct msg_peer *p, const Kefu__Envelope *e)
{
	struct settings *s = state;
	Kefu__Envelope out = KEFU__ENVELOPE__INIT;
	Kefu__ConfigShowReply rep = KEFU__CONFIG_SHOW_REPLY__INIT;
	Kefu__ConfigSetting *set = calloc(config_table_len, sizeof(*set));
	Kefu__ConfigSetting **ptr = calloc(config_table_len, sizeof(*ptr));
	char (*vals)[VALUE_MAX] = calloc(config_table_len, VALUE_MAX);
	char (*shas)[DIGEST_SHA256_HEX + 1] = calloc(config_table_len, DIGEST_SHA256_HEX + 1);

	if (!set || !ptr || !vals || !shas)
		abort();
	for (size_t i = 0; i < config_table_len; i++) {
		const struct conf_option *o = &config_table[i];

		kefu__config_setting__init(&set[i]);
		set[i].name = (char *)o->name;
		set[i].value = conf_format(o, s->cfg, vals[i], VALUE_MAX);
		set[i].has_cluster = set[i].has_is_default = 1;
		set[i].cluster = config_table_is_cluster(o->name);
		set[i].is_default = config_table_is_default(s->cfg, o);
		if (o->type == CONF_PATH) {
			file_sha(vals[i], shas[i]);
			set[i].file_sha256 = shas[i];
		}
		ptr[i] = &set[i];
	}
	rep.node = s->self;
	rep.settings = ptr;
	rep.n_settings = config_table_len;
	out.body_case = KEFU__ENVELOPE__BODY_CONFIG_SHOW_REPLY;
	out.config_show_reply = &rep;
	msg_send(p, &out, e->request_id);
	free(shas);
	free(vals);
	free(ptr);
	free(set);
}

static int settings_init(const struct node_ctx *ctx, void **state)
{
	struct settings *s = calloc(1, sizeof(*s));

	if (!s)
		abort();
	s->cfg = ctx->cfg;
	snprintf(s->self, sizeof(s->self), "%s", ctx->self);
	*state = s;
	return 0;
}

static void settings_stop(void *state)
{
	free(state);
}

static const struct msg_row settings_rows[] = {
	{KEFU__ENVELOPE__BODY_CONFIG_SHOW, "config_show", on_show, MSG_R_ADMIN, false, MSG_SMALL},
};

const struct component settings_service = {
	.name = "settings",
	.init = settings_init,
	.stop = settings_stop,
	.msgs = settings_rows,
	.nmsgs = sizeof(settings_rows) / sizeof(settings_rows[0]),
};
