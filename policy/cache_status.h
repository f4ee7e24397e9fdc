/*
 * policy/cache_status.h — the Cache-Status response field (RFC 9211):
 * the vocabulary (fwd reasons and details, from tbl/cache_status.h) and a
 * formatter for one cache's entry.
 *
 * Pure functions; no allocation, no state.
 */
#ifndef EC_POLICY_CACHE_STATUS_H
#define EC_POLICY_CACHE_STATUS_H

#include "ec_util.h"
#include "tbl/cache_status.h"

/* fwd parameter (RFC 9211 §2.2); EC_CS_FWD_NONE: not forwarded. */
/* X-macro expansion: keep clang-format away */
/* clang-format off */
enum ec_cs_fwd {
	EC_CS_FWD_INVALID = 0,
	EC_CS_FWD_NONE,
#define X(sym, tok, doc) EC_CS_FWD_##sym,
	EC_CS_FWD_TABLE(X)
#undef X
};
/* clang-format on */

/* Decision reasons, also the detail parameter (RFC 9211 §2.8). */
/* X-macro expansion: keep clang-format away */
/* clang-format off */
enum ec_cs_detail {
	EC_CS_DETAIL_INVALID = 0,
#define X(sym, tok, doc) EC_CS_DETAIL_##sym,
	EC_CS_DETAIL_TABLE(X)
#undef X
	EC_CS_DETAIL__COUNT,
};
/* clang-format on */

/* The fwd token ("uri-miss"), or NULL for NONE and out-of-range values. */
const char *ec_cs_fwd_str(enum ec_cs_fwd f);
/* The detail token ("no-store"; "" for NONE), or NULL when out of range. */
const char *ec_cs_detail_str(enum ec_cs_detail d);

/* One cache's Cache-Status entry. Zero-initialise, then fill. */
struct ec_cache_status {
	bool hit;           /* §2.1: served from cache without going forward */
	enum ec_cs_fwd fwd; /* §2.2; INVALID or NONE: omitted */
	int fwd_status;     /* §2.3; 0: omitted */
	bool has_ttl;
	int64_t ttl;          /* §2.4: remaining freshness, negative when stale */
	bool stored;          /* §2.5 */
	bool collapsed;       /* §2.6 */
	struct ec_str key;    /* §2.7; empty: omitted */
	struct ec_str detail; /* §2.8; empty: omitted */
};

/*
 * Writes `name; params` — e.g. "edgecache; hit; ttl=57",
 * "edgecache; fwd=stale; fwd-status=304" — in the order RFC 9211's
 * examples use (hit, fwd, fwd-status, ttl, collapsed, stored, key, detail;
 * §3: "ForwardProxyCache; fwd=uri-miss; collapsed; stored").
 * `name` and `detail` are written as sf-tokens when they are valid tokens,
 * else as sf-strings; `key` always as an sf-string. fwd-status, stored and
 * collapsed appear only with fwd (§2.3, §2.5, §2.6). The ttl saturates at
 * ±999999999999999 (the sf-integer range).
 *
 * snprintf convention: returns the length of the whole entry; writes at
 * most cap - 1 bytes and a NUL (buf may be NULL when cap is 0).
 */
size_t ec_cs_format(const struct ec_cache_status *cs, struct ec_str name, char *buf, size_t cap);

#endif /* EC_POLICY_CACHE_STATUS_H */
