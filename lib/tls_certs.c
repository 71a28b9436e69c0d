/* Certificates and keys of a province CA. See tls_certs.h. */
#include "lib/tls_certs.h"

#include "lib/err.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CERTS_NAME_MAX 64
#define CERTS_DNS_MAX 253
#define CERTS_DAYS_MAX 36500

__attribute__((format(printf, 3, 4))) static void certs_why(char *why, size_t why_size,
							    const char *fmt, ...)
{
	va_list ap;

	if (why && why_size) {
		va_start(ap, fmt);
		vsnprintf(why, why_size, fmt, ap);
		va_end(ap);
	}
}

/* KF_EINTERNAL with "what: <OpenSSL's oldest queued reason>"; empties the queue. */
static int certs_ossl_fail(const char *what, char *why, size_t why_size)
{
	unsigned long e = ERR_get_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	certs_why(why, why_size, "%s: %s", what, r ? r : "OpenSSL refused");
	ERR_clear_error();
	return KF_EINTERNAL;
}

/*
 * Opens path for writing, new and with exactly mode (not the umask's
 * view of it). Returns the stream, or NULL with *err set (KF_EEXISTS or
 * -errno) and why filled.
 */
static FILE *certs_create(const char *path, mode_t mode, int *err, char *why, size_t why_size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	FILE *f;

	if (fd < 0) {
		*err = errno == EEXIST ? KF_EEXISTS : -errno;
		certs_why(why, why_size, "%s: %s", path,
			  errno == EEXIST ? "exists already (nothing is overwritten)"
					  : strerror(errno));
		return NULL;
	}
	if (fchmod(fd, mode) != 0 || !(f = fdopen(fd, "w"))) {
		*err = -errno;
		certs_why(why, why_size, "%s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return NULL;
	}
	return f;
}

/* Writes the key (0600) and the certificate (0644); on failure neither stays. */
static int certs_write(X509 *x, EVP_PKEY *key, const char *crt_path, const char *key_path,
		       char *why, size_t why_size)
{
	int err = 0;
	FILE *kf, *cf;

	if (!(kf = certs_create(key_path, 0600, &err, why, why_size)))
		return err;
	if (!PEM_write_PrivateKey(kf, key, NULL, NULL, 0, NULL, NULL)) {
		err = certs_ossl_fail(key_path, why, why_size);
		fclose(kf);
		goto drop_key;
	}
	if (fclose(kf) != 0) {
		err = -errno;
		certs_why(why, why_size, "%s: %s", key_path, strerror(errno));
		goto drop_key;
	}
	if (!(cf = certs_create(crt_path, 0644, &err, why, why_size)))
		goto drop_key;
	if (!PEM_write_X509(cf, x)) {
		err = certs_ossl_fail(crt_path, why, why_size);
		fclose(cf);
		goto drop_cert;
	}
	if (fclose(cf) != 0) {
		err = -errno;
		certs_why(why, why_size, "%s: %s", crt_path, strerror(errno));
		goto drop_cert;
	}
	return 0;
drop_cert:
	unlink(crt_path);
drop_key:
	unlink(key_path);
	return err;
}

static bool certs_name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n > 0 && n <= CERTS_NAME_MAX;
}

/* A DNS name as a certificate may carry it: letters, digits, '-', '.'. */
static bool certs_dns_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CERTS_DNS_MAX || s[0] == '.' || s[0] == '-')
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == n;
}

/* A new certificate for key: version 3, a random 128-bit serial, subject CN/OU, validity. */
static X509 *certs_x509_new(EVP_PKEY *key, const char *cn, const char *ou, int days)
{
	X509 *x = X509_new();
	BIGNUM *serial = BN_new();
	X509_NAME *name;

	if (!x || !serial || !X509_set_version(x, X509_VERSION_3) ||
	    !BN_rand(serial, 128, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
	    !BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL) || !X509_set_pubkey(x, key))
		goto fail;
	name = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
					-1, 0) ||
	    !X509_NAME_add_entry_by_txt(name, "OU", MBSTRING_UTF8, (const unsigned char *)ou, -1,
					-1, 0))
		goto fail;
	BN_free(serial);
	return x;
fail:
	BN_free(serial);
	X509_free(x);
	return NULL;
}

/* Adds one extension given in OpenSSL's configuration syntax (our constants only). */
static bool certs_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	bool ok = e && X509_add_ext(x, e, -1);

	X509_EXTENSION_free(e);
	return ok;
}

/* The subjectAltName of spec, built from names (never from configuration text). */
static int certs_sans(X509 *x, const struct tls_cert_spec *spec, char *why, size_t why_size)
{
	GENERAL_NAMES *gens;
	int r = 0;

	if (spec->ndns + spec->nips == 0)
		return 0;
	if (!(gens = sk_GENERAL_NAME_new_null()))
		abort();
	for (size_t i = 0; i < spec->ndns && r == 0; i++) {
		GENERAL_NAME *g = GENERAL_NAME_new();
		ASN1_IA5STRING *s = ASN1_IA5STRING_new();

		if (!g || !s)
			abort();
		if (!certs_dns_ok(spec->dns[i])) {
			certs_why(why, why_size, "%.80s: not a DNS name", spec->dns[i]);
			r = KF_ECONFIG;
		} else if (!ASN1_STRING_set(s, spec->dns[i], -1)) {
			abort();
		}
		if (r) {
			ASN1_IA5STRING_free(s);
			GENERAL_NAME_free(g);
			break;
		}
		GENERAL_NAME_set0_value(g, GEN_DNS, s);
		sk_GENERAL_NAME_push(gens, g);
	}
	for (size_t i = 0; i < spec->nips && r == 0; i++) {
		ASN1_OCTET_STRING *ip = a2i_IPADDRESS(spec->ips[i]);
		GENERAL_NAME *g;

		if (!ip) {
			ERR_clear_error();
			certs_why(why, why_size, "%.80s: not an IP address", spec->ips[i]);
			r = KF_ECONFIG;
			break;
		}
		if (!(g = GENERAL_NAME_new()))
			abort();
		GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
		sk_GENERAL_NAME_push(gens, g);
	}
	if (r == 0 && X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) != 1)
		r = certs_ossl_fail("subjectAltName", why, why_size);
	GENERAL_NAMES_free(gens);
	return r;
}

static EVP_PKEY *certs_key_new(void)
{
	return EVP_EC_gen("P-256");
}

int tls_certs_ca_new(const char *cn, int days, const char *crt_path, const char *key_path,
		     char *why, size_t why_size)
{
	EVP_PKEY *key = NULL;
	X509V3_CTX ctx;
	X509 *x = NULL;
	int r;

	ERR_clear_error();
	if (!certs_name_ok(cn) || days < 1 || days > CERTS_DAYS_MAX) {
		certs_why(why, why_size, "a CA needs a CN of 1..64 bytes and 1..%d days",
			  CERTS_DAYS_MAX);
		return KF_ECONFIG;
	}
	if (!(key = certs_key_new()) || !(x = certs_x509_new(key, cn, "kefu-ca", days)) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(x))) {
		r = certs_ossl_fail("CA certificate", why, why_size);
		goto out;
	}
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if (!certs_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE") ||
	    !certs_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    !certs_ext(x, &ctx, NID_subject_key_identifier, "hash") ||
	    !certs_ext(x, &ctx, NID_authority_key_identifier, "keyid:always") ||
	    !X509_sign(x, key, EVP_sha256())) {
		r = certs_ossl_fail("CA certificate", why, why_size);
		goto out;
	}
	r = certs_write(x, key, crt_path, key_path, why, why_size);
out:
	X509_free(x);
	EVP_PKEY_free(key);
	return r;
}

/* The CA's certificate and key from PEM files; KF_ECONFIG when either is unusable. */
static int certs_ca_read(const char *ca_crt, const char *ca_key, X509 **cx, EVP_PKEY **ck,
			 char *why, size_t why_size)
{
	FILE *f;

	*cx = NULL;
	*ck = NULL;
	if ((f = fopen(ca_crt, "re"))) {
		*cx = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
	}
	if ((f = fopen(ca_key, "re"))) {
		*ck = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
	}
	if (*cx && *ck && X509_check_private_key(*cx, *ck) == 1)
		return 0;
	ERR_clear_error();
	certs_why(why, why_size, "the CA %s with key %s cannot be read or do not match", ca_crt,
		  ca_key);
	X509_free(*cx);
	EVP_PKEY_free(*ck);
	*cx = NULL;
	*ck = NULL;
	return KF_ECONFIG;
}

int tls_certs_issue(const char *ca_crt, const char *ca_key, const struct tls_cert_spec *spec,
		    const char *crt_path, const char *key_path, char *why, size_t why_size)
{
	EVP_PKEY *key = NULL, *ck;
	X509 *x = NULL, *cx;
	X509V3_CTX ctx;
	int r;

	ERR_clear_error();
	if (!certs_name_ok(spec->cn) || !certs_name_ok(spec->ou) || spec->days < 1 ||
	    spec->days > CERTS_DAYS_MAX || spec->ndns > TLS_CERT_SANS_MAX ||
	    spec->nips > TLS_CERT_SANS_MAX) {
		certs_why(why, why_size,
			  "a certificate needs a CN and OU of 1..64 bytes, 1..%d days and at "
			  "most %d names and %d addresses", CERTS_DAYS_MAX, TLS_CERT_SANS_MAX,
			  TLS_CERT_SANS_MAX);
		return KF_ECONFIG;
	}
	if ((r = certs_ca_read(ca_crt, ca_key, &cx, &ck, why, why_size)))
		return r;
	if (!(key = certs_key_new()) || !(x = certs_x509_new(key, spec->cn, spec->ou, spec->days)) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(cx))) {
		r = certs_ossl_fail(spec->cn, why, why_size);
		goto out;
	}
	X509V3_set_ctx(&ctx, cx, x, NULL, NULL, 0);
	if (!certs_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE") ||
	    !certs_ext(x, &ctx, NID_key_usage, "critical,digitalSignature") ||
	    !certs_ext(x, &ctx, NID_ext_key_usage,
		       spec->server ? "serverAuth,clientAuth" : "clientAuth") ||
	    !certs_ext(x, &ctx, NID_subject_key_identifier, "hash") ||
	    !certs_ext(x, &ctx, NID_authority_key_identifier, "keyid:always")) {
		r = certs_ossl_fail(spec->cn, why, why_size);
		goto out;
	}
	if ((r = certs_sans(x, spec, why, why_size)))
		goto out;
	if (!X509_sign(x, ck, EVP_sha256())) {
		r = certs_ossl_fail(spec->cn, why, why_size);
		goto out;
	}
	r = certs_write(x, key, crt_path, key_path, why, why_size);
out:
	X509_free(x);
	EVP_PKEY_free(key);
	X509_free(cx);
	EVP_PKEY_free(ck);
	return r;
}

/* ---- what a certificate says; revocation ---- */

static X509 *certs_x509_read(const char *path)
{
	FILE *f = fopen(path, "re");
	X509 *x;

	if (!f)
		return NULL;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	return x;
}

/* Copies text[0..n) into the spec's buffer; NULL when it is full. */
static const char *certs_keep(struct tls_cert_text *t, const char *text, size_t n)
{
	char *p;

	if (n + 1 > sizeof(t->buf) - t->used)
		return NULL;
	p = t->buf + t->used;
	memcpy(p, text, n);
	p[n] = '\0';
	t->used += n + 1;
	return p;
}

static const char *certs_name_entry(X509_NAME *name, int nid, struct tls_cert_text *t)
{
	int i = X509_NAME_get_index_by_NID(name, nid, -1);
	ASN1_STRING *s = i < 0 ? NULL : X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));

	return s ? certs_keep(t, (const char *)ASN1_STRING_get0_data(s),
			      (size_t)ASN1_STRING_length(s))
		 : NULL;
}

int tls_certs_spec_read(const char *crt_path, struct tls_cert_text *t, char *why,
			size_t why_size)
{
	struct tls_cert_spec *spec = &t->spec;
	GENERAL_NAMES *sans;
	X509 *x;
	int r = 0;

	memset(t, 0, sizeof(*t));
	ERR_clear_error();
	if (!(x = certs_x509_read(crt_path))) {
		ERR_clear_error();
		certs_why(why, why_size, "%s: no PEM certificate to read", crt_path);
		return KF_ECONFIG;
	}
	spec->cn = certs_name_entry(X509_get_subject_name(x), NID_commonName, t);
	spec->ou = certs_name_entry(X509_get_subject_name(x), NID_organizationalUnitName, t);
	spec->server = (X509_get_extended_key_usage(x) & XKU_SSL_SERVER) != 0;
	sans = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans) && !r; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
		char ip[INET6_ADDRSTRLEN];
		const char *kept = NULL;

		if (g->type == GEN_DNS && spec->ndns < TLS_CERT_SANS_MAX) {
			kept = certs_keep(t, (const char *)ASN1_STRING_get0_data(g->d.dNSName),
					  (size_t)ASN1_STRING_length(g->d.dNSName));
			spec->dns[spec->ndns++] = kept;
		} else if (g->type == GEN_IPADD && spec->nips < TLS_CERT_SANS_MAX) {
			int len = ASN1_STRING_length(g->d.iPAddress);
			const unsigned char *b = ASN1_STRING_get0_data(g->d.iPAddress);

			if ((len == 4 && inet_ntop(AF_INET, b, ip, sizeof(ip))) ||
			    (len == 16 && inet_ntop(AF_INET6, b, ip, sizeof(ip))))
				kept = certs_keep(t, ip, strlen(ip));
			spec->ips[spec->nips++] = kept;
		} else {
			continue;
		}
		if (!kept) {
			certs_why(why, why_size, "%s: a subjectAltName that cannot be kept", crt_path);
			r = KF_ECONFIG;
		}
	}
	GENERAL_NAMES_free(sans);
	if (!r && (!spec->cn || !spec->ou)) {
		certs_why(why, why_size, "%s: no subject CN and OU", crt_path);
		r = KF_ECONFIG;
	}
	X509_free(x);
	return r;
}

/* Writes crl to path through path.tmp and a rename: a node reading it sees
 * the old list or the new one, never half of one. */
static int certs_crl_write(X509_CRL *crl, const char *path, char *why, size_t why_size)
{
	char tmp[4096];
	int err = 0;
	FILE *f;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		certs_why(why, why_size, "%s: path too long", path);
		return KF_ECONFIG;
	}
	unlink(tmp);
	if (!(f = certs_create(tmp, 0644, &err, why, why_size)))
		return err;
	if (!PEM_write_X509_CRL(f, crl)) {
		fclose(f);
		unlink(tmp);
		return certs_ossl_fail(path, why, why_size);
	}
	if (fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
		err = -errno;
		certs_why(why, why_size, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return err;
	}
	return 0;
}

int tls_certs_revoke(const char *ca_crt, const char *ca_key, const char *crt_path,
		     const char *crl_path, int days, bool *already, char *why, size_t why_size)
{
	X509 *cx = NULL, *x = NULL;
	EVP_PKEY *ck = NULL;
	X509_CRL *crl = NULL;
	X509_REVOKED *rev = NULL, *found = NULL;
	ASN1_TIME *now = NULL, *next = NULL;
	FILE *f;
	int r;

	*already = false;
	ERR_clear_error();
	if (days < 1 || days > CERTS_DAYS_MAX) {
		certs_why(why, why_size, "a revocation list is valid 1..%d days", CERTS_DAYS_MAX);
		return KF_ECONFIG;
	}
	if ((r = certs_ca_read(ca_crt, ca_key, &cx, &ck, why, why_size)))
		return r;
	if (!(x = certs_x509_read(crt_path))) {
		ERR_clear_error();
		certs_why(why, why_size, "%s: no PEM certificate to read", crt_path);
		r = KF_ECONFIG;
		goto out;
	}
	if (X509_check_issued(cx, x) != X509_V_OK) {
		certs_why(why, why_size, "%s was not issued by the CA %s", crt_path, ca_crt);
		r = KF_ECONFIG;
		goto out;
	}
	if ((f = fopen(crl_path, "re"))) {
		crl = PEM_read_X509_CRL(f, NULL, NULL, NULL);
		fclose(f);
		if (!crl || X509_CRL_verify(crl, ck) != 1) {
			ERR_clear_error();
			certs_why(why, why_size, "%s: not a revocation list of this CA", crl_path);
			r = KF_ECONFIG;
			goto out;
		}
	} else if (errno != ENOENT) {
		r = -errno;
		certs_why(why, why_size, "%s: %s", crl_path, strerror(errno));
		goto out;
	} else if (!(crl = X509_CRL_new()) || !X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
		   !X509_CRL_set_issuer_name(crl, X509_get_subject_name(cx))) {
		r = certs_ossl_fail(crl_path, why, why_size);
		goto out;
	}
	if (X509_CRL_get0_by_serial(crl, &found, X509_get0_serialNumber(x)) == 1) {
		*already = true;
	} else if (!(rev = X509_REVOKED_new()) ||
		   !X509_REVOKED_set_serialNumber(rev, (ASN1_INTEGER *)X509_get0_serialNumber(x)) ||
		   !(now = ASN1_TIME_adj(NULL, time(NULL), 0, 0)) ||
		   !X509_REVOKED_set_revocationDate(rev, now) || !X509_CRL_add0_revoked(crl, rev)) {
		r = certs_ossl_fail(crt_path, why, why_size);
		X509_REVOKED_free(rev);
		goto out;
	}
	/* Issued again whether or not the certificate was listed: a fresh
	 * lastUpdate and nextUpdate, signed by the CA. */
	if (!(now || (now = ASN1_TIME_adj(NULL, time(NULL), 0, 0))) ||
	    !(next = ASN1_TIME_adj(NULL, time(NULL), days, 0)) || !X509_CRL_set1_lastUpdate(crl, now) ||
	    !X509_CRL_set1_nextUpdate(crl, next) || !X509_CRL_sort(crl) ||
	    !X509_CRL_sign(crl, ck, EVP_sha256())) {
		r = certs_ossl_fail(crl_path, why, why_size);
		goto out;
	}
	r = certs_crl_write(crl, crl_path, why, why_size);
out:
	ASN1_TIME_free(now);
	ASN1_TIME_free(next);
	X509_CRL_free(crl);
	X509_free(x);
	X509_free(cx);
	EVP_PKEY_free(ck);
	return r;
}
