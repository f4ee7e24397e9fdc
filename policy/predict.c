/*
 * policy/predict.c — the cacheability predictor (see predict.h).
 *
 * Each shard: `cap` slots, an open-addressing index (linear probing over
 * 2×cap buckets holding slot numbers) and a doubly linked LRU list of used
 * slots. Deletion uses backward-shift so probes stay short without
 * tombstones.
 */
#include <pthread.h>
#include <stdlib.h>

#include "ec_util.h"
#include "policy/predict.h"

#define NSHARDS 16
#define EMPTY UINT32_MAX

struct slot {
	uint64_t hash;
	int64_t when;
	uint32_t prev, next; /* LRU list, EMPTY-terminated */
	uint32_t bucket;     /* where the index points at this slot */
};

struct shard {
	pthread_mutex_t lock;
	uint32_t cap, used, nbuckets;
	uint32_t head, tail; /* most / least recently marked */
	uint32_t freelist;
	struct slot *slots;
	uint32_t *buckets;
} __attribute__((aligned(EC_CACHELINE)));

struct ec_predict {
	int64_t ttl;
	struct shard shards[NSHARDS];
};

static struct shard *shard_of(struct ec_predict *p, uint64_t h)
{
	return &p->shards[(h >> 59) % NSHARDS];
}

static uint32_t bucket_of(const struct shard *s, uint64_t h)
{
	return (uint32_t)(h % s->nbuckets);
}

static uint32_t find(const struct shard *s, uint64_t h)
{
	for (uint32_t b = bucket_of(s, h), n = 0; n < s->nbuckets; n++, b = (b + 1) % s->nbuckets) {
		uint32_t i = s->buckets[b];
		if (i == EMPTY)
			return EMPTY;
		if (s->slots[i].hash == h)
			return i;
	}
	return EMPTY;
}

static void lru_unlink(struct shard *s, uint32_t i)
{
	struct slot *x = &s->slots[i];
	if (x->prev != EMPTY)
		s->slots[x->prev].next = x->next;
	else
		s->head = x->next;
	if (x->next != EMPTY)
		s->slots[x->next].prev = x->prev;
	else
		s->tail = x->prev;
}

static void lru_push_head(struct shard *s, uint32_t i)
{
	struct slot *x = &s->slots[i];
	x->prev = EMPTY;
	x->next = s->head;
	if (s->head != EMPTY)
		s->slots[s->head].prev = i;
	s->head = i;
	if (s->tail == EMPTY)
		s->tail = i;
}

/* Removes slot i from the index (backward-shift deletion) and the LRU. */
static void drop(struct shard *s, uint32_t i)
{
	uint32_t b = s->slots[i].bucket;
	s->buckets[b] = EMPTY;
	for (uint32_t j = (b + 1) % s->nbuckets; s->buckets[j] != EMPTY;
	     j = (j + 1) % s->nbuckets) {
		uint32_t k = s->buckets[j];
		uint32_t home = bucket_of(s, s->slots[k].hash);
		/* move k into the hole when its home is not in (b, j] (cyclically) */
		bool between = b <= j ? (home > b && home <= j) : (home > b || home <= j);
		if (!between) {
			s->buckets[b] = k;
			s->slots[k].bucket = b;
			s->buckets[j] = EMPTY;
			b = j;
		}
	}
	lru_unlink(s, i);
	s->slots[i].next = s->freelist;
	s->freelist = i;
	s->used--;
}

struct ec_predict *ec_predict_new(size_t capacity, int64_t ttl)
{
	struct ec_predict *p = aligned_alloc(EC_CACHELINE, sizeof(*p));
	if (p == NULL)
		return NULL;
	memset(p, 0, sizeof(*p));
	p->ttl = ttl;
	uint32_t cap = (uint32_t)EC_MAX(capacity / NSHARDS, (size_t)4);
	for (int i = 0; i < NSHARDS; i++) {
		struct shard *s = &p->shards[i];
		pthread_mutex_init(&s->lock, NULL);
		s->cap = cap;
		s->nbuckets = cap * 2;
		s->slots = calloc(cap, sizeof(*s->slots));
		s->buckets = malloc(s->nbuckets * sizeof(*s->buckets));
		if (s->slots == NULL || s->buckets == NULL) {
			ec_predict_free(&p);
			return NULL;
		}
		for (uint32_t b = 0; b < s->nbuckets; b++)
			s->buckets[b] = EMPTY;
		s->head = s->tail = EMPTY;
		for (uint32_t k = 0; k < cap; k++)
			s->slots[k].next = k + 1 < cap ? k + 1 : EMPTY;
		s->freelist = 0;
	}
	return p;
}

void ec_predict_free(struct ec_predict **pp)
{
	struct ec_predict *p = *pp;
	*pp = NULL;
	if (p == NULL)
		return;
	for (int i = 0; i < NSHARDS; i++) {
		free(p->shards[i].slots);
		free(p->shards[i].buckets);
		if (p->shards[i].cap)
			pthread_mutex_destroy(&p->shards[i].lock);
	}
	free(p);
}

bool ec_predict_uncacheable(struct ec_predict *p, uint64_t hash, int64_t now)
{
	struct shard *s = shard_of(p, hash);
	bool hit = false;
	pthread_mutex_lock(&s->lock);
	uint32_t i = find(s, hash);
	if (i != EMPTY) {
		if (now - s->slots[i].when >= p->ttl)
			drop(s, i);
		else
			hit = true;
	}
	pthread_mutex_unlock(&s->lock);
	return hit;
}

void ec_predict_mark(struct ec_predict *p, uint64_t hash, int64_t now)
{
	struct shard *s = shard_of(p, hash);
	pthread_mutex_lock(&s->lock);
	uint32_t i = find(s, hash);
	if (i != EMPTY) {
		s->slots[i].when = now;
		lru_unlink(s, i);
		lru_push_head(s, i);
		pthread_mutex_unlock(&s->lock);
		return;
	}
	if (s->used == s->cap)
		drop(s, s->tail);
	i = s->freelist;
	EC_ASSERT(i != EMPTY);
	s->freelist = s->slots[i].next;
	s->slots[i].hash = hash;
	s->slots[i].when = now;
	uint32_t b = bucket_of(s, hash);
	while (s->buckets[b] != EMPTY)
		b = (b + 1) % s->nbuckets;
	s->buckets[b] = i;
	s->slots[i].bucket = b;
	lru_push_head(s, i);
	s->used++;
	pthread_mutex_unlock(&s->lock);
}

void ec_predict_clear(struct ec_predict *p, uint64_t hash)
{
	struct shard *s = shard_of(p, hash);
	pthread_mutex_lock(&s->lock);
	uint32_t i = find(s, hash);
	if (i != EMPTY)
		drop(s, i);
	pthread_mutex_unlock(&s->lock);
}

size_t ec_predict_count(struct ec_predict *p)
{
	size_t n = 0;
	for (int i = 0; i < NSHARDS; i++) {
		pthread_mutex_lock(&p->shards[i].lock);
		n += p->shards[i].used;
		pthread_mutex_unlock(&p->shards[i].lock);
	}
	return n;
}
