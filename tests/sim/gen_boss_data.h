/*
 * gen_boss_data - the word lists the BOSS generator draws from: names,
 * places, roads, plans, bill items. Module-internal to gen_boss (hence the
 * double underscore); every table is static, read-only data.
 */
#ifndef KEFU_SIM_GEN_BOSS_DATA_H
#define KEFU_SIM_GEN_BOSS_DATA_H

#include <stdint.h>

#define GB_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* A word and how often it is drawn relative to the others of its table. */
struct gb_word {
	const char *text;
	unsigned weight;
};

struct gb_words {
	const struct gb_word *w;
	unsigned n;
};

/* One district of a province: where customers live and calls are made. */
struct gb_place {
	const char *city;         /* "成都市" */
	const char *city_short;   /* "成都", for enterprise names */
	const char *tel;          /* landline area code, "028" */
	const char *district;     /* "锦江区" */
	const char *area_code;    /* first 6 digits of a resident id, "510104" */
};

struct gb_province {
	const char *code;         /* "SC" */
	const char *name;         /* "四川省" */
	const struct gb_place *places;
	unsigned nplaces;
};

struct gb_plan {
	const char *plan_id;
	const char *brand;
	int64_t fee;              /* monthly rent, fen */
	unsigned weight;
};

struct gb_bill_item {
	const char *code;
	const char *name;
	unsigned permille;        /* how many user-months carry the item */
	int64_t min, max;         /* amount, fen; RENT uses the plan fee */
};

extern const struct gb_words gen_boss__surnames;
extern const struct gb_words gen_boss__given;
extern const struct gb_words gen_boss__firm_words;
extern const struct gb_words gen_boss__trades;
extern const struct gb_words gen_boss__roads;
extern const struct gb_words gen_boss__buildings;
extern const struct gb_words gen_boss__services;
extern const struct gb_words gen_boss__roaming;

/* The province whose code is code; unknown codes get Sichuan's places. */
const struct gb_province *gen_boss__province(const char *code);

extern const struct gb_plan gen_boss__plans[];
extern const unsigned gen_boss__nplans;

extern const struct gb_bill_item gen_boss__bill_items[];
extern const unsigned gen_boss__nbill_items;

/* China Mobile-style number prefixes, three digits each. */
extern const char *const gen_boss__msisdn_prefixes[];
extern const unsigned gen_boss__nmsisdn_prefixes;

#endif
