/*
 * TLS contexts and identities, with certificates made by
 * tests/cluster/certs.sh. Handshakes run in memory over a socketpair, both
 * ends driven in turn from this thread.
 */
#include "lib/tls.h"

#include "lib/err.h"
#include "tests/unit/support/bossfile.h"
#include "tests/unit/support/certs.h"

#include <openssl/ssl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

static char dir[256];

static int group_setup(void **state)
{
	static const char *const specs[] = {"n1:kefu-node", "adm:kefu-admin", "gw:kefu-gateway",
					    "rev:kefu-admin"};

	(void)state;
	if (bossfile_tmpdir("tls", dir, sizeof(dir)) != 0)
		return -1;
	return certs_make(dir, specs, sizeof(specs) / sizeof(specs[0]));
}

static int group_teardown(void **state)
{
	(void)state;
	bossfile_rmtree(dir);
	return 0;
}

/* tls_ctx_new for NAME's certificate (NULL: none) into *out. */
static int ctx_make(const char *name, bool server, enum tls_client_cert cc, struct tls_ctx **out,
		    char *why, size_t why_size)
{
	char ca[300], crt[300], key[300];
	struct tls_opts o = {
		.ca_file = certs_path(ca, sizeof(ca), dir, "ca", "crt"),
		.cert_file = name ? certs_path(crt, sizeof(crt), dir, name, "crt") : NULL,
		.key_file = name ? certs_path(key, sizeof(key), dir, name, "key") : NULL,
		.server = server,
		.client_cert = cc,
	};

	return tls_ctx_new(&o, out, why, why_size);
}

/* A context for NAME's certificate (NULL: none), which must be accepted. */
static struct tls_ctx *ctx_for(const char *name, bool server, enum tls_client_cert cc)
{
	struct tls_ctx *t;
	char why[TLS_WHY_MAX] = "";

	if (ctx_make(name, server, cc, &t, why, sizeof(why)) != 0)
		fail_msg("context refused: %s", why);
	return t;
}

struct shake {
	SSL *client, *server;
	int fds[2];
	int client_ok, server_ok; /* 1 done, 0 failed */
	char client_why[TLS_WHY_MAX]; /* tls__explain of the client's failure */
};

/* Runs a handshake between a client dialing host and a server; both ends end up done or failed. */
static void shake_run(struct shake *s, struct tls_ctx *cctx, struct tls_ctx *sctx, const char *host)
{
	char why[TLS_WHY_MAX];
	int cr = -1, sr = -1;

	memset(s, 0, sizeof(*s));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, s->fds), 0);
	assert_int_equal(tls__ssl_new(cctx, host, &s->client, why, sizeof(why)), 0);
	assert_int_equal(tls__ssl_new(sctx, NULL, &s->server, why, sizeof(why)), 0);
	SSL_set_fd(s->client, s->fds[0]);
	SSL_set_fd(s->server, s->fds[1]);
	SSL_set_connect_state(s->client);
	SSL_set_accept_state(s->server);
	for (int i = 0; i < 1000 && (cr < 0 || sr < 0); i++) {
		if (cr < 0) {
			int r = SSL_do_handshake(s->client);
			int e = SSL_get_error(s->client, r);

			if (r == 1 || (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE))
				cr = r == 1;
			if (cr == 0)
				tls__explain(s->client, 0, s->client_why, sizeof(s->client_why));
		}
		if (sr < 0) {
			int r = SSL_do_handshake(s->server);
			int e = SSL_get_error(s->server, r);

			if (r == 1 || (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE))
				sr = r == 1;
		}
	}
	s->client_ok = cr;
	s->server_ok = sr;
}

static void shake_free(struct shake *s)
{
	SSL_free(s->client);
	SSL_free(s->server);
	close(s->fds[0]);
	close(s->fds[1]);
}

static void test_contexts_from_certs_sh_files(void **state)
{
	struct tls_ctx *s = ctx_for("n1", true, TLS_CLIENT_CERT_REQUIRED);
	struct tls_ctx *c = ctx_for("adm", false, 0);
	struct tls_ctx *anon = ctx_for(NULL, false, 0);

	(void)state;
	assert_non_null(s);
	assert_non_null(c);
	assert_non_null(anon);
	assert_true(tls_ctx_is_server(s));
	assert_false(tls_ctx_is_server(c));
	tls_ctx_free(s);
	tls_ctx_free(c);
	tls_ctx_free(anon);
	tls_ctx_free(NULL);
}

static void test_missing_ca_file_is_refused_with_reason(void **state)
{
	char why[TLS_WHY_MAX] = "";
	struct tls_opts o = {.ca_file = "/nonexistent/ca.crt", .server = false};

	struct tls_ctx *t = (struct tls_ctx *)&t;

	(void)state;
	assert_int_equal(tls_ctx_new(&o, &t, why, sizeof(why)), KF_ECONFIG);
	assert_null(t);
	assert_non_null(strstr(why, "ca_file: "));
	assert_true(strlen(why) > strlen("ca_file: "));
}

static void test_key_of_another_certificate_is_refused(void **state)
{
	char ca[300], crt[300], key[300], why[TLS_WHY_MAX] = "";
	struct tls_opts o = {
		.ca_file = certs_path(ca, sizeof(ca), dir, "ca", "crt"),
		.cert_file = certs_path(crt, sizeof(crt), dir, "n1", "crt"),
		.key_file = certs_path(key, sizeof(key), dir, "adm", "key"),
		.server = true,
	};

	struct tls_ctx *t = (struct tls_ctx *)&t;

	(void)state;
	assert_int_equal(tls_ctx_new(&o, &t, why, sizeof(why)), KF_ECONFIG);
	assert_null(t);
	assert_non_null(strstr(why, "key_file"));
}

static void test_server_needs_a_certificate(void **state)
{
	char why[TLS_WHY_MAX] = "";
	struct tls_ctx *t = (struct tls_ctx *)&t;

	(void)state;
	assert_int_equal(ctx_make(NULL, true, TLS_CLIENT_CERT_OPTIONAL, &t, why, sizeof(why)),
			 KF_ECONFIG);
	assert_null(t);
	assert_non_null(strstr(why, "cert_file"));
}

static void test_identity_is_cn_and_ou_on_both_sides(void **state)
{
	struct tls_ctx *s = ctx_for("n1", true, TLS_CLIENT_CERT_REQUIRED);
	struct tls_ctx *c = ctx_for("gw", false, 0);
	struct tls_identity id;
	struct shake sh;

	(void)state;
	shake_run(&sh, c, s, "127.0.0.1");
	assert_int_equal(sh.client_ok, 1);
	assert_int_equal(sh.server_ok, 1);
	assert_int_equal(tls__identity(sh.server, &id), 0);
	assert_string_equal(id.cn, "gw");
	assert_string_equal(id.ou, "kefu-gateway");
	assert_int_equal(id.role, TLS_ROLE_GATEWAY);
	assert_int_equal(tls__identity(sh.client, &id), 0);
	assert_string_equal(id.cn, "n1");
	assert_int_equal(id.role, TLS_ROLE_NODE);
	shake_free(&sh);
	tls_ctx_free(s);
	tls_ctx_free(c);
}

static void test_optional_client_cert_gives_no_identity(void **state)
{
	struct tls_ctx *s = ctx_for("n1", true, TLS_CLIENT_CERT_OPTIONAL);
	struct tls_ctx *c = ctx_for(NULL, false, 0);
	struct tls_identity id;
	struct shake sh;

	(void)state;
	shake_run(&sh, c, s, "localhost");
	assert_int_equal(sh.server_ok, 1);
	assert_int_equal(tls__identity(sh.server, &id), KF_ENOTFOUND);
	assert_string_equal(id.cn, "");
	assert_int_equal(id.role, TLS_ROLE_NONE);
	shake_free(&sh);
	tls_ctx_free(s);
	tls_ctx_free(c);
}

static void test_server_name_mismatch_is_explained(void **state)
{
	struct tls_ctx *s = ctx_for("n1", true, TLS_CLIENT_CERT_REQUIRED);
	struct tls_ctx *c = ctx_for("adm", false, 0);
	struct shake sh;

	(void)state;
	shake_run(&sh, c, s, "n1.example");
	assert_int_equal(sh.client_ok, 0);
	assert_int_equal(sh.server_ok, 0);
	assert_non_null(strstr(sh.client_why, "certificate verify failed"));
	assert_non_null(strstr(sh.client_why, "hostname mismatch"));
	shake_free(&sh);
	tls_ctx_free(s);
	tls_ctx_free(c);
}

static void test_client_without_host_is_refused(void **state)
{
	struct tls_ctx *c = ctx_for("adm", false, 0);
	char why[TLS_WHY_MAX] = "";
	struct ssl_st *ssl;

	(void)state;
	assert_int_equal(tls__ssl_new(c, "", &ssl, why, sizeof(why)), KF_ECONFIG);
	assert_null(ssl);
	assert_true(why[0] != '\0');
	tls_ctx_free(c);
}

static void test_role_names_come_from_the_table(void **state)
{
	(void)state;
	assert_string_equal(tls_role_name(TLS_ROLE_NODE), "kefu-node");
	assert_string_equal(tls_role_name(TLS_ROLE_ADMIN), "kefu-admin");
	assert_string_equal(tls_role_name(TLS_ROLE_GATEWAY), "kefu-gateway");
	assert_string_equal(tls_role_name(TLS_ROLE_NONE), "none");
}

/* A key file group or others may read is refused with the fix in the reason; 600 is taken. */
static void test_key_open_to_others_is_refused(void **state)
{
	char key[300], why[TLS_WHY_MAX] = "";
	struct tls_ctx *t = (struct tls_ctx *)&t;

	(void)state;
	certs_path(key, sizeof(key), dir, "gw", "key");
	assert_int_equal(chmod(key, 0640), 0);
	assert_int_equal(ctx_make("gw", false, 0, &t, why, sizeof(why)), KF_ECONFIG);
	assert_null(t);
	assert_non_null(strstr(why, "chmod 600"));
	assert_int_equal(chmod(key, 0604), 0);
	assert_int_equal(ctx_make("gw", false, 0, &t, why, sizeof(why)), KF_ECONFIG);
	assert_int_equal(chmod(key, 0600), 0);
	assert_int_equal(ctx_make("gw", false, 0, &t, why, sizeof(why)), 0);
	tls_ctx_free(t);
}

/* A context for NAME's certificate checking peers against dir/crl.pem. */
static struct tls_ctx *ctx_crl(const char *name, bool server)
{
	char ca[300], crt[300], key[300], crl[300], why[TLS_WHY_MAX] = "";
	struct tls_opts o = {
		.ca_file = certs_path(ca, sizeof(ca), dir, "ca", "crt"),
		.cert_file = certs_path(crt, sizeof(crt), dir, name, "crt"),
		.key_file = certs_path(key, sizeof(key), dir, name, "key"),
		.server = server,
		.client_cert = TLS_CLIENT_CERT_REQUIRED,
		.crl_file = certs_path(crl, sizeof(crl), dir, "crl", "pem"),
	};
	struct tls_ctx *t;

	if (tls_ctx_new(&o, &t, why, sizeof(why)) != 0)
		fail_msg("context refused: %s", why);
	return t;
}

/* Whether a client with NAME's certificate completes a handshake with server s. */
static bool admitted(struct tls_ctx *s, const char *name)
{
	struct tls_ctx *c = ctx_for(name, false, 0);
	struct shake sh;
	bool ok;

	shake_run(&sh, c, s, "127.0.0.1");
	ok = sh.server_ok == 1 && sh.client_ok == 1;
	shake_free(&sh);
	tls_ctx_free(c);
	return ok;
}

/*
 * With crl_file, a revoked client certificate is refused at the handshake
 * and the others pass; the lists are read again by tls_ctx_set_crl, and a
 * file without a CRL is refused, keeping the lists before.
 */
static void test_revoked_certificate_is_refused(void **state)
{
	const char *crl_only[] = {"--crl"}, *revoke[] = {"--revoke", "rev"};
	char crl[300], ca[300], why[TLS_WHY_MAX] = "";
	struct tls_ctx *s, *c, *t = (struct tls_ctx *)&t;
	struct tls_opts bad = {.ca_file = certs_path(ca, sizeof(ca), dir, "ca", "crt"),
			       .crl_file = "/nonexistent/crl.pem"};
	struct shake sh;

	(void)state;
	certs_path(crl, sizeof(crl), dir, "crl", "pem");
	assert_int_equal(certs_make(dir, crl_only, 1), 0);
	s = ctx_crl("n1", true);
	assert_true(admitted(s, "rev"));
	assert_true(admitted(s, "adm"));
	assert_int_equal(certs_make(dir, revoke, 2), 0);
	assert_true(admitted(s, "rev")); /* the lists it read before */
	assert_int_equal(tls_ctx_set_crl(s, crl, why, sizeof(why)), 0);
	assert_false(admitted(s, "rev"));
	assert_true(admitted(s, "adm"));
	/* A client checking the server against the lists: n1 is not revoked. */
	c = ctx_crl("adm", false);
	shake_run(&sh, c, s, "127.0.0.1");
	assert_int_equal(sh.client_ok, 1);
	shake_free(&sh);
	tls_ctx_free(c);
	/* No CRL in the file: refused, the lists before kept. */
	assert_int_equal(tls_ctx_set_crl(s, ca, why, sizeof(why)), KF_ECONFIG);
	assert_non_null(strstr(why, "crl_file"));
	assert_false(admitted(s, "rev"));
	assert_int_equal(tls_ctx_new(&bad, &t, why, sizeof(why)), KF_ECONFIG);
	assert_null(t);
	assert_non_null(strstr(why, "/nonexistent/crl.pem"));
	/* Off again: nothing is checked. */
	assert_int_equal(tls_ctx_set_crl(s, NULL, why, sizeof(why)), 0);
	assert_true(admitted(s, "rev"));
	tls_ctx_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_contexts_from_certs_sh_files),
		cmocka_unit_test(test_missing_ca_file_is_refused_with_reason),
		cmocka_unit_test(test_key_of_another_certificate_is_refused),
		cmocka_unit_test(test_server_needs_a_certificate),
		cmocka_unit_test(test_identity_is_cn_and_ou_on_both_sides),
		cmocka_unit_test(test_optional_client_cert_gives_no_identity),
		cmocka_unit_test(test_server_name_mismatch_is_explained),
		cmocka_unit_test(test_client_without_host_is_refused),
		cmocka_unit_test(test_role_names_come_from_the_table),
		cmocka_unit_test(test_key_open_to_others_is_refused),
		cmocka_unit_test(test_revoked_certificate_is_refused),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
