/*
 * custview - what of a customer's record a client is shown (docs/security.md,
 * "Verification and customer data").
 *
 * Pure functions over the records of proto/kefu.proto and over UTF-8 text:
 * no store, no sockets, no globals.
 *
 *   - The routing profile: what a telephony gateway may learn of a
 *     subscriber (custview_routing).
 *   - The masked screen pop: the ID number and the address as an agent sees
 *     them before the caller is verified (custview_mask_id,
 *     custview_mask_address, custview_masked).
 *   - The ID check: the characters a caller says against the record
 *     (custview_id_digits_match).
 */
#ifndef KEFU_STORAGE_CUSTVIEW_H
#define KEFU_STORAGE_CUSTVIEW_H

#include "proto/kefu.pb-c.h"

#include <stdbool.h>
#include <stddef.h>

/* How many characters of an ID number a caller says: its last six. */
#define CUSTVIEW_ID_DIGITS 6
/* Longest text a caller's ID characters may be (the whole number fits). */
#define CUSTVIEW_DIGITS_MAX 32
/* An ID number of at least this many characters keeps its first six (the
 * area of issue) when masked; a shorter one is masked whole. */
#define CUSTVIEW_ID_KEEP_FROM 15
#define CUSTVIEW_ID_KEEP 6
/* What replaces the hidden part of an address. */
#define CUSTVIEW_ADDR_MARK "****"
/* Room for a masked ID or address of a record (BOSS fields are shorter). */
#define CUSTVIEW_MASK_MAX 256

/*
 * custview_mask_id - id with every character past the first
 * CUSTVIEW_ID_KEEP replaced by '*', one '*' per UTF-8 character, so
 * "110101199001011234" becomes "110101************"; an id shorter than
 * CUSTVIEW_ID_KEEP_FROM characters is all '*'. The last characters, which
 * the ID check asks for, are never shown. Into out (cap bytes, NUL-ended).
 * NULL or "" gives "". Returns 0, or KF_ETOOBIG (out too small; out is "").
 */
int custview_mask_id(const char *id, char *out, size_t cap);

/*
 * custview_mask_address - the province and city of addr followed by
 * CUSTVIEW_ADDR_MARK: the prefix up to and including the first 市 (city)
 * within the first 16 characters, else the first 州 or 盟 (prefectures),
 * else the first 省 (province); an address with none of them is the mark
 * alone. "四川省成都市锦江区红星路88号" becomes "四川省成都市****". A
 * multi-byte character is never cut. Into out (cap bytes, NUL-ended). NULL
 * or "" gives "". Returns 0, or KF_ETOOBIG (out too small; out is "").
 */
int custview_mask_address(const char *addr, char *out, size_t cap);

/*
 * custview_id_digits_match - digits is the last CUSTVIEW_ID_DIGITS
 * characters of id_no (the whole of a shorter id_no), ASCII letters in any
 * case (the check character X). The comparison looks at every character
 * whatever it finds, so its time does not tell how much was right. false
 * when either is NULL or empty, or digits is over CUSTVIEW_DIGITS_MAX.
 */
bool custview_id_digits_match(const char *id_no, const char *digits);

/* custview_digits_are_valid - 1..CUSTVIEW_DIGITS_MAX ASCII letters and digits. */
bool custview_digits_are_valid(const char *digits);

/*
 * custview_routing - the routing profile of u and c into ou and oc: the
 * subscriber's msisdn, brand and status, the customer's vip_level, nothing
 * else (no names, ID numbers, addresses, balances, arrears, plans or
 * contacts). ou and oc are initialised here; their strings point into u
 * and c and are valid as long as those. u or c may be NULL (the out
 * message stays empty).
 */
void custview_routing(const Kefu__Subscriber *u, const Kefu__Customer *c, Kefu__Subscriber *ou,
		      Kefu__Customer *oc);

/*
 * custview_masked - c as an unverified caller's screen pop shows it: a
 * copy of c (its strings point into c) whose id_no and address are masked
 * into the buffers id and addr (CUSTVIEW_MASK_MAX bytes each). Returns 0,
 * or KF_ETOOBIG (a field too long to mask: both fields are left out).
 */
int custview_masked(const Kefu__Customer *c, Kefu__Customer *out, char id[CUSTVIEW_MASK_MAX],
		    char addr[CUSTVIEW_MASK_MAX]);

#endif
