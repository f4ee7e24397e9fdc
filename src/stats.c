/*
 * stats.c — summing per-worker counters (see stats.h).
 */
#include <string.h>

#include "stats.h"

#define SUM_counter(d, s) ((d) += (s))
#define SUM_gauge(d, s) ((d) += (s))
#define SUM_gmax(d, s) ((d) = (s) > (d) ? (s) : (d))

void ec_stats_sum(struct ec_stats *dst, const struct ec_stats *src)
{
#define X(name, kind, help) SUM_##kind(dst->name, __atomic_load_n(&src->name, __ATOMIC_RELAXED));
#include "tbl/counters.h"
#undef X
}

void ec_stats_count_request(struct ec_stats *st, const char *token, uint64_t bytes)
{
	if (token == NULL) {
		EC_STAT_INC(st, cache_req_other);
		EC_STAT_ADD(st, bytes_from_origin, bytes);
		return;
	}
	if (strcmp(token, "hit") == 0) {
		EC_STAT_INC(st, cache_req_hit);
		EC_STAT_ADD(st, bytes_hit_memory, bytes);
		return;
	}
	if (strcmp(token, "hit-disk") == 0) {
		EC_STAT_INC(st, cache_req_hit_disk);
		EC_STAT_ADD(st, bytes_hit_disk, bytes);
		return;
	}
	if (strncmp(token, "stale-", 6) == 0) {
		EC_STAT_INC(st, cache_req_stale);
		EC_STAT_ADD(st, bytes_hit_memory, bytes);
		return;
	}
	EC_STAT_ADD(st, bytes_from_origin, bytes);
	if (strncmp(token, "revalidated", 11) == 0)
		EC_STAT_INC(st, cache_req_revalidated);
	else if (strcmp(token, "collapsed") == 0)
		EC_STAT_INC(st, cache_req_collapsed);
	else if (strstr(token, "miss") != NULL)
		EC_STAT_INC(st, cache_req_miss);
	else if (strcmp(token, "expired") == 0)
		EC_STAT_INC(st, cache_req_expired);
	else
		EC_STAT_INC(st, cache_req_pass);
}
