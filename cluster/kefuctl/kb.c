/*
 * kefuctl kb: the knowledge base through a running node, as the admin
 * (docs/kb.md). import reads JSON lines (storage/kbfile.h), checks every
 * line first and sends nothing when one is bad; it then sends the articles
 * in writes of at most IMPORT_CHUNK, each line with a reference of its own
 * (its "ref", or the SHA-256 of the line), so a write sent again after a
 * lost answer, or a file imported twice, makes no article twice.
 *
 * Exit status: 0 success; 1 the node refused (its Error is printed) or
 * nothing was found; 2 bad usage or a file that cannot be read.
 */
#include "cluster/kefuctl/ctl.h"

#include "lib/digest.h"
#include "lib/err.h"
#include "storage/kbfile.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KB_TIMEOUT_MS 60000
#define IMPORT_CHUNK 500
#define IMPORT_CHUNK_BYTES (2u * 1024 * 1024)
#define IMPORT_RETRIES 5

#define S(x) ((x) ? (x) : "")

struct kb_args {
	bool json;
	uint32_t limit;
	const char *category, *note;
	uint64_t id;
	const char *query;
};

/* Options, then at most one operand: an ID (want_id) or the query. */
static int kb_args(int argc, char **argv, bool want_id, bool want_query, struct kb_args *a)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"limit", required_argument, NULL, 'l'},
		{"category", required_argument, NULL, 'c'},
		{"note", required_argument, NULL, 'n'},
		{NULL, 0, NULL, 0},
	};
	uint64_t v;
	int c;

	memset(a, 0, sizeof(*a));
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j': a->json = true; break;
		case 'l':
			if (ctl_parse_u64(optarg, 1, 100, &v))
				return ctl_usage_error("--limit takes 1..100");
			a->limit = (uint32_t)v;
			break;
		case 'c': a->category = optarg; break;
		case 'n': a->note = optarg; break;
		default: return ctl_usage_error("unknown option");
		}
	}
	if (want_id) {
		if (optind + 1 != argc || ctl_parse_u64(argv[optind], 1, UINT64_MAX >> 17, &a->id))
			return ctl_usage_error("give one article ID (a number)");
	} else if (want_query) {
		if (optind + 1 != argc || !*argv[optind])
			return ctl_usage_error("give one QUERY (quote it when it has spaces)");
		a->query = argv[optind];
	} else if (optind < argc) {
		return ctl_usage_error("unexpected argument %s", argv[optind]);
	}
	return 0;
}

static void print_json(json_t *j)
{
	json_dumpf(j, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(j);
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* ---- import ---- */

struct lines {
	Kefu__KbArticleIn **a;
	size_t *lineno;
	size_t n, cap;
};

static void lines_free(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		kefu__kb_article_in__free_unpacked(l->a[i], NULL);
	free(l->a);
	free(l->lineno);
}

/* Every line of path parsed; bad lines are printed, and then none is kept. */
static int read_lines(const char *path, struct lines *l)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	char *line = NULL, why[KBFILE_WHY_MAX];
	size_t cap = 0, no = 0, bad = 0;
	ssize_t len;

	if (!f) {
		fprintf(stderr, "kefuctl: %s: %s\n", path, strerror(errno));
		return EXIT_USAGE;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		Kefu__KbArticleIn *a;
		char ref[DIGEST_SHA256_HEX + 1];

		no++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		if (len == 0)
			continue;
		if (kbfile_line(line, (size_t)len, &a, why, sizeof(why))) {
			if (bad++ < 20)
				fprintf(stderr, "kefuctl: %s line %zu: %s\n", path, no, why);
			continue;
		}
		if (!a->client_ref && !a->id) {
			digest_sha256_hex(line, (size_t)len, ref);
			ref[32] = '\0';
			a->client_ref = strdup(ref);
			if (!a->client_ref)
				abort();
		}
		if (l->n == l->cap) {
			l->cap = l->cap ? l->cap * 2 : 256;
			l->a = realloc(l->a, l->cap * sizeof(*l->a));
			l->lineno = realloc(l->lineno, l->cap * sizeof(*l->lineno));
			if (!l->a || !l->lineno)
				abort();
		}
		l->a[l->n] = a;
		l->lineno[l->n++] = no;
	}
	free(line);
	if (ferror(f)) {
		fprintf(stderr, "kefuctl: %s: %s\n", path, strerror(errno));
		bad++;
	}
	if (f != stdin)
		fclose(f);
	if (bad) {
		fprintf(stderr, "kefuctl: %zu bad line%s in %s: nothing imported\n", bad,
			bad == 1 ? "" : "s", path);
		return EXIT_USAGE;
	}
	if (l->n == 0) {
		fprintf(stderr, "kefuctl: %s has no article\n", path);
		return EXIT_USAGE;
	}
	return 0;
}

static int kb_import(int argc, char **argv)
{
	struct kb_args a;
	struct lines l = {0};
	json_t *ids = json_array();
	size_t done = 0;
	int r;

	if ((r = kb_args(argc, argv, false, true, &a)))
		goto out;
	if ((r = read_lines(a.query, &l)))
		goto out;
	while (done < l.n) {
		Kefu__Envelope req = KEFU__ENVELOPE__INIT, *rep = NULL;
		Kefu__KbWrite w = KEFU__KB_WRITE__INIT;
		size_t bytes = 0;
		char again[200];

		w.articles = l.a + done;
		while (done + w.n_articles < l.n && w.n_articles < IMPORT_CHUNK &&
		       (bytes += kefu__kb_article_in__get_packed_size(l.a[done + w.n_articles])) <
			       IMPORT_CHUNK_BYTES)
			w.n_articles++;
		if (w.n_articles == 0)
			w.n_articles = 1;
		req.body_case = KEFU__ENVELOPE__BODY_KB_WRITE;
		req.kb_write = &w;
		snprintf(again, sizeof(again), "lines %zu to %zu may or may not be imported; "
			 "importing the file again makes no article twice", l.lineno[done],
			 l.lineno[done + w.n_articles - 1]);
		r = ctl_request_sure(&req, KEFU__ENVELOPE__BODY_KB_WRITE_REPLY, KB_TIMEOUT_MS,
				     IMPORT_RETRIES, again, &rep);
		if (r) {
			fprintf(stderr, "kefuctl: stopped at the write of lines %zu to %zu (article N "
					"of a refusal counts from line %zu); %zu articles imported "
					"before it\n", l.lineno[done],
				l.lineno[done + w.n_articles - 1], l.lineno[done], done);
			goto out;
		}
		for (size_t i = 0; i < rep->kb_write_reply->n_ids; i++)
			json_array_append_new(ids, json_integer((json_int_t)rep->kb_write_reply->ids[i]));
		done += w.n_articles;
		kefu__envelope__free_unpacked(rep, NULL);
	}
	if (a.json) {
		json_t *o = json_object();

		json_object_set_new(o, "imported", json_integer((json_int_t)done));
		json_object_set(o, "ids", ids);
		print_json(o);
	} else {
		printf("imported %zu article%s", done, done == 1 ? "" : "s");
		if (json_array_size(ids))
			printf(" (ids %" JSON_INTEGER_FORMAT " to %" JSON_INTEGER_FORMAT ")",
			       json_integer_value(json_array_get(ids, 0)),
			       json_integer_value(json_array_get(ids, json_array_size(ids) - 1)));
		putchar('\n');
	}
out:
	json_decref(ids);
	lines_free(&l);
	return r;
}

/* ---- search ---- */

static int kb_search(int argc, char **argv)
{
	Kefu__Envelope req = KEFU__ENVELOPE__INIT, *rep;
	Kefu__KbSearch s = KEFU__KB_SEARCH__INIT;
	const Kefu__KbSearchReply *sr;
	struct kb_args a;
	int r;

	if ((r = kb_args(argc, argv, false, true, &a)))
		return r;
	s.query = (char *)a.query;
	s.category = (char *)a.category;
	s.has_limit = a.limit != 0;
	s.limit = a.limit;
	req.body_case = KEFU__ENVELOPE__BODY_KB_SEARCH;
	req.kb_search = &s;
	if ((r = ctl_request(&req, KEFU__ENVELOPE__BODY_KB_SEARCH_REPLY, KB_TIMEOUT_MS, &rep)))
		return r;
	sr = rep->kb_search_reply;
	if (a.json) {
		json_t *res = json_array(), *o = json_object();

		for (size_t i = 0; i < sr->n_results; i++) {
			const Kefu__KbHit *h = sr->results[i];
			json_t *x = json_object();

			json_object_set_new(x, "id", json_integer((json_int_t)h->id));
			json_object_set_new(x, "version", json_integer(h->version));
			json_object_set_new(x, "title", json_string(S(h->title)));
			json_object_set_new(x, "score", json_real(h->score));
			json_object_set_new(x, "snippet", json_string(S(h->snippet)));
			json_object_set_new(x, "exact", json_boolean(h->exact));
			json_object_set_new(x, "category", json_string(S(h->category)));
			json_array_append_new(res, x);
		}
		json_object_set_new(o, "results", res);
		print_json(o);
	} else {
		for (size_t i = 0; i < sr->n_results; i++) {
			const Kefu__KbHit *h = sr->results[i];

			printf("%" PRIu64 " v%u %.3f %s [%s]\n    %s\n", h->id, h->version, h->score,
			       S(h->title), S(h->category), S(h->snippet));
		}
		if (sr->n_results == 0)
			printf("no article matches\n");
	}
	r = sr->n_results ? 0 : EXIT_NEGATIVE;
	kefu__envelope__free_unpacked(rep, NULL);
	return r;
}

/* ---- show and actions ---- */

static json_t *words_json(char **w, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(w[i]));
	return a;
}

static json_t *version_json(const Kefu__KbVersion *v)
{
	json_t *o = json_object(), *tiers = json_array();

	for (size_t i = 0; i < v->n_tiers; i++)
		json_array_append_new(tiers, json_integer(v->tiers[i]));
	json_object_set_new(o, "version", json_integer(v->version));
	json_object_set_new(o, "state", json_string(S(v->state)));
	json_object_set_new(o, "title", json_string(S(v->title)));
	json_object_set_new(o, "category", json_string(S(v->category)));
	json_object_set_new(o, "keywords", words_json(v->keywords, v->n_keywords));
	json_object_set_new(o, "tags", words_json(v->tags, v->n_tags));
	json_object_set_new(o, "tiers", tiers);
	json_object_set_new(o, "cities", words_json(v->cities, v->n_cities));
	json_object_set_new(o, "valid_from_ms", json_integer((json_int_t)v->valid_from_ms));
	json_object_set_new(o, "valid_to_ms", json_integer((json_int_t)v->valid_to_ms));
	json_object_set_new(o, "review_by_ms", json_integer((json_int_t)v->review_by_ms));
	json_object_set_new(o, "author", json_string(S(v->author)));
	json_object_set_new(o, "created_ms", json_integer((json_int_t)v->created_ms));
	json_object_set_new(o, "submitted_by", str_or_null(v->submitted_by));
	json_object_set_new(o, "approved_by", str_or_null(v->approved_by));
	json_object_set_new(o, "approved_ms", json_integer((json_int_t)v->approved_ms));
	json_object_set_new(o, "note", str_or_null(v->note));
	json_object_set_new(o, "body", str_or_null(v->body));
	return o;
}

static void show_print(const Kefu__KbShowReply *sr, bool json)
{
	const Kefu__KbArticle *a = sr->article;
	const Kefu__KbStats *st = sr->stats;

	if (json) {
		json_t *o = json_object(), *vs = json_array();

		for (size_t i = 0; i < sr->n_versions; i++)
			json_array_append_new(vs, version_json(sr->versions[i]));
		json_object_set_new(o, "id", json_integer((json_int_t)a->id));
		json_object_set_new(o, "state", json_string(S(a->state)));
		json_object_set_new(o, "live", json_integer(a->live));
		json_object_set_new(o, "review", json_integer(a->review));
		json_object_set_new(o, "latest", json_integer(a->latest));
		json_object_set_new(o, "title", json_string(S(a->title)));
		json_object_set_new(o, "versions", vs);
		if (st) {
			json_object_set_new(o, "views", json_integer((json_int_t)st->views));
			json_object_set_new(o, "used", json_integer((json_int_t)st->used));
			json_object_set_new(o, "helpful", json_integer((json_int_t)st->helpful));
			json_object_set_new(o, "unhelpful", json_integer((json_int_t)st->unhelpful));
		}
		print_json(o);
		return;
	}
	printf("article %" PRIu64 "  %s  live v%u  review v%u  latest v%u\n", a->id, S(a->state),
	       a->live, a->review, a->latest);
	if (st)
		printf("views %" PRIu64 "  used %" PRIu64 "  helpful %" PRIu64 "  not helpful %" PRIu64
		       "\n", st->views, st->used, st->helpful, st->unhelpful);
	for (size_t i = 0; i < sr->n_versions; i++) {
		const Kefu__KbVersion *v = sr->versions[i];
		char made[32], ok[32];

		ctl_time_text(v->created_ms, made, sizeof(made));
		ctl_time_text(v->approved_ms, ok, sizeof(ok));
		printf("v%u %-10s %s  [%s]  by %s at %s", v->version, S(v->state), S(v->title),
		       S(v->category), S(v->author), made);
		if (v->approved_by)
			printf(", approved by %s at %s", v->approved_by, ok);
		if (v->note)
			printf(" (%s)", v->note);
		putchar('\n');
		if (v->body)
			printf("    %s\n", v->body);
	}
}

static int kb_show(int argc, char **argv)
{
	Kefu__Envelope req = KEFU__ENVELOPE__INIT, *rep;
	Kefu__KbShow s = KEFU__KB_SHOW__INIT;
	struct kb_args a;
	int r;

	if ((r = kb_args(argc, argv, true, false, &a)))
		return r;
	s.has_id = 1;
	s.id = a.id;
	req.body_case = KEFU__ENVELOPE__BODY_KB_SHOW;
	req.kb_show = &s;
	if ((r = ctl_request(&req, KEFU__ENVELOPE__BODY_KB_SHOW_REPLY, KB_TIMEOUT_MS, &rep)))
		return r;
	show_print(rep->kb_show_reply, a.json);
	kefu__envelope__free_unpacked(rep, NULL);
	return 0;
}

static int kb_action(int argc, char **argv, const char *action)
{
	Kefu__Envelope req = KEFU__ENVELOPE__INIT, *rep;
	Kefu__KbAction ka = KEFU__KB_ACTION__INIT;
	struct kb_args a;
	char again[160];
	int r;

	if ((r = kb_args(argc, argv, true, false, &a)))
		return r;
	if (strcmp(action, "reject") == 0 && !a.note)
		return ctl_usage_error("reject needs --note saying why");
	ka.has_id = 1;
	ka.id = a.id;
	ka.action = (char *)action;
	ka.note = (char *)a.note;
	req.body_case = KEFU__ENVELOPE__BODY_KB_ACTION;
	req.kb_action = &ka;
	snprintf(again, sizeof(again), "kefuctl kb show %" PRIu64 " tells whether the %s was "
		 "applied", a.id, action);
	/* An action applied twice is refused the second time (the state moved
	 * on), so one attempt: the answer of a lost one is read with show. */
	if ((r = ctl_request_sure(&req, KEFU__ENVELOPE__BODY_KB_SHOW_REPLY, KB_TIMEOUT_MS, 0, again,
				  &rep)))
		return r;
	show_print(rep->kb_show_reply, a.json);
	kefu__envelope__free_unpacked(rep, NULL);
	return 0;
}

static int kb_submit(int argc, char **argv) { return kb_action(argc, argv, "submit"); }
static int kb_approve(int argc, char **argv) { return kb_action(argc, argv, "approve"); }
static int kb_reject(int argc, char **argv) { return kb_action(argc, argv, "reject"); }
static int kb_archive(int argc, char **argv) { return kb_action(argc, argv, "archive"); }

/* ---- hot and queue ---- */

static int kb_hot(int argc, char **argv)
{
	Kefu__Envelope req = KEFU__ENVELOPE__INIT, *rep;
	Kefu__KbHot h = KEFU__KB_HOT__INIT;
	const Kefu__KbHotReply *hr;
	struct kb_args a;
	int r;

	if ((r = kb_args(argc, argv, false, false, &a)))
		return r;
	h.has_limit = a.limit != 0;
	h.limit = a.limit;
	req.body_case = KEFU__ENVELOPE__BODY_KB_HOT;
	req.kb_hot = &h;
	if ((r = ctl_request(&req, KEFU__ENVELOPE__BODY_KB_HOT_REPLY, KB_TIMEOUT_MS, &rep)))
		return r;
	hr = rep->kb_hot_reply;
	if (a.json) {
		json_t *items = json_array(), *o = json_object();

		for (size_t i = 0; i < hr->n_items; i++) {
			json_t *x = json_object();

			json_object_set_new(x, "id", json_integer((json_int_t)hr->items[i]->id));
			json_object_set_new(x, "title", json_string(S(hr->items[i]->title)));
			json_object_set_new(x, "score", json_real(hr->items[i]->score));
			json_object_set_new(x, "views", json_integer((json_int_t)hr->items[i]->views));
			json_object_set_new(x, "used", json_integer((json_int_t)hr->items[i]->used));
			json_array_append_new(items, x);
		}
		json_object_set_new(o, "hot", items);
		print_json(o);
	} else {
		for (size_t i = 0; i < hr->n_items; i++)
			printf("%" PRIu64 " %.2f views %" PRIu64 " used %" PRIu64 "  %s\n",
			       hr->items[i]->id, hr->items[i]->score, hr->items[i]->views,
			       hr->items[i]->used, S(hr->items[i]->title));
	}
	kefu__envelope__free_unpacked(rep, NULL);
	return 0;
}

static int kb_queue(int argc, char **argv)
{
	Kefu__Envelope req = KEFU__ENVELOPE__INIT, *rep;
	Kefu__KbQueue q = KEFU__KB_QUEUE__INIT;
	const Kefu__KbQueueReply *qr;
	struct kb_args a;
	int r;

	if ((r = kb_args(argc, argv, false, false, &a)))
		return r;
	req.body_case = KEFU__ENVELOPE__BODY_KB_QUEUE;
	req.kb_queue = &q;
	if ((r = ctl_request(&req, KEFU__ENVELOPE__BODY_KB_QUEUE_REPLY, KB_TIMEOUT_MS, &rep)))
		return r;
	qr = rep->kb_queue_reply;
	if (a.json) {
		json_t *o = json_object(), *rv = json_array(), *due = json_array(),
		       *fb = json_array();

		for (size_t i = 0; i < qr->n_review; i++) {
			json_t *x = version_json(qr->review[i]);

			json_object_set_new(x, "id", json_integer((json_int_t)qr->review[i]->article));
			json_array_append_new(rv, x);
		}
		for (size_t i = 0; i < qr->n_due; i++) {
			json_t *x = json_object();

			json_object_set_new(x, "id", json_integer((json_int_t)qr->due[i]->id));
			json_object_set_new(x, "title", json_string(S(qr->due[i]->title)));
			json_array_append_new(due, x);
		}
		for (size_t i = 0; i < qr->n_feedback; i++) {
			json_t *x = json_object();

			json_object_set_new(x, "id", json_integer((json_int_t)qr->feedback[i]->article));
			json_object_set_new(x, "at_ms",
					    json_integer((json_int_t)qr->feedback[i]->at_ms));
			json_object_set_new(x, "agent", json_string(S(qr->feedback[i]->agent)));
			json_object_set_new(x, "comment", json_string(S(qr->feedback[i]->comment)));
			json_array_append_new(fb, x);
		}
		json_object_set_new(o, "review", rv);
		json_object_set_new(o, "review_due", due);
		json_object_set_new(o, "not_helpful", fb);
		print_json(o);
	} else {
		printf("in review: %zu\n", qr->n_review);
		for (size_t i = 0; i < qr->n_review; i++)
			printf("  %" PRIu64 " v%u by %s  %s\n", qr->review[i]->article,
			       qr->review[i]->version, S(qr->review[i]->author), S(qr->review[i]->title));
		printf("past review-by: %zu\n", qr->n_due);
		for (size_t i = 0; i < qr->n_due; i++)
			printf("  %" PRIu64 "  %s\n", qr->due[i]->id, S(qr->due[i]->title));
		printf("not helpful: %zu\n", qr->n_feedback);
		for (size_t i = 0; i < qr->n_feedback; i++)
			printf("  %" PRIu64 " %s: %s\n", qr->feedback[i]->article,
			       S(qr->feedback[i]->agent), S(qr->feedback[i]->comment));
	}
	kefu__envelope__free_unpacked(rep, NULL);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} kb_subs[] = {
	{"import", kb_import},   {"search", kb_search},   {"show", kb_show},
	{"submit", kb_submit},   {"approve", kb_approve}, {"reject", kb_reject},
	{"archive", kb_archive}, {"hot", kb_hot},         {"queue", kb_queue},
};

int ctl_kb(int argc, char **argv)
{
	if (argc < 2)
		return ctl_usage_error("kb needs a subcommand: import, search, show, submit, "
				       "approve, reject, archive, hot, queue");
	for (size_t i = 0; i < sizeof(kb_subs) / sizeof(kb_subs[0]); i++)
		if (strcmp(argv[1], kb_subs[i].name) == 0)
			return kb_subs[i].fn(argc - 1, argv + 1);
	return ctl_usage_error("unknown kb subcommand %s", argv[1]);
}
