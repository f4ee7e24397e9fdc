/*
 * forward.h — what a proxy changes in a message as it passes through
 * (RFC 9110 §7.6): hop-by-hop fields removed both ways, Via added both ways,
 * X-Forwarded-For/-Proto added toward the origin, Host passed through or
 * replaced, framing re-stated for the next hop.
 *
 * Pure functions over the request and the site's configuration; no I/O.
 */
#ifndef EC_FORWARD_H
#define EC_FORWARD_H

#include <stddef.h>

#include "req.h"

struct evbuffer;
struct ec_backend;
struct ec_h1_resp;

/* What the cache holds back from the origin (ec_forward_request_head flags). */
enum ec_fwd_flag {
	EC_FWD_SKIP_COND = 1u << 0,  /* the client's If-* preconditions */
	EC_FWD_SKIP_RANGE = 1u << 1, /* the client's Range */
	EC_FWD_AS_GET = 1u << 2,     /* send a HEAD as a GET (a fill stores the body) */
};

/*
 * Appends the HTTP/1.1 request head to send to `b` for `req` into `out`.
 * `extra`/`nextra` are fields to add (validators for a revalidation);
 * `flags` (enum ec_fwd_flag) drop the client's preconditions or Range.
 * Framing: the client's Content-Length, or chunked when the client's body
 * length is unknown. Returns the head length.
 */
size_t ec_forward_request_head(const struct ec_req *req, const struct ec_backend *b,
			       const struct ec_hdr *extra, unsigned nextra, unsigned flags,
			       struct evbuffer *out);

/*
 * Builds the end-to-end field list to send to the client from an origin
 * response: hop-by-hop fields, Content-Length and Transfer-Encoding removed
 * (the transport states its own framing), Via appended. The array is
 * allocated from req->arena; the views point into `resp` memory and into the
 * arena. Returns the count, or -1 when the arena is exhausted.
 */
int ec_forward_response_fields(struct ec_req *req, const struct ec_h1_resp *resp,
			       struct ec_hdr **out);

/* The Via element for a message received as HTTP/`version`, e.g.
 * "1.1 edgecache", from the arena. */
struct ec_str ec_forward_via(struct ec_req *req, const char *version);

#endif /* EC_FORWARD_H */
