/*
 * lb.c — the selection algorithms (see lb.h for each one's rules).
 *
 * Every state starts with the peers' weights and names and per-worker rows
 * (cache-line aligned so that workers never share a line while picking).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ec_util.h"
#include "lb.h"

/* ---- crc32 --------------------------------------------------------------- */

static uint32_t crc_table[256];

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc_update(uint32_t crc, const void *p, size_t n)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, crc_init);
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++)
		crc = crc_table[(crc ^ s[i]) & 0xff] ^ (crc >> 8);
	return crc;
}

uint32_t ec_lb_crc32(const void *p, size_t n)
{
	return crc_update(0xffffffffu, p, n) ^ 0xffffffffu;
}

/* ---- shared state -------------------------------------------------------- */

struct row {
	int64_t cw[EC_LB_MAX]; /* wrr current weights */
	uint64_t rng;          /* p2c */
	unsigned cursor;       /* least_conn ties */
} __attribute__((aligned(EC_CACHELINE)));

struct point {
	uint32_t hash;
	unsigned peer;
};

struct lbstate {
	unsigned n, rows;
	unsigned weight[EC_LB_MAX];
	struct row *row;
	struct point *points; /* ketama */
	unsigned npoints;
};

static void *state_new(const struct ec_lb_peer *peers, unsigned n, unsigned rows)
{
	EC_ASSERT(n >= 1 && n <= EC_LB_MAX);
	struct lbstate *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->n = n;
	s->rows = rows ? rows : 1;
	if (posix_memalign((void **)&s->row, EC_CACHELINE, s->rows * sizeof(*s->row)) != 0) {
		free(s);
		return NULL;
	}
	memset(s->row, 0, s->rows * sizeof(*s->row));
	for (unsigned r = 0; r < s->rows; r++)
		s->row[r].rng = 0x9e3779b97f4a7c15ull * (r + 1);
	for (unsigned i = 0; i < n; i++)
		s->weight[i] = peers[i].weight ? peers[i].weight : 1;
	return s;
}

static void state_free(void *st)
{
	struct lbstate *s = st;
	if (s == NULL)
		return;
	free(s->points);
	free(s->row);
	free(s);
}

static struct row *row_of(struct lbstate *s, unsigned worker)
{
	return &s->row[worker % s->rows];
}

static unsigned lowest(uint64_t m)
{
	return (unsigned)__builtin_ctzll(m);
}

/* ---- smooth weighted round-robin ----------------------------------------- */

static unsigned wrr_pick(void *st, unsigned worker, uint64_t cand, const unsigned *load,
                         uint32_t hash)
{
	(void)load;
	(void)hash;
	struct lbstate *s = st;
	struct row *r = row_of(s, worker);
	int64_t total = 0;
	unsigned best = lowest(cand);
	for (uint64_t m = cand; m; m &= m - 1) {
		unsigned i = lowest(m);
		r->cw[i] += s->weight[i];
		total += s->weight[i];
		if (r->cw[i] > r->cw[best])
			best = i;
	}
	r->cw[best] -= total;
	return best;
}

const struct ec_lb_ops ec_lb_wrr = {"wrr", state_new, wrr_pick, state_free};

/* ---- least connections ----------------------------------------------------- */

static unsigned lc_pick(void *st, unsigned worker, uint64_t cand, const unsigned *load,
                        uint32_t hash)
{
	(void)hash;
	struct lbstate *s = st;
	struct row *r = row_of(s, worker);
	unsigned start = r->cursor++ % s->n, best = EC_LB_MAX;
	for (unsigned k = 0; k < s->n; k++) {
		unsigned i = (start + k) % s->n;
		if (!(cand >> i & 1))
			continue;
		/* load[i]/w[i] < load[best]/w[best], without division */
		if (best == EC_LB_MAX ||
		    (uint64_t)load[i] * s->weight[best] < (uint64_t)load[best] * s->weight[i])
			best = i;
	}
	EC_ASSERT(best < EC_LB_MAX);
	return best;
}

const struct ec_lb_ops ec_lb_least_conn = {"least_conn", state_new, lc_pick, state_free};

/* ---- power of two choices -------------------------------------------------- */

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static unsigned p2c_pick(void *st, unsigned worker, uint64_t cand, const unsigned *load,
                         uint32_t hash)
{
	(void)hash;
	struct lbstate *s = st;
	struct row *r = row_of(s, worker);
	unsigned idx[EC_LB_MAX], k = 0;
	for (uint64_t m = cand; m; m &= m - 1)
		idx[k++] = lowest(m);
	if (k == 1)
		return idx[0];
	unsigned a = (unsigned)(xorshift(&r->rng) % k);
	unsigned b = (unsigned)(xorshift(&r->rng) % (k - 1));
	if (b >= a)
		b++;
	unsigned pa = idx[a], pb = idx[b];
	/* fewer in flight per unit of weight wins; a tie goes to the first draw */
	if ((uint64_t)load[pb] * s->weight[pa] < (uint64_t)load[pa] * s->weight[pb])
		return pb;
	return pa;
}

const struct ec_lb_ops ec_lb_p2c = {"p2c", state_new, p2c_pick, state_free};

/* ---- ketama ----------------------------------------------------------------- */

static int point_cmp(const void *a, const void *b)
{
	const struct point *x = a, *y = b;
	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->peer < y->peer ? -1 : x->peer > y->peer;
}

static void *ketama_new(const struct ec_lb_peer *peers, unsigned n, unsigned rows)
{
	struct lbstate *s = state_new(peers, n, rows);
	if (s == NULL)
		return NULL;
	size_t total = 0;
	for (unsigned i = 0; i < n; i++)
		total += (size_t)s->weight[i] * EC_LB_KETAMA_POINTS;
	s->points = calloc(total, sizeof(*s->points));
	if (s->points == NULL) {
		state_free(s);
		return NULL;
	}
	for (unsigned i = 0; i < n; i++) {
		/* nginx: host and port split at the last ':', joined by a NUL */
		const char *name = peers[i].name;
		const char *colon = strrchr(name, ':');
		size_t hl = colon ? (size_t)(colon - name) : strlen(name);
		const char *port = colon ? colon + 1 : "";
		uint32_t base = crc_update(0xffffffffu, name, hl);
		base = crc_update(base, "", 1);
		base = crc_update(base, port, strlen(port));
		uint32_t prev = 0;
		for (unsigned j = 0; j < s->weight[i] * EC_LB_KETAMA_POINTS; j++) {
			unsigned char pb[4] = {(unsigned char)prev, (unsigned char)(prev >> 8),
			                       (unsigned char)(prev >> 16),
			                       (unsigned char)(prev >> 24)};
			uint32_t h = crc_update(base, pb, 4) ^ 0xffffffffu;
			s->points[s->npoints].hash = h;
			s->points[s->npoints].peer = i;
			s->npoints++;
			prev = h;
		}
	}
	qsort(s->points, s->npoints, sizeof(*s->points), point_cmp);
	/* nginx keeps the first of equal hashes */
	unsigned j = 0;
	for (unsigned i = 0; i < s->npoints; i++)
		if (j == 0 || s->points[i].hash != s->points[j - 1].hash)
			s->points[j++] = s->points[i];
	s->npoints = j;
	return s;
}

static unsigned ketama_pick(void *st, unsigned worker, uint64_t cand, const unsigned *load,
                            uint32_t hash)
{
	(void)worker;
	(void)load;
	struct lbstate *s = st;
	unsigned lo = 0, hi = s->npoints;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (s->points[mid].hash < hash)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* the first usable peer clockwise from the key */
	for (unsigned k = 0; k < s->npoints; k++) {
		unsigned p = s->points[(lo + k) % s->npoints].peer;
		if (cand >> p & 1)
			return p;
	}
	return lowest(cand);
}

const struct ec_lb_ops ec_lb_ketama = {"ketama", ketama_new, ketama_pick, state_free};

const struct ec_lb_ops *ec_lb_find(const char *name)
{
	static const struct ec_lb_ops *const all[] = {&ec_lb_wrr, &ec_lb_least_conn, &ec_lb_ketama,
	                                              &ec_lb_p2c};
	for (size_t i = 0; i < EC_ARRAY_LEN(all); i++)
		if (strcmp(all[i]->name, name) == 0)
			return all[i];
	return NULL;
}
