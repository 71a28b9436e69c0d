/* The logger: line format, levels, rate limit; lines read back from a pipe. */
#include "lib/err.h"
#include "lib/log.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int log_pipe[2];

static int pipe_setup(void **state)
{
	(void)state;
	if (pipe(log_pipe) != 0)
		return -1;
	fcntl(log_pipe[0], F_SETFL, O_NONBLOCK);
	log_set_fd(log_pipe[1]);
	log_set_level(-1, LOG_LVL_INFO);
	return 0;
}

static int pipe_teardown(void **state)
{
	(void)state;
	log_set_fd(2);
	log_set_level(-1, LOG_LVL_INFO);
	close(log_pipe[0]);
	close(log_pipe[1]);
	return 0;
}

/* Everything written so far, NUL-terminated; returns the number of lines. */
static int read_back(char *buf, size_t cap)
{
	ssize_t n = read(log_pipe[0], buf, cap - 1);
	int lines = 0;

	if (n < 0)
		n = 0;
	buf[n] = '\0';
	for (ssize_t i = 0; i < n; i++)
		lines += buf[i] == '\n';
	return lines;
}

static int evaluated;
static int count_evaluation(void)
{
	return ++evaluated;
}

static void test_line_has_time_level_domain_and_event(void **state)
{
	char buf[4096];

	(void)state;
	log_info(LOG_BOSS, "file applied name=%s records=%d", "SC_CUST", 3);
	assert_int_equal(read_back(buf, sizeof(buf)), 1);
	/* 2024-01-02T03:04:05.678Z */
	assert_true(strlen(buf) > 24);
	assert_int_equal(buf[4], '-');
	assert_int_equal(buf[10], 'T');
	assert_int_equal(buf[23], 'Z');
	assert_string_equal(buf + 24, " info boss file applied name=SC_CUST records=3\n");
}

static void test_below_threshold_is_dropped_without_evaluating(void **state)
{
	char buf[4096];

	(void)state;
	evaluated = 0;
	log_set_level(LOG_STORE, LOG_LVL_WARN);
	log_info(LOG_STORE, "n=%d", count_evaluation());
	log_debug(LOG_STORE, "n=%d", count_evaluation());
	assert_int_equal(evaluated, 0);
	assert_int_equal(read_back(buf, sizeof(buf)), 0);
	log_warn(LOG_STORE, "n=%d", count_evaluation());
	log_err(LOG_STORE, "n=%d", count_evaluation());
	assert_int_equal(evaluated, 2);
	assert_int_equal(read_back(buf, sizeof(buf)), 2);
	assert_non_null(strstr(buf, " warn store n=1\n"));
	assert_non_null(strstr(buf, " error store n=2\n"));
}

static void test_level_for_all_domains(void **state)
{
	char buf[4096];

	(void)state;
	log_set_level(-1, LOG_LVL_OFF);
	log_err(LOG_MAIN, "x");
	log_err(LOG_SIM, "x");
	assert_int_equal(read_back(buf, sizeof(buf)), 0);
	log_set_level(-1, LOG_LVL_DEBUG);
	log_debug(LOG_NET, "y");
	assert_int_equal(read_back(buf, sizeof(buf)), 1);
	assert_non_null(strstr(buf, " debug net y\n"));
}

static void test_parse_level_names(void **state)
{
	enum log_level lvl = LOG_LVL_OFF;

	(void)state;
	assert_int_equal(log_parse_level("debug", &lvl), 0);
	assert_int_equal(lvl, LOG_LVL_DEBUG);
	assert_int_equal(log_parse_level("ERROR", &lvl), 0);
	assert_int_equal(lvl, LOG_LVL_ERR);
	assert_int_equal(log_parse_level("verbose", &lvl), KF_EPARSE);
	assert_int_equal(log_parse_level("", &lvl), KF_EPARSE);
}

static void test_long_line_is_cut_and_ends_in_newline(void **state)
{
	char big[3000], buf[4096];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_info(LOG_MAIN, "big=%s", big);
	assert_int_equal(read_back(buf, sizeof(buf)), 1);
	assert_true(strlen(buf) <= 1024);
	assert_int_equal(buf[strlen(buf) - 1], '\n');
}

static void test_ratelimit_burst_then_reports_suppressed(void **state)
{
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(300, 3);
	struct timespec pause = {0, 400 * 1000 * 1000};
	char buf[4096];

	(void)state;
	for (int i = 0; i < 10; i++)
		log_ratelimited(&rl, LOG_NET, LOG_LVL_WARN, "bad frame i=%d", i);
	assert_int_equal(read_back(buf, sizeof(buf)), 3);
	assert_non_null(strstr(buf, "bad frame i=0\n"));
	assert_non_null(strstr(buf, "bad frame i=2\n"));
	assert_null(strstr(buf, "bad frame i=3\n"));

	nanosleep(&pause, NULL);
	log_ratelimited(&rl, LOG_NET, LOG_LVL_WARN, "bad frame i=%d", 10);
	assert_int_equal(read_back(buf, sizeof(buf)), 2);
	assert_non_null(strstr(buf, " warn net log suppressed=7\n"));
	assert_non_null(strstr(buf, " warn net bad frame i=10\n"));
}

static void test_ratelimit_below_threshold_counts_nothing(void **state)
{
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(60000, 1);
	char buf[4096];

	(void)state;
	log_set_level(LOG_NET, LOG_LVL_ERR);
	for (int i = 0; i < 5; i++)
		log_ratelimited(&rl, LOG_NET, LOG_LVL_WARN, "quiet i=%d", i);
	assert_int_equal(read_back(buf, sizeof(buf)), 0);
	assert_int_equal(rl.suppressed, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_line_has_time_level_domain_and_event,
						pipe_setup, pipe_teardown),
		cmocka_unit_test_setup_teardown(test_below_threshold_is_dropped_without_evaluating,
						pipe_setup, pipe_teardown),
		cmocka_unit_test_setup_teardown(test_level_for_all_domains, pipe_setup,
						pipe_teardown),
		cmocka_unit_test(test_parse_level_names),
		cmocka_unit_test_setup_teardown(test_long_line_is_cut_and_ends_in_newline,
						pipe_setup, pipe_teardown),
		cmocka_unit_test_setup_teardown(test_ratelimit_burst_then_reports_suppressed,
						pipe_setup, pipe_teardown),
		cmocka_unit_test_setup_teardown(test_ratelimit_below_threshold_counts_nothing,
						pipe_setup, pipe_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
