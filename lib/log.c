/* The logger. See log.h. */
#include "lib/log.h"

#include "lib/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

enum log_level log_threshold[LOG_DOMAIN_COUNT] = {
#define LOG_DOMAIN_DEFAULT_(id, name) [id] = LOG_LVL_INFO,
	LOG_DOMAINS(LOG_DOMAIN_DEFAULT_)
#undef LOG_DOMAIN_DEFAULT_
};

static const char *const log_domain_names[LOG_DOMAIN_COUNT] = {
#define LOG_DOMAIN_NAME_(id, name) [id] = name,
	LOG_DOMAINS(LOG_DOMAIN_NAME_)
#undef LOG_DOMAIN_NAME_
};

static const char *const log_level_names[] = {"debug", "info", "warn", "error", "off"};

static int log_fd = 2;

void log_set_level(int dom, enum log_level lvl)
{
	if (dom < 0) {
		for (int i = 0; i < LOG_DOMAIN_COUNT; i++)
			log_threshold[i] = lvl;
	} else if (dom < LOG_DOMAIN_COUNT) {
		log_threshold[dom] = lvl;
	}
}

int log_parse_level(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(log_level_names) / sizeof(log_level_names[0]); i++) {
		if (strcasecmp(s, log_level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return KF_EPARSE;
}

void log_set_fd(int fd)
{
	log_fd = fd;
}

/* Formats the whole line into one buffer and writes it with one write(2),
 * so lines from several processes sharing a file do not interleave. */
void log__write(enum log_domain dom, enum log_level lvl, const char *fmt, ...)
{
	char line[1024];
	struct timespec ts;
	struct tm tm;
	size_t n;
	va_list ap;
	int r;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	r = snprintf(line + n, sizeof(line) - n, ".%03ldZ %s %s ", ts.tv_nsec / 1000000L,
		     log_level_names[lvl], log_domain_names[dom]);
	if (r > 0)
		n += (size_t)r;
	if (n < sizeof(line)) {
		va_start(ap, fmt);
		r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		va_end(ap);
		if (r > 0)
			n += (size_t)r;
	}
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2; /* truncated: keep the newline */
	line[n++] = '\n';
	if (write(log_fd, line, n) < 0) {
		/* Nowhere left to report a failing log write. */
	}
}

static uint64_t log_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

bool log__ratelimit_pass(struct log_ratelimit *rl, uint32_t *dropped)
{
	uint64_t now = log_now_ms();

	*dropped = 0;
	if (now - rl->window_start_ms >= rl->interval_ms) {
		*dropped = rl->suppressed;
		rl->window_start_ms = now;
		rl->printed = 0;
		rl->suppressed = 0;
	}
	if (rl->printed < rl->burst) {
		rl->printed++;
		return true;
	}
	rl->suppressed++;
	return false;
}
