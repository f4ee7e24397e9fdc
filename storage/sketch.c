/*
 * storage/sketch.c — the TinyLFU count-min sketch (see sketch.h for the
 * layout and the locking rule: one writer at a time, lock-free readers).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "storage/sketch.h"

#define WORDS_PER_BLOCK 8u
#define MIN_BLOCKS      1u
#define MIN_SAMPLE      64u
#define HALF_MASK       0x7777777777777777ull

static uint64_t next_pow2(uint64_t v)
{
	uint64_t p = 1;
	while (p < v && p < (UINT64_C(1) << 62))
		p <<= 1;
	return p;
}

int ec_sketch_init(struct ec_sketch *s, uint64_t items)
{
	uint64_t words, nblocks;
	size_t bytes;

	memset(s, 0, sizeof(*s));
	if (items < 1)
		items = 1;
	words = next_pow2(items);
	nblocks = words / WORDS_PER_BLOCK;
	if (nblocks < MIN_BLOCKS)
		nblocks = MIN_BLOCKS;
	bytes = (size_t)nblocks * WORDS_PER_BLOCK * sizeof(uint64_t);
	s->words = aligned_alloc(EC_CACHELINE, bytes);
	if (s->words == NULL) {
		errno = ENOMEM;
		return -1;
	}
	for (size_t i = 0; i < nblocks * WORDS_PER_BLOCK; i++)
		atomic_init(&s->words[i], 0);
	s->block_mask = nblocks - 1;
	s->sample = EC_MAX(items * 10, (uint64_t)MIN_SAMPLE);
	return 0;
}

void ec_sketch_fini(struct ec_sketch *s)
{
	free(s->words);
	s->words = NULL;
}

/*
 * Word index and nibble shift of row r's counter. The block comes from
 * hash.hi (the shard index uses its top bits, the block its low bits); the
 * in-block choice from the top half of hash.lo (the bucket index uses the
 * low half), 5 bits a row: 1 for the word of the row's pair, 4 for the nibble.
 */
static inline void slot(const struct ec_sketch *s, struct ec_hash128 h, unsigned r, size_t *w,
                        unsigned *shift)
{
	uint64_t block = h.hi & s->block_mask;
	uint64_t bits = (h.lo >> 32) >> (r * 5);

	*w = (size_t)(block * WORDS_PER_BLOCK + r * 2 + (bits & 1));
	*shift = (unsigned)((bits >> 1) & 15) * 4;
}

void ec_sketch_add(struct ec_sketch *s, struct ec_hash128 h)
{
	bool added = false;

	for (unsigned r = 0; r < 4; r++) {
		size_t w;
		unsigned shift;
		uint64_t v;

		slot(s, h, r, &w, &shift);
		v = atomic_load_explicit(&s->words[w], memory_order_relaxed);
		if (((v >> shift) & 15) < EC_SKETCH_MAX) {
			atomic_store_explicit(&s->words[w], v + (UINT64_C(1) << shift),
			                      memory_order_relaxed);
			added = true;
		}
	}
	/* Saturated keys do not advance the clock (as in Caffeine). */
	if (added && ++s->additions >= s->sample)
		ec_sketch_halve(s);
}

unsigned ec_sketch_estimate(const struct ec_sketch *s, struct ec_hash128 h)
{
	unsigned est = EC_SKETCH_MAX;

	for (unsigned r = 0; r < 4; r++) {
		size_t w;
		unsigned shift, c;

		slot(s, h, r, &w, &shift);
		c = (unsigned)((atomic_load_explicit(&s->words[w], memory_order_relaxed) >> shift) &
		               15);
		est = EC_MIN(est, c);
	}
	return est;
}

void ec_sketch_halve(struct ec_sketch *s)
{
	size_t n = (size_t)(s->block_mask + 1) * WORDS_PER_BLOCK;

	for (size_t i = 0; i < n; i++) {
		uint64_t v = atomic_load_explicit(&s->words[i], memory_order_relaxed);
		atomic_store_explicit(&s->words[i], (v >> 1) & HALF_MASK, memory_order_relaxed);
	}
	s->additions /= 2;
	s->halvings++;
}
