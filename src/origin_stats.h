/*
 * origin_stats.h — what every backend shares across workers: its health
 * (health.h) and its counters — requests, errors, in flight, pool use and a
 * latency histogram — plus the JSON view of all groups for the admin API's
 * `/backends`.
 *
 * Threads: any. Counters are relaxed atomics (a backend's line is written by
 * every worker that uses it; the cost is one locked add per event). Health
 * transitions take the backend's mutex; the fast path (an up backend, no
 * failure streak) reads atomics only. The current site for the JSON view is
 * published by the main thread (ec_origin_publish) under a mutex.
 */
#ifndef EC_ORIGIN_STATS_H
#define EC_ORIGIN_STATS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "ec_util.h"
#include "health.h"

struct evbuffer;
struct ec_site;
struct ec_backend;
struct ec_conf_lb;

#define EC_LAT_BUCKETS 64 /* bucket i holds latencies up to 0.1 ms * 2^(i/4); the last, more */

struct ec_bstate {
	pthread_mutex_t lock; /* health */
	struct ec_health health;
	uint64_t requests;            /* exchanges started (each try counts) */
	uint64_t errors;              /* tries that failed, and 5xx responses */
	unsigned inflight;            /* exchanges running now */
	int pool_idle;                /* idle pooled connections, all workers */
	uint64_t pool_new;            /* connections opened */
	uint64_t pool_reused;         /* exchanges on a pooled connection */
	uint64_t lat[EC_LAT_BUCKETS]; /* time to the response head */
	uint64_t lat_sum_us;          /* their sum, in microseconds */
} __attribute__((aligned(EC_CACHELINE)));

void ec_bstate_init(struct ec_bstate *st, bool active);
void ec_bstate_destroy(struct ec_bstate *st);

#define EC_BSTAT_ADD(st, f, n) __atomic_add_fetch(&(st)->f, (n), __ATOMIC_RELAXED)
#define EC_BSTAT_GET(st, f)    __atomic_load_n(&(st)->f, __ATOMIC_RELAXED)

/* Records a response head after `seconds`. */
void ec_bstate_latency(struct ec_bstate *st, double seconds);
/* The latency below which fraction q of the recorded ones fall, in ms (bucket bound). */
double ec_bstate_quantile(const struct ec_bstate *st, double q);

/* The outcome of one exchange with b: feeds passive health, logs and counts a
 * state change. `ok` false for a connect failure, a timeout or a 5xx. */
void ec_backend_result(const struct ec_backend *b, const struct ec_conf_lb *c, bool ok, double now);
/* An active check's outcome (health_check.c). */
void ec_backend_check_result(const struct ec_backend *b, const struct ec_conf_lb *c, bool ok,
                             const char *why, double now);
/* Whether a pick may use b now (see ec_health_usable); `claim` for the
 * backend picked, which takes its probe when it is down. */
bool ec_backend_usable(const struct ec_backend *b, const struct ec_conf_lb *c, double now,
                       bool claim);
/* "up" or "down". */
const char *ec_backend_health_name(const struct ec_backend *b);

/*
 * Publishes `s` as the current site (main thread, at start and after each
 * reload; NULL at exit): the JSON view reads it, and the health states of
 * backends with the same identity carry over from the previous site.
 */
void ec_origin_publish(struct ec_site *s);

/* Health state transitions since start, all backends (for tests/stats). */
uint64_t ec_origin_health_changes(void);

#endif /* EC_ORIGIN_STATS_H */
