/*
 * One logger, a domain per subsystem.
 *
 * Messages are one line: "<time> <level> <domain> <event> key=value ...".
 * The level is checked before the arguments are evaluated, so a disabled
 * debug line costs one comparison. Lines a peer can trigger go through
 * log_ratelimited() so a hostile peer cannot flood the log.
 *
 *   log_info(LOG_BOSS, "file applied name=%s records=%zu", name, n);
 */
#ifndef KEFU_LIB_LOG_H
#define KEFU_LIB_LOG_H

#include <stdbool.h>
#include <stdint.h>

/* X(id, name) — add a domain with one row. */
#define LOG_DOMAINS(X)          \
	X(LOG_MAIN, "main")     \
	X(LOG_CONF, "conf")     \
	X(LOG_STORE, "store")   \
	X(LOG_BOSS, "boss")     \
	X(LOG_NET, "net")       \
	X(LOG_CLUSTER, "cluster") \
	X(LOG_SIM, "sim")     \
	X(LOG_ROUTING, "routing") \
	X(LOG_WORKFLOW, "workflow") \
	X(LOG_OPS, "ops") \
	X(LOG_KB, "kb") \
	X(LOG_SIPGW, "sipgw")

enum log_domain {
#define LOG_DOMAIN_ENUM_(id, name) id,
	LOG_DOMAINS(LOG_DOMAIN_ENUM_)
#undef LOG_DOMAIN_ENUM_
	LOG_DOMAIN_COUNT
};

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERR, LOG_LVL_OFF };

/* Current threshold per domain; read by the macros below. */
extern enum log_level log_threshold[LOG_DOMAIN_COUNT];

/* log_set_level - set the threshold for one domain, or all when dom < 0. */
void log_set_level(int dom, enum log_level lvl);

/*
 * log_parse_level - "debug", "info", "warn", "error", "off" -> level.
 * Returns 0, or KF_EPARSE for anything else.
 */
int log_parse_level(const char *s, enum log_level *out);

/* log_set_fd - where lines go (default 2, stderr). */
void log_set_fd(int fd);

void log__write(enum log_domain dom, enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_at(dom, lvl, ...)                                  \
	do {                                                   \
		if ((lvl) >= log_threshold[(dom)])             \
			log__write((dom), (lvl), __VA_ARGS__); \
	} while (0)
#define log_debug(dom, ...) log_at(dom, LOG_LVL_DEBUG, __VA_ARGS__)
#define log_info(dom, ...)  log_at(dom, LOG_LVL_INFO, __VA_ARGS__)
#define log_warn(dom, ...)  log_at(dom, LOG_LVL_WARN, __VA_ARGS__)
#define log_err(dom, ...)   log_at(dom, LOG_LVL_ERR, __VA_ARGS__)

/*
 * Rate limit for lines a peer can trigger: at most `burst` lines per
 * `interval_ms`; the first line after a suppressed stretch says how many
 * were dropped. Embed one struct per call site (static is fine).
 */
struct log_ratelimit {
	uint32_t interval_ms;
	uint32_t burst;
	uint64_t window_start_ms;
	uint32_t printed;
	uint32_t suppressed;
};
#define LOG_RATELIMIT_INIT(interval_ms, burst) {(interval_ms), (burst), 0, 0, 0}

/* log__ratelimit_pass - true when this line may be printed; counts drops. */
bool log__ratelimit_pass(struct log_ratelimit *rl, uint32_t *dropped);

#define log_ratelimited(rl, dom, lvl, ...)                                        \
	do {                                                                      \
		uint32_t log_dropped_;                                            \
		if ((lvl) >= log_threshold[(dom)] &&                              \
		    log__ratelimit_pass((rl), &log_dropped_)) {                   \
			if (log_dropped_)                                         \
				log__write((dom), (lvl), "log suppressed=%u",     \
					   (unsigned)log_dropped_);               \
			log__write((dom), (lvl), __VA_ARGS__);                    \
		}                                                                 \
	} while (0)

#endif
