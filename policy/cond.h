/*
 * policy/cond.h — conditional requests: entity-tags (RFC 9110 §8.8.3),
 * client preconditions answered from a stored response (RFC 9110 §13,
 * RFC 9111 §4.3.2), If-Range (§13.1.5), and revalidation with the origin:
 * the validators to send (RFC 9111 §4.3.1), the stored responses a 304
 * freshens (§4.3.4), how its fields update the stored ones (§3.2), and
 * freshening with HEAD (§4.3.5).
 *
 * Pure functions over caller-owned header lists; outputs are views into
 * those lists. No allocation, no state.
 */
#ifndef EC_POLICY_COND_H
#define EC_POLICY_COND_H

#include "ec_http.h"

/* entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE (RFC 9110 §8.8.3). */
struct ec_etag {
	bool weak;
	struct ec_str opaque; /* opaque-tag, quotes included */
};

/* Parses exactly one entity-tag (OWS around it allowed). */
bool ec_cond_etag_parse(struct ec_str s, struct ec_etag *out);

/*
 * Iterates over a #entity-tag list (If-Match, If-None-Match): *rest is the
 * unparsed remainder. Returns 1 and *out for a tag, 2 for a "*" member,
 * 0 at the end, -1 for a malformed member (skipped up to the next comma).
 */
int ec_cond_etag_list_next(struct ec_str *rest, struct ec_etag *out);

/* RFC 9110 §8.8.3.2: strong — both strong and opaque-tags equal; weak — opaque-tags equal. */
bool ec_cond_etag_strong_eq(const struct ec_etag *a, const struct ec_etag *b);
bool ec_cond_etag_weak_eq(const struct ec_etag *a, const struct ec_etag *b);

/* The validators of a stored (or received) response. */
struct ec_validators {
	int status;
	bool has_etag; /* a single valid ETag */
	struct ec_etag etag;
	bool has_lm;
	int64_t last_modified;
	bool has_date;
	int64_t date;
	int64_t received; /* response_time when known, else 0 */
};

/*
 * Extracts status, ETag (ignored unless exactly one line holding one valid
 * entity-tag), Last-Modified and Date (ignored unless valid) from h[0..n).
 * `received` is the time the response was received (0 if unknown).
 */
void ec_cond_validators(int status, const struct ec_hdr *h, size_t n, int64_t received,
                        struct ec_validators *out);

/*
 * Whether the Last-Modified is a strong validator for a cache (RFC 9110
 * §8.8.2.2): the response also has a Date at least one second later.
 */
bool ec_cond_lm_strong(const struct ec_validators *v);

enum ec_cond_result {
	EC_COND_INVALID = 0,
	EC_COND_PROCEED,             /* serve the stored response (or evaluate Range) */
	EC_COND_NOT_MODIFIED,        /* answer 304 from the stored response */
	EC_COND_PRECONDITION_FAILED, /* answer 412 */
};

/*
 * Evaluates the request's preconditions against the selected stored
 * response `v` at time `now`, in the order of RFC 9110 §13.2.2:
 *  1. If-Match (§13.1.1): "*" is true (a stored response exists); else
 *     true when a listed tag strongly matches; false → 412.
 *  2. Without If-Match, If-Unmodified-Since (§13.1.4): ignored unless one
 *     valid date and a Last-Modified; false (modified after) → 412.
 *  3. If-None-Match (§13.1.2): "*" is false; else false when a listed tag
 *     weakly matches; false → 304 for GET/HEAD, 412 otherwise.
 *  4. Without If-None-Match, GET/HEAD only, If-Modified-Since (§13.1.3):
 *     ignored unless one valid date, not later than `now` (RFC 2616
 *     §14.25 legacy: a future date is invalid); compared with
 *     Last-Modified, else Date, else the receive time (RFC 9111 §4.3.2);
 *     not modified since → 304.
 * Preconditions are ignored (PROCEED) when the stored status is not 2xx
 * (§13.2.1). RFC 9111 §4.3.2 calls If-Match / If-Unmodified-Since origin
 * business; evaluating them against a response the cache may reuse gives
 * the answer the origin gave when it produced it, as nginx does.
 * If-Range is evaluated by ec_cond_if_range.
 */
enum ec_cond_result ec_cond_evaluate(enum ec_method m, const struct ec_hdr *req, size_t nreq,
                                     const struct ec_validators *v, int64_t now);

/*
 * If-Range (RFC 9110 §13.1.5): true when the Range applies — no If-Range,
 * or an entity-tag that strongly matches the stored ETag, or an HTTP-date
 * exactly equal to a strong Last-Modified (§8.8.2.2). False (serve the
 * whole 200) for a weak tag, a mismatch, a malformed or repeated field.
 */
bool ec_cond_if_range(const struct ec_hdr *req, size_t nreq, const struct ec_validators *v);

/*
 * Fields a 304 generated from a stored response carries (RFC 9110
 * §15.4.5): Cache-Control, Content-Location, Date, ETag, Expires, Vary,
 * plus Last-Modified (guides cache updates) and the targeted fields; the
 * daemon adds Age and Cache-Status.
 */
bool ec_cond_304_field(struct ec_str name);

/*
 * The precondition fields for revalidating a stored response (RFC 9111
 * §4.3.1): If-None-Match with its ETag when valid, If-Modified-Since with
 * its Last-Modified when valid, or — when it has neither — with its Date.
 * Writes up to 2 fields into out (names are literals, values views into
 * stored[]) and returns how many; 0 means nothing to validate with (send an
 * unconditional request). The daemon removes the client's own
 * preconditions from the forwarded request and evaluates them afterwards
 * against the freshened response with ec_cond_evaluate.
 */
size_t ec_cond_revalidation(const struct ec_hdr *stored, size_t n, struct ec_hdr out[2]);

/*
 * Which stored responses a 304 freshens (RFC 9111 §4.3.4), given its
 * headers and the validators of the candidates s[0..ns) (same cache key):
 *  - the 304 has a strong validator (strong ETag, else a strong
 *    Last-Modified): every candidate with the same strong validator;
 *  - a weak one: the most recent (by Date) candidate it weakly matches;
 *  - none: the only candidate, if it lacks validators too.
 * Sets sel[i] for each selected candidate and returns the count (0: update
 * nothing; the daemon then treats the 304 as not applicable).
 */
size_t ec_cond_freshen_select(const struct ec_hdr *r304, size_t n304, const struct ec_validators *s,
                              size_t ns, bool *sel);

/*
 * Updates a stored header list with a 304's (or HEAD 200's) fields (RFC
 * 9111 §3.2, §4.3.4): every field the new response carries replaces all
 * stored instances of that name and new names are appended, except:
 * §3.1 exclusions (Connection and the fields it names, hop-by-hop fields,
 * Proxy-Authenticate, Proxy-Authentication-Info, Proxy-Authorization),
 * Content-Length (§3.2), Content-Range (processed, not updated: §3.2),
 * Content-Encoding (edgecache stores the body as received: a new coding
 * would not describe it; §3.2 allows keeping integrity-critical fields).
 * Order: the stored fields that survive, then the new ones.
 * Writes views into out[0..cap); returns 0 and *nout, or -1 when cap is too
 * small (*nout then holds the count needed).
 */
int ec_cond_merge(const struct ec_hdr *stored, size_t ns, const struct ec_hdr *upd, size_t nu,
                  struct ec_hdr *out, size_t cap, size_t *nout);

enum ec_head_update {
	EC_HEAD_INVALID = 0,
	EC_HEAD_UPDATE, /* merge the HEAD response's fields into the stored one */
	EC_HEAD_STALE,  /* mark the stored response stale */
};

/*
 * RFC 9111 §4.3.5: a 200 to an inbound HEAD updates a stored GET response
 * when every validator it carries (ETag, Last-Modified) equals the stored
 * one and, if it has a Content-Length, that equals the stored one;
 * otherwise the stored response is to be considered stale.
 */
enum ec_head_update ec_cond_head_check(const struct ec_hdr *stored, size_t ns,
                                       const struct ec_hdr *head, size_t nh);

#endif /* EC_POLICY_COND_H */
