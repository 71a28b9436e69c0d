/*
 * Certificate making for a province's own CA: the part of the TLS module
 * that writes certificates and keys instead of checking them (kefuctl
 * certs init). Like lib/tls.c it is one of the only two files that touch
 * OpenSSL; its errors are translated here into a short reason.
 *
 * Keys are EC P-256, unencrypted PEM, written with mode 0600 into a file
 * that must not exist yet (O_EXCL: an existing key is never overwritten).
 * Certificates are PEM, mode 0644, also never overwritten. Serial numbers
 * are 128 random bits. Every string is read during the call, not kept.
 */
#ifndef KEFU_LIB_TLS_CERTS_H
#define KEFU_LIB_TLS_CERTS_H

#include <stdbool.h>
#include <stddef.h>

/* Limits of one certificate's subjectAltName. */
#define TLS_CERT_SANS_MAX 16

/* What one certificate says. */
struct tls_cert_spec {
	const char *cn;          /* subject CN, 1..64 bytes */
	const char *ou;          /* subject OU, 1..64 bytes (the role: "kefu-node" ...) */
	bool server;             /* serverAuth as well as clientAuth */
	const char *dns[TLS_CERT_SANS_MAX]; /* DNS names; ndns of them */
	size_t ndns;
	const char *ips[TLS_CERT_SANS_MAX]; /* IPv4 or IPv6 addresses as text; nips */
	size_t nips;
	int days;                /* validity from now, 1..36500 */
};

/*
 * tls_certs_ca_new - a self-signed CA (CN cn, OU "kefu-ca", basicConstraints
 * CA:TRUE critical, keyUsage keyCertSign and cRLSign) valid for days,
 * written to crt_path and its key to key_path. Returns 0, or on failure
 * (why filled; a file written before the failure is removed):
 *   KF_EEXISTS   crt_path or key_path exists already
 *   KF_ECONFIG   cn longer than 64 bytes or empty, days out of bounds
 *   -errno       a file cannot be created or written
 *   KF_EINTERNAL OpenSSL refused (its reason in why)
 */
int tls_certs_ca_new(const char *cn, int days, const char *crt_path, const char *key_path,
		     char *why, size_t why_size);

/*
 * tls_certs_issue - a certificate as spec says, signed by the CA in
 * ca_crt/ca_key (PEM files as tls_certs_ca_new writes them), written to
 * crt_path and its new key to key_path. basicConstraints CA:FALSE and
 * keyUsage digitalSignature, both critical; extendedKeyUsage clientAuth,
 * and serverAuth when spec->server. Returns 0 or the errors of
 * tls_certs_ca_new, and KF_ECONFIG for a bad spec (an address that is no
 * IP address, too many names) or a CA that cannot be read (why says which).
 */
int tls_certs_issue(const char *ca_crt, const char *ca_key, const struct tls_cert_spec *spec,
		    const char *crt_path, const char *key_path, char *why, size_t why_size);

/* A spec read back from a certificate, with room for its strings. */
struct tls_cert_text {
	struct tls_cert_spec spec;          /* days 0: the caller sets it */
	char buf[2048];
	size_t used;
};

/*
 * tls_certs_spec_read - what the certificate at crt_path says: subject CN
 * and OU, serverAuth or not, its DNS names and IP addresses (as text), so
 * that the same certificate can be issued again with a new key (kefuctl
 * certs rotate). Returns 0, or KF_ECONFIG (no certificate there, no CN or
 * OU, names that do not fit; why says which).
 */
int tls_certs_spec_read(const char *crt_path, struct tls_cert_text *t, char *why,
			size_t why_size);

/*
 * tls_certs_revoke - list the certificate at crt_path (which the CA must
 * have issued) in the CA's revocation list at crl_path, made when missing,
 * and sign the list again valid for days (its nextUpdate). *already: it
 * was listed before (the list is still issued again). The file is replaced
 * atomically (a temporary file renamed over it), mode 0644. Returns 0,
 * KF_ECONFIG (a CA, certificate or list that cannot be read, a certificate
 * of another CA, a list another CA signed, days out of 1..36500), -errno,
 * KF_EINTERNAL.
 */
int tls_certs_revoke(const char *ca_crt, const char *ca_key, const char *crt_path,
		     const char *crl_path, int days, bool *already, char *why, size_t why_size);

#endif
