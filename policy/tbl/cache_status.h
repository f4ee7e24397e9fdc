/*
 * policy/tbl/cache_status.h — the vocabulary of the Cache-Status response
 * field (RFC 9211), defined once (X-macro) and expanded by
 * policy/cache_status.[ch], the daemon's logs and metrics, and docs/policy.md.
 *
 * EC_CS_FWD_TABLE: the fwd parameter values (RFC 9211 §2.2).
 *   sym, token, meaning
 *
 * EC_CS_DETAIL_TABLE: the reasons policy/ gives for its decisions. The same
 * short token appears in Cache-Status `detail=` (§2.8), in access logs and
 * in per-reason counters.
 *   sym, token, meaning (with the rule it comes from)
 */
#ifndef EC_TBL_CACHE_STATUS_H
#define EC_TBL_CACHE_STATUS_H

#define EC_CS_FWD_TABLE(X)                                                                         \
	X(BYPASS, "bypass", "the cache was configured not to handle this request")                 \
	X(METHOD, "method", "the request method's semantics require forwarding")                   \
	X(URI_MISS, "uri-miss", "the cache had no stored response for the target URI")             \
	X(VARY_MISS, "vary-miss", "stored responses exist, but Vary selected none")                \
	X(MISS, "miss", "the cache did not contain a usable response")                             \
	X(REQUEST, "request", "the request's directives required forwarding")                      \
	X(STALE, "stale", "the stored response was stale and had to be revalidated")               \
	X(PARTIAL, "partial", "the stored response was partial")

#define EC_CS_DETAIL_TABLE(X)                                                                      \
	X(NONE, "", "no reason (storable, usable)")                                                \
	/* storability, RFC 9111 §3 */                                                            \
	X(METHOD, "method", "request method not stored (§3: only GET)")                            \
	X(STATUS, "status", "status code not final or not stored (§3)")                            \
	X(PARTIAL, "partial", "206: no partial storage (§3.3)")                                    \
	X(MUST_UNDERSTAND, "must-understand",                                                      \
	  "must-understand with a status not understood (§5.2.2.3)")                               \
	X(NO_STORE, "no-store", "response no-store (§5.2.2.5)")                                    \
	X(REQ_NO_STORE, "req-no-store", "request no-store (§5.2.1.5)")                             \
	X(PRIVATE, "private", "unqualified private in a shared cache (§5.2.2.7)")                  \
	X(AUTHORIZATION, "authorization",                                                          \
	  "Authorization without public/s-maxage/must-revalidate (§3.5)")                          \
	X(VARY_STAR, "vary-star", "Vary: * never matches (§4.1)")                                  \
	X(NO_FRESHNESS, "no-freshness",                                                            \
	  "no explicit freshness, not heuristically cacheable, or unusable (§3, §4.2.2)")          \
	/* reuse, RFC 9111 §4 and §5.2.1 */                                                      \
	X(FRESH, "fresh", "fresh (§4.2)")                                                          \
	X(STALE, "stale", "stale (§4.2), revalidate (§4.3)")                                       \
	X(NO_CACHE, "no-cache", "response no-cache: validate every use (§5.2.2.4)")                \
	X(MUST_REVALIDATE, "must-revalidate",                                                      \
	  "stale with must-revalidate/proxy-revalidate/s-maxage (§4.2.4)")                         \
	X(REQ_NO_CACHE, "req-no-cache", "request no-cache or Pragma: no-cache (§5.2.1.4, §5.4)")   \
	X(REQ_MAX_AGE, "req-max-age", "older than the request's max-age (§5.2.1.1)")               \
	X(REQ_MIN_FRESH, "req-min-fresh", "not fresh for the request's min-fresh (§5.2.1.3)")      \
	X(MAX_STALE, "max-stale", "stale, served under the request's max-stale (§5.2.1.2)")        \
	X(STALE_WHILE_REVALIDATE, "stale-while-revalidate",                                        \
	  "stale, served while revalidating (RFC 5861 §3)")                                        \
	X(ONLY_IF_CACHED, "only-if-cached", "only-if-cached and nothing usable: 504 (§5.2.1.7)")   \
	X(TOO_LARGE, "too-large", "larger than the configured maximum object size")                \
	X(CONFIG, "config", "bypassed by configuration")

#endif /* EC_TBL_CACHE_STATUS_H */
