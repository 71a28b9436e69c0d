/* kefud's option table and config_load: file, --set overrides, cross-checks. */
#include "lib/err.h"
#include "node/config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char conf_path[64];

static int file_setup(void **state)
{
	int fd;

	(void)state;
	snprintf(conf_path, sizeof(conf_path), "/tmp/kefu-test-config-XXXXXX");
	fd = mkstemp(conf_path);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int file_teardown(void **state)
{
	(void)state;
	unlink(conf_path);
	return 0;
}

static void write_conf(const char *text)
{
	FILE *f = fopen(conf_path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_file_then_sets_in_order(void **state)
{
	const char *sets[] = {"map_size=128M", "log_level=debug", "map_size=256M"};
	struct config c;
	struct conf_err err;

	(void)state;
	write_conf("node_name = a\ndata_dir = /var/lib/kefu\nmap_size = 1G\n"
		   "boss_poll_interval = 30s\n");
	assert_int_equal(config_load(&c, conf_path, sets, 3, &err), 0);
	assert_string_equal(c.node_name, "a");
	assert_string_equal(c.data_dir, "/var/lib/kefu");
	assert_int_equal(c.map_size, 256 << 20);
	assert_string_equal(c.log_level, "debug");
	assert_int_equal(c.boss_poll_interval, 30000);
	assert_string_equal(c.listen_addr, "127.0.0.1:7400");
	assert_string_equal(c.boss_inbox, "");
}

static void test_without_file_sets_suffice(void **state)
{
	const char *sets[] = {"data_dir=/d"};
	struct config c;
	struct conf_err err;

	(void)state;
	assert_int_equal(config_load(&c, NULL, sets, 1, &err), 0);
	assert_string_equal(c.data_dir, "/d");
	assert_string_equal(c.node_name, "kefu");
}

static void test_data_dir_is_required(void **state)
{
	struct config c;
	struct conf_err err;

	(void)state;
	assert_int_equal(config_load(&c, NULL, NULL, 0, &err), KF_ECONFIG);
	assert_string_equal(err.msg, "data_dir: must be set");
}

static void test_file_error_names_file_and_line(void **state)
{
	struct config c;
	struct conf_err err;
	char want[128];

	(void)state;
	write_conf("data_dir = /d\n\nmap_size = 2T\n");
	assert_int_equal(config_load(&c, conf_path, NULL, 0, &err), KF_ECONFIG);
	assert_int_equal(err.line, 3);
	snprintf(want, sizeof(want), "%s: line 3: map_size: 2T is above the maximum 1T",
		 conf_path);
	assert_string_equal(err.msg, want);
}

static void test_missing_file_is_errno(void **state)
{
	struct config c;
	struct conf_err err;

	(void)state;
	assert_int_equal(config_load(&c, "/nonexistent/kefud.conf", NULL, 0, &err), -ENOENT);
	assert_string_equal(err.msg, "/nonexistent/kefud.conf: No such file or directory");
}

static void test_bad_set_is_named(void **state)
{
	const char *no_eq[] = {"data_dir"};
	const char *unknown[] = {"data_dir=/d", "colour=red"};
	const char *bad[] = {"data_dir=/d", "boss_poll_interval=5"};
	struct config c;
	struct conf_err err;

	(void)state;
	assert_int_equal(config_load(&c, NULL, no_eq, 1, &err), KF_ECONFIG);
	assert_string_equal(err.msg, "--set data_dir: expected name=value");
	assert_int_equal(config_load(&c, NULL, unknown, 2, &err), KF_ECONFIG);
	assert_string_equal(err.msg, "--set: unknown option \"colour\"");
	assert_int_equal(config_load(&c, NULL, bad, 2, &err), KF_ECONFIG);
	assert_non_null(strstr(err.msg, "--set: boss_poll_interval: \"5\" is not a duration"));
}

static void test_log_level_must_be_a_level(void **state)
{
	const char *sets[] = {"data_dir=/d", "log_level=loud"};
	struct config c;
	struct conf_err err;

	(void)state;
	assert_int_equal(config_load(&c, NULL, sets, 2, &err), KF_ECONFIG);
	assert_string_equal(err.msg, "log_level: \"loud\" is not one of debug, info, warn, "
				     "error, off");
}

static void test_province_is_two_uppercase_letters(void **state)
{
	static const char *const bad[] = {"province=sc", "province=S", "province=SCX",
					  "province=S1", "province=", "province=四川"};
	const char *good[] = {"data_dir=/d", "province=SC"};
	struct config c;
	struct conf_err err;

	(void)state;
	assert_int_equal(config_load(&c, NULL, good, 1, &err), 0);
	assert_string_equal(c.province, "CN");
	assert_int_equal(config_load(&c, NULL, good, 2, &err), 0);
	assert_string_equal(c.province, "SC");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *sets[] = {"data_dir=/d", bad[i]};

		assert_int_equal(config_load(&c, NULL, sets, 2, &err), KF_ECONFIG);
		assert_non_null(strstr(err.msg, "province"));
	}
	assert_int_equal(config_load(&c, NULL, (const char *[]){"data_dir=/d", "province=sc"}, 2,
				     &err), KF_ECONFIG);
	assert_string_equal(err.msg, "province: \"sc\" is not two uppercase letters (e.g. SC)");
}

/* The work-order rows: defaults, the 'd' unit and fractions. */
static void test_work_order_rows(void **state)
{
	const char *sets[] = {"data_dir=/d", "wo_fault_update=2d", "wo_tier2_factor=80%"};
	struct config c;
	struct conf_err err;

	(void)state;
	assert_int_equal(config_load(&c, NULL, sets, 1, &err), 0);
	assert_int_equal(c.wo_complaint_first_response, 2 * 3600000);
	assert_int_equal(c.wo_complaint_solution, 48 * 3600000);
	assert_int_equal(c.wo_suggestion_solution, INT64_C(7) * 86400000);
	assert_int_equal(c.wo_consult_first_response, 30 * 60000);
	assert_int_equal(c.wo_urgent_factor, 500);
	assert_int_equal(c.wo_tier0_factor, 1000);
	assert_int_equal(c.wo_tier4_factor, 500);
	assert_string_equal(c.wo_calendar, "always");
	assert_string_equal(c.wo_timezone, "Asia/Shanghai");
	assert_string_equal(c.wo_escalate, "80%:lead,100%:supervisor,150%:upgrade");
	assert_int_equal(c.wo_visit_quiet, INT64_C(30) * 86400000);
	assert_int_equal(c.wo_visit_delay, 0);
	assert_string_equal(c.wo_visit_exclude, "consult,suggestion");
	assert_string_equal(c.wo_default_group, "backoffice");
	assert_string_equal(c.wo_dispatch, "");
	assert_string_equal(c.wo_categories, "");
	assert_string_equal(c.dial_clock_file, "");
	assert_string_equal(c.wo_calendars, "");
	assert_string_equal(c.wo_holidays, "");
	assert_int_equal(config_load(&c, NULL, sets, 3, &err), 0);
	assert_int_equal(c.wo_fault_update, INT64_C(2) * 86400000);
	assert_int_equal(c.wo_tier2_factor, 800);
	assert_string_equal(config_table_text(&c, "wo_default_group"), "backoffice");
	assert_int_equal(config_table_number(&c, "wo_tier2_factor"), 800);
	assert_false(config_table_bool(&c, "redis_tls"));
}

static void test_boss_inbox_needs_two_other_directories(void **state)
{
	const char *only[] = {"data_dir=/d", "boss_inbox=/in"};
	const char *same[] = {"data_dir=/d", "boss_inbox=/in", "boss_rejected=/in",
			      "boss_archive=/ar"};
	const char *good[] = {"data_dir=/d", "boss_inbox=/in", "boss_rejected=/rej",
			      "boss_archive=/ar"};
	struct config c;
	struct conf_err err;

	(void)state;
	assert_int_equal(config_load(&c, NULL, only, 2, &err), KF_ECONFIG);
	assert_non_null(strstr(err.msg, "boss_rejected and boss_archive must be set"));
	assert_int_equal(config_load(&c, NULL, same, 4, &err), KF_ECONFIG);
	assert_non_null(strstr(err.msg, "three different directories"));
	assert_int_equal(config_load(&c, NULL, good, 4, &err), 0);
}

static void test_cluster_mode_needs_certificates(void **state)
{
	const char *bare[] = {"data_dir=/d", "etcd_endpoints=http://127.0.0.1:2379"};
	const char *full[] = {"data_dir=/d", "etcd_endpoints=http://127.0.0.1:2379",
			      "tls_ca=/c/ca.crt", "tls_cert=/c/n1.crt", "tls_key=/c/n1.key"};
	struct config c;
	struct conf_err err;

	(void)state;
	assert_int_equal(config_load(&c, NULL, bare, 2, &err), KF_ECONFIG);
	assert_non_null(strstr(err.msg, "tls_ca, tls_cert and tls_key must be set"));
	assert_int_equal(config_load(&c, NULL, full, 5, &err), 0);
	assert_int_equal(c.lease_ttl, 2000);
	assert_string_equal(c.cluster_name, "kefu");
}

static void test_redis_needs_cluster_mode(void **state)
{
	const char *alone[] = {"data_dir=/d", "redis_sentinels=127.0.0.1:26379"};
	const char *full[] = {"data_dir=/d", "etcd_endpoints=http://127.0.0.1:2379",
			      "tls_ca=/c/ca.crt", "tls_cert=/c/n1.crt", "tls_key=/c/n1.key",
			      "redis_sentinels=127.0.0.1:26379,127.0.0.1:26380",
			      "redis_tls=yes", "redis_timeout=250ms"};
	struct config c;
	struct conf_err err;

	(void)state;
	assert_int_equal(config_load(&c, NULL, alone, 2, &err), KF_ECONFIG);
	assert_non_null(strstr(err.msg, "etcd_endpoints must be set too"));
	assert_int_equal(config_load(&c, NULL, full, 8, &err), 0);
	assert_string_equal(c.redis_master_name, "kefu");
	assert_string_equal(c.redis_password_file, "");
	assert_false(c.allow_plaintext);
	assert_true(c.redis_tls);
	assert_int_equal(c.redis_timeout, 250);
}

/* config_load of the cluster basics plus extra[0..n), into c; the error in err. */
static int load_cluster(struct config *c, struct conf_err *err, const char *const *extra,
			size_t n)
{
	const char *sets[16] = {"data_dir=/d", "tls_ca=/c/ca.crt", "tls_cert=/c/n1.crt",
				"tls_key=/c/n1.key"};

	assert_true(n <= 12);
	memcpy(sets + 4, extra, n * sizeof(*extra));
	return config_load(c, NULL, sets, 4 + n, err);
}

/* Plaintext etcd or Redis beyond loopback is refused, naming the address and the fix. */
static void test_plaintext_outside_loopback_is_refused(void **state)
{
	static const char *const etcd[] = {
		"etcd_endpoints=http://192.0.2.1:2379",
		"etcd_endpoints=http://127.0.0.1:2379, http://192.0.2.1:2379",
		"etcd_endpoints=http://etcd.example:2379",
		"etcd_endpoints=http://[2001:db8::1]:2379/",
		"etcd_endpoints=http://localhost@192.0.2.1:2379",
		"etcd_endpoints=HTTP://192.0.2.1",
	};
	const char *redis[] = {"etcd_endpoints=https://192.0.2.1:2379",
			       "redis_sentinels=127.0.0.1:26379,198.51.100.1:26379"};
	struct config c;
	struct conf_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(etcd) / sizeof(etcd[0]); i++) {
		if (load_cluster(&c, &err, &etcd[i], 1) != KF_ECONFIG)
			fail_msg("%s was taken", etcd[i]);
		assert_true(strncmp(err.msg, "etcd_endpoints: ", 16) == 0);
		assert_non_null(strstr(err.msg, "plaintext to an address outside loopback"));
		assert_non_null(strstr(err.msg, "https://"));
		assert_non_null(strstr(err.msg, "allow_plaintext = true"));
	}
	assert_int_equal(load_cluster(&c, &err, etcd, 1), KF_ECONFIG);
	assert_non_null(strstr(err.msg, "http://192.0.2.1:2379"));
	assert_int_equal(load_cluster(&c, &err, redis, 2), KF_ECONFIG);
	assert_non_null(strstr(err.msg, "redis_sentinels: 198.51.100.1:26379 is plaintext"));
	assert_non_null(strstr(err.msg, "redis_tls = true"));
}

/* Loopback, TLS and allow_plaintext are taken. */
static void test_plaintext_on_loopback_or_allowed_is_taken(void **state)
{
	const char *loop[] = {"etcd_endpoints=http://127.0.0.1:2379,http://localhost:22379,"
			      "http://[::1]:32379,http://127.8.9.10",
			      "redis_sentinels=127.0.0.1:26379,localhost:26380,[::1]:26381"};
	const char *tls[] = {"etcd_endpoints=https://192.0.2.1:2379",
			     "redis_sentinels=198.51.100.1:26379", "redis_tls=true"};
	const char *allowed[] = {"etcd_endpoints=http://192.0.2.1:2379",
				 "redis_sentinels=198.51.100.1:26379", "allow_plaintext=true"};
	struct config c;
	struct conf_err err;
	char ep[128];

	(void)state;
	assert_int_equal(load_cluster(&c, &err, loop, 2), 0);
	assert_null(config_plaintext_remote(&c, ep, sizeof(ep)));
	assert_int_equal(load_cluster(&c, &err, tls, 3), 0);
	assert_null(config_plaintext_remote(&c, ep, sizeof(ep)));
	assert_int_equal(load_cluster(&c, &err, allowed, 3), 0);
	assert_true(c.allow_plaintext);
	assert_string_equal(config_plaintext_remote(&c, ep, sizeof(ep)), "etcd_endpoints");
	assert_string_equal(ep, "http://192.0.2.1:2379");
}

/* The transport rows: defaults and values. */
static void test_transport_rows(void **state)
{
	const char *sets[] = {"etcd_endpoints=https://127.0.0.1:2379", "user=kefu",
			      "crl_file=/etc/kefu/crl.pem", "redis_sentinels=127.0.0.1:26379",
			      "redis_password_file=/etc/kefu/redis.password"};
	struct config c;
	struct conf_err err;

	(void)state;
	assert_int_equal(load_cluster(&c, &err, sets, 1), 0);
	assert_string_equal(c.user, "");
	assert_string_equal(c.crl_file, "");
	assert_string_equal(c.redis_password_file, "");
	assert_int_equal(load_cluster(&c, &err, sets, 5), 0);
	assert_string_equal(c.user, "kefu");
	assert_string_equal(c.crl_file, "/etc/kefu/crl.pem");
	assert_string_equal(c.redis_password_file, "/etc/kefu/redis.password");
	assert_null(conf_find(config_table, config_table_len, "redis_password"));
}

static void test_every_option_has_help(void **state)
{
	(void)state;
	for (size_t i = 0; i < config_table_len; i++) {
		assert_non_null(config_table[i].help);
		assert_true(strlen(config_table[i].help) > 10);
	}
}

/* ---- the cluster configuration ---- */

static struct config *own_node(void)
{
	static const char *const sets[] = {"node_name=n1", "data_dir=/tmp", "wrap_up=15s",
					   "listen_addr=127.0.0.1:7411"};
	struct config *c = config_table_new();
	struct conf_err err;

	assert_int_equal(config_load(c, NULL, sets, 4, &err), 0);
	return c;
}

/* The text round-trips: the non-default cluster settings, quoted, no node setting. */
static void test_cluster_text_round_trips(void **state)
{
	struct config *own = own_node(), *back = config_table_new();
	struct conf_err err;
	char *text;

	(void)state;
	snprintf(own->gold_ladder, sizeof(own->gold_ladder), "%s", "billing:0s,general:45s");
	text = config_cluster_text(own);
	assert_non_null(strstr(text, "wrap_up = \"15s\"\n"));
	assert_non_null(strstr(text, "gold_ladder = \"billing:0s,general:45s\"\n"));
	assert_null(strstr(text, "node_name"));
	assert_null(strstr(text, "listen_addr"));
	assert_null(strstr(text, "offer_timeout")); /* a default is left out */
	assert_int_equal(config_with_cluster(back, own, text, &err), 0);
	assert_memory_equal(back, own, sizeof(*own));
	free(text);
	free(back);
	free(own);
}

/* The cluster's values win over the file's; the node's own come from the file. */
static void test_with_cluster_takes_cluster_values(void **state)
{
	struct config *own = own_node(), *out = config_table_new();
	struct conf_err err;

	(void)state;
	assert_int_equal(config_with_cluster(out, own, "offer_timeout = \"20s\"\n", &err), 0);
	assert_int_equal(out->offer_timeout, 20000);
	assert_int_equal(out->wrap_up, 10000); /* not in the text: the default */
	assert_string_equal(out->node_name, "n1");
	assert_string_equal(out->listen_addr, "127.0.0.1:7411");
	/* The file's wrap_up (15s) differs from the cluster's (10s): one conflict. */
	assert_int_equal(config_file_conflicts(own, out, NULL, NULL), 1);
	/* A node's own setting in the cluster's text is refused. */
	assert_int_equal(config_with_cluster(out, own, "listen_addr = 127.0.0.1:1\n", &err),
			 KF_ECONFIG);
	assert_non_null(strstr(err.msg, "node's own"));
	free(out);
	free(own);
}

static void test_cluster_edit(void **state)
{
	static const char *const good[] = {"wrap_up=20s", "gold_plan = night"};
	static const char *const own_set[] = {"listen_addr=127.0.0.1:1"};
	static const char *const unknown[] = {"no_such=1"};
	static const char *const bad[] = {"gold_ladder=nosuch:0s"};
	static const char *const restart[] = {"stats_interval=30m"};
	struct config *own = own_node();
	struct config_edit ed;
	struct conf_err err;

	(void)state;
	assert_int_equal(config_cluster_edit(own, NULL, good, 2, NULL, &ed, &err), 0);
	assert_int_equal(ed.n, 2);
	assert_string_equal(ed.ch[0].name, "gold_plan");
	assert_string_equal(ed.ch[0].old_value, "vip-menu");
	assert_string_equal(ed.ch[0].new_value, "night");
	assert_string_equal(ed.ch[1].name, "wrap_up");
	assert_string_equal(ed.ch[1].old_value, "15s"); /* version 0: the node's running value */
	assert_false(ed.ch[1].restart);
	assert_non_null(strstr(ed.text, "gold_plan = \"night\""));
	config_edit_free(&ed);
	/* Over a version: the old values are the version's. */
	assert_int_equal(config_cluster_edit(own, "wrap_up = \"1m\"\n", good, 1, NULL, &ed, &err),
			 0);
	assert_int_equal(ed.n, 1);
	assert_string_equal(ed.ch[0].old_value, "1m");
	config_edit_free(&ed);
	/* The same value: nothing changes. */
	assert_int_equal(config_cluster_edit(own, "wrap_up = \"20s\"\n", good, 1, NULL, &ed, &err),
			 0);
	assert_int_equal(ed.n, 0);
	config_edit_free(&ed);
	assert_int_equal(config_cluster_edit(own, NULL, restart, 1, NULL, &ed, &err), 0);
	assert_true(ed.n == 1 && ed.ch[0].restart);
	config_edit_free(&ed);
	/* A replacing text: what it leaves out goes back to the default. */
	assert_int_equal(config_cluster_edit(own, "wrap_up = \"1m\"\n", NULL, 0,
					     "# nothing but a comment\n", &ed, &err),
			 0);
	assert_int_equal(ed.n, 1);
	assert_string_equal(ed.ch[0].new_value, "10s");
	config_edit_free(&ed);
	assert_int_equal(config_cluster_edit(own, NULL, own_set, 1, NULL, &ed, &err), KF_ECONFIG);
	assert_non_null(strstr(err.msg, "node's own"));
	assert_null(ed.text);
	assert_int_equal(config_cluster_edit(own, NULL, unknown, 1, NULL, &ed, &err), KF_ECONFIG);
	assert_non_null(strstr(err.msg, "no such setting"));
	assert_int_not_equal(config_cluster_edit(own, NULL, bad, 1, NULL, &ed, &err), 0);
	assert_non_null(strstr(err.msg, "gold_ladder"));
	free(own);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_file_then_sets_in_order, file_setup,
						file_teardown),
		cmocka_unit_test(test_without_file_sets_suffice),
		cmocka_unit_test(test_data_dir_is_required),
		cmocka_unit_test_setup_teardown(test_file_error_names_file_and_line, file_setup,
						file_teardown),
		cmocka_unit_test(test_missing_file_is_errno),
		cmocka_unit_test(test_bad_set_is_named),
		cmocka_unit_test(test_log_level_must_be_a_level),
		cmocka_unit_test(test_province_is_two_uppercase_letters),
		cmocka_unit_test(test_work_order_rows),
		cmocka_unit_test(test_boss_inbox_needs_two_other_directories),
		cmocka_unit_test(test_cluster_mode_needs_certificates),
		cmocka_unit_test(test_redis_needs_cluster_mode),
		cmocka_unit_test(test_plaintext_outside_loopback_is_refused),
		cmocka_unit_test(test_plaintext_on_loopback_or_allowed_is_taken),
		cmocka_unit_test(test_transport_rows),
		cmocka_unit_test(test_every_option_has_help),
		cmocka_unit_test(test_cluster_text_round_trips),
		cmocka_unit_test(test_with_cluster_takes_cluster_values),
		cmocka_unit_test(test_cluster_edit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
