/*
 * cache.h — the cache step of the pipeline: RFC 9111 decisions from
 * policy/ applied to the memory tier of storage/.
 *
 *   lookup    build the key, find the variant (Vary), decide with
 *             ec_fresh_decide: serve a hit (with client conditionals,
 *             ranges and HEAD handled from the stored response), or prepare
 *             the fetch (a revalidation, a miss, a bypass)
 *   on_head   the origin answered: freshen a stored response with a 304,
 *             or decide storability and start filling an object; shape
 *             what the client gets (a 304/412/206/416 computed here when
 *             the client's own preconditions or Range were held back)
 *   on_body   tee the body into the object and trim what the client gets
 *   on_done   publish the complete object; on_error drops it (a truncated
 *             body is never stored)
 *
 * Every response gets a Cache-Status field (RFC 9211). A hit is sent by
 * reference from the object's chunks: no copy of a cached body.
 *
 * Thread: the request's worker; the store itself is shared and locked per
 * shard (storage/ec_store.h).
 */
#ifndef EC_CACHE_H
#define EC_CACHE_H

#include "policy/cache_status.h"
#include "policy/fresh.h"
#include "fill.h"
#include "storage/ec_object.h"

struct evbuffer;
struct ec_h1_resp;
struct ec_store;
struct ec_req;
struct ec_resp;

/* What the daemon keeps in each object's meta area. */
struct ec_cmeta {
	struct ec_fresh_meta fresh;
	uint32_t vary_len; /* bytes of `vary` */
	char vary[];       /* the response's Vary values, joined with ", " */
};

/* Per-request cache state (embedded in struct ec_req, zeroed per request). */
struct ec_req_cache {
	bool candidate;   /* the response may be stored (a GET the cache handles) */
	bool coalesce;    /* may wait on a fill (GET, or HEAD served from the GET) */
	bool strip_cond;  /* the client's preconditions were not forwarded */
	bool strip_range; /* the client's Range was not forwarded */
	bool swallow;     /* the client gets no (more) body bytes */
	bool windowed;    /* the client gets body bytes [win_first, win_last] */
	bool stored;      /* an object is being filled (Cache-Status: stored) */
	bool refetch;     /* an inapplicable 304: fetch again without validators */
	bool hit;
	bool disk_hit;       /* the stored response came from the disk tier */
	bool revalidated;    /* a 304 freshened the stored response */
	bool swr;            /* served stale while a refresh runs (RFC 5861) */
	bool refresh_ahead;  /* a hit that started a refresh-ahead */
	bool stale_error;    /* served stale because the origin failed (RFC 5861 §4) */
	bool collapsed;      /* waited on another request's fetch */
	bool predicted;      /* the predictor said uncacheable: no coalescing */
	bool serve_on_error; /* the stored response may stand in for an origin failure */
	enum ec_cs_fwd fwd;
	struct ec_str detail;
	struct ec_str key;
	struct ec_key skey;
	struct ec_fresh_req freq;
	int64_t t_request;
	struct ec_obj *stale; /* stored response being revalidated (reference) */
	struct ec_obj *fill;  /* object being written (reference) */
	bool fill_length_known; /* its response had a Content-Length */
	uint64_t off;         /* response body bytes seen */
	struct ec_reader reader; /* coalescing: this request reads from a fill (fill.h) */
	uint64_t win_first, win_last;
	uint64_t max_size;
};

/*
 * The lookup step. Returns true when the request was answered from the
 * cache (hit, 304/412/416/206 from a stored response, 504 for
 * only-if-cached); false when it must go to the origin, with req->cache
 * telling the fetch how.
 */
bool ec_cache_lookup(struct ec_req *req);

/*
 * Forwarding adjustments for the fetch: validators to add (a revalidation)
 * into extra[0..2], and EC_FWD_* flags for what to hold back. Returns the
 * number of extra fields.
 */
unsigned ec_cache_fetch_fields(struct ec_req *req, struct ec_hdr extra[2], unsigned *flags);

enum ec_cache_head {
	EC_CACHE_HEAD_INVALID = 0,
	EC_CACHE_HEAD_RELAY,    /* *resp is filled: relay it */
	EC_CACHE_HEAD_ANSWERED, /* the cache answered the client (a 304 freshened an object) */
	EC_CACHE_HEAD_REFETCH,  /* an inapplicable 304: swallow it, fetch again in full */
	EC_CACHE_HEAD_NOMEM,    /* the arena is exhausted */
};

/*
 * The origin's response head: freshens a stored response on a 304 and
 * answers from it, or decides storability, starts the object, and fills
 * *resp (fields allocated from the arena) for the pipeline to relay.
 */
enum ec_cache_head ec_cache_on_head(struct ec_req *req, const struct ec_h1_resp *oresp,
				    struct ec_resp *resp);

/* Body bytes from the origin: tees them into the object being filled and
 * trims `data` to what the client gets. */
void ec_cache_on_body(struct ec_req *req, struct evbuffer *data);

/* The body is complete: publish the object. */
void ec_cache_on_done(struct ec_req *req);

/* The exchange failed: drop the object being filled. */
void ec_cache_on_error(struct ec_req *req);

/* Drops every reference the request holds (end of the request). */
void ec_cache_release(struct ec_req *req);

/*
 * Writes the Cache-Status value for a response generated without a stored
 * or origin response (an error page): "edgecache; fwd=...; detail=REASON".
 */
size_t ec_cache_status_error(struct ec_req *req, const char *reason, char *buf, size_t cap);

/* Short cache outcome for the access log ("hit", "miss", ...). */
const char *ec_cache_log_token(const struct ec_req *req);

struct ec_cctx;
struct ec_cache_status;
/* Whether the request selects this stored variant (RFC 9111 §4.1). */
bool ec_cache_variant_matches(const struct ec_obj *obj, const struct ec_req *req);

/* The object-building context of a request (cache_obj.h). */
void ec_cache_cctx(struct ec_req *req, struct ec_cctx *cx);

/*
 * Serves a complete stored response: the request's preconditions, ranges
 * and HEAD handled, Age/Via/Cache-Status added, the body by reference.
 * Ends the response.
 */
void ec_cache_serve(struct ec_req *req, struct ec_obj *obj, struct ec_cache_status *cs,
		    int64_t now);

/* Read-while-write: the head of a stored response whose body is still
 * arriving (length known from the origin, or not). */
void ec_cache_stream_head(struct ec_req *req, struct ec_obj *obj, const struct ec_cache_status *cs,
			  bool has_length, uint64_t length, int64_t now);

/* Hands body bytes [first, first+len) to the client by reference; returns
 * the transport's verdict (false: congested). */
bool ec_cache_send_slice(struct ec_req *req, const struct ec_obj *obj, uint64_t first,
			 uint64_t len);

#endif /* EC_CACHE_H */
