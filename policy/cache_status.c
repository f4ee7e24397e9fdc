/*
 * policy/cache_status.c — Cache-Status (RFC 9211) vocabulary and
 * formatter. The tokens come from tbl/cache_status.h only.
 *
 * Pure functions; no allocation, no state.
 */
#include <inttypes.h>
#include <stdio.h>

#include "policy/cache_status.h"
#include "policy/sf.h"

static const char *const fwd_tok[] = {
/* clang-format off */
#define X(sym, tok, doc) [EC_CS_FWD_##sym] = tok,
	EC_CS_FWD_TABLE(X)
#undef X
};
/* clang-format on */

static const char *const detail_tok[] = {
/* clang-format off */
#define X(sym, tok, doc) [EC_CS_DETAIL_##sym] = tok,
	EC_CS_DETAIL_TABLE(X)
#undef X
};
/* clang-format on */

const char *ec_cs_fwd_str(enum ec_cs_fwd f)
{
	if ((size_t)f >= EC_ARRAY_LEN(fwd_tok))
		return NULL;
	return fwd_tok[f];
}

const char *ec_cs_detail_str(enum ec_cs_detail d)
{
	if ((size_t)d >= EC_ARRAY_LEN(detail_tok))
		return NULL;
	return detail_tok[d];
}

/* An output cursor with snprintf semantics. */
struct out {
	char *buf;
	size_t cap, len;
};

static void out_mem(struct out *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (o->len + 1 < o->cap)
			o->buf[o->len] = s[i];
		o->len++;
	}
}

static void out_str(struct out *o, const char *s)
{
	out_mem(o, s, strlen(s));
}

/* Appends an sf value produced by one of the ec_sf_write_* functions. */
static void out_sf(struct out *o, size_t (*w)(char *, size_t, struct ec_str), struct ec_str s)
{
	size_t room = o->len < o->cap ? o->cap - o->len : 0;
	size_t n = w(room ? o->buf + o->len : NULL, room, s);
	o->len += n;
}

size_t ec_cs_format(const struct ec_cache_status *cs, struct ec_str name, char *buf, size_t cap)
{
	struct out o = {buf, cap, 0};
	char num[32];
	const char *fwd = ec_cs_fwd_str(cs->fwd);

	out_sf(&o, ec_sf_write_token_or_string, name);
	if (cs->hit)
		out_str(&o, "; hit");
	if (fwd != NULL) {
		out_str(&o, "; fwd=");
		out_str(&o, fwd);
		if (cs->fwd_status > 0) {
			snprintf(num, sizeof(num), "; fwd-status=%d", cs->fwd_status);
			out_str(&o, num);
		}
	}
	if (cs->has_ttl) {
		int64_t ttl = cs->ttl;
		if (ttl > 999999999999999LL)
			ttl = 999999999999999LL;
		if (ttl < -999999999999999LL)
			ttl = -999999999999999LL;
		snprintf(num, sizeof(num), "; ttl=%" PRId64, ttl);
		out_str(&o, num);
	}
	if (fwd != NULL && cs->collapsed)
		out_str(&o, "; collapsed");
	if (fwd != NULL && cs->stored)
		out_str(&o, "; stored");
	if (cs->key.len) {
		out_str(&o, "; key=");
		out_sf(&o, ec_sf_write_string, cs->key);
	}
	if (cs->detail.len) {
		out_str(&o, "; detail=");
		out_sf(&o, ec_sf_write_token_or_string, cs->detail);
	}
	if (cap > 0)
		buf[o.len < cap ? o.len : cap - 1] = '\0';
	return o.len;
}
