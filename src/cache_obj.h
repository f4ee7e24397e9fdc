/*
 * cache_obj.h — building cached objects from origin responses, independent
 * of any client request: storability (policy/), the stored fields and
 * header block, the freshness meta, the Vary secondary key, the body tee,
 * and freshening a stored object with a 304.
 *
 * Used by the plain miss path (cache.c, where the client request owns the
 * fetch) and by coalesced fills (fill.c, where the fill owns it and the
 * request that started it may be gone). Everything a decision needs comes
 * in a struct ec_cctx whose memory outlives the call.
 *
 * Thread: the caller's; objects being built belong to their builder until
 * ec_store_insert publishes them.
 */
#ifndef EC_CACHE_OBJ_H
#define EC_CACHE_OBJ_H

#include "ec_http.h"
#include "policy/fresh.h"
#include "storage/ec_object.h"

struct evbuffer;
struct ec_arena;
struct ec_site;
struct ec_h1_resp;

/* What building an object for a response needs to know about its request. */
struct ec_cctx {
	struct ec_site *site;
	struct ec_arena *arena; /* scratch for the call */
	const struct ec_key *key;
	const struct ec_fresh_req *freq; /* the request's cache directives */
	const struct ec_hdr *rh;         /* the request's fields (for Vary) */
	size_t nrh;
	int64_t t_request; /* request_time, RFC 9111 §4.2.3 */
	uint64_t max_size; /* largest charge the store takes */
};

/*
 * Decides whether the response can be stored (RFC 9111 §3 via policy/, plus
 * our own rules: no Set-Cookie replayed to others, the size limit, a
 * keyable Vary). Yes: returns a new object with its header block, attr and
 * meta set and an empty body (one reference, the caller's). No: NULL with
 * *detail set to the reason token (no-store, private, set-cookie,
 * too-large, vary, ...).
 */
struct ec_obj *ec_cobj_start(const struct ec_cctx *cx, const struct ec_h1_resp *oresp,
			     int64_t now, struct ec_str *detail);

/*
 * Appends body bytes from `data` (not drained). false when the object must
 * be abandoned (over the size limit: *detail "too-large"; no memory).
 * `length_known`: the response had a Content-Length (ec_cobj_start then
 * checked the size already).
 */
bool ec_cobj_append(const struct ec_cctx *cx, struct ec_obj *obj, struct evbuffer *data,
		    bool length_known, struct ec_str *detail);

/*
 * RFC 9111 §4.3.4: a 304 answered a revalidation of `stale`. Returns the
 * freshened object — merged fields, new times, the same body (shared
 * chunks), finished, not yet inserted — or NULL: *inapplicable when the
 * 304's validators do not select `stale` (ask again unconditionally),
 * else out of memory.
 */
struct ec_obj *ec_cobj_freshen(const struct ec_cctx *cx, struct ec_obj *stale,
			       const struct ec_h1_resp *r304, int64_t now, bool *inapplicable);

/* Decodes an object's header block into an arena array; count or -1. */
int ec_cobj_fields(struct ec_arena *a, const struct ec_obj *obj, struct ec_hdr **out);

/* ec_obj_unref for a pointer that may be NULL. */
static inline void ec_cobj_drop(struct ec_obj **op)
{
	if (*op != NULL)
		ec_obj_unref(op);
}

#endif /* EC_CACHE_OBJ_H */
