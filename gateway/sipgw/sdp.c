/* SDP the gateway writes. See sdp.h. */
#include "gateway/sipgw/sdp.h"

#include "lib/err.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The next line of s[0..len) from *at, without its CR LF; false at the end. */
static bool next_line(const char *s, size_t len, size_t *at, const char **line, size_t *n)
{
	size_t i = *at;

	if (i >= len)
		return false;
	*line = s + i;
	while (i < len && s[i] != '\n')
		i++;
	*n = (size_t)(s + i - *line);
	if (*n && (*line)[*n - 1] == '\r')
		(*n)--;
	*at = i < len ? i + 1 : i;
	return true;
}

/* The payload type of an rtpmap line "a=rtpmap:PT NAME/..." (n chars) as
 * [*pt, +*ptn); false when it is not one. */
static bool rtpmap_pt(const char *line, size_t n, const char **pt, size_t *ptn)
{
	size_t i = 9;

	if (n <= 9 || memcmp(line, "a=rtpmap:", 9) != 0)
		return false;
	while (i < n && line[i] >= '0' && line[i] <= '9')
		i++;
	if (i == 9 || i - 9 > 3 || i >= n || line[i] != ' ')
		return false;
	*pt = line + 9;
	*ptn = i - 9;
	return true;
}

static bool has_at(const char *line, size_t n, size_t at, const char *word)
{
	size_t w = strlen(word);

	return n >= at + w && strncasecmp(line + at, word, w) == 0;
}

int sdp_blackhole(const char *offer, size_t len, char *out, size_t cap)
{
	const char *line, *pt = NULL, *map = NULL, *ev = NULL, *evmap = NULL, *p;
	size_t n, ptn = 0, mapn = 0, evn = 0, evmapn = 0, pn, at = 0;
	int w;

	while (next_line(offer, len, &at, &line, &n)) {
		if (!pt && n > 8 && memcmp(line, "m=audio ", 8) == 0) {
			/* m=audio PORT PROTO PT... : the fourth field */
			size_t i = 8, field = 1;

			while (i < n && field < 3) {
				if (line[i] == ' ')
					field++;
				i++;
			}
			if (field != 3 || i >= n)
				return KF_EPARSE;
			pt = line + i;
			while (i < n && line[i] != ' ')
				i++;
			ptn = (size_t)(line + i - pt);
		} else if (pt && rtpmap_pt(line, n, &p, &pn)) {
			if (!map && pn == ptn && memcmp(p, pt, ptn) == 0) {
				map = line;
				mapn = n;
			} else if (!ev && has_at(line, n, 10 + pn, "telephone-event/")) {
				/* Key presses reach rtpengine's DTMF detection only when
				 * both sides have telephone-event. */
				ev = p;
				evn = pn;
				evmap = line;
				evmapn = n;
			}
		}
	}
	if (!pt || ptn == 0 || ptn > 3)
		return KF_EPARSE;
	/* The offer is not NUL-terminated: its digits counted within ptn. */
	for (size_t i = 0; i < ptn; i++)
		if (pt[i] < '0' || pt[i] > '9')
			return KF_EPARSE;
	if (ev && evn == ptn && memcmp(ev, pt, ptn) == 0)
		ev = NULL;
	w = snprintf(out, cap,
		     "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=kefu\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		     "m=audio 9 RTP/AVP %.*s%s%.*s\r\n%.*s%s%.*s%sa=sendrecv\r\n",
		     (int)ptn, pt, ev ? " " : "", (int)(ev ? evn : 0), ev ? ev : "",
		     (int)mapn, map ? map : "", map ? "\r\n" : "",
		     (int)(ev ? evmapn : 0), ev ? evmap : "", ev ? "\r\n" : "");
	if (w < 0 || (size_t)w >= cap)
		return KF_ETOOBIG;
	return w;
}
