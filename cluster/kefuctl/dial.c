/*
 * kefuctl dnc and campaign: the do-not-call list and the campaigns through a
 * running node, as the admin (docs/dialing.md). Changes are answered by the
 * leader; listings and show read a node's replica (dnc list page by page).
 *
 * Exit status: 0 success; 1 the node refused (its Error is printed); 2 bad
 * usage.
 */
#include "cluster/kefuctl/ctl.h"

#include "lib/err.h"
#include "lib/file.h"

#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIAL_TIMEOUT_MS 60000
#define NUMBERS_MAX 1000000
#define FILE_MAX (64u << 20)

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

/* ---- campaigns ---- */

static json_t *campaign_json(const Kefu__Campaign *c)
{
	json_t *o = json_object(), *rt = json_array();

	for (size_t i = 0; i < c->n_retries; i++) {
		json_t *r = json_object();

		json_object_set_new(r, "result", json_string(c->retries[i]->result));
		json_object_set_new(r, "max_attempts", json_integer(c->retries[i]->max_attempts));
		json_object_set_new(r, "interval_ms",
				    json_integer((json_int_t)c->retries[i]->interval_ms));
		json_array_append_new(rt, r);
	}
	json_object_set_new(o, "name", json_string(c->name ? c->name : ""));
	json_object_set_new(o, "kind", json_string(c->kind ? c->kind : ""));
	json_object_set_new(o, "mode", json_string(c->mode ? c->mode : ""));
	json_object_set_new(o, "state", json_string(c->state ? c->state : ""));
	json_object_set_new(o, "source", json_string(c->source ? c->source : ""));
	json_object_set_new(o, "query", c->query ? json_string(c->query) : json_null());
	json_object_set_new(o, "window", json_string(c->window ? c->window : ""));
	json_object_set_new(o, "weekdays_only", json_boolean(c->weekdays_only));
	json_object_set_new(o, "abandon_cap", json_real(c->abandon_cap / 1000.0));
	json_object_set_new(o, "abandon_window", json_string(c->abandon_window_ms == 86400000
								      ? "24h" : "30d"));
	json_object_set_new(o, "retries", rt);
	json_object_set_new(o, "contacts", json_integer((json_int_t)c->contacts));
	json_object_set_new(o, "created_ms", json_integer((json_int_t)c->created_ms));
	json_object_set_new(o, "created_by", json_string(c->created_by ? c->created_by : ""));
	return o;
}

static json_t *counts_json(Kefu__CampaignCount **c, size_t n)
{
	json_t *o = json_object();

	for (size_t i = 0; i < n; i++)
		json_object_set_new(o, c[i]->key, json_integer((json_int_t)c[i]->n));
	return o;
}

static void reply_print(const Kefu__CampaignReply *r, bool json)
{
	const Kefu__Campaign *c = r->campaign;

	if (json) {
		json_t *o = campaign_json(c);

		json_object_set_new(o, "pacer", json_string(r->pacer ? r->pacer : ""));
		json_object_set_new(o, "done", json_integer((json_int_t)r->done));
		json_object_set_new(o, "left", json_integer((json_int_t)r->left));
		json_object_set_new(o, "by_state", counts_json(r->by_state, r->n_by_state));
		json_object_set_new(o, "by_result", counts_json(r->by_result, r->n_by_result));
		json_object_set_new(o, "by_disposition",
				    counts_json(r->by_disposition, r->n_by_disposition));
		json_object_set_new(o, "placed", json_integer((json_int_t)r->placed));
		json_object_set_new(o, "abandon_rate", json_real(r->abandon_rate));
		json_object_set_new(o, "agents", json_integer(r->agents));
		json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(o);
		return;
	}
	printf("campaign %s  %s, %s, %s  state %s  pacer %s\n", c->name, c->kind, c->mode,
	       c->source, c->state, r->pacer && *r->pacer ? r->pacer : "-");
	printf("contacts %" PRIu64 "  done %" PRIu64 "  left %" PRIu64 "  placed %" PRIu64
	       "  abandon rate %.2f%% (cap %.1f%% over %s)  agents %u\n",
	       c->contacts, r->done, r->left, r->placed, r->abandon_rate * 100,
	       c->abandon_cap / 10.0, c->abandon_window_ms == 86400000 ? "24h" : "30d", r->agents);
	printf("window %s%s\n", c->window, c->weekdays_only ? ", weekdays only" : "");
	for (size_t i = 0; i < r->n_by_state; i++)
		printf("  %-10s %" PRIu64 "\n", r->by_state[i]->key, r->by_state[i]->n);
}

/* The numbers of a file: one a line, blank lines and # comments skipped. */
static int read_numbers(const char *path, char ***out, size_t *n)
{
	char *text, *p, *line;
	size_t len, cap = 0;
	int err = file_read_all(path, FILE_MAX, &text, &len);

	*out = NULL;
	*n = 0;
	if (err) {
		fprintf(stderr, "kefuctl: %s: %s\n", path, kf_strerror(err));
		return EXIT_USAGE;
	}
	for (p = text; p && *p; p = line) {
		char *end = strchr(p, '\n');

		line = end ? end + 1 : NULL;
		if (end)
			*end = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		for (end = p + strlen(p); end > p && (end[-1] == '\r' || end[-1] == ' ' ||
						     end[-1] == '\t');)
			*--end = '\0';
		if (!*p || *p == '#')
			continue;
		if (*n == NUMBERS_MAX) {
			fprintf(stderr, "kefuctl: %s has more than %d numbers\n", path, NUMBERS_MAX);
			err = EXIT_USAGE;
			break;
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 1024;
			*out = realloc(*out, cap * sizeof(**out));
			if (!*out)
				abort();
		}
		if (!((*out)[*n] = strdup(p)))
			abort();
		(*n)++;
	}
	free(text);
	return err;
}

static int campaign_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{"name", required_argument, NULL, 'n'},  {"kind", required_argument, NULL, 'k'},
		{"mode", required_argument, NULL, 'm'},  {"query", required_argument, NULL, 'q'},
		{"file", required_argument, NULL, 'f'},  {"from", required_argument, NULL, 'F'},
		{"window", required_argument, NULL, 'w'}, {"abandon-cap", required_argument, NULL, 'a'},
		{"abandon-window", required_argument, NULL, 'W'},
		{"caller-id", required_argument, NULL, 'c'}, {"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	Kefu__Envelope req = KEFU__ENVELOPE__INIT, *rep;
	Kefu__CampaignCreate cc = KEFU__CAMPAIGN_CREATE__INIT;
	Kefu__Campaign c = KEFU__CAMPAIGN__INIT;
	const char *file = NULL;
	char **numbers = NULL, *end;
	size_t n = 0;
	bool json = false;
	int opt, r, sources = 0;
	double cap;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'n': c.name = optarg; break;
		case 'k': c.kind = optarg; break;
		case 'm': c.mode = optarg; break;
		case 'q': c.source = "query"; c.query = optarg; sources++; break;
		case 'f': c.source = "file"; file = optarg; sources++; break;
		case 'F':
			if (strcmp(optarg, "callbacks") && strcmp(optarg, "visits"))
				return ctl_usage_error("--from is callbacks or visits");
			c.source = optarg;
			sources++;
			break;
		case 'w': c.window = optarg; break;
		case 'a':
			cap = strtod(optarg, &end);
			if (end == optarg || *end || cap < 0 || cap > 1)
				return ctl_usage_error("--abandon-cap is a fraction such as 0.03");
			c.has_abandon_cap = 1;
			c.abandon_cap = (uint32_t)(cap * 1000 + 0.5);
			break;
		case 'W':
			if (strcmp(optarg, "24h") && strcmp(optarg, "30d"))
				return ctl_usage_error("--abandon-window is 24h or 30d");
			c.has_abandon_window_ms = 1;
			c.abandon_window_ms = strcmp(optarg, "24h") == 0 ? 86400000ull
									 : 30ull * 86400000;
			break;
		case 'c': c.caller_id = optarg; break;
		case 'j': json = true; break;
		default: return ctl_usage_error("unknown option");
		}
	}
	if (optind < argc || !c.name || !c.kind || !c.mode || sources != 1)
		return ctl_usage_error("campaign create takes --name N --kind K --mode M and one of "
				       "--query Q, --file F, --from callbacks|visits");
	if (file && (r = read_numbers(file, &numbers, &n)))
		goto out;
	if (file && n == 0) {
		r = ctl_usage_error("%s has no number", file);
		goto out;
	}
	cc.campaign = &c;
	cc.numbers = numbers;
	cc.n_numbers = n;
	req.body_case = KEFU__ENVELOPE__BODY_CAMPAIGN_CREATE;
	req.campaign_create = &cc;
	if (!(r = ctl_request(&req, KEFU__ENVELOPE__BODY_CAMPAIGN_REPLY, DIAL_TIMEOUT_MS, &rep))) {
		reply_print(rep->campaign_reply, json);
		kefu__envelope__free_unpacked(rep, NULL);
	}
out:
	for (size_t i = 0; i < n; i++)
		free(numbers[i]);
	free(numbers);
	return r;
}

static int campaign_named(int argc, char **argv, const char *action)
{
	Kefu__Envelope req = KEFU__ENVELOPE__INIT, *rep;
	Kefu__CampaignAction ca = KEFU__CAMPAIGN_ACTION__INIT;
	Kefu__CampaignShow cs = KEFU__CAMPAIGN_SHOW__INIT;
	bool json = argc == 3 && strcmp(argv[2], "--json") == 0;
	int r;

	if (argc != 2 && !json)
		return ctl_usage_error("give the campaign's NAME (and --json)");
	if (action) {
		ca.name = argv[1];
		ca.action = (char *)action;
		req.body_case = KEFU__ENVELOPE__BODY_CAMPAIGN_ACTION;
		req.campaign_action = &ca;
	} else {
		cs.name = argv[1];
		req.body_case = KEFU__ENVELOPE__BODY_CAMPAIGN_SHOW;
		req.campaign_show = &cs;
	}
	if ((r = ctl_request(&req, KEFU__ENVELOPE__BODY_CAMPAIGN_REPLY, DIAL_TIMEOUT_MS, &rep)))
		return r;
	reply_print(rep->campaign_reply, json);
	kefu__envelope__free_unpacked(rep, NULL);
	return 0;
}

static int campaign_show(int argc, char **argv) { return campaign_named(argc, argv, NULL); }
static int campaign_start(int argc, char **argv) { return campaign_named(argc, argv, "start"); }
static int campaign_pause(int argc, char **argv) { return campaign_named(argc, argv, "pause"); }
static int campaign_resume(int argc, char **argv) { return campaign_named(argc, argv, "resume"); }
static int campaign_stop(int argc, char **argv) { return campaign_named(argc, argv, "stop"); }

static int campaign_list(int argc, char **argv)
{
	Kefu__Envelope req = KEFU__ENVELOPE__INIT, *rep;
	Kefu__CampaignList cl = KEFU__CAMPAIGN_LIST__INIT;
	const Kefu__CampaignListReply *lr;
	bool json = argc == 2 && strcmp(argv[1], "--json") == 0;
	int r;

	if (argc != 1 && !json)
		return ctl_usage_error("campaign list takes only --json");
	req.body_case = KEFU__ENVELOPE__BODY_CAMPAIGN_LIST;
	req.campaign_list = &cl;
	if ((r = ctl_request(&req, KEFU__ENVELOPE__BODY_CAMPAIGN_LIST_REPLY, DIAL_TIMEOUT_MS, &rep)))
		return r;
	lr = rep->campaign_list_reply;
	if (json) {
		json_t *a = json_array(), *o = json_object();

		for (size_t i = 0; i < lr->n_campaigns; i++)
			json_array_append_new(a, campaign_json(lr->campaigns[i]));
		json_object_set_new(o, "campaigns", a);
		json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(o);
	} else {
		for (size_t i = 0; i < lr->n_campaigns; i++) {
			const Kefu__Campaign *c = lr->campaigns[i];

			printf("%-20s %-10s %-12s %-9s %-8s contacts %" PRIu64 "\n", c->name, c->kind,
			       c->mode, c->source, c->state, c->contacts);
		}
	}
	kefu__envelope__free_unpacked(rep, NULL);
	return 0;
}

int ctl_campaign(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} subs[] = {{"create", campaign_create}, {"start", campaign_start},
		    {"pause", campaign_pause},   {"resume", campaign_resume},
		    {"stop", campaign_stop},     {"show", campaign_show},
		    {"list", campaign_list}};

	if (argc < 2)
		return ctl_usage_error("campaign needs a subcommand: create, start, pause, resume, "
				       "stop, show, list");
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (strcmp(argv[1], subs[i].name) == 0)
			return subs[i].fn(argc - 1, argv + 1);
	return ctl_usage_error("unknown campaign subcommand %s", argv[1]);
}
