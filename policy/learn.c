/*
 * policy/learn.c — the freshness predictor (see learn.h).
 *
 * Each shard is a small set-associative table: WAYS entries per set, the
 * least recently touched entry of a set replaced on insert. Good enough
 * for an estimate: losing a key only means learning it again.
 */
#include <pthread.h>
#include <stdlib.h>

#include "ec_util.h"
#include "policy/learn.h"

#define NSHARDS 16
#define WAYS 4

struct entry {
	uint64_t key;       /* 0 = empty */
	uint64_t validator; /* the representation last seen */
	int64_t since;      /* when it was first seen */
	int64_t seen;       /* when it was last confirmed */
	int64_t touched;    /* LRU within the set */
};

struct shard {
	pthread_mutex_t lock;
	size_t nsets;
	struct entry *e;
} __attribute__((aligned(EC_CACHELINE)));

struct ec_learn {
	struct shard shards[NSHARDS];
};

struct ec_learn *ec_learn_new(size_t capacity)
{
	struct ec_learn *l = aligned_alloc(EC_CACHELINE, sizeof(*l));
	if (l == NULL)
		return NULL;
	memset(l, 0, sizeof(*l));
	size_t nsets = EC_MAX(capacity / (NSHARDS * WAYS), (size_t)1);
	for (int i = 0; i < NSHARDS; i++) {
		struct shard *s = &l->shards[i];
		s->nsets = nsets;
		s->e = calloc(nsets * WAYS, sizeof(*s->e));
		pthread_mutex_init(&s->lock, NULL);
		if (s->e == NULL) {
			ec_learn_free(&l);
			return NULL;
		}
	}
	return l;
}

void ec_learn_free(struct ec_learn **lp)
{
	struct ec_learn *l = *lp;
	*lp = NULL;
	if (l == NULL)
		return;
	for (int i = 0; i < NSHARDS; i++) {
		if (l->shards[i].nsets)
			pthread_mutex_destroy(&l->shards[i].lock);
		free(l->shards[i].e);
	}
	free(l);
}

/* The set for key, with the shard locked. */
static struct entry *set_of(struct ec_learn *l, uint64_t key, struct shard **sp)
{
	struct shard *s = &l->shards[(key >> 60) % NSHARDS];
	*sp = s;
	pthread_mutex_lock(&s->lock);
	return &s->e[(key % s->nsets) * WAYS];
}

void ec_learn_observe(struct ec_learn *l, uint64_t key, uint64_t validator, bool confirmed,
		      int64_t now)
{
	if (key == 0 || (validator == 0 && !confirmed))
		return;
	struct shard *s;
	struct entry *set = set_of(l, key, &s), *hit = NULL, *victim = &set[0];
	for (int i = 0; i < WAYS; i++) {
		if (set[i].key == key)
			hit = &set[i];
		if (set[i].touched < victim->touched)
			victim = &set[i];
	}
	if (hit == NULL) {
		hit = victim;
		*hit = (struct entry){.key = key, .validator = validator, .since = now, .seen = now};
	} else if (confirmed || validator == hit->validator) {
		hit->seen = EC_MAX(hit->seen, now);
	} else {
		/* A new representation: the clock starts again. */
		hit->validator = validator;
		hit->since = hit->seen = now;
	}
	hit->touched = now;
	pthread_mutex_unlock(&s->lock);
}

int64_t ec_learn_lifetime(struct ec_learn *l, uint64_t key, int64_t now, int64_t min, int64_t max)
{
	struct shard *s;
	struct entry *set = set_of(l, key, &s);
	int64_t life = 0;
	for (int i = 0; i < WAYS; i++)
		if (set[i].key == key) {
			int64_t span = set[i].seen - set[i].since;
			life = EC_MIN(EC_MAX(span / 2, min), max);
			set[i].touched = now;
			break;
		}
	pthread_mutex_unlock(&s->lock);
	return life;
}
