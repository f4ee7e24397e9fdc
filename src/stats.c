/*
 * stats.c — summing per-worker counters (see stats.h).
 */
#include "stats.h"

void ec_stats_sum(struct ec_stats *dst, const struct ec_stats *src)
{
#define X(name, kind, help) dst->name += __atomic_load_n(&src->name, __ATOMIC_RELAXED);
#include "tbl/counters.h"
#undef X
}
