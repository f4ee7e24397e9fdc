/*
 * route.c — group routing and backend picking (rules in route.h).
 */
#include <string.h>
#include <strings.h>

#include "lb.h"
#include "origin_stats.h"
#include "route.h"
#include "site.h"

static bool host_match(const char *pat, const char *host, size_t hl)
{
	size_t pl = strlen(pat);
	if (pl > 2 && pat[0] == '*' && pat[1] == '.') {
		/* "*.x.org": a.x.org, a.b.x.org; not x.org */
		return hl > pl - 1 && strncasecmp(host + hl - (pl - 1), pat + 1, pl - 1) == 0;
	}
	return pl == hl && strncasecmp(pat, host, hl) == 0;
}

static bool group_match(const struct ec_conf_group *cg, struct ec_str host, struct ec_str path)
{
	if (cg->nhosts > 0) {
		size_t hl = host.len;
		if (hl > 0 && host.p[0] == '[') {
			const char *e = memchr(host.p, ']', hl);
			hl = e ? (size_t)(e - host.p) + 1 : hl;
		} else {
			const char *c = memchr(host.p, ':', hl);
			if (c != NULL)
				hl = (size_t)(c - host.p);
		}
		bool ok = false;
		for (unsigned i = 0; i < cg->nhosts && !ok; i++)
			ok = host_match(cg->hosts[i], host.p, hl);
		if (!ok)
			return false;
	}
	if (cg->npaths > 0) {
		bool ok = false;
		for (unsigned i = 0; i < cg->npaths && !ok; i++) {
			size_t n = strlen(cg->paths[i]);
			ok = path.len >= n && memcmp(path.p, cg->paths[i], n) == 0;
		}
		if (!ok)
			return false;
	}
	return true;
}

unsigned ec_route_group(const struct ec_site *s, struct ec_str host, struct ec_str path)
{
	for (unsigned g = 0; g < s->ngroups; g++)
		if (s->groups[g].cg != NULL && group_match(s->groups[g].cg, host, path))
			return g;
	return 0;
}

int ec_route_pick(const struct ec_site *s, unsigned g, unsigned worker, uint64_t tried,
                  uint32_t hash, double now)
{
	const struct ec_group *gr = &s->groups[g];
	uint64_t prim = 0, back = 0, up_prim = 0, up_back = 0;
	unsigned load[EC_LB_MAX];
	for (unsigned i = 0; i < gr->n; i++) {
		const struct ec_backend *b = &s->backends[gr->first + i];
		load[i] = EC_BSTAT_GET(b->st, inflight);
		if (tried >> i & 1)
			continue;
		uint64_t bit = 1ull << i;
		if (b->backup)
			back |= bit;
		else
			prim |= bit;
	}
	for (uint64_t m = prim; m; m &= m - 1) {
		unsigned i = (unsigned)__builtin_ctzll(m);
		if (ec_backend_usable(&s->backends[gr->first + i], gr->lbc, now, false))
			up_prim |= 1ull << i;
	}
	uint64_t cand = up_prim;
	if (cand == 0) {
		for (uint64_t m = back; m; m &= m - 1) {
			unsigned i = (unsigned)__builtin_ctzll(m);
			if (ec_backend_usable(&s->backends[gr->first + i], gr->lbc, now, false))
				up_back |= 1ull << i;
		}
		cand = up_back;
	}
	if (cand == 0)
		cand = prim ? prim : back;
	if (cand == 0)
		return -1;
	unsigned i = gr->ops->pick(gr->lb, worker, cand, load, hash);
	/* a down backend due for a probe: this request is the probe */
	ec_backend_usable(&s->backends[gr->first + i], gr->lbc, now, true);
	return (int)(gr->first + i);
}
