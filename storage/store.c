/*
 * storage/store.c — the memory tier: the sharded index (hash -> objhead ->
 * variants), lookup, insert with TinyLFU admission, purge, iteration, stats,
 * and the queue plumbing the eviction policies share.
 *
 * Locks (see ec_store.h): a mutex per shard, cache-line aligned, guards the
 * shard's chained hash table of objheads, the variant lists, the shard's
 * slice of the TinyLFU sketch and its lookup counters; the eviction mutex
 * guards the queues, the ghost, the byte and object counts and the insert
 * counters. Order: eviction lock, then one shard lock. A lookup takes only its
 * shard lock (LRU also takes the eviction lock afterwards, to reorder).
 *
 * Why a mutex and not a rwlock per shard: a hit writes (sketch, counters,
 * refcount), and a rwlock's read side is an atomic RMW on a shared word too,
 * so it would buy nothing but a slower uncontended path.
 *
 * Why the sketch is per shard: its counters are then written under a lock the
 * hit already holds, in lines that shard's lookups already own, instead of a
 * global table every thread's hits bounce between cores. A key always maps to
 * the same shard, so a per-shard sketch is exactly a global sketch whose
 * width is partitioned by hash, sized and aged per shard (W / shards).
 *
 * Ownership: an object in the store carries two store references, one for
 * the index (dropped by whoever unlinks it from its objhead, under the shard
 * lock) and one for its queue (dropped by whoever dequeues it for good, under
 * the eviction lock). Each path checks the link it owns (o->oh, o->queue)
 * under the matching lock, so a purge racing an eviction of the same object
 * drops each reference exactly once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "storage/store_priv.h"

#define BUCKETS_MIN   16u
#define SHARDS_DEF    64u
#define SHARDS_MAX    4096u
#define AVG_OBJ_DEF   (8u * 1024u)
#define CAPACITY_MIN  (64u * 1024u)
#define SMALL_PERCENT 10u

const char *ec_insert_rc_str(enum ec_insert_rc rc)
{
	switch (rc) {
#define X(sym, str)                                                                                \
	case EC_INSERT_##sym:                                                                      \
		return str;
		EC_INSERT_RC_TABLE(X)
#undef X
	case EC_INSERT_INVALID:
		break;
	}
	return "invalid";
}

/* --- queues (eviction lock held) ---------------------------------------- */

void ec_evict__q_push_head(struct ec_evict *ev, enum ec_obj_queue qi, struct ec_obj *o)
{
	struct ec_evict_q *q = &ev->q[qi];

	ec_evict__assert_held(ev);
	EC_ASSERT(atomic_load_explicit(&o->queue, memory_order_relaxed) == EC_OQ_NONE);
	o->q_prev = NULL;
	o->q_next = q->head;
	if (q->head != NULL)
		q->head->q_prev = o;
	else
		q->tail = o;
	q->head = o;
	q->bytes += o->charge;
	q->count++;
	atomic_store_explicit(&o->queue, (uint8_t)qi, memory_order_relaxed);
}

void ec_evict__q_push_tail(struct ec_evict *ev, enum ec_obj_queue qi, struct ec_obj *o)
{
	struct ec_evict_q *q = &ev->q[qi];

	ec_evict__assert_held(ev);
	EC_ASSERT(atomic_load_explicit(&o->queue, memory_order_relaxed) == EC_OQ_NONE);
	o->q_next = NULL;
	o->q_prev = q->tail;
	if (q->tail != NULL)
		q->tail->q_next = o;
	else
		q->head = o;
	q->tail = o;
	q->bytes += o->charge;
	q->count++;
	atomic_store_explicit(&o->queue, (uint8_t)qi, memory_order_relaxed);
}

void ec_evict__q_unlink(struct ec_evict *ev, struct ec_obj *o)
{
	enum ec_obj_queue qi = atomic_load_explicit(&o->queue, memory_order_relaxed);
	struct ec_evict_q *q;

	ec_evict__assert_held(ev);
	EC_ASSERT(qi > EC_OQ_NONE && qi <= EC_OQ_LRU);
	q = &ev->q[qi];
	if (o->q_prev != NULL)
		o->q_prev->q_next = o->q_next;
	else
		q->head = o->q_next;
	if (o->q_next != NULL)
		o->q_next->q_prev = o->q_prev;
	else
		q->tail = o->q_prev;
	o->q_prev = o->q_next = NULL;
	EC_ASSERT(q->count > 0 && q->bytes >= o->charge);
	q->bytes -= o->charge;
	q->count--;
	atomic_store_explicit(&o->queue, EC_OQ_NONE, memory_order_relaxed);
}

struct ec_obj *ec_evict__q_pop_tail(struct ec_evict *ev, enum ec_obj_queue qi)
{
	struct ec_obj *o = ev->q[qi].tail;

	if (o != NULL)
		ec_evict__q_unlink(ev, o);
	return o;
}

/* --- shards and objheads (shard lock held) -------------------------------- */

static struct ec_shard *shard_of(const struct ec_store *st, struct ec_hash128 h)
{
	size_t i = st->nshards == 1 ? 0 : (size_t)(h.hi >> st->shard_shift);
	return &st->shards[i];
}

static void shard_lock(struct ec_shard *sh)
{
	EC_AZ(pthread_mutex_lock(&sh->lock));
	sh->owner = pthread_self();
}

static void shard_assert_held(const struct ec_shard *sh)
{
	EC_ASSERT(pthread_equal(sh->owner, pthread_self()));
}

static void shard_unlock(struct ec_shard *sh)
{
	shard_assert_held(sh);
	sh->owner = (pthread_t)0;
	EC_AZ(pthread_mutex_unlock(&sh->lock));
}

static void evict_lock(struct ec_evict *ev)
{
	EC_AZ(pthread_mutex_lock(&ev->lock));
	ev->owner = pthread_self();
}

static void evict_unlock(struct ec_evict *ev)
{
	ec_evict__assert_held(ev);
	ev->owner = (pthread_t)0;
	EC_AZ(pthread_mutex_unlock(&ev->lock));
}

static bool hash_eq(struct ec_hash128 a, struct ec_hash128 b)
{
	return a.lo == b.lo && a.hi == b.hi;
}

/* The objhead of (hash, key) and the link that points to it, or NULL. */
static struct ec_objhead *oh_find(struct ec_shard *sh, struct ec_hash128 h, const char *key,
                                  size_t len, struct ec_objhead ***linkp)
{
	struct ec_objhead **pp = &sh->buckets[h.lo & sh->mask];

	shard_assert_held(sh);
	for (; *pp != NULL; pp = &(*pp)->next) {
		struct ec_objhead *oh = *pp;

		EC_CHECK_MAGIC(oh, EC_OBJHEAD_MAGIC);
		/* The hash picks the candidates; the key string decides (collisions). */
		if (hash_eq(oh->hash, h) && oh->key_len == len && memcmp(oh->key, key, len) == 0) {
			if (linkp != NULL)
				*linkp = pp;
			return oh;
		}
	}
	return NULL;
}

static struct ec_objhead *oh_new(const struct ec_obj *o)
{
	struct ec_objhead *oh = aligned_alloc(EC_CACHELINE, ec_obj__objhead_size(o->key_len));

	if (oh == NULL)
		return NULL;
	memset(oh, 0, sizeof(*oh));
	oh->magic = EC_OBJHEAD_MAGIC;
	oh->hash = o->hash;
	oh->key_len = o->key_len;
	memcpy(oh->key, o->key, o->key_len);
	return oh;
}

static void oh_free(struct ec_objhead *oh)
{
	EC_CHECK_MAGIC(oh, EC_OBJHEAD_MAGIC);
	EC_ASSERT(oh->variants == NULL && oh->nvariants == 0);
	oh->magic = 0;
	free(oh);
}

/*
 * Whether an objhead may leave the index. The coalescing work adds "and no
 * busy object, no waiters" here (see struct ec_objhead).
 */
static bool objhead_idle(const struct ec_objhead *oh)
{
	return oh->nvariants == 0;
}

/* Doubles the bucket array at load factor 1; on ENOMEM chains just grow. */
static void shard_grow(struct ec_shard *sh)
{
	size_t n = (sh->mask + 1) * 2;
	struct ec_objhead **nb;

	shard_assert_held(sh);
	if (sh->nheads <= sh->mask + 1)
		return;
	nb = calloc(n, sizeof(*nb));
	if (nb == NULL)
		return;
	for (size_t i = 0; i <= sh->mask; i++) {
		struct ec_objhead *oh = sh->buckets[i];
		while (oh != NULL) {
			struct ec_objhead *next = oh->next;
			size_t j = oh->hash.lo & (n - 1);
			oh->next = nb[j];
			nb[j] = oh;
			oh = next;
		}
	}
	free(sh->buckets);
	sh->buckets = nb;
	sh->mask = n - 1;
}

/* Removes o from its objhead's variant list; frees the objhead when idle. */
static void variant_unlink(struct ec_shard *sh, struct ec_obj *o)
{
	struct ec_objhead *oh = o->oh;
	struct ec_obj **pp;

	shard_assert_held(sh);
	EC_CHECK_MAGIC(oh, EC_OBJHEAD_MAGIC);
	for (pp = &oh->variants; *pp != o; pp = &(*pp)->v_next)
		EC_AN(*pp);
	*pp = o->v_next;
	o->v_next = NULL;
	o->oh = NULL;
	oh->nvariants--;
	sh->nobjs--;
	if (objhead_idle(oh)) {
		struct ec_objhead **link = NULL;
		EC_ASSERT(oh_find(sh, oh->hash, oh->key, oh->key_len, &link) == oh);
		*link = oh->next;
		sh->nheads--;
		oh_free(oh);
	}
}

/*
 * Unlinks o from the index if it is still there (shard lock taken here).
 * true when this call unlinked it: the caller then owns the index reference.
 */
static bool index_unlink(struct ec_store *st, struct ec_obj *o)
{
	struct ec_shard *sh = shard_of(st, o->hash);
	bool was = false;

	shard_lock(sh);
	if (o->oh != NULL) {
		variant_unlink(sh, o);
		was = true;
	}
	shard_unlock(sh);
	return was;
}

/* Dequeues o for good if it is queued (eviction lock held). true if it was:
 * the caller then owns the queue reference. */
static bool queue_remove(struct ec_evict *ev, struct ec_obj *o)
{
	ec_evict__assert_held(ev);
	if (atomic_load_explicit(&o->queue, memory_order_relaxed) == EC_OQ_NONE)
		return false;
	ec_evict__q_unlink(ev, o);
	EC_ASSERT(ev->used >= o->charge && ev->objects > 0);
	ev->used -= o->charge;
	ev->objects--;
	return true;
}

/* --- create / free ------------------------------------------------------- */

void ec_store_config_default(struct ec_store_config *cfg, uint64_t capacity)
{
	EC_AN(cfg);
	memset(cfg, 0, sizeof(*cfg));
	cfg->capacity = capacity;
	cfg->policy = EC_EVICT_S3FIFO;
	cfg->admission = EC_ADMIT_TINYLFU;
}

static void store_destroy(struct ec_store *st);

struct ec_store *ec_store_new(const struct ec_store_config *cfg, const char **reason)
{
	struct ec_store *st;
	uint64_t objs, per_shard;
	unsigned bits = 0;

	EC_AN(cfg);
	EC_AN(reason);
	*reason = NULL;
	if (cfg->capacity < CAPACITY_MIN) {
		*reason = "capacity below 64 KiB";
		return NULL;
	}
	if (cfg->policy != EC_EVICT_S3FIFO && cfg->policy != EC_EVICT_LRU) {
		*reason = "unknown eviction policy";
		return NULL;
	}
	if (cfg->admission != EC_ADMIT_TINYLFU && cfg->admission != EC_ADMIT_ALL) {
		*reason = "unknown admission policy";
		return NULL;
	}
	if (cfg->shards != 0 && (cfg->shards > SHARDS_MAX || (cfg->shards & (cfg->shards - 1)))) {
		*reason = "shards must be a power of two up to 4096";
		return NULL;
	}
	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		*reason = "out of memory";
		return NULL;
	}
	st->magic = EC_STORE_MAGIC;
	st->cfg = *cfg;
	if (st->cfg.shards == 0)
		st->cfg.shards = SHARDS_DEF;
	if (st->cfg.avg_obj_size == 0)
		st->cfg.avg_obj_size = AVG_OBJ_DEF;
	st->ev.capacity = cfg->capacity;
	st->ev.small_target =
	        cfg->capacity / 100 * SMALL_PERCENT + cfg->capacity % 100 * SMALL_PERCENT / 100;
	/* An object larger than the small FIFO would flush it whole (libCacheSim
	 * refuses those too); the same cap applies under LRU for comparability. */
	if (st->cfg.max_obj_size == 0 || st->cfg.max_obj_size > st->ev.small_target)
		st->cfg.max_obj_size = st->ev.small_target;
	st->nshards = st->cfg.shards;
	while ((1u << bits) < st->nshards)
		bits++;
	st->shard_shift = 64 - bits;
	st->ev.ops = cfg->policy == EC_EVICT_S3FIFO ? &ec_evict_s3fifo : &ec_evict_lru;
	EC_AZ(pthread_mutex_init(&st->ev.lock, NULL));
	for (unsigned i = EC_OQ_NONE; i <= EC_OQ_LRU; i++)
		memset(&st->ev.q[i], 0, sizeof(st->ev.q[i]));
	st->shards = aligned_alloc(EC_CACHELINE, sizeof(*st->shards) * st->nshards);
	if (st->shards == NULL) {
		free(st);
		*reason = "out of memory";
		return NULL;
	}
	memset(st->shards, 0, sizeof(*st->shards) * st->nshards);
	objs = EC_MAX(cfg->capacity / st->cfg.avg_obj_size, (uint64_t)1);
	per_shard = (objs + st->nshards - 1) / st->nshards;
	/* Every mutex first, so that store_destroy() may run from any failure. */
	for (unsigned i = 0; i < st->nshards; i++)
		EC_AZ(pthread_mutex_init(&st->shards[i].lock, NULL));
	for (unsigned i = 0; i < st->nshards; i++) {
		struct ec_shard *sh = &st->shards[i];

		sh->buckets = calloc(BUCKETS_MIN, sizeof(*sh->buckets));
		sh->mask = BUCKETS_MIN - 1;
		if (sh->buckets == NULL || (cfg->admission == EC_ADMIT_TINYLFU &&
		                            ec_sketch_init(&sh->sketch, per_shard))) {
			store_destroy(st);
			*reason = "out of memory";
			return NULL;
		}
	}
	if (st->ev.ops->init(&st->ev) != 0) {
		store_destroy(st);
		*reason = "out of memory";
		return NULL;
	}
	return st;
}

/* Frees everything; drops the store's references (objects in use survive). */
static void store_destroy(struct ec_store *st)
{
	struct ec_evict *ev = &st->ev;

	for (unsigned i = 0; i < st->nshards; i++) {
		struct ec_shard *sh = &st->shards[i];

		for (size_t b = 0; sh->buckets != NULL && b <= sh->mask; b++) {
			struct ec_objhead *oh = sh->buckets[b];
			while (oh != NULL) {
				struct ec_objhead *next = oh->next;
				while (oh->variants != NULL) {
					struct ec_obj *o = oh->variants;
					oh->variants = o->v_next;
					oh->nvariants--;
					o->v_next = NULL;
					o->oh = NULL;
					ec_obj_unref(&o); /* the index's */
				}
				oh_free(oh);
				oh = next;
			}
		}
		free(sh->buckets);
		ec_sketch_fini(&sh->sketch);
		EC_AZ(pthread_mutex_destroy(&sh->lock));
	}
	evict_lock(ev);
	for (unsigned q = EC_OQ_SMALL; q <= EC_OQ_LRU; q++) {
		struct ec_obj *o;
		while ((o = ec_evict__q_pop_tail(ev, (enum ec_obj_queue)q)) != NULL)
			ec_obj_unref(&o); /* the queue's */
	}
	evict_unlock(ev);
	if (ev->ops != NULL)
		ev->ops->fini(ev);
	free(ev->pend);
	EC_AZ(pthread_mutex_destroy(&ev->lock));
	free(st->shards);
	st->magic = 0;
	free(st);
}

void ec_store_free(struct ec_store **stp)
{
	struct ec_store *st;

	EC_AN(stp);
	st = *stp;
	*stp = NULL;
	EC_CHECK_MAGIC(st, EC_STORE_MAGIC);
	store_destroy(st);
}

uint64_t ec_store_max_obj_size(const struct ec_store *st)
{
	EC_CHECK_MAGIC(st, EC_STORE_MAGIC);
	return st->cfg.max_obj_size;
}

/* --- lookup -------------------------------------------------------------- */

bool ec_store_match_vkey(const struct ec_obj *obj, void *arg)
{
	const struct ec_str *want = arg;

	EC_AN(want);
	return ec_str_eq(ec_obj_vkey(obj), *want);
}

enum ec_lookup_rc ec_store_lookup(struct ec_store *st, const struct ec_lookup *req,
                                  struct ec_obj **objp)
{
	const struct ec_key *k;
	struct ec_shard *sh;
	struct ec_objhead *oh;
	struct ec_obj *o;
	bool peek;

	EC_CHECK_MAGIC(st, EC_STORE_MAGIC);
	EC_AN(req);
	EC_AN(objp);
	k = req->key;
	EC_AN(k);
	*objp = NULL;
	peek = (req->flags & EC_LOOKUP_PEEK) != 0;
	sh = shard_of(st, k->hash);
	shard_lock(sh);
	if (!peek) {
		sh->lookups++;
		if (st->cfg.admission == EC_ADMIT_TINYLFU)
			ec_sketch_add(&sh->sketch, k->hash);
	}
	oh = oh_find(sh, k->hash, k->p, k->len, NULL);
	if (oh == NULL) {
		if (!peek)
			sh->misses++;
		shard_unlock(sh);
		return EC_LOOKUP_MISS;
	}
	for (o = oh->variants; o != NULL; o = o->v_next)
		if (req->match == NULL || req->match(o, req->match_arg))
			break;
	if (o == NULL) {
		if (!peek)
			sh->vary_misses++;
		shard_unlock(sh);
		return EC_LOOKUP_VARY_MISS;
	}
	ec_obj_ref(o);
	if (!peek)
		sh->hits++;
	shard_unlock(sh);
	/* Our reference keeps o alive: the rest needs no lock, and keeping it
	 * out of the critical section keeps hot shards' hold times short. */
	if (!peek) {
		atomic_fetch_add_explicit(&o->hits, 1, memory_order_relaxed);
		/* Written only when it changes (once a second), not on every hit. */
		if (atomic_load_explicit(&o->last_access, memory_order_relaxed) != req->now)
			atomic_store_explicit(&o->last_access, req->now, memory_order_relaxed);
		if (st->ev.ops->hit != NULL)
			st->ev.ops->hit(o);
		if (st->ev.ops->touch != NULL) {
			evict_lock(&st->ev);
			st->ev.ops->touch(&st->ev, o);
			evict_unlock(&st->ev);
		}
	}
	*objp = o;
	return EC_LOOKUP_HIT;
}

/* --- insert -------------------------------------------------------------- */

static unsigned estimate(const struct ec_store *st, struct ec_hash128 h)
{
	return ec_sketch_estimate(&shard_of(st, h)->sketch, h);
}

static bool pend_push(struct ec_evict *ev, struct ec_obj *o, enum ec_obj_queue from)
{
	if (ev->npend == ev->pend_cap) {
		size_t n = ev->pend_cap ? ev->pend_cap * 2 : 16;
		struct ec_evict_pend *p = realloc(ev->pend, n * sizeof(*p));
		if (p == NULL)
			return false;
		ev->pend = p;
		ev->pend_cap = n;
	}
	ev->pend[ev->npend].obj = o;
	ev->pend[ev->npend].from = from;
	ev->npend++;
	return true;
}

/* Puts every pending victim back, last dequeued first, so the queues end up
 * in their original order. */
static void pend_restore(struct ec_evict *ev)
{
	while (ev->npend > 0) {
		struct ec_evict_pend *p = &ev->pend[--ev->npend];
		ev->ops->restore(ev, p->obj, p->from);
	}
}

/*
 * Dequeues victims until `need` bytes are freed. With admission, stops as soon
 * as a victim is estimated more frequent than the candidate. TinyUFO's rule
 * (tinyufo/src/lib.rs, FiFoQueues::admit): the candidate is refused when
 * `evicted_freq > new_freq`, i.e. admitted when its estimate is >= the
 * victim's. TinyUFO applies it only when exactly one victim is needed; we
 * apply it to every victim, so a large object must out-rank all it displaces
 * (identical when objects have equal sizes).
 */
static enum ec_insert_rc make_room(struct ec_store *st, uint64_t need, bool admit_check,
                                   unsigned cand_est)
{
	struct ec_evict *ev = &st->ev;
	uint64_t freed = 0;

	EC_ASSERT(ev->npend == 0);
	while (freed < need) {
		enum ec_obj_queue from = EC_OQ_INVALID;
		struct ec_obj *v = ev->ops->victim(ev, &from);

		/* Everything counted in `used` is queued or pending: a victim exists. */
		EC_AN(v);
		if (!pend_push(ev, v, from)) {
			ev->ops->restore(ev, v, from);
			pend_restore(ev);
			return EC_INSERT_NOMEM;
		}
		freed += v->charge;
		if (admit_check && estimate(st, v->hash) > cand_est) {
			pend_restore(ev);
			return EC_INSERT_REJECTED;
		}
	}
	return EC_INSERT_OK;
}

/* Evicts the pending victims for good. Returns them chained by q_next, each
 * still carrying its queue reference, for the caller to drop unlocked. */
static struct ec_obj *pend_commit(struct ec_store *st)
{
	struct ec_evict *ev = &st->ev;
	struct ec_obj *list = NULL;

	for (size_t i = 0; i < ev->npend; i++) {
		struct ec_obj *v = ev->pend[i].obj;

		ev->ops->evicted(ev, v, ev->pend[i].from);
		EC_ASSERT(ev->used >= v->charge && ev->objects > 0);
		ev->used -= v->charge;
		ev->objects--;
		ev->evictions++;
		if (index_unlink(st, v)) {
			struct ec_obj *ref = v;
			ec_obj_unref(&ref); /* the index's; the queue's is still held */
		}
		v->q_next = list;
		list = v;
	}
	ev->npend = 0;
	return list;
}

static struct ec_obj *variant_by_vkey(const struct ec_objhead *oh, const struct ec_obj *o)
{
	for (struct ec_obj *v = oh->variants; v != NULL; v = v->v_next)
		if (v != o && v->vkey_len == o->vkey_len &&
		    memcmp(v->vkey, o->vkey, o->vkey_len) == 0)
			return v;
	return NULL;
}

enum ec_insert_rc ec_store_insert(struct ec_store *st, struct ec_obj *o)
{
	struct ec_evict *ev = &st->ev;
	struct ec_shard *sh;
	struct ec_objhead *oh, *spare;
	struct ec_obj *old = NULL, *victims = NULL;
	bool old_dequeued = false, old_unlinked = false;
	enum ec_insert_rc rc;
	uint64_t charge, need;

	EC_CHECK_MAGIC(st, EC_STORE_MAGIC);
	ec_obj__check(o);
	EC_ASSERT(atomic_load_explicit(&o->state, memory_order_acquire) == EC_OS_COMPLETE);
	charge = ec_obj_charge(o);
	if (charge > st->cfg.max_obj_size) {
		evict_lock(ev);
		ev->rejected_too_big++;
		evict_unlock(ev);
		return EC_INSERT_TOO_BIG;
	}
	/* Allocated before the locks; freed below if the key already has one. */
	spare = oh_new(o);
	if (spare == NULL) {
		evict_lock(ev);
		ev->rejected_nomem++;
		evict_unlock(ev);
		return EC_INSERT_NOMEM;
	}
	o->charge = charge; /* the queues count it from here */
	sh = shard_of(st, o->hash);

	evict_lock(ev);
	/* A stored variant with the same secondary key is replaced. */
	shard_lock(sh);
	oh = oh_find(sh, o->hash, o->key, o->key_len, NULL);
	if (oh != NULL && (old = variant_by_vkey(oh, o)) != NULL)
		ec_obj_ref(old);
	shard_unlock(sh);
	if (old != NULL)
		old_dequeued = queue_remove(ev, old); /* so it cannot be picked as a victim */

	need = ev->used + charge > ev->capacity ? ev->used + charge - ev->capacity : 0;
	rc = make_room(st, need, old == NULL && st->cfg.admission == EC_ADMIT_TINYLFU,
	               old == NULL && st->cfg.admission == EC_ADMIT_TINYLFU ? estimate(st, o->hash)
	                                                                    : 0);
	if (rc != EC_INSERT_OK) {
		if (rc == EC_INSERT_REJECTED)
			ev->rejected_admission++;
		else
			ev->rejected_nomem++;
		/* A replacement that fails leaves no stale variant behind. */
		if (old != NULL)
			old_unlinked = index_unlink(st, old);
		evict_unlock(ev);
		goto out;
	}
	victims = pend_commit(st);

	ec_obj__publish(o, charge);
	shard_lock(sh);
	oh = oh_find(sh, o->hash, o->key, o->key_len, NULL);
	if (oh == NULL) {
		struct ec_objhead **bucket = &sh->buckets[o->hash.lo & sh->mask];
		oh = spare;
		spare = NULL;
		oh->next = *bucket;
		*bucket = oh;
		sh->nheads++;
		shard_grow(sh);
	}
	ec_obj_ref(o); /* the index's */
	o->oh = oh;
	o->v_next = oh->variants;
	oh->variants = o;
	oh->nvariants++;
	sh->nobjs++;
	/* After linking o, so that oh never goes idle here. */
	if (old != NULL && old->oh == oh) { /* not purged meanwhile */
		variant_unlink(sh, old);
		old_unlinked = true;
	}
	shard_unlock(sh);

	ec_obj_ref(o); /* the queue's */
	ev->ops->push(ev, o);
	ev->used += charge;
	ev->objects++;
	ev->inserts++;
	if (old != NULL)
		ev->replaced++;
	EC_ASSERT(ev->used <= ev->capacity);
	evict_unlock(ev);

out:
	while (victims != NULL) {
		struct ec_obj *v = victims;
		victims = v->q_next;
		v->q_next = NULL;
		ec_obj_unref(&v); /* the queue's */
	}
	if (old != NULL) {
		struct ec_obj *ref;

		if (old_unlinked) {
			ref = old;
			ec_obj_unref(&ref); /* the index's */
		}
		if (old_dequeued) {
			ref = old;
			ec_obj_unref(&ref); /* the queue's */
		}
		ec_obj_unref(&old); /* ours */
	}
	free(spare);
	return rc;
}

/* --- removal ------------------------------------------------------------- */

/* Drops the store's references to objects already unlinked from the index,
 * chained by v_next. Returns how many. */
static size_t release_unlinked(struct ec_store *st, struct ec_obj *list)
{
	struct ec_evict *ev = &st->ev;
	size_t n = 0;
	struct ec_obj *o, *dq = NULL;

	evict_lock(ev);
	for (o = list; o != NULL; o = o->v_next) {
		if (queue_remove(ev, o)) {
			o->q_next = dq;
			dq = o;
		}
		ev->purged++;
	}
	evict_unlock(ev);
	while (dq != NULL) {
		o = dq;
		dq = o->q_next;
		o->q_next = NULL;
		ec_obj_unref(&o); /* the queue's */
	}
	while (list != NULL) {
		o = list;
		list = o->v_next;
		o->v_next = NULL;
		ec_obj_unref(&o); /* the index's */
		n++;
	}
	return n;
}

size_t ec_store_purge(struct ec_store *st, const struct ec_key *k, unsigned flags)
{
	struct ec_shard *sh;
	struct ec_objhead *oh, **link = NULL;
	struct ec_obj *list, *o;
	size_t n = 0;

	EC_CHECK_MAGIC(st, EC_STORE_MAGIC);
	EC_AN(k);
	sh = shard_of(st, k->hash);
	shard_lock(sh);
	oh = oh_find(sh, k->hash, k->p, k->len, &link);
	if (oh == NULL) {
		shard_unlock(sh);
		return 0;
	}
	if (flags & EC_PURGE_SOFT) {
		for (o = oh->variants; o != NULL; o = o->v_next, n++)
			ec_obj_set_flags(o, EC_OBJF_STALE);
		shard_unlock(sh);
		return n;
	}
	/* Unlink every variant; the v_next chain becomes our private list. */
	list = oh->variants;
	for (o = list; o != NULL; o = o->v_next) {
		o->oh = NULL;
		sh->nobjs--;
	}
	oh->variants = NULL;
	oh->nvariants = 0;
	if (objhead_idle(oh)) {
		*link = oh->next;
		sh->nheads--;
		oh_free(oh);
	}
	shard_unlock(sh);
	return release_unlinked(st, list);
}

bool ec_store_remove(struct ec_store *st, struct ec_obj *o)
{
	struct ec_shard *sh;
	bool was = false;

	EC_CHECK_MAGIC(st, EC_STORE_MAGIC);
	ec_obj__check(o);
	sh = shard_of(st, o->hash);
	shard_lock(sh);
	if (o->oh != NULL) {
		variant_unlink(sh, o);
		was = true;
	}
	shard_unlock(sh);
	if (was)
		(void)release_unlinked(st, o);
	return was;
}

/* --- iteration and stats -------------------------------------------------- */

int ec_store_iterate(struct ec_store *st, ec_store_iter_f *cb, void *arg)
{
	EC_CHECK_MAGIC(st, EC_STORE_MAGIC);
	EC_AN(cb);
	for (unsigned i = 0; i < st->nshards; i++) {
		struct ec_shard *sh = &st->shards[i];
		int rc = 0;

		shard_lock(sh);
		for (size_t b = 0; b <= sh->mask && rc == 0; b++)
			for (struct ec_objhead *oh = sh->buckets[b]; oh != NULL && rc == 0;
			     oh = oh->next)
				for (struct ec_obj *o = oh->variants; o != NULL && rc == 0;
				     o = o->v_next)
					rc = cb(o, arg);
		shard_unlock(sh);
		if (rc != 0)
			return rc;
	}
	return 0;
}

void ec_store_stats(struct ec_store *st, struct ec_store_stats *out)
{
	struct ec_evict *ev = &st->ev;

	EC_CHECK_MAGIC(st, EC_STORE_MAGIC);
	EC_AN(out);
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < st->nshards; i++) {
		struct ec_shard *sh = &st->shards[i];

		shard_lock(sh);
		out->lookups += sh->lookups;
		out->hits += sh->hits;
		out->misses += sh->misses;
		out->vary_misses += sh->vary_misses;
		out->sketch_halvings += sh->sketch.halvings;
		out->objheads += sh->nheads;
		shard_unlock(sh);
	}
	evict_lock(ev);
	out->inserts = ev->inserts;
	out->replaced = ev->replaced;
	out->rejected_admission = ev->rejected_admission;
	out->rejected_too_big = ev->rejected_too_big;
	out->rejected_nomem = ev->rejected_nomem;
	out->evictions = ev->evictions;
	out->purged = ev->purged;
	out->ghost_hits = ev->ghost_hits;
	out->capacity = ev->capacity;
	out->bytes = ev->used;
	out->objects = ev->objects;
	out->small_bytes = ev->q[EC_OQ_SMALL].bytes;
	out->main_bytes = ev->q[EC_OQ_MAIN].bytes + ev->q[EC_OQ_LRU].bytes;
	out->ghost_entries = ev->ghost.len;
	evict_unlock(ev);
}
