/* lib/file.c: a small file read whole, bounded; a spool of length-prefixed
 * records walked in order, stopped by its visitor, refused when cut short. */
#include "lib/err.h"
#include "lib/file.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

struct seen {
	size_t n;
	size_t len[8];
	unsigned char first[8];
	size_t stop_at; /* return 7 on this record (1-based); 0: never */
};

static int visit(void *arg, const unsigned char *p, size_t n)
{
	struct seen *s = arg;

	if (s->n < 8) {
		s->len[s->n] = n;
		s->first[s->n] = n ? p[0] : 0;
	}
	s->n++;
	return s->n == s->stop_at ? 7 : 0;
}

/* A spool in a new temporary file: records of the given lengths, each
 * filled with its number; then `tail` stray bytes. Returns its path. */
static char *spool(const size_t *lens, size_t n, size_t tail)
{
	static char path[64];
	unsigned char buf[4096];
	int fd;

	snprintf(path, sizeof(path), "/tmp/kefu-file-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	for (size_t i = 0; i < n; i++) {
		uint32_t len = (uint32_t)lens[i];

		memset(buf, (int)(i + 1), sizeof(buf));
		assert_int_equal(write(fd, &len, sizeof(len)), sizeof(len));
		assert_int_equal(write(fd, buf, lens[i]), (ssize_t)lens[i]);
	}
	memset(buf, 0xee, sizeof(buf));
	if (tail)
		assert_int_equal(write(fd, buf, tail), (ssize_t)tail);
	close(fd);
	return path;
}

static void test_records_in_order(void **state)
{
	const size_t lens[] = {3, 0, 4000, 17};
	struct seen s = {0};
	char *p = spool(lens, 4, 0);

	(void)state;
	assert_int_equal(file_records(p, visit, &s), 0);
	assert_int_equal(s.n, 4);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(s.len[i], lens[i]);
	assert_int_equal(s.first[0], 1);
	assert_int_equal(s.first[2], 3);
	assert_int_equal(s.first[3], 4);
	unlink(p);
}

static void test_visitor_stops_the_walk(void **state)
{
	const size_t lens[] = {5, 5, 5};
	struct seen s = {.stop_at = 2};
	char *p = spool(lens, 3, 0);

	(void)state;
	assert_int_equal(file_records(p, visit, &s), 7);
	assert_int_equal(s.n, 2);
	unlink(p);
}

static void test_record_cut_short_is_corrupt(void **state)
{
	const size_t lens[] = {5};
	struct seen s = {0};
	char *p = spool(lens, 1, 2); /* half a length after the record */

	(void)state;
	assert_int_equal(file_records(p, visit, &s), KF_ECORRUPT);
	assert_int_equal(s.n, 1);
	unlink(p);
	{
		uint32_t len = 100;
		FILE *f;

		p = spool(NULL, 0, 0);
		f = fopen(p, "wb");
		assert_non_null(f);
		assert_int_equal(fwrite(&len, sizeof(len), 1, f), 1);
		assert_int_equal(fwrite("abc", 1, 3, f), 3); /* 3 of 100 bytes */
		fclose(f);
		s.n = 0;
		assert_int_equal(file_records(p, visit, &s), KF_ECORRUPT);
		assert_int_equal(s.n, 0);
		unlink(p);
	}
}

static void test_missing_file_and_empty_spool(void **state)
{
	struct seen s = {0};
	char *p;

	(void)state;
	assert_int_equal(file_records("/nonexistent/kefu-spool", visit, &s), -ENOENT);
	p = spool(NULL, 0, 0);
	assert_int_equal(file_records(p, visit, &s), 0);
	assert_int_equal(s.n, 0);
	unlink(p);
}

static void test_read_all_bounded(void **state)
{
	const size_t lens[] = {10};
	char *p = spool(lens, 1, 0), *text = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(file_read_all(p, 14, &text, &len), 0);
	assert_int_equal(len, 14);
	assert_int_equal(text[14], '\0');
	free(text);
	text = NULL;
	assert_int_equal(file_read_all(p, 13, &text, &len), KF_ETOOBIG);
	assert_null(text);
	unlink(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records_in_order),
		cmocka_unit_test(test_visitor_stops_the_walk),
		cmocka_unit_test(test_record_cut_short_is_corrupt),
		cmocka_unit_test(test_missing_file_and_empty_spool),
		cmocka_unit_test(test_read_all_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
