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
#include "cache_obj.h"
#include "fill.h"
#include "forward.h"
#include "hdrblock.h"
#include "http1_parse.h"
#include "log.h"
#include "pipeline.h"
#include "policy/cond.h"
#include "policy/invalidate.h"
#include "ban.h"
#include "policy/predict.h"
#include "policy/range.h"
#include "policy/vary.h"
#include "site.h"
#include "storage/ec_store.h"
#include "tiers.h"
#include "worker.h"

#define VKEY_MAX 4096
#define EXTRA_FIELDS 6 /* Age, Via, Cache-Status, Content-Range, Content-Type, spare */

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

void ec_cache_cctx(struct ec_req *req, struct ec_cctx *cx)
{
	*cx = (struct ec_cctx){
		.site = req->site,
		.arena = req->arena,
		.key = &req->cache.skey,
		.freq = &req->cache.freq,
		.rh = req->hdrs,
		.nrh = req->nhdrs,
		.t_request = req->cache.t_request,
		.max_size = req->cache.max_size,
		.learn = req->site->conf->learn_freshness ? req->wrk->learn : NULL,
	};
}

/* --- lookup ---------------------------------------------------------------- */

bool ec_cache_variant_matches(const struct ec_obj *obj, const struct ec_req *req)
{
	const struct ec_cmeta *m = ec_obj_meta(obj);
	if (m->vary_len == 0)
		return true;
	struct ec_hdr vary = {EC_STR("Vary"), ec_str_make(m->vary, m->vary_len)};
	return ec_vary_match(&vary, 1, ec_obj_vkey(obj), req->hdrs, req->nhdrs);
}

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
bool ec_cache_send_slice(struct ec_req *req, const struct ec_obj *obj, uint64_t first,
			 uint64_t len)
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

/* Does the request carry any If-* field (RFC 9110 §13.1)? */
static bool has_preconditions(const struct ec_req *req)
{
	for (size_t i = 0; i < req->nhdrs; i++) {
		struct ec_str nm = req->hdrs[i].name;
		if (nm.len > 3 && ec_lower(nm.p[0]) == 'i' && ec_lower(nm.p[1]) == 'f' && nm.p[2] == '-')
			return true;
	}
	return false;
}

/*
 * Serves a stored complete response: client preconditions (RFC 9110 §13.2),
 * ranges (§14), HEAD, with Age, Via and Cache-Status added.
 */
void ec_cache_serve(struct ec_req *req, struct ec_obj *obj, struct ec_cache_status *cs,
		    int64_t now)
{
	struct ec_hdr *stored;
	int ns = ec_cobj_fields(req->arena, obj, &stored);
	const struct ec_obj_attr *attr = ec_obj_attr(obj);
	const struct ec_cmeta *meta = ec_obj_meta(obj);
	if (ns < 0) {
		req->reason = "bad-stored-object";
		ec_pipeline_respond_error(req, 500, "a stored response could not be read", false);
		return;
	}
	/* The stored validators matter only to a request with preconditions
	 * or a Range; most have neither, and skip parsing them. */
	bool preconds = has_preconditions(req);
	bool ranged = attr->status == 200 && ec_hdr_find(req->hdrs, req->nhdrs, "range") != NULL;
	struct ec_validators v;
	if (preconds || ranged)
		ec_cond_validators(attr->status, stored, (size_t)ns, attr->response_time, &v);
	enum ec_cond_result cond = EC_COND_PROCEED;
	if (preconds)
		cond = ec_cond_evaluate(req->meth, req->hdrs, req->nhdrs, &v, now);
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
	else if (ranged)
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
			ec_cache_send_slice(req, obj, ranges[0].first, resp.length);
		} else if (resp.status == 206) {
			struct ec_str b = ec_str_cstr(boundary);
			char part[512];
			for (size_t i = 0; i < nranges; i++) {
				size_t pl = ec_range_part_header(part, sizeof(part), i, b, ctype,
								 &ranges[i], body_len);
				send_text(req, part, EC_MIN(pl, sizeof(part) - 1));
				ec_cache_send_slice(req, obj, ranges[i].first,
					   ranges[i].last - ranges[i].first + 1);
			}
			size_t el = ec_range_multipart_end(part, sizeof(part), b);
			send_text(req, part, EC_MIN(el, sizeof(part) - 1));
		} else {
			ec_cache_send_slice(req, obj, 0, body_len);
		}
	}
	req->ops->resp_end(req);
}

void ec_cache_stream_head(struct ec_req *req, struct ec_obj *obj, const struct ec_cache_status *cs,
			  bool has_length, uint64_t length, int64_t now)
{
	struct ec_hdr *stored;
	int ns = ec_cobj_fields(req->arena, obj, &stored);
	struct ec_hdr *out =
		ns < 0 ? NULL : ec_arena_alloc(req->arena, ((size_t)ns + EXTRA_FIELDS) * sizeof(*out));
	if (out == NULL) {
		req->reason = "no-memory";
		ec_pipeline_respond_error(req, 503, "out of memory", true);
		return;
	}
	const struct ec_cmeta *meta = ec_obj_meta(obj);
	int status = ec_obj_attr(obj)->status;
	unsigned n = 0;
	for (int i = 0; i < ns; i++)
		if (!strip_downstream(req, stored[i].name))
			out[n++] = stored[i];
	out[n].name = EC_STR("Age");
	out[n++].value = arena_num(req, ec_fresh_age_value(&meta->fresh, now));
	out[n].name = EC_STR("Via");
	out[n++].value = ec_forward_via(req, "1.1");
	out[n].name = EC_STR("Cache-Status");
	out[n++].value = arena_fmt_cs(req, cs);
	struct ec_resp resp = {
		.status = status,
		.hdrs = out,
		.nhdrs = n,
		.has_length = has_length,
		.length = length,
		.no_body = req->meth == EC_M_HEAD || status == 304 || status == 204,
	};
	req->ops->resp_head(req, &resp);
}

/*
 * A miss (or a revalidation) that the cache handles: join or start the fill
 * for the key, unless the predictor knows the key is not cacheable (then
 * every request goes to the origin in parallel, no lock). Returns true when
 * the fill has the request.
 */
static bool coalesce(struct ec_req *req, int64_t now)
{
	struct ec_req_cache *c = &req->cache;
	struct ec_predict *pr = req->wrk->predict;
	if (!c->coalesce)
		return false;
	if (pr != NULL && ec_predict_uncacheable(pr, c->skey.hash.lo, now)) {
		c->predicted = true;
		return false;
	}
	return ec_fill_join(req) == EC_FILL_JOINED;
}

bool ec_cache_lookup(struct ec_req *req)
{
	struct ec_req_cache *c = &req->cache;
	struct ec_worker *w = req->wrk;
	const struct ec_config *cf = req->site->conf;
	int64_t now = now_secs(req);
	c->t_request = now;
	c->max_size = cf->max_object_size;
	if (w->store != NULL)
		c->max_size = EC_MIN(c->max_size, ec_store_max_obj_size(w->store));
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
	enum ec_lookup_rc rc = ec_tiers_lookup(w, &lk, &obj, &c->disk_hit);
	if (rc == EC_LOOKUP_HIT && ec_ban_check(obj)) {
		/* Banned after it was stored (src/ban.h): gone from both tiers. */
		EC_STAT_INC(&w->stats, cache_banned);
		ec_tiers_remove(w, obj);
		ec_cobj_drop(&obj);
		rc = EC_LOOKUP_MISS;
		c->disk_hit = false;
	}
	if (rc == EC_LOOKUP_HIT && !c->disk_hit)
		ec_tiers_hit(w, obj, now);
	const struct ec_cmeta *meta = obj ? ec_obj_meta(obj) : NULL;
	const struct ec_fresh_meta *fm = meta ? &meta->fresh : NULL;
	struct ec_fresh_meta soft;
	if (obj != NULL && (ec_obj_flags(obj) & EC_OBJF_STALE)) {
		/* Soft-purged: stale from now on, as if its lifetime had just run out,
		 * so stale-while-revalidate and stale-if-error windows still apply. */
		soft = meta->fresh;
		int64_t age = ec_fresh_meta_age(&soft, now);
		if (soft.lifetime > age)
			soft.lifetime = EC_MAX(age, 0);
		fm = &soft;
	}
	struct ec_fresh_decision d = ec_fresh_decide(fm, &c->freq, now, fconf(req));
	/* Soft-purged objects are stale whatever their freshness said. */
	if (obj != NULL && (ec_obj_flags(obj) & EC_OBJF_STALE) &&
	    (d.use == EC_USE_FRESH || d.use == EC_USE_STALE))
		d.use = EC_USE_REVALIDATE;
	/* A GET with a body is unusual enough not to be worth caching. A HEAD
	 * miss is fetched as a GET by a fill (and stored), or passed as a HEAD. */
	c->candidate = req->meth == EC_M_GET && !req->has_body;
	c->coalesce = (c->candidate || req->meth == EC_M_HEAD) && !req->has_body;
	c->strip_cond = c->candidate;
	c->strip_range = c->candidate && ec_hdr_find(req->hdrs, req->nhdrs, "range") != NULL;
	c->serve_on_error = d.serve_on_error;

	struct ec_cache_status cs = {0};
	switch (d.use) {
	case EC_USE_FRESH:
	case EC_USE_STALE:
		cs.hit = true;
		cs.has_ttl = true;
		cs.ttl = d.ttl;
		if (d.use == EC_USE_STALE)
			cs.detail = ec_str_cstr(ec_cs_detail_str(d.why));
		if (d.use == EC_USE_FRESH && cf->refresh_ahead_pct > 0 && meta->fresh.lifetime > 0 &&
		    d.ttl * 100 <= (int64_t)cf->refresh_ahead_pct * meta->fresh.lifetime &&
		    ec_obj_hits(obj) >= cf->refresh_ahead_hits) {
			/* Hot and about to expire: revalidate it now, in the background,
			 * so no client ever meets it expired (one refresh per key). */
			c->refresh_ahead = true;
			ec_fill_refresh(req, obj);
		}
		ec_cache_serve(req, obj, &cs, now);
		ec_cobj_drop(&obj);
		return true;
	case EC_USE_STALE_REVALIDATE:
		/* RFC 5861 §3: the stale copy now, one refresh in the background. */
		cs.fwd = EC_CS_FWD_STALE;
		cs.has_ttl = true;
		cs.ttl = d.ttl;
		cs.detail = EC_STR("swr");
		c->hit = true;
		c->fwd = EC_CS_FWD_STALE;
		c->swr = true;
		ec_fill_refresh(req, obj);
		ec_cache_serve(req, obj, &cs, now);
		ec_cobj_drop(&obj);
		return true;
	case EC_USE_REVALIDATE:
		c->stale = obj; /* keep the reference for the 304 */
		obj = NULL;
		c->fwd = (d.why == EC_CS_DETAIL_REQ_NO_CACHE || d.why == EC_CS_DETAIL_REQ_MAX_AGE ||
			  d.why == EC_CS_DETAIL_REQ_MIN_FRESH)
				 ? EC_CS_FWD_REQUEST
				 : EC_CS_FWD_STALE;
		return coalesce(req, now);
	case EC_USE_GATEWAY_TIMEOUT:
		ec_cobj_drop(&obj);
		c->fwd = rc == EC_LOOKUP_HIT ? EC_CS_FWD_STALE : EC_CS_FWD_URI_MISS;
		c->detail = EC_STR("only-if-cached");
		req->reason = "only-if-cached";
		ec_pipeline_respond_error(req, 504, "not cached (only-if-cached)", false);
		return true;
	case EC_USE_MISS:
		c->fwd = rc == EC_LOOKUP_VARY_MISS ? EC_CS_FWD_VARY_MISS : EC_CS_FWD_URI_MISS;
		ec_cobj_drop(&obj);
		return coalesce(req, now);
	case EC_USE_BYPASS:
	case EC_USE_INVALID:
		c->fwd = EC_CS_FWD_METHOD;
		c->candidate = c->strip_cond = c->strip_range = false;
		break;
	}
	ec_cobj_drop(&obj);
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
		int ns = ec_cobj_fields(req->arena, c->stale, &stored);
		if (ns > 0)
			n = (unsigned)ec_cond_revalidation(stored, (size_t)ns, extra);
		*flags |= EC_FWD_SKIP_COND;
	}
	return n;
}

/* --- filling ------------------------------------------------------------------ */

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
		ec_tiers_purge(w, &k, 0);
	}
}

enum ec_cache_head ec_cache_on_head(struct ec_req *req, const struct ec_h1_resp *oresp,
				    struct ec_resp *resp)
{
	struct ec_req_cache *c = &req->cache;
	int64_t now = now_secs(req);

	invalidate(req, oresp);
	struct ec_cctx cx;
	ec_cache_cctx(req, &cx);
	if (c->candidate && (oresp->status == 200 || (c->stale != NULL && oresp->status == 304)))
		ec_cobj_learn(&cx, oresp, oresp->status == 304, now);
	if (c->stale != NULL && oresp->status == 304) {
		bool inapplicable = false;
		struct ec_obj *obj = ec_cobj_freshen(&cx, c->stale, oresp, now, &inapplicable);
		if (inapplicable) {
			/* The 304 is not about what we hold: drop it, ask again in full. */
			ec_tiers_remove(req->wrk, c->stale);
			ec_cobj_drop(&c->stale);
			c->refetch = true;
			c->swallow = true;
			return EC_CACHE_HEAD_REFETCH;
		}
		if (obj == NULL)
			return EC_CACHE_HEAD_NOMEM;
		ec_tiers_insert(req->wrk, obj, now);
		struct ec_cache_status cs = {
			.fwd = c->fwd,
			.fwd_status = 304,
			.stored = true,
			.has_ttl = true,
			.ttl = ec_fresh_ttl(ec_obj_meta(obj), now),
		};
		c->stored = c->swallow = c->revalidated = true;
		ec_cobj_drop(&c->stale);
		ec_cache_serve(req, obj, &cs, now);
		ec_cobj_drop(&obj);
		return EC_CACHE_HEAD_ANSWERED;
	}
	/* Anything but a 304 replaces the stale response (or tells us it is
	 * gone): the new response is handled as a miss's. */
	ec_cobj_drop(&c->stale);

	if (c->candidate) {
		c->fill = ec_cobj_start(&cx, oresp, now, &c->detail);
		c->stored = c->fill != NULL;
		c->fill_length_known = oresp->framing == EC_H1_BODY_LENGTH;
		/* The predictor learns from definite verdicts only (not 5xx). */
		struct ec_predict *pr = req->wrk->predict;
		if (pr != NULL && c->stored && c->predicted)
			ec_predict_clear(pr, c->skey.hash.lo);
		else if (pr != NULL && !c->stored && !c->predicted && oresp->status < 500)
			ec_predict_mark(pr, c->skey.hash.lo, now);
	}

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

	/* What the client asked for but the origin was not told (most requests
	 * ask nothing: the response's validators are parsed only if they do). */
	struct ec_validators v;
	bool preconds = c->strip_cond && has_preconditions(req);
	if (preconds || c->strip_range)
		ec_cond_validators(oresp->status, oresp->hdrs, oresp->nhdrs, now, &v);
	enum ec_cond_result cond = EC_COND_PROCEED;
	if (preconds)
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
	if (c->stored && c->fill != NULL) {
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

void ec_cache_on_body(struct ec_req *req, struct evbuffer *data)
{
	struct ec_req_cache *c = &req->cache;
	size_t n = evbuffer_get_length(data);
	if (c->fill != NULL) {
		struct ec_cctx cx;
		ec_cache_cctx(req, &cx);
		if (!ec_cobj_append(&cx, c->fill, data, c->fill_length_known, &c->detail))
			ec_cobj_drop(&c->fill);
	}
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
	enum ec_insert_rc rc = ec_tiers_insert(req->wrk, c->fill, now_secs(req));
	if (rc != EC_INSERT_OK)
		c->stored = false;
	ec_cobj_drop(&c->fill);
}

void ec_cache_on_error(struct ec_req *req)
{
	ec_cobj_drop(&req->cache.fill);
	req->cache.stored = false;
}

void ec_cache_release(struct ec_req *req)
{
	ec_cobj_drop(&req->cache.fill);
	ec_cobj_drop(&req->cache.stale);
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
	if (c->swr)
		return "stale-swr";
	if (c->stale_error)
		return "stale-error";
	if (c->revalidated)
		return c->collapsed ? "revalidated-collapsed" : "revalidated";
	if (c->hit)
		return c->disk_hit ? "hit-disk" : "hit";
	if (c->collapsed)
		return "collapsed";
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
