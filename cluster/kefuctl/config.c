/*
 * kefuctl config: the settings of running nodes (docs/operations.md).
 *
 *   config show [--json] [--cluster-only]   one node's settings
 *   config check [--json]                   every node's cluster settings
 *                                           compared; exit 1 on a difference
 *   config set NAME=VALUE... [--dry-run] [--json]
 *                                           change the cluster configuration
 *   config edit [--force] [--json]          the same in $EDITOR, as a whole
 *   config history [--limit N] [--json]     its versions, newest first
 *
 * A cluster setting (node/config_table.h) must be the same on every node,
 * or two nodes treat the same caller differently; for a path, the file's
 * contents must be the same too (compared by SHA-256). check asks each
 * node of the target (--cluster names them all) and names every setting
 * that differs, with each node's value; a node that does not answer is a
 * difference too (its settings are unknown).
 *
 * Exit status: 0 the same everywhere (or shown); 1 a difference or a node
 * that did not answer; 2 bad usage.
 */
#include "cluster/kefuctl/ctl.h"

#include "lib/conf.h"
#include "lib/err.h"
#include "lib/file.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CONFIG_TIMEOUT_MS 15000

static int ask(size_t node, Kefu__Envelope **out)
{
	Kefu__Envelope req = KEFU__ENVELOPE__INIT;
	Kefu__ConfigShow cs = KEFU__CONFIG_SHOW__INIT;
	size_t at = node;
	int r;

	req.body_case = KEFU__ENVELOPE__BODY_CONFIG_SHOW;
	req.config_show = &cs;
	r = ctl_call_expect(&req, KEFU__ENVELOPE__BODY_CONFIG_SHOW_REPLY, CONFIG_TIMEOUT_MS, &at,
			    out);
	if (r == 0 && at != node) {
		kefu__envelope__free_unpacked(*out, NULL);
		*out = NULL;
		return EXIT_NEGATIVE;
	}
	return r;
}

/* A setting's value as compared: for a path, with its file's digest. */
static void value_of(const Kefu__ConfigSetting *s, char *buf, size_t cap)
{
	if (s->file_sha256)
		snprintf(buf, cap, "%s (sha256 %.12s)", s->value ? s->value : "",
			 *s->file_sha256 ? s->file_sha256 : "unreadable");
	else
		snprintf(buf, cap, "%s", s->value ? s->value : "");
}

static int config_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"cluster-only", no_argument, NULL, 'c'},
		{NULL, 0, NULL, 0},
	};
	const Kefu__ConfigShowReply *r;
	Kefu__Envelope *rep;
	bool json = false, only = false;
	json_t *all = NULL;
	int c, rc;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'c': only = true; break;
		default: return ctl_usage_error("unknown option");
		}
	}
	if (optind < argc)
		return ctl_usage_error("unexpected argument %s", argv[optind]);
	if ((rc = ask(0, &rep)))
		return rc;
	r = rep->config_show_reply;
	if (json)
		all = json_array();
	for (size_t i = 0; i < r->n_settings; i++) {
		const Kefu__ConfigSetting *s = r->settings[i];
		char v[4200];

		if (only && !s->cluster)
			continue;
		if (json) {
			json_t *o = json_object();

			json_object_set_new(o, "name", json_string(s->name));
			json_object_set_new(o, "value", json_string(s->value ? s->value : ""));
			json_object_set_new(o, "scope", json_string(s->cluster ? "cluster" : "node"));
			json_object_set_new(o, "default", json_boolean(s->is_default));
			if (s->file_sha256)
				json_object_set_new(o, "file_sha256", json_string(s->file_sha256));
			if (s->pending_restart)
				json_object_set_new(o, "pending_restart",
						    json_string(s->pending ? s->pending : ""));
			json_array_append_new(all, o);
			continue;
		}
		value_of(s, v, sizeof(v));
		printf("%-32s %-7s %s%s", s->name, s->cluster ? "cluster" : "node", v,
		       s->is_default ? "  (default)" : "");
		if (s->pending_restart)
			printf("  (%s after a restart)", s->pending ? s->pending : "");
		putchar('\n');
	}
	if (!json)
		printf("cluster configuration version %llu on %s\n",
		       (unsigned long long)r->version, r->node ? r->node : "");
	if (json) {
		json_t *o = json_object();

		json_object_set_new(o, "node", json_string(r->node ? r->node : ""));
		json_object_set_new(o, "version", json_integer((json_int_t)r->version));
		json_object_set_new(o, "settings", all);
		json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(o);
	}
	kefu__envelope__free_unpacked(rep, NULL);
	return 0;
}

static int config_check(int argc, char **argv)
{
	Kefu__Envelope *reps[CTL_NODES_MAX] = {NULL};
	const Kefu__ConfigShowReply *first = NULL;
	bool json = argc == 2 && strcmp(argv[1], "--json") == 0;
	json_t *diffs = json_array(), *missing = json_array();
	size_t n = ctl_target.nnodes, bad = 0;

	if (argc != 1 && !json)
		return ctl_usage_error("config check takes only --json");
	for (size_t i = 0; i < n; i++) {
		if (ask(i, &reps[i])) {
			json_array_append_new(missing, json_string(ctl_target.nodes[i]));
			bad++;
			continue;
		}
		if (!first)
			first = reps[i]->config_show_reply;
	}
	for (size_t i = 0; first && i < n; i++) {
		const Kefu__ConfigShowReply *r = reps[i] ? reps[i]->config_show_reply : NULL;

		if (!r || r->version == first->version)
			continue;
		bad++;
		{
			json_t *d = json_object(), *vals = json_object();

			for (size_t j = 0; j < n; j++) {
				const Kefu__ConfigShowReply *q =
					reps[j] ? reps[j]->config_show_reply : NULL;

				if (!q)
					continue;
				json_object_set_new(vals, q->node ? q->node : ctl_target.nodes[j],
						    json_integer((json_int_t)q->version));
				if (!json)
					printf("the cluster configuration's version differs: %s has "
					       "%llu\n", q->node ? q->node : ctl_target.nodes[j],
					       (unsigned long long)q->version);
			}
			json_object_set_new(d, "name", json_string("(version)"));
			json_object_set_new(d, "values", vals);
			json_array_append_new(diffs, d);
		}
		break;
	}
	for (size_t k = 0; first && k < first->n_settings; k++) {
		const Kefu__ConfigSetting *s0 = first->settings[k];
		char v0[4200], v[4200];
		bool same = true;

		if (!s0->cluster)
			continue;
		value_of(s0, v0, sizeof(v0));
		for (size_t i = 0; i < n && same; i++) {
			const Kefu__ConfigShowReply *r = reps[i] ? reps[i]->config_show_reply : NULL;

			if (!r)
				continue;
			/* The same table on every node of one build: the same index. */
			if (k >= r->n_settings || strcmp(r->settings[k]->name, s0->name)) {
				same = false;
				break;
			}
			value_of(r->settings[k], v, sizeof(v));
			same = strcmp(v, v0) == 0;
		}
		if (same)
			continue;
		bad++;
		{
			json_t *d = json_object(), *vals = json_object();

			for (size_t i = 0; i < n; i++) {
				const Kefu__ConfigShowReply *r =
					reps[i] ? reps[i]->config_show_reply : NULL;

				if (!r || k >= r->n_settings)
					continue;
				value_of(r->settings[k], v, sizeof(v));
				json_object_set_new(vals, r->node ? r->node : ctl_target.nodes[i],
						    json_string(v));
				if (!json)
					printf("%s differs: %s = %s\n", s0->name,
					       r->node ? r->node : ctl_target.nodes[i], v);
			}
			json_object_set_new(d, "name", json_string(s0->name));
			json_object_set_new(d, "values", vals);
			json_array_append_new(diffs, d);
		}
	}
	if (json) {
		json_t *o = json_object();

		json_object_set_new(o, "same", json_boolean(bad == 0));
		json_object_set_new(o, "differences", diffs);
		json_object_set_new(o, "unanswered", missing);
		json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(o);
	} else {
		for (size_t i = 0; i < json_array_size(missing); i++)
			printf("%s did not answer: its settings are unknown\n",
			       json_string_value(json_array_get(missing, i)));
		if (!bad)
			printf("the cluster settings are the same on all %zu nodes\n", n);
		json_decref(diffs);
		json_decref(missing);
	}
	for (size_t i = 0; i < n; i++)
		if (reps[i])
			kefu__envelope__free_unpacked(reps[i], NULL);
	return bad ? EXIT_NEGATIVE : 0;
}

/* ---- changing the cluster configuration ---- */

static json_t *changes_json(Kefu__ConfigChange **ch, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++) {
		json_t *o = json_object();

		json_object_set_new(o, "name", json_string(ch[i]->name ? ch[i]->name : ""));
		json_object_set_new(o, "old", json_string(ch[i]->old_value ? ch[i]->old_value : ""));
		json_object_set_new(o, "new", json_string(ch[i]->new_value ? ch[i]->new_value : ""));
		json_object_set_new(o, "restart", json_boolean(ch[i]->restart));
		json_array_append_new(a, o);
	}
	return a;
}

static void changes_print(Kefu__ConfigChange **ch, size_t n, const char *indent)
{
	for (size_t i = 0; i < n; i++)
		printf("%s%s: %s -> %s%s\n", indent, ch[i]->name, ch[i]->old_value,
		       ch[i]->new_value, ch[i]->restart ? "  (takes effect when each node restarts)"
							 : "");
}

static void json_put(json_t *o)
{
	json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(o);
}

/* The answer to a ConfigSet, printed. */
static void set_print(const Kefu__ConfigSetReply *r, bool json)
{
	if (json) {
		json_t *o = json_object();

		json_object_set_new(o, "version", json_integer((json_int_t)r->version));
		json_object_set_new(o, "dry_run", json_boolean(r->dry_run));
		json_object_set_new(o, "changes", changes_json(r->changes, r->n_changes));
		json_put(o);
		return;
	}
	if (r->n_changes == 0) {
		printf("no change: the cluster configuration (version %llu) already says so\n",
		       (unsigned long long)r->version);
		return;
	}
	if (r->dry_run)
		printf("would change (version %llu now):\n", (unsigned long long)r->version);
	else
		printf("cluster configuration version %llu, applied on every node:\n",
		       (unsigned long long)r->version);
	changes_print(r->changes, r->n_changes, "  ");
}

static int set_send(Kefu__ConfigSet *cs, bool sure, Kefu__Envelope **rep)
{
	Kefu__Envelope req = KEFU__ENVELOPE__INIT;
	size_t at = 0;

	req.body_case = KEFU__ENVELOPE__BODY_CONFIG_SET;
	req.config_set = cs;
	if (sure) /* the same settings again change nothing: safe to repeat */
		return ctl_request_sure(&req, KEFU__ENVELOPE__BODY_CONFIG_SET_REPLY,
					CONFIG_TIMEOUT_MS, 3, "kefuctl config history tells", rep);
	return ctl_call_expect(&req, KEFU__ENVELOPE__BODY_CONFIG_SET_REPLY, CONFIG_TIMEOUT_MS,
			       &at, rep);
}

static int config_set(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"dry-run", no_argument, NULL, 'n'},
		{NULL, 0, NULL, 0},
	};
	Kefu__ConfigSet cs = KEFU__CONFIG_SET__INIT;
	Kefu__Envelope *rep;
	bool json = false;
	int c, rc;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'n': cs.has_dry_run = cs.dry_run = 1; break;
		default: return ctl_usage_error("unknown option");
		}
	}
	if (optind >= argc)
		return ctl_usage_error("config set needs NAME=VALUE...");
	for (int i = optind; i < argc; i++)
		if (!strchr(argv[i], '=') || argv[i][0] == '=')
			return ctl_usage_error("%s: expected NAME=VALUE", argv[i]);
	cs.sets = argv + optind;
	cs.n_sets = (size_t)(argc - optind);
	if ((rc = set_send(&cs, true, &rep)))
		return rc;
	set_print(rep->config_set_reply, json);
	kefu__envelope__free_unpacked(rep, NULL);
	return 0;
}

/* The cluster settings of a ConfigShowReply as a file to edit. */
static void edit_write(FILE *f, const Kefu__ConfigShowReply *r)
{
	fprintf(f, "# The cluster configuration, version %llu (from %s).\n"
		   "# Every node runs with these settings. Change values, uncomment a default to\n"
		   "# change it, comment out or delete a line to go back to the default. The\n"
		   "# node's own settings (name, addresses, paths of its own) stay in each\n"
		   "# node's kefud.conf. Save and quit to check and apply; an empty file changes\n"
		   "# nothing.\n\n",
		(unsigned long long)r->version, r->node ? r->node : "");
	for (size_t i = 0; i < r->n_settings; i++) {
		const Kefu__ConfigSetting *s = r->settings[i];
		const char *v = s->pending_restart && s->pending ? s->pending : s->value;

		if (!s->cluster)
			continue;
		fprintf(f, "%s%s = ", s->is_default && !s->pending_restart ? "# " : "", s->name);
		conf_write_quoted(f, v ? v : "");
		fputc('\n', f);
	}
}

/* Whether text has a line that is not blank or a comment. */
static bool edit_has_settings(const char *text)
{
	for (const char *p = text; *p;) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		size_t k = strspn(p, " \t\r");

		if (k < len && p[k] != '#')
			return true;
		p += len + (e ? 1 : 0);
	}
	return false;
}

static int edit_run_editor(const char *path)
{
	const char *ed = getenv("VISUAL");
	pid_t pid;
	int st;

	if (!ed || !*ed)
		ed = getenv("EDITOR");
	if (!ed || !*ed)
		ed = "vi";
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* $EDITOR may carry arguments ("emacs -nw"): the shell splits it. */
		execl("/bin/sh", "sh", "-c", "exec $0 \"$1\"", ed, path, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : KF_ESTATE;
}

static bool edit_confirm(void)
{
	char line[16];

	printf("apply these changes to every node? [y/N] ");
	fflush(stdout);
	return fgets(line, sizeof(line), stdin) && (line[0] == 'y' || line[0] == 'Y');
}

static int config_edit(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"force", no_argument, NULL, 'f'},
		{NULL, 0, NULL, 0},
	};
	Kefu__ConfigSet cs = KEFU__CONFIG_SET__INIT;
	Kefu__Envelope *shown = NULL, *rep = NULL;
	const Kefu__ConfigSetReply *sr;
	char path[] = "/tmp/kefu-config-XXXXXX";
	bool json = false, force = false;
	char *text = NULL;
	size_t len;
	FILE *f;
	int c, fd, rc;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'f': force = true; break;
		default: return ctl_usage_error("unknown option");
		}
	}
	if (optind < argc)
		return ctl_usage_error("unexpected argument %s", argv[optind]);
	if (!force && !isatty(STDIN_FILENO))
		return ctl_usage_error("config edit asks before it applies: run it from a terminal, "
				       "or give --force");
	if ((rc = ask(0, &shown)))
		return rc;
	if ((fd = mkstemp(path)) < 0 || !(f = fdopen(fd, "w"))) {
		fprintf(stderr, "kefuctl: cannot make a file to edit: %s\n", strerror(errno));
		kefu__envelope__free_unpacked(shown, NULL);
		return EXIT_USAGE;
	}
	edit_write(f, shown->config_show_reply);
	rc = fclose(f) ? -errno : 0;
	if (rc == 0 && (rc = edit_run_editor(path)))
		fprintf(stderr, "kefuctl: the editor failed; nothing changed\n");
	if (rc == 0 && (rc = file_read_all(path, 1u << 20, &text, &len)))
		fprintf(stderr, "kefuctl: cannot read %s back: %s\n", path, kf_strerror(rc));
	unlink(path);
	if (rc) {
		kefu__envelope__free_unpacked(shown, NULL);
		return EXIT_NEGATIVE;
	}
	if (!edit_has_settings(text) && shown->config_show_reply->version == 0) {
		printf("nothing to apply\n");
		goto out;
	}
	/* Checked and diffed by the leader first; applied only against the
	 * version shown, so that a change made meanwhile is not undone. */
	cs.text = text;
	cs.has_replace = cs.replace = 1;
	cs.has_base_version = 1;
	cs.base_version = shown->config_show_reply->version;
	cs.has_dry_run = cs.dry_run = 1;
	if ((rc = set_send(&cs, false, &rep)))
		goto out;
	sr = rep->config_set_reply;
	if (sr->n_changes == 0) {
		set_print(sr, json);
		goto out;
	}
	if (!json) {
		printf("changes:\n");
		changes_print(sr->changes, sr->n_changes, "  ");
	}
	if (!force && !edit_confirm()) {
		printf("nothing changed\n");
		goto out;
	}
	kefu__envelope__free_unpacked(rep, NULL);
	rep = NULL;
	cs.dry_run = 0;
	if ((rc = set_send(&cs, false, &rep)))
		goto out;
	set_print(rep->config_set_reply, json);
out:
	free(text);
	if (rep)
		kefu__envelope__free_unpacked(rep, NULL);
	kefu__envelope__free_unpacked(shown, NULL);
	return rc;
}

static int config_history(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"limit", required_argument, NULL, 'l'},
		{NULL, 0, NULL, 0},
	};
	Kefu__Envelope req = KEFU__ENVELOPE__INIT, *rep;
	Kefu__ConfigHistory ch = KEFU__CONFIG_HISTORY__INIT;
	const Kefu__ConfigHistoryReply *r;
	bool json = false;
	size_t at = 0;
	json_t *all;
	int c, rc;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'l': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			if (*end || !*optarg || v == 0 || v > 1000)
				return ctl_usage_error("--limit is 1 to 1000");
			ch.has_limit = 1;
			ch.limit = (uint32_t)v;
			break;
		}
		default: return ctl_usage_error("unknown option");
		}
	}
	if (optind < argc)
		return ctl_usage_error("unexpected argument %s", argv[optind]);
	req.body_case = KEFU__ENVELOPE__BODY_CONFIG_HISTORY;
	req.config_history = &ch;
	if ((rc = ctl_call_expect(&req, KEFU__ENVELOPE__BODY_CONFIG_HISTORY_REPLY,
				  CONFIG_TIMEOUT_MS, &at, &rep)))
		return rc;
	r = rep->config_history_reply;
	all = json_array();
	for (size_t i = 0; i < r->n_versions; i++) {
		const Kefu__ClusterConfig *v = r->versions[i];
		time_t sec = (time_t)(v->time_ms / 1000);
		struct tm tm;
		char when[32];

		localtime_r(&sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		if (json) {
			json_t *o = json_object();

			json_object_set_new(o, "version", json_integer((json_int_t)v->version));
			json_object_set_new(o, "time", json_string(when));
			json_object_set_new(o, "time_ms", json_integer((json_int_t)v->time_ms));
			json_object_set_new(o, "actor", json_string(v->actor ? v->actor : ""));
			json_object_set_new(o, "node", json_string(v->node ? v->node : ""));
			json_object_set_new(o, "changes", changes_json(v->changes, v->n_changes));
			json_object_set_new(o, "text", json_string(v->text ? v->text : ""));
			json_array_append_new(all, o);
			continue;
		}
		printf("version %llu  %s  by %s on %s%s\n", (unsigned long long)v->version, when,
		       v->actor, v->node,
		       v->n_changes == 0 ? "  (first: the settings of the first leader's file)"
					 : "");
		changes_print(v->changes, v->n_changes, "    ");
	}
	if (json) {
		json_t *o = json_object();

		json_object_set_new(o, "versions", all);
		json_put(o);
	} else {
		if (r->n_versions == 0)
			printf("no cluster configuration written yet\n");
		json_decref(all);
	}
	kefu__envelope__free_unpacked(rep, NULL);
	return 0;
}

int ctl_config(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} subs[] = {
		{"show", config_show},   {"check", config_check}, {"set", config_set},
		{"edit", config_edit},   {"history", config_history},
	};

	for (size_t i = 0; argc >= 2 && i < sizeof(subs) / sizeof(subs[0]); i++)
		if (strcmp(argv[1], subs[i].name) == 0)
			return subs[i].fn(argc - 1, argv + 1);
	return ctl_usage_error("config needs a subcommand: show, check, set, edit, history");
}
