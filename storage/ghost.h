/*
 * storage/ghost.h — the S3-FIFO ghost queue: fingerprints of keys recently
 * evicted from the small FIFO, remembered in FIFO order up to a byte budget
 * (the weights of the objects they stood for). A key found here on insert
 * goes straight to the main FIFO.
 *
 * A ring of (fingerprint, weight) in eviction order plus an open-addressing
 * set (linear probing, backward-shift deletion) of fingerprint -> count, so
 * membership is O(1). Entries are never removed on a ghost hit: they age out
 * in FIFO order (a key may be in the ring twice; the count handles it).
 *
 * Not thread-safe: the store only touches it under the eviction lock.
 */
#ifndef EC_STORE_GHOST_H
#define EC_STORE_GHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ec_ghost_ent {
	uint64_t fp;
	uint64_t weight;
};

struct ec_ghost {
	struct ec_ghost_ent *ring; /* FIFO: oldest at head */
	size_t ring_cap;           /* power of two */
	size_t head;
	size_t len;
	uint64_t bytes; /* sum of weights in the ring */
	uint64_t limit; /* byte budget */

	uint64_t *set_fp;    /* 0 = empty slot */
	uint32_t *set_count; /* ring entries with this fingerprint */
	size_t set_mask;     /* slots - 1 (power of two) */
	size_t set_used;
};

/* 0, or -1 with errno ENOMEM. */
int ec_ghost_init(struct ec_ghost *g, uint64_t limit_bytes);
void ec_ghost_fini(struct ec_ghost *g);

/* The fingerprint the ghost keeps for a key hash (never 0). */
uint64_t ec_ghost_fp(uint64_t lo, uint64_t hi);

/*
 * Remembers fp with its weight, forgetting the oldest entries beyond the
 * budget. A weight above the whole budget is not remembered. Out of memory
 * drops the entry silently (the ghost is a hint): returns false then.
 */
bool ec_ghost_add(struct ec_ghost *g, uint64_t fp, uint64_t weight);

bool ec_ghost_contains(const struct ec_ghost *g, uint64_t fp);

#endif /* EC_STORE_GHOST_H */
