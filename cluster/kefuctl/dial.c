/*
 * kefuctl dnc: the do-not-call list through a running node, as the admin
 * (docs/dialing.md). add and remove are answered by the leader; list reads
 * a node's replica page by page.
 *
 * Exit status: 0 success; 1 the node refused (its Error is printed); 2 bad
 * usage.
 */
#include "cluster/kefuctl/ctl.h"

#include "lib/err.h"

#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIAL_TIMEOUT_MS 30000

static int dnc_change(int argc, char **argv, bool add)
{
	static const struct option opts[] = {
		{"reason", required_argument, NULL, 'r'},
		{"source", required_argument, NULL, 's'},
		{NULL, 0, NULL, 0},
	};
	Kefu__Envelope req = KEFU__ENVELOPE__INIT;
	Kefu__DncChange ch = KEFU__DNC_CHANGE__INIT;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r': ch.reason = optarg; break;
		case 's': ch.source = optarg; break;
		default: return ctl_usage_error("unknown option");
		}
	}
	if (optind + 1 != argc)
		return ctl_usage_error("give one number (MSISDN)");
	ch.msisdn = argv[optind];
	ch.has_add = 1;
	ch.add = add;
	req.body_case = KEFU__ENVELOPE__BODY_DNC_CHANGE;
	req.dnc_change = &ch;
	return ctl_admin_request(&req, DIAL_TIMEOUT_MS);
}

static int dnc_add(int argc, char **argv) { return dnc_change(argc, argv, true); }
static int dnc_remove(int argc, char **argv) { return dnc_change(argc, argv, false); }

struct listed {
	bool json;
	json_t *all;
};

static void each_page(void *arg, const ProtobufCMessage *page)
{
	const Kefu__DncListReply *r = (const Kefu__DncListReply *)page;
	struct listed *l = arg;

	for (size_t i = 0; i < r->n_entries; i++) {
		const Kefu__DncEntry *e = r->entries[i];
		char when[32];

		if (l->json) {
			json_t *o = json_object();

			json_object_set_new(o, "msisdn", json_string(e->msisdn ? e->msisdn : ""));
			json_object_set_new(o, "source", json_string(e->source ? e->source : ""));
			json_object_set_new(o, "reason", json_string(e->reason ? e->reason : ""));
			json_object_set_new(o, "by", json_string(e->by ? e->by : ""));
			json_object_set_new(o, "added_ms", json_integer((json_int_t)e->added_ms));
			json_array_append_new(l->all, o);
			continue;
		}
		ctl_time_text(e->added_ms, when, sizeof(when));
		printf("%-20s %-8s %s by %s  %s\n", e->msisdn ? e->msisdn : "",
		       e->source ? e->source : "", when, e->by ? e->by : "",
		       e->reason ? e->reason : "");
	}
}

static int dnc_list(int argc, char **argv)
{
	Kefu__Envelope req = KEFU__ENVELOPE__INIT;
	Kefu__DncList dl = KEFU__DNC_LIST__INIT;
	struct listed l = {false, json_array()};
	int r;

	if (argc == 2 && strcmp(argv[1], "--json") == 0)
		l.json = true;
	else if (argc != 1)
		return ctl_usage_error("dnc list takes only --json");
	req.body_case = KEFU__ENVELOPE__BODY_DNC_LIST;
	req.dnc_list = &dl;
	r = ctl_request_pages(&req, KEFU__ENVELOPE__BODY_DNC_LIST_REPLY, DIAL_TIMEOUT_MS,
			      each_page, &l);
	if (r == 0 && l.json) {
		json_t *o = json_object();

		json_object_set(o, "dnc", l.all);
		json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(o);
	}
	json_decref(l.all);
	return r;
}

int ctl_dnc(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} subs[] = {{"add", dnc_add}, {"remove", dnc_remove}, {"list", dnc_list}};

	if (argc < 2)
		return ctl_usage_error("dnc needs a subcommand: add, remove, list");
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (strcmp(argv[1], subs[i].name) == 0)
			return subs[i].fn(argc - 1, argv + 1);
	return ctl_usage_error("unknown dnc subcommand %s", argv[1]);
}
