/* Certificates and keys of a province CA. See tls_certs.h. */
#include "lib/tls_certs.h"

#include "lib/err.h"

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
