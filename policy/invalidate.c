/*
 * policy/invalidate.c — invalidation after unsafe requests (RFC 9111
 * §4.4): the target URI plus same-origin Location / Content-Location,
 * resolved as RFC 3986 §5.2 says.
 *
 * Pure functions; no allocation, no state.
 */
#include "policy/invalidate.h"

/* URI reference components (RFC 3986 §3, §4.1); defined flags matter. */
struct uri {
	struct ec_str scheme, authority, path, query;
	bool has_scheme, has_authority, has_query;
};

static bool is_scheme_char(char c, bool first)
{
	bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
	if (first)
		return alpha;
	return alpha || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
}

/* RFC 3986 Appendix B, without the fragment. False on CTL / SP. */
static bool parse_ref(struct ec_str s, struct uri *u)
{
	*u = (struct uri){0};
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if (c <= 0x20 || c == 0x7f)
			return false;
		if (c == '#') {
			s.len = i;
			break;
		}
	}
	size_t i = 0;
	while (i < s.len && is_scheme_char(s.p[i], i == 0))
		i++;
	if (i > 0 && i < s.len && s.p[i] == ':') {
		u->has_scheme = true;
		u->scheme = ec_str_make(s.p, i);
		s = ec_str_make(s.p + i + 1, s.len - i - 1);
	}
	if (s.len >= 2 && s.p[0] == '/' && s.p[1] == '/') {
		size_t j = 2;
		while (j < s.len && s.p[j] != '/' && s.p[j] != '?')
			j++;
		u->has_authority = true;
		u->authority = ec_str_make(s.p + 2, j - 2);
		s = ec_str_make(s.p + j, s.len - j);
	}
	size_t q = 0;
	while (q < s.len && s.p[q] != '?')
		q++;
	u->path = ec_str_make(s.p, q);
	if (q < s.len) {
		u->has_query = true;
		u->query = ec_str_make(s.p + q + 1, s.len - q - 1);
	}
	return true;
}

/* host and port of an authority; userinfo dropped, default port by scheme. */
static void host_port(struct ec_str scheme, struct ec_str a, struct ec_str *host,
                      struct ec_str *port)
{
	for (size_t i = a.len; i > 0; i--)
		if (a.p[i - 1] == '@') {
			a = ec_str_make(a.p + i, a.len - i);
			break;
		}
	size_t end = 0;
	if (a.len && a.p[0] == '[') {
		while (end < a.len && a.p[end] != ']')
			end++;
		if (end < a.len)
			end++;
	} else {
		while (end < a.len && a.p[end] != ':')
			end++;
	}
	*host = ec_str_make(a.p, end);
	*port = EC_STR_NULL;
	if (end < a.len && a.p[end] == ':')
		*port = ec_str_make(a.p + end + 1, a.len - end - 1);
	if (port->len == 0)
		*port = ec_str_caseeq_lit(scheme, "https") ? EC_STR("443") : EC_STR("80");
}

/* RFC 9110 §4.3.1: same scheme, host and port. */
static bool same_origin(const struct ec_inval_base *b, struct ec_str scheme,
                        struct ec_str authority)
{
	struct ec_str h1, p1, h2, p2;
	if (!ec_str_caseeq(b->scheme, scheme))
		return false;
	host_port(b->scheme, b->authority, &h1, &p1);
	host_port(scheme, authority, &h2, &p2);
	return ec_str_caseeq(h1, h2) && ec_str_eq(p1, p2);
}

/* RFC 3986 §5.2.4 remove_dot_segments, in place on p[0..len); returns the new length. */
static size_t remove_dot_segments(char *p, size_t len)
{
	size_t r = 0, w = 0;
#define AT(s) (len - r >= sizeof(s) - 1 && memcmp(p + r, s, sizeof(s) - 1) == 0)
#define IS(s) (len - r == sizeof(s) - 1 && memcmp(p + r, s, sizeof(s) - 1) == 0)
	while (r < len) {
		if (AT("../")) {
			r += 3;
		} else if (AT("./")) {
			r += 2;
		} else if (AT("/./")) {
			r += 2;
		} else if (IS("/.")) {
			p[w++] = '/';
			r = len;
		} else if (AT("/../") || IS("/..")) {
			bool end = IS("/..");
			r += 3;
			while (w > 0 && p[w - 1] != '/')
				w--;
			if (w > 0)
				w--;
			if (end)
				p[w++] = '/';
		} else if (IS(".") || IS("..")) {
			r = len;
		} else {
			size_t s = r;
			r++;
			while (r < len && p[r] != '/')
				r++;
			memmove(p + w, p + s, r - s);
			w += r - s;
		}
	}
#undef AT
#undef IS
	return w;
}

struct out {
	char *buf;
	size_t cap, len;
	bool full;
};

static void emit(struct out *o, const char *s, size_t n)
{
	if (o->len + n > o->cap) {
		o->full = true;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

/*
 * Resolves `ref` against the request URI (RFC 3986 §5.2.2) and writes its
 * path [ "?" query ] into o. Returns false when it is not on the same
 * origin or not a usable reference.
 */
static bool resolve(const struct ec_inval_base *b, struct ec_str ref, struct out *o,
                    struct ec_str *res)
{
	struct uri r, base;
	if (!parse_ref(ec_str_trim(ref), &r) || !parse_ref(b->target, &base))
		return false;
	struct ec_str scheme = r.has_scheme ? r.scheme : b->scheme;
	struct ec_str authority = b->authority;
	if (r.has_scheme && !r.has_authority)
		return false; /* e.g. "mailto:x" or "http:x": no origin to compare */
	if (r.has_authority)
		authority = r.authority;
	if (!same_origin(b, scheme, authority))
		return false;

	size_t start = o->len;
	struct ec_str query = r.query;
	bool has_query = r.has_query;
	if (r.has_authority || (r.path.len && r.path.p[0] == '/')) {
		emit(o, r.path.p, r.path.len);
	} else if (r.path.len == 0) {
		emit(o, base.path.p, base.path.len);
		if (!has_query) {
			query = base.query;
			has_query = base.has_query;
		}
	} else {
		/* §5.2.3 merge: the base path up to its last "/", then the reference. */
		size_t cut = base.path.len;
		while (cut > 0 && base.path.p[cut - 1] != '/')
			cut--;
		if (cut == 0)
			emit(o, "/", 1);
		else
			emit(o, base.path.p, cut);
		emit(o, r.path.p, r.path.len);
	}
	if (o->full)
		return false;
	o->len = start + remove_dot_segments(o->buf + start, o->len - start);
	if (o->len == start)
		emit(o, "/", 1); /* RFC 9110 §4.2.3: an empty path is "/" */
	if (has_query) {
		emit(o, "?", 1);
		emit(o, query.p, query.len);
	}
	if (o->full)
		return false;
	*res = ec_str_make(o->buf + start, o->len - start);
	return true;
}

int ec_inval_targets(enum ec_method m, int status, const struct ec_inval_base *base,
                     const struct ec_hdr *resp, size_t n, char *buf, size_t cap,
                     struct ec_str out[EC_INVAL_MAX])
{
	static const char *const fields[] = {"Location", "Content-Location"};
	struct out o = {buf, cap, 0, false};
	int k = 0;

	/* §4.4: unsafe (or unknown) methods, non-error (2xx, 3xx) responses. */
	if (m == EC_M_INVALID || ec_method_is_safe(m) || status < 200 || status > 399)
		return 0;
	out[k++] = base->target;
	for (size_t i = 0; i < EC_ARRAY_LEN(fields); i++) {
		const struct ec_hdr *f = ec_hdr_find(resp, n, fields[i]);
		if (f == NULL || ec_hdr_find_next(resp, n, f) != NULL)
			continue;
		size_t mark = o.len;
		struct ec_str res;
		if (!resolve(base, f->value, &o, &res)) {
			if (o.full)
				return -1;
			o.len = mark;
			continue;
		}
		bool dup = false;
		for (int j = 0; j < k; j++)
			dup |= ec_str_eq(out[j], res);
		if (dup)
			o.len = mark;
		else
			out[k++] = res;
	}
	return k;
}
