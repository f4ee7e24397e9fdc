/*
 * stats.h — per-worker counters (the table is include/tbl/counters.h).
 *
 * Each worker owns one struct ec_stats and is its only writer, with plain
 * (non-atomic) increments on its own cache lines. Readers on other threads
 * (admin API) sum the workers' structs with relaxed loads: a sum may be a
 * few increments behind, never torn on x86-64 and aarch64 for aligned
 * 64-bit words.
 */
#ifndef EC_STATS_H
#define EC_STATS_H

#include <stdint.h>

#include "ec_util.h"

struct ec_stats {
#define X(name, kind, help) uint64_t name;
#include "tbl/counters.h"
#undef X
} __attribute__((aligned(EC_CACHELINE)));

#define EC_STAT_INC(st, name) ((st)->name++)
#define EC_STAT_ADD(st, name, n) ((st)->name += (n))
#define EC_STAT_DEC(st, name) ((st)->name--)

/* Adds every field of `src` into `dst` (relaxed reads of another thread's struct). */
void ec_stats_sum(struct ec_stats *dst, const struct ec_stats *src);

/*
 * Counts one finished request by its cache outcome (the access log's token,
 * ec_cache_log_token: "hit", "hit-disk", "miss-stored", "stale-swr", ...;
 * NULL when the cache step never ran) and its body bytes by where they came
 * from. The worker's own struct only.
 */
void ec_stats_count_request(struct ec_stats *st, const char *token, uint64_t bytes);

#endif /* EC_STATS_H */
