/*
 * route.h — which origin group serves a request (Host and path prefix), and
 * which of its backends takes the next try.
 *
 * Routing: the groups under `groups:` are tried in order; a group matches
 * when its hosts list is empty or names the request's host (port removed,
 * case-insensitive; "*.example.com" matches any subdomain) and its paths
 * list is empty or holds a prefix of the path. No match: the default group
 * (the -o / origins: backends), or the first group when there is none.
 *
 * Picking: candidates are the group's usable primaries (healthy, or due for
 * a probe) not tried yet; none → usable backups; none → every untried
 * primary, then backup, anyway (all marked down: try rather than refuse —
 * a dead one fails its connect and the request gets its 502). The group's
 * algorithm (lb.h) chooses among the candidates.
 *
 * Thread: the request's worker; reads the site (immutable) and the shared
 * backend state (origin_stats.h).
 */
#ifndef EC_ROUTE_H
#define EC_ROUTE_H

#include <stdint.h>

#include "ec_util.h"

struct ec_site;

/* The group index for a request to `host` (may carry :port) and `path`. */
unsigned ec_route_group(const struct ec_site *s, struct ec_str host, struct ec_str path);

/*
 * A backend of group g, as an index into s->backends, skipping the group's
 * backends whose bit (index - first) is set in `tried`; -1 when every one was
 * tried. `hash` is the request's key hash (ketama); `worker` the caller's
 * worker id; `now` wall-clock seconds.
 */
int ec_route_pick(const struct ec_site *s, unsigned g, unsigned worker, uint64_t tried,
                  uint32_t hash, double now);

#endif /* EC_ROUTE_H */
