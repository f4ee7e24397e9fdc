/*
 * policy/ban.h — ban expressions: parsing and matching (Varnish's ban
 * language, the subset an operator needs).
 *
 *   EXPR  := COND ( "&&" COND )*
 *   COND  := FIELD OP VALUE
 *   FIELD := req.url | obj.url | url           the path and query of the key
 *          | req.host | obj.host | host        the host part of the key
 *          | obj.http.NAME | http.NAME         a stored response header field
 *          | obj.status | status               the stored status code
 *   OP    := "~" | "!~"  (PCRE2 regex, unanchored, case-sensitive; prefix
 *                         the pattern with (?i) for case-insensitive)
 *          | "==" | "!="  (exact string)
 *   VALUE := "double-quoted, \" and \\ escaped" | a bare word without spaces
 *
 * A header condition on an absent field compares against nothing: "==" and
 * "~" are false, "!=" and "!~" true (as in Varnish). When a field occurs
 * several times any occurrence may match ("==" / "~"); "!=" / "!~" need all
 * to differ.
 *
 * Pure: no I/O; the compiled expression is immutable and may be matched
 * from any thread at once (each match uses its own PCRE2 match data).
 */
#ifndef EC_POLICY_BAN_H
#define EC_POLICY_BAN_H

#include <stdbool.h>
#include <stddef.h>

#include "ec_http.h"

#define EC_BAN_MAX_CONDS 8

struct ec_ban_expr;

/*
 * Parses and compiles `expr` (NUL-terminated). Returns NULL with a message
 * in err ("condition 2: unknown field 'foo'", "regex: missing ) at 4")
 * on a bad expression or out of memory. The caller frees it.
 */
struct ec_ban_expr *ec_ban_parse(const char *expr, char *err, size_t errlen);
void ec_ban_free(struct ec_ban_expr **ep);

/* Whether the expression looks at header fields or the status (not only the key). */
bool ec_ban_needs_object(const struct ec_ban_expr *e);

/*
 * Matches a stored object: `key` is the cache key ("http://host/path?q",
 * or "/path?q" when the key leaves out scheme and host), hdrs[0..n) its
 * stored response fields, `status` its status. true when every condition
 * holds.
 */
bool ec_ban_match(const struct ec_ban_expr *e, struct ec_str key, const struct ec_hdr *hdrs,
                  size_t n, int status);

/* The expression as given (for listings and logs). */
const char *ec_ban_text(const struct ec_ban_expr *e);

#endif /* EC_POLICY_BAN_H */
