/* Generated knowledge-base articles (gen_kb.h). */
#include "tests/sim/gen_kb.h"

#include "tests/sim/rng.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define KB_TAG 0x6b62 /* the rng family of articles */
#define KB_SENTENCES_MAX 8

/*
 * One topic: its category, keywords, title and body templates. In a
 * template, {P} is a plan's monthly price, {G} gigabytes of data, {C} a
 * city, {M} a month, {N} a small number, {D} a service number.
 */
struct kb_topic {
	const char *category;
	const char *keywords[4];
	const char *titles[4];
	const char *sentences[KB_SENTENCES_MAX];
};

static const struct kb_topic kb_topics[] = {
	{"话费/查询",
	 {"话费", "余额", "账单", "查询"},
	 {"如何查询{M}月话费", "话费余额查询方法", "{C}用户查询实时话费", "话费查询常见问题{N}"},
	 {"发送短信CXHF到{D}即可查询当前话费余额。", "登录手机营业厅App，在首页点击“话费查询”。",
	  "拨打{D}按{N}号键可听取本月已产生的话费。", "{M}月话费账单在次月{N}日后可以查询。",
	  "实时话费可能有一到两小时延迟，以出账为准。", "如对话费有疑问，可申请打印详单核对。",
	  "余额不足{N}元时系统会发送提醒短信。", "合约用户的赠送话费单独显示在账户中。"}},
	{"话费/缴费",
	 {"缴费", "充值", "话费", "欠费"},
	 {"话费充值的{N}种方式", "欠费停机后如何恢复", "{C}营业厅缴费指南", "自动缴费开通说明"},
	 {"可以通过App、微信、支付宝或营业厅为手机充值话费。", "欠费停机的号码充值后约{N}分钟内恢复通话。",
	  "银行代扣每月{N}日从绑定账户扣除上月话费。", "充值卡充值请拨打{D}按语音提示操作。",
	  "大额充值建议在营业厅办理并索取发票。", "充值成功后会收到到账短信。",
	  "停机保号期间每月收取{N}元保号费。", "话费充值不支持跨省退款。"}},
	{"账单/明细",
	 {"账单", "详单", "发票", "明细"},
	 {"{M}月账单项目说明", "如何打印通话详单", "电子发票开具流程", "账单中其他费用是什么"},
	 {"账单包含月租费、语音通话费、上网流量费和增值业务费。", "通话详单可查询最近{N}个月的记录。",
	  "电子发票在每月{N}日后生成，可在App下载。", "账单中的优惠减免以负数显示。",
	  "增值业务费来自您订购的会员和内容服务。", "如需纸质账单，请到{C}任一营业厅申请。",
	  "国际及港澳台费用单独列出。", "账单金额含税，税率见发票。"}},
	{"套餐/资费",
	 {"套餐", "资费", "流量", "5G"},
	 {"{P}元5G套餐介绍", "4G套餐资费一览", "畅享套餐{P}元档说明", "流量套餐怎么选"},
	 {"{P}元套餐每月包含{G}GB国内流量和{N}00分钟国内通话。", "超出套餐的流量按每GB{N}元计费。",
	  "5G套餐用户在4G网络下同样可以使用套餐内流量。", "套餐内流量当月有效，不可结转。",
	  "新入网用户首月套餐费按天折算。", "副卡共享主卡套餐内的流量和通话分钟数。",
	  "4G套餐可以升级为5G套餐，次月生效。", "定向流量仅限指定App使用。"}},
	{"套餐/变更",
	 {"套餐变更", "降档", "升档", "合约"},
	 {"套餐变更规则", "如何办理套餐降档", "合约期内能否变更套餐", "套餐变更次月生效说明"},
	 {"套餐变更在次月1日生效，当月仍按原套餐计费。", "合约期内套餐只能升档，不能降档。",
	  "可通过App或拨打{D}办理套餐变更。", "每月最多可提交{N}次套餐变更申请。",
	  "变更后原套餐的优惠活动自动终止。", "降档前请确认没有未到期的合约。",
	  "{C}地区部分套餐已停止办理，只可保留。", "变更成功后会收到确认短信。"}},
	{"漫游/国际",
	 {"漫游", "国际漫游", "出境", "流量包"},
	 {"国际漫游开通指南", "出境前需要做哪些准备", "国际漫游流量包{P}元", "漫游费用说明"},
	 {"出境前请拨打{D}确认已开通国际漫游功能。", "国际漫游流量包按天计费，每天{N}元。",
	  "在{N}个热门国家和地区可使用5G漫游。", "漫游时接听电话同样收费。",
	  "开启数据漫游前请先订购流量包，避免高额费用。", "境外拨打客服热线免费。",
	  "漫游费用一般延迟{N}天计入账单。", "回国后流量包自动失效。"}},
	{"漫游/港澳台",
	 {"漫游", "港澳台", "香港", "流量"},
	 {"港澳台漫游资费", "去香港如何使用手机流量", "港澳台流量包办理", "港澳台漫游常见问题"},
	 {"港澳台地区漫游流量包每天{N}元，不限流量。", "在香港拨打内地电话按国际长途计费。",
	  "港澳台漫游需要提前开通国际及港澳台漫游功能。", "部分套餐含港澳台漫游流量{G}GB。",
	  "入境后手机会自动选择合作运营商网络。", "如无法上网请手动选择网络并重启手机。",
	  "台湾地区漫游资费与港澳不同。", "漫游短信每条按{N}角计费。"}},
	{"携号转网/办理",
	 {"携号转网", "转网", "授权码", "号码"},
	 {"携号转网办理条件", "携号转网授权码获取", "携号转网后套餐怎么办", "{C}携号转网流程"},
	 {"发送短信SQXZ#姓名#证件号码到{D}获取授权码。", "授权码有效期为{N}天，过期需重新申请。",
	  "号码存在欠费或在合约期内时不能携号转网。", "携号转网后原号码保持不变。",
	  "转网成功后原运营商的积分和余额将被清零或退还。", "携号转网需本人持身份证到营业厅办理。",
	  "转网期间可能有{N}小时左右无法使用。", "每个号码{N}20天内只能携号转网一次。"}},
	{"宽带/报装",
	 {"宽带", "报装", "光纤", "千兆"},
	 {"宽带新装流程", "{C}千兆宽带资费", "宽带报装需要的材料", "光纤宽带安装时间"},
	 {"宽带报装需提供身份证和安装地址。", "千兆宽带每月{P}元，含一台光猫。",
	  "受理后{N}个工作日内安排上门安装。", "安装前请确认小区已覆盖光纤网络。",
	  "宽带可以和手机套餐融合，享受优惠。", "移机需提前{N}天预约。",
	  "宽带账号和密码会通过短信发送。", "装机调测完成后请当场测试网速。"}},
	{"宽带/故障",
	 {"宽带", "故障", "断网", "网速慢"},
	 {"宽带无法上网怎么办", "宽带网速慢排查", "光猫红灯闪烁处理", "宽带故障报修"},
	 {"请先检查光猫的光信号灯是否正常。", "重启光猫和路由器后等待{N}分钟再试。",
	  "网速慢时请用网线直连测速，排除无线干扰。", "光猫LOS灯红色闪烁表示光纤线路故障。",
	  "拨打{D}按{N}号键可报修宽带故障。", "故障一般在{N}小时内上门处理。",
	  "欠费也会导致宽带无法连接。", "更换路由器后需重新设置宽带账号。"}},
	{"投诉/处理",
	 {"投诉", "申诉", "工单", "满意度"},
	 {"如何投诉服务问题", "投诉处理时限说明", "对投诉结果不满意怎么办", "乱扣费投诉流程"},
	 {"拨打{D}或在App提交投诉，系统会生成工单号。", "一般投诉在{N}个工作日内答复。",
	  "对处理结果不满意可以申请复核。", "乱扣费经核实后将全额退还。",
	  "投诉时请提供号码、时间和问题描述。", "投诉进度可凭工单号查询。",
	  "涉及计费争议的投诉会调取详单核对。", "客服经理会在{N}小时内回访。"}},
	{"网络/4G5G",
	 {"5G", "4G", "信号", "网络"},
	 {"5G网络覆盖查询", "4G信号差怎么办", "如何开启5G网络", "{C}5G基站建设进展"},
	 {"在手机设置中打开“启用5G”即可使用5G网络。", "5G网络需要5G手机和5G套餐。",
	  "室内信号弱时可以申请家庭网络优化。", "4G和5G网络之间会自动切换。",
	  "{C}城区已实现5G连续覆盖。", "VoLTE高清通话需在手机中开启。",
	  "信号问题请提供具体位置以便测试。", "部分老旧手机不支持4G网络。"}},
	{"终端/iPhone",
	 {"iPhone", "手机", "eSIM", "设置"},
	 {"iPhone开启5G的方法", "iPhone设置APN", "iPhone eSIM办理", "iPhone无法接收短信"},
	 {"iPhone用户可在“设置-蜂窝网络”中打开5G。", "iPhone更新运营商设置后请重启手机。",
	  "eSIM仅支持部分iPhone机型，需到营业厅办理。", "APN一般无需手动设置。",
	  "iPhone无法接收短信时请检查是否开启了垃圾短信过滤。", "换机后请备份通讯录。",
	  "iPhone的双卡功能需要一张实体卡和一张eSIM。", "iOS版本过低可能影响VoLTE。"}},
	{"业务/增值",
	 {"彩铃", "会员", "退订", "增值业务"},
	 {"如何退订增值业务", "彩铃设置方法", "视频会员权益领取", "查询已订购业务"},
	 {"发送0000到{D}可以查询并退订增值业务。", "彩铃每月{N}元，可在App设置。",
	  "会员权益需在每月{N}日前领取。", "退订后当月费用不退，次月不再收取。",
	  "未经同意订购的业务可以投诉并退费。", "增值业务订购需要短信二次确认。",
	  "部分权益需要绑定手机号登录使用。", "查询结果包含业务名称和资费。"}},
};

#define KB_NTOPICS (sizeof(kb_topics) / sizeof(kb_topics[0]))

static const char *const kb_cities[] = {"成都", "绵阳", "德阳", "宜宾", "南充", "泸州", "乐山", "达州"};
static const char *const kb_tags[] = {"常见问题", "热门", "新版", "营业厅", "线上办理", "政策"};
static const unsigned kb_prices[] = {19, 39, 58, 88, 128, 158, 188, 238};
static const unsigned kb_service[] = {10086, 10080, 12580};
static const char *const kb_generic[] = {
	"以上内容仅供参考，具体以当地营业厅公布为准。",
	"如有疑问，请拨打客服热线咨询。",
	"办理时请携带本人有效身份证件。",
	"本规则自发布之日起执行。",
};

#define KB_NCITIES (sizeof(kb_cities) / sizeof(kb_cities[0]))
#define KB_NTAGS (sizeof(kb_tags) / sizeof(kb_tags[0]))

/* Append the template tpl with its placeholders filled to out (cap). */
static size_t kb_fill(char *out, size_t w, size_t cap, const char *tpl, struct rng *r)
{
	for (const char *p = tpl; *p && w + 16 < cap; p++) {
		int n = 0;

		if (p[0] == '{' && p[1] && p[2] == '}') {
			switch (p[1]) {
			case 'P':
				n = snprintf(out + w, cap - w, "%u", kb_prices[rng_below(r, 8)]);
				break;
			case 'G':
				n = snprintf(out + w, cap - w, "%u", (unsigned)(5 + 5 * rng_below(r, 20)));
				break;
			case 'C':
				n = snprintf(out + w, cap - w, "%s", kb_cities[rng_below(r, KB_NCITIES)]);
				break;
			case 'M':
				n = snprintf(out + w, cap - w, "%u", (unsigned)(1 + rng_below(r, 12)));
				break;
			case 'N':
				n = snprintf(out + w, cap - w, "%u", (unsigned)(1 + rng_below(r, 9)));
				break;
			case 'D':
				n = snprintf(out + w, cap - w, "%u", kb_service[rng_below(r, 3)]);
				break;
			default:
				break;
			}
			if (n > 0) {
				w += (size_t)n;
				p += 2;
				continue;
			}
		}
		out[w++] = *p;
	}
	out[w] = '\0';
	return w;
}

/* 08:00 +08:00 on day of month, months counted from January 2026 (13 is
 * January 2027). */
static void kb_time(char *out, unsigned month, unsigned day)
{
	unsigned year = 2026 + (month - 1) / 12;

	month = (month - 1) % 12 + 1;
	snprintf(out, GEN_KB_TIME_SIZE, "%04u-%02u-%02uT08:00:00+08:00", year % 10000, month, day % 100);
}

void gen_kb_article(uint64_t seed, uint64_t i, struct gen_kb_article *a)
{
	struct rng r;
	const struct kb_topic *t;
	size_t w, nsent;
	bool used[KB_SENTENCES_MAX] = {false};

	rng_init(&r, seed, KB_TAG, i);
	t = &kb_topics[rng_below(&r, KB_NTOPICS)];
	a->category = t->category;
	w = kb_fill(a->title, 0, sizeof(a->title), t->titles[rng_below(&r, 4)], &r);
	/* Many articles of one template: an edition number keeps titles apart. */
	if (rng_chance(&r, 600))
		snprintf(a->title + w, sizeof(a->title) - w, "（%llu）", (unsigned long long)(i % 997 + 1));
	nsent = 3 + rng_below(&r, 4);
	w = 0;
	for (size_t k = 0; k < nsent; k++) {
		size_t s = rng_below(&r, KB_SENTENCES_MAX);

		while (used[s])
			s = (s + 1) % KB_SENTENCES_MAX;
		used[s] = true;
		w = kb_fill(a->body, w, sizeof(a->body), t->sentences[s], &r);
	}
	if (rng_chance(&r, 500))
		w = kb_fill(a->body, w, sizeof(a->body), kb_generic[rng_below(&r, 4)], &r);
	a->nkeywords = 1 + rng_below(&r, 3);
	for (size_t k = 0; k < a->nkeywords; k++)
		a->keywords[k] = t->keywords[(k + rng_below(&r, 2)) % 4];
	if (a->nkeywords == 2 && a->keywords[0] == a->keywords[1])
		a->nkeywords = 1;
	a->ntags = rng_below(&r, 3);
	for (size_t k = 0; k < a->ntags; k++)
		a->tags[k] = kb_tags[(i + 2 * k) % KB_NTAGS];
	a->valid_from[0] = a->valid_to[0] = a->review_by[0] = '\0';
	if (rng_chance(&r, 60)) {
		unsigned m = 1 + (unsigned)rng_below(&r, 12);

		kb_time(a->valid_from, m, 1);
		kb_time(a->valid_to, m + 1 + (unsigned)rng_below(&r, 6), 1);
	}
	if (rng_chance(&r, 300))
		kb_time(a->review_by, 7 + (unsigned)rng_below(&r, 12), 1 + (unsigned)rng_below(&r, 28));
	a->state = rng_chance(&r, 50) ? "draft" : "published";
}

static json_t *kb_json(const struct gen_kb_article *a)
{
	json_t *o = json_object(), *kw = json_array(), *tags = json_array();

	json_object_set_new(o, "title", json_string(a->title));
	json_object_set_new(o, "body", json_string(a->body));
	json_object_set_new(o, "category", json_string(a->category));
	for (size_t k = 0; k < a->nkeywords; k++)
		json_array_append_new(kw, json_string(a->keywords[k]));
	for (size_t k = 0; k < a->ntags; k++)
		json_array_append_new(tags, json_string(a->tags[k]));
	json_object_set_new(o, "keywords", kw);
	json_object_set_new(o, "tags", tags);
	if (a->valid_from[0]) {
		json_object_set_new(o, "valid_from", json_string(a->valid_from));
		json_object_set_new(o, "valid_to", json_string(a->valid_to));
	}
	if (a->review_by[0])
		json_object_set_new(o, "review_by", json_string(a->review_by));
	json_object_set_new(o, "state", json_string(a->state));
	return o;
}

int gen_kb_write(FILE *f, uint64_t seed, uint64_t n, uint64_t *bytes)
{
	struct gen_kb_article *a = malloc(sizeof(*a));
	uint64_t total = 0;
	int rc = 0;

	if (!a)
		abort();
	for (uint64_t i = 0; i < n && !rc; i++) {
		json_t *o;
		char *line;
		size_t len;

		gen_kb_article(seed, i, a);
		o = kb_json(a);
		line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(o);
		if (!line)
			abort();
		len = strlen(line);
		if (fwrite(line, 1, len, f) != len || fputc('\n', f) == EOF)
			rc = -(errno ? errno : EIO);
		total += len + 1;
		free(line);
	}
	free(a);
	if (bytes)
		*bytes = total;
	return rc;
}
