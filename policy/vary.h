/*
 * policy/vary.h — secondary cache keys from Vary (RFC 9111 §4.1).
 *
 * A secondary key is a byte string built from the request fields that a
 * stored response's Vary nominates, normalised so that requests which must
 * match do (§4.1: whitespace, combined field lines, case where the field is
 * case-insensitive), and which stays readable for logs and the admin API:
 *
 *     accept-encoding=gzip, br\n      field present (value normalised)
 *     accept-language=\n              present but empty
 *     x-device\n                      absent
 *
 * one line per varied field, lower-cased name, in Vary order, duplicates
 * dropped. Normalisation of a value: field lines combined and split into
 * list members at commas outside quoted strings, empty members dropped,
 * OWS around members removed, members joined with ", ". For Accept,
 * Accept-Charset, Accept-Encoding and Accept-Language (RFC 9110 §12.5:
 * media ranges, charsets, codings, language tags and parameter names are
 * case-insensitive) also: OWS around ";" removed and letters folded to
 * lower case outside quoted strings. (A case-sensitive Accept parameter
 * value, rare in practice, is folded too.)
 *
 * Pure functions; no allocation, no state.
 */
#ifndef EC_POLICY_VARY_H
#define EC_POLICY_VARY_H

#include "ec_http.h"

enum ec_vary_rc {
	EC_VARY_RC_INVALID = 0,
	EC_VARY_NONE,    /* no Vary (or an empty one): empty key, any request matches */
	EC_VARY_OK,      /* key written */
	EC_VARY_NEVER,   /* Vary contains "*" or a member that is not a field name: never matches */
	EC_VARY_NOSPACE, /* buf too small; *len is the size needed */
	EC_VARY_UNKEYABLE, /* a varied request value holds CR, LF or NUL */
};

/*
 * Builds the secondary key of `req` for a response whose header list is
 * resp[0..nresp) (only its Vary lines are read) into buf[0..cap). The key
 * is not NUL-terminated; *len receives its length (or the length needed,
 * with EC_VARY_NOSPACE). With EC_VARY_NONE, *len is 0.
 */
enum ec_vary_rc ec_vary_key(const struct ec_hdr *resp, size_t nresp, const struct ec_hdr *req,
                            size_t nreq, char *buf, size_t cap, size_t *len);

/*
 * Whether `req` selects the stored response whose headers are
 * resp[0..nresp) and whose secondary key (from ec_vary_key on its original
 * request) is `stored_key`. Compares as it normalises: no buffer, stops at
 * the first difference. Vary: * never matches (§4.1).
 */
bool ec_vary_match(const struct ec_hdr *resp, size_t nresp, struct ec_str stored_key,
                   const struct ec_hdr *req, size_t nreq);

#endif /* EC_POLICY_VARY_H */
