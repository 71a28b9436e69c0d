/* The one error list, rendered as text. See err.h. */
#include "lib/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
	int code;
	const char *name;
	const char *text;
} kf_errtab[] = {
#define KF_ERR_ROW_(name, value, text) {value, #name, text},
	KF_ERRORS(KF_ERR_ROW_)
#undef KF_ERR_ROW_
};

__attribute__((format(printf, 3, 0))) static void why_v(char *why, size_t why_size,
							  const char *fmt, va_list ap)
{
	if (why && why_size)
		vsnprintf(why, why_size, fmt, ap);
}

void kf_why(char *why, size_t why_size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	why_v(why, why_size, fmt, ap);
	va_end(ap);
}

int kf_refuse(char *why, size_t why_size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	why_v(why, why_size, fmt, ap);
	va_end(ap);
	return KF_EPARSE;
}

const char *kf_strerror(int code)
{
	if (code == 0)
		return "success";
	for (size_t i = 0; i < sizeof(kf_errtab) / sizeof(kf_errtab[0]); i++)
		if (kf_errtab[i].code == code)
			return kf_errtab[i].text;
	if (code < 0 && code > -KF_ERR_BASE)
		return strerror(-code);
	return "unknown error";
}

const char *kf_errname(int code)
{
	if (code == 0)
		return "OK";
	for (size_t i = 0; i < sizeof(kf_errtab) / sizeof(kf_errtab[0]); i++)
		if (kf_errtab[i].code == code)
			return kf_errtab[i].name;
#ifdef _GNU_SOURCE
	if (code < 0 && code > -KF_ERR_BASE) {
		const char *n = strerrorname_np(-code);
		if (n)
			return n;
	}
#endif
	return "EUNKNOWN";
}
