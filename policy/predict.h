/*
 * policy/predict.h — the cacheability predictor (Varnish's hit-for-miss,
 * Pingora's predictor): a bounded memory of the primary keys whose last
 * response the origin declared uncacheable, so that requests for them skip
 * the coalescing lock and go to the origin in parallel instead of queueing
 * behind each other for a response nobody can share.
 *
 * Only a definite verdict marks a key (no-store, private, set-cookie,
 * too large...). Transient failures — origin errors, timeouts, lock
 * timeouts — never do. A later storable response clears the mark; marks
 * also expire after `ttl` seconds so that an origin that changes its mind
 * is noticed.
 *
 * Storage: a sharded LRU of 64-bit key hashes (one mutex per shard), each
 * shard a small open-addressing table plus an intrusive LRU list; memory is
 * fixed at creation. Thread-safe; never blocks beyond a shard lock; no I/O.
 */
#ifndef EC_POLICY_PREDICT_H
#define EC_POLICY_PREDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ec_predict;

/* `capacity` keys in all (at least 64), remembered `ttl` seconds. NULL on ENOMEM. */
struct ec_predict *ec_predict_new(size_t capacity, int64_t ttl);
void ec_predict_free(struct ec_predict **pp);

/* Whether `hash` is marked uncacheable at `now`. */
bool ec_predict_uncacheable(struct ec_predict *p, uint64_t hash, int64_t now);
/* Marks `hash` uncacheable (evicting the least recently marked when full). */
void ec_predict_mark(struct ec_predict *p, uint64_t hash, int64_t now);
/* Forgets `hash` (a storable response came). */
void ec_predict_clear(struct ec_predict *p, uint64_t hash);
/* Marks currently held (for stats and tests). */
size_t ec_predict_count(struct ec_predict *p);

#endif /* EC_POLICY_PREDICT_H */
