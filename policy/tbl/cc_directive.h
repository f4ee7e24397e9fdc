/*
 * policy/tbl/cc_directive.h — the Cache-Control directives edgecache
 * understands, defined once (X-macro) and expanded by policy/cc.c (parser
 * table), policy/cc.h (enum) and docs/policy.md.
 *
 * Columns:
 *   sym    enum suffix (EC_CC_<sym>)
 *   name   directive name, compared case-insensitively (RFC 9111 §5.2)
 *   arg    NONE        no argument defined
 *          SECONDS     delta-seconds (§1.2.2), token or quoted form
 *          SECONDS_OPT optional delta-seconds (max-stale)
 *          FIELDS_OPT  optional #field-name list (qualified no-cache/private)
 *   side   REQ, RESP or BOTH: where the directive has a meaning; elsewhere
 *          it is ignored like an unknown extension (§5.2.3)
 *   loose  1 when honouring the directive loosens caching: a malformed
 *          argument then drops the directive, whereas a malformed argument
 *          on a restrictive directive still counts (the most restrictive
 *          reading, §4.2.1)
 *   ref    where it is defined
 */
#ifndef EC_TBL_CC_DIRECTIVE_H
#define EC_TBL_CC_DIRECTIVE_H

#define EC_CC_DIRECTIVE_TABLE(X)                                                                   \
	X(MAX_AGE, "max-age", SECONDS, BOTH, 0, "RFC 9111 §5.2.1.1, §5.2.2.1")                     \
	X(MAX_STALE, "max-stale", SECONDS_OPT, REQ, 1, "RFC 9111 §5.2.1.2")                        \
	X(MIN_FRESH, "min-fresh", SECONDS, REQ, 0, "RFC 9111 §5.2.1.3")                            \
	X(NO_CACHE, "no-cache", FIELDS_OPT, BOTH, 0, "RFC 9111 §5.2.1.4, §5.2.2.4")                \
	X(NO_STORE, "no-store", NONE, BOTH, 0, "RFC 9111 §5.2.1.5, §5.2.2.5")                      \
	X(NO_TRANSFORM, "no-transform", NONE, BOTH, 0, "RFC 9111 §5.2.1.6, §5.2.2.6")              \
	X(ONLY_IF_CACHED, "only-if-cached", NONE, REQ, 0, "RFC 9111 §5.2.1.7")                     \
	X(MUST_REVALIDATE, "must-revalidate", NONE, RESP, 0, "RFC 9111 §5.2.2.2")                  \
	X(MUST_UNDERSTAND, "must-understand", NONE, RESP, 1, "RFC 9111 §5.2.2.3")                  \
	X(PRIVATE, "private", FIELDS_OPT, RESP, 0, "RFC 9111 §5.2.2.7")                            \
	X(PROXY_REVALIDATE, "proxy-revalidate", NONE, RESP, 0, "RFC 9111 §5.2.2.8")                \
	X(PUBLIC, "public", NONE, RESP, 1, "RFC 9111 §5.2.2.9")                                    \
	X(S_MAXAGE, "s-maxage", SECONDS, RESP, 0, "RFC 9111 §5.2.2.10")                            \
	X(IMMUTABLE, "immutable", NONE, RESP, 1, "RFC 8246 §2")                                    \
	X(STALE_WHILE_REVALIDATE, "stale-while-revalidate", SECONDS, RESP, 1, "RFC 5861 §3")       \
	X(STALE_IF_ERROR, "stale-if-error", SECONDS, BOTH, 1, "RFC 5861 §4")

#endif /* EC_TBL_CC_DIRECTIVE_H */
