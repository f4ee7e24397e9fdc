/*
 * policy/sf.c — Structured Field Values (RFC 8941): the Dictionary parser
 * behind targeted cache-control fields (RFC 9213 §2.1) and the Token/String
 * serialisers behind Cache-Status (RFC 9211).
 *
 * The parser follows RFC 8941 §4.2 step by step and never reads past the
 * view it is given. Pure functions; no allocation, no state, no locks.
 */
#include "policy/sf.h"

struct cur {
	const char *p, *end;
};

static bool at_end(const struct cur *c)
{
	return c->p >= c->end;
}

static char peek(const struct cur *c)
{
	return at_end(c) ? '\0' : *c->p;
}

static void skip_sp(struct cur *c)
{
	while (!at_end(c) && *c->p == ' ')
		c->p++;
}

static void skip_ows(struct cur *c)
{
	while (!at_end(c) && ec_is_ows(*c->p))
		c->p++;
}

static bool is_lcalpha(char ch)
{
	return ch >= 'a' && ch <= 'z';
}

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static bool is_alpha(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* RFC 8941 §4.2.3.3 parse a key. */
static bool parse_key(struct cur *c, struct ec_str *key)
{
	const char *start = c->p;
	char ch = peek(c);
	if (!is_lcalpha(ch) && ch != '*')
		return false;
	c->p++;
	while (!at_end(c)) {
		ch = *c->p;
		if (!(is_lcalpha(ch) || is_digit(ch) || ch == '_' || ch == '-' || ch == '.' ||
		      ch == '*'))
			break;
		c->p++;
	}
	*key = ec_str_make(start, (size_t)(c->p - start));
	return true;
}

/* RFC 8941 §4.2.4 parse an Integer or Decimal. */
static bool parse_number(struct cur *c, struct ec_sf_member *m)
{
	const char *start = c->p;
	bool neg = false, dec = false;
	int64_t v = 0;
	size_t digits = 0, frac = 0;
	if (peek(c) == '-') {
		neg = true;
		c->p++;
	}
	if (!is_digit(peek(c)))
		return false;
	while (!at_end(c)) {
		char ch = *c->p;
		if (is_digit(ch)) {
			if (dec) {
				frac++;
			} else {
				v = v * 10 + (ch - '0');
			}
			digits++;
		} else if (ch == '.' && !dec) {
			if (digits > 12)
				return false;
			dec = true;
		} else {
			break;
		}
		c->p++;
		if (!dec && digits > 15)
			return false;
		if (dec && digits > 15)
			return false;
	}
	if (dec) {
		if (frac == 0 || frac > 3)
			return false;
		m->type = EC_SF_DECIMAL;
		m->raw = ec_str_make(start, (size_t)(c->p - start));
		return true;
	}
	m->type = EC_SF_INTEGER;
	m->integer = neg ? -v : v;
	return true;
}

/* RFC 8941 §4.2.5 parse a String; the view excludes the quotes. */
static bool parse_string(struct cur *c, struct ec_sf_member *m)
{
	c->p++; /* DQUOTE */
	const char *start = c->p;
	bool esc = false;
	while (!at_end(c)) {
		unsigned char ch = (unsigned char)*c->p;
		if (ch == '\\') {
			c->p++;
			if (at_end(c) || (*c->p != '"' && *c->p != '\\'))
				return false;
			esc = true;
			c->p++;
			continue;
		}
		if (ch == '"') {
			m->type = EC_SF_STRING;
			m->raw = ec_str_make(start, (size_t)(c->p - start));
			m->escaped = esc;
			c->p++;
			return true;
		}
		if (ch < 0x20 || ch > 0x7e)
			return false;
		c->p++;
	}
	return false;
}

/* RFC 8941 §4.2.6 parse a Token. */
static bool parse_token(struct cur *c, struct ec_sf_member *m)
{
	const char *start = c->p;
	c->p++;
	while (!at_end(c)) {
		unsigned char ch = (unsigned char)*c->p;
		if (!(ec_is_tchar(ch) || ch == ':' || ch == '/'))
			break;
		c->p++;
	}
	m->type = EC_SF_TOKEN;
	m->raw = ec_str_make(start, (size_t)(c->p - start));
	return true;
}

static bool is_b64(char ch)
{
	return is_alpha(ch) || is_digit(ch) || ch == '+' || ch == '/' || ch == '=';
}

/* RFC 8941 §4.2.7 parse a Byte Sequence (content kept as text). */
static bool parse_binary(struct cur *c, struct ec_sf_member *m)
{
	c->p++;
	const char *start = c->p;
	while (!at_end(c) && is_b64(*c->p))
		c->p++;
	if (peek(c) != ':')
		return false;
	m->type = EC_SF_BINARY;
	m->raw = ec_str_make(start, (size_t)(c->p - start));
	c->p++;
	return true;
}

/* RFC 8941 §4.2.3.1 parse a Bare Item. */
static bool parse_bare_item(struct cur *c, struct ec_sf_member *m)
{
	char ch = peek(c);
	if (ch == '-' || is_digit(ch))
		return parse_number(c, m);
	if (ch == '"')
		return parse_string(c, m);
	if (is_alpha(ch) || ch == '*')
		return parse_token(c, m);
	if (ch == ':')
		return parse_binary(c, m);
	if (ch == '?') {
		c->p++;
		ch = peek(c);
		if (ch != '0' && ch != '1')
			return false;
		c->p++;
		m->type = EC_SF_BOOLEAN;
		m->integer = ch == '1';
		return true;
	}
	return false;
}

/* RFC 8941 §4.2.3.2 parse Parameters (validated and discarded). */
static bool parse_params(struct cur *c)
{
	while (peek(c) == ';') {
		c->p++;
		skip_sp(c);
		struct ec_str key;
		if (!parse_key(c, &key))
			return false;
		if (peek(c) == '=') {
			c->p++;
			struct ec_sf_member tmp = {0};
			if (!parse_bare_item(c, &tmp))
				return false;
		}
	}
	return true;
}

/* RFC 8941 §4.2.1.2 parse an Inner List. */
static bool parse_inner_list(struct cur *c, struct ec_sf_member *m)
{
	const char *start = c->p;
	c->p++; /* "(" */
	for (;;) {
		skip_sp(c);
		if (at_end(c))
			return false;
		if (*c->p == ')') {
			c->p++;
			if (!parse_params(c))
				return false;
			m->type = EC_SF_INNER_LIST;
			m->raw = ec_str_make(start, (size_t)(c->p - start));
			return true;
		}
		struct ec_sf_member item = {0};
		if (!parse_bare_item(c, &item) || !parse_params(c))
			return false;
		char ch = peek(c);
		if (ch != ' ' && ch != ')')
			return false;
	}
}

int ec_sf_dict_parse(struct ec_str s, ec_sf_member_f *cb, void *arg)
{
	struct cur c = {s.p, s.p + s.len};
	int count = 0;
	skip_sp(&c);
	/* RFC 8941 §4.2: trailing SP is discarded before parsing. */
	while (c.end > c.p && c.end[-1] == ' ')
		c.end--;
	if (at_end(&c))
		return 0;
	for (;;) {
		struct ec_sf_member m = {0};
		if (!parse_key(&c, &m.key))
			return -1;
		if (peek(&c) == '=') {
			c.p++;
			bool ok = peek(&c) == '(' ? parse_inner_list(&c, &m)
			                          : (parse_bare_item(&c, &m) && parse_params(&c));
			if (!ok)
				return -1;
		} else {
			m.type = EC_SF_BOOLEAN;
			m.integer = 1;
			if (!parse_params(&c))
				return -1;
		}
		if (cb != NULL)
			cb(&m, arg);
		count++;
		skip_ows(&c);
		if (at_end(&c))
			return count;
		if (*c.p != ',')
			return -1;
		c.p++;
		skip_ows(&c);
		if (at_end(&c))
			return -1; /* trailing comma */
	}
}

bool ec_sf_is_token(struct ec_str s)
{
	if (s.len == 0 || !(is_alpha(s.p[0]) || s.p[0] == '*'))
		return false;
	for (size_t i = 1; i < s.len; i++) {
		unsigned char ch = (unsigned char)s.p[i];
		if (!(ec_is_tchar(ch) || ch == ':' || ch == '/'))
			return false;
	}
	return true;
}

/* Appends one byte at *len, writing only while there is room for a NUL. */
static void put(char *buf, size_t cap, size_t *len, char ch)
{
	if (*len + 1 < cap)
		buf[*len] = ch;
	(*len)++;
}

static size_t finish(char *buf, size_t cap, size_t len)
{
	if (cap > 0)
		buf[len < cap ? len : cap - 1] = '\0';
	return len;
}

size_t ec_sf_write_string(char *buf, size_t cap, struct ec_str s)
{
	size_t len = 0;
	put(buf, cap, &len, '"');
	for (size_t i = 0; i < s.len; i++) {
		unsigned char ch = (unsigned char)s.p[i];
		if (ch == '"' || ch == '\\')
			put(buf, cap, &len, '\\');
		put(buf, cap, &len, (ch < 0x20 || ch > 0x7e) ? '?' : (char)ch);
	}
	put(buf, cap, &len, '"');
	return finish(buf, cap, len);
}

size_t ec_sf_write_token_or_string(char *buf, size_t cap, struct ec_str s)
{
	if (!ec_sf_is_token(s))
		return ec_sf_write_string(buf, cap, s);
	size_t len = 0;
	for (size_t i = 0; i < s.len; i++)
		put(buf, cap, &len, s.p[i]);
	return finish(buf, cap, len);
}
