/*
 * purge.h — purging across both tiers: by URL (every variant), by key
 * prefix, by tag (Surrogate-Key / Cache-Tag), hard (removed) or soft
 * (marked stale: served only as stale under stale-while-revalidate or
 * stale-if-error, revalidated before it is fresh again). Used by the admin
 * API and the PURGE method on the proxy listener.
 *
 * Counting. Each call says how many objects (variants) it affected: the
 * larger of the memory tier's and the disk tier's counts, since an object
 * usually lives in both (a copy in memory of what is on disk).
 *
 * Threads. The memory tier locks per shard (storage/ec_store.h), so any
 * thread may purge. The functions that `wait` block until the disk writer
 * has committed the purge (ec_disk_flush): admin thread only. Without
 * `wait` nothing blocks (the disk purge is queued; lookups miss it at once).
 */
#ifndef EC_PURGE_H
#define EC_PURGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ec_util.h"

struct ec_arena;
struct ec_config;
struct ec_store;
struct ec_disk;
struct ec_obj;

struct ec_purge_count {
	uint64_t memory; /* variants removed or marked in the memory tier */
	uint64_t disk;   /* ... in the disk tier (0 when there is none) */
	uint64_t total;  /* max(memory, disk) */
};

/*
 * The cache key of an absolute URL ("http://host[:port]/path?query"), built
 * with the configuration's key rules as a request for it would be. Returns
 * an empty view with *why set when the URL is not absolute http(s) or the
 * arena is exhausted.
 */
struct ec_str ec_purge_url_key(struct ec_arena *a, const struct ec_config *cf, const char *url,
                               const char **why);

/* Every variant of `key`. flags: EC_PURGE_SOFT. `wait`: see above. */
struct ec_purge_count ec_purge_key(struct ec_store *st, struct ec_disk *d, struct ec_str key,
                                   unsigned flags, bool wait);

/* Every object whose key starts with `prefix` (non-empty). Walks the memory
 * tier; the disk tier range-scans its ordered key index. Waits (admin). */
struct ec_purge_count ec_purge_prefix(struct ec_store *st, struct ec_disk *d, struct ec_str prefix,
                                      unsigned flags);

/* Every object tagged `tag` (non-empty). Waits (admin). */
struct ec_purge_count ec_purge_tag(struct ec_store *st, struct ec_disk *d, struct ec_str tag,
                                   unsigned flags);

/*
 * Purges every memory-tier object for which `pred` says true (bans, the
 * lurker): collected under the shard locks, removed or marked after.
 * Returns how many.
 */
typedef bool ec_purge_pred_f(const struct ec_obj *obj, void *arg);
uint64_t ec_purge_memory_if(struct ec_store *st, ec_purge_pred_f *pred, void *arg, unsigned flags);

struct ec_req;
/*
 * The PURGE method on the proxy listener (purge_http.c): answers 405
 * unless the client is in purge_allow, else purges the request's key from
 * both tiers and answers 200 {"purged": N}. Ends the response.
 */
void ec_purge_http(struct ec_req *req);

#endif /* EC_PURGE_H */
