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
		return ctl_usage_error("the one form is: certs init ...");
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p': a->province = optarg; break;
		case 'n': nodes = optarg; break;
		case 'o': a->out = optarg; break;
		case 'j': a->json = true; break;
		case 'd':
			if (ctl_parse_u64(optarg, 1, CERTS_CA_DAYS, &a->days))
				return ctl_usage_error("--days takes 1..%d", CERTS_CA_DAYS);
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

int ctl_certs(int argc, char **argv)
{
	struct certs_args a;
	struct tls_cert_spec spec;
	char crt[CERTS_PATH_MAX], key[CERTS_PATH_MAX], cn[80], why[256];
	json_t *files = NULL;
	int r;

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
