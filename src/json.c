/*
 * json.c — JSON string escaping and numbers (see json.h).
 */
#include <math.h>
#include <stdio.h>

#include <event2/buffer.h>

#include "json.h"

/* Length of a valid UTF-8 sequence at p (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t need;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		need = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		need = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		need = 4;
	else
		return 0;
	if (n < need)
		return 0;
	for (size_t i = 1; i < need; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return need;
}

void ec_json_str(struct evbuffer *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	evbuffer_add(out, "\"", 1);
	size_t run = 0; /* bytes [i - run, i) to copy as they are */
	for (size_t i = 0; i < len;) {
		unsigned char c = p[i];
		const char *esc = NULL;
		char tmp[8];
		size_t ulen = 1;
		if (c == '"')
			esc = "\\\"";
		else if (c == '\\')
			esc = "\\\\";
		else if (c == '\n')
			esc = "\\n";
		else if (c == '\r')
			esc = "\\r";
		else if (c == '\t')
			esc = "\\t";
		else if (c < 0x20 || c == 0x7f) {
			snprintf(tmp, sizeof(tmp), "\\u%04x", c);
			esc = tmp;
		} else if (c >= 0x80) {
			ulen = utf8_len(p + i, len - i);
			if (ulen == 0) {
				snprintf(tmp, sizeof(tmp), "\\u%04x", c);
				esc = tmp;
				ulen = 1;
			}
		}
		if (esc != NULL) {
			if (run)
				evbuffer_add(out, p + i - run, run);
			run = 0;
			evbuffer_add(out, esc, strlen(esc));
			i++;
			continue;
		}
		run += ulen;
		i += ulen;
	}
	if (run)
		evbuffer_add(out, p + len - run, run);
	evbuffer_add(out, "\"", 1);
}

void ec_json_double(struct evbuffer *out, double v)
{
	if (!isfinite(v))
		v = 0;
	evbuffer_add_printf(out, "%.6g", v);
}
