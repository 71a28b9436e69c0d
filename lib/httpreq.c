/* The HTTP/1.x request head parser. See httpreq.h. */
#include "lib/httpreq.h"

#include "lib/err.h"

#include <stdbool.h>
#include <string.h>

/* RFC 9110 tchar. */
static bool is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Visible ASCII (no space, no control, no DEL). */
static bool is_vchar(unsigned char c)
{
	return c > 0x20 && c < 0x7f;
}

/* The end of the line starting at pos: the index of its '\n', or len. */
static size_t line_end(const char *buf, size_t pos, size_t len)
{
	const char *nl = memchr(buf + pos, '\n', len - pos);

	return nl ? (size_t)(nl - buf) : len;
}

/* The length of line [pos, nl) without a trailing CR. */
static size_t line_len(const char *buf, size_t pos, size_t nl)
{
	return nl > pos && buf[nl - 1] == '\r' ? nl - 1 - pos : nl - pos;
}

/* METHOD SP TARGET SP HTTP/1.x, in buf[0..n). */
static int parse_request_line(const char *buf, size_t n, struct httpreq *req)
{
	size_t i = 0;

	while (i < n && is_tchar((unsigned char)buf[i]))
		i++;
	if (i == 0 || i >= n || buf[i] != ' ')
		return KF_EPARSE;
	req->method_off = 0;
	req->method_len = i++;
	req->target_off = i;
	while (i < n && is_vchar((unsigned char)buf[i]))
		i++;
	if (i == req->target_off || i >= n || buf[i] != ' ')
		return KF_EPARSE;
	req->target_len = i - req->target_off;
	req->path_len = req->target_len;
	for (size_t k = 0; k < req->target_len; k++)
		if (buf[req->target_off + k] == '?') {
			req->path_len = k;
			break;
		}
	i++;
	if (n - i != 8 || memcmp(buf + i, "HTTP/1.", 7) != 0 ||
	    (buf[i + 7] != '0' && buf[i + 7] != '1'))
		return KF_EPARSE;
	req->minor = (unsigned)(buf[i + 7] - '0');
	return 0;
}

/* NAME ":" VALUE, the value of visible characters, spaces and tabs. */
static int parse_header_line(const char *buf, size_t n)
{
	size_t i = 0;

	while (i < n && is_tchar((unsigned char)buf[i]))
		i++;
	if (i == 0 || i >= n || buf[i] != ':')
		return KF_EPARSE;
	for (i++; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (!is_vchar(c) && c != ' ' && c != '\t' && c < 0x80)
			return KF_EPARSE;
	}
	return 0;
}

int httpreq_parse(const char *buf, size_t len, size_t max, struct httpreq *req)
{
	size_t pos = 0, nl;
	int r;

	memset(req, 0, sizeof(*req));
	if (len > max)
		len = max;
	nl = line_end(buf, 0, len);
	if (nl == len) /* the request line has not ended */
		return len == max ? KF_ETOOBIG : 0;
	if ((r = parse_request_line(buf, line_len(buf, 0, nl), req)) != 0)
		return r;
	for (pos = nl + 1;; pos = nl + 1) {
		size_t n;

		nl = line_end(buf, pos, len);
		if (nl == len)
			return len == max ? KF_ETOOBIG : 0;
		n = line_len(buf, pos, nl);
		if (n == 0) {
			req->head_len = nl + 1;
			return 1;
		}
		if ((r = parse_header_line(buf + pos, n)) != 0)
			return r;
	}
}
