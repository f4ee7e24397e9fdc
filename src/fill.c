/*
 * fill.c — request coalescing with read-while-write (see fill.h).
 *
 * Ownership and threads
 *   - A fill is reference-counted (atomic): the coalescing table holds one
 *     reference while the fill is listed, its fetch one while it runs, and
 *     each attached reader one.
 *   - The fetch, the object being written and `direct` belong to the home
 *     worker (the writer's thread); every fetch callback runs there.
 *   - `state`, `obj`, `stale` and the reader list are shared: fill->lock.
 *   - A reader is embedded in its request and touched only on its own
 *     worker, except for `wnext`/`queued` (that worker's wake lock) and its
 *     links in the fill's list (fill lock).
 *   - Lock order: table shard → fill → worker wake lock.
 *
 * Read-while-write relies on the object model's publication rule
 * (storage/ec_object.h): a reader that sees body_len N may send bytes
 * [0, N) while the writer appends more.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "arena.h"
#include "cache.h"
#include "cache_obj.h"
#include "forward.h"
#include "http1_parse.h"
#include "log.h"
#include "origin.h"
#include "pipeline.h"
#include "policy/cond.h"
#include "policy/predict.h"
#include "policy/vary.h"
#include "site.h"
#include "storage/ec_store.h"
#include "tiers.h"
#include "worker.h"

#define FILL_MAGIC 0x46494c31u
#define TABLE_SHARDS 64
#define TABLE_BUCKETS 256
#define STREAM_STEP (256 * 1024)
#define MAX_RETRIES 1

enum fstate {
	FS_INVALID = 0,
	FS_HEAD,   /* waiting for the origin's head */
	FS_BODY,   /* storable: the object fills, readers stream it */
	FS_DONE,   /* obj is complete (stored, freshened by a 304, or stale-if-error) */
	FS_FAILED, /* no object: readers without a head retry, others abort */
	FS_PASS,   /* not storable: the writer is relayed directly, waiters leave */
};

struct ec_fill {
	unsigned magic;
	_Atomic unsigned refs;
	pthread_mutex_t lock;

	/* identity in the table (table shard lock): the primary key, or the
	 * primary key and a variant for requests a Vary response sent apart */
	struct ec_fill *tnext;
	struct ec_hash128 hash;
	char *key;
	size_t key_len;
	char *skey_buf; /* the primary key (skey's memory) */
	bool in_table;
	double t_start;

	/* home thread only */
	struct ec_worker *home;
	struct ec_fill *hnext, *hprev; /* home worker's list */
	struct ec_site *site;
	struct ec_fetch *fetch;
	struct ec_req *direct; /* FS_PASS: the writer, relayed as a plain miss */
	bool discard;          /* swallow the rest of the origin's body */
	bool tee;              /* length unknown: the writer is relayed directly (the object
				  may outgrow the store and be dropped) while waiters stream
				  the object as usual */
	struct event *ev_cancel;
	struct ec_arena arena; /* the request context copied at creation */
	struct ec_key skey;
	struct ec_fresh_req freq;
	struct ec_hdr *rh;
	size_t nrh;
	int64_t t_request;
	uint64_t max_size;
	struct ec_str detail;

	/* fill->lock */
	enum fstate state;
	struct ec_obj *obj;
	struct ec_obj *stale;
	bool serve_on_error;
	bool revalidated;
	bool stale_error;
	int origin_status;
	bool has_length;
	uint64_t length;
	struct ec_reader *readers;
	unsigned nreaders;
};

struct tshard {
	pthread_mutex_t lock;
	struct ec_fill *buckets[TABLE_BUCKETS];
} __attribute__((aligned(EC_CACHELINE)));

static struct tshard *table;

static const struct ec_fetch_ops fill_ops;

int ec_fill_init(void)
{
	table = aligned_alloc(EC_CACHELINE, sizeof(*table) * TABLE_SHARDS);
	if (table == NULL)
		return -1;
	memset(table, 0, sizeof(*table) * TABLE_SHARDS);
	for (int i = 0; i < TABLE_SHARDS; i++)
		pthread_mutex_init(&table[i].lock, NULL);
	return 0;
}

void ec_fill_fini(void)
{
	if (table == NULL)
		return;
	for (int i = 0; i < TABLE_SHARDS; i++)
		pthread_mutex_destroy(&table[i].lock);
	free(table);
	table = NULL;
}

static struct tshard *shard_of(struct ec_hash128 h)
{
	return &table[h.hi % TABLE_SHARDS];
}

static struct ec_fill **bucket_of(struct tshard *s, struct ec_hash128 h)
{
	return &s->buckets[(h.lo >> 8) % TABLE_BUCKETS];
}

/* --- references ------------------------------------------------------------ */

static struct ec_fill *fill_ref(struct ec_fill *f)
{
	atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
	return f;
}

static void fill_unref(struct ec_fill **fp)
{
	struct ec_fill *f = *fp;
	*fp = NULL;
	if (f == NULL || atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) != 1)
		return;
	EC_ASSERT(f->fetch == NULL && f->readers == NULL && !f->in_table);
	ec_cobj_drop(&f->obj);
	ec_cobj_drop(&f->stale);
	if (f->ev_cancel)
		event_free(f->ev_cancel);
	ec_site_unref(&f->site);
	ec_arena_fini(&f->arena);
	pthread_mutex_destroy(&f->lock);
	free(f->key);
	free(f->skey_buf);
	f->magic = 0;
	free(f);
}

/* Takes the fill out of the table (new requests will not find it). */
static void table_remove(struct ec_fill *f)
{
	struct tshard *s = shard_of(f->hash);
	bool was = false;
	pthread_mutex_lock(&s->lock);
	if (f->in_table) {
		for (struct ec_fill **pp = bucket_of(s, f->hash); *pp; pp = &(*pp)->tnext)
			if (*pp == f) {
				*pp = f->tnext;
				break;
			}
		f->in_table = false;
		was = true;
	}
	pthread_mutex_unlock(&s->lock);
	if (was)
		fill_unref(&f);
}

/* --- waking readers ---------------------------------------------------------- */

/* Queues `r` for a pump on its own worker (fill lock held by the caller). */
static void wake(struct ec_reader *r)
{
	struct ec_worker *w = r->wrk;
	bool signal = false;
	pthread_mutex_lock(&w->wake_lock);
	if (!r->queued) {
		r->queued = true;
		r->wnext = NULL;
		if (w->wake_tail)
			w->wake_tail->wnext = r;
		else
			w->wake_head = r;
		w->wake_tail = r;
		signal = !w->wake_signalled;
		w->wake_signalled = true;
	}
	pthread_mutex_unlock(&w->wake_lock);
	if (signal)
		ec_worker__wake_signal(w);
}

static void notify_all(struct ec_fill *f)
{
	pthread_mutex_lock(&f->lock);
	for (struct ec_reader *r = f->readers; r; r = r->next)
		wake(r);
	pthread_mutex_unlock(&f->lock);
}

/* Removes r from its worker's wake list (r's own thread). */
static void unqueue(struct ec_reader *r)
{
	struct ec_worker *w = r->wrk;
	pthread_mutex_lock(&w->wake_lock);
	if (r->queued) {
		struct ec_reader **pp = &w->wake_head, *prev = NULL;
		for (; *pp && *pp != r; pp = &(*pp)->wnext)
			prev = *pp;
		if (*pp == r) {
			*pp = r->wnext;
			if (w->wake_tail == r)
				w->wake_tail = prev;
		}
		r->queued = false;
	}
	pthread_mutex_unlock(&w->wake_lock);
}

/* --- attaching and detaching ---------------------------------------------- */

static void on_wait_timeout(evutil_socket_t fd, short what, void *arg);

/* Attaches req as a reader of f (fill lock held). */
static void attach(struct ec_fill *f, struct ec_req *req, bool writer)
{
	struct ec_reader *r = &req->cache.reader;
	unsigned retries = r->retries; /* kept across a retry */
	memset(r, 0, sizeof(*r));
	r->retries = retries;
	r->fill = fill_ref(f);
	r->wrk = req->wrk;
	r->req = req;
	r->writer = writer;
	r->whole = req->meth != EC_M_GET || ec_hdr_find(req->hdrs, req->nhdrs, "range") ||
		   ec_hdr_find(req->hdrs, req->nhdrs, "if-none-match") ||
		   ec_hdr_find(req->hdrs, req->nhdrs, "if-modified-since") ||
		   ec_hdr_find(req->hdrs, req->nhdrs, "if-match") ||
		   ec_hdr_find(req->hdrs, req->nhdrs, "if-unmodified-since");
	r->next = f->readers;
	r->prev = NULL;
	if (f->readers)
		f->readers->prev = r;
	f->readers = r;
	f->nreaders++;
	if (!writer) {
		const struct ec_config *cf = req->site->conf;
		r->ev_timer = evtimer_new(req->wrk->base, on_wait_timeout, req);
		if (r->ev_timer) {
			struct timeval tv = {(time_t)cf->wait_timeout,
					     (suseconds_t)((cf->wait_timeout - (long)cf->wait_timeout) * 1e6)};
			event_add(r->ev_timer, &tv);
		}
	}
}

void ec_fill_reader_detach(struct ec_req *req)
{
	struct ec_reader *r = &req->cache.reader;
	struct ec_fill *f = r->fill;
	if (f == NULL)
		return;
	pthread_mutex_lock(&f->lock);
	if (r->prev)
		r->prev->next = r->next;
	else
		f->readers = r->next;
	if (r->next)
		r->next->prev = r->prev;
	f->nreaders--;
	pthread_mutex_unlock(&f->lock);
	unqueue(r);
	if (r->ev_timer) {
		event_free(r->ev_timer);
		r->ev_timer = NULL;
	}
	if (r->writer && f->direct == req) {
		/* Home thread (the direct writer is the fill's own request): with
		 * nobody to relay to, a response we do not store is not worth
		 * finishing. */
		f->direct = NULL;
		if (f->fetch != NULL)
			event_active(f->ev_cancel, EV_TIMEOUT, 1);
	}
	r->fill = NULL;
	fill_unref(&f);
}

/* --- the reader's side ------------------------------------------------------ */

/* Leaves the fill and goes to the origin without coalescing. */
static void go_plain(struct ec_req *req)
{
	ec_fill_reader_detach(req);
	req->cache.predicted = true; /* no coalescing for this request */
	ec_pipeline__fetch(req);
}

static enum ec_fill_join join_as(struct ec_req *req, const struct ec_key *tk);

static void join_variant(struct ec_req *req, const struct ec_obj *obj)
{
	struct ec_reader *r = &req->cache.reader;
	const struct ec_cmeta *m = ec_obj_meta(obj);
	struct ec_hdr vary = {EC_STR("Vary"), ec_str_make(m->vary, m->vary_len)};
	size_t klen = req->cache.key.len, vlen = 0, cap = klen + 1 + 4096;
	char *tk = ec_arena_alloc(req->arena, cap);
	ec_fill_reader_detach(req);
	if (tk == NULL || r->retries++ >= MAX_RETRIES ||
	    ec_vary_key(&vary, 1, req->hdrs, req->nhdrs, tk + klen + 1, cap - klen - 1, &vlen) !=
		    EC_VARY_OK) {
		req->cache.predicted = true;
		ec_pipeline__fetch(req);
		return;
	}
	memcpy(tk, req->cache.key.p, klen);
	tk[klen] = '\0'; /* keys never hold NUL: no clash with a primary key */
	struct ec_key k = ec_key_make(tk, klen + 1 + vlen);
	req->cache.fwd = EC_CS_FWD_VARY_MISS;
	if (join_as(req, &k) != EC_FILL_JOINED) {
		req->cache.predicted = true;
		ec_pipeline__fetch(req);
	}
}

static void reader_pump(struct ec_reader *r)
{
	struct ec_fill *f = r->fill;
	struct ec_req *req = r->req;
	if (f == NULL || req->resp_done || r->direct)
		return;
	int64_t now = (int64_t)ec_worker_now(req->wrk);
	pthread_mutex_lock(&f->lock);
	enum fstate st = f->state;
	struct ec_obj *obj = f->obj;
	if (obj)
		ec_obj_ref(obj);
	bool has_length = f->has_length, revalidated = f->revalidated,
	     stale_error = f->stale_error, tee = f->tee;
	uint64_t length = f->length;
	int ostatus = f->origin_status;
	pthread_mutex_unlock(&f->lock);

	struct ec_req_cache *c = &req->cache;
	switch (st) {
	case FS_HEAD:
	case FS_INVALID:
		break;
	case FS_PASS:
		if (r->writer)
			break; /* relayed by the fill itself */
		go_plain(req);
		break;
	case FS_FAILED:
		c->stored = false;
		if (r->head_sent) {
			req->reason = "origin-body-truncated";
			ec_fill_reader_detach(req);
			req->ops->resp_abort(req);
			break;
		}
		if (r->retries++ < MAX_RETRIES) {
			/* Look again: one of the waiters becomes the new writer. */
			ec_fill_reader_detach(req);
			ec_pipeline__restart(req);
		} else {
			go_plain(req);
		}
		break;
	case FS_BODY:
	case FS_DONE: {
		if (tee && r->writer)
			break; /* relayed by the fill itself */
		if (!r->head_sent && !r->writer && !ec_cache_variant_matches(obj, req)) {
			/* The fill is for the key; its response varies and this request
			 * wants another variant: requests for that variant share a fill
			 * of their own, listed under the key and the variant. */
			join_variant(req, obj);
			break;
		}
		c->collapsed = !r->writer;
		c->stored = true;
		c->revalidated = revalidated;
		c->stale_error = stale_error;
		struct ec_cache_status cs = {
			.fwd = stale_error ? EC_CS_FWD_STALE : c->fwd ? c->fwd : EC_CS_FWD_URI_MISS,
			.fwd_status = ostatus != ec_obj_attr(obj)->status ? ostatus : 0,
			.collapsed = c->collapsed,
			.stored = !stale_error,
			.has_ttl = true,
			.ttl = ec_fresh_ttl(&((const struct ec_cmeta *)ec_obj_meta(obj))->fresh, now),
			.detail = stale_error ? EC_STR("stale-if-error") : EC_STR_NULL,
		};
		if (!r->head_sent && (r->whole || st == FS_DONE)) {
			if (r->whole && st != FS_DONE)
				break; /* ranges and preconditions need the whole object */
			r->head_sent = true;
			if (r->ev_timer)
				event_del(r->ev_timer);
			ec_fill_reader_detach(req);
			ec_cache_serve(req, obj, &cs, now);
			break;
		}
		if (!r->head_sent) {
			r->head_sent = true;
			if (r->ev_timer)
				event_del(r->ev_timer);
			ec_cache_stream_head(req, obj, &cs, has_length, length, now);
			if (req->resp_done)
				break; /* an error page: out of memory */
			if (req->meth == EC_M_HEAD) {
				ec_fill_reader_detach(req);
				req->ops->resp_end(req);
				break;
			}
		}
		uint64_t avail = ec_obj_body_len(obj);
		while (r->sent < avail && !r->congested) {
			uint64_t n = EC_MIN(avail - r->sent, (uint64_t)STREAM_STEP);
			bool more = ec_cache_send_slice(req, obj, r->sent, n);
			r->sent += n;
			if (!more)
				r->congested = true;
		}
		if (st == FS_DONE && ec_obj_is_complete(obj) && r->sent == ec_obj_body_len(obj)) {
			ec_fill_reader_detach(req);
			req->ops->resp_end(req);
		}
		break;
	}
	}
	ec_cobj_drop(&obj);
}

void ec_fill_reader_drained(struct ec_req *req)
{
	struct ec_reader *r = &req->cache.reader;
	struct ec_fill *f = r->fill;
	if (f == NULL)
		return;
	if (r->writer && f->direct == req) {
		if (f->fetch)
			ec_fetch_resume(f->fetch);
		return;
	}
	r->congested = false;
	reader_pump(r);
}

static void on_wait_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct ec_req *req = arg;
	EC_CHECK_MAGIC(req, EC_REQ_MAGIC);
	struct ec_reader *r = &req->cache.reader;
	if (r->fill == NULL || r->head_sent)
		return;
	ec_log_warn("cache: gave up waiting for another request's fetch of %.*s after %.1fs",
		    (int)EC_MIN(req->cache.key.len, (size_t)200), req->cache.key.p,
		    req->site->conf->wait_timeout);
	go_plain(req);
}

void ec_fill__worker_wake(struct ec_worker *w)
{
	pthread_mutex_lock(&w->wake_lock);
	struct ec_reader *list = w->wake_head;
	w->wake_head = w->wake_tail = NULL;
	w->wake_signalled = false;
	for (struct ec_reader *r = list; r; r = r->wnext)
		r->queued = false;
	pthread_mutex_unlock(&w->wake_lock);
	/* Pumping may detach a reader (it then stays valid: its request lives
	 * until the transport finishes it, later), so take `next` first. */
	for (struct ec_reader *r = list, *next; r; r = next) {
		next = r->wnext;
		reader_pump(r);
	}
}

/* --- the fill's side (home thread) ------------------------------------------- */

static void fill_cctx(struct ec_fill *f, struct ec_cctx *cx)
{
	*cx = (struct ec_cctx){
		.site = f->site,
		.arena = &f->arena,
		.key = &f->skey,
		.freq = &f->freq,
		.rh = f->rh,
		.nrh = f->nrh,
		.t_request = f->t_request,
		.max_size = f->max_size,
		.learn = f->site->conf->learn_freshness ? f->home->learn : NULL,
	};
}

static void set_state(struct ec_fill *f, enum fstate st, struct ec_obj **obj)
{
	pthread_mutex_lock(&f->lock);
	f->state = st;
	if (obj != NULL) {
		ec_cobj_drop(&f->obj);
		f->obj = *obj;
		*obj = NULL;
	}
	pthread_mutex_unlock(&f->lock);
}

static void home_unlink(struct ec_fill *f)
{
	struct ec_worker *w = f->home;
	if (f->hprev)
		f->hprev->hnext = f->hnext;
	else if (w->fills == f)
		w->fills = f->hnext;
	if (f->hnext)
		f->hnext->hprev = f->hprev;
	f->hnext = f->hprev = NULL;
}

/* The fetch is over (done, failed or cancelled): drop its reference. */
static void fetch_gone(struct ec_fill *f)
{
	f->fetch = NULL;
	home_unlink(f);
	fill_unref(&f);
}

static struct ec_fill *fill_of(void *owner)
{
	struct ec_fill *f = owner;
	EC_CHECK_MAGIC(f, FILL_MAGIC);
	return f;
}

static bool stale_usable(struct ec_fill *f)
{
	return f->stale != NULL && f->serve_on_error;
}

/* Serve the stale object to every reader instead of an origin failure. */
static void serve_stale(struct ec_fill *f, int status)
{
	struct ec_obj *s = f->stale;
	ec_obj_ref(s);
	pthread_mutex_lock(&f->lock);
	f->stale_error = true;
	f->origin_status = status;
	pthread_mutex_unlock(&f->lock);
	set_state(f, FS_DONE, &s);
	EC_STAT_INC(&f->home->stats, stale_error_served);
	table_remove(f);
	notify_all(f);
}

static void f_head(void *owner, struct ec_fetch *fe, const struct ec_h1_resp *oresp)
{
	struct ec_fill *f = fill_of(owner);
	struct ec_worker *w = f->home;
	int64_t now = (int64_t)ec_worker_now(w);
	struct ec_cctx cx;
	fill_cctx(f, &cx);
	pthread_mutex_lock(&f->lock);
	f->origin_status = oresp->status;
	struct ec_req *wr = NULL;
	for (struct ec_reader *r = f->readers; r; r = r->next)
		if (r->writer && r->wrk == w)
			wr = r->req;
	pthread_mutex_unlock(&f->lock);
	if (wr != NULL) {
		/* The writer's access-log line names the origin exchange. */
		wr->backend = ec_fetch_backend(fe);
		wr->origin_time = ec_time_now() - wr->t_origin;
	}

	if (oresp->status == 200 || (f->stale != NULL && oresp->status == 304))
		ec_cobj_learn(&cx, oresp, oresp->status == 304, now);
	if (f->stale != NULL && oresp->status == 304) {
		bool inapplicable = false;
		struct ec_obj *obj = ec_cobj_freshen(&cx, f->stale, oresp, now, &inapplicable);
		if (inapplicable)
			ec_tiers_remove(w, f->stale);
		if (obj == NULL) {
			set_state(f, FS_FAILED, NULL);
		} else {
			ec_tiers_insert(w, obj, now);
			pthread_mutex_lock(&f->lock);
			f->revalidated = true;
			pthread_mutex_unlock(&f->lock);
			set_state(f, FS_DONE, &obj);
		}
		f->discard = true;
		table_remove(f);
		notify_all(f);
		return;
	}
	if (oresp->status >= 500 && stale_usable(f)) {
		f->discard = true;
		serve_stale(f, oresp->status);
		return;
	}
	struct ec_obj *obj = ec_cobj_start(&cx, oresp, now, &f->detail);
	if (obj != NULL) {
		bool known = oresp->framing == EC_H1_BODY_LENGTH;
		pthread_mutex_lock(&f->lock);
		f->has_length = known;
		f->length = oresp->content_length;
		/* Without a length the object may outgrow the store mid-way: the
		 * writer is relayed directly (it never depends on the object) and
		 * waiters take the object once it is complete. */
		f->tee = !known;
		pthread_mutex_unlock(&f->lock);
		if (w->predict)
			ec_predict_clear(w->predict, f->skey.hash.lo);
		set_state(f, FS_BODY, &obj);
		notify_all(f);
		if (known)
			return;
	} else {
		/* Not storable: remember (a definite verdict, not an error), release
		 * the waiters, relay to the writer as a plain miss. */
		if (w->predict && oresp->status < 500)
			ec_predict_mark(w->predict, f->skey.hash.lo, now);
		set_state(f, FS_PASS, NULL);
		table_remove(f);
		notify_all(f);
	}
	if (wr == NULL) {
		if (f->tee)
			return; /* a refresh, or the writer left: fill the object alone */
		f->discard = true; /* nobody to relay to: cancel soon */
		event_active(f->ev_cancel, EV_TIMEOUT, 1);
		return;
	}
	f->direct = wr;
	wr->cache.reader.direct = true;
	wr->cache.candidate = false; /* the fill has the object, if any */
	wr->cache.detail = f->detail;
	wr->cache.stored = f->tee;
	struct ec_resp resp;
	if (ec_cache_on_head(wr, oresp, &resp) == EC_CACHE_HEAD_RELAY) {
		wr->ops->resp_head(wr, &resp);
	} else {
		wr->reason = "no-memory";
		ec_pipeline_respond_error(wr, 503, "out of memory", true);
	}
}

static bool f_body(void *owner, struct ec_fetch *fe, struct evbuffer *data)
{
	struct ec_fill *f = fill_of(owner);
	if (f->discard) {
		evbuffer_drain(data, evbuffer_get_length(data));
		return true;
	}
	if (f->state == FS_BODY) {
		struct ec_cctx cx;
		fill_cctx(f, &cx);
		if (!ec_cobj_append(&cx, f->obj, data, f->has_length, &f->detail)) {
			/* Too large after all, or no memory: no object. Readers that
			 * stream it are cut; the directly relayed writer is not. */
			set_state(f, FS_FAILED, NULL);
			pthread_mutex_lock(&f->lock);
			ec_cobj_drop(&f->obj);
			pthread_mutex_unlock(&f->lock);
			table_remove(f);
			notify_all(f);
			if (f->direct == NULL) {
				f->discard = true;
				event_active(f->ev_cancel, EV_TIMEOUT, 1);
			} else {
				f->direct->cache.stored = false;
			}
		} else {
			notify_all(f);
		}
	}
	struct ec_req *wr = f->direct;
	if (wr != NULL && !wr->resp_done) {
		ec_cache_on_body(wr, data);
		if (evbuffer_get_length(data) == 0)
			return true;
		return wr->ops->resp_body(wr, data);
	}
	evbuffer_drain(data, evbuffer_get_length(data));
	if (f->state == FS_PASS || f->state == FS_FAILED)
		return false; /* nobody left: pause; the cancel event ends it */
	return true;
}

static void f_done(void *owner, struct ec_fetch *fe)
{
	struct ec_fill *f = fill_of(owner);
	struct ec_worker *w = f->home;
	if (f->state == FS_BODY) {
		struct ec_obj *obj = f->obj;
		ec_obj_finish(obj);
		/* Stored if admitted; readers stream from it either way. */
		ec_tiers_insert(w, obj, (int64_t)ec_worker_now(w));
		set_state(f, FS_DONE, NULL);
		table_remove(f);
		notify_all(f);
	}
	if (f->direct != NULL && !f->direct->resp_done)
		f->direct->ops->resp_end(f->direct);
	fetch_gone(f);
}

static void f_error(void *owner, struct ec_fetch *fe, enum ec_fetch_err err, bool head_seen)
{
	struct ec_fill *f = fill_of(owner);
	if (f->direct != NULL) {
		struct ec_req *wr = f->direct;
		if (f->state == FS_BODY) {
			pthread_mutex_lock(&f->lock);
			ec_cobj_drop(&f->obj);
			pthread_mutex_unlock(&f->lock);
			set_state(f, FS_FAILED, NULL);
			table_remove(f);
			notify_all(f);
		}
		ec_pipeline__fetch_error(wr, err);
	} else if (f->state == FS_HEAD && stale_usable(f) && err != EC_FETCH_E_CLIENT_BODY) {
		serve_stale(f, ec_fetch_err_status(err));
	} else if (f->state == FS_HEAD || f->state == FS_BODY) {
		pthread_mutex_lock(&f->lock);
		f->origin_status = ec_fetch_err_status(err);
		ec_cobj_drop(&f->obj);
		pthread_mutex_unlock(&f->lock);
		set_state(f, FS_FAILED, NULL);
		table_remove(f);
		/* A lone writer gets the error page directly, as a plain miss would. */
		struct ec_req *wr = NULL;
		pthread_mutex_lock(&f->lock);
		if (f->nreaders == 1 && f->readers->writer && !f->readers->head_sent &&
		    f->readers->wrk == f->home)
			wr = f->readers->req;
		pthread_mutex_unlock(&f->lock);
		if (wr != NULL) {
			ec_fill_reader_detach(wr);
			ec_pipeline__fetch_error(wr, err);
		} else {
			notify_all(f);
		}
	}
	fetch_gone(f);
}

static long f_body_pull(void *owner, struct evbuffer *dst, size_t max, bool *done)
{
	*done = true; /* coalesced requests are GETs without a body */
	return 0;
}

static const struct ec_fetch_ops fill_ops = {
	.head = f_head,
	.body = f_body,
	.done = f_done,
	.error = f_error,
	.body_pull = f_body_pull,
};

static void on_cancel(evutil_socket_t fd, short what, void *arg)
{
	struct ec_fill *f = fill_of(arg);
	/* Only a response nobody will get is cut short: a pass with no client
	 * left, or an object abandoned as too large. */
	bool unwanted = f->direct == NULL && (f->state == FS_PASS || f->state == FS_FAILED);
	if (f->fetch == NULL || !unwanted)
		return;
	ec_fetch_cancel(&f->fetch);
	if (f->state == FS_HEAD || f->state == FS_BODY) {
		set_state(f, FS_FAILED, NULL);
		table_remove(f);
		notify_all(f);
	}
	fetch_gone(f);
}

/* --- creating fills ----------------------------------------------------------- */

/* Copies what the fill needs of the request that starts it. */
static struct ec_fill *fill_new(struct ec_req *req, struct ec_obj *stale, bool serve_on_error,
			       const struct ec_key *tkey)
{
	struct ec_fill *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return NULL;
	f->magic = FILL_MAGIC;
	atomic_init(&f->refs, 1);
	pthread_mutex_init(&f->lock, NULL);
	ec_arena_init(&f->arena);
	f->key = malloc(tkey->len ? tkey->len : 1);
	f->skey_buf = malloc(req->cache.key.len ? req->cache.key.len : 1);
	f->rh = ec_arena_alloc(&f->arena, (req->nhdrs + 1) * sizeof(*f->rh));
	f->ev_cancel = event_new(req->wrk->base, -1, 0, on_cancel, f);
	if (f->key == NULL || f->skey_buf == NULL || f->rh == NULL || f->ev_cancel == NULL) {
		fill_unref(&f);
		return NULL;
	}
	memcpy(f->key, tkey->p, tkey->len);
	f->key_len = tkey->len;
	f->hash = tkey->hash;
	memcpy(f->skey_buf, req->cache.key.p, req->cache.key.len);
	f->skey = ec_key_make(f->skey_buf, req->cache.key.len);
	for (unsigned i = 0; i < req->nhdrs; i++) {
		f->rh[i].name = ec_arena_strdup(&f->arena, req->hdrs[i].name);
		f->rh[i].value = ec_arena_strdup(&f->arena, req->hdrs[i].value);
	}
	f->nrh = req->nhdrs;
	/* A fill always fetches a GET (a HEAD miss is fetched as one). */
	ec_fresh_req_parse(EC_M_GET, f->rh, f->nrh, &f->freq);
	f->t_request = req->cache.t_request;
	f->max_size = req->cache.max_size;
	f->site = ec_site_ref(req->site);
	f->home = req->wrk;
	f->t_start = ec_worker_now(req->wrk);
	f->state = FS_HEAD;
	if (stale) {
		ec_obj_ref(stale);
		f->stale = stale;
	}
	f->serve_on_error = serve_on_error;
	return f;
}

/* Starts the origin fetch of a new fill (home thread, no locks held). */
static bool fill_start_fetch(struct ec_fill *f, struct ec_req *req)
{
	struct ec_worker *w = req->wrk;
	uint32_t hash;
	unsigned first = ec_pipeline__route(req, &hash);
	const struct ec_backend *b = &req->site->backends[first];
	struct ec_hdr extra[2];
	unsigned nextra = 0, flags = EC_FWD_SKIP_COND | EC_FWD_SKIP_RANGE | EC_FWD_AS_GET;
	if (f->stale != NULL) {
		struct ec_hdr *stored;
		int ns = ec_cobj_fields(&f->arena, f->stale, &stored);
		if (ns > 0)
			nextra = (unsigned)ec_cond_revalidation(stored, (size_t)ns, extra);
	}
	size_t len = ec_forward_request_head(req, b, extra, nextra, flags, w->scratch);
	if (len == 0)
		return false;
	struct ec_fetch_req fr = {
		.head = (const char *)evbuffer_pullup(w->scratch, (ssize_t)len),
		.head_len = len,
		.meth = EC_M_GET,
		.idempotent = true,
		.lb_hash = hash,
	};
	fill_ref(f); /* the fetch's */
	f->fetch = ec_fetch_start(w, req->site, first, &fr, &fill_ops, f);
	evbuffer_drain(w->scratch, len);
	if (f->fetch == NULL) {
		fill_unref(&f);
		return false;
	}
	req->backend = b;
	req->t_origin = ec_time_now();
	f->hnext = w->fills;
	f->hprev = NULL;
	if (w->fills)
		w->fills->hprev = f;
	w->fills = f;
	EC_STAT_INC(&w->stats, cache_fills);
	return true;
}

/* Finds the fill for the key (shard lock held). */
static struct ec_fill *table_find(struct tshard *s, const struct ec_key *k)
{
	for (struct ec_fill *f = *bucket_of(s, k->hash); f; f = f->tnext)
		if (f->hash.lo == k->hash.lo && f->hash.hi == k->hash.hi && f->key_len == k->len &&
		    memcmp(f->key, k->p, k->len) == 0)
			return f;
	return NULL;
}

static void table_insert(struct tshard *s, struct ec_fill *f)
{
	struct ec_fill **b = bucket_of(s, f->hash);
	f->tnext = *b;
	*b = fill_ref(f);
	f->in_table = true;
}

/* Takes a dangling fill out of the table (shard lock held). */
static void table_unlink_locked(struct tshard *s, struct ec_fill *f)
{
	for (struct ec_fill **pp = bucket_of(s, f->hash); *pp; pp = &(*pp)->tnext)
		if (*pp == f) {
			*pp = f->tnext;
			break;
		}
	f->in_table = false;
}

/* Joins or starts the fill listed under table key `tk`. */
static enum ec_fill_join join_as(struct ec_req *req, const struct ec_key *tk)
{
	struct ec_req_cache *c = &req->cache;
	struct ec_worker *w = req->wrk;
	const struct ec_config *cf = req->site->conf;
	struct tshard *s = shard_of(tk->hash);
	struct ec_fill *dangling = NULL;

	pthread_mutex_lock(&s->lock);
	struct ec_fill *f = table_find(s, tk);
	bool aged = false;
	if (f != NULL) {
		pthread_mutex_lock(&f->lock);
		aged = f->state == FS_HEAD && ec_worker_now(w) - f->t_start > cf->lock_timeout;
		pthread_mutex_unlock(&f->lock);
	}
	if (aged) {
		/* The writer has held the key too long (Pingora's AgeTimeout): the
		 * old fill goes on for its readers; this request starts anew. */
		table_unlink_locked(s, f);
		dangling = f;
		f = NULL;
	}
	if (f != NULL) {
		pthread_mutex_lock(&f->lock);
		attach(f, req, false);
		pthread_mutex_unlock(&f->lock);
		pthread_mutex_unlock(&s->lock);
		fill_unref(&dangling);
		EC_STAT_INC(&w->stats, cache_coalesced);
		c->collapsed = true;
		ec_cobj_drop(&c->stale); /* the fill has its own candidate */
		reader_pump(&c->reader); /* already answered, or streaming */
		return EC_FILL_JOINED;
	}
	f = fill_new(req, c->stale, c->serve_on_error, tk);
	if (f == NULL) {
		pthread_mutex_unlock(&s->lock);
		fill_unref(&dangling);
		return EC_FILL_BYPASS;
	}
	table_insert(s, f);
	pthread_mutex_lock(&f->lock);
	attach(f, req, true);
	pthread_mutex_unlock(&f->lock);
	pthread_mutex_unlock(&s->lock);
	if (dangling != NULL) {
		ec_log_warn("cache: a fetch of %.*s held the key over cache.lock_timeout (%.1fs)",
			    (int)EC_MIN(c->key.len, (size_t)200), c->key.p, cf->lock_timeout);
		fill_unref(&dangling);
	}
	ec_cobj_drop(&c->stale); /* the fill took its own reference */
	if (!fill_start_fetch(f, req)) {
		set_state(f, FS_FAILED, NULL);
		table_remove(f);
		ec_fill_reader_detach(req);
		fill_unref(&f);
		return EC_FILL_BYPASS;
	}
	fill_unref(&f); /* creation's reference: the table, fetch and reader hold theirs */
	return EC_FILL_JOINED;
}

enum ec_fill_join ec_fill_join(struct ec_req *req)
{
	return join_as(req, &req->cache.skey);
}

void ec_fill_refresh(struct ec_req *req, struct ec_obj *stale)
{
	struct ec_req_cache *c = &req->cache;
	struct tshard *s = shard_of(c->skey.hash);
	pthread_mutex_lock(&s->lock);
	if (table_find(s, &c->skey) != NULL) {
		pthread_mutex_unlock(&s->lock);
		return; /* a refresh (or a fill) is already running */
	}
	struct ec_fill *f = fill_new(req, stale, false, &c->skey);
	if (f == NULL) {
		pthread_mutex_unlock(&s->lock);
		return;
	}
	table_insert(s, f);
	pthread_mutex_unlock(&s->lock);
	if (req->cache.refresh_ahead)
		EC_STAT_INC(&req->wrk->stats, cache_refresh_ahead);
	else
		EC_STAT_INC(&req->wrk->stats, cache_swr_served);
	if (!fill_start_fetch(f, req)) {
		set_state(f, FS_FAILED, NULL);
		table_remove(f);
	}
	fill_unref(&f);
}

void ec_fill__worker_exit(struct ec_worker *w)
{
	while (w->fills != NULL) {
		struct ec_fill *f = w->fills;
		if (f->fetch != NULL)
			ec_fetch_cancel(&f->fetch);
		set_state(f, FS_FAILED, NULL);
		table_remove(f);
		notify_all(f);
		fetch_gone(f);
	}
}
