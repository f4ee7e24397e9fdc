/*
 * policy/fresh.h — the RFC 9111 expiration model for a shared cache:
 * storability (§3), storable header fields (§3.1), freshness lifetime
 * (§4.2.1, §4.2.2), age (§4.2.3) and the reuse decision for a request
 * (§4, §4.2.4, §5.2.1, RFC 5861).
 *
 * Time is always a parameter: int64_t seconds since the epoch. Nothing here
 * reads a clock, allocates or locks. The structs hold views into the
 * caller's header lists and live as long as those do, except struct
 * ec_fresh_meta, which is plain data meant to be stored with an object.
 *
 * Typical use by the daemon:
 *   miss:   ec_fresh_req_parse → ec_fresh_decide(NULL, ...) (MISS or 504)
 *           → fetch → ec_fresh_resp_parse → ec_fresh_storable → store the
 *           fields ec_fresh_keep_field accepts, and ec_fresh_meta_make
 *   lookup: ec_fresh_decide(&meta, ...) → serve / revalidate / 504, with
 *           ec_fresh_age_value() for the Age field
 *   304:    merge (policy/cond.h) → ec_fresh_resp_parse on the merged list
 *           → ec_fresh_meta_make with the 304's request/response times
 */
#ifndef EC_POLICY_FRESH_H
#define EC_POLICY_FRESH_H

#include "ec_http.h"
#include "policy/cache_status.h"
#include "policy/cc.h"

/* Configuration, per origin group. */
struct ec_fresh_conf {
	/* RFC 9213 target list, most applicable first; none when ntargets 0. */
	const struct ec_cc_target *targets;
	size_t ntargets;
	/* §4.2.2 heuristic: pct % of (Date - Last-Modified), capped at max. */
	unsigned heuristic_pct;
	int64_t heuristic_max;
	/*
	 * Lifetime for a heuristically cacheable response with neither
	 * explicit freshness nor Last-Modified. 0 (the default) = none: the
	 * RFC gives no such freshness, an operator may (§4.2.2).
	 */
	int64_t default_ttl;
	/*
	 * Staleness tolerated when the origin fails, without any
	 * stale-if-error (§4.2.4 "disconnected"); 0 (the default) = none.
	 */
	int64_t stale_on_error;
};

/* Defaults: default targets, 10 %, 1 day cap, no default TTL, no stale on error. */
void ec_fresh_conf_init(struct ec_fresh_conf *c);

/* What a request asks of the cache. */
struct ec_fresh_req {
	enum ec_method method;
	struct ec_cc cc;
	bool has_cc;        /* a Cache-Control field line was present */
	bool no_cache;      /* no-cache, or Pragma: no-cache without Cache-Control (§5.4) */
	bool authorization; /* Authorization present (§3.5) */
};

void ec_fresh_req_parse(enum ec_method m, const struct ec_hdr *h, size_t n,
                        struct ec_fresh_req *out);

/* State of a date-valued field. */
enum ec_fresh_datef {
	EC_DATEF_INVALID = 0,
	EC_DATEF_ABSENT,
	EC_DATEF_VALID,
	EC_DATEF_BAD,      /* unparsable (Expires "0", "-1", ...) */
	EC_DATEF_CONFLICT, /* several lines with different values */
};

/* What a response says about its own caching. */
struct ec_fresh_resp {
	int status;
	struct ec_cc cc; /* effective directives: a targeted field, else Cache-Control */
	int target;      /* index in conf->targets of the field used; -1 = Cache-Control */
	enum ec_fresh_datef date_st, expires_st, lm_st;
	int64_t date, expires, last_modified;
	bool has_age;   /* a valid Age (§5.1) */
	int64_t age;    /* its value, saturated at 2^31 */
	bool has_etag;  /* an ETag field line */
	bool vary_star; /* Vary contains "*" (§4.1) */
};

/*
 * Parses a response's caching metadata. Date: invalid or conflicting is
 * treated as absent (RFC 9110 §6.6.1: the receive time stands in). Expires
 * (§5.3): ignored when a targeted field applies (RFC 9213 §2.2); invalid
 * means already expired. Age (§5.1): the first member of the first line is
 * used; an invalid one is ignored; larger than 2^31 saturates.
 */
void ec_fresh_resp_parse(int status, const struct ec_hdr *h, size_t n,
                         const struct ec_fresh_conf *conf, struct ec_fresh_resp *out);

/* Status code properties from policy/tbl/status.h. */
bool ec_fresh_status_understood(int status);
bool ec_fresh_status_heuristic(int status);

/* Where a freshness lifetime came from (§4.2.1 first match). */
enum ec_fresh_source {
	EC_FSRC_INVALID = 0,
	EC_FSRC_S_MAXAGE,  /* s-maxage */
	EC_FSRC_MAX_AGE,   /* max-age */
	EC_FSRC_EXPIRES,   /* Expires - Date (invalid Expires: 0) */
	EC_FSRC_HEURISTIC, /* §4.2.2 Last-Modified heuristic */
	EC_FSRC_DEFAULT,   /* conf->default_ttl */
	EC_FSRC_NONE,      /* nothing applies: 0 */
	EC_FSRC_CONFLICT,  /* invalid or conflicting explicit freshness: stale, 0 */
};

struct ec_lifetime {
	int64_t secs; /* >= 0, at most 2^31 */
	enum ec_fresh_source src;
};

/*
 * freshness_lifetime (§4.2.1): s-maxage, else max-age, else Expires - Date
 * (Date absent: response_time), else a heuristic (§4.2.2) only for a
 * heuristically cacheable status or a response marked public: pct % of
 * (Date - Last-Modified), capped by heuristic_max, never negative, else
 * default_ttl for those same responses. Invalid or conflicting s-maxage,
 * max-age or Expires make the lifetime 0 (EC_FSRC_CONFLICT): "stale".
 */
struct ec_lifetime ec_fresh_lifetime(const struct ec_fresh_resp *r, int64_t response_time,
                                     const struct ec_fresh_conf *c);

/*
 * corrected_initial_age (§4.2.3): max(apparent_age, corrected_age_value)
 * where apparent_age = max(0, response_time - date_value) and
 * corrected_age_value = age_value + (response_time - request_time); a
 * negative response delay (clock step) counts as 0. Saturates at 2^31.
 */
int64_t ec_fresh_initial_age(const struct ec_fresh_resp *r, int64_t request_time,
                             int64_t response_time);

/* current_age = corrected_initial_age + max(0, now - response_time), at most 2^31. */
int64_t ec_fresh_current_age(int64_t initial_age, int64_t response_time, int64_t now);

enum ec_store_verdict {
	EC_STORE_INVALID = 0,
	EC_STORE_YES,
	EC_STORE_NO,
};

struct ec_store_decision {
	enum ec_store_verdict verdict;
	enum ec_cs_detail why; /* EC_CS_DETAIL_NONE when storable */
	const char *reason;    /* ec_cs_detail_str(why): "no-store", "private", ... */
	bool strip;            /* qualified private / no-cache: filter fields */
	struct ec_lifetime life;
};

/*
 * Storability for a shared cache (§3), in this order (the first failing
 * rule gives the reason):
 *   method     only GET; a HEAD miss should be fetched with GET, a POST
 *              response is never stored (§3 allows, we decline);
 *   status     final (>= 200), and not 206 (reason "partial": no partial
 *              storage, §3.3) nor 304;
 *   must-understand (§5.2.2.3) with a status not understood → no;
 *              with an understood status, no-store is ignored;
 *   no-store   in the response (§5.2.2.5), then in the request (§5.2.1.5);
 *   private    unqualified (§5.2.2.7); qualified → storable, `strip` set;
 *   Authorization in the request without public, s-maxage or
 *              must-revalidate (§3.5);
 *   Vary: *    never matches (§4.1), not worth storing;
 *   freshness  public, Expires, max-age or s-maxage present, or a
 *              heuristically cacheable status (§3 last bullet) — and the
 *              stored response must be usable: a lifetime > 0, a validator
 *              (ETag, Last-Modified) or a stale-while-revalidate /
 *              stale-if-error window (§3 notes caches need not store
 *              responses with neither validator nor explicit expiry).
 */
struct ec_store_decision ec_fresh_storable(const struct ec_fresh_req *rq,
                                           const struct ec_fresh_resp *rs, int64_t response_time,
                                           const struct ec_fresh_conf *c);

/*
 * ec_fresh_resp_parse and ec_fresh_storable in one, the same verdict, but
 * the dates, Age, ETag and Vary are parsed only when the directives and
 * the status do not refuse the response already (the pass-through path).
 * On a refusal `out` holds the status and directives only.
 */
struct ec_store_decision ec_fresh_store_check(const struct ec_fresh_req *rq, int status,
                                              const struct ec_hdr *h, size_t n,
                                              int64_t response_time,
                                              const struct ec_fresh_conf *c,
                                              struct ec_fresh_resp *out);

/*
 * Whether the response field `name` is kept when storing (or when merging
 * a 304 into a stored response): false for Connection and the fields it
 * names, the hop-by-hop fields (Keep-Alive, Proxy-Connection, TE,
 * Transfer-Encoding, Upgrade, Trailer), Proxy-Authenticate,
 * Proxy-Authentication-Info, Proxy-Authorization (§3.1), and the fields
 * listed by a qualified private (§5.2.2.7) or no-cache (§5.2.2.4: they
 * must not be reused without revalidation, so they are never stored).
 * h[0..n) is the response the field belongs to (for Connection).
 */
bool ec_fresh_keep_field(const struct ec_fresh_resp *rs, const struct ec_hdr *h, size_t n,
                         struct ec_str name);

/* Per-object freshness metadata, plain data, to store with the object. */
enum {
	EC_FMETA_NO_CACHE = 1u << 0,  /* response no-cache: validate every reuse */
	EC_FMETA_NO_STALE = 1u << 1,  /* must-revalidate, proxy-revalidate or s-maxage */
	EC_FMETA_IMMUTABLE = 1u << 2, /* RFC 8246 (informational) */
	EC_FMETA_VALIDATOR = 1u << 3, /* has ETag or Last-Modified */
};

struct ec_fresh_meta {
	int64_t response_time; /* of the response, or of the 304 that last freshened it */
	int64_t initial_age;   /* corrected_initial_age */
	int64_t lifetime;      /* freshness_lifetime */
	int64_t swr;           /* stale-while-revalidate window, 0 = none */
	int64_t sie;           /* stale-if-error window, 0 = none */
	uint32_t flags;        /* EC_FMETA_* */
	uint32_t source;       /* enum ec_fresh_source of lifetime */
};

void ec_fresh_meta_make(const struct ec_fresh_resp *r, int64_t request_time, int64_t response_time,
                        const struct ec_fresh_conf *c, struct ec_fresh_meta *out);

/* The stored object's current_age at `now`. */
int64_t ec_fresh_meta_age(const struct ec_fresh_meta *m, int64_t now);

/* Age field value to send (§5.1): current_age clamped to [0, 2^31]. */
int64_t ec_fresh_age_value(const struct ec_fresh_meta *m, int64_t now);

/* Remaining freshness (RFC 9211 ttl): lifetime - current_age; negative when stale. */
int64_t ec_fresh_ttl(const struct ec_fresh_meta *m, int64_t now);

enum ec_fresh_use {
	EC_USE_INVALID = 0,
	EC_USE_BYPASS,           /* method other than GET/HEAD: forward, no lookup */
	EC_USE_MISS,             /* nothing stored: fetch */
	EC_USE_FRESH,            /* serve the stored response */
	EC_USE_STALE,            /* serve it stale: the request's max-stale allows */
	EC_USE_STALE_REVALIDATE, /* serve stale, revalidate in the background (RFC 5861 §3) */
	EC_USE_REVALIDATE,       /* forward a conditional request (policy/cond.h) */
	EC_USE_GATEWAY_TIMEOUT,  /* only-if-cached and nothing usable: answer 504 (§5.2.1.7) */
};

struct ec_fresh_decision {
	enum ec_fresh_use use;
	enum ec_cs_detail why; /* the rule that decided, see tbl/cache_status.h */
	int64_t age;           /* current_age (0 on a miss) */
	int64_t ttl;           /* lifetime - age (0 on a miss) */
	/*
	 * When the forward fails (connect error, timeout, 5xx, RFC 9111
	 * §4.3.3), the stored response may be served instead: it is fresh,
	 * or its staleness is within stale-if-error (request's if present,
	 * else response's, RFC 5861 §4) or conf->stale_on_error, and nothing
	 * forbids stale (§4.2.4: no-cache, must-revalidate, proxy-revalidate,
	 * s-maxage).
	 */
	bool serve_on_error;
};

/*
 * Decides how to satisfy a request from a stored response (m, or NULL when
 * none is stored / none matched Vary), in this order:
 *   method not GET/HEAD → BYPASS; nothing stored → MISS (504 with
 *   only-if-cached);
 *   response no-cache → REVALIDATE (§5.2.2.4);
 *   request no-cache / Pragma: no-cache → REVALIDATE (§5.2.1.4, §5.4);
 *   request max-age < current_age → REVALIDATE (§5.2.1.1);
 *   fresh: request min-fresh > remaining → REVALIDATE (§5.2.1.3), else FRESH;
 *   stale: must-revalidate / proxy-revalidate / s-maxage → REVALIDATE
 *   (§4.2.4); request min-fresh → REVALIDATE; request max-stale covers
 *   the staleness (without value: any) → STALE (§5.2.1.2); staleness
 *   within stale-while-revalidate → STALE_REVALIDATE (RFC 5861 §3); else
 *   REVALIDATE;
 *   only-if-cached turns every REVALIDATE into GATEWAY_TIMEOUT (§5.2.1.7).
 * Request no-store does not prevent serving a stored response (§5.2.1.5),
 * only storing the new one (ec_fresh_storable). Invalid request max-age /
 * min-fresh count as 0 / "not satisfiable" (most restrictive); an invalid
 * max-stale is ignored.
 */
struct ec_fresh_decision ec_fresh_decide(const struct ec_fresh_meta *m,
                                         const struct ec_fresh_req *rq, int64_t now,
                                         const struct ec_fresh_conf *c);

#endif /* EC_POLICY_FRESH_H */
