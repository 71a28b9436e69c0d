/*
 * bench_hops - the floor under the offer latency: how long a message takes
 * around a ring of processes on loopback TCP that do no work at all.
 *
 *   bench_hops [--hops N] [--count C] [--period-us P]
 *
 * An offer crosses four processes (gateway -> node A -> Redis -> node B ->
 * agent), so the default is 4 hops: the origin and 3 relays, each
 * forwarding every byte it reads to the next, the last back to the origin.
 * The origin sends an 8-byte message every P us (default 5000) and times
 * its way around with CLOCK_MONOTONIC, C times (default 2000). Run beside
 * the cluster while it takes calls, it measures what waiting for a core
 * costs four hops on this machine, with no TLS, no Redis and no routing:
 * no offer can be faster.
 *
 * Prints: hops=N messages=C hop_floor_p50_us=X hop_floor_p99_us=Y hop_floor_max_us=Z
 * Exit 0 on success, 1 on a socket error or a message not back within 5 s,
 * 2 on bad usage.
 */
#include "lib/loop.h"

#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define HOPS_MAX 16
#define COUNT_MAX 1000000L
#define MSG_LEN 8
#define BACK_MS 5000

/* A listener on 127.0.0.1 at a port the kernel picks; its port in *port. */
static int listen_any(uint16_t *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0);

	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s, 1) != 0 ||
	    getsockname(s, (struct sockaddr *)&a, &len) != 0) {
		perror("bench_hops: listen");
		return -1;
	}
	*port = ntohs(a.sin_port);
	return s;
}

static int dial(uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) != 0) {
		perror("bench_hops: connect");
		return -1;
	}
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return s;
}

/* A relay: accept one peer on ls, forward what it sends to port next, until it closes. */
static void relay(int ls, uint16_t next)
{
	char buf[256];
	int out = dial(next), in = out < 0 ? -1 : accept(ls, NULL, NULL);
	ssize_t n;

	if (in < 0)
		_exit(1);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			_exit(1);
	_exit(n == 0 ? 0 : 1);
}

/* Reads exactly len bytes from fd within BACK_MS. */
static int read_back(int fd, char *p, size_t len)
{
	struct pollfd pf = {.fd = fd, .events = POLLIN};

	while (len > 0) {
		ssize_t n;

		if (poll(&pf, 1, BACK_MS) != 1)
			return -1;
		n = read(fd, p, len);
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static long opt_num(const char *name, const char *v, long min, long max)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < min || n > max) {
		fprintf(stderr, "bench_hops: %s must be %ld..%ld, not \"%s\"\n", name, min, max, v);
		exit(2);
	}
	return n;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"hops", required_argument, NULL, 'h'},
					     {"count", required_argument, NULL, 'c'},
					     {"period-us", required_argument, NULL, 'p'},
					     {NULL, 0, NULL, 0}};
	long hops = 4, count = 2000, period = 5000;
	int ls[HOPS_MAX], out, in, o, rc = 0;
	uint16_t port[HOPS_MAX] = {0};
	pid_t kids[HOPS_MAX] = {0};
	uint64_t *v;
	char msg[MSG_LEN] = "offer!!";

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 'h')
			hops = opt_num("--hops", optarg, 2, HOPS_MAX);
		else if (o == 'c')
			count = opt_num("--count", optarg, 1, COUNT_MAX);
		else if (o == 'p')
			period = opt_num("--period-us", optarg, 0, 10000000);
		else
			return 2;
	}
	if (optind != argc) {
		fprintf(stderr, "usage: bench_hops [--hops N] [--count C] [--period-us P]\n");
		return 2;
	}
	v = calloc((size_t)count, sizeof(*v));
	if (!v)
		return 1;
	/* Every listener first, so each process knows the next one's port. */
	for (long i = 0; i < hops; i++)
		if ((ls[i] = listen_any(&port[i])) < 0)
			return 1;
	for (long i = 1; i < hops; i++) {
		kids[i] = fork();
		if (kids[i] < 0) {
			perror("bench_hops: fork");
			return 1;
		}
		if (kids[i] == 0)
			relay(ls[i], port[(i + 1) % hops]);
	}
	out = dial(port[1]);
	in = out < 0 ? -1 : accept(ls[0], NULL, NULL);
	for (long k = 0; in >= 0 && k < count; k++) {
		uint64_t t0 = loop_now_us();

		if (write(out, msg, sizeof(msg)) != (ssize_t)sizeof(msg) ||
		    read_back(in, msg, sizeof(msg)) != 0) {
			fprintf(stderr, "bench_hops: message %ld did not come back\n", k);
			rc = 1;
			break;
		}
		v[k] = loop_now_us() - t0;
		if (period)
			usleep((useconds_t)period);
	}
	if (in < 0)
		rc = 1;
	/* Closing the ring's first link ends each relay in turn. */
	if (out >= 0)
		close(out);
	for (long i = 1; i < hops; i++) {
		int st;

		if (rc)
			kill(kids[i], SIGKILL);
		if (waitpid(kids[i], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			rc = rc ? rc : 1;
	}
	if (rc)
		return rc;
	qsort(v, (size_t)count, sizeof(*v), cmp_u64);
	printf("hops=%ld messages=%ld hop_floor_p50_us=%llu hop_floor_p99_us=%llu "
	       "hop_floor_max_us=%llu\n",
	       hops, count, (unsigned long long)v[count / 2],
	       (unsigned long long)v[count * 99 / 100], (unsigned long long)v[count - 1]);
	free(v);
	return 0;
}
