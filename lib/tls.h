/*
 * TLS: OpenSSL contexts and peer identities. The only OpenSSL TLS code in
 * the tree (lib/net.c carries the SSL objects this module makes, without
 * looking inside them).
 *
 * Policy, fixed here and not configurable: TLS 1.3 only; the peer's
 * certificate is always verified against the cluster CA; a client checks
 * the server certificate's subjectAltName against the host it dialed (an
 * IP address against IP entries, a name against DNS entries). A server
 * either requires a client certificate or accepts connections without one
 * (agents, who log in with a password); a certificate that is presented is
 * verified either way. The role of a verified peer is its certificate's OU.
 *
 * Errors: OpenSSL's are translated here, once, into a short text that
 * keeps OpenSSL's reason ("ca_file: No such file or directory",
 * "certificate verify failed (hostname mismatch)"): tls_ctx_new returns
 * its error code with it (and logs it); a failed handshake is KF_ETLS with
 * it (tls__explain, which lib/net.c passes on to the close callback).
 */
#ifndef KEFU_LIB_TLS_H
#define KEFU_LIB_TLS_H

#include <stdbool.h>
#include <stddef.h>

struct tls_ctx;
struct ssl_st; /* OpenSSL's SSL; only lib/net.c handles one */

/* The longest text tls_* functions write as an error reason, with its NUL. */
#define TLS_WHY_MAX 256

/* Client certificate policy of a server context. */
enum tls_client_cert {
	TLS_CLIENT_CERT_REQUIRED, /* no certificate: the handshake fails */
	TLS_CLIENT_CERT_OPTIONAL, /* no certificate: accepted, no identity */
	TLS_CLIENT_CERT_NONE,     /* none asked for (browsers: the console) */
};

struct tls_opts {
	const char *ca_file;   /* PEM: the CA that signs every peer */
	const char *cert_file; /* PEM: our certificate; NULL for a client without one */
	const char *key_file;  /* PEM: its key, unencrypted; NULL when cert_file is */
	bool server;           /* accepts connections (else dials them) */
	enum tls_client_cert client_cert; /* servers only */
	/* PEM: certificate revocation lists, one or more; NULL = none. When
	 * set, every certificate of a peer's chain, intermediate CAs included,
	 * needs a current CRL of its issuer in the file that does not list it
	 * (X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL); a revoked
	 * certificate, or a CA without a CRL, or an expired CRL, fails the
	 * handshake. */
	const char *crl_file;
};

/*
 * tls_ctx_new - a context for many connections, built from o (the strings
 * are read during the call, not kept), into *out. Returns 0, or on failure
 * (*out NULL, the reason written into why[0..why_size), why may be NULL):
 *   KF_ECONFIG    a file that cannot be read or parsed, a key that does
 *                 not match the certificate, a server without a certificate,
 *                 a certificate without its key, a key file that group or
 *                 others may read or write (mode & 077: chmod 600 it;
 *                 lib/secret.h), a crl_file without a CRL in it
 *   -errno        the key file cannot be found (stat)
 *   KF_EINTERNAL  OpenSSL cannot make a TLS 1.3 context at all
 * Free with tls_ctx_free after every connection using it.
 */
int tls_ctx_new(const struct tls_opts *o, struct tls_ctx **out, char *why, size_t why_size);

/*
 * tls_ctx_set_crl - the CRLs of crl_file (PEM, one or more) replace those
 * t checks peers against, for every handshake from now on (connections
 * already up stay). NULL turns the check off. Returns 0, or, t unchanged,
 * KF_ECONFIG (the file cannot be read or holds no CRL; why says which).
 */
int tls_ctx_set_crl(struct tls_ctx *t, const char *crl_file, char *why, size_t why_size);

/* tls_ctx_free - NULL is fine. */
void tls_ctx_free(struct tls_ctx *t);

/* tls_ctx_is_server - true for a context made with o->server. */
bool tls_ctx_is_server(const struct tls_ctx *t);

/* ---- peer identity ---- */

/* Roles: the OU of a verified certificate. Bits, so a rule can allow several. */
#define TLS_ROLES(X)                               \
	X(TLS_ROLE_NODE, 1u << 0, "kefu-node")     \
	X(TLS_ROLE_ADMIN, 1u << 1, "kefu-admin")   \
	X(TLS_ROLE_GATEWAY, 1u << 2, "kefu-gateway")

enum tls_role {
	TLS_ROLE_NONE = 0, /* no verified certificate, or an OU that is no role */
#define TLS_ROLE_ENUM_(id, bit, ou) id = (bit),
	TLS_ROLES(TLS_ROLE_ENUM_)
#undef TLS_ROLE_ENUM_
};

/* X.509 bounds a CN and an OU at 64 characters. */
#define TLS_NAME_MAX 64

/* Who the peer proved to be. All empty (role NONE) when it showed no certificate. */
struct tls_identity {
	char cn[TLS_NAME_MAX + 1]; /* subject CN */
	char ou[TLS_NAME_MAX + 1]; /* subject OU, as written */
	enum tls_role role;        /* the OU as a role */
};

/* tls_role_name - "kefu-node"...; "none" for TLS_ROLE_NONE or an unknown value. Static. */
const char *tls_role_name(enum tls_role r);

/* ---- for lib/net.c ---- */

/*
 * tls__ssl_new - an SSL object for one connection, owned by the caller
 * (lib/net.c hands it to a bufferevent that frees it). host is the host a
 * client dialed, checked against the server's certificate; servers pass
 * NULL. Returns 0 and *out, or (why filled, *out NULL) KF_ECONFIG (a
 * client without a host) or KF_ETLS (OpenSSL refused).
 */
int tls__ssl_new(struct tls_ctx *t, const char *host, struct ssl_st **out, char *why,
		 size_t why_size);

/*
 * tls__identity - after a completed handshake: the peer's verified
 * identity into *out. Returns 0, or KF_ENOTFOUND (no certificate was
 * presented; *out is all empty). A CN or OU longer than TLS_NAME_MAX, or
 * missing, leaves that field empty.
 */
int tls__identity(struct ssl_st *ssl, struct tls_identity *out);

/*
 * tls__explain - text for a failed handshake or read/write on ssl:
 * `code` is an OpenSSL error code (0 if none was queued), the certificate
 * verification result is added when that is what failed. Clears
 * OpenSSL's error queue. Returns KF_ETLS.
 */
int tls__explain(struct ssl_st *ssl, unsigned long code, char *why, size_t why_size);

#endif
