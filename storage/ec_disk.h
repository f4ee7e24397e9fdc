/*
 * storage/ec_disk.h — the disk tier: one LMDB environment holding object
 * records, body chunks, an ordered key index, a tag index and an access-time
 * index, written by one writer thread and read by any thread. The design,
 * the record formats and the figures behind the choices are in
 * docs/storage.md ("Disk tier").
 *
 * How the daemon uses it, next to the memory tier (ec_store.h):
 *   - lookup: memory first; on a miss ec_disk_lookup(), which copies the
 *     matched variant (headers decoded, body chunk by chunk) out of a short
 *     read transaction into a new complete ec_obj; offer it to the memory
 *     tier with ec_store_insert() (TinyLFU decides) and serve it;
 *   - fill: when a stored response is complete, ec_store_insert() it and
 *     ec_disk_put() it: the writer stores it within a few milliseconds;
 *   - purge and invalidation: purge both tiers. A disk purge is queued, and
 *     until it is committed lookups of what it names miss, so a purged
 *     object never comes back into memory from disk.
 *
 * Threads. Every function here may be called from any thread. Lookups and
 * listing open an LMDB read transaction for the time of a copy and never
 * block on the writer (LMDB readers do not wait). Puts, purges and touches
 * only queue (a mutex held for a list append); the writer thread applies
 * them in batches, one write transaction each. ec_disk_open, ec_disk_flush
 * and ec_disk_close block (file system, waiting for the writer).
 *
 * Failure. Nothing here asserts on what it reads from disk. A directory that
 * cannot be used (cannot be created, not a directory, locked by another
 * process, not an LMDB environment, another format version) makes
 * ec_disk_open fail with a message: the daemon logs it and runs memory-only.
 * A corrupt record is a miss (logged, counted, deleted). Structural damage
 * LMDB reports at run time (MDB_CORRUPTED, MDB_PAGE_NOTFOUND, MDB_PANIC)
 * turns the tier off (every lookup misses, writes are dropped); a failed
 * write (EIO, ENOSPC) makes it read-only. Both are logged loudly. A full map
 * is never an error for a client: the writer evicts and retries, or skips
 * storing.
 */
#ifndef EC_DISK_H
#define EC_DISK_H

#include "storage/ec_hdrcodec.h"
#include "storage/ec_store.h"

struct ec_disk;

enum ec_disk_sync {
	EC_DISK_SYNC_INVALID = 0,
	EC_DISK_SYNC_COMMIT,   /* every commit is durable when it returns (fdatasync) */
	EC_DISK_SYNC_PERIODIC, /* MDB_NOSYNC, and mdb_env_sync every sync_interval */
};

enum ec_disk_log_level {
	EC_DISK_LOG_INVALID = 0,
	EC_DISK_LOG_ERR,
	EC_DISK_LOG_WARN,
	EC_DISK_LOG_INFO,
};

/* Where the tier's messages go (any thread; msg has no newline). */
typedef void ec_disk_log_f(void *arg, enum ec_disk_log_level level, const char *msg);

struct ec_disk_config {
	const char *dir;   /* created (one level) when missing */
	uint64_t map_size; /* the LMDB map and the tier's budget, bytes; >= 1 MiB */
	enum ec_disk_sync sync;
	double sync_interval;  /* seconds, PERIODIC: how long a commit may stay unsynced */
	unsigned high_pct;     /* evict when live pages pass this % of map_size (default 85) */
	unsigned low_pct;      /* ... down to this % (default 70); < high_pct */
	double batch_delay;    /* seconds a batch waits for more writes (default 0.002) */
	size_t batch_bytes;    /* commit once a batch holds this many bytes (default 4 MiB) */
	size_t queue_bytes;    /* puts beyond this many queued bytes are dropped (64 MiB) */
	unsigned touch_grain;  /* s; a hit re-dates an object at most this often (60) */
	uint64_t max_obj_size; /* larger bodies are not stored (default map_size / 8) */
	uint16_t meta_version; /* the daemon's meta-area layout: records of another
	                          version are ignored (a miss) and deleted */
	const struct ec_hdrcodec *codec; /* encodes and decodes header blocks; borrowed,
	                                    must outlive the tier; required */
	bool read_only; /* inspect a stopped daemon's tier (cachectl --db): MDB_RDONLY and
	                   MDB_NOLOCK, a shared lock on edgecache.lock (refused while a
	                   daemon holds it), no writer thread; puts are dropped, and
	                   purges, touches and ec_disk_flush must not be called */
	ec_disk_log_f *log;              /* NULL: messages are dropped */
	void *log_arg;
};

/* Defaults for a directory and a size (dir is borrowed until ec_disk_open). */
void ec_disk_config_default(struct ec_disk_config *cfg, const char *dir, uint64_t map_size);

/*
 * Opens (or creates) the tier and starts its writer thread. No scan: the
 * cost does not depend on what the directory holds. Returns NULL with a
 * message in err ("DIR: problem") when the directory cannot be used or the
 * config is invalid. Blocks (file system).
 */
struct ec_disk *ec_disk_open(const struct ec_disk_config *cfg, char *err, size_t errlen);

/*
 * Applies everything queued, syncs, stops the writer and closes the
 * environment. No other thread may use the tier any more. Objects returned
 * by lookups stay valid (they are copies). Blocks. Clears *dp.
 */
void ec_disk_close(struct ec_disk **dp);

/*
 * Looks the key up like ec_store_lookup (same request; PEEK is implied: the
 * disk tier keeps no frequency) and on a hit returns in *objp a new,
 * complete, unpublished-to-any-store object with one reference owned by the
 * caller: key, secondary key, attributes, meta area, decoded header block
 * and a copy of the body; soft-purged records carry EC_OBJF_STALE.
 * EC_LOOKUP_VARY_MISS when variants exist and none matched. A record that
 * does not decode (corrupt, unknown dictionary, other meta version) is a
 * miss, counted and queued for deletion. Copies under a read transaction
 * held only for the copy; a hit older than touch_grain queues a touch.
 */
enum ec_lookup_rc ec_disk_lookup(struct ec_disk *d, const struct ec_lookup *req,
                                 struct ec_obj **objp);

/*
 * Shows every variant stored for k to match(obj, arg) (headers and
 * attributes; EC_LOOKUP_PEEK: no body copy, no touch) and keeps none.
 */
void ec_disk_peek_variants(struct ec_disk *d, const struct ec_key *k, ec_store_match_f *match,
                           void *arg);

enum ec_disk_put_rc {
	EC_DISK_PUT_INVALID = 0,
	EC_DISK_PUT_QUEUED,   /* the writer will store it */
	EC_DISK_PUT_TOO_BIG,  /* body over max_obj_size */
	EC_DISK_PUT_BUSY,     /* the queue holds queue_bytes already: not stored */
	EC_DISK_PUT_DISABLED, /* the tier is off or read-only */
	EC_DISK_PUT_NOMEM,
};

/*
 * Queues a complete object (asserted) for storing, replacing a stored
 * variant with the same key and secondary key. Takes its own reference
 * (the caller keeps its own). tags[0..ntags) (Surrogate-Key / Cache-Tag
 * values, copied) feed purge by tag; empty tags are skipped. `now` becomes
 * the object's access time. Never blocks beyond the queue's mutex.
 */
enum ec_disk_put_rc ec_disk_put(struct ec_disk *d, struct ec_obj *obj, const struct ec_str *tags,
                                size_t ntags, int64_t now);

/*
 * Records an access for LRU eviction: queued, and applied only when the
 * stored access time is at least touch_grain old, so a hot object is
 * re-dated about once per grain, not once per hit. Dropped (harmlessly)
 * when the queue is long. Any thread.
 */
void ec_disk_touch(struct ec_disk *d, const struct ec_obj *obj, int64_t now);

/* Purge flags: EC_PURGE_SOFT (ec_store.h) marks records stale instead of deleting them. */

/* Queues a purge of every variant of the key. Lookups miss it from now on. */
void ec_disk_purge(struct ec_disk *d, const struct ec_key *key, unsigned flags);

/* Queues the removal of the stored variant with this object's key and secondary key. */
void ec_disk_remove(struct ec_disk *d, const struct ec_obj *obj);

/* Queues a purge of every object whose key starts with `prefix` (non-empty). */
void ec_disk_purge_prefix(struct ec_disk *d, struct ec_str prefix, unsigned flags);

/* Queues a purge of every object tagged `tag` (non-empty). */
void ec_disk_purge_tag(struct ec_disk *d, struct ec_str tag, unsigned flags);

/*
 * Waits until everything queued before the call is committed (or dropped).
 * Returns the number of objects the purges queued before it removed or
 * marked since the previous flush. Blocks; not for worker threads.
 */
uint64_t ec_disk_flush(struct ec_disk *d);

/* --- listing --------------------------------------------------------------- */

struct ec_disk_entry {
	struct ec_str key; /* the full key string */
	size_t nvariants;
	uint64_t body_len; /* of the newest-stored variant */
	int64_t stored_at; /* of the newest-stored variant */
	int64_t expires;   /* of the newest-stored variant */
	uint32_t atime;    /* latest access time the writer recorded */
	bool stale;        /* soft-purged (any variant) */
};

/*
 * Calls cb for every stored key starting with `prefix` (empty: all), in key
 * order, inside one read transaction: `e` and its views are valid only
 * during the call. Stops when cb returns nonzero (returned) or after `limit`
 * keys (0 = no limit). Returns 0, or -1 when the tier is off.
 */
typedef int ec_disk_iter_f(const struct ec_disk_entry *e, void *arg);
int ec_disk_list(struct ec_disk *d, struct ec_str prefix, size_t limit, ec_disk_iter_f *cb,
                 void *arg);

/* --- stats ----------------------------------------------------------------- */

#define EC_DISK_COUNTER_TABLE(X)                                                                   \
	X(lookups, "disk lookups (after memory misses)")                                           \
	X(hits, "disk lookups that returned an object")                                            \
	X(misses, "disk lookups that found no usable variant")                                     \
	X(corrupt, "records or chunks that failed to decode (each deleted)")                       \
	X(puts_queued, "objects queued for storing")                                               \
	X(puts_dropped, "objects not stored: queue full, too big, map full or tier off")           \
	X(stored, "objects committed")                                                             \
	X(stored_bytes, "body bytes committed")                                                    \
	X(commits, "write transactions committed")                                                 \
	X(evictions, "objects evicted by the watermarks or a full map")                            \
	X(map_full, "write transactions that hit MDB_MAP_FULL")                                    \
	X(purged, "objects removed or marked stale by purges")                                     \
	X(touches, "access times rewritten")                                                       \
	X(syncs, "mdb_env_sync calls (periodic sync)")                                             \
	X(write_errors, "write transactions that failed otherwise")

#define EC_DISK_GAUGE_TABLE(X)                                                                     \
	X(map_size, "the map size (the budget), bytes")                                            \
	X(used_bytes, "pages holding live data, bytes")                                            \
	X(objects, "stored objects (variants)")                                                    \
	X(queue_bytes, "bytes of puts waiting for the writer")                                     \
	X(queue_items, "operations waiting for the writer")                                        \
	X(state, "0 ok, 1 read-only after a write error, 2 off after corruption")

struct ec_disk_stats {
#define X(name, doc) uint64_t name;
	EC_DISK_COUNTER_TABLE(X)
	EC_DISK_GAUGE_TABLE(X)
#undef X
};

void ec_disk_stats(struct ec_disk *d, struct ec_disk_stats *out);

const char *ec_disk_sync_str(enum ec_disk_sync s);

#endif /* EC_DISK_H */
