/*
 * cache.c — the cache step of the pipeline (see cache.h for the flow).
 *
 * Decisions are policy/'s (RFC 9111, 9110 §13/§14, 9211, 9213); this file
 * only applies them: it builds keys, moves objects in and out of the store,
 * and shapes responses. Objects hold the origin's end-to-end fields as a
 * header block (hdrblock.h); on the way out we add Age, Via and
 * Cache-Status and drop targeted cache-control fields.
 *
 * References: a lookup hands us a reference to the object; serving takes one
 * more per chunk handed to libevent (dropped by libevent when sent); the
 * request drops its own in ec_cache_release at the latest.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <event2/buffer.h>

#include "arena.h"
#include "cache.h"
#include "cache_key.h"
#include "forward.h"
#include "hdrblock.h"
#include "http1_parse.h"
#include "log.h"
#include "pipeline.h"
#include "policy/cond.h"
#include "policy/invalidate.h"
#include "policy/range.h"
#include "policy/vary.h"
#include "site.h"
#include "storage/ec_store.h"
#include "worker.h"

#define VKEY_MAX 4096
#define EXTRA_FIELDS 6 /* Age, Via, Cache-Status, Content-Range, Content-Type, spare */

/* ec_obj_unref for a pointer that may be NULL. */
static void obj_drop(struct ec_obj **op)
{
	if (*op != NULL)
		ec_obj_unref(op);
}

static int64_t now_secs(struct ec_req *req)
{
	return (int64_t)ec_worker_now(req->wrk);
}

static const struct ec_fresh_conf *fconf(const struct ec_req *req)
{
	return &req->site->fconf;
}

static bool strip_downstream(const struct ec_req *req, struct ec_str name)
{
	const struct ec_fresh_conf *fc = fconf(req);
	return ec_cc_strip_field(name, fc->targets, fc->ntargets);
}

/* Formats an unsigned/signed number into the arena. */
static struct ec_str arena_num(struct ec_req *req, int64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%" PRId64, v);
	return ec_arena_strdup(req->arena, ec_str_make(buf, (size_t)n));
}

static struct ec_str arena_fmt_cs(struct ec_req *req, const struct ec_cache_status *cs)
{
	char buf[256];
	size_t n = ec_cs_format(cs, EC_STR("edgecache"), buf, sizeof(buf));
	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	return ec_arena_strdup(req->arena, ec_str_make(buf, n));
}

/* Decodes an object's header block into an arena array. -1 on failure. */
static int obj_fields(struct ec_req *req, const struct ec_obj *obj, struct ec_hdr **out)
{
	struct ec_str blk = ec_obj_headers(obj);
	size_t n = ec_hdrblock_count(blk);
	struct ec_hdr *h = ec_arena_alloc(req->arena, (n + 1) * sizeof(*h));
	if (h == NULL)
		return -1;
	int rc = ec_hdrblock_parse(blk, h, n);
	*out = h;
	return rc;
}

/* --- lookup ---------------------------------------------------------------- */

static bool match_variant(const struct ec_obj *obj, void *arg)
{
	const struct ec_req *req = arg;
	const struct ec_cmeta *m = ec_obj_meta(obj);
	if (m->vary_len == 0)
		return true;
	struct ec_hdr vary = {EC_STR("Vary"), ec_str_make(m->vary, m->vary_len)};
	return ec_vary_match(&vary, 1, ec_obj_vkey(obj), req->hdrs, req->nhdrs);
}

/* Hands [first, first+len) of the object's body to the client by reference. */
static bool send_slice(struct ec_req *req, const struct ec_obj *obj, uint64_t first, uint64_t len)
{
	struct evbuffer *buf = req->wrk->scratch;
	size_t idx, skip;
	bool more = true;
	if (len == 0 || !ec_obj_seek(obj, first, &idx, &skip))
		return true;
	while (len > 0 && idx < ec_obj_nchunks(obj)) {
		struct ec_chunk *c = ec_obj_chunk(obj, idx++);
		size_t avail = ec_chunk_len(c) - skip;
		size_t n = avail < len ? avail : (size_t)len;
		ec_chunk_ref(c);
		if (evbuffer_add_reference(buf, (const char *)ec_chunk_data(c) + skip, n,
					   ec_chunk_release_cb, c) != 0) {
			ec_chunk_unref(&c);
			break;
		}
		skip = 0;
		len -= n;
	}
	more = req->ops->resp_body(req, buf);
	evbuffer_drain(buf, evbuffer_get_length(buf));
	return more;
}

static void send_text(struct ec_req *req, const char *p, size_t n)
{
	struct evbuffer *buf = req->wrk->scratch;
	evbuffer_add(buf, p, n);
	req->ops->resp_body(req, buf);
	evbuffer_drain(buf, evbuffer_get_length(buf));
}

/*
 * Serves a stored complete response: client preconditions (RFC 9110 §13.2),
 * ranges (§14), HEAD, with Age, Via and Cache-Status added.
 */
static void serve_obj(struct ec_req *req, struct ec_obj *obj, struct ec_cache_status *cs,
		      int64_t now)
{
	struct ec_hdr *stored;
	int ns = obj_fields(req, obj, &stored);
	const struct ec_obj_attr *attr = ec_obj_attr(obj);
	const struct ec_cmeta *meta = ec_obj_meta(obj);
	if (ns < 0) {
		req->reason = "bad-stored-object";
		ec_pipeline_respond_error(req, 500, "a stored response could not be read", false);
		return;
	}
	struct ec_validators v;
	ec_cond_validators(attr->status, stored, (size_t)ns, attr->response_time, &v);
	enum ec_cond_result cond = ec_cond_evaluate(req->meth, req->hdrs, req->nhdrs, &v, now);
	if (cond == EC_COND_PRECONDITION_FAILED) {
		ec_cs_format(cs, EC_STR("edgecache"), req->cache_status, sizeof(req->cache_status));
		req->cache.hit = cs->hit;
		ec_pipeline_respond_error(req, 412, "precondition failed", false);
		return;
	}

	uint64_t body_len = ec_obj_body_len(obj);
	struct ec_range ranges[EC_RANGE_MAX];
	size_t nranges = 0;
	enum ec_range_rc rrc = EC_RANGE_NONE;
	int status = attr->status;
	if (cond == EC_COND_NOT_MODIFIED)
		status = 304;
	else if (attr->status == 200)
		rrc = ec_range_request(req->meth, req->hdrs, req->nhdrs, &v, body_len, ranges,
				       EC_RANGE_MAX, &nranges);

	struct ec_hdr *out = ec_arena_alloc(req->arena, ((size_t)ns + EXTRA_FIELDS) * sizeof(*out));
	if (out == NULL) {
		req->reason = "no-memory";
		ec_pipeline_respond_error(req, 503, "out of memory", true);
		return;
	}
	unsigned n = 0;
	struct ec_str ctype = EC_STR_NULL;
	for (int i = 0; i < ns; i++) {
		if (strip_downstream(req, stored[i].name))
			continue;
		if (status == 304 && !ec_cond_304_field(stored[i].name))
			continue;
		if (ec_str_caseeq_lit(stored[i].name, "content-type")) {
			ctype = stored[i].value;
			if (rrc == EC_RANGE_OK && nranges > 1)
				continue; /* replaced by multipart/byteranges */
		}
		out[n++] = stored[i];
	}
	out[n].name = EC_STR("Age");
	out[n++].value = arena_num(req, ec_fresh_age_value(&meta->fresh, now));
	out[n].name = EC_STR("Via");
	out[n++].value = ec_forward_via(req, "1.1");

	struct ec_resp resp = {
		.status = status,
		.hdrs = out,
		.has_length = true,
		.length = body_len,
		.no_body = req->meth == EC_M_HEAD || status == 304 || status == 204,
	};
	char boundary[EC_RANGE_BOUNDARY_LEN + 1];
	char crange[96];
	if (rrc == EC_RANGE_UNSATISFIABLE) {
		resp.status = 416;
		ec_range_content_range_unsat(crange, sizeof(crange), body_len);
		out[n].name = EC_STR("Content-Range");
		out[n++].value = ec_arena_strdup(req->arena, ec_str_cstr(crange));
		resp.length = 0;
	} else if (rrc == EC_RANGE_OK && nranges == 1) {
		resp.status = 206;
		ec_range_content_range(crange, sizeof(crange), &ranges[0], body_len);
		out[n].name = EC_STR("Content-Range");
		out[n++].value = ec_arena_strdup(req->arena, ec_str_cstr(crange));
		resp.length = ranges[0].last - ranges[0].first + 1;
	} else if (rrc == EC_RANGE_OK) {
		resp.status = 206;
		uint64_t seed = ((uint64_t)arc4random() << 32) | arc4random();
		ec_range_boundary(seed, boundary);
		struct ec_str b = ec_str_cstr(boundary);
		char ct[96];
		snprintf(ct, sizeof(ct), "multipart/byteranges; boundary=%s", boundary);
		out[n].name = EC_STR("Content-Type");
		out[n++].value = ec_arena_strdup(req->arena, ec_str_cstr(ct));
		resp.length = ec_range_multipart_length(ranges, nranges, b, ctype, body_len);
	}
	out[n].name = EC_STR("Cache-Status");
	out[n++].value = arena_fmt_cs(req, cs);
	resp.nhdrs = n;
	req->cache.hit = cs->hit;
	req->ops->resp_head(req, &resp);

	if (!resp.no_body) {
		if (resp.status == 416) {
			/* no body */
		} else if (resp.status == 206 && nranges == 1) {
			send_slice(req, obj, ranges[0].first, resp.length);
		} else if (resp.status == 206) {
			struct ec_str b = ec_str_cstr(boundary);
			char part[512];
			for (size_t i = 0; i < nranges; i++) {
				size_t pl = ec_range_part_header(part, sizeof(part), i, b, ctype,
								 &ranges[i], body_len);
				send_text(req, part, EC_MIN(pl, sizeof(part) - 1));
				send_slice(req, obj, ranges[i].first,
					   ranges[i].last - ranges[i].first + 1);
			}
			size_t el = ec_range_multipart_end(part, sizeof(part), b);
			send_text(req, part, EC_MIN(el, sizeof(part) - 1));
		} else {
			send_slice(req, obj, 0, body_len);
		}
	}
	req->ops->resp_end(req);
}

bool ec_cache_lookup(struct ec_req *req)
{
	struct ec_req_cache *c = &req->cache;
	struct ec_worker *w = req->wrk;
	const struct ec_config *cf = req->site->conf;
	int64_t now = now_secs(req);
	c->t_request = now;
	c->max_size = cf->max_object_size;
	ec_fresh_req_parse(req->meth, req->hdrs, req->nhdrs, &c->freq);
	if (w->store == NULL) {
		c->fwd = EC_CS_FWD_BYPASS;
		c->detail = EC_STR("config");
		return false;
	}
	if (req->meth != EC_M_GET && req->meth != EC_M_HEAD) {
		c->fwd = EC_CS_FWD_METHOD;
		return false;
	}
	c->key = ec_cache_key_build(req->arena, cf, req->scheme, req->host, req->path);
	if (c->key.len == 0) {
		c->fwd = EC_CS_FWD_BYPASS;
		return false;
	}
	c->skey = ec_key_make(c->key.p, c->key.len);
	struct ec_lookup lk = {
		.key = &c->skey,
		.match = match_variant,
		.match_arg = req,
		.now = now,
	};
	struct ec_obj *obj = NULL;
	enum ec_lookup_rc rc = ec_store_lookup(w->store, &lk, &obj);
	const struct ec_cmeta *meta = obj ? ec_obj_meta(obj) : NULL;
	struct ec_fresh_decision d =
		ec_fresh_decide(meta ? &meta->fresh : NULL, &c->freq, now, fconf(req));
	/* Soft-purged objects are stale whatever their freshness said. */
	if (obj != NULL && (ec_obj_flags(obj) & EC_OBJF_STALE) &&
	    (d.use == EC_USE_FRESH || d.use == EC_USE_STALE))
		d.use = EC_USE_REVALIDATE;
	c->candidate = req->meth == EC_M_GET;
	c->strip_cond = c->candidate;
	c->strip_range = c->candidate && ec_hdr_find(req->hdrs, req->nhdrs, "range") != NULL;

	struct ec_cache_status cs = {0};
	switch (d.use) {
	case EC_USE_FRESH:
	case EC_USE_STALE:
		cs.hit = true;
		cs.has_ttl = true;
		cs.ttl = d.ttl;
		if (d.use == EC_USE_STALE)
			cs.detail = ec_str_cstr(ec_cs_detail_str(d.why));
		serve_obj(req, obj, &cs, now);
		obj_drop(&obj);
		return true;
	case EC_USE_STALE_REVALIDATE: /* background refresh: the miss-handling issue */
	case EC_USE_REVALIDATE:
		c->stale = obj; /* keep the reference for the 304 */
		obj = NULL;
		c->fwd = (d.why == EC_CS_DETAIL_REQ_NO_CACHE || d.why == EC_CS_DETAIL_REQ_MAX_AGE ||
			  d.why == EC_CS_DETAIL_REQ_MIN_FRESH)
				 ? EC_CS_FWD_REQUEST
				 : EC_CS_FWD_STALE;
		return false;
	case EC_USE_GATEWAY_TIMEOUT:
		obj_drop(&obj);
		c->fwd = rc == EC_LOOKUP_HIT ? EC_CS_FWD_STALE : EC_CS_FWD_URI_MISS;
		c->detail = EC_STR("only-if-cached");
		req->reason = "only-if-cached";
		ec_pipeline_respond_error(req, 504, "not cached (only-if-cached)", false);
		return true;
	case EC_USE_MISS:
		c->fwd = rc == EC_LOOKUP_VARY_MISS ? EC_CS_FWD_VARY_MISS : EC_CS_FWD_URI_MISS;
		break;
	case EC_USE_BYPASS:
	case EC_USE_INVALID:
		c->fwd = EC_CS_FWD_METHOD;
		c->candidate = c->strip_cond = c->strip_range = false;
		break;
	}
	obj_drop(&obj);
	return false;
}

unsigned ec_cache_fetch_fields(struct ec_req *req, struct ec_hdr extra[2], unsigned *flags)
{
	struct ec_req_cache *c = &req->cache;
	unsigned n = 0;
	*flags = 0;
	if (c->strip_cond)
		*flags |= EC_FWD_SKIP_COND;
	if (c->strip_range)
		*flags |= EC_FWD_SKIP_RANGE;
	if (c->stale != NULL) {
		struct ec_hdr *stored;
		int ns = obj_fields(req, c->stale, &stored);
		if (ns > 0)
			n = (unsigned)ec_cond_revalidation(stored, (size_t)ns, extra);
		*flags |= EC_FWD_SKIP_COND;
	}
	return n;
}

/* --- filling ------------------------------------------------------------------ */

static bool has_field(const struct ec_h1_resp *r, const char *name)
{
	return ec_hdr_find(r->hdrs, r->nhdrs, name) != NULL;
}

/* Joins every Vary value into the arena ("a, b"); empty when none. */
static struct ec_str joined_vary(struct ec_req *req, const struct ec_hdr *h, size_t n)
{
	size_t len = 0;
	for (size_t i = 0; i < n; i++)
		if (ec_str_caseeq_lit(h[i].name, "vary"))
			len += h[i].value.len + 2;
	if (len == 0)
		return EC_STR_NULL;
	char *p = ec_arena_alloc(req->arena, len), *q = p;
	if (p == NULL)
		return EC_STR_NULL;
	for (size_t i = 0; i < n; i++) {
		if (!ec_str_caseeq_lit(h[i].name, "vary") || h[i].value.len == 0)
			continue;
		if (q != p) {
			*q++ = ',';
			*q++ = ' ';
		}
		memcpy(q, h[i].value.p, h[i].value.len);
		q += h[i].value.len;
	}
	return ec_str_make(p, (size_t)(q - p));
}

/* The fields to store from a response: end-to-end, minus framing and Age. */
static int stored_fields(struct ec_req *req, const struct ec_fresh_resp *fr,
			 const struct ec_hdr *h, size_t n, struct ec_hdr **out)
{
	struct ec_hdr *s = ec_arena_alloc(req->arena, (n + 1) * sizeof(*s));
	if (s == NULL)
		return -1;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		struct ec_str nm = h[i].name;
		if (ec_str_caseeq_lit(nm, "content-length") ||
		    ec_str_caseeq_lit(nm, "transfer-encoding") || ec_str_caseeq_lit(nm, "age") ||
		    !ec_fresh_keep_field(fr, h, n, nm))
			continue;
		s[k++] = h[i];
	}
	*out = s;
	return (int)k;
}

/*
 * Builds a complete-to-be object for the response: header block, attributes
 * and meta. Returns NULL when it cannot (memory, limits).
 */
static struct ec_obj *new_object(struct ec_req *req, const struct ec_fresh_resp *fr, int status,
				 const struct ec_hdr *fields, size_t nfields, struct ec_str vkey,
				 uint64_t body_hint, int64_t now)
{
	struct ec_req_cache *c = &req->cache;
	struct ec_hdr *keep;
	int nk = stored_fields(req, fr, fields, nfields, &keep);
	if (nk < 0)
		return NULL;
	struct ec_str vary = joined_vary(req, keep, (size_t)nk);
	struct ec_obj_init init = {
		.key = &c->skey,
		.vkey = vkey.len ? vkey.p : NULL,
		.vkey_len = vkey.len,
		.meta_len = sizeof(struct ec_cmeta) + vary.len,
		.body_hint = body_hint,
	};
	struct ec_obj *obj = ec_obj_new(&init);
	if (obj == NULL)
		return NULL;
	size_t blen = ec_hdrblock_size(keep, (size_t)nk);
	char *blk = ec_arena_alloc(req->arena, blen ? blen : 1);
	if (blk == NULL || ec_obj_set_headers(obj, blk, ec_hdrblock_write(keep, (size_t)nk, blk)) != 0) {
		obj_drop(&obj);
		return NULL;
	}
	struct ec_obj_attr *a = ec_obj_attr_mut(obj);
	struct ec_cmeta *m = ec_obj_meta(obj);
	ec_fresh_meta_make(fr, c->t_request, now, fconf(req), &m->fresh);
	m->vary_len = (uint32_t)vary.len;
	if (vary.len)
		memcpy(m->vary, vary.p, vary.len);
	a->status = status;
	a->request_time = c->t_request;
	a->response_time = now;
	a->date = fr->date_st == EC_DATEF_VALID ? fr->date : now;
	a->lifetime = m->fresh.lifetime;
	a->expires = now + m->fresh.lifetime - m->fresh.initial_age;
	a->stored_at = now;
	return obj;
}

/* RFC 9111 §4.4: unsafe requests invalidate what they may have changed. */
static void invalidate(struct ec_req *req, const struct ec_h1_resp *oresp)
{
	struct ec_worker *w = req->wrk;
	if (w->store == NULL || ec_method_is_safe(req->meth))
		return;
	struct ec_inval_base base = {req->scheme, req->host, req->path};
	size_t cap = 2 * (req->path.len + 2048) + 2;
	char *buf = ec_arena_alloc(req->arena, cap);
	struct ec_str targets[EC_INVAL_MAX];
	if (buf == NULL)
		return;
	int n = ec_inval_targets(req->meth, oresp->status, &base, oresp->hdrs, oresp->nhdrs, buf,
				 cap, targets);
	for (int i = 0; i < n; i++) {
		struct ec_str key = ec_cache_key_build(req->arena, req->site->conf, req->scheme,
						       req->host, targets[i]);
		if (key.len == 0)
			continue;
		struct ec_key k = ec_key_make(key.p, key.len);
		ec_store_purge(w->store, &k, 0);
	}
}

/* A 304 answered our revalidation: freshen the stored response (§4.3.4). */
static enum ec_cache_head freshen(struct ec_req *req, const struct ec_h1_resp *oresp, int64_t now)
{
	struct ec_req_cache *c = &req->cache;
	struct ec_worker *w = req->wrk;
	struct ec_hdr *stored;
	int ns = obj_fields(req, c->stale, &stored);
	if (ns < 0)
		return EC_CACHE_HEAD_NOMEM;
	struct ec_validators v;
	const struct ec_obj_attr *sa = ec_obj_attr(c->stale);
	ec_cond_validators(sa->status, stored, (size_t)ns, sa->response_time, &v);
	bool sel = false;
	if (ec_cond_freshen_select(oresp->hdrs, oresp->nhdrs, &v, 1, &sel) == 0 || !sel) {
		/* The 304 is not about what we hold: drop it, ask again in full. */
		ec_store_remove(w->store, c->stale);
		obj_drop(&c->stale);
		c->refetch = true;
		c->swallow = true;
		return EC_CACHE_HEAD_REFETCH;
	}
	size_t cap = (size_t)ns + oresp->nhdrs, nm = 0;
	struct ec_hdr *merged = ec_arena_alloc(req->arena, (cap + 1) * sizeof(*merged));
	if (merged == NULL ||
	    ec_cond_merge(stored, (size_t)ns, oresp->hdrs, oresp->nhdrs, merged, cap, &nm) != 0)
		return EC_CACHE_HEAD_NOMEM;
	struct ec_fresh_resp fr;
	ec_fresh_resp_parse(sa->status, merged, nm, fconf(req), &fr);
	struct ec_obj *obj = new_object(req, &fr, sa->status, merged, nm, ec_obj_vkey(c->stale),
					0, now);
	if (obj == NULL || ec_obj_share_body(obj, c->stale) != 0) {
		obj_drop(&obj);
		return EC_CACHE_HEAD_NOMEM;
	}
	ec_store_insert(w->store, obj);
	struct ec_cache_status cs = {
		.fwd = c->fwd,
		.fwd_status = 304,
		.stored = true,
		.has_ttl = true,
	};
	cs.ttl = ec_fresh_ttl(ec_obj_meta(obj), now);
	c->stored = true;
	c->swallow = true;
	c->revalidated = true;
	obj_drop(&c->stale);
	serve_obj(req, obj, &cs, now);
	obj_drop(&obj);
	return EC_CACHE_HEAD_ANSWERED;
}

/* Decides whether to store the response; starts the object when so. */
static void start_fill(struct ec_req *req, const struct ec_h1_resp *oresp,
		       const struct ec_fresh_resp *fr, int64_t now)
{
	struct ec_req_cache *c = &req->cache;
	struct ec_store_decision sd = ec_fresh_storable(&c->freq, fr, now, fconf(req));
	if (sd.verdict != EC_STORE_YES) {
		c->detail = ec_str_cstr(sd.reason);
		return;
	}
	/* A Set-Cookie meant for one client must not be replayed to others:
	 * such responses are passed, as Varnish and most CDNs do by default. */
	if (has_field(oresp, "set-cookie")) {
		c->detail = EC_STR("set-cookie");
		return;
	}
	if (oresp->framing == EC_H1_BODY_LENGTH && oresp->content_length > c->max_size) {
		c->detail = ec_str_cstr(ec_cs_detail_str(EC_CS_DETAIL_TOO_LARGE));
		return;
	}
	char *vbuf = ec_arena_alloc(req->arena, VKEY_MAX);
	size_t vlen = 0;
	enum ec_vary_rc vr = vbuf ? ec_vary_key(oresp->hdrs, oresp->nhdrs, req->hdrs, req->nhdrs,
						vbuf, VKEY_MAX, &vlen)
				  : EC_VARY_NOSPACE;
	if (vr != EC_VARY_NONE && vr != EC_VARY_OK) {
		c->detail = EC_STR("vary");
		return;
	}
	c->fill = new_object(req, fr, oresp->status, oresp->hdrs, oresp->nhdrs,
			     ec_str_make(vbuf, vlen),
			     oresp->framing == EC_H1_BODY_LENGTH ? oresp->content_length : 0, now);
	c->stored = c->fill != NULL;
}

enum ec_cache_head ec_cache_on_head(struct ec_req *req, const struct ec_h1_resp *oresp,
				    struct ec_resp *resp)
{
	struct ec_req_cache *c = &req->cache;
	int64_t now = now_secs(req);

	invalidate(req, oresp);
	if (c->stale != NULL && oresp->status == 304)
		return freshen(req, oresp, now);
	/* Anything but a 304 replaces the stale response (or tells us it is
	 * gone): the new response is handled as a miss's. */
	obj_drop(&c->stale);

	struct ec_fresh_resp fr;
	ec_fresh_resp_parse(oresp->status, oresp->hdrs, oresp->nhdrs, fconf(req), &fr);
	if (c->candidate)
		start_fill(req, oresp, &fr, now);

	struct ec_hdr *fields;
	int nf = ec_forward_response_fields(req, oresp, &fields);
	if (nf < 0)
		return EC_CACHE_HEAD_NOMEM;
	struct ec_hdr *out = ec_arena_alloc(req->arena, ((size_t)nf + EXTRA_FIELDS) * sizeof(*out));
	if (out == NULL)
		return EC_CACHE_HEAD_NOMEM;
	unsigned n = 0;

	*resp = (struct ec_resp){
		.status = oresp->status,
		.has_length = oresp->framing == EC_H1_BODY_LENGTH,
		.length = oresp->content_length,
		.no_body = req->meth == EC_M_HEAD || oresp->status == 204 || oresp->status == 304,
	};
	if (req->meth == EC_M_HEAD && !resp->has_length) {
		const struct ec_hdr *cl = ec_hdr_find(oresp->hdrs, oresp->nhdrs, "content-length");
		resp->has_length = cl != NULL && ec_str_to_u64(cl->value, &resp->length);
	}

	/* What the client asked for but the origin was not told. */
	struct ec_validators v;
	ec_cond_validators(oresp->status, oresp->hdrs, oresp->nhdrs, now, &v);
	enum ec_cond_result cond = EC_COND_PROCEED;
	if (c->strip_cond)
		cond = ec_cond_evaluate(req->meth, req->hdrs, req->nhdrs, &v, now);
	struct ec_range ranges[EC_RANGE_MAX];
	size_t nranges = 0;
	enum ec_range_rc rrc = EC_RANGE_NONE;
	if (cond == EC_COND_PROCEED && c->strip_range && oresp->status == 200 &&
	    oresp->framing == EC_H1_BODY_LENGTH)
		rrc = ec_range_request(req->meth, req->hdrs, req->nhdrs, &v, oresp->content_length,
				       ranges, EC_RANGE_MAX, &nranges);

	for (int i = 0; i < nf; i++) {
		if (strip_downstream(req, fields[i].name))
			continue;
		if (cond == EC_COND_NOT_MODIFIED && !ec_cond_304_field(fields[i].name) &&
		    !ec_str_caseeq_lit(fields[i].name, "via"))
			continue;
		out[n++] = fields[i];
	}
	char crange[96];
	if (cond == EC_COND_NOT_MODIFIED) {
		resp->status = 304;
		resp->no_body = true;
		resp->has_length = false;
		c->swallow = true;
	} else if (cond == EC_COND_PRECONDITION_FAILED) {
		resp->status = 412;
		resp->has_length = true;
		resp->length = 0;
		c->swallow = true;
	} else if (rrc == EC_RANGE_UNSATISFIABLE) {
		resp->status = 416;
		resp->length = 0;
		ec_range_content_range_unsat(crange, sizeof(crange), oresp->content_length);
		out[n].name = EC_STR("Content-Range");
		out[n++].value = ec_arena_strdup(req->arena, ec_str_cstr(crange));
		c->swallow = true;
	} else if (rrc == EC_RANGE_OK && nranges == 1) {
		/* One range of a body we fetch whole: stream the window of it. */
		resp->status = 206;
		resp->length = ranges[0].last - ranges[0].first + 1;
		ec_range_content_range(crange, sizeof(crange), &ranges[0], oresp->content_length);
		out[n].name = EC_STR("Content-Range");
		out[n++].value = ec_arena_strdup(req->arena, ec_str_cstr(crange));
		c->windowed = true;
		c->win_first = ranges[0].first;
		c->win_last = ranges[0].last;
	}
	/* (several ranges on a miss: the whole 200, which §14.2 allows) */

	struct ec_cache_status cs = {
		.fwd = c->fwd ? c->fwd : EC_CS_FWD_URI_MISS,
		.fwd_status = oresp->status != resp->status ? oresp->status : 0,
		.stored = c->stored,
		.detail = c->stored ? EC_STR_NULL : c->detail,
	};
	if (c->stored) {
		cs.has_ttl = true;
		cs.ttl = ec_fresh_ttl(ec_obj_meta(c->fill), now);
	}
	out[n].name = EC_STR("Cache-Status");
	out[n++].value = arena_fmt_cs(req, &cs);
	resp->hdrs = out;
	resp->nhdrs = n;
	return EC_CACHE_HEAD_RELAY;
}

/* --- body --------------------------------------------------------------------- */

static void fill_append(struct ec_req *req, struct evbuffer *data)
{
	struct ec_req_cache *c = &req->cache;
	struct evbuffer_ptr pos;
	struct evbuffer_iovec v[8];
	size_t total = evbuffer_get_length(data);
	if (ec_obj_body_len(c->fill) + total > c->max_size) {
		c->detail = ec_str_cstr(ec_cs_detail_str(EC_CS_DETAIL_TOO_LARGE));
		obj_drop(&c->fill);
		return;
	}
	evbuffer_ptr_set(data, &pos, 0, EVBUFFER_PTR_SET);
	size_t done = 0;
	while (done < total) {
		int nv = evbuffer_peek(data, (ev_ssize_t)(total - done), &pos, v, 8);
		if (nv <= 0)
			break;
		for (int i = 0; i < nv && done < total; i++) {
			size_t len = EC_MIN(v[i].iov_len, total - done);
			if (ec_obj_append(c->fill, v[i].iov_base, len) != 0) {
				obj_drop(&c->fill); /* out of memory: pass, don't store */
				return;
			}
			done += len;
		}
		evbuffer_ptr_set(data, &pos, done, EVBUFFER_PTR_SET);
	}
}

void ec_cache_on_body(struct ec_req *req, struct evbuffer *data)
{
	struct ec_req_cache *c = &req->cache;
	size_t n = evbuffer_get_length(data);
	if (c->fill != NULL)
		fill_append(req, data);
	uint64_t start = c->off;
	c->off += n;
	if (c->swallow) {
		evbuffer_drain(data, n);
		return;
	}
	if (!c->windowed)
		return;
	/* Keep only [win_first, win_last] of the body for the client. */
	uint64_t end = start + n; /* exclusive */
	if (end <= c->win_first || start > c->win_last) {
		evbuffer_drain(data, n);
		return;
	}
	uint64_t keep_from = c->win_first > start ? c->win_first - start : 0;
	uint64_t keep_to = c->win_last + 1 < end ? c->win_last + 1 - start : n;
	if (keep_to < n) {
		/* drop the tail: move the head out, drain the rest, move it back */
		struct evbuffer *tmp = req->wrk->scratch;
		evbuffer_remove_buffer(data, tmp, (size_t)keep_to);
		evbuffer_drain(data, evbuffer_get_length(data));
		evbuffer_add_buffer(data, tmp);
	}
	if (keep_from)
		evbuffer_drain(data, (size_t)keep_from);
}

void ec_cache_on_done(struct ec_req *req)
{
	struct ec_req_cache *c = &req->cache;
	if (c->fill == NULL)
		return;
	ec_obj_finish(c->fill);
	enum ec_insert_rc rc = ec_store_insert(req->wrk->store, c->fill);
	if (rc != EC_INSERT_OK)
		c->stored = false;
	obj_drop(&c->fill);
}

void ec_cache_on_error(struct ec_req *req)
{
	obj_drop(&req->cache.fill);
	req->cache.stored = false;
}

void ec_cache_release(struct ec_req *req)
{
	obj_drop(&req->cache.fill);
	obj_drop(&req->cache.stale);
}

size_t ec_cache_status_error(struct ec_req *req, const char *reason, char *buf, size_t cap)
{
	struct ec_cache_status cs = {
		.fwd = req->cache.fwd,
		.detail = reason ? ec_str_cstr(reason) : req->cache.detail,
	};
	return ec_cs_format(&cs, EC_STR("edgecache"), buf, cap);
}

const char *ec_cache_log_token(const struct ec_req *req)
{
	const struct ec_req_cache *c = &req->cache;
	if (c->revalidated)
		return "revalidated";
	if (c->hit)
		return "hit";
	switch (c->fwd) {
	case EC_CS_FWD_URI_MISS:
	case EC_CS_FWD_MISS:
		return c->stored ? "miss-stored" : "miss";
	case EC_CS_FWD_VARY_MISS:
		return c->stored ? "vary-miss-stored" : "vary-miss";
	case EC_CS_FWD_STALE:
		return "expired";
	case EC_CS_FWD_REQUEST:
		return "request";
	case EC_CS_FWD_METHOD:
		return "pass";
	case EC_CS_FWD_BYPASS:
		return "bypass";
	default:
		return NULL;
	}
}
