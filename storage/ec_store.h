/*
 * storage/ec_store.h — the memory tier: a sharded index of objects keyed by
 * the 128-bit hash of the cache key, byte-weighted capacity, TinyLFU
 * admission and S3-FIFO eviction (or plain LRU, for comparison).
 *
 * Shape (Varnish's): the index maps (hash, key string) to an objhead; an
 * objhead holds the variants of that primary key (HTTP Vary), newest first;
 * each variant is an ec_obj with its own secondary key. Storage never
 * interprets headers: the lookup's match callback (policy/) picks the variant.
 *
 * Threads and locks (docs/storage.md has the full picture):
 *   - one mutex per shard (cache-line aligned) guards that shard's buckets,
 *     objheads, variant lists, TinyLFU sketch slice and hit/miss counters;
 *   - one eviction mutex guards the queues, the ghost and the byte count; it is
 *     taken by insert, purge and remove, and on a hit only by the LRU policy;
 *   - order: eviction lock before a shard lock, never the other way; at most
 *     one shard lock at a time.
 * A hit under S3-FIFO takes only its shard lock.
 *
 * Reference rule: the index holds one reference to each stored object and the
 * eviction queue another; a lookup hands the caller a third. Eviction, purge
 * and replacement drop the store's references; the object is freed when the
 * last reader lets go. Memory held only by readers is no longer counted in
 * the store's bytes.
 */
#ifndef EC_STORE_H
#define EC_STORE_H

#include "storage/ec_object.h"

struct ec_store;

enum ec_evict_policy {
	EC_EVICT_INVALID = 0,
	EC_EVICT_S3FIFO, /* S3-FIFO (small + main FIFO, ghost); hits are lock-free */
	EC_EVICT_LRU,    /* plain LRU; a hit takes the eviction lock (baseline) */
};

enum ec_admission {
	EC_ADMIT_INVALID = 0,
	EC_ADMIT_TINYLFU, /* admit only if as frequent as the eviction victim(s) */
	EC_ADMIT_ALL,     /* admit everything (no sketch is kept) */
};

struct ec_store_config {
	uint64_t capacity; /* bytes (-m); >= 64 KiB */
	enum ec_evict_policy policy;
	enum ec_admission admission;
	uint64_t max_obj_size; /* bytes of charge; 0 = capacity / 10, capped there */
	uint64_t avg_obj_size; /* sizes the sketch (capacity / avg objects); 0 = 8 KiB */
	unsigned shards;       /* power of two, 1..4096; 0 = 64 */
};

/* Fills cfg with S3-FIFO + TinyLFU defaults for `capacity` bytes. */
void ec_store_config_default(struct ec_store_config *cfg, uint64_t capacity);

/*
 * Creates a store. NULL on a bad config (*reason says why; never asserted,
 * it may come from a config file) or out of memory (*reason "out of memory").
 */
struct ec_store *ec_store_new(const struct ec_store_config *cfg, const char **reason);

/*
 * Drops the store's references to every object and frees the store. No other
 * thread may use the store any more; objects still referenced stay valid.
 */
void ec_store_free(struct ec_store **stp);

/* The effective maximum object charge (lets a writer give up early). */
uint64_t ec_store_max_obj_size(const struct ec_store *st);

/* --- lookup ---------------------------------------------------------------- */

/*
 * Picks the variant the request matches, called under the shard lock for each
 * variant of the key, newest first: it must be quick and must not call into
 * the store or block. `obj` may be read (vkey, headers, attr, meta) but not
 * kept unless referenced with ec_obj_ref().
 */
typedef bool ec_store_match_f(const struct ec_obj *obj, void *arg);

/* A ready-made matcher: arg is a `const struct ec_str *` equal to the vkey. */
bool ec_store_match_vkey(const struct ec_obj *obj, void *arg);

enum ec_lookup_flag {
	EC_LOOKUP_PEEK = 1u << 0, /* inspect only: no sketch, frequency, hits, stats */
};

struct ec_lookup {
	const struct ec_key *key;
	ec_store_match_f *match; /* NULL: the newest variant matches */
	void *match_arg;
	int64_t now;    /* recorded as the object's last access on a hit */
	unsigned flags; /* enum ec_lookup_flag */
};

enum ec_lookup_rc {
	EC_LOOKUP_INVALID = 0,
	EC_LOOKUP_HIT,       /* *objp holds a new reference */
	EC_LOOKUP_MISS,      /* no variant stored for the key (Cache-Status fwd=uri-miss) */
	EC_LOOKUP_VARY_MISS, /* variants stored, none matched (fwd=vary-miss) */
};

/*
 * Looks the key up and, on a hit, returns a referenced object in *objp (NULL
 * otherwise). Unless PEEK, counts the access in the TinyLFU sketch (hit or
 * miss) and, on a hit, bumps the object's S3-FIFO frequency (atomic) and hit
 * count. Takes the key's shard lock (and under LRU the eviction lock
 * afterwards); never blocks otherwise.
 */
enum ec_lookup_rc ec_store_lookup(struct ec_store *st, const struct ec_lookup *req,
                                  struct ec_obj **objp);

/* --- insert ---------------------------------------------------------------- */

#define EC_INSERT_RC_TABLE(X)                                                                      \
	X(OK, "stored")                                                                            \
	X(TOO_BIG, "object larger than the maximum object size")                                   \
	X(REJECTED, "admission: less frequently requested than the eviction victim")               \
	X(NOMEM, "out of memory")

enum ec_insert_rc {
	EC_INSERT_INVALID = 0,
#define X(sym, str) EC_INSERT_##sym,
	EC_INSERT_RC_TABLE(X)
#undef X
};

const char *ec_insert_rc_str(enum ec_insert_rc rc);

/*
 * Publishes a complete object (ec_obj_finish() done; asserted, as is inserting
 * an object twice). The store takes its own references: the caller keeps its
 * reference and drops it when done, whatever the result.
 *
 * A stored variant of the same primary key with the same secondary key is
 * replaced (readers holding it keep it). A replacement is always admitted,
 * as in TinyUFO, since the key is already resident. A new object that needs
 * evictions goes through TinyLFU admission: it is stored only if its
 * estimated frequency is >= every victim's; otherwise the victims stay and
 * EC_INSERT_REJECTED is returned. Returns EC_INSERT_TOO_BIG when the charge
 * exceeds the maximum object size. Takes the eviction lock, then shard locks.
 */
enum ec_insert_rc ec_store_insert(struct ec_store *st, struct ec_obj *obj);

/* --- removal --------------------------------------------------------------- */

enum ec_purge_flag {
	EC_PURGE_SOFT = 1u << 0, /* mark EC_OBJF_STALE instead of removing */
};

/* Removes (or soft-purges) every variant of the key. Returns how many. */
size_t ec_store_purge(struct ec_store *st, const struct ec_key *key, unsigned flags);

/* Removes this exact object if it is still stored. true if it was. */
bool ec_store_remove(struct ec_store *st, struct ec_obj *obj);

/* --- iteration ------------------------------------------------------------- */

/*
 * Called for each stored variant, shard by shard, under that shard's lock: it
 * may read the object and take a reference (to act on it afterwards, e.g. a
 * prefix purge collects referenced objects, then ec_store_remove()s them) but
 * must not call into the store. Return 0 to go on, anything else to stop.
 */
typedef int ec_store_iter_f(struct ec_obj *obj, void *arg);

/*
 * Visits every stored object. Not a snapshot: objects inserted or removed in
 * a shard not yet (or already) visited may or may not be seen; each object is
 * seen at most once. Returns the callback's nonzero value, or 0.
 */
int ec_store_iterate(struct ec_store *st, ec_store_iter_f *cb, void *arg);

/* --- stats ----------------------------------------------------------------- */

/* Counters (monotonic) and gauges, defined once here for code, stats and docs. */
#define EC_STORE_COUNTER_TABLE(X)                                                                  \
	X(lookups, "lookups (hits + misses + vary misses)")                                        \
	X(hits, "lookups that returned an object")                                                 \
	X(misses, "lookups of a key with no stored variant")                                       \
	X(vary_misses, "lookups of a stored key whose variants did not match")                     \
	X(inserts, "objects stored")                                                               \
	X(replaced, "stored objects replaced by a newer one of the same variant")                  \
	X(rejected_admission, "inserts refused by TinyLFU admission")                              \
	X(rejected_too_big, "inserts refused as larger than the maximum object size")              \
	X(rejected_nomem, "inserts refused for lack of memory")                                    \
	X(evictions, "objects evicted to make room")                                               \
	X(purged, "objects removed by purge or remove")                                            \
	X(ghost_hits, "inserts admitted straight to the main FIFO by the ghost")                   \
	X(sketch_halvings, "TinyLFU sketch agings, summed over shards")

#define EC_STORE_GAUGE_TABLE(X)                                                                    \
	X(capacity, "capacity in bytes")                                                           \
	X(bytes, "bytes charged by stored objects")                                                \
	X(objects, "stored objects (variants)")                                                    \
	X(objheads, "stored primary keys")                                                         \
	X(small_bytes, "bytes in the S3-FIFO small queue")                                         \
	X(main_bytes, "bytes in the S3-FIFO main queue (LRU: the LRU list)")                       \
	X(ghost_entries, "keys remembered by the S3-FIFO ghost")

struct ec_store_stats {
#define X(name, doc) uint64_t name;
	EC_STORE_COUNTER_TABLE(X)
	EC_STORE_GAUGE_TABLE(X)
#undef X
};

/* A consistent-enough snapshot (each shard and the eviction state locked in turn). */
void ec_store_stats(struct ec_store *st, struct ec_store_stats *out);

#endif /* EC_STORE_H */
