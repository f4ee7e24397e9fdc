/*
 * storage/ghost.c — the S3-FIFO ghost queue (see ghost.h). Used only under
 * the store's eviction lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ec_util.h"
#include "storage/ghost.h"

#define RING_MIN 64u
#define SET_MIN  128u

int ec_ghost_init(struct ec_ghost *g, uint64_t limit_bytes)
{
	memset(g, 0, sizeof(*g));
	g->limit = limit_bytes;
	g->ring = calloc(RING_MIN, sizeof(*g->ring));
	g->set_fp = calloc(SET_MIN, sizeof(*g->set_fp));
	g->set_count = calloc(SET_MIN, sizeof(*g->set_count));
	if (g->ring == NULL || g->set_fp == NULL || g->set_count == NULL) {
		ec_ghost_fini(g);
		errno = ENOMEM;
		return -1;
	}
	g->ring_cap = RING_MIN;
	g->set_mask = SET_MIN - 1;
	return 0;
}

void ec_ghost_fini(struct ec_ghost *g)
{
	free(g->ring);
	free(g->set_fp);
	free(g->set_count);
	memset(g, 0, sizeof(*g));
}

uint64_t ec_ghost_fp(uint64_t lo, uint64_t hi)
{
	uint64_t fp = lo ^ (hi * 0x9E3779B97F4A7C15ull);
	return fp ? fp : 1;
}

static size_t set_find(const struct ec_ghost *g, uint64_t fp)
{
	size_t i = (size_t)fp & g->set_mask;
	while (g->set_fp[i] != 0 && g->set_fp[i] != fp)
		i = (i + 1) & g->set_mask;
	return i;
}

static void set_del_at(struct ec_ghost *g, size_t i)
{
	size_t j = i;

	/* Backward-shift deletion keeps every probe chain unbroken. */
	for (;;) {
		size_t k;

		j = (j + 1) & g->set_mask;
		if (g->set_fp[j] == 0)
			break;
		k = (size_t)g->set_fp[j] & g->set_mask;
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue; /* j's home is between the hole and j: it stays */
		g->set_fp[i] = g->set_fp[j];
		g->set_count[i] = g->set_count[j];
		i = j;
	}
	g->set_fp[i] = 0;
	g->set_count[i] = 0;
	g->set_used--;
}

static bool set_grow(struct ec_ghost *g)
{
	size_t n = (g->set_mask + 1) * 2;
	uint64_t *fp = calloc(n, sizeof(*fp));
	uint32_t *cnt = calloc(n, sizeof(*cnt));
	uint64_t *ofp = g->set_fp;
	uint32_t *ocnt = g->set_count;
	size_t on = g->set_mask + 1;

	if (fp == NULL || cnt == NULL) {
		free(fp);
		free(cnt);
		return false;
	}
	g->set_fp = fp;
	g->set_count = cnt;
	g->set_mask = n - 1;
	for (size_t i = 0; i < on; i++) {
		if (ofp[i] != 0) {
			size_t j = set_find(g, ofp[i]);
			g->set_fp[j] = ofp[i];
			g->set_count[j] = ocnt[i];
		}
	}
	free(ofp);
	free(ocnt);
	return true;
}

static bool ring_grow(struct ec_ghost *g)
{
	size_t n = g->ring_cap * 2;
	struct ec_ghost_ent *r = malloc(n * sizeof(*r));

	if (r == NULL)
		return false;
	for (size_t i = 0; i < g->len; i++)
		r[i] = g->ring[(g->head + i) & (g->ring_cap - 1)];
	free(g->ring);
	g->ring = r;
	g->ring_cap = n;
	g->head = 0;
	return true;
}

static void pop_oldest(struct ec_ghost *g)
{
	struct ec_ghost_ent e = g->ring[g->head];
	size_t i = set_find(g, e.fp);

	EC_ASSERT(g->len > 0);
	g->head = (g->head + 1) & (g->ring_cap - 1);
	g->len--;
	g->bytes -= e.weight;
	EC_ASSERT(g->set_fp[i] == e.fp && g->set_count[i] > 0);
	if (--g->set_count[i] == 0)
		set_del_at(g, i);
}

bool ec_ghost_add(struct ec_ghost *g, uint64_t fp, uint64_t weight)
{
	size_t i;

	EC_ASSERT(fp != 0);
	if (weight > g->limit)
		return false;
	while (g->len > 0 && g->bytes + weight > g->limit)
		pop_oldest(g);
	if (g->len == g->ring_cap && !ring_grow(g))
		return false;
	if ((g->set_used + 1) * 2 > g->set_mask + 1 && !set_grow(g))
		return false;
	g->ring[(g->head + g->len) & (g->ring_cap - 1)] = (struct ec_ghost_ent){fp, weight};
	g->len++;
	g->bytes += weight;
	i = set_find(g, fp);
	if (g->set_fp[i] == 0) {
		g->set_fp[i] = fp;
		g->set_used++;
	}
	g->set_count[i]++;
	return true;
}

bool ec_ghost_contains(const struct ec_ghost *g, uint64_t fp)
{
	return g->set_fp[set_find(g, fp)] == fp;
}
