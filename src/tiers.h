/*
 * tiers.h — the cache's two tiers as the request path sees them: the memory
 * tier (storage/ec_store.h) in front of the optional LMDB disk tier
 * (storage/ec_disk.h). cache.c and fill.c call these instead of the store
 * directly, so the disk tier plugs in at one place:
 *
 *   lookup   memory; on a miss (or a vary miss) the disk tier, whose hit is
 *            a complete copy offered to memory through TinyLFU admission;
 *   insert   memory (TinyLFU decides) and the disk writer's queue, with the
 *            Surrogate-Key / Cache-Tag values as tags;
 *   remove / purge   both tiers;
 *   hit      a sampled touch of the disk copy's access time, so objects hot
 *            in memory are not the disk tier's LRU victims.
 *
 * Thread: any worker; the tiers lock internally. Nothing here blocks.
 */
#ifndef EC_TIERS_H
#define EC_TIERS_H

#include <stdbool.h>

#include "storage/ec_store.h"

/*
 * The layout version of the meta area the disk tier stores with each object
 * (ec_disk_config.meta_version); cachectl --db opens the tier with it too.
 * Bump when struct ec_cmeta or struct ec_fresh_meta change layout.
 */
#define EC_TIERS_META_VERSION 1

struct ec_worker;
struct ec_disk;
struct ec_config;
struct ec_hdrcodec;

/*
 * Memory, then disk. On a disk hit *from_disk is set, the object (a copy) is
 * offered to the memory tier, and the caller owns one reference as with
 * ec_store_lookup.
 */
enum ec_lookup_rc ec_tiers_lookup(struct ec_worker *w, const struct ec_lookup *lk,
                                  struct ec_obj **objp, bool *from_disk);

/* A memory hit served: touches the disk copy now and then (1 hit in 64). */
void ec_tiers_hit(struct ec_worker *w, const struct ec_obj *obj, int64_t now);

/* Publishes a complete object in both tiers; returns the memory tier's verdict. */
enum ec_insert_rc ec_tiers_insert(struct ec_worker *w, struct ec_obj *obj, int64_t now);

/* Removes this object (its key and variant) from both tiers. */
void ec_tiers_remove(struct ec_worker *w, struct ec_obj *obj);

/* Purges every variant of the key from both tiers. */
void ec_tiers_purge(struct ec_worker *w, const struct ec_key *key, unsigned flags);

/*
 * The object's tags: Surrogate-Key (space-separated) and Cache-Tag
 * (comma-separated) values of its stored header block, as views into it,
 * at most `cap`. Returns how many.
 */
size_t ec_tiers_tags(const struct ec_obj *obj, struct ec_str *tags, size_t cap);

/*
 * Opens the disk tier the configuration asks for (main thread, at start):
 * NULL when none is configured, or when it cannot be used (logged loudly:
 * the daemon runs memory-only). *codecp gets the header codec it uses (the
 * default dictionary), to free after ec_disk_close.
 */
struct ec_disk *ec_tiers_open_disk(const struct ec_config *c, struct ec_hdrcodec **codecp);

#endif /* EC_TIERS_H */
