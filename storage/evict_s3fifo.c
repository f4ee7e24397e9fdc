/*
 * storage/evict_s3fifo.c — S3-FIFO eviction, byte-weighted.
 *
 * Yang et al., "FIFO queues are all you need for cache eviction", SOSP 2023
 * (Algorithm 1), as adapted to weights by Pingora's TinyUFO (tinyufo/src/
 * lib.rs) and as in libCacheSim's S3FIFO.c, the authors' reference:
 *
 *   - small FIFO (target 10 % of the capacity in bytes), main FIFO, and a
 *     ghost of keys evicted from small (budget 90 % of the capacity, in the
 *     bytes the keys stood for: libCacheSim's ghost_size_ratio 0.9);
 *   - each object has a frequency 0..3, bumped on a hit with a CAS on the
 *     object only (s3_hit runs with no lock at all, after the lookup released
 *     its shard lock: hits never take the eviction lock);
 *   - insert: to main when the key is in the ghost, else to small, freq 0;
 *   - evict: from small while small holds >= its target (or main is empty):
 *     the tail moves to main (freq reset to 0) if freq > 1, i.e. it was hit at
 *     least twice while in small — the paper's pseudocode, TinyUFO's
 *     `uses() > 1` and libCacheSim's default move_to_main_threshold = 2 — else
 *     it is the victim and its key goes to the ghost; otherwise from main: a
 *     tail with freq > 0 is reinserted at the head with freq - 1, else it is
 *     the victim.
 *
 * Everything but the hit runs under the eviction lock.
 */
#include "storage/store_priv.h"

#define FREQ_CAP 3u

static int s3_init(struct ec_evict *ev)
{
	return ec_ghost_init(&ev->ghost, ev->capacity - ev->small_target);
}

static void s3_fini(struct ec_evict *ev)
{
	ec_ghost_fini(&ev->ghost);
}

/* Lock-free: a CAS loop that stops at the cap, so a saturated hot object is
 * only read, never written, by further hits (no cache-line ping-pong). */
static void s3_hit(struct ec_obj *o)
{
	uint8_t f = atomic_load_explicit(&o->freq, memory_order_relaxed);

	while (f < FREQ_CAP &&
	       !atomic_compare_exchange_weak_explicit(&o->freq, &f, (uint8_t)(f + 1),
	                                              memory_order_relaxed, memory_order_relaxed))
		;
}

/* Decrements the frequency unless 0; returns the value before. */
static unsigned freq_dec(struct ec_obj *o)
{
	uint8_t f = atomic_load_explicit(&o->freq, memory_order_relaxed);

	while (f > 0 &&
	       !atomic_compare_exchange_weak_explicit(&o->freq, &f, (uint8_t)(f - 1),
	                                              memory_order_relaxed, memory_order_relaxed))
		;
	return f;
}

static void s3_push(struct ec_evict *ev, struct ec_obj *o)
{
	atomic_store_explicit(&o->freq, 0, memory_order_relaxed);
	if (ec_ghost_contains(&ev->ghost, ec_ghost_fp(o->hash.lo, o->hash.hi))) {
		ev->ghost_hits++;
		ec_evict__q_push_head(ev, EC_OQ_MAIN, o);
	} else {
		ec_evict__q_push_head(ev, EC_OQ_SMALL, o);
	}
}

static struct ec_obj *s3_victim(struct ec_evict *ev, enum ec_obj_queue *from)
{
	struct ec_evict_q *small = &ev->q[EC_OQ_SMALL];
	struct ec_evict_q *main = &ev->q[EC_OQ_MAIN];
	/*
	 * Concurrent hits can bump main objects while we rotate; after a few
	 * full turns take the tail whatever its frequency, so the eviction lock
	 * is never held for long (each turn already costs every object 1).
	 */
	uint64_t budget = (main->count + small->count) * (FREQ_CAP + 1) + 1;

	for (;;) {
		struct ec_obj *o;

		if (small->count > 0 && (small->bytes >= ev->small_target || main->count == 0)) {
			o = ec_evict__q_pop_tail(ev, EC_OQ_SMALL);
			if (atomic_load_explicit(&o->freq, memory_order_relaxed) > 1) {
				atomic_store_explicit(&o->freq, 0, memory_order_relaxed);
				ec_evict__q_push_head(ev, EC_OQ_MAIN, o);
				continue;
			}
			*from = EC_OQ_SMALL;
			return o;
		}
		if (main->count == 0)
			return NULL;
		o = ec_evict__q_pop_tail(ev, EC_OQ_MAIN);
		if (budget > 0 && freq_dec(o) > 0) {
			budget--;
			ec_evict__q_push_head(ev, EC_OQ_MAIN, o);
			continue;
		}
		*from = EC_OQ_MAIN;
		return o;
	}
}

/* The candidate lost to this victim: it stays the next victim of its queue,
 * so the next candidate is measured against it again (as in W-TinyLFU). */
static void s3_restore(struct ec_evict *ev, struct ec_obj *o, enum ec_obj_queue from)
{
	ec_evict__q_push_tail(ev, from, o);
}

static void s3_evicted(struct ec_evict *ev, struct ec_obj *o, enum ec_obj_queue from)
{
	if (from == EC_OQ_SMALL)
		(void)ec_ghost_add(&ev->ghost, ec_ghost_fp(o->hash.lo, o->hash.hi), o->charge);
}

const struct ec_evict_ops ec_evict_s3fifo = {
        .name = "s3fifo",
        .init = s3_init,
        .fini = s3_fini,
        .hit = s3_hit,
        .touch = NULL,
        .push = s3_push,
        .victim = s3_victim,
        .restore = s3_restore,
        .evicted = s3_evicted,
};
