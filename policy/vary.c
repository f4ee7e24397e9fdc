/*
 * policy/vary.c — Vary secondary keys (RFC 9111 §4.1). One builder writes
 * the key into a sink that either stores it (ec_vary_key) or compares it
 * with a stored key byte by byte (ec_vary_match), so both always agree.
 *
 * Pure functions; no allocation, no state.
 */
#include "policy/vary.h"

/* Fields whose list members are case-insensitive, RFC 9110 §12.5. */
static const char *const folded[] = {
        "Accept",          /* §12.5.1 media-range, parameter names */
        "Accept-Charset",  /* §12.5.2 charset */
        "Accept-Encoding", /* §12.5.3 content-coding */
        "Accept-Language", /* §12.5.4 language-range (RFC 4647) */
};

static bool is_folded(struct ec_str name)
{
	for (size_t i = 0; i < EC_ARRAY_LEN(folded); i++)
		if (ec_str_caseeq_lit(name, folded[i]))
			return true;
	return false;
}

struct sink {
	char *buf;
	size_t cap, len;
	struct ec_str cmp; /* compare mode when cmp.p != NULL */
	bool diff;
};

static void put(struct sink *s, char c)
{
	if (s->cmp.p != NULL) {
		if (s->len >= s->cmp.len || s->cmp.p[s->len] != c)
			s->diff = true;
	} else if (s->len < s->cap) {
		s->buf[s->len] = c;
	}
	s->len++;
}

/* Writes one list member, normalised (see vary.h). */
static bool put_member(struct sink *s, struct ec_str e, bool fold)
{
	bool quoted = false;
	for (size_t i = 0; i < e.len; i++) {
		char c = e.p[i];
		if (c == '\r' || c == '\n' || c == '\0')
			return false;
		if (quoted) {
			if (c == '\\' && i + 1 < e.len) {
				put(s, c);
				c = e.p[++i];
				if (c == '\r' || c == '\n' || c == '\0')
					return false;
			} else if (c == '"') {
				quoted = false;
			}
			put(s, c);
			continue;
		}
		if (c == '"') {
			quoted = true;
			put(s, c);
			continue;
		}
		if (fold && ec_is_ows(c)) {
			/* drop OWS next to ";" (RFC 9110 §5.6.6 parameters) */
			size_t j = i;
			while (j < e.len && ec_is_ows(e.p[j]))
				j++;
			bool before_semi = j < e.len && e.p[j] == ';';
			bool after_semi = i > 0 && e.p[i - 1] == ';';
			if (!before_semi && !after_semi)
				for (size_t k = i; k < j; k++)
					put(s, e.p[k]);
			i = j - 1;
			continue;
		}
		put(s, fold ? ec_lower(c) : c);
	}
	return true;
}

/*
 * The next list member of one field value (RFC 9110 §5.6.1): commas inside
 * quoted strings do not split, empty members and OWS are skipped.
 */
static bool next_member(struct ec_str v, size_t *off, struct ec_str *out)
{
	while (*off < v.len) {
		size_t i = *off, start;
		while (i < v.len && (ec_is_ows(v.p[i]) || v.p[i] == ','))
			i++;
		start = i;
		bool quoted = false;
		for (; i < v.len; i++) {
			char c = v.p[i];
			if (quoted && c == '\\' && i + 1 < v.len)
				i++;
			else if (c == '"')
				quoted = !quoted;
			else if (!quoted && c == ',')
				break;
		}
		*off = i;
		struct ec_str e = ec_str_trim(ec_str_make(v.p + start, i - start));
		if (e.len) {
			*out = e;
			return true;
		}
	}
	return false;
}

static bool is_field_name(struct ec_str e)
{
	/* "*" is a tchar, but as a Vary member it means "anything" */
	if (e.len == 0 || (e.len == 1 && e.p[0] == '*'))
		return false;
	for (size_t i = 0; i < e.len; i++)
		if (!ec_is_tchar((unsigned char)e.p[i]))
			return false;
	return true;
}

/* Whether Vary member `e` already appeared before iterator position `upto`. */
static bool seen_before(const struct ec_hdr *resp, size_t nresp, struct ec_str e)
{
	struct ec_hdr_iter it = {0};
	struct ec_str p;
	while (ec_hdr_list_next(resp, nresp, "Vary", &it, &p)) {
		if (p.p == e.p)
			return false;
		if (ec_str_caseeq(p, e))
			return true;
	}
	return false;
}

static enum ec_vary_rc build(const struct ec_hdr *resp, size_t nresp, const struct ec_hdr *req,
                             size_t nreq, struct sink *s)
{
	struct ec_hdr_iter it = {0};
	struct ec_str name;
	bool any = false;

	/* §4.1: "*" always fails to match; so does a member we cannot read. */
	while (ec_hdr_list_next(resp, nresp, "Vary", &it, &name))
		if (!is_field_name(name))
			return EC_VARY_NEVER;

	it = (struct ec_hdr_iter){0};
	while (ec_hdr_list_next(resp, nresp, "Vary", &it, &name)) {
		if (seen_before(resp, nresp, name))
			continue;
		any = true;
		for (size_t i = 0; i < name.len; i++)
			put(s, ec_lower(name.p[i]));
		/* §4.1: absent matches only absent, so it differs from empty. */
		const struct ec_hdr *f = NULL;
		for (size_t i = 0; i < nreq; i++)
			if (ec_str_caseeq(req[i].name, name)) {
				f = &req[i];
				break;
			}
		if (f != NULL) {
			put(s, '=');
			bool fold = is_folded(name), first = true;
			for (; f != NULL; f = ec_hdr_find_next(req, nreq, f)) {
				size_t off = 0;
				struct ec_str v;
				while (next_member(f->value, &off, &v)) {
					if (!first) {
						put(s, ',');
						put(s, ' ');
					}
					first = false;
					if (!put_member(s, v, fold))
						return EC_VARY_UNKEYABLE;
				}
			}
		}
		put(s, '\n');
	}
	return any ? EC_VARY_OK : EC_VARY_NONE;
}

enum ec_vary_rc ec_vary_key(const struct ec_hdr *resp, size_t nresp, const struct ec_hdr *req,
                            size_t nreq, char *buf, size_t cap, size_t *len)
{
	struct sink s = {.buf = buf, .cap = cap};
	enum ec_vary_rc rc = build(resp, nresp, req, nreq, &s);
	*len = rc == EC_VARY_OK ? s.len : 0;
	if (rc == EC_VARY_OK && s.len > cap)
		return EC_VARY_NOSPACE;
	return rc;
}

bool ec_vary_match(const struct ec_hdr *resp, size_t nresp, struct ec_str stored_key,
                   const struct ec_hdr *req, size_t nreq)
{
	struct sink s = {.cmp = stored_key.p ? stored_key : EC_STR("")};
	enum ec_vary_rc rc = build(resp, nresp, req, nreq, &s);
	if (rc == EC_VARY_NONE)
		return stored_key.len == 0;
	return rc == EC_VARY_OK && !s.diff && s.len == s.cmp.len;
}
