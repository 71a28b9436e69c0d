/* OpenSSL contexts, per-connection SSL objects, peer identities. See tls.h. */
#include "lib/tls.h"

#include "lib/err.h"
#include "lib/log.h"
#include "lib/secret.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tls_ctx {
	SSL_CTX *ssl;
	bool server;
	char *ca_file; /* kept for tls_ctx_set_crl, which builds the trust store anew */
};

static const struct {
	enum tls_role role;
	const char *ou;
} tls_roletab[] = {
#define TLS_ROLE_ROW_(id, bit, ou) {id, ou},
	TLS_ROLES(TLS_ROLE_ROW_)
#undef TLS_ROLE_ROW_
};

#define TLS_NROLES (sizeof(tls_roletab) / sizeof(tls_roletab[0]))

const char *tls_role_name(enum tls_role r)
{
	for (size_t i = 0; i < TLS_NROLES; i++)
		if (tls_roletab[i].role == r)
			return tls_roletab[i].ou;
	return "none";
}

static enum tls_role tls_role_of(const char *ou)
{
	for (size_t i = 0; i < TLS_NROLES; i++)
		if (strcmp(tls_roletab[i].ou, ou) == 0)
			return tls_roletab[i].role;
	return TLS_ROLE_NONE;
}

/* OpenSSL's reason for one queued error code; system errors as strerror. */
static const char *tls_reason(unsigned long code)
{
	const char *r;

	if (code == 0)
		return "no reason given";
	if (ERR_SYSTEM_ERROR(code))
		return strerror(ERR_GET_REASON(code));
	r = ERR_reason_error_string(code);
	return r ? r : "unknown OpenSSL error";
}

/*
 * Writes "what: <reason of the oldest queued error>" into why, and empties
 * the queue so the next failure starts clean.
 */
static void tls_fail(const char *what, char *why, size_t why_size)
{
	unsigned long e = ERR_get_error();

	if (why && why_size)
		snprintf(why, why_size, "%s: %s", what, tls_reason(e));
	ERR_clear_error();
}

/*
 * A trust store of the CA in ca_file and, with crl_file, every CRL in it
 * checked for each certificate of a chain: the chain's intermediates are
 * as revocable as its leaf (CRL_CHECK_ALL), so the file must carry a CRL
 * of every CA. Returns the store, or NULL with msg filled.
 */
static X509_STORE *tls_store_new(const char *ca_file, const char *crl_file, char *msg, size_t n)
{
	X509_STORE *st = X509_STORE_new();
	X509_LOOKUP *lu;

	if (!st)
		abort();
	if (X509_STORE_load_file(st, ca_file) != 1) {
		tls_fail("ca_file", msg, n);
		goto fail;
	}
	if (!crl_file)
		return st;
	lu = X509_STORE_add_lookup(st, X509_LOOKUP_file());
	if (!lu || X509_load_crl_file(lu, crl_file, X509_FILETYPE_PEM) <= 0) {
		char what[TLS_WHY_MAX];

		snprintf(what, sizeof(what), "crl_file %s", crl_file);
		tls_fail(what, msg, n);
		goto fail;
	}
	X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
	return st;
fail:
	X509_STORE_free(st);
	return NULL;
}

int tls_ctx_set_crl(struct tls_ctx *t, const char *crl_file, char *why, size_t why_size)
{
	char msg[TLS_WHY_MAX];
	X509_STORE *st;

	ERR_clear_error();
	st = tls_store_new(t->ca_file, crl_file, msg, sizeof(msg));
	if (!st) {
		log_err(LOG_NET, "tls revocation lists refused why=\"%s\"", msg);
		if (why && why_size)
			snprintf(why, why_size, "%s", msg);
		return KF_ECONFIG;
	}
	/* The context frees its old store; handshakes from now on use this one. */
	SSL_CTX_set_cert_store(t->ssl, st);
	return 0;
}

int tls_ctx_new(const struct tls_opts *o, struct tls_ctx **out, char *why, size_t why_size)
{
	struct tls_ctx *t = calloc(1, sizeof(*t));
	int mode = SSL_VERIFY_PEER;
	int err = KF_ECONFIG, r;
	char msg[TLS_WHY_MAX];
	X509_STORE *st;

	*out = NULL;
	if (!t)
		abort();
	t->server = o->server;
	ERR_clear_error();
	t->ssl = SSL_CTX_new(o->server ? TLS_server_method() : TLS_client_method());
	if (!t->ssl) {
		tls_fail("SSL_CTX_new", msg, sizeof(msg));
		err = KF_EINTERNAL;
		goto fail;
	}
	if (!SSL_CTX_set_min_proto_version(t->ssl, TLS1_3_VERSION)) {
		tls_fail("TLS 1.3", msg, sizeof(msg));
		err = KF_EINTERNAL;
		goto fail;
	}
	if (!o->ca_file) {
		snprintf(msg, sizeof(msg), "ca_file: none given");
		goto fail;
	}
	t->ca_file = strdup(o->ca_file);
	if (!t->ca_file)
		abort();
	if (!(st = tls_store_new(o->ca_file, o->crl_file, msg, sizeof(msg))))
		goto fail;
	SSL_CTX_set_cert_store(t->ssl, st);
	if (!o->cert_file != !o->key_file || (o->server && !o->cert_file)) {
		snprintf(msg, sizeof(msg), "%s",
			 o->server ? "a server needs cert_file and key_file"
				   : "cert_file and key_file go together");
		goto fail;
	}
	if (o->key_file && (r = secret_file_check(o->key_file, "key_file", msg, sizeof(msg))) != 0) {
		err = r;
		goto fail;
	}
	if (o->cert_file) {
		if (SSL_CTX_use_certificate_chain_file(t->ssl, o->cert_file) != 1) {
			tls_fail("cert_file", msg, sizeof(msg));
			goto fail;
		}
		if (SSL_CTX_use_PrivateKey_file(t->ssl, o->key_file, SSL_FILETYPE_PEM) != 1) {
			tls_fail("key_file", msg, sizeof(msg));
			goto fail;
		}
		if (SSL_CTX_check_private_key(t->ssl) != 1) {
			tls_fail("key_file does not match cert_file", msg, sizeof(msg));
			goto fail;
		}
	}
	if (o->server && o->client_cert == TLS_CLIENT_CERT_NONE) {
		mode = SSL_VERIFY_NONE;
	} else if (o->server) {
		STACK_OF(X509_NAME) *cas = SSL_load_client_CA_file(o->ca_file);

		if (cas)
			SSL_CTX_set_client_CA_list(t->ssl, cas);
		if (o->client_cert == TLS_CLIENT_CERT_REQUIRED)
			mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
		/* Connections are long-lived and few: no session resumption. */
		SSL_CTX_set_num_tickets(t->ssl, 0);
		SSL_CTX_set_session_cache_mode(t->ssl, SSL_SESS_CACHE_OFF);
	}
	SSL_CTX_set_verify(t->ssl, mode, NULL);
	/*
	 * Peers close without a TLS close_notify (libevent sends none). Every
	 * frame carries its length, so a cut-off stream cannot pass for a
	 * complete one: an EOF is an orderly end, not an error.
	 */
	SSL_CTX_set_options(t->ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
	ERR_clear_error();
	*out = t;
	return 0;
fail:
	log_err(LOG_NET, "tls context refused why=\"%s\"", msg);
	if (why && why_size)
		snprintf(why, why_size, "%s", msg);
	tls_ctx_free(t);
	return err;
}

void tls_ctx_free(struct tls_ctx *t)
{
	if (!t)
		return;
	SSL_CTX_free(t->ssl);
	free(t->ca_file);
	free(t);
}

bool tls_ctx_is_server(const struct tls_ctx *t)
{
	return t->server;
}

int tls__ssl_new(struct tls_ctx *t, const char *host, SSL **out, char *why, size_t why_size)
{
	SSL *ssl;
	unsigned char addr[sizeof(struct in6_addr)];
	X509_VERIFY_PARAM *param;
	int ok;

	*out = NULL;
	ERR_clear_error();
	if (!t->server && (!host || !*host)) {
		snprintf(why, why_size, "no host to check the server certificate against");
		return KF_ECONFIG;
	}
	ssl = SSL_new(t->ssl);
	if (!ssl) {
		tls_fail("SSL_new", why, why_size);
		return KF_ETLS;
	}
	if (t->server) {
		*out = ssl;
		return 0;
	}
	param = SSL_get0_param(ssl);
	X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1)
		ok = X509_VERIFY_PARAM_set1_ip_asc(param, host);
	else
		ok = SSL_set1_host(ssl, host) && SSL_set_tlsext_host_name(ssl, host);
	if (!ok) {
		tls_fail("server name", why, why_size);
		SSL_free(ssl);
		return KF_ETLS;
	}
	*out = ssl;
	return 0;
}

/* Copies the first entry `nid` of name into out, if it fits; else leaves out empty. */
static void tls_name_get(X509_NAME *name, int nid, char out[TLS_NAME_MAX + 1])
{
	int i = X509_NAME_get_index_by_NID(name, nid, -1);
	unsigned char *utf8 = NULL;
	int n;

	out[0] = '\0';
	if (i < 0)
		return;
	n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
	if (n > 0 && n <= TLS_NAME_MAX && memchr(utf8, '\0', (size_t)n) == NULL) {
		memcpy(out, utf8, (size_t)n);
		out[n] = '\0';
	}
	OPENSSL_free(utf8);
}

int tls__identity(SSL *ssl, struct tls_identity *out)
{
	X509 *peer = SSL_get0_peer_certificate(ssl);
	X509_NAME *name;

	memset(out, 0, sizeof(*out));
	if (!peer)
		return KF_ENOTFOUND;
	/* Verification is mandatory whenever a certificate is shown; belt and braces. */
	if (SSL_get_verify_result(ssl) != X509_V_OK)
		return KF_ETLS;
	name = X509_get_subject_name(peer);
	tls_name_get(name, NID_commonName, out->cn);
	tls_name_get(name, NID_organizationalUnitName, out->ou);
	out->role = tls_role_of(out->ou);
	return 0;
}

int tls__explain(SSL *ssl, unsigned long code, char *why, size_t why_size)
{
	long v = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;

	if (code == 0)
		code = ERR_get_error();
	if (v != X509_V_OK)
		snprintf(why, why_size, "%s (%s)", tls_reason(code), X509_verify_cert_error_string(v));
	else
		snprintf(why, why_size, "%s", tls_reason(code));
	ERR_clear_error();
	return KF_ETLS;
}
