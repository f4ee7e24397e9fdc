/*
 * lb.h — backend selection algorithms for an origin group, as a table of
 * function pointers (one file per family would be overkill for ~50 lines
 * each; they share the ring and per-worker state helpers in lb.c):
 *
 *   wrr         smooth weighted round-robin, as nginx: every pick adds each
 *               candidate's weight to its current weight, takes the largest
 *               and subtracts the candidates' total from it. Exact weights
 *               over each cycle, and no bursts to one backend.
 *   least_conn  fewest in-flight requests per unit of weight; ties go
 *               round-robin.
 *   ketama      consistent hashing on the cache key with nginx's point layout
 *               (`hash ... consistent`): 160 points per unit of weight, point
 *               j of a backend "HOST:PORT" is crc32(HOST "\0" PORT prev) where
 *               prev is point j-1's value (little-endian, 0 for the first);
 *               a key's crc32 picks the first point at or after it. Adding one
 *               of N backends moves about 1/N of the keys.
 *   p2c         power of two random choices on in-flight requests (weighted).
 *
 * The caller (origin.c) decides which backends are candidates — healthy, not
 * yet tried, primaries before backups — and passes them as a bit mask, with
 * each backend's in-flight count. Groups have at most EC_LB_MAX backends.
 *
 * State: one per group and site generation. Mutable parts are per worker
 * (row `worker` of the state), so picks take no lock; a worker index past
 * the rows given at creation shares row worker % rows (still correct for
 * ketama and the loads; wrr/p2c state then races, harmlessly).
 * Pure: no I/O, no libevent; unit-tested in tests/unit/check_lb.c.
 */
#ifndef EC_LB_H
#define EC_LB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EC_LB_MAX           64
#define EC_LB_KETAMA_POINTS 160

struct ec_lb_peer {
	const char *name; /* "HOST:PORT" (ketama points) */
	unsigned weight;  /* >= 1 */
};

/* Creates the state for n peers (copied) and `rows` workers; NULL when out of memory. */
typedef void *ec_lb_new_f(const struct ec_lb_peer *peers, unsigned n, unsigned rows);
/*
 * Picks one of the peers whose bit is set in `cand` (never empty). `load[i]`
 * is peer i's in-flight count (least_conn, p2c); `hash` the request's key
 * hash (ketama). Returns the peer index.
 */
typedef unsigned ec_lb_pick_f(void *st, unsigned worker, uint64_t cand, const unsigned *load,
                              uint32_t hash);
typedef void ec_lb_free_f(void *st);

struct ec_lb_ops {
	const char *name;
	ec_lb_new_f *create;
	ec_lb_pick_f *pick;
	ec_lb_free_f *destroy;
};

extern const struct ec_lb_ops ec_lb_wrr, ec_lb_least_conn, ec_lb_ketama, ec_lb_p2c;

/* The algorithm named `name` ("wrr", "least_conn", "ketama", "p2c"), or NULL. */
const struct ec_lb_ops *ec_lb_find(const char *name);

/* CRC-32 (IEEE 802.3, as zlib and nginx's ngx_crc32_long). */
uint32_t ec_lb_crc32(const void *p, size_t n);

#endif /* EC_LB_H */
