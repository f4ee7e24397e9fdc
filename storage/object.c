/*
 * storage/object.c — objects and body chunks: allocation, refcounts, the
 * writer's append path and the readers' chunk walk.
 *
 * An object is one cache-line-aligned allocation: the struct, then the meta
 * area, the key and the secondary key. The header block and each chunk are
 * separate allocations. Nothing here takes a lock: the writer is a single
 * thread by contract, readers rely on the release/acquire rule in
 * ec_object.h, and refcounts are atomics: increments relaxed, decrements
 * acq_rel so the thread that frees sees every other holder's accesses (the
 * same code as release + acquire fence on x86 and arm64, and unlike a bare
 * fence it is understood by ThreadSanitizer).
 *
 * Live counters (ec_obj_live/ec_chunk_live) are process-wide relaxed atomics
 * touched on allocation and free only, never on a hit.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "storage/store_priv.h"

#define VEC_MIN      4u
#define VEC_HINT_MAX 256u /* slots preallocated from a (peer-supplied) size hint */
#define VEC_INLINE   8u   /* at most this many slots live inside the object */
#define LIVE_SLOTS   64u

/*
 * Live counters, spread over per-thread-ish slots (a thread picks one on first
 * use) so that threads allocating at once do not bounce one cache line. A
 * slot may go negative (freed on another thread); the sum is exact.
 */
struct live_slot {
	_Alignas(EC_CACHELINE) _Atomic long objs;
	_Atomic long chunks;
};
static struct live_slot live[LIVE_SLOTS];
static _Atomic unsigned live_next;
static _Thread_local struct live_slot *live_mine;

static struct live_slot *my_live(void)
{
	if (live_mine == NULL)
		live_mine = &live[atomic_fetch_add_explicit(&live_next, 1, memory_order_relaxed) %
		                  LIVE_SLOTS];
	return live_mine;
}

struct ec_hash128 ec_store_hash(const void *p, size_t len)
{
	XXH128_hash_t h = XXH3_128bits(p, len);
	struct ec_hash128 r = {h.low64, h.high64};
	return r;
}

struct ec_key ec_key_make(const char *p, size_t len)
{
	struct ec_key k;

	k.hash = ec_store_hash(p, len);
	k.p = p;
	k.len = len;
	return k;
}

static size_t round_up(size_t v, size_t a)
{
	return (v + a - 1) / a * a;
}

struct ec_obj *ec_obj_new(const struct ec_obj_init *init)
{
	const struct ec_key *k;
	struct ec_obj *o;
	size_t off_meta, off_key, off_vkey, off_vec, size;
	uint64_t nslots;

	EC_AN(init);
	k = init->key;
	EC_AN(k);
	EC_ASSERT(k->p != NULL || k->len == 0);
	EC_ASSERT(init->vkey != NULL || init->vkey_len == 0);
	if (k->len > EC_KEY_MAX || init->vkey_len > EC_KEY_MAX || init->meta_len > EC_KEY_MAX) {
		errno = EINVAL;
		return NULL;
	}
	/* Room for the chunk array inside the object: saves an allocation for
	 * bodies of up to VEC_INLINE chunks (all of them when the size is known). */
	nslots = init->body_hint ? (init->body_hint + EC_CHUNK_MAX - 1) / EC_CHUNK_MAX : 2;
	nslots = EC_MIN(EC_MAX(nslots, (uint64_t)1), (uint64_t)VEC_INLINE);
	off_meta = round_up(sizeof(*o), 16);
	off_key = off_meta + round_up(init->meta_len, 16);
	off_vkey = off_key + k->len;
	off_vec = round_up(off_vkey + init->vkey_len, sizeof(void *));
	size = round_up(off_vec + sizeof(struct ec_chunkvec) + (size_t)nslots * sizeof(void *),
	                EC_CACHELINE);
	o = aligned_alloc(EC_CACHELINE, size);
	if (o == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	memset(o, 0, off_key);
	o->magic = EC_OBJ_MAGIC;
	atomic_init(&o->state, EC_OS_BUILDING);
	o->hash = k->hash;
	o->meta = (unsigned char *)o + off_meta;
	o->meta_len = (uint32_t)init->meta_len;
	o->key = (char *)o + off_key;
	o->key_len = (uint32_t)k->len;
	if (k->len)
		memcpy(o->key, k->p, k->len);
	o->vkey = (unsigned char *)o + off_vkey;
	o->vkey_len = (uint32_t)init->vkey_len;
	if (init->vkey_len)
		memcpy(o->vkey, init->vkey, init->vkey_len);
	o->mem = size;
	o->body_hint = init->body_hint;
	o->vec_inline = (struct ec_chunkvec *)((unsigned char *)o + off_vec);
	o->vec_inline->retired = NULL;
	o->vec_inline->cap = (size_t)nslots;
	atomic_init(&o->vec, o->vec_inline);
	atomic_init(&o->nchunks, 0);
	atomic_init(&o->body_len, 0);
	atomic_init(&o->refs, 1);
	atomic_init(&o->freq, 0);
	atomic_init(&o->queue, EC_OQ_NONE);
	atomic_init(&o->flags, 0);
	atomic_init(&o->hits, 0);
	atomic_init(&o->last_access, 0);
	atomic_fetch_add_explicit(&my_live()->objs, 1, memory_order_relaxed);
	return o;
}

void ec_obj_ref(struct ec_obj *o)
{
	uint32_t prev;

	ec_obj__check(o);
	prev = atomic_fetch_add_explicit(&o->refs, 1, memory_order_relaxed);
	EC_ASSERT(prev > 0 && prev < UINT32_MAX);
}

static void chunk_free(struct ec_chunk *c)
{
	c->magic = 0;
	free(c);
	atomic_fetch_sub_explicit(&my_live()->chunks, 1, memory_order_relaxed);
}

static void obj_free(struct ec_obj *o)
{
	struct ec_chunkvec *v = atomic_load_explicit(&o->vec, memory_order_relaxed);
	size_t n = atomic_load_explicit(&o->nchunks, memory_order_relaxed);

	EC_ASSERT(o->oh == NULL);
	EC_ASSERT(atomic_load_explicit(&o->queue, memory_order_relaxed) == EC_OQ_NONE);
	for (size_t i = 0; i < n; i++) {
		struct ec_chunk *c = v->slot[i];
		ec_chunk_unref(&c);
	}
	if (o->pending != NULL)
		chunk_free(o->pending);
	while (v != NULL) {
		struct ec_chunkvec *next = v->retired;
		if (v != o->vec_inline)
			free(v);
		v = next;
	}
	free(o->hdr);
	o->magic = 0;
	free(o);
	atomic_fetch_sub_explicit(&my_live()->objs, 1, memory_order_relaxed);
}

void ec_obj_unref(struct ec_obj **op)
{
	struct ec_obj *o;
	uint32_t prev;

	EC_AN(op);
	o = *op;
	*op = NULL;
	ec_obj__check(o);
	prev = atomic_fetch_sub_explicit(&o->refs, 1, memory_order_acq_rel);
	EC_ASSERT(prev > 0);
	if (prev == 1)
		obj_free(o);
}

/* --- writer ------------------------------------------------------------- */

static void check_unpublished(const struct ec_obj *o)
{
	ec_obj__check(o);
	EC_ASSERT(atomic_load_explicit(&o->state, memory_order_relaxed) != EC_OS_PUBLISHED);
}

static void check_building(const struct ec_obj *o)
{
	ec_obj__check(o);
	EC_ASSERT(atomic_load_explicit(&o->state, memory_order_relaxed) == EC_OS_BUILDING);
}

struct ec_obj_attr *ec_obj_attr_mut(struct ec_obj *o)
{
	check_unpublished(o);
	return &o->attr;
}

void *ec_obj_meta(const struct ec_obj *o)
{
	ec_obj__check(o);
	return o->meta;
}

size_t ec_obj_meta_len(const struct ec_obj *o)
{
	ec_obj__check(o);
	return o->meta_len;
}

int ec_obj_set_headers(struct ec_obj *o, const void *p, size_t len)
{
	unsigned char *h = NULL;

	check_unpublished(o);
	EC_ASSERT(p != NULL || len == 0);
	if (len > EC_HDR_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (len > 0) {
		h = malloc(len);
		if (h == NULL) {
			errno = ENOMEM;
			return -1;
		}
		memcpy(h, p, len);
	}
	o->mem -= o->hdr_len;
	free(o->hdr);
	o->hdr = h;
	o->hdr_len = (uint32_t)len;
	o->mem += len;
	return 0;
}

/* Chunks and objheads are whole cache lines: a chunk's refcount is written on
 * every hit, and must not share a line with another allocation that other
 * threads read (an objhead, another object's chunk). */
static size_t chunk_size(uint32_t cap)
{
	return round_up(sizeof(struct ec_chunk) + cap, EC_CACHELINE);
}

size_t ec_obj__objhead_size(size_t key_len)
{
	return round_up(sizeof(struct ec_objhead) + key_len, EC_CACHELINE);
}

static struct ec_chunk *chunk_new(uint32_t cap, uint64_t off)
{
	struct ec_chunk *c = aligned_alloc(EC_CACHELINE, chunk_size(cap));

	if (c == NULL)
		return NULL;
	c->magic = EC_CHUNK_MAGIC;
	atomic_init(&c->refs, 1);
	atomic_init(&c->len, 0);
	c->cap = cap;
	c->off = off;
	atomic_fetch_add_explicit(&my_live()->chunks, 1, memory_order_relaxed);
	return c;
}

/* Makes room for one more slot; the old array stays readable (retired). */
static int vec_reserve(struct ec_obj *o, size_t n)
{
	struct ec_chunkvec *v = atomic_load_explicit(&o->vec, memory_order_relaxed);
	struct ec_chunkvec *nv;
	size_t cap;

	if (n < v->cap)
		return 0;
	cap = v->cap * 2;
	/* A large Content-Length sizes the array once, within reason. */
	if (o->body_hint > 0)
		cap = EC_MAX(cap, (size_t)EC_MIN((o->body_hint + EC_CHUNK_MAX - 1) / EC_CHUNK_MAX,
		                                 (uint64_t)VEC_HINT_MAX));
	cap = EC_MAX(cap, (size_t)VEC_MIN);
	nv = malloc(sizeof(*nv) + cap * sizeof(nv->slot[0]));
	if (nv == NULL) {
		errno = ENOMEM;
		return -1;
	}
	nv->cap = cap;
	nv->retired = v;
	for (size_t i = 0; i < n; i++)
		nv->slot[i] = v->slot[i];
	o->mem += sizeof(*nv) + cap * sizeof(nv->slot[0]);
	/* Readers that loaded the old array keep using it: it is never freed early. */
	atomic_store_explicit(&o->vec, nv, memory_order_release);
	return 0;
}

/* Capacity for the next chunk: the rest of the size hint, else geometric. */
static uint32_t next_cap(const struct ec_obj *o, size_t want)
{
	uint64_t have = atomic_load_explicit(&o->body_len, memory_order_relaxed);
	uint64_t cap;

	if (o->body_hint > have)
		cap = o->body_hint - have;
	else
		cap = o->last_cap ? (uint64_t)o->last_cap * 2 : EC_CHUNK_FIRST;
	cap = EC_MAX(cap, (uint64_t)want);
	cap = EC_MIN(cap, (uint64_t)EC_CHUNK_MAX);
	return (uint32_t)EC_MAX(cap, (uint64_t)1);
}

int ec_obj_reserve(struct ec_obj *o, size_t want, void **p, size_t *avail)
{
	size_t n;
	struct ec_chunk *c = NULL;
	uint32_t len;

	check_building(o);
	EC_AN(p);
	EC_AN(avail);
	if (o->pending != NULL) {
		c = o->pending;
	} else {
		n = atomic_load_explicit(&o->nchunks, memory_order_relaxed);
		if (n > 0) {
			struct ec_chunkvec *v = atomic_load_explicit(&o->vec, memory_order_relaxed);
			c = v->slot[n - 1];
			if (atomic_load_explicit(&c->len, memory_order_relaxed) == c->cap)
				c = NULL;
		}
		if (c == NULL) {
			uint32_t cap;

			if (vec_reserve(o, n) != 0)
				return -1;
			cap = next_cap(o, want);
			c = chunk_new(cap,
			              atomic_load_explicit(&o->body_len, memory_order_relaxed));
			if (c == NULL) {
				errno = ENOMEM;
				return -1;
			}
			o->mem += chunk_size(cap);
			o->last_cap = cap;
			o->pending = c;
		}
	}
	len = atomic_load_explicit(&c->len, memory_order_relaxed);
	*p = c->data + len;
	*avail = c->cap - len;
	return 0;
}

void ec_obj_commit(struct ec_obj *o, size_t n)
{
	struct ec_chunk *c;
	uint32_t len;
	uint64_t body;

	check_building(o);
	if (o->pending != NULL) {
		c = o->pending;
	} else {
		size_t nc = atomic_load_explicit(&o->nchunks, memory_order_relaxed);
		EC_ASSERT(nc > 0);
		c = atomic_load_explicit(&o->vec, memory_order_relaxed)->slot[nc - 1];
	}
	len = atomic_load_explicit(&c->len, memory_order_relaxed);
	EC_ASSERT(n <= c->cap - len);
	if (n == 0)
		return;
	/* Bytes first, then the length that covers them. */
	atomic_store_explicit(&c->len, len + (uint32_t)n, memory_order_release);
	if (o->pending != NULL) {
		size_t nc = atomic_load_explicit(&o->nchunks, memory_order_relaxed);
		struct ec_chunkvec *v = atomic_load_explicit(&o->vec, memory_order_relaxed);

		EC_ASSERT(nc < v->cap); /* vec_reserve() made room */
		v->slot[nc] = c;
		o->pending = NULL;
		atomic_store_explicit(&o->nchunks, nc + 1, memory_order_release);
	}
	body = atomic_load_explicit(&o->body_len, memory_order_relaxed);
	atomic_store_explicit(&o->body_len, body + n, memory_order_release);
}

int ec_obj_append(struct ec_obj *o, const void *p, size_t len)
{
	const unsigned char *src = p;

	EC_ASSERT(p != NULL || len == 0);
	while (len > 0) {
		void *dst;
		size_t avail, n;

		if (ec_obj_reserve(o, len, &dst, &avail) != 0)
			return -1;
		n = EC_MIN(avail, len);
		memcpy(dst, src, n);
		ec_obj_commit(o, n);
		src += n;
		len -= n;
	}
	return 0;
}

int ec_obj_share_body(struct ec_obj *dst, const struct ec_obj *src)
{
	size_t n;
	struct ec_chunkvec *sv;

	check_building(dst);
	ec_obj__check(src);
	EC_ASSERT(ec_obj_is_complete(src));
	EC_ASSERT(atomic_load_explicit(&dst->nchunks, memory_order_relaxed) == 0);
	EC_ASSERT(dst->pending == NULL);
	n = atomic_load_explicit(&src->nchunks, memory_order_acquire);
	sv = atomic_load_explicit(&src->vec, memory_order_acquire);
	if (n > 0) {
		struct ec_chunkvec *v = atomic_load_explicit(&dst->vec, memory_order_relaxed);

		if (v->cap < n) {
			struct ec_chunkvec *nv = malloc(sizeof(*nv) + n * sizeof(nv->slot[0]));

			if (nv == NULL) {
				errno = ENOMEM;
				return -1;
			}
			nv->cap = n;
			nv->retired = v;
			dst->mem += sizeof(*nv) + n * sizeof(nv->slot[0]);
			atomic_store_explicit(&dst->vec, nv, memory_order_release);
			v = nv;
		}
		for (size_t i = 0; i < n; i++) {
			struct ec_chunk *c = sv->slot[i];
			ec_chunk_ref(c);
			v->slot[i] = c;
			dst->mem += chunk_size(c->cap);
		}
	}
	atomic_store_explicit(&dst->nchunks, n, memory_order_release);
	atomic_store_explicit(&dst->body_len, ec_obj_body_len(src), memory_order_release);
	ec_obj_finish(dst);
	return 0;
}

void ec_obj_finish(struct ec_obj *o)
{
	check_building(o);
	if (o->pending != NULL) {
		/* Reserved but never committed: nobody saw it. */
		o->mem -= chunk_size(o->pending->cap);
		chunk_free(o->pending);
		o->pending = NULL;
	}
	atomic_store_explicit(&o->state, EC_OS_COMPLETE, memory_order_release);
}

void ec_obj__publish(struct ec_obj *o, size_t charge)
{
	ec_obj__check(o);
	EC_ASSERT(atomic_load_explicit(&o->state, memory_order_relaxed) == EC_OS_COMPLETE);
	o->charge = charge;
	atomic_store_explicit(&o->state, EC_OS_PUBLISHED, memory_order_release);
}

size_t ec_obj__mem(const struct ec_obj *o)
{
	return o->mem;
}

/* --- readers ------------------------------------------------------------ */

struct ec_str ec_obj_key(const struct ec_obj *o)
{
	ec_obj__check(o);
	return ec_str_make(o->key, o->key_len);
}

struct ec_hash128 ec_obj_hash(const struct ec_obj *o)
{
	ec_obj__check(o);
	return o->hash;
}

struct ec_str ec_obj_vkey(const struct ec_obj *o)
{
	ec_obj__check(o);
	return ec_str_make((const char *)o->vkey, o->vkey_len);
}

struct ec_str ec_obj_headers(const struct ec_obj *o)
{
	ec_obj__check(o);
	return ec_str_make((const char *)o->hdr, o->hdr_len);
}

const struct ec_obj_attr *ec_obj_attr(const struct ec_obj *o)
{
	ec_obj__check(o);
	return &o->attr;
}

bool ec_obj_is_complete(const struct ec_obj *o)
{
	ec_obj__check(o);
	return atomic_load_explicit(&o->state, memory_order_acquire) >= EC_OS_COMPLETE;
}

uint64_t ec_obj_body_len(const struct ec_obj *o)
{
	ec_obj__check(o);
	return atomic_load_explicit(&o->body_len, memory_order_acquire);
}

size_t ec_obj_nchunks(const struct ec_obj *o)
{
	ec_obj__check(o);
	return atomic_load_explicit(&o->nchunks, memory_order_acquire);
}

struct ec_chunk *ec_obj_chunk(const struct ec_obj *o, size_t i)
{
	struct ec_chunkvec *v;
	struct ec_chunk *c;

	EC_ASSERT(i < ec_obj_nchunks(o));
	v = atomic_load_explicit(&o->vec, memory_order_acquire);
	c = v->slot[i];
	EC_CHECK_MAGIC(c, EC_CHUNK_MAGIC);
	return c;
}

bool ec_obj_seek(const struct ec_obj *o, uint64_t off, size_t *idx, size_t *skip)
{
	size_t n = ec_obj_nchunks(o);
	size_t lo = 0, hi;
	struct ec_chunkvec *v;

	EC_AN(idx);
	EC_AN(skip);
	if (n == 0 || off >= ec_obj_body_len(o))
		return false;
	v = atomic_load_explicit(&o->vec, memory_order_acquire);
	/* The last chunk whose offset is <= off. */
	hi = n - 1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo + 1) / 2;
		if (v->slot[mid]->off <= off)
			lo = mid;
		else
			hi = mid - 1;
	}
	*idx = lo;
	*skip = (size_t)(off - v->slot[lo]->off);
	return *skip < ec_chunk_len(v->slot[lo]);
}

size_t ec_obj_charge(const struct ec_obj *o)
{
	ec_obj__check(o);
	if (atomic_load_explicit(&o->state, memory_order_acquire) == EC_OS_PUBLISHED)
		return o->charge;
	return o->mem + ec_obj__objhead_size(o->key_len);
}

uint64_t ec_obj_hits(const struct ec_obj *o)
{
	ec_obj__check(o);
	return atomic_load_explicit(&o->hits, memory_order_relaxed);
}

int64_t ec_obj_last_access(const struct ec_obj *o)
{
	ec_obj__check(o);
	return atomic_load_explicit(&o->last_access, memory_order_relaxed);
}

unsigned ec_obj_flags(const struct ec_obj *o)
{
	ec_obj__check(o);
	return atomic_load_explicit(&o->flags, memory_order_acquire);
}

void ec_obj_set_flags(struct ec_obj *o, unsigned flags)
{
	ec_obj__check(o);
	atomic_fetch_or_explicit(&o->flags, flags, memory_order_release);
}

enum ec_obj_queue ec_obj_queue(const struct ec_obj *o)
{
	ec_obj__check(o);
	return (enum ec_obj_queue)atomic_load_explicit(&o->queue, memory_order_relaxed);
}

unsigned ec_obj_freq(const struct ec_obj *o)
{
	ec_obj__check(o);
	return atomic_load_explicit(&o->freq, memory_order_relaxed);
}

size_t ec_obj_live(void)
{
	long n = 0;
	for (unsigned i = 0; i < LIVE_SLOTS; i++)
		n += atomic_load_explicit(&live[i].objs, memory_order_relaxed);
	return (size_t)n;
}

size_t ec_chunk_live(void)
{
	long n = 0;
	for (unsigned i = 0; i < LIVE_SLOTS; i++)
		n += atomic_load_explicit(&live[i].chunks, memory_order_relaxed);
	return (size_t)n;
}

/* --- chunks ------------------------------------------------------------- */

const void *ec_chunk_data(const struct ec_chunk *c)
{
	EC_CHECK_MAGIC(c, EC_CHUNK_MAGIC);
	return c->data;
}

size_t ec_chunk_len(const struct ec_chunk *c)
{
	EC_CHECK_MAGIC(c, EC_CHUNK_MAGIC);
	return atomic_load_explicit(&c->len, memory_order_acquire);
}

uint64_t ec_chunk_offset(const struct ec_chunk *c)
{
	EC_CHECK_MAGIC(c, EC_CHUNK_MAGIC);
	return c->off;
}

void ec_chunk_ref(struct ec_chunk *c)
{
	uint32_t prev;

	EC_CHECK_MAGIC(c, EC_CHUNK_MAGIC);
	prev = atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
	EC_ASSERT(prev > 0 && prev < UINT32_MAX);
}

void ec_chunk_unref(struct ec_chunk **cp)
{
	struct ec_chunk *c;
	uint32_t prev;

	EC_AN(cp);
	c = *cp;
	*cp = NULL;
	EC_CHECK_MAGIC(c, EC_CHUNK_MAGIC);
	prev = atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel);
	EC_ASSERT(prev > 0);
	if (prev == 1)
		chunk_free(c);
}

void ec_chunk_release_cb(const void *data, size_t len, void *arg)
{
	struct ec_chunk *c = arg;

	EC_CHECK_MAGIC(c, EC_CHUNK_MAGIC);
	EC_ASSERT(data >= (const void *)c->data &&
	          (const unsigned char *)data + len <= c->data + c->cap);
	ec_chunk_unref(&c);
}
