/*
 * cache_obj.c — building cached objects from origin responses (see
 * cache_obj.h).
 */
#include <event2/buffer.h>

#include "arena.h"
#include "cache.h"
#include "cache_obj.h"
#include "hdrblock.h"
#include "http1_parse.h"
#include "policy/cond.h"
#include "policy/learn.h"
#include "policy/vary.h"
#include "site.h"

#define VKEY_MAX 4096

int ec_cobj_fields(struct ec_arena *a, const struct ec_obj *obj, struct ec_hdr **out)
{
	struct ec_str blk = ec_obj_headers(obj);
	size_t n = ec_hdrblock_count(blk);
	struct ec_hdr *h = ec_arena_alloc(a, (n + 1) * sizeof(*h));
	if (h == NULL)
		return -1;
	int rc = ec_hdrblock_parse(blk, h, n);
	*out = h;
	return rc;
}

/* Joins every Vary value into the arena ("a, b"); empty when none. */
static struct ec_str joined_vary(struct ec_arena *a, const struct ec_hdr *h, size_t n)
{
	size_t len = 0;
	for (size_t i = 0; i < n; i++)
		if (ec_str_caseeq_lit(h[i].name, "vary"))
			len += h[i].value.len + 2;
	if (len == 0)
		return EC_STR_NULL;
	char *p = ec_arena_alloc(a, len), *q = p;
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
static int stored_fields(struct ec_arena *a, const struct ec_fresh_resp *fr, const struct ec_hdr *h,
			 size_t n, struct ec_hdr **out)
{
	struct ec_hdr *s = ec_arena_alloc(a, (n + 1) * sizeof(*s));
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

/* A new object: header block, attributes and meta; empty body. */
static struct ec_obj *new_object(const struct ec_cctx *cx, const struct ec_fresh_resp *fr,
				 int status, const struct ec_hdr *fields, size_t nfields,
				 struct ec_str vkey, uint64_t body_hint, int64_t now)
{
	struct ec_hdr *keep;
	int nk = stored_fields(cx->arena, fr, fields, nfields, &keep);
	if (nk < 0)
		return NULL;
	struct ec_str vary = joined_vary(cx->arena, keep, (size_t)nk);
	struct ec_obj_init init = {
		.key = cx->key,
		.vkey = vkey.len ? vkey.p : NULL,
		.vkey_len = vkey.len,
		.meta_len = sizeof(struct ec_cmeta) + vary.len,
		.body_hint = body_hint,
	};
	struct ec_obj *obj = ec_obj_new(&init);
	if (obj == NULL)
		return NULL;
	size_t blen = ec_hdrblock_size(keep, (size_t)nk);
	char *blk = ec_arena_alloc(cx->arena, blen ? blen : 1);
	if (blk == NULL ||
	    ec_obj_set_headers(obj, blk, ec_hdrblock_write(keep, (size_t)nk, blk)) != 0) {
		ec_cobj_drop(&obj);
		return NULL;
	}
	struct ec_obj_attr *at = ec_obj_attr_mut(obj);
	struct ec_cmeta *m = ec_obj_meta(obj);
	ec_fresh_meta_make(fr, cx->t_request, now, &cx->site->fconf, &m->fresh);
	/* No explicit freshness but a validator: the learned heuristic, if any,
	 * may give it more life than the blanket one (RFC 9111 §4.2.2). */
	enum ec_fresh_source src = (enum ec_fresh_source)m->fresh.source;
	if (cx->learn != NULL && (m->fresh.flags & EC_FMETA_VALIDATOR) &&
	    (src == EC_FSRC_HEURISTIC || src == EC_FSRC_DEFAULT || src == EC_FSRC_NONE)) {
		const struct ec_config *cf = cx->site->conf;
		int64_t learned = ec_learn_lifetime(cx->learn, cx->key->hash.lo, now,
						    (int64_t)cf->learn_min, (int64_t)cf->learn_max);
		if (learned > m->fresh.lifetime) {
			m->fresh.lifetime = learned;
			m->fresh.source = EC_FSRC_HEURISTIC;
		}
	}
	m->vary_len = (uint32_t)vary.len;
	if (vary.len)
		memcpy(m->vary, vary.p, vary.len);
	at->status = status;
	at->request_time = cx->t_request;
	at->response_time = now;
	at->date = fr->date_st == EC_DATEF_VALID ? fr->date : now;
	at->lifetime = m->fresh.lifetime;
	at->expires = now + m->fresh.lifetime - m->fresh.initial_age;
	at->stored_at = now;
	return obj;
}

/*
 * What the store will charge for `obj` once it holds a body of `body`
 * bytes: what it already counts (structs, key, header block, meta) plus the
 * chunks — exactly sized when the length is known, each with a header
 * rounded to a cache line — and the chunk array. An upper bound within a
 * few hundred bytes, so that a response announced as `stored` is not then
 * refused as too big at insert.
 */
static uint64_t charge_estimate(const struct ec_obj *obj, uint64_t body)
{
	uint64_t nchunks = body / EC_CHUNK_MAX + 1;
	return ec_obj_charge(obj) + body + nchunks * (2 * EC_CACHELINE + sizeof(void *)) + 256;
}

struct ec_obj *ec_cobj_start(const struct ec_cctx *cx, const struct ec_h1_resp *oresp,
			     int64_t now, struct ec_str *detail)
{
	struct ec_fresh_resp fr;
	struct ec_store_decision sd = ec_fresh_store_check(cx->freq, oresp->status, oresp->hdrs,
							   oresp->nhdrs, now, &cx->site->fconf, &fr);
	if (sd.verdict != EC_STORE_YES) {
		*detail = ec_str_cstr(sd.reason);
		return NULL;
	}
	/* A Set-Cookie meant for one client must not be replayed to others:
	 * such responses are passed, as Varnish and most CDNs do by default. */
	if (ec_hdr_find(oresp->hdrs, oresp->nhdrs, "set-cookie") != NULL) {
		*detail = EC_STR("set-cookie");
		return NULL;
	}
	if (oresp->framing == EC_H1_BODY_LENGTH && oresp->content_length > cx->max_size) {
		*detail = ec_str_cstr(ec_cs_detail_str(EC_CS_DETAIL_TOO_LARGE));
		return NULL;
	}
	char *vbuf = ec_arena_alloc(cx->arena, VKEY_MAX);
	size_t vlen = 0;
	enum ec_vary_rc vr = vbuf ? ec_vary_key(oresp->hdrs, oresp->nhdrs, cx->rh, cx->nrh, vbuf,
						VKEY_MAX, &vlen)
				  : EC_VARY_NOSPACE;
	if (vr != EC_VARY_NONE && vr != EC_VARY_OK) {
		*detail = EC_STR("vary");
		return NULL;
	}
	struct ec_obj *obj =
		new_object(cx, &fr, oresp->status, oresp->hdrs, oresp->nhdrs,
			   ec_str_make(vbuf, vlen),
			   oresp->framing == EC_H1_BODY_LENGTH ? oresp->content_length : 0, now);
	if (obj == NULL) {
		*detail = EC_STR("no-memory");
		return NULL;
	}
	if (oresp->framing == EC_H1_BODY_LENGTH &&
	    charge_estimate(obj, oresp->content_length) > cx->max_size) {
		*detail = ec_str_cstr(ec_cs_detail_str(EC_CS_DETAIL_TOO_LARGE));
		ec_cobj_drop(&obj);
	}
	return obj;
}

bool ec_cobj_append(const struct ec_cctx *cx, struct ec_obj *obj, struct evbuffer *data,
		    bool length_known, struct ec_str *detail)
{
	size_t total = evbuffer_get_length(data);
	/* With a Content-Length, ec_cobj_start checked the whole charge and the
	 * framing stops the origin at it. Without one, the charge so far (it
	 * counts the chunk reserved ahead, so it errs on the safe side) plus
	 * what comes must fit. */
	if (!length_known && ec_obj_charge(obj) + total > cx->max_size) {
		*detail = ec_str_cstr(ec_cs_detail_str(EC_CS_DETAIL_TOO_LARGE));
		return false;
	}
	struct evbuffer_ptr pos;
	struct evbuffer_iovec v[8];
	evbuffer_ptr_set(data, &pos, 0, EVBUFFER_PTR_SET);
	size_t done = 0;
	while (done < total) {
		int nv = evbuffer_peek(data, (ev_ssize_t)(total - done), &pos, v, 8);
		if (nv <= 0)
			break;
		for (int i = 0; i < nv && done < total; i++) {
			size_t len = EC_MIN(v[i].iov_len, total - done);
			if (ec_obj_append(obj, v[i].iov_base, len) != 0) {
				*detail = EC_STR("no-memory");
				return false;
			}
			done += len;
		}
		evbuffer_ptr_set(data, &pos, done, EVBUFFER_PTR_SET);
	}
	return true;
}

struct ec_obj *ec_cobj_freshen(const struct ec_cctx *cx, struct ec_obj *stale,
			       const struct ec_h1_resp *r304, int64_t now, bool *inapplicable)
{
	*inapplicable = false;
	struct ec_hdr *stored;
	int ns = ec_cobj_fields(cx->arena, stale, &stored);
	if (ns < 0)
		return NULL;
	struct ec_validators v;
	const struct ec_obj_attr *sa = ec_obj_attr(stale);
	ec_cond_validators(sa->status, stored, (size_t)ns, sa->response_time, &v);
	bool sel = false;
	if (ec_cond_freshen_select(r304->hdrs, r304->nhdrs, &v, 1, &sel) == 0 || !sel) {
		*inapplicable = true;
		return NULL;
	}
	size_t cap = (size_t)ns + r304->nhdrs, nm = 0;
	struct ec_hdr *merged = ec_arena_alloc(cx->arena, (cap + 1) * sizeof(*merged));
	if (merged == NULL ||
	    ec_cond_merge(stored, (size_t)ns, r304->hdrs, r304->nhdrs, merged, cap, &nm) != 0)
		return NULL;
	struct ec_fresh_resp fr;
	ec_fresh_resp_parse(sa->status, merged, nm, &cx->site->fconf, &fr);
	struct ec_obj *obj =
		new_object(cx, &fr, sa->status, merged, nm, ec_obj_vkey(stale), 0, now);
	if (obj == NULL || ec_obj_share_body(obj, stale) != 0) {
		ec_cobj_drop(&obj);
		return NULL;
	}
	return obj;
}

void ec_cobj_learn(const struct ec_cctx *cx, const struct ec_h1_resp *oresp, bool confirmed,
		   int64_t now)
{
	if (cx->learn == NULL)
		return;
	const struct ec_hdr *v = ec_hdr_find(oresp->hdrs, oresp->nhdrs, "etag");
	if (v == NULL)
		v = ec_hdr_find(oresp->hdrs, oresp->nhdrs, "last-modified");
	uint64_t vh = v ? ec_store_hash(v->value.p, v->value.len).lo | 1 : 0;
	ec_learn_observe(cx->learn, cx->key->hash.lo, vh, confirmed, now);
}
