/*
 * storage/store_priv.h — storage-internal structures shared by object.c,
 * store.c and the eviction policies (evict_s3fifo.c, evict_lru.c). Nothing
 * outside storage/ (and its unit tests) includes this.
 *
 * Who protects what:
 *   ec_obj   — immutable once published, except the "hot" group (atomics,
 *              written on hits), the index linkage (the key's shard lock) and
 *              the queue linkage (the eviction lock).
 *   objhead  — the key's shard lock.
 *   shard    — its own lock (buckets, objheads, sketch writes, counters).
 *   evict    — the eviction lock (queues, ghost, bytes, counters).
 */
#ifndef EC_STORE_PRIV_H
#define EC_STORE_PRIV_H

#include <pthread.h>
#include <stdatomic.h>

#include "storage/ec_store.h"
#include "storage/ghost.h"
#include "storage/sketch.h"

#define EC_OBJ_MAGIC     0x0b1ec7a5u
#define EC_CHUNK_MAGIC   0xc407c0deu
#define EC_OBJHEAD_MAGIC 0x0b1ead00u
#define EC_STORE_MAGIC   0x57025e00u
#define EC_KEY_MAX       (64u * 1024u)
#define EC_HDR_MAX       (16u * 1024u * 1024u)

struct ec_chunk {
	unsigned magic;
	_Atomic uint32_t refs;
	_Atomic uint32_t len; /* published bytes (release/acquire) */
	uint32_t cap;
	uint64_t off; /* body offset of data[0] */
	unsigned char data[];
};

/* A chunk-pointer array; grown arrays are kept until the object dies. */
struct ec_chunkvec {
	struct ec_chunkvec *retired; /* older, smaller arrays */
	size_t cap;
	struct ec_chunk *slot[];
};

enum ec_obj_state {
	EC_OS_INVALID = 0,
	EC_OS_BUILDING,  /* writer appending */
	EC_OS_COMPLETE,  /* body finished, not yet inserted */
	EC_OS_PUBLISHED, /* inserted once; immutable from here */
};

struct ec_objhead;

struct ec_obj {
	unsigned magic;
	_Atomic uint8_t state; /* enum ec_obj_state */

	/* Read-mostly after publish. */
	struct ec_hash128 hash;
	char *key;
	uint32_t key_len;
	uint32_t vkey_len;
	uint32_t meta_len;
	uint32_t hdr_len;
	unsigned char *vkey;
	unsigned char *meta;
	unsigned char *hdr;
	struct ec_obj_attr attr;
	size_t mem;    /* bytes allocated for this object (charge minus objhead share) */
	size_t charge; /* fixed at insert: what the store counts */

	/* Body (see the memory-ordering rule in ec_object.h). */
	_Atomic(struct ec_chunkvec *) vec;
	struct ec_chunkvec *vec_inline; /* the first array, inside this allocation */
	_Atomic size_t nchunks;
	_Atomic uint64_t body_len;
	uint64_t body_hint;
	struct ec_chunk *pending; /* writer only: reserved, not yet published chunk */
	uint32_t last_cap;        /* writer only: capacity of the last chunk */

	/* Hot: written on hits, from any thread; kept on its own cache line. */
	_Alignas(EC_CACHELINE) _Atomic uint32_t refs;
	_Atomic uint8_t freq;  /* S3-FIFO access frequency, 0..3 */
	_Atomic uint8_t queue; /* enum ec_obj_queue; written under the eviction lock */
	_Atomic uint32_t flags;
	_Atomic uint64_t hits;
	_Atomic int64_t last_access;

	/* Index linkage: the shard lock of `hash`. */
	_Alignas(EC_CACHELINE) struct ec_objhead *oh; /* NULL when not in the index */
	struct ec_obj *v_next;                        /* next (older) variant */

	/* Queue linkage: the eviction lock. prev is toward the head (newest). */
	struct ec_obj *q_prev;
	struct ec_obj *q_next;
};

/*
 * One primary key in the index: its variants, newest first. Freed when it
 * holds no variant (objhead_idle()).
 *
 * Extension point for request coalescing (the miss-handling work): the busy
 * object a writer is fetching for this key, and the requests waiting on it
 * (each to be woken on its own thread), hang here under the same shard lock.
 * Lookups then find the busy object and either wait or read while it is
 * written; objhead_idle() in store.c is the one place that decides when an
 * objhead may go, and must then also require "no busy object, no waiters".
 */
struct ec_objhead {
	unsigned magic;
	struct ec_hash128 hash;
	struct ec_objhead *next; /* bucket chain */
	struct ec_obj *variants;
	unsigned nvariants;
	uint32_t key_len;
	char key[]; /* the key string, copied */
};

struct ec_shard {
	/* First line: what every lookup writes (the lock and its counters), so a
	 * lookup moves one line of the shard between cores, not two. */
	_Alignas(EC_CACHELINE) pthread_mutex_t lock;
	pthread_t owner; /* the holder, for shard_assert_held() */
	uint64_t lookups, hits;
	/* Read by lookups, written by inserts, removals and misses. */
	_Alignas(EC_CACHELINE) struct ec_objhead **buckets;
	size_t mask; /* buckets - 1 */
	size_t nheads;
	size_t nobjs;
	uint64_t misses, vary_misses;
	struct ec_sketch sketch; /* this shard's slice of the TinyLFU sketch */
};

/* An intrusive FIFO/LRU list: push at head, pop at tail. */
struct ec_evict_q {
	struct ec_obj *head;
	struct ec_obj *tail;
	uint64_t bytes;
	uint64_t count;
};

struct ec_evict;

/* A dequeued victim and the queue it came from (to put it back). */
struct ec_evict_pend {
	struct ec_obj *obj;
	enum ec_obj_queue from;
};

/*
 * An eviction policy (a table of functions, so a new policy is a new file).
 * Every function runs under the eviction lock except hit_f, which runs with
 * no lock at all (after the lookup released the shard lock, holding a
 * reference) and may touch only the object's atomics.
 */
typedef int ec_evict_init_f(struct ec_evict *ev);
typedef void ec_evict_fini_f(struct ec_evict *ev);
typedef void ec_evict_hit_f(struct ec_obj *o);
typedef void ec_evict_touch_f(struct ec_evict *ev, struct ec_obj *o);
typedef void ec_evict_push_f(struct ec_evict *ev, struct ec_obj *o);
typedef struct ec_obj *ec_evict_victim_f(struct ec_evict *ev, enum ec_obj_queue *from);
typedef void ec_evict_restore_f(struct ec_evict *ev, struct ec_obj *o, enum ec_obj_queue from);
typedef void ec_evict_evicted_f(struct ec_evict *ev, struct ec_obj *o, enum ec_obj_queue from);

struct ec_evict_ops {
	const char *name;
	ec_evict_init_f *init;
	ec_evict_fini_f *fini;
	ec_evict_hit_f *hit;         /* no lock held; NULL if none */
	ec_evict_touch_f *touch;     /* after the shard lock, under the eviction lock; or NULL */
	ec_evict_push_f *push;       /* enqueue a newly stored object */
	ec_evict_victim_f *victim;   /* dequeue the next victim, NULL if empty */
	ec_evict_restore_f *restore; /* put a dequeued victim back (candidate refused) */
	ec_evict_evicted_f *evicted; /* a dequeued victim is being evicted for good */
};

extern const struct ec_evict_ops ec_evict_s3fifo;
extern const struct ec_evict_ops ec_evict_lru;

struct ec_evict {
	pthread_mutex_t lock;
	pthread_t owner; /* the holder, for ec_evict__assert_held() */
	const struct ec_evict_ops *ops;
	uint64_t capacity;
	uint64_t small_target; /* S3-FIFO: 10 % of capacity */
	uint64_t used;         /* sum of charges of queued (and pending) objects */
	uint64_t objects;
	struct ec_evict_q q[EC_OQ_LRU + 1]; /* by enum ec_obj_queue */
	struct ec_ghost ghost;
	struct ec_evict_pend *pend; /* victims dequeued by the insert in progress */
	size_t npend;
	size_t pend_cap;
	uint64_t inserts, replaced, rejected_admission, rejected_too_big, rejected_nomem;
	uint64_t evictions, purged, ghost_hits;
};

struct ec_store {
	unsigned magic;
	struct ec_store_config cfg;
	unsigned shard_shift; /* 64 - log2(shards) */
	unsigned nshards;
	struct ec_shard *shards;
	struct ec_evict ev;
};

/* Lock helpers record their holder so that code can assert it holds a lock. */
static inline void ec_evict__assert_held(const struct ec_evict *ev)
{
	EC_ASSERT(pthread_equal(ev->owner, pthread_self()));
}

/* Queue helpers (eviction lock held). */
void ec_evict__q_push_head(struct ec_evict *ev, enum ec_obj_queue q, struct ec_obj *o);
void ec_evict__q_push_tail(struct ec_evict *ev, enum ec_obj_queue q, struct ec_obj *o);
struct ec_obj *ec_evict__q_pop_tail(struct ec_evict *ev, enum ec_obj_queue q);
void ec_evict__q_unlink(struct ec_evict *ev, struct ec_obj *o);

/* Object internals used by the store. */
void ec_obj__publish(struct ec_obj *o, size_t charge);
size_t ec_obj__mem(const struct ec_obj *o);
size_t ec_obj__objhead_size(size_t key_len);

static inline void ec_obj__check(const struct ec_obj *o)
{
	EC_CHECK_MAGIC(o, EC_OBJ_MAGIC);
}

#endif /* EC_STORE_PRIV_H */
