/*
 * storage/sketch.h — the TinyLFU frequency sketch: a count-min sketch of
 * 4-bit counters, 4 rows, aged by halving every counter after `sample`
 * increments (Einziger, Friedman, Manes: "TinyLFU: A Highly Efficient Cache
 * Admission Policy", 2017; the block layout is Caffeine's FrequencySketch).
 *
 * Layout: the table is an array of 64-byte blocks of eight 64-bit words, 16
 * counters a word. A key picks one block (from hash.hi) and, for each of the
 * 4 rows, one counter in words 2r or 2r+1 of that block (from hash.lo), so an
 * increment or estimate touches one cache line.
 *
 * Concurrency: the store keeps one sketch per index shard and updates it under
 * that shard's lock (writers are serialised by the caller), while estimates
 * for other shards' keys (the eviction victim's) are read without the lock.
 * So words are atomics accessed relaxed: a writer does load + store (no RMW,
 * its lock already excludes other writers) and a racing reader sees an old or
 * new word, never a torn one. An estimate is a heuristic; staleness is fine.
 */
#ifndef EC_STORE_SKETCH_H
#define EC_STORE_SKETCH_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/ec_object.h"

#define EC_SKETCH_MAX 15u /* 4-bit counters saturate */

struct ec_sketch {
	_Atomic uint64_t *words; /* nblocks * 8 words, 64-byte aligned */
	uint64_t block_mask;     /* nblocks - 1 (power of two) */
	uint64_t additions;      /* increments since the last halving (writer lock) */
	uint64_t sample;         /* halve when additions reaches this */
	uint64_t halvings;       /* how many times it aged (writer lock) */
};

/*
 * Sizes the sketch for `items` distinct hot keys: about 16 counters (8 bytes)
 * per item rounded to a power of two, so each row is ~4x wider than the item
 * count; sample = 10 * items (Caffeine's choice), both with small minimums.
 * 0, or -1 with errno ENOMEM.
 */
int ec_sketch_init(struct ec_sketch *s, uint64_t items);
void ec_sketch_fini(struct ec_sketch *s);

/* Counts one access; halves the sketch when the sample is reached. Writer. */
void ec_sketch_add(struct ec_sketch *s, struct ec_hash128 h);

/* The estimate: the minimum of the key's 4 counters (0..15). Any thread. */
unsigned ec_sketch_estimate(const struct ec_sketch *s, struct ec_hash128 h);

/* Halves every counter (the TinyLFU reset). Writer. */
void ec_sketch_halve(struct ec_sketch *s);

#endif /* EC_STORE_SKETCH_H */
