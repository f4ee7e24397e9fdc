/*
 * policy/range.h — byte-range requests served from a complete stored
 * response (RFC 9110 §14): Range parsing and normalisation, the 206 / 416
 * / 200 decision, Content-Range values and multipart/byteranges framing
 * (§14.6) with its exact length, so Content-Length is known before the
 * first byte is sent.
 *
 * Pure functions; no allocation, no state.
 */
#ifndef EC_POLICY_RANGE_H
#define EC_POLICY_RANGE_H

#include "ec_http.h"
#include "policy/cond.h"

/* At most this many range-specs in one Range field; more → ignored (§14.2). */
#define EC_RANGE_MAX 32
/* More ranges than this out of ascending order → ignored (§14.2). */
#define EC_RANGE_UNSORTED_MAX 4
/* More ranges than this overlapping another → ignored (§14.2 "more than two"). */
#define EC_RANGE_OVERLAP_MAX 2
/* Length of the boundaries ec_range_boundary writes. */
#define EC_RANGE_BOUNDARY_LEN 18

/* An inclusive byte range within [0, len). */
struct ec_range {
	uint64_t first, last;
};

enum ec_range_rc {
	EC_RANGE_RC_INVALID = 0,
	EC_RANGE_NONE,          /* no Range, or not applicable (method, If-Range): 200 */
	EC_RANGE_IGNORE,        /* Range present and ignored (syntax, unit, abuse): 200 */
	EC_RANGE_OK,            /* 206 with *n ranges (multipart when *n > 1) */
	EC_RANGE_UNSATISFIABLE, /* 416 with Content-Range: bytes STAR/len */
};

/*
 * Parses a Range field value (§14.1.2: ranges-specifier = range-unit "="
 * range-set) against a representation of `len` bytes:
 *  - a unit other than "bytes" (case-insensitive), any syntax error (no
 *    OWS inside a range-spec, last < first) or more than EC_RANGE_MAX
 *    specs → IGNORE;
 *  - specs with first >= len and suffixes of 0 are unsatisfiable and
 *    dropped; none left → UNSATISFIABLE (a non-zero suffix on an empty
 *    representation → IGNORE: there is nothing to send but the whole);
 *  - last is capped at len - 1, a suffix longer than len covers it all;
 *  - more than EC_RANGE_OVERLAP_MAX ranges overlapping another, or more
 *    than EC_RANGE_UNSORTED_MAX ranges not in ascending order → IGNORE
 *    (§14.2 lets a server ignore them: broken client or attack, §17.15);
 *  - overlapping and adjacent ranges are then coalesced into the earliest
 *    one (§15.3.7.2 allows it), order otherwise kept.
 * Writes the ranges into out[0..cap) and their count into *n (0 unless
 * OK); when they do not fit in cap → IGNORE. cap >= EC_RANGE_MAX always
 * suffices.
 */
enum ec_range_rc ec_range_parse(struct ec_str value, uint64_t len, struct ec_range *out, size_t cap,
                                size_t *n);

/*
 * The whole decision for a request to a stored complete 200 response of
 * `len` bytes with validators `v`: ranges apply only to GET (§14.2); a
 * Range field repeated → IGNORE; If-Range false (policy/cond.h) → NONE;
 * else ec_range_parse.
 */
enum ec_range_rc ec_range_request(enum ec_method m, const struct ec_hdr *req, size_t nreq,
                                  const struct ec_validators *v, uint64_t len, struct ec_range *out,
                                  size_t cap, size_t *n);

/*
 * Content-Range values (§14.4), snprintf convention (returns the full
 * length, writes at most cap - 1 bytes and a NUL):
 *   ec_range_content_range:       "bytes 500-999/8000"
 *   ec_range_content_range_unsat: "bytes STAR/8000" (for 416, §15.5.17)
 */
size_t ec_range_content_range(char *buf, size_t cap, const struct ec_range *r, uint64_t len);
size_t ec_range_content_range_unsat(char *buf, size_t cap, uint64_t len);

/*
 * Writes a multipart boundary derived from `seed` ("ec" and 16 hex
 * digits, NUL-terminated) into out[EC_RANGE_BOUNDARY_LEN + 1]. The caller
 * supplies a random seed so that the boundary cannot be predicted, hence
 * cannot appear in the body (§14.6, RFC 2046 §5.1.1).
 */
void ec_range_boundary(uint64_t seed, char *out);

/*
 * multipart/byteranges framing (§14.6). Part i (0-based) is
 *   [CRLF if i > 0] "--" boundary CRLF
 *   ["Content-Type: " ctype CRLF]          (when ctype is not empty)
 *   "Content-Range: bytes first-last/len" CRLF CRLF
 *   the bytes of the range
 * and the body ends with CRLF "--" boundary "--" CRLF. The response's
 * Content-Type is "multipart/byteranges; boundary=" boundary. Both writers
 * follow the snprintf convention.
 */
size_t ec_range_part_header(char *buf, size_t cap, size_t i, struct ec_str boundary,
                            struct ec_str ctype, const struct ec_range *r, uint64_t len);
size_t ec_range_multipart_end(char *buf, size_t cap, struct ec_str boundary);

/* Total length of the multipart body for r[0..n): its Content-Length. */
uint64_t ec_range_multipart_length(const struct ec_range *r, size_t n, struct ec_str boundary,
                                   struct ec_str ctype, uint64_t len);

#endif /* EC_POLICY_RANGE_H */
