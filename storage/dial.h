/*
 * Outbound dialing as stored (docs/dialing.md): table "dial", keys of
 * parts (storage/keys.h), a tag first:
 *
 *   "n", msisdn          -> DncEntry          the do-not-call list: the company's
 *                                              and customers' opt-outs, checked at
 *                                              dial time
 *   "c", name            -> Campaign          a campaign and its rules
 *   "k", name, seq       -> CampaignContact   its contacts, seq as 10 digits from 1
 *
 * and table "dial_att": campaign, attempt id -> DialAttempt, every call placed
 * (written before its Originate), with its result and disposition.
 *
 * Messages returned here are unpacked by protobuf-c: free them with their
 * kefu__*__free_unpacked(m, NULL).
 */
#ifndef KEFU_STORAGE_DIAL_H
#define KEFU_STORAGE_DIAL_H

#include "proto/kefu.pb-c.h"
#include "storage/batch.h"
#include "storage/store.h"

#include <stdbool.h>
#include <stddef.h>

#define DIAL_MSISDN_MAX 20        /* digits of a number */
#define DIAL_REASON_MAX 256       /* bytes */
#define DIAL_CURSOR_MAX 32        /* a listing's cursor */

/* dial_msisdn_is_valid - 5 to 20 digits. */
bool dial_msisdn_is_valid(const char *msisdn);

/*
 * dial_dnc_check - e is a valid entry: its number, source "company" or
 * "customer", a reason of text (may be empty). why (may be NULL) says what
 * is wrong. Returns 0 or KF_EPARSE.
 */
int dial_dnc_check(const Kefu__DncEntry *e, char *why, size_t cap);

/* dial_dnc_get - the entry of msisdn. Returns 0, KF_ENOTFOUND, KF_ECORRUPT,
 * KF_ESTORE, KF_EPARSE (not a number). */
int dial_dnc_get(struct store_txn *t, const char *msisdn, Kefu__DncEntry **out);

/* dial_dnc_blocks - *blocked: msisdn is on the list. On an error *blocked
 * is true too (a number is dialed only when known not to be listed).
 * Returns 0, KF_ECORRUPT, KF_ESTORE, KF_EPARSE. */
int dial_dnc_blocks(struct store_txn *t, const char *msisdn, bool *blocked);

/* dial_dnc_put / dial_dnc_del - the op into b (e must pass dial_dnc_check).
 * Returns 0 or batch_put's error. */
int dial_dnc_put(struct batch *b, const Kefu__DncEntry *e);
int dial_dnc_del(struct batch *b, const char *msisdn);

/*
 * dial_dnc_list - fn(arg, e) for the entries in number order past the
 * cursor after (alen bytes: a cursor from dial_dnc_cursor; NULL from the
 * start), at most limit (0: all). fn returns as a listing_msg_fn does
 * (storage/listing.h). Returns 0, fn's error, KF_EPARSE (a cursor too
 * long), KF_ECORRUPT, KF_ESTORE.
 */
typedef int (*dial_dnc_fn)(void *arg, const Kefu__DncEntry *e);
int dial_dnc_list(struct store_txn *t, const void *after, size_t alen, size_t limit,
		  dial_dnc_fn fn, void *arg);

/* dial_dnc_cursor - the cursor that lists past e into out; its length. */
size_t dial_dnc_cursor(const Kefu__DncEntry *e, uint8_t out[DIAL_CURSOR_MAX]);

/* ---- campaigns ---- */

#define DIAL_NAME_MAX 32
#define DIAL_QUERY_MAX 1024
#define DIAL_CONTACTS_MAX 1000000   /* contacts of one campaign */

/* dial_campaign_defaults - fill what c leaves out: window 08:00-21:00,
 * weekdays only for marketing, the cap 3% over 30 days, the retry rules
 * (busy 3 x 10 min, no answer 3 x 1 h, machine 2 x 4 h, failed 2 x 30 min). */
void dial_campaign_defaults(Kefu__Campaign *c);

/*
 * dial_campaign_check - c is a valid campaign: a name [a-z0-9][a-z0-9_.-]
 * {0,31}, a kind, a mode, a source (with its query), a window HH:MM-HH:MM
 * (start before end), a cap of at most 1000 thousandths, a window of 24
 * hours or 30 days, retries of known results. why says what is wrong.
 * Returns 0 or KF_EPARSE.
 */
int dial_campaign_check(const Kefu__Campaign *c, char *why, size_t cap);

/* dial_window_parse - "HH:MM-HH:MM" into minutes of the day [from, to).
 * Returns 0 or KF_EPARSE. */
int dial_window_parse(const char *w, unsigned *from, unsigned *to);

int dial_campaign_get(struct store_txn *t, const char *name, Kefu__Campaign **out);
int dial_campaign_put(struct batch *b, const Kefu__Campaign *c);

/* dial_campaigns_each - fn(arg, c) for every campaign in name order. */
typedef int (*dial_campaign_fn)(void *arg, const Kefu__Campaign *c);
int dial_campaigns_each(struct store_txn *t, dial_campaign_fn fn, void *arg);

/* dial_contact_put - the op of k into b (campaign and seq set). */
int dial_contact_put(struct batch *b, const Kefu__CampaignContact *k);

/* dial_contacts_each - fn(arg, k) for the contacts of campaign in seq order. */
typedef int (*dial_contact_fn)(void *arg, const Kefu__CampaignContact *k);
int dial_contacts_each(struct store_txn *t, const char *campaign, dial_contact_fn fn, void *arg);

/* dial_contact_get - contact seq of campaign. Returns 0, KF_ENOTFOUND,
 * KF_ECORRUPT, KF_ESTORE, KF_ETOOBIG (a name too long). */
int dial_contact_get(struct store_txn *t, const char *campaign, uint64_t seq,
		     Kefu__CampaignContact **out);

/* ---- attempts: table "dial_att", key campaign, id -> DialAttempt ---- */

#define DIAL_ATTEMPT_ID_MAX 40

/* dial_attempt_get - attempt id of campaign. Returns as dial_contact_get. */
int dial_attempt_get(struct store_txn *t, const char *campaign, const char *id,
		     Kefu__DialAttempt **out);

/* dial_attempt_put - the op of a (campaign and id set) into b. Returns 0,
 * KF_EPARSE (no id), KF_ETOOBIG, or batch_put's error. */
int dial_attempt_put(struct batch *b, const Kefu__DialAttempt *a);

/* dial_attempts_each - fn(arg, a) for the attempts of campaign in id order. */
typedef int (*dial_attempt_fn)(void *arg, const Kefu__DialAttempt *a);
int dial_attempts_each(struct store_txn *t, const char *campaign, dial_attempt_fn fn, void *arg);

#endif
