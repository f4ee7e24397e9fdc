/*
 * policy/http.c — the HTTP vocabulary of ec_http.h: methods, header-list
 * lookups, list iteration, reason phrases and HTTP dates.
 *
 * Pure functions over caller-owned memory; no state, no locks, no I/O.
 * policy/ is the leaf library: storage/ and src/ both link it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h> /* gmtime_r for formatting */

#include "ec_http.h"

void ec_assert_fail(const char *file, int line, const char *func, const char *expr)
{
	fprintf(stderr, "edgecache: assertion failed: %s:%d %s(): %s\n", file, line, func, expr);
	fflush(stderr);
	abort();
}

static const struct {
	const char *str;
	size_t len;
	enum ec_method m;
	bool safe, idem;
} methods[] = {
#define X(sym, s, sf, id) {s, sizeof(s) - 1, EC_M_##sym, sf, id},
	EC_METHOD_TABLE(X)
#undef X
};

enum ec_method ec_method_from_str(struct ec_str s)
{
	for (size_t i = 0; i < EC_ARRAY_LEN(methods); i++)
		if (s.len == methods[i].len && memcmp(s.p, methods[i].str, s.len) == 0)
			return methods[i].m;
	for (size_t i = 0; i < s.len; i++)
		if (!ec_is_tchar((unsigned char)s.p[i]))
			return EC_M_INVALID;
	return s.len ? EC_M_OTHER : EC_M_INVALID;
}

bool ec_method_is_safe(enum ec_method m)
{
	for (size_t i = 0; i < EC_ARRAY_LEN(methods); i++)
		if (methods[i].m == m)
			return methods[i].safe;
	return false;
}

bool ec_method_is_idempotent(enum ec_method m)
{
	for (size_t i = 0; i < EC_ARRAY_LEN(methods); i++)
		if (methods[i].m == m)
			return methods[i].idem;
	return false;
}

const struct ec_hdr *ec_hdr_find_str(const struct ec_hdr *h, size_t n, struct ec_str nm)
{
	for (size_t i = 0; i < n; i++)
		if (ec_str_caseeq(h[i].name, nm))
			return &h[i];
	return NULL;
}

const struct ec_hdr *ec_hdr_find_next(const struct ec_hdr *h, size_t n, const struct ec_hdr *prev)
{
	EC_ASSERT(prev >= h && prev < h + n);
	for (const struct ec_hdr *p = prev + 1; p < h + n; p++)
		if (ec_str_caseeq(p->name, prev->name))
			return p;
	return NULL;
}

size_t ec_hdr_count(const struct ec_hdr *h, size_t n, const char *name)
{
	struct ec_str nm = ec_str_cstr(name);
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += ec_str_caseeq(h[i].name, nm);
	return c;
}

bool ec_hdr_list_next_str(const struct ec_hdr *h, size_t n, struct ec_str name,
			  struct ec_hdr_iter *it, struct ec_str *elem)
{
	for (;;) {
		if (it->field == NULL) {
			it->field = ec_hdr_find_str(h, n, name);
			it->off = 0;
			if (it->field == NULL)
				return false;
		}
		const struct ec_str v = it->field->value;
		while (it->off < v.len) {
			size_t i = it->off, start;
			while (i < v.len && (ec_is_ows(v.p[i]) || v.p[i] == ','))
				i++;
			start = i;
			bool quoted = false;
			for (; i < v.len; i++) {
				char c = v.p[i];
				if (quoted) {
					if (c == '\\' && i + 1 < v.len)
						i++;
					else if (c == '"')
						quoted = false;
				} else if (c == '"') {
					quoted = true;
				} else if (c == ',') {
					break;
				}
			}
			it->off = i;
			struct ec_str e = ec_str_trim(ec_str_make(v.p + start, i - start));
			if (e.len) {
				*elem = e;
				return true;
			}
		}
		const struct ec_hdr *next = ec_hdr_find_next(h, n, it->field);
		if (next == NULL) {
			it->off = v.len;
			return false;
		}
		it->field = next;
		it->off = 0;
	}
}

bool ec_hdr_has_token(const struct ec_hdr *h, size_t n, const char *name, const char *token)
{
	struct ec_hdr_iter it = {0};
	struct ec_str e, t = ec_str_cstr(token);
	while (ec_hdr_list_next(h, n, name, &it, &e))
		if (ec_str_caseeq(e, t))
			return true;
	return false;
}

/* tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
 * / DIGIT / ALPHA */
#define T1(c) [c] = 1
const unsigned char ec_tchar[256] = {
	T1('!'), T1('#'), T1('$'), T1('%'), T1('&'), T1('\''), T1('*'), T1('+'), T1('-'),
	T1('.'), T1('^'), T1('_'), T1('`'), T1('|'), T1('~'), T1('0'), T1('1'), T1('2'),
	T1('3'), T1('4'), T1('5'), T1('6'), T1('7'), T1('8'), T1('9'), T1('A'), T1('B'),
	T1('C'), T1('D'), T1('E'), T1('F'), T1('G'), T1('H'), T1('I'), T1('J'), T1('K'),
	T1('L'), T1('M'), T1('N'), T1('O'), T1('P'), T1('Q'), T1('R'), T1('S'), T1('T'),
	T1('U'), T1('V'), T1('W'), T1('X'), T1('Y'), T1('Z'), T1('a'), T1('b'), T1('c'),
	T1('d'), T1('e'), T1('f'), T1('g'), T1('h'), T1('i'), T1('j'), T1('k'), T1('l'),
	T1('m'), T1('n'), T1('o'), T1('p'), T1('q'), T1('r'), T1('s'), T1('t'), T1('u'),
	T1('v'), T1('w'), T1('x'), T1('y'), T1('z'),
};
#undef T1

const char *ec_http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 101: return "Switching Protocols";
	case 103: return "Early Hints";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 203: return "Non-Authoritative Information";
	case 204: return "No Content";
	case 205: return "Reset Content";
	case 206: return "Partial Content";
	case 300: return "Multiple Choices";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 416: return "Range Not Satisfiable";
	case 417: return "Expectation Failed";
	case 421: return "Misdirected Request";
	case 422: return "Unprocessable Content";
	case 425: return "Too Early";
	case 426: return "Upgrade Required";
	case 428: return "Precondition Required";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 451: return "Unavailable For Legal Reasons";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

static const char wkday[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char month[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
				  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static bool num(const char **p, const char *end, int digits, int *out)
{
	int v = 0;
	for (int i = 0; i < digits; i++) {
		if (*p >= end || **p < '0' || **p > '9')
			return false;
		v = v * 10 + (*(*p)++ - '0');
	}
	*out = v;
	return true;
}

static inline bool lit(const char **p, const char *end, const char *s)
{
	size_t n = strlen(s);
	if ((size_t)(end - *p) < n || memcmp(*p, s, n) != 0)
		return false;
	*p += n;
	return true;
}

static bool mon(const char **p, const char *end, int *m)
{
	if (end - *p < 3)
		return false;
	const char *s = *p;
	for (int i = 0; i < 12; i++)
		if (s[0] == month[i][0] && s[1] == month[i][1] && s[2] == month[i][2]) {
			*m = i + 1;
			*p += 3;
			return true;
		}
	return false;
}

static bool hms(const char **p, const char *end, int *h, int *mi, int *s)
{
	return num(p, end, 2, h) && lit(p, end, ":") && num(p, end, 2, mi) && lit(p, end, ":") &&
	       num(p, end, 2, s) && *h < 24 && *mi < 60 && *s <= 60;
}

bool ec_http_date_parse(struct ec_str str, int64_t *t)
{
	const char *p = str.p, *end = str.p + str.len;
	int d, m, y, h, mi, s;
	str = ec_str_trim(str);
	p = str.p;
	end = str.p + str.len;
	if (str.len == 29 && str.p[3] == ',') {
		/* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
		p += 3;
		if (!(lit(&p, end, ", ") && num(&p, end, 2, &d) && lit(&p, end, " ") &&
		      mon(&p, end, &m) && lit(&p, end, " ") && num(&p, end, 4, &y) &&
		      lit(&p, end, " ") && hms(&p, end, &h, &mi, &s) && lit(&p, end, " GMT")))
			return false;
	} else if (str.len >= 6 && memchr(str.p, ',', EC_MIN(str.len, (size_t)10)) != NULL) {
		/* rfc850-date: Sunday, 06-Nov-94 08:49:37 GMT */
		const char *c = memchr(str.p, ',', str.len);
		p = c;
		if (!(lit(&p, end, ", ") && num(&p, end, 2, &d) && lit(&p, end, "-") &&
		      mon(&p, end, &m) && lit(&p, end, "-") && num(&p, end, 2, &y) &&
		      lit(&p, end, " ") && hms(&p, end, &h, &mi, &s) && lit(&p, end, " GMT")))
			return false;
		/* RFC 9110 §5.6.7 interprets a two-digit year relative to "now"; a
		 * fixed pivot (70-99 → 19xx, 00-69 → 20xx) keeps policy/ free of clock
		 * reads and agrees with that rule until 2020 + 50. */
		y += y >= 70 ? 1900 : 2000;
	} else if (str.len == 24) {
		/* asctime-date: Sun Nov  6 08:49:37 1994 */
		p += 3;
		if (!lit(&p, end, " ") || !mon(&p, end, &m) || !lit(&p, end, " "))
			return false;
		if (*p == ' ') {
			p++;
			if (!num(&p, end, 1, &d))
				return false;
		} else if (!num(&p, end, 2, &d)) {
			return false;
		}
		if (!(lit(&p, end, " ") && hms(&p, end, &h, &mi, &s) && lit(&p, end, " ") &&
		      num(&p, end, 4, &y)))
			return false;
	} else {
		return false;
	}
	if (p != end || d < 1 || d > 31)
		return false;
	*t = days_from_civil(y, (unsigned)m, (unsigned)d) * 86400 + h * 3600 + mi * 60 + s;
	return true;
}

size_t ec_http_date_format(int64_t t, char *out)
{
	time_t tt = (time_t)t;
	struct tm tmv;
	gmtime_r(&tt, &tmv);
	int n = snprintf(out, 30, "%s, %02d %s %04d %02d:%02d:%02d GMT", wkday[tmv.tm_wday],
			 tmv.tm_mday, month[tmv.tm_mon], tmv.tm_year + 1900, tmv.tm_hour,
			 tmv.tm_min, tmv.tm_sec);
	return (size_t)n;
}
