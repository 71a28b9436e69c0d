/* How a subscriber is shown: readable text, or the lookup JSON contract. */
#include "cluster/kefuctl/ctl.h"

#include "storage/custdb.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

static const char *const status_names[] = {"?", "normal", "suspended", "stopped for arrears",
					   "cancelled"};
static const char *const tier_names[] = {"ordinary", "silver", "gold", "platinum", "diamond"};

static const char *status_name(const Kefu__Subscriber *u)
{
	return u->has_status && u->status < 5 ? status_names[u->status] : "?";
}

static const char *tier_name(uint32_t vip)
{
	return vip < 5 ? tier_names[vip] : "?";
}

/* An id number shown on an agent's screen keeps only its first 4 and last 4
 * characters: enough to confirm, not enough to copy. */
static void mask_id(const char *id, char *out, size_t cap)
{
	size_t n = id ? strlen(id) : 0;

	if (n <= 8) {
		snprintf(out, cap, "%s", n ? "********" : "");
		return;
	}
	snprintf(out, cap, "%.4s%.*s%s", id, (int)(n - 8 < cap ? n - 8 : 0),
		 "************************************************", id + n - 4);
}

static void yuan(int64_t fen, char *out, size_t cap)
{
	uint64_t a = fen < 0 ? (uint64_t)(-(fen + 1)) + 1 : (uint64_t)fen;

	snprintf(out, cap, "%s%" PRIu64 ".%02" PRIu64, fen < 0 ? "-" : "", a / 100, a % 100);
}

#define S(x) ((x) ? (x) : "")

static json_t *profile_json(const struct ctl_profile *p)
{
	const Kefu__Subscriber *u = p->user;
	const Kefu__Customer *cu = p->cust;
	json_t *o = json_object(), *pays = json_array(), *bills = json_array(), *cdrs = json_array();
	uint32_t vip = cu && cu->has_vip_level ? cu->vip_level : 0;
	char masked[64], city[64];

	json_object_set_new(o, "msisdn", json_string(S(u->msisdn)));
	json_object_set_new(o, "user_id", json_string(S(u->user_id)));
	json_object_set_new(o, "cust_id", json_string(S(u->cust_id)));
	json_object_set_new(o, "name", json_string(cu ? S(cu->name) : ""));
	json_object_set_new(o, "vip_level", json_integer(vip));
	json_object_set_new(o, "tier", json_string(tier_name(vip)));
	json_object_set_new(o, "balance", json_integer(u->has_balance ? u->balance : 0));
	json_object_set_new(o, "arrears", json_integer(u->has_arrears ? u->arrears : 0));
	json_object_set_new(o, "status", json_integer(u->has_status ? u->status : 0));
	json_object_set_new(o, "status_text", json_string(status_name(u)));
	json_object_set_new(o, "brand", json_string(S(u->brand)));
	json_object_set_new(o, "plan_id", json_string(S(u->plan_id)));
	json_object_set_new(o, "open_time", json_string(S(u->open_time)));
	json_object_set_new(o, "credit_level", json_integer(u->has_credit_level ? u->credit_level : 0));
	if (cu) {
		mask_id(cu->id_no, masked, sizeof(masked));
		json_object_set_new(o, "cust_type", json_string(S(cu->cust_type)));
		json_object_set_new(o, "id_type", json_string(S(cu->id_type)));
		json_object_set_new(o, "id_no_masked", json_string(masked));
		json_object_set_new(o, "address", json_string(S(cu->address)));
		custdb_city(cu->address, city, sizeof(city));
		json_object_set_new(o, "city", json_string(city));
		json_object_set_new(o, "contact_phone", json_string(S(cu->contact_phone)));
		json_object_set_new(o, "manager_id", json_string(S(cu->manager_id)));
	}
	for (size_t i = 0; i < p->npay; i++) {
		const Kefu__Payment *y = p->pay[i];
		json_t *j = json_object();

		json_object_set_new(j, "pay_id", json_string(S(y->pay_id)));
		json_object_set_new(j, "amount", json_integer(y->has_amount ? y->amount : 0));
		json_object_set_new(j, "pay_time", json_string(S(y->pay_time)));
		json_object_set_new(j, "channel", json_string(S(y->channel)));
		json_array_append_new(pays, j);
	}
	for (size_t i = 0; i < p->nbill; i++) {
		const Kefu__Bill *b = p->bill[i];
		json_t *j = json_object();

		json_object_set_new(j, "bill_month", json_string(S(b->bill_month)));
		json_object_set_new(j, "item_code", json_string(S(b->item_code)));
		json_object_set_new(j, "item_name", json_string(S(b->item_name)));
		json_object_set_new(j, "amount", json_integer(b->has_amount ? b->amount : 0));
		json_array_append_new(bills, j);
	}
	for (size_t i = 0; i < p->ncdr; i++) {
		const Kefu__Cdr *c = p->cdr[i];
		json_t *j = json_object();

		json_object_set_new(j, "start_time", json_string(S(c->start_time)));
		json_object_set_new(j, "duration_s", json_integer(c->has_duration_s ? c->duration_s : 0));
		json_object_set_new(j, "other_party", json_string(S(c->other_party)));
		json_object_set_new(j, "call_type", json_string(S(c->call_type)));
		json_object_set_new(j, "location", json_string(S(c->location)));
		json_object_set_new(j, "fee", json_integer(c->has_fee ? c->fee : 0));
		json_array_append_new(cdrs, j);
	}
	json_object_set_new(o, "payments", pays);
	json_object_set_new(o, "bills", bills);
	json_object_set_new(o, "cdrs", cdrs);
	return o;
}

static void profile_text(const struct ctl_profile *p)
{
	const Kefu__Subscriber *u = p->user;
	const Kefu__Customer *cu = p->cust;
	uint32_t vip = cu && cu->has_vip_level ? cu->vip_level : 0;
	char a[32], b[32], masked[64];

	printf("号码 msisdn     %s   (user %s, %s)\n", S(u->msisdn), S(u->user_id), status_name(u));
	if (cu) {
		mask_id(cu->id_no, masked, sizeof(masked));
		printf("客户 customer   %s   (cust %s, %s)\n", S(cu->name), S(cu->cust_id),
		       cu->cust_type && !strcmp(cu->cust_type, "E") ? "enterprise" : "person");
		printf("证件 id         %s %s\n", S(cu->id_type), masked);
		printf("地址 address    %s\n", S(cu->address));
		printf("联系 contact    %s\n", S(cu->contact_phone));
	} else {
		printf("客户 customer   (missing: cust %s)\n", S(u->cust_id));
	}
	printf("等级 tier       %u %s%s%s\n", vip, tier_name(vip),
	       cu && cu->manager_id ? ", manager " : "", cu ? S(cu->manager_id) : "");
	printf("品牌 brand      %s   plan %s   opened %s   credit %u\n", S(u->brand), S(u->plan_id),
	       S(u->open_time), u->has_credit_level ? u->credit_level : 0);
	yuan(u->has_balance ? u->balance : 0, a, sizeof(a));
	yuan(u->has_arrears ? u->arrears : 0, b, sizeof(b));
	printf("余额 balance    %s yuan   欠费 arrears %s yuan\n", a, b);
	printf("缴费 payments   %zu recent\n", p->npay);
	for (size_t i = 0; i < p->npay; i++) {
		yuan(p->pay[i]->has_amount ? p->pay[i]->amount : 0, a, sizeof(a));
		printf("  %s  %10s  %-4s  pay %s\n", S(p->pay[i]->pay_time), a, S(p->pay[i]->channel),
		       S(p->pay[i]->pay_id));
	}
	printf("账单 bills      %zu items\n", p->nbill);
	for (size_t i = 0; i < p->nbill; i++) {
		yuan(p->bill[i]->has_amount ? p->bill[i]->amount : 0, a, sizeof(a));
		printf("  %s  %10s  %s (%s)\n", S(p->bill[i]->bill_month), a, S(p->bill[i]->item_name),
		       S(p->bill[i]->item_code));
	}
	printf("通话 calls      %zu recent\n", p->ncdr);
	for (size_t i = 0; i < p->ncdr; i++) {
		const Kefu__Cdr *c = p->cdr[i];

		yuan(c->has_fee ? c->fee : 0, a, sizeof(a));
		printf("  %s  %6us  %10s  %-4s  %s %s\n", S(c->start_time),
		       c->has_duration_s ? c->duration_s : 0, a, S(c->call_type), S(c->other_party),
		       S(c->location));
	}
}

void ctl_profile_print(const struct ctl_profile *p, bool json)
{
	if (json) {
		json_t *o = profile_json(p);

		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(o);
	} else {
		profile_text(p);
	}
}
