/*
 * kefuctl config: the settings of running nodes (docs/operations.md).
 *
 *   config show [--json] [--cluster-only]   one node's settings
 *   config check [--json]                   every node's cluster settings
 *                                           compared; exit 1 on a difference
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

#include "lib/err.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
			json_array_append_new(all, o);
			continue;
		}
		value_of(s, v, sizeof(v));
		printf("%-32s %-7s %s%s\n", s->name, s->cluster ? "cluster" : "node", v,
		       s->is_default ? "  (default)" : "");
	}
	if (json) {
		json_t *o = json_object();

		json_object_set_new(o, "node", json_string(r->node ? r->node : ""));
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

int ctl_config(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "show") == 0)
		return config_show(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "check") == 0)
		return config_check(argc - 1, argv + 1);
	return ctl_usage_error("config needs a subcommand: show, check");
}
