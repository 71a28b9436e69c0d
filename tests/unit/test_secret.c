/* Files that hold secrets (lib/secret.h): the mode rule, links, reading a password file. */
#include "lib/secret.h"

#include "lib/err.h"
#include "tests/unit/support/bossfile.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

static char dir[256];

static int group_setup(void **state)
{
	(void)state;
	return bossfile_tmpdir("secret", dir, sizeof(dir));
}

static int group_teardown(void **state)
{
	(void)state;
	bossfile_rmtree(dir);
	return 0;
}

/* dir/name with text in it and the given mode; its path into path. */
static void put(char *path, size_t cap, const char *name, const char *text, mode_t mode)
{
	snprintf(path, cap, "%s/%s", dir, name);
	assert_int_equal(bossfile_put(dir, name, text, strlen(text)), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* Any access for group or others is refused, naming the option, the file and the fix. */
static void test_mode_open_to_group_or_others_is_refused(void **state)
{
	static const mode_t bad[] = {0640, 0604, 0620, 0602, 0610, 0601, 0644, 0660, 0666};
	char path[300], why[SECRET_WHY_MAX];

	(void)state;
	put(path, sizeof(path), "key.pem", "-----BEGIN PRIVATE KEY-----\n", 0600);
	assert_int_equal(secret_file_check(path, "tls_key", why, sizeof(why)), 0);
	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(secret_file_check(path, "tls_key", why, sizeof(why)), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(chmod(path, bad[i]), 0);
		assert_int_equal(secret_file_check(path, "tls_key", why, sizeof(why)), KF_ECONFIG);
		assert_non_null(strstr(why, "tls_key"));
		assert_non_null(strstr(why, path));
		assert_non_null(strstr(why, "chmod 600"));
	}
}

/* A missing file is -ENOENT; a directory is not a file that holds a secret. */
/* Root's or the reader's own; another user's is refused, even for root. */
static void test_owner_is_root_or_the_reader(void **state)
{
	char path[512], why[SECRET_WHY_MAX];

	(void)state;
	assert_true(secret_owner_ok(0, 0));
	assert_true(secret_owner_ok(0, 1000));
	assert_true(secret_owner_ok(1000, 1000));
	assert_false(secret_owner_ok(1000, 0));
	assert_false(secret_owner_ok(1000, 1001));
	put(path, sizeof(path), "mine.key", "k", 0600);
	assert_int_equal(secret_file_check(path, "key_file", why, sizeof(why)), 0);
	/* Giving a file away takes root: where the tests run as root, the
	 * file's check refuses another user's file by name. */
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 4321, 4321), 0);
		assert_int_equal(secret_file_check(path, "key_file", why, sizeof(why)), KF_ECONFIG);
		assert_non_null(strstr(why, "belongs to uid 4321"));
		assert_non_null(strstr(why, "chown it"));
		/* the user a root process will become: its files are trusted */
		secret_trust_uid(4321);
		assert_int_equal(secret_file_check(path, "key_file", why, sizeof(why)), 0);
		secret_trust_uid(0);
		assert_int_equal(chown(path, 0, 0), 0);
		assert_int_equal(secret_file_check(path, "key_file", why, sizeof(why)), 0);
	}
}

static void test_missing_file_and_directory(void **state)
{
	char path[300], why[SECRET_WHY_MAX];

	(void)state;
	snprintf(path, sizeof(path), "%s/none", dir);
	assert_int_equal(secret_file_check(path, "etcd_key", why, sizeof(why)), -ENOENT);
	assert_non_null(strstr(why, path));
	snprintf(path, sizeof(path), "%s/sub", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(secret_file_check(path, "etcd_key", why, sizeof(why)), KF_ECONFIG);
	assert_non_null(strstr(why, "not a regular file"));
	assert_int_equal(secret_file_check(path, "etcd_key", NULL, 0), KF_ECONFIG);
}

/* A link is followed: the mode of the file it names decides. */
static void test_symlink_is_judged_by_its_target(void **state)
{
	char target[300], link[300], why[SECRET_WHY_MAX], *buf;
	size_t len;

	(void)state;
	put(target, sizeof(target), "live.key", "secret\n", 0600);
	snprintf(link, sizeof(link), "%s/link.key", dir);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(secret_file_check(link, "tls_key", why, sizeof(why)), 0);
	assert_int_equal(secret_file_read(link, "tls_key", 64, &buf, &len, why, sizeof(why)), 0);
	assert_int_equal(len, 7);
	secret_free(buf, len);
	assert_int_equal(chmod(target, 0644), 0);
	assert_int_equal(secret_file_check(link, "tls_key", why, sizeof(why)), KF_ECONFIG);
	assert_int_equal(secret_file_read(link, "tls_key", 64, &buf, &len, why, sizeof(why)),
			 KF_ECONFIG);
	assert_null(buf);
}

/* The first line is the password, without its line end; the rest is ignored. */
static void test_password_file_first_line(void **state)
{
	char path[300], why[SECRET_WHY_MAX], pw[16];

	(void)state;
	put(path, sizeof(path), "pw1", "kefu-0123abcd\r\nignored\n", 0600);
	assert_int_equal(secret_file_first_line(path, "redis_password_file", pw, sizeof(pw), why,
						sizeof(why)), 0);
	assert_string_equal(pw, "kefu-0123abcd");
	put(path, sizeof(path), "pw2", "no-newline", 0600);
	assert_int_equal(secret_file_first_line(path, "redis_password_file", pw, sizeof(pw), why,
						sizeof(why)), 0);
	assert_string_equal(pw, "no-newline");
	put(path, sizeof(path), "pw3", "\nsecond line\n", 0600);
	assert_int_equal(secret_file_first_line(path, "redis_password_file", pw, sizeof(pw), why,
						sizeof(why)), KF_ECONFIG);
	assert_non_null(strstr(why, "first line"));
	put(path, sizeof(path), "pw4", "0123456789abcdef\n", 0600);
	assert_int_equal(secret_file_first_line(path, "redis_password_file", pw, sizeof(pw), why,
						sizeof(why)), KF_ETOOBIG);
	put(path, sizeof(path), "pw5", "kefu-0123abcd\n", 0644);
	assert_int_equal(secret_file_first_line(path, "redis_password_file", pw, sizeof(pw), why,
						sizeof(why)), KF_ECONFIG);
	assert_non_null(strstr(why, "redis_password_file"));
	assert_non_null(strstr(why, "chmod 600"));
}

/* A password with a NUL inside is refused rather than cut short. */
static void test_password_with_nul_is_refused(void **state)
{
	char path[300], why[SECRET_WHY_MAX], pw[32];

	(void)state;
	snprintf(path, sizeof(path), "%s/pwnul", dir);
	assert_int_equal(bossfile_put(dir, "pwnul", "abc\0def\n", 8), 0);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(secret_file_first_line(path, "redis_password_file", pw, sizeof(pw), why,
						sizeof(why)), KF_ECONFIG);
}

/* A file over the cap is refused whole. */
static void test_read_over_max_is_refused(void **state)
{
	char path[300], why[SECRET_WHY_MAX], *buf = (char *)&buf;
	size_t len;

	(void)state;
	put(path, sizeof(path), "big", "0123456789", 0600);
	assert_int_equal(secret_file_read(path, "etcd_key", 9, &buf, &len, why, sizeof(why)),
			 KF_ETOOBIG);
	assert_null(buf);
	assert_int_equal(secret_file_read(path, "etcd_key", 10, &buf, &len, why, sizeof(why)), 0);
	assert_int_equal(len, 10);
	assert_int_equal(buf[10], '\0');
	secret_free(buf, len);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mode_open_to_group_or_others_is_refused),
		cmocka_unit_test(test_owner_is_root_or_the_reader),
		cmocka_unit_test(test_missing_file_and_directory),
		cmocka_unit_test(test_symlink_is_judged_by_its_target),
		cmocka_unit_test(test_password_file_first_line),
		cmocka_unit_test(test_password_with_nul_is_refused),
		cmocka_unit_test(test_read_over_max_is_refused),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
