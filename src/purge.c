/*
 * purge.c — purge by URL, prefix and tag across both tiers (see purge.h).
 */
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "cache_key.h"
#include "purge.h"
#include "storage/ec_disk.h"
#include "storage/ec_store.h"
#include "tiers.h"

struct ec_str ec_purge_url_key(struct ec_arena *a, const struct ec_config *cf, const char *url,
                               const char **why)
{
	struct ec_str scheme;
	const char *rest;
	if (strncasecmp(url, "http://", 7) == 0) {
		scheme = EC_STR("http");
		rest = url + 7;
	} else if (strncasecmp(url, "https://", 8) == 0) {
		scheme = EC_STR("https");
		rest = url + 8;
	} else {
		*why = "not an absolute http:// or https:// URL";
		return EC_STR_NULL;
	}
	size_t hl = strcspn(rest, "/?");
	if (hl == 0) {
		*why = "no host in the URL";
		return EC_STR_NULL;
	}
	struct ec_str host = ec_str_make(rest, hl);
	struct ec_str path = ec_str_cstr(rest + hl);
	if (path.len == 0)
		path = EC_STR("/");
	struct ec_str key = ec_cache_key_build(a, cf, scheme, host, path);
	if (key.len == 0)
		*why = "out of memory";
	return key;
}

static void total(struct ec_purge_count *c)
{
	c->total = EC_MAX(c->memory, c->disk);
}

/* Counts the disk tier's variants of a key without copying a body. */
static bool count_variant(const struct ec_obj *obj, void *arg)
{
	(void)obj;
	(*(uint64_t *)arg)++;
	return false;
}

struct ec_purge_count ec_purge_key(struct ec_store *st, struct ec_disk *d, struct ec_str key,
                                   unsigned flags, bool wait)
{
	struct ec_purge_count c = {0};
	struct ec_key k = ec_key_make(key.p, key.len);
	if (st != NULL)
		c.memory = ec_store_purge(st, &k, flags);
	if (d != NULL) {
		if (wait) {
			ec_disk_flush(d); /* what others queued before is not ours to count */
			ec_disk_purge(d, &k, flags);
			c.disk = ec_disk_flush(d);
		} else {
			uint64_t n = 0;
			ec_disk_peek_variants(d, &k, count_variant, &n);
			ec_disk_purge(d, &k, flags);
			c.disk = n;
		}
	}
	total(&c);
	return c;
}

/* --- walking the memory tier ------------------------------------------------- */

struct collect {
	ec_purge_pred_f *pred;
	void *arg;
	struct ec_obj **objs;
	size_t n, cap;
	bool nomem;
};

static int collect_cb(struct ec_obj *obj, void *arg)
{
	struct collect *cl = arg;
	if (!cl->pred(obj, cl->arg))
		return 0;
	if (cl->n == cl->cap) {
		size_t ncap = cl->cap ? cl->cap * 2 : 64;
		struct ec_obj **no = realloc(cl->objs, ncap * sizeof(*no));
		if (no == NULL) {
			cl->nomem = true;
			return 1;
		}
		cl->objs = no;
		cl->cap = ncap;
	}
	ec_obj_ref(obj);
	cl->objs[cl->n++] = obj;
	return 0;
}

uint64_t ec_purge_memory_if(struct ec_store *st, ec_purge_pred_f *pred, void *arg, unsigned flags)
{
	if (st == NULL)
		return 0;
	uint64_t n = 0;
	/* Rounds, so that running out of memory for the list purges in parts. */
	for (;;) {
		struct collect cl = {.pred = pred, .arg = arg};
		ec_store_iterate(st, collect_cb, &cl);
		for (size_t i = 0; i < cl.n; i++) {
			if (flags & EC_PURGE_SOFT) {
				if (!(ec_obj_flags(cl.objs[i]) & EC_OBJF_STALE))
					n++;
				ec_obj_set_flags(cl.objs[i], EC_OBJF_STALE);
			} else if (ec_store_remove(st, cl.objs[i])) {
				n++;
			}
			ec_obj_unref(&cl.objs[i]);
		}
		free(cl.objs);
		if (!cl.nomem || cl.n == 0 || (flags & EC_PURGE_SOFT))
			break;
	}
	return n;
}

static bool has_prefix(const struct ec_obj *obj, void *arg)
{
	return ec_str_has_prefix(ec_obj_key(obj), *(const struct ec_str *)arg);
}

static bool has_tag(const struct ec_obj *obj, void *arg)
{
	struct ec_str tags[64];
	size_t n = ec_tiers_tags(obj, tags, EC_ARRAY_LEN(tags));
	for (size_t i = 0; i < n; i++)
		if (ec_str_eq(tags[i], *(const struct ec_str *)arg))
			return true;
	return false;
}

/* The memory tier by predicate, then the disk tier by its own call; the
 * disk count is what its writer committed for the purge. */
static struct ec_purge_count purge_both(struct ec_store *st, struct ec_disk *d,
                                        ec_purge_pred_f *mem_pred,
                                        void (*disk_purge)(struct ec_disk *, struct ec_str,
                                                           unsigned),
                                        struct ec_str what, unsigned flags)
{
	struct ec_purge_count c = {0};
	c.memory = ec_purge_memory_if(st, mem_pred, &what, flags);
	if (d != NULL) {
		ec_disk_flush(d);
		disk_purge(d, what, flags);
		c.disk = ec_disk_flush(d);
	}
	total(&c);
	return c;
}

struct ec_purge_count ec_purge_prefix(struct ec_store *st, struct ec_disk *d, struct ec_str prefix,
                                      unsigned flags)
{
	return purge_both(st, d, has_prefix, ec_disk_purge_prefix, prefix, flags);
}

struct ec_purge_count ec_purge_tag(struct ec_store *st, struct ec_disk *d, struct ec_str tag,
                                   unsigned flags)
{
	return purge_both(st, d, has_tag, ec_disk_purge_tag, tag, flags);
}
