/*
 * kefuctl certs init: a province's CA and every certificate a center needs,
 * offline, in one folder laid out as kefud, kefuctl and the cluster harness
 * expect them (DIR/ca.crt, DIR/NAME.crt, DIR/NAME.key):
 *
 *   ca          the province CA (OU kefu-ca); keep ca.key off the nodes
 *   NODE        one per --nodes entry (OU kefu-node, CN the node's name):
 *               serverAuth and clientAuth, so etcd and Redis serve and dial
 *               with it too; SAN DNS:NAME and the address given as NAME=ADDR
 *   admin       kefuctl (OU kefu-admin), clientAuth
 *   supervisor  a supervisors' workstation (OU kefu-supervisor), clientAuth;
 *               no role a node admits: supervisors log in with their account
 *   gateway     a telephony gateway (OU kefu-gateway), clientAuth
 *
 * kefuctl certs rotate: one certificate of the folder issued again with a
 * new key (the previous kept as NAME.crt.old), for a rolling restart.
 * kefuctl certs revoke: a certificate listed in the folder's crl.pem.
 *
 * The certificates are made by the TLS module (lib/tls_certs.h); this file
 * only reads the command line and says what was written.
 */
#include "cluster/kefuctl/ctl.h"

#include "lib/err.h"
#include "lib/tls_certs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CERTS_NODES_MAX 32
#define CERTS_PATH_MAX 4096
#define CERTS_DAYS_DEFAULT 825
#define CERTS_CA_DAYS 3650

/* The certificates besides the nodes': name, OU. */
static const struct {
	const char *name, *ou;
} certs_clients[] = {
	{"admin", "kefu-admin"},
	{"supervisor", "kefu-supervisor"},
	{"gateway", "kefu-gateway"},
};
#define CERTS_NCLIENTS (sizeof(certs_clients) / sizeof(certs_clients[0]))

struct certs_node {
	char name[65];
	char addr[256]; /* "" when none was given */
};

struct certs_args {
	const char *province, *out;
	struct certs_node nodes[CERTS_NODES_MAX];
	size_t nnodes;
	uint64_t days;
	bool json;
};

/* A file name stem: [A-Za-z0-9._-], 1..64, not starting with '.'. */
static bool certs_stem_ok(const char *s, size_t n)
{
	if (n == 0 || n > 64 || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", s[i]))
			return false;
	return true;
}

/* True when name is taken: the CA, a client certificate or an earlier node. */
static bool certs_name_taken(const struct certs_args *a, const char *name)
{
	if (strcmp(name, "ca") == 0 || strcmp(name, "crl") == 0)
		return true;
	for (size_t i = 0; i < CERTS_NCLIENTS; i++)
		if (strcmp(name, certs_clients[i].name) == 0)
			return true;
	for (size_t i = 0; i < a->nnodes; i++)
		if (strcmp(name, a->nodes[i].name) == 0)
			return true;
	return false;
}

/* --nodes NAME[=ADDR],...: fills a->nodes. 0 or EXIT_USAGE. */
static int certs_nodes_parse(struct certs_args *a, const char *list)
{
	for (const char *p = list, *end; *p; p = *end ? end + 1 : end) {
		const char *eq;
		size_t n;
		struct certs_node *nd;

		end = strchr(p, ',');
		if (!end)
			end = p + strlen(p);
		n = (size_t)(end - p);
		eq = memchr(p, '=', n);
		if (n == 0)
			continue;
		if (a->nnodes == CERTS_NODES_MAX)
			return ctl_usage_error("--nodes: at most %d nodes", CERTS_NODES_MAX);
		nd = &a->nodes[a->nnodes];
		if (!certs_stem_ok(p, eq ? (size_t)(eq - p) : n))
			return ctl_usage_error("--nodes: %.*s: a node name is 1..64 of "
					       "[A-Za-z0-9._-], not starting with '.'", (int)n, p);
		snprintf(nd->name, sizeof(nd->name), "%.*s", (int)(eq ? eq - p : (ptrdiff_t)n), p);
		if (eq) {
			size_t alen = (size_t)(end - eq - 1);

			if (alen == 0 || alen >= sizeof(nd->addr))
				return ctl_usage_error("--nodes: %.*s: an address of 1..255 bytes "
						       "after '='", (int)n, p);
			snprintf(nd->addr, sizeof(nd->addr), "%.*s", (int)alen, eq + 1);
		}
		if (certs_name_taken(a, nd->name))
			return ctl_usage_error("--nodes: %s: a name used twice, or one of ca, crl, "
					       "admin, supervisor, gateway", nd->name);
		a->nnodes++;
	}
	if (a->nnodes == 0)
		return ctl_usage_error("--nodes: give at least one node");
	return 0;
}

/* --days N: 1..CERTS_CA_DAYS; 0 or EXIT_USAGE. */
static int certs_days(const char *arg, uint64_t *days)
{
	if (ctl_parse_u64(arg, 1, CERTS_CA_DAYS, days))
		return ctl_usage_error("--days takes 1..%d", CERTS_CA_DAYS);
	return 0;
}

static int certs_args_parse(int argc, char **argv, struct certs_args *a)
{
	static const struct option opts[] = {
		{"province", required_argument, NULL, 'p'},
		{"nodes", required_argument, NULL, 'n'},
		{"out", required_argument, NULL, 'o'},
		{"days", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	const char *nodes = NULL;
	int c, r;

	memset(a, 0, sizeof(*a));
	a->days = CERTS_DAYS_DEFAULT;
	if (argc < 2 || strcmp(argv[1], "init") != 0)
		return ctl_usage_error("certs init, certs rotate or certs revoke");
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p': a->province = optarg; break;
		case 'n': nodes = optarg; break;
		case 'o': a->out = optarg; break;
		case 'j': a->json = true; break;
		case 'd':
			if ((r = certs_days(optarg, &a->days)))
				return r;
			break;
		default: return ctl_usage_error("unknown option");
		}
	}
	if (optind < argc)
		return ctl_usage_error("unexpected argument %s", argv[optind]);
	if (!a->province || !nodes || !a->out)
		return ctl_usage_error("--province, --nodes and --out are required");
	if (strlen(a->province) != 2 || a->province[0] < 'A' || a->province[0] > 'Z' ||
	    a->province[1] < 'A' || a->province[1] > 'Z')
		return ctl_usage_error("--province: two uppercase letters, e.g. SC");
	if ((r = certs_nodes_parse(a, nodes)))
		return r;
	return 0;
}

/* DIR/NAME.EXT into buf; EXIT_USAGE when it does not fit. */
static int certs_path(char *buf, size_t size, const char *dir, const char *name, const char *ext)
{
	if ((size_t)snprintf(buf, size, "%s/%s.%s", dir, name, ext) >= size)
		return ctl_usage_error("--out: path too long");
	return 0;
}

/* One written pair: a line, or a row of files for --json. */
static void certs_report(const struct certs_args *a, json_t *files, const char *name,
			 const char *ou, const char *crt, const char *key,
			 const struct tls_cert_spec *spec)
{
	json_t *row, *dns, *ips;

	if (!a->json) {
		printf("%-12s %-16s %s %s\n", name, ou, crt, key);
		return;
	}
	dns = json_array();
	ips = json_array();
	for (size_t i = 0; spec && i < spec->ndns; i++)
		json_array_append_new(dns, json_string(spec->dns[i]));
	for (size_t i = 0; spec && i < spec->nips; i++)
		json_array_append_new(ips, json_string(spec->ips[i]));
	row = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "name", name, "role", ou,
			"cert", crt, "cert_mode", "0644", "key", key, "key_mode", "0600", "dns",
			dns, "ips", ips);
	json_array_append_new(files, row);
}

/* Fills spec for node nd: DNS:name, and its address as IP or DNS. */
static void certs_node_spec(const struct certs_node *nd, int days, struct tls_cert_spec *spec)
{
	unsigned char bin[sizeof(struct in6_addr)];

	memset(spec, 0, sizeof(*spec));
	spec->cn = nd->name;
	spec->ou = "kefu-node";
	spec->server = true;
	spec->days = days;
	spec->dns[spec->ndns++] = nd->name;
	if (!nd->addr[0])
		return;
	if (inet_pton(AF_INET, nd->addr, bin) == 1 || inet_pton(AF_INET6, nd->addr, bin) == 1)
		spec->ips[spec->nips++] = nd->addr;
	else if (strcmp(nd->addr, nd->name) != 0)
		spec->dns[spec->ndns++] = nd->addr;
}

/* Issues one certificate of the CA in a->out; 0 or EXIT_USAGE after saying why. */
static int certs_issue_one(const struct certs_args *a, json_t *files,
			   const struct tls_cert_spec *spec)
{
	char ca_crt[CERTS_PATH_MAX], ca_key[CERTS_PATH_MAX], crt[CERTS_PATH_MAX],
		key[CERTS_PATH_MAX], why[256];
	int r;

	if (certs_path(ca_crt, sizeof(ca_crt), a->out, "ca", "crt") ||
	    certs_path(ca_key, sizeof(ca_key), a->out, "ca", "key") ||
	    certs_path(crt, sizeof(crt), a->out, spec->cn, "crt") ||
	    certs_path(key, sizeof(key), a->out, spec->cn, "key"))
		return EXIT_USAGE;
	r = tls_certs_issue(ca_crt, ca_key, spec, crt, key, why, sizeof(why));
	if (r) {
		fprintf(stderr, "kefuctl: certs: %s: %s\n", spec->cn, why);
		return EXIT_USAGE;
	}
	certs_report(a, files, spec->cn, spec->ou, crt, key, spec);
	return 0;
}

/* ---- rotate and revoke ---- */

struct certs_one_args {
	const char *dir, *name, *cert;
	uint64_t days;
	bool json;
};

/* certs rotate|revoke --dir DIR (--name NAME | --cert FILE) [--days N] [--json] */
static int certs_one_parse(int argc, char **argv, bool revoke, struct certs_one_args *a)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'D'},
		{"name", required_argument, NULL, 'n'},
		{"cert", required_argument, NULL, 'c'},
		{"days", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	int c, r;

	memset(a, 0, sizeof(*a));
	a->days = revoke ? 30 : CERTS_DAYS_DEFAULT;
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'D': a->dir = optarg; break;
		case 'n': a->name = optarg; break;
		case 'c':
			if (!revoke)
				return ctl_usage_error("certs rotate takes --name, not --cert");
			a->cert = optarg;
			break;
		case 'j': a->json = true; break;
		case 'd':
			if ((r = certs_days(optarg, &a->days)))
				return r;
			break;
		default: return ctl_usage_error("unknown option");
		}
	}
	if (optind < argc)
		return ctl_usage_error("unexpected argument %s", argv[optind]);
	if (!a->dir)
		return ctl_usage_error("--dir (the folder of certs init) is required");
	if (!a->name == !a->cert)
		return ctl_usage_error(revoke ? "give one of --name NAME and --cert FILE"
					      : "--name NAME is required");
	if (a->name && (!certs_stem_ok(a->name, strlen(a->name)) || strcmp(a->name, "ca") == 0 ||
			strcmp(a->name, "crl") == 0))
		return ctl_usage_error("--name: a certificate of the folder (a node, admin, "
				       "supervisor, gateway), not %s", a->name);
	return 0;
}

/* DIR/NAME.crt and the like, each checked to fit. */
static int certs_paths(const char *dir, const char *name, char (*out)[CERTS_PATH_MAX],
		       const char *const *exts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (certs_path(out[i], CERTS_PATH_MAX, dir, name, exts[i]))
			return EXIT_USAGE;
	return 0;
}

/*
 * certs rotate: the certificate NAME issued again by the folder's CA with a
 * new key, the same subject, use and names; the one it replaces kept as
 * NAME.crt.old and NAME.key.old (an earlier .old goes). Made as .new files
 * first and renamed: the folder never lacks a usable pair.
 */
static int certs_rotate(int argc, char **argv)
{
	enum { CA_CRT, CA_KEY, CRT, KEY, NEW_CRT, NEW_KEY, OLD_CRT, OLD_KEY, NPATHS };
	static const char *const ca_ext[] = {"crt", "key"};
	static const char *const exts[] = {"crt", "key", "crt.new", "key.new", "crt.old",
					   "key.old"};
	char p[NPATHS][CERTS_PATH_MAX], why[256];
	struct certs_one_args a;
	struct tls_cert_text t;
	int r;

	if ((r = certs_one_parse(argc, argv, false, &a)))
		return r;
	if (certs_paths(a.dir, "ca", p, ca_ext, 2) || certs_paths(a.dir, a.name, p + CRT, exts, 6))
		return EXIT_USAGE;
	if (tls_certs_spec_read(p[CRT], &t, why, sizeof(why))) {
		fprintf(stderr, "kefuctl: certs rotate: %s\n", why);
		return EXIT_USAGE;
	}
	t.spec.days = (int)a.days;
	/* .new files are what an interrupted rotate left: never installed. */
	unlink(p[NEW_CRT]);
	unlink(p[NEW_KEY]);
	if (tls_certs_issue(p[CA_CRT], p[CA_KEY], &t.spec, p[NEW_CRT], p[NEW_KEY], why,
			    sizeof(why))) {
		fprintf(stderr, "kefuctl: certs rotate: %s: %s\n", a.name, why);
		return EXIT_USAGE;
	}
	if (rename(p[CRT], p[OLD_CRT]) != 0 || rename(p[KEY], p[OLD_KEY]) != 0 ||
	    rename(p[NEW_KEY], p[KEY]) != 0 || rename(p[NEW_CRT], p[CRT]) != 0) {
		fprintf(stderr, "kefuctl: certs rotate: %s: %s (see the .new and .old files "
			"in %s)\n", a.name, strerror(errno), a.dir);
		return EXIT_FAILURE;
	}
	if (a.json) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i}", "name", a.name, "role",
				      t.spec.ou, "cert", p[CRT], "key", p[KEY], "old_cert",
				      p[OLD_CRT], "old_key", p[OLD_KEY], "days", (int)a.days);

		json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(o);
	} else {
		printf("%s: a new key and certificate (%s, %d days) in %s and %s; the previous "
		       "kept as %s\n", a.name, t.spec.ou, (int)a.days, p[CRT], p[KEY], p[OLD_CRT]);
		printf("next: install them where %s runs and restart it (a node: kefud, etcd, "
		       "Redis and Sentinel), one node at a time; then revoke the previous one: "
		       "kefuctl certs revoke --dir %s --cert %s\n", a.name, a.dir, p[OLD_CRT]);
	}
	return 0;
}

/* certs revoke: the certificate listed in DIR/crl.pem, signed by the CA. */
static int certs_revoke(int argc, char **argv)
{
	static const char *const ca_ext[] = {"crt", "key"};
	char ca[2][CERTS_PATH_MAX], crl[CERTS_PATH_MAX], crt[CERTS_PATH_MAX], why[256];
	struct certs_one_args a;
	bool already;
	int r;

	if ((r = certs_one_parse(argc, argv, true, &a)))
		return r;
	if (certs_paths(a.dir, "ca", ca, ca_ext, 2) || certs_path(crl, sizeof(crl), a.dir, "crl", "pem"))
		return EXIT_USAGE;
	if (a.cert)
		snprintf(crt, sizeof(crt), "%s", a.cert);
	else if (certs_path(crt, sizeof(crt), a.dir, a.name, "crt"))
		return EXIT_USAGE;
	if (tls_certs_revoke(ca[0], ca[1], crt, crl, (int)a.days, &already, why, sizeof(why))) {
		fprintf(stderr, "kefuctl: certs revoke: %s\n", why);
		return EXIT_USAGE;
	}
	if (a.json) {
		json_t *o = json_pack("{s:s, s:s, s:b, s:i}", "cert", crt, "crl", crl, "already",
				      already, "days", (int)a.days);

		json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(o);
	} else {
		printf("%s %s in %s (issued again, valid %d days)\n", crt,
		       already ? "was already listed" : "revoked", crl, (int)a.days);
		printf("next: copy %s to every node as its crl_file and reload kefud there "
		       "(systemctl reload kefud); issue the list again before it expires\n", crl);
	}
	return 0;
}

int ctl_certs(int argc, char **argv)
{
	struct certs_args a;
	struct tls_cert_spec spec;
	char crt[CERTS_PATH_MAX], key[CERTS_PATH_MAX], cn[80], why[256];
	json_t *files = NULL;
	int r;

	if (argc >= 2 && strcmp(argv[1], "rotate") == 0)
		return certs_rotate(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "revoke") == 0)
		return certs_revoke(argc, argv);
	if ((r = certs_args_parse(argc, argv, &a)))
		return r;
	if (mkdir(a.out, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "kefuctl: certs: %s: %s\n", a.out, strerror(errno));
		return EXIT_USAGE;
	}
	if (a.json)
		files = json_array();
	if (certs_path(crt, sizeof(crt), a.out, "ca", "crt") ||
	    certs_path(key, sizeof(key), a.out, "ca", "key")) {
		r = EXIT_USAGE;
		goto out;
	}
	snprintf(cn, sizeof(cn), "kefu %s province CA", a.province);
	if ((r = tls_certs_ca_new(cn, CERTS_CA_DAYS, crt, key, why, sizeof(why)))) {
		fprintf(stderr, "kefuctl: certs: %s\n", why);
		r = EXIT_USAGE;
		goto out;
	}
	certs_report(&a, files, "ca", "kefu-ca", crt, key, NULL);
	for (size_t i = 0; i < a.nnodes; i++) {
		certs_node_spec(&a.nodes[i], (int)a.days, &spec);
		if ((r = certs_issue_one(&a, files, &spec)))
			goto out;
	}
	for (size_t i = 0; i < CERTS_NCLIENTS; i++) {
		memset(&spec, 0, sizeof(spec));
		spec.cn = certs_clients[i].name;
		spec.ou = certs_clients[i].ou;
		spec.days = (int)a.days;
		if ((r = certs_issue_one(&a, files, &spec)))
			goto out;
	}
	if (a.json) {
		json_t *o = json_pack("{s:s, s:s, s:O}", "province", a.province, "dir", a.out,
				      "files", files);

		json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(o);
	}
out:
	json_decref(files);
	return r;
}
