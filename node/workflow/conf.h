/*
 * The work orders' settings: the kinds of order and the targets of their
 * clocks, the factors that shorten them for urgent orders and VIP
 * customers, the escalation chain, the handling groups' business
 * calendars, the return visits, the dispatch rules and the category tree.
 * They are rows of kefud's configuration (node/config.c: province and the
 * wo_* options); wo_settings_from checks them, reads the files they name
 * and turns them into what the work-order component (node/workflow/) reads.
 *
 * The files, each parsed by a pure function over text (no files, no
 * clock, no globals; fuzzed under tests/fuzz/). In all of them a line
 * whose first non-blank character is '#' is a comment, blank lines are
 * skipped, blanks (spaces, tabs) and a '\r' around a line are trimmed, and
 * text is UTF-8 without control characters.
 *
 * Per-group calendars (wo_calendars), "GROUP: HOURS" a line, HOURS as in
 * lib/calendar.h:
 *
 *   billing: mon-fri 08:30-12:00 13:30-18:00; sat 09:00-12:00
 *   netops: always
 *
 * Dispatch rules (wo_dispatch), "KIND CATEGORY_PREFIX CITY GROUP" a line,
 * columns separated by blanks, '*' matching anything in the first three:
 *
 *   fault      网络   成都市  netops-cd
 *   complaint  话费   *       billing
 *   *          *      *       backoffice
 *
 * A prefix matches a category equal to it or beginning with it and a '/'
 * ("话费" matches "话费/计费争议", not "话费包"); a city is compared
 * exactly. The first rule that matches an order names its group.
 *
 * Categories (wo_categories), "KIND/LEVEL1[/LEVEL2...]" a line: 1 to
 * WO_LEVELS_MAX levels below the kind, each 1..WO_COMPONENT_MAX bytes
 * without blanks (the dispatch file's separators) or '/':
 *
 *   complaint/话费/计费争议
 *   appeal/工信部申诉/计费争议
 *
 * An order's category is written without its kind ("话费/计费争议"); a
 * line declares its path and every prefix of it made of whole levels.
 *
 * Group names: [a-z0-9][a-z0-9_.-]{0,31}.
 */
#ifndef KEFU_NODE_WORKFLOW_CONF_H
#define KEFU_NODE_WORKFLOW_CONF_H

#include "lib/calendar.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * X(name, ENUM, first_response, update, solution) - the kinds of work
 * order with the default targets of their clocks, as written in the
 * configuration (wo_<name>_<clock>).
 */
#define WO_KIND_LIST(X)                                          \
	X(complaint, WO_COMPLAINT, "2h", "24h", "48h")           \
	X(fault, WO_FAULT, "1h", "12h", "24h")                   \
	X(request, WO_REQUEST, "4h", "24h", "72h")               \
	X(consult, WO_CONSULT, "30m", "8h", "24h")               \
	X(suggestion, WO_SUGGESTION, "24h", "72h", "7d")         \
	X(escalated, WO_ESCALATED, "1h", "12h", "24h")           \
	X(appeal, WO_APPEAL, "1h", "12h", "24h")

/* X(name, ENUM) - an order's clocks, in the order of WO_KIND_LIST's targets. */
#define WO_CLOCK_LIST(X)                             \
	X(first_response, WO_FIRST_RESPONSE)         \
	X(update, WO_UPDATE)                         \
	X(solution, WO_SOLUTION)

/* X(vip_level, default factor) - wo_tier<N>_factor. */
#define WO_TIER_LIST(X) X(0, "1") X(1, "0.9") X(2, "0.8") X(3, "0.7") X(4, "0.5")

/* X(name, ENUM) - what a level of the escalation chain does. */
#define WO_ACTION_LIST(X)                            \
	X(lead, WO_ACTION_LEAD)                      \
	X(supervisor, WO_ACTION_SUPERVISOR)          \
	X(upgrade, WO_ACTION_UPGRADE)

#define WO_KIND_ENUM_(name, id, first_response, update, solution) id,
#define WO_NAME_ENUM_(name, id) id,
enum wo_kind {
	WO_KIND_LIST(WO_KIND_ENUM_)
	WO_KINDS
};

enum wo_clock {
	WO_CLOCK_LIST(WO_NAME_ENUM_)
	WO_CLOCKS
};

enum wo_level_action {
	WO_ACTION_LIST(WO_NAME_ENUM_)
	WO_ACTIONS
};
#undef WO_KIND_ENUM_
#undef WO_NAME_ENUM_

#define WO_TIERS 5                      /* vip_level 0..4 */
#define WO_TARGET_MIN_MS 1000           /* bounds of a clock's target */
#define WO_TARGET_MAX_MS (INT64_C(365) * 24 * 3600 * 1000)
#define WO_FACTOR_MIN 10                /* bounds of a factor, thousandths: 0.01.. */
#define WO_FACTOR_MAX 1000              /* ..1 */
#define WO_ESCALATE_MAX 8               /* levels of the escalation chain */
#define WO_PERCENT_MAX 1000             /* a level's P% */
#define WO_GROUP_MAX 33                 /* bytes of a group name, NUL included */
#define WO_GROUPS_MAX 64                /* groups with a calendar of their own */
#define WO_RULES_MAX 1024               /* dispatch rules */
#define WO_CATEGORIES_MAX 2048          /* lines of the category tree */
#define WO_LEVELS_MAX 4                 /* levels of a category below its kind */
#define WO_COMPONENT_MAX 64             /* bytes of one level */
/* Bytes of a category without its kind ("话费/计费争议"), NUL included. */
#define WO_CATEGORY_MAX (WO_LEVELS_MAX * (WO_COMPONENT_MAX + 1))
/* Bytes of a category with its kind ("complaint/话费/计费争议"), NUL included. */
#define WO_PATH_MAX (16 + WO_CATEGORY_MAX)
#define WO_CITY_MAX 65                  /* bytes of a city, NUL included */
#define WO_FILE_MAX (1024 * 1024)       /* bytes of a file named by a wo_* option */
#define WO_TIMEZONE_MAX 64              /* bytes of a timezone name, NUL included */
#define WO_WHY_MAX 320                  /* room for a reason: key, file, line, what */
/* Bytes of the configuration's texts, NUL included (struct config). */
#define WO_CALENDAR_TEXT (CALENDAR_SPEC_MAX + 1)
#define WO_ESCALATE_TEXT 256
#define WO_EXCLUDE_TEXT 128

/* A level of the escalation chain: when percent% of a clock's target has
 * passed, action. */
struct wo_level {
	uint32_t percent;               /* 1..WO_PERCENT_MAX */
	enum wo_level_action action;
};

/* A dispatch rule; read through wo_dispatch_group. */
struct wo_rule {
	int kind;                       /* an enum wo_kind, or -1: any */
	char category[WO_CATEGORY_MAX]; /* a category prefix; "" = any */
	char city[WO_CITY_MAX];         /* "" = any */
	char group[WO_GROUP_MAX];
};

/* A line of the category tree; read through the wo_category_* functions. */
struct wo_category {
	enum wo_kind kind;
	char path[WO_PATH_MAX];         /* "kind/level1/..." */
};

/* A group's own calendar; read through wo_calendar_of. */
struct wo_group_calendar {
	char group[WO_GROUP_MAX];
	struct calendar *cal;
};

/*
 * The settings. Filled by wo_settings_from, released by wo_settings_free;
 * every pointer in it (calendars, rules, categories, the strings the
 * functions below return) is the struct's own and stays valid until then.
 * Read-only once filled: any number of threads may read it at once.
 */
struct wo_settings {
	char province[3];                              /* "SC": order ids begin with it */
	uint64_t target_ms[WO_KINDS][WO_CLOCKS];       /* open time; see wo_target_ms */
	uint32_t urgent_factor;                        /* thousandths */
	uint32_t tier_factor[WO_TIERS];                /* thousandths, by vip_level */
	struct calendar *calendar;                     /* the default, with the holidays */
	struct wo_group_calendar groups[WO_GROUPS_MAX];
	size_t ngroups;
	char timezone[WO_TIMEZONE_MAX];                /* checked; see wo_timezone_apply */
	struct wo_level escalate[WO_ESCALATE_MAX];     /* rising percent */
	size_t nescalate;                              /* 0: no escalation */
	uint64_t visit_quiet_ms;  /* at most one return visit per customer this long; 0: no limit */
	uint64_t visit_delay_ms;  /* a return visit is due this long after the solution */
	bool visit_exclude[WO_KINDS];                  /* kinds without a return visit */
	char default_group[WO_GROUP_MAX];              /* when no dispatch rule matches */
	struct wo_rule *rules;
	size_t nrules;
	struct wo_category *categories;
	size_t ncategories;
};

struct config;

/*
 * wo_settings_from - check the work-order rows of cfg, read the files they
 * name (wo_holidays, wo_calendars, wo_dispatch, wo_categories; the shipped
 * tree wo_default_categories when wo_categories is empty) and fill s (which
 * keeps no pointer into cfg). s need not be initialised; on failure it is
 * left empty (wo_settings_free on it is harmless).
 * Returns 0, or with why naming the option, the file and the line:
 *   KF_EPARSE   a value or a line that is wrong
 *   KF_ETOOBIG  a file over WO_FILE_MAX bytes, or over one of the limits
 *   -errno      a file that cannot be read
 */
int wo_settings_from(const struct config *cfg, struct wo_settings *s, char *why, size_t cap);

/* wo_settings_free - release what s holds and empty it; s itself is the
 * caller's. s may be NULL. */
void wo_settings_free(struct wo_settings *s);

/* ---- names ---- */

/* wo_kind_name - "complaint"...; static; NULL when k is not a kind. */
const char *wo_kind_name(enum wo_kind k);

/* wo_kind_by_name - the kind named name, or -1. */
int wo_kind_by_name(const char *name);

/* wo_clock_name - "first_response", "update", "solution"; static; NULL when c is not a clock. */
const char *wo_clock_name(enum wo_clock c);

/* wo_clock_by_name - the clock named name, or -1. */
int wo_clock_by_name(const char *name);

/* wo_action_name - "lead", "supervisor", "upgrade"; static; NULL when a is not an action. */
const char *wo_action_name(enum wo_level_action a);

/* wo_action_by_name - the action named name, or -1. */
int wo_action_by_name(const char *name);

/* wo_group_valid - whether name is a group name ([a-z0-9][a-z0-9_.-]{0,31}). */
bool wo_group_valid(const char *name);

/* ---- clocks ---- */

/*
 * wo_target_ms - the target of clock c of an order of kind k, in open time
 * of its group's calendar: the configured target, times wo_urgent_factor
 * when urgent, times the factor of vip_level (clamped to 0..4), rounded
 * down to the ms; never under 1000. k and c must be in range (a bug
 * otherwise: assert).
 */
uint64_t wo_target_ms(const struct wo_settings *s, enum wo_kind k, enum wo_clock c, bool urgent,
		      unsigned vip_level);

/*
 * wo_escalate_parse - an escalation chain, text[0..len) (not
 * NUL-terminated): "P%:ACTION,..." with P 1..WO_PERCENT_MAX rising
 * strictly, ACTION lead, supervisor or upgrade; blanks around a level are
 * trimmed. Empty (or blank) text is no escalation: *n = 0. out has room
 * for WO_ESCALATE_MAX levels; *n receives their number.
 * Returns 0, KF_EPARSE (why says which level and what is wrong),
 * KF_ETOOBIG (more than WO_ESCALATE_MAX levels); *n is then 0.
 */
int wo_escalate_parse(const char *text, size_t len, struct wo_level *out, size_t *n, char *why,
		      size_t cap);

/* ---- calendars ---- */

/*
 * wo_calendars_parse - the per-group calendars of text[0..len) (the
 * wo_calendars file), replacing those of s. Each group's calendar takes
 * the holiday dates of s->calendar (none when it is NULL).
 * Returns 0, or (s unchanged): KF_EPARSE (why names the line: a bad group
 * name or hours, a group given twice), KF_ETOOBIG (over WO_FILE_MAX bytes
 * or WO_GROUPS_MAX groups).
 */
int wo_calendars_parse(struct wo_settings *s, const char *text, size_t len, char *why,
		       size_t cap);

/* wo_calendar_of - the calendar of group, or the default one (group NULL
 * or without its own). Valid while s is. */
const struct calendar *wo_calendar_of(const struct wo_settings *s, const char *group);

/*
 * wo_timezone_apply - make tz the process's timezone, for the calendars
 * (setenv TZ, tzset). tz must be a name under /usr/share/zoneinfo made of
 * [A-Za-z0-9_+/-], without "..", not beginning with '/', and the file must
 * exist. Call it before threads start (setenv is not thread-safe).
 * Returns 0, KF_EPARSE with the reason (nothing changed).
 */
int wo_timezone_apply(const char *tz, char *why, size_t cap);

/* ---- dispatch ---- */

/*
 * wo_dispatch_parse - the dispatch rules of text[0..len) (the wo_dispatch
 * file), replacing those of s.
 * Returns 0, or (s unchanged): KF_EPARSE (why names the line and the
 * column), KF_ETOOBIG (over WO_FILE_MAX bytes or WO_RULES_MAX rules).
 */
int wo_dispatch_parse(struct wo_settings *s, const char *text, size_t len, char *why,
		      size_t cap);

/*
 * wo_dispatch_group - the handling group of a new order: that of the first
 * rule matching kind k, category (without the kind) and city, else
 * s->default_group. category or city NULL match only '*'. Valid while s is.
 */
const char *wo_dispatch_group(const struct wo_settings *s, enum wo_kind k, const char *category,
			      const char *city);

/* ---- categories ---- */

/* The shipped category tree, as a wo_categories file would hold it
 * (node/workflow/categories.c); NUL-terminated. Covers every kind. */
extern const char wo_default_categories[];

/*
 * wo_categories_parse - the category tree of text[0..len) (the
 * wo_categories file), replacing that of s.
 * Returns 0, or (s unchanged): KF_EPARSE (why names the line: an unknown
 * kind, a bad level, a line given twice), KF_ETOOBIG (over WO_FILE_MAX
 * bytes or WO_CATEGORIES_MAX lines).
 */
int wo_categories_parse(struct wo_settings *s, const char *text, size_t len, char *why,
			size_t cap);

/* wo_categories_count - the lines of the tree. */
size_t wo_categories_count(const struct wo_settings *s);

/* wo_category_path - line i of the tree, "kind/level1/...", in file order;
 * NULL when i is not below the count. Valid while s is. */
const char *wo_category_path(const struct wo_settings *s, size_t i);

/*
 * wo_category_valid - whether category (without the kind) is a line of
 * kind k's tree or a prefix of one made of whole levels ("话费" and
 * "话费/计费争议" for complaint/话费/计费争议).
 */
bool wo_category_valid(const struct wo_settings *s, enum wo_kind k, const char *category);

/* ---- return visits ---- */

/* wo_visit_excluded - whether orders of kind k get no return visit. */
bool wo_visit_excluded(const struct wo_settings *s, enum wo_kind k);

#endif
