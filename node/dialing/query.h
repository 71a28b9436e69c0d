/*
 * The contact query of an outbound campaign: which subscribers of the local
 * customer database a campaign calls. Pure: text in, a compiled query out;
 * a compiled query evaluated against one subscriber and its customer.
 *
 * The language. A query is one or more terms joined by `and`:
 *
 *   query := term { "and" term }
 *   term  := field op value | field "in" value { "," value }
 *   op    := "=" | "!=" | "<" | "<=" | ">" | ">="
 *
 * Fields carry the names `kefuctl lookup --json` gives them:
 *
 *   field          kind     from
 *   status         name     Subscriber.status: normal, suspended, stopped, cancelled
 *   arrears        money    Subscriber.arrears, written in yuan (50, 50.5, 50.25)
 *   balance        money    Subscriber.balance, in yuan, may be negative
 *   credit_level   number   Subscriber.credit_level
 *   brand          text     Subscriber.brand
 *   plan_id        text     Subscriber.plan_id
 *   msisdn         text     Subscriber.msisdn
 *   open_time      text     Subscriber.open_time (YYYYMMDDHHMMSS compares as text)
 *   vip_level      number   Customer.vip_level (0 ordinary .. 4 diamond)
 *   cust_type      text     Customer.cust_type (P, E)
 *   manager_id     text     Customer.manager_id
 *
 * Numbers and money compare as numbers, text byte by byte, names by their
 * code (so `status > normal` is not refused, but rarely useful). A text
 * value is a bare word of letters, digits, '_', '-', '.' or is quoted with
 * "..." (no escapes). A missing field reads as 0 or the empty text; with no
 * customer, the customer's fields read so too. Words are case-sensitive.
 * Limits: DIAL_QUERY_MAX_LEN bytes, DIAL_QUERY_MAX_TERMS terms,
 * DIAL_QUERY_MAX_IN values in one `in`, DIAL_QUERY_TEXT_MAX-1 bytes a text.
 */
#ifndef KEFU_NODE_DIALING_QUERY_H
#define KEFU_NODE_DIALING_QUERY_H

#include "proto/kefu.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DIAL_QUERY_MAX_LEN 1024
#define DIAL_QUERY_MAX_TERMS 16
#define DIAL_QUERY_MAX_IN 8
#define DIAL_QUERY_TEXT_MAX 48
#define DIAL_QUERY_WHY_MAX 128

enum dial_op { DIAL_EQ, DIAL_NE, DIAL_LT, DIAL_LE, DIAL_GT, DIAL_GE, DIAL_IN };

struct dial_term {
	unsigned field;    /* row of the field table in query.c */
	enum dial_op op;
	unsigned nvals;    /* 1, or up to DIAL_QUERY_MAX_IN for DIAL_IN */
	int64_t num[DIAL_QUERY_MAX_IN];
	char text[DIAL_QUERY_MAX_IN][DIAL_QUERY_TEXT_MAX];
};

/* A compiled query: plain data, no pointers; copy it freely. */
struct dial_query {
	unsigned nterms;
	struct dial_term terms[DIAL_QUERY_MAX_TERMS];
};

/*
 * dial_query_parse - compile text[0..len) into *q.
 * Returns 0, KF_EPARSE with why set to a message and the 1-based byte
 * position (`unknown field "vip" at 1`, `bad value "abc" for arrears at 12`),
 * or KF_ETOOBIG (text, terms, values or a text over its limit) with why set.
 * why may be NULL when cap is 0. *q is undefined after an error.
 */
int dial_query_parse(const char *text, size_t len, struct dial_query *q, char *why, size_t cap);

/* dial_query_match - whether u (and its customer cu, which may be NULL)
 * satisfies every term of q. */
bool dial_query_match(const struct dial_query *q, const Kefu__Subscriber *u,
		      const Kefu__Customer *cu);

#endif
