/*
 * policy/learn.h — the freshness predictor: learns, per primary key, how
 * long a representation really stays the same, from what revalidations
 * tell us (a 304 or the same validator: unchanged; a new validator:
 * changed), so that responses without explicit freshness can be given a
 * heuristic lifetime (RFC 9111 §4.2.2 lets a cache choose its heuristic)
 * that fits the object instead of a blanket one.
 *
 * The estimate is half of the span over which the representation has been
 * seen unchanged, within operator bounds: an object that has not changed
 * for an hour is trusted for half an hour; one that just changed gets the
 * minimum again. Each validation that confirms it extends the span, so the
 * lifetime grows geometrically for stable objects and collapses at once
 * when they change.
 *
 * Storage: a fixed-size sharded table of 64-bit key hashes with LRU
 * replacement per shard (one mutex per shard). Thread-safe; no I/O.
 */
#ifndef EC_POLICY_LEARN_H
#define EC_POLICY_LEARN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ec_learn;

/* Remembers up to `capacity` keys (at least 64). NULL on ENOMEM. */
struct ec_learn *ec_learn_new(size_t capacity);
void ec_learn_free(struct ec_learn **lp);

/*
 * An origin answered for `key` at `now` with a representation whose
 * validator hashes to `validator` (ETag, else Last-Modified; 0 = none:
 * ignored). `confirmed` is true for a 304 (the validator is the stored one).
 */
void ec_learn_observe(struct ec_learn *l, uint64_t key, uint64_t validator, bool confirmed,
		      int64_t now);

/*
 * The learned lifetime for `key` at `now`: half of how long it has been
 * seen unchanged, clamped to [min, max]; 0 when nothing is known.
 */
int64_t ec_learn_lifetime(struct ec_learn *l, uint64_t key, int64_t now, int64_t min,
			  int64_t max);

#endif /* EC_POLICY_LEARN_H */
