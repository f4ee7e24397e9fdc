/*
 * ban.c — the ban list, its lazy check and its sweeps (see ban.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <event2/buffer.h>

#include "ban.h"
#include "hdrblock.h"
#include "json.h"
#include "log.h"
#include "policy/ban.h"
#include "purge.h"
#include "storage/ec_disk.h"
#include "storage/ec_store.h"

struct ban {
	struct ec_ban_expr *expr;
	int64_t t;
	struct ban *next; /* older */
};

static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
static struct ban *head; /* newest first */
static unsigned nbans;   /* atomic reads without the lock */

/* Matches one object against one ban (headers decoded on the stack). */
static bool matches(const struct ec_ban_expr *e, const struct ec_obj *obj)
{
	struct ec_hdr h[128];
	int n = 0;
	if (ec_ban_needs_object(e)) {
		n = ec_hdrblock_parse(ec_obj_headers(obj), h, EC_ARRAY_LEN(h));
		if (n < 0)
			n = 0;
	}
	return ec_ban_match(e, ec_obj_key(obj), h, (size_t)n, ec_obj_attr(obj)->status);
}

bool ec_ban_check(const struct ec_obj *obj)
{
	if (__atomic_load_n(&nbans, __ATOMIC_RELAXED) == 0)
		return false;
	int64_t stored = ec_obj_attr(obj)->stored_at;
	bool hit = false;
	pthread_rwlock_rdlock(&lock);
	for (struct ban *b = head; b != NULL && b->t > stored && !hit; b = b->next)
		hit = matches(b->expr, obj);
	pthread_rwlock_unlock(&lock);
	return hit;
}

struct sweep {
	const struct ec_ban_expr *e;
	int64_t t;
	bool strict; /* only objects stored before the ban's second (the lurker) */
};

static bool sweep_pred(const struct ec_obj *obj, void *arg)
{
	const struct sweep *s = arg;
	int64_t at = ec_obj_attr(obj)->stored_at;
	return (s->strict ? at < s->t : at <= s->t) && matches(s->e, obj);
}

/* --- the disk tier ------------------------------------------------------------ */

struct dsweep {
	struct ec_disk *d;
	const struct sweep *s;
	struct ec_str *keys; /* copies, purged after the listing's transaction */
	size_t n, cap;
};

struct dvariant {
	bool hit;
	const struct sweep *s;
};

/* A match callback that never matches: it only looks at every variant. */
static bool disk_variant(const struct ec_obj *obj, void *arg)
{
	struct dvariant *dv = arg;
	if (sweep_pred(obj, (void *)dv->s))
		dv->hit = true;
	return false;
}

static int dsweep_cb(const struct ec_disk_entry *e, void *arg)
{
	struct dsweep *ds = arg;
	if (!ec_ban_needs_object(ds->s->e) &&
	    (e->stored_at > ds->s->t || !ec_ban_match(ds->s->e, e->key, NULL, 0, 0)))
		return 0;
	if (ds->n == ds->cap) {
		size_t nc = ds->cap ? ds->cap * 2 : 64;
		struct ec_str *nk = realloc(ds->keys, nc * sizeof(*nk));
		if (nk == NULL)
			return 1;
		ds->keys = nk;
		ds->cap = nc;
	}
	char *k = malloc(e->key.len ? e->key.len : 1);
	if (k == NULL)
		return 1;
	memcpy(k, e->key.p, e->key.len);
	ds->keys[ds->n++] = ec_str_make(k, e->key.len);
	return 0;
}

static uint64_t sweep_disk(struct ec_disk *d, const struct sweep *s)
{
	struct dsweep ds = {.d = d, .s = s};
	ec_disk_list(d, EC_STR(""), 0, dsweep_cb, &ds);
	ec_disk_flush(d);
	for (size_t i = 0; i < ds.n; i++) {
		struct ec_key k = ec_key_make(ds.keys[i].p, ds.keys[i].len);
		bool purge = true;
		if (ec_ban_needs_object(s->e)) {
			/* Read each variant's headers (no body copy): any match purges the key. */
			struct dvariant ctx = {false, s};
			ec_disk_peek_variants(d, &k, disk_variant, &ctx);
			purge = ctx.hit;
		}
		if (purge)
			ec_disk_purge(d, &k, 0);
		free((char *)ds.keys[i].p);
	}
	free(ds.keys);
	return ec_disk_flush(d);
}

long ec_ban_add(struct ec_store *st, struct ec_disk *d, const char *expr, int64_t now, char *err,
                size_t errlen)
{
	struct ec_ban_expr *e = ec_ban_parse(expr, err, errlen);
	if (e == NULL)
		return -1;
	struct ban *b = calloc(1, sizeof(*b));
	if (b == NULL) {
		ec_ban_free(&e);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pthread_rwlock_wrlock(&lock);
	if (nbans >= EC_BAN_MAX) {
		pthread_rwlock_unlock(&lock);
		ec_ban_free(&e);
		free(b);
		snprintf(err, errlen, "%d bans listed already; retry in a minute", EC_BAN_MAX);
		return -1;
	}
	b->expr = e;
	b->t = now;
	b->next = head;
	head = b;
	__atomic_store_n(&nbans, nbans + 1, __ATOMIC_RELAXED);
	pthread_rwlock_unlock(&lock);
	/* The list only grows on this thread, so b stays valid here. */
	struct sweep s = {e, now, false};
	uint64_t m = ec_purge_memory_if(st, sweep_pred, &s, 0);
	uint64_t k = d != NULL ? sweep_disk(d, &s) : 0;
	ec_log_info("ban '%s': %llu objects in memory, %llu on disk", expr, (unsigned long long)m,
	            (unsigned long long)k);
	return (long)EC_MAX(m, k);
}

void ec_ban_lurk(struct ec_store *st, int64_t now)
{
	if (__atomic_load_n(&nbans, __ATOMIC_RELAXED) == 0)
		return;
	/* Unlink expired bans (the tail of the list) under the write lock. */
	struct ban *dead = NULL;
	pthread_rwlock_wrlock(&lock);
	struct ban **pp = &head;
	while (*pp != NULL && (*pp)->t + EC_BAN_KEEP > now)
		pp = &(*pp)->next;
	dead = *pp;
	*pp = NULL;
	unsigned n = 0;
	for (struct ban *b = head; b != NULL; b = b->next)
		n++;
	__atomic_store_n(&nbans, n, __ATOMIC_RELAXED);
	pthread_rwlock_unlock(&lock);
	while (dead != NULL) {
		struct ban *nx = dead->next;
		ec_ban_free(&dead->expr);
		free(dead);
		dead = nx;
	}
	/* Sweep memory for the bans left: only this thread unlinks, so they stay. */
	for (struct ban *b = head; b != NULL; b = b->next) {
		struct sweep s = {b->expr, b->t, true};
		ec_purge_memory_if(st, sweep_pred, &s, 0);
	}
}

void ec_ban_list_json(struct evbuffer *out)
{
	pthread_rwlock_rdlock(&lock);
	evbuffer_add_printf(out, "[");
	for (struct ban *b = head; b != NULL; b = b->next) {
		evbuffer_add_printf(out, "%s{\"expr\": ", b == head ? "" : ", ");
		ec_json_cstr(out, ec_ban_text(b->expr));
		evbuffer_add_printf(out, ", \"time\": %lld}", (long long)b->t);
	}
	evbuffer_add_printf(out, "]");
	pthread_rwlock_unlock(&lock);
}

void ec_ban_fini(void)
{
	pthread_rwlock_wrlock(&lock);
	while (head != NULL) {
		struct ban *nx = head->next;
		ec_ban_free(&head->expr);
		free(head);
		head = nx;
	}
	nbans = 0;
	pthread_rwlock_unlock(&lock);
}
