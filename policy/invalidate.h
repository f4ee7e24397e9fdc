/*
 * policy/invalidate.h — which stored responses an unsafe request
 * invalidates (RFC 9111 §4.4).
 *
 * Pure functions; no allocation, no state.
 */
#ifndef EC_POLICY_INVALIDATE_H
#define EC_POLICY_INVALIDATE_H

#include "ec_http.h"

/* The effective request URI (RFC 9110 §7.1), in parts. */
struct ec_inval_base {
	struct ec_str scheme;    /* "http" or "https" */
	struct ec_str authority; /* host [ ":" port ] */
	struct ec_str target;    /* path [ "?" query ], origin-form */
};

/* The target URI, Location and Content-Location. */
#define EC_INVAL_MAX 3

/*
 * For a response `status` to a request with method `m`, lists the URIs to
 * invalidate, all on the request's origin, as origin-form targets
 * (path [ "?" query ]) the daemon maps to cache keys:
 *  - nothing unless `m` is unsafe or unknown (RFC 9110 §9.2.1; POST, PUT,
 *    DELETE, PATCH, PURGE, any unknown method) and the status is a
 *    non-error 2xx or 3xx;
 *  - first the target URI itself (out[0] is base->target, no copy);
 *  - then Location and Content-Location (a single field line each),
 *    resolved against the effective request URI (RFC 3986 §5.2, dot
 *    segments removed, fragment dropped, empty path made "/"), only when
 *    their origin — scheme, host (case-insensitive) and port (default 80 /
 *    443) — equals the request's (§4.4: prevents denial of service);
 *    duplicates of an earlier entry are left out.
 * Resolved targets are written into buf[0..cap); out[i] view into buf or
 * base->target. Returns the number of entries (0..EC_INVAL_MAX), or -1
 * when buf is too small (2 * (base->target.len + the longest of the two
 * field values) + 2 bytes always suffice).
 */
int ec_inval_targets(enum ec_method m, int status, const struct ec_inval_base *base,
                     const struct ec_hdr *resp, size_t n, char *buf, size_t cap,
                     struct ec_str out[EC_INVAL_MAX]);

#endif /* EC_POLICY_INVALIDATE_H */
