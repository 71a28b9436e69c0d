/*
 * Unit tests of storage/accounts.c: the skills text, id, role, group and
 * record checks, and create/update/set-password/disable/get/list on a
 * fresh store in its own temporary directory.
 */
#include "lib/err.h"
#include "lib/password.h"
#include "storage/accounts.h"
#include "storage/batch.h"
#include "storage/store.h"
#include "tests/unit/support/tmpstore.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Well-formed hashes (accounts checks the form only). */
#define HASH1 "pbkdf2-sha256$4096$c2FsdFNBTFRzYWx0U0FMVHNhbHRTQUxUc2FsdFNBTFRzYWx0$" \
	      "NIyJ28vTKy8y2BS4EW6EzysXNH68GAAYHE4qH7jdU+E="
#define HASH2 "pbkdf2-sha256$1000$AAAAAAAAAAAAAAAAAAAAAA==$" \
	      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
/* HASHN(d): another well-formed hash, told apart by the digit d. */
#define HASHN(d) "pbkdf2-sha256$1000$AAAAAAAAAAAAAAAAAAAA" d "A==$" \
		 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

struct fixture {
	struct tmpstore ts;
	char why[ACCOUNTS_WHY_MAX];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(tmpstore_open(&f->ts, "accounts"), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	tmpstore_close(&f->ts);
	free(f);
	return 0;
}

/* ---- skills ---- */

static void test_skills_parse_names_and_levels(void **state)
{
	struct accounts_skills sk;

	(void)state;
	assert_int_equal(accounts_skills_parse("billing:5,vip:10,general.cn:1", 29, &sk, NULL, 0), 0);
	assert_int_equal(sk.n, 3);
	assert_string_equal(sk.v[0].name, "billing");
	assert_int_equal(sk.v[0].level, 5);
	assert_string_equal(sk.v[1].name, "vip");
	assert_int_equal(sk.v[1].level, 10);
	assert_string_equal(sk.v[2].name, "general.cn");
	assert_int_equal(sk.v[2].level, 1);
}

static void test_skills_format_gives_the_text_back(void **state)
{
	const char *text = "vip:3,billing:10,a-b_c:7";
	struct accounts_skills sk;
	char out[ACCOUNTS_SKILLS_TEXT_MAX + 1];

	(void)state;
	assert_int_equal(accounts_skills_parse(text, strlen(text), &sk, NULL, 0), 0);
	assert_int_equal(accounts_skills_format(&sk, out, sizeof(out)), (int)strlen(text));
	assert_string_equal(out, text);
}

static void test_skills_empty_text_is_no_skills(void **state)
{
	struct accounts_skills sk;

	(void)state;
	assert_int_equal(accounts_skills_parse("", 0, &sk, NULL, 0), 0);
	assert_int_equal(sk.n, 0);
}

static void test_skills_malformed_refused(void **state)
{
	static const char *const bad[] = {
		"billing", "billing:", "billing:0", "billing:11", "billing:05", "billing:100",
		"Billing:5", "billing:5,", ",billing:5", "billing:5,billing:3", "billing:5, vip:3",
		"bill ing:5", "billing:5;vip:3", ":5", "billing:+5", "billing:-1",
		"abcdefghijabcdefghijabcdefghijabc:1", /* a 33-byte name */
	};
	struct accounts_skills sk;
	char why[ACCOUNTS_WHY_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (accounts_skills_parse(bad[i], strlen(bad[i]), &sk, why, sizeof(why)) != KF_EPARSE)
			fail_msg("accepted: %s", bad[i]);
		assert_true(why[0] != '\0');
	}
}

static void test_skills_longest_name_accepted(void **state)
{
	const char *text = "abcdefghijabcdefghijabcdefghijab:1";
	struct accounts_skills sk;

	(void)state;
	assert_int_equal(accounts_skills_parse(text, strlen(text), &sk, NULL, 0), 0);
	assert_int_equal(strlen(sk.v[0].name), ACCOUNTS_SKILL_NAME_MAX);
}

static void test_skills_over_the_count_refused(void **state)
{
	char text[ACCOUNTS_SKILLS_TEXT_MAX + 64];
	struct accounts_skills sk;
	size_t n = 0;

	(void)state;
	for (int i = 0; i <= ACCOUNTS_SKILLS_MAX; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%ss%d:1", i ? "," : "", i);
	assert_int_equal(accounts_skills_parse(text, n, &sk, NULL, 0), KF_EPARSE);
	/* one fewer fits */
	n = (size_t)(strrchr(text, ',') - text);
	assert_int_equal(accounts_skills_parse(text, n, &sk, NULL, 0), 0);
	assert_int_equal(sk.n, ACCOUNTS_SKILLS_MAX);
}

static void test_ids_checked(void **state)
{
	(void)state;
	assert_true(accounts_id_is_valid("a"));
	assert_true(accounts_id_is_valid("Agent_07.x-y"));
	assert_true(accounts_id_is_valid("abcdefghijabcdefghijabcdefghijab"));
	assert_false(accounts_id_is_valid("abcdefghijabcdefghijabcdefghijabc"));
	assert_false(accounts_id_is_valid(""));
	assert_false(accounts_id_is_valid(NULL));
	assert_false(accounts_id_is_valid("a b"));
	assert_false(accounts_id_is_valid("a/b"));
	assert_false(accounts_id_is_valid("张三"));
}

static void test_roles_checked(void **state)
{
	(void)state;
	assert_true(accounts_role_is_valid("agent"));
	assert_true(accounts_role_is_valid("handler"));
	assert_true(accounts_role_is_valid("supervisor"));
	assert_false(accounts_role_is_valid("admin"));
	assert_false(accounts_role_is_valid("Handler"));
	assert_false(accounts_role_is_valid("handlers"));
	assert_false(accounts_role_is_valid(""));
	assert_false(accounts_role_is_valid(NULL));
}

static void test_groups_checked(void **state)
{
	static const char *const good[] = {
		"a", "0", "cd-billing", "backoffice", "a.b_c-d", "9lives",
		"abcdefghijabcdefghijabcdefghijab", /* 32 bytes */
	};
	static const char *const bad[] = {
		"", "-a", "_a", ".a", "A", "Billing", "a b", "a,b", "a:b", "a/b", "组",
		"abcdefghijabcdefghijabcdefghijabc", /* 33 bytes */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!accounts_group_is_valid(good[i]))
			fail_msg("refused: %s", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (accounts_group_is_valid(bad[i]))
			fail_msg("accepted: %s", bad[i]);
	assert_false(accounts_group_is_valid(NULL));
}

static void test_in_group(void **state)
{
	char *groups[] = {"cd-billing", "backoffice"};
	Kefu__Agent a = KEFU__AGENT__INIT;

	(void)state;
	assert_false(accounts_in_group(&a, "cd-billing"));
	a.n_groups = 2;
	a.groups = groups;
	assert_true(accounts_in_group(&a, "cd-billing"));
	assert_true(accounts_in_group(&a, "backoffice"));
	assert_false(accounts_in_group(&a, "cd-network"));
	assert_false(accounts_in_group(&a, "cd"));
	assert_false(accounts_in_group(&a, ""));
	assert_false(accounts_in_group(&a, NULL));
	assert_false(accounts_in_group(NULL, "cd-billing"));
}

/* ---- changes ---- */

typedef int (*change_fn)(struct fixture *f, struct store_txn *t, const void *arg);

/* Run one change in a write transaction, apply its batch, commit. */
static int run_change(struct fixture *f, change_fn fn, const void *arg)
{
	struct store_txn *t;
	int err;

	batch_reset(f->ts.b);
	f->why[0] = '\0';
	assert_int_equal(store_write_begin(f->ts.s, &t), 0);
	err = fn(f, t, arg);
	if (err == 0)
		assert_int_equal(batch_apply(t, f->ts.b), 0);
	if (err == 0)
		assert_int_equal(store_commit(t), 0);
	else
		store_abort(t);
	return err;
}

static int do_create(struct fixture *f, struct store_txn *t, const void *arg)
{
	return accounts_create(t, arg, 1000, f->ts.b, f->why, sizeof(f->why));
}

static int do_update(struct fixture *f, struct store_txn *t, const void *arg)
{
	return accounts_update(t, arg, 2000, f->ts.b, f->why, sizeof(f->why));
}

static int do_passwd(struct fixture *f, struct store_txn *t, const void *arg)
{
	return accounts_set_password(t, arg, HASH2, NULL, 3000, f->ts.b, f->why, sizeof(f->why));
}

/* A password change to hash (the first string) expecting the current one
 * (the second, "" for any). */
static int do_passwd_to(struct fixture *f, struct store_txn *t, const void *arg)
{
	const char *const *h = arg;

	return accounts_set_password(t, "a01", h[0], *h[1] ? h[1] : NULL, 3000, f->ts.b, f->why,
				     sizeof(f->why));
}

static int do_rehash(struct fixture *f, struct store_txn *t, const void *arg)
{
	const char *const *h = arg;

	return accounts_rehash(t, "a01", h[0], h[1], f->ts.b, f->why, sizeof(f->why));
}

static int do_disable(struct fixture *f, struct store_txn *t, const void *arg)
{
	return accounts_disable(t, arg, 4000, f->ts.b, f->why, sizeof(f->why));
}

static Kefu__Agent *get(struct fixture *f, const char *id)
{
	struct store_txn *t;
	Kefu__Agent *a = NULL;

	assert_int_equal(store_read_begin(f->ts.s, &t), 0);
	assert_int_equal(accounts_get(t, id, &a), 0);
	store_abort(t);
	return a;
}

static Kefu__Agent new_agent(const char *id, const char *skills)
{
	Kefu__Agent a = KEFU__AGENT__INIT;

	a.id = (char *)id;
	a.name = "张三";
	a.password_hash = HASH1;
	a.skills = (char *)skills;
	return a;
}

static void test_create_fills_defaults(void **state)
{
	struct fixture *f = *state;
	Kefu__Agent a = new_agent("a01", "billing:5,vip:3"), *got;

	assert_int_equal(run_change(f, do_create, &a), 0);
	got = get(f, "a01");
	assert_string_equal(got->name, "张三");
	assert_string_equal(got->skills, "billing:5,vip:3");
	assert_string_equal(got->password_hash, HASH1);
	assert_string_equal(got->role, "agent");
	assert_true(got->has_enabled && got->enabled);
	assert_true(got->has_order);
	assert_int_equal(got->order, 0);
	assert_int_equal(got->created_ms, 1000);
	assert_int_equal(got->updated_ms, 1000);
	assert_int_equal(got->password_changed_ms, 1000);
	assert_int_equal(got->n_password_history, 1);
	assert_string_equal(got->password_history[0], HASH1);
	kefu__agent__free_unpacked(got, NULL);
}

/* A handler with its groups; groups_set is not stored. */
static void test_create_handler_with_groups(void **state)
{
	struct fixture *f = *state;
	char *groups[] = {"cd-billing", "backoffice"};
	Kefu__Agent a = new_agent("h01", "billing:5"), *got;

	a.role = "handler";
	a.n_groups = 2;
	a.groups = groups;
	a.has_groups_set = 1;
	a.groups_set = 1;
	assert_int_equal(run_change(f, do_create, &a), 0);
	got = get(f, "h01");
	assert_string_equal(got->role, "handler");
	assert_int_equal(got->n_groups, 2);
	assert_string_equal(got->groups[0], "cd-billing");
	assert_string_equal(got->groups[1], "backoffice");
	assert_false(got->has_groups_set);
	assert_false(got->groups_set);
	assert_true(accounts_in_group(got, "backoffice"));
	assert_false(accounts_is_supervisor(got));
	kefu__agent__free_unpacked(got, NULL);
}

/* Groups given on an ADD without groups_set are stored all the same. */
static void test_create_stores_groups_without_the_flag(void **state)
{
	struct fixture *f = *state;
	char *groups[] = {"cd-network"};
	Kefu__Agent a = new_agent("a01", "billing:5"), *got;

	a.n_groups = 1;
	a.groups = groups;
	assert_int_equal(run_change(f, do_create, &a), 0);
	got = get(f, "a01");
	assert_int_equal(got->n_groups, 1);
	assert_string_equal(got->groups[0], "cd-network");
	assert_string_equal(got->role, "agent");
	kefu__agent__free_unpacked(got, NULL);
}

static void test_create_bad_role_names_the_roles(void **state)
{
	struct fixture *f = *state;
	Kefu__Agent a = new_agent("a01", "billing:5");

	a.role = "admin";
	assert_int_equal(run_change(f, do_create, &a), KF_EPARSE);
	assert_non_null(strstr(f->why, "agent, handler, supervisor or editor"));
}

static void test_create_bad_groups_refused(void **state)
{
	struct fixture *f = *state;
	char *bad[] = {"cd-billing", "Back Office"}, *twice[] = {"cd", "backoffice", "cd"};
	char names[ACCOUNTS_GROUPS_MAX + 1][8], *many[ACCOUNTS_GROUPS_MAX + 1];
	Kefu__Agent a;

	a = new_agent("a01", "billing:5");
	a.n_groups = 2;
	a.groups = bad;
	assert_int_equal(run_change(f, do_create, &a), KF_EPARSE);
	assert_non_null(strstr(f->why, "group 2"));
	a.n_groups = 3;
	a.groups = twice;
	assert_int_equal(run_change(f, do_create, &a), KF_EPARSE);
	assert_non_null(strstr(f->why, "group cd given twice"));
	for (size_t i = 0; i <= ACCOUNTS_GROUPS_MAX; i++) {
		snprintf(names[i], sizeof(names[i]), "g%zu", i);
		many[i] = names[i];
	}
	a.n_groups = ACCOUNTS_GROUPS_MAX + 1;
	a.groups = many;
	assert_int_equal(run_change(f, do_create, &a), KF_EPARSE);
	assert_non_null(strstr(f->why, "more than 16 groups"));
	/* one fewer fits */
	a.n_groups = ACCOUNTS_GROUPS_MAX;
	assert_int_equal(run_change(f, do_create, &a), 0);
}

static void test_create_of_existing_id_refused(void **state)
{
	struct fixture *f = *state;
	Kefu__Agent a = new_agent("a01", "billing:5"), b = new_agent("a01", "vip:1"), *got;

	assert_int_equal(run_change(f, do_create, &a), 0);
	assert_int_equal(run_change(f, do_create, &b), KF_EEXISTS);
	assert_non_null(strstr(f->why, "exists"));
	got = get(f, "a01");
	assert_string_equal(got->skills, "billing:5");
	kefu__agent__free_unpacked(got, NULL);
}

static void test_create_checks_every_field(void **state)
{
	struct fixture *f = *state;
	Kefu__Agent a;

	a = new_agent("a01", "billing:5");
	a.password_hash = "plain-text-password";
	assert_int_equal(run_change(f, do_create, &a), KF_EPARSE);
	assert_non_null(strstr(f->why, "password hash"));
	a = new_agent("a01", "billing:50");
	assert_int_equal(run_change(f, do_create, &a), KF_EPARSE);
	a = new_agent("a01", "billing:5");
	a.role = "admin";
	assert_int_equal(run_change(f, do_create, &a), KF_EPARSE);
	a = new_agent("a01", "billing:5");
	a.name = "bad\nname";
	assert_int_equal(run_change(f, do_create, &a), KF_EPARSE);
	a = new_agent("a01", "billing:5");
	a.has_order = 1;
	a.order = ACCOUNTS_ORDER_MAX + 1;
	assert_int_equal(run_change(f, do_create, &a), KF_EPARSE);
	a = new_agent("a 01", "billing:5");
	assert_int_equal(run_change(f, do_create, &a), KF_EPARSE);
}

static void test_update_changes_only_given_fields(void **state)
{
	struct fixture *f = *state;
	Kefu__Agent a = new_agent("a01", "billing:5"), p = KEFU__AGENT__INIT, *got;

	assert_int_equal(run_change(f, do_create, &a), 0);
	p.id = "a01";
	p.skills = "vip:9";
	p.role = "supervisor";
	p.has_order = 1;
	p.order = 7;
	assert_int_equal(run_change(f, do_update, &p), 0);
	got = get(f, "a01");
	assert_string_equal(got->skills, "vip:9");
	assert_string_equal(got->role, "supervisor");
	assert_int_equal(got->order, 7);
	assert_string_equal(got->name, "张三");
	assert_string_equal(got->password_hash, HASH1);
	assert_int_equal(got->created_ms, 1000);
	assert_int_equal(got->updated_ms, 2000);
	kefu__agent__free_unpacked(got, NULL);
}

/* Only an update with groups_set touches the groups: it replaces them,
 * and an empty list clears them. */
static void test_update_groups_only_with_groups_set(void **state)
{
	struct fixture *f = *state;
	char *two[] = {"cd-billing", "backoffice"}, *one[] = {"cd-network"};
	Kefu__Agent a = new_agent("a01", "billing:5"), p = KEFU__AGENT__INIT, *got;

	a.n_groups = 2;
	a.groups = two;
	assert_int_equal(run_change(f, do_create, &a), 0);

	p.id = "a01";
	p.role = "handler";
	p.n_groups = 1;
	p.groups = one;
	assert_int_equal(run_change(f, do_update, &p), 0);
	got = get(f, "a01");
	assert_string_equal(got->role, "handler");
	assert_int_equal(got->n_groups, 2);
	assert_string_equal(got->groups[0], "cd-billing");
	assert_string_equal(got->groups[1], "backoffice");
	kefu__agent__free_unpacked(got, NULL);

	p = (Kefu__Agent)KEFU__AGENT__INIT;
	p.id = "a01";
	p.n_groups = 1;
	p.groups = one;
	p.has_groups_set = 1;
	p.groups_set = 1;
	assert_int_equal(run_change(f, do_update, &p), 0);
	got = get(f, "a01");
	assert_int_equal(got->n_groups, 1);
	assert_string_equal(got->groups[0], "cd-network");
	assert_false(got->has_groups_set);
	assert_string_equal(got->role, "handler");
	assert_string_equal(got->skills, "billing:5");
	kefu__agent__free_unpacked(got, NULL);

	/* groups_set false: kept */
	p.groups_set = 0;
	p.n_groups = 0;
	p.groups = NULL;
	assert_int_equal(run_change(f, do_update, &p), 0);
	got = get(f, "a01");
	assert_int_equal(got->n_groups, 1);
	kefu__agent__free_unpacked(got, NULL);

	p.groups_set = 1;
	assert_int_equal(run_change(f, do_update, &p), 0);
	got = get(f, "a01");
	assert_int_equal(got->n_groups, 0);
	assert_false(got->has_groups_set);
	assert_false(accounts_in_group(got, "cd-network"));
	kefu__agent__free_unpacked(got, NULL);
}

/* A bad group or role in an update is refused, the account unchanged. */
static void test_update_bad_groups_refused(void **state)
{
	struct fixture *f = *state;
	char *one[] = {"cd-network"}, *bad[] = {"-network"};
	Kefu__Agent a = new_agent("a01", "billing:5"), p = KEFU__AGENT__INIT, *got;

	a.n_groups = 1;
	a.groups = one;
	assert_int_equal(run_change(f, do_create, &a), 0);
	p.id = "a01";
	p.n_groups = 1;
	p.groups = bad;
	p.has_groups_set = 1;
	p.groups_set = 1;
	assert_int_equal(run_change(f, do_update, &p), KF_EPARSE);
	assert_non_null(strstr(f->why, "group 1"));
	p = (Kefu__Agent)KEFU__AGENT__INIT;
	p.id = "a01";
	p.role = "boss";
	assert_int_equal(run_change(f, do_update, &p), KF_EPARSE);
	assert_non_null(strstr(f->why, "agent, handler, supervisor or editor"));
	got = get(f, "a01");
	assert_int_equal(got->n_groups, 1);
	assert_string_equal(got->groups[0], "cd-network");
	assert_string_equal(got->role, "agent");
	kefu__agent__free_unpacked(got, NULL);
}

static void test_update_result_is_checked(void **state)
{
	struct fixture *f = *state;
	Kefu__Agent a = new_agent("a01", "billing:5"), p = KEFU__AGENT__INIT, *got;

	assert_int_equal(run_change(f, do_create, &a), 0);
	p.id = "a01";
	p.skills = "billing:0";
	assert_int_equal(run_change(f, do_update, &p), KF_EPARSE);
	got = get(f, "a01");
	assert_string_equal(got->skills, "billing:5");
	kefu__agent__free_unpacked(got, NULL);
}

static void test_set_password_replaces_the_hash(void **state)
{
	struct fixture *f = *state;
	Kefu__Agent a = new_agent("a01", "billing:5"), *got;

	assert_int_equal(run_change(f, do_create, &a), 0);
	assert_int_equal(run_change(f, do_passwd, "a01"), 0);
	got = get(f, "a01");
	assert_string_equal(got->password_hash, HASH2);
	assert_int_equal(got->updated_ms, 3000);
	assert_int_equal(got->password_changed_ms, 3000);
	kefu__agent__free_unpacked(got, NULL);
}

/* The history keeps the last 5 hashes, newest first; the hashes a new
 * password may not match are those. */
static void test_set_password_keeps_the_last_five(void **state)
{
	struct fixture *f = *state;
	Kefu__Agent a = new_agent("a01", "billing:5"), *got;
	static const char *const next[] = {HASHN("B"), HASHN("C"), HASHN("D"), HASHN("E"),
					   HASHN("F"), HASHN("G")};
	const char *had[PASSWORD_HISTORY + 2];

	assert_int_equal(run_change(f, do_create, &a), 0);
	for (size_t i = 0; i < 6; i++) {
		const char *h[] = {next[i], ""};

		assert_int_equal(run_change(f, do_passwd_to, h), 0);
	}
	got = get(f, "a01");
	assert_string_equal(got->password_hash, HASHN("G"));
	assert_int_equal(got->n_password_history, PASSWORD_HISTORY);
	for (size_t i = 0; i < PASSWORD_HISTORY; i++)
		assert_string_equal(got->password_history[i], next[5 - i]);
	assert_int_equal(accounts_password_hashes(got, had, PASSWORD_HISTORY + 2), PASSWORD_HISTORY);
	assert_string_equal(had[0], HASHN("G"));
	assert_string_equal(had[4], HASHN("C"));
	kefu__agent__free_unpacked(got, NULL);
}

/* A change checked against a current hash that is no longer current. */
static void test_set_password_expects_the_current_hash(void **state)
{
	struct fixture *f = *state;
	Kefu__Agent a = new_agent("a01", "billing:5"), *got;
	const char *stale[] = {HASHN("B"), HASH2}, *fresh[] = {HASHN("B"), HASH1};

	assert_int_equal(run_change(f, do_create, &a), 0);
	assert_int_equal(run_change(f, do_passwd_to, stale), KF_ESTATE);
	assert_non_null(strstr(f->why, "changed meanwhile"));
	assert_int_equal(run_change(f, do_passwd_to, fresh), 0);
	got = get(f, "a01");
	assert_string_equal(got->password_hash, HASHN("B"));
	kefu__agent__free_unpacked(got, NULL);
}

/* An upgrade replaces the hash (and its place in the history) only while
 * it is current, and keeps the change time: sessions go on. */
static void test_rehash_upgrades_only_the_current_hash(void **state)
{
	struct fixture *f = *state;
	Kefu__Agent a = new_agent("a01", "billing:5"), *got;
	const char *up[] = {HASH1, HASHN("U")}, *stale[] = {HASH1, HASHN("V")};

	assert_int_equal(run_change(f, do_create, &a), 0);
	assert_int_equal(run_change(f, do_rehash, up), 0);
	got = get(f, "a01");
	assert_string_equal(got->password_hash, HASHN("U"));
	assert_int_equal(got->n_password_history, 1);
	assert_string_equal(got->password_history[0], HASHN("U"));
	assert_int_equal(got->password_changed_ms, 1000);
	kefu__agent__free_unpacked(got, NULL);
	assert_int_equal(run_change(f, do_rehash, stale), KF_ESTATE);
	got = get(f, "a01");
	assert_string_equal(got->password_hash, HASHN("U"));
	kefu__agent__free_unpacked(got, NULL);
}

/* An update never carries a password: that is a password change. */
static void test_update_with_a_hash_refused(void **state)
{
	struct fixture *f = *state;
	Kefu__Agent a = new_agent("a01", "billing:5"), p = KEFU__AGENT__INIT, *got;

	assert_int_equal(run_change(f, do_create, &a), 0);
	p.id = "a01";
	p.password_hash = HASH2;
	assert_int_equal(run_change(f, do_update, &p), KF_EPARSE);
	assert_non_null(strstr(f->why, "password"));
	got = get(f, "a01");
	assert_string_equal(got->password_hash, HASH1);
	kefu__agent__free_unpacked(got, NULL);
}

static void test_disable_keeps_the_account(void **state)
{
	struct fixture *f = *state;
	Kefu__Agent a = new_agent("a01", "billing:5"), *got;

	assert_int_equal(run_change(f, do_create, &a), 0);
	assert_int_equal(run_change(f, do_disable, "a01"), 0);
	got = get(f, "a01");
	assert_true(got->has_enabled);
	assert_false(got->enabled);
	assert_string_equal(got->skills, "billing:5");
	kefu__agent__free_unpacked(got, NULL);
}

static void test_changes_to_a_missing_agent_refused(void **state)
{
	struct fixture *f = *state;
	Kefu__Agent p = KEFU__AGENT__INIT;

	p.id = "ghost";
	p.name = "x";
	assert_int_equal(run_change(f, do_update, &p), KF_ENOTFOUND);
	assert_non_null(strstr(f->why, "ghost"));
	assert_int_equal(run_change(f, do_passwd, "ghost"), KF_ENOTFOUND);
	assert_int_equal(run_change(f, do_disable, "ghost"), KF_ENOTFOUND);
}

static void test_get_of_corrupt_value_is_ECORRUPT(void **state)
{
	struct fixture *f = *state;
	struct store_txn *t;
	Kefu__Agent *a;

	batch_reset(f->ts.b);
	assert_int_equal(batch_put(f->ts.b, STORE_AGENT, "bad", 3, "\xff\xff\xff", 3), 0);
	assert_int_equal(store_write_begin(f->ts.s, &t), 0);
	assert_int_equal(batch_apply(t, f->ts.b), 0);
	assert_int_equal(accounts_get(t, "bad", &a), KF_ECORRUPT);
	store_abort(t);
}

/* ---- listing ---- */

struct seen {
	char ids[8][ACCOUNTS_ID_MAX + 1];
	size_t n;
	size_t stop_at;
};

static int collect(void *arg, const Kefu__Agent *a)
{
	struct seen *s = arg;

	snprintf(s->ids[s->n++], sizeof(s->ids[0]), "%s", a->id);
	return s->n == s->stop_at ? 1 : 0;
}

static void test_list_in_id_order_after_a_cursor(void **state)
{
	struct fixture *f = *state;
	const char *ids[] = {"c", "a", "b2", "b"};
	struct seen s = {.n = 0};
	struct store_txn *t;

	for (size_t i = 0; i < 4; i++) {
		Kefu__Agent a = new_agent(ids[i], "");

		assert_int_equal(run_change(f, do_create, &a), 0);
	}
	assert_int_equal(store_read_begin(f->ts.s, &t), 0);
	assert_int_equal(accounts_list(t, NULL, collect, &s), 0);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.ids[0], "a");
	assert_string_equal(s.ids[1], "b");
	assert_string_equal(s.ids[2], "b2");
	assert_string_equal(s.ids[3], "c");
	s = (struct seen){.n = 0, .stop_at = 1};
	assert_int_equal(accounts_list(t, "b", collect, &s), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.ids[0], "b2");
	store_abort(t);
}

/* A cursor that names no account lists from the next id on; one past
 * the last id lists nothing; an empty cursor is none. */
static void test_list_cursor_between_and_past_the_ids(void **state)
{
	struct fixture *f = *state;
	const char *ids[] = {"a", "c", "e"};
	struct seen s = {.n = 0};
	struct store_txn *t;

	for (size_t i = 0; i < 3; i++) {
		Kefu__Agent a = new_agent(ids[i], "");

		assert_int_equal(run_change(f, do_create, &a), 0);
	}
	assert_int_equal(store_read_begin(f->ts.s, &t), 0);
	assert_int_equal(accounts_list(t, "b", collect, &s), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.ids[0], "c");
	assert_string_equal(s.ids[1], "e");
	s = (struct seen){.n = 0};
	assert_int_equal(accounts_list(t, "e", collect, &s), 0);
	assert_int_equal(s.n, 0);
	s = (struct seen){.n = 0};
	assert_int_equal(accounts_list(t, "", collect, &s), 0);
	assert_int_equal(s.n, 3);
	store_abort(t);
}

/* The visitor's error ends the listing and is returned. */
static int fail_second(void *arg, const Kefu__Agent *a)
{
	size_t *n = arg;

	(void)a;
	return ++*n == 2 ? KF_EINTERNAL : 0;
}

static void test_list_returns_the_visitors_error(void **state)
{
	struct fixture *f = *state;
	const char *ids[] = {"a", "b", "c"};
	struct store_txn *t;
	size_t n = 0;

	for (size_t i = 0; i < 3; i++) {
		Kefu__Agent a = new_agent(ids[i], "");

		assert_int_equal(run_change(f, do_create, &a), 0);
	}
	assert_int_equal(store_read_begin(f->ts.s, &t), 0);
	assert_int_equal(accounts_list(t, NULL, fail_second, &n), KF_EINTERNAL);
	assert_int_equal(n, 2);
	store_abort(t);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_skills_parse_names_and_levels),
		cmocka_unit_test(test_skills_format_gives_the_text_back),
		cmocka_unit_test(test_skills_empty_text_is_no_skills),
		cmocka_unit_test(test_skills_malformed_refused),
		cmocka_unit_test(test_skills_longest_name_accepted),
		cmocka_unit_test(test_skills_over_the_count_refused),
		cmocka_unit_test(test_ids_checked),
		cmocka_unit_test(test_roles_checked),
		cmocka_unit_test(test_groups_checked),
		cmocka_unit_test(test_in_group),
		T(test_create_fills_defaults),
		T(test_create_handler_with_groups),
		T(test_create_stores_groups_without_the_flag),
		T(test_create_bad_role_names_the_roles),
		T(test_create_bad_groups_refused),
		T(test_create_of_existing_id_refused),
		T(test_create_checks_every_field),
		T(test_update_changes_only_given_fields),
		T(test_update_groups_only_with_groups_set),
		T(test_update_bad_groups_refused),
		T(test_update_result_is_checked),
		T(test_set_password_replaces_the_hash),
		T(test_set_password_keeps_the_last_five),
		T(test_set_password_expects_the_current_hash),
		T(test_rehash_upgrades_only_the_current_hash),
		T(test_update_with_a_hash_refused),
		T(test_disable_keeps_the_account),
		T(test_changes_to_a_missing_agent_refused),
		T(test_get_of_corrupt_value_is_ECORRUPT),
		T(test_list_in_id_order_after_a_cursor),
		T(test_list_cursor_between_and_past_the_ids),
		T(test_list_returns_the_visitors_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
