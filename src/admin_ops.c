/*
 * admin_ops.c — the admin API's cache calls: POST /purge, POST /ban,
 * GET /objects, GET /object (see docs/admin.md for the shapes).
 *
 * Thread: the admin thread. Purges and bans wait for the disk writer
 * (ec_disk_flush) so that an answer means the purge is committed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "admin_priv.h"
#include "arena.h"
#include "ban.h"
#include "config.h"
#include "hdrblock.h"
#include "json.h"
#include "log.h"
#include "purge.h"
#include "site.h"
#include "storage/ec_disk.h"
#include "storage/ec_store.h"
#include "tiers.h"

#define PARAM_MAX 8192

static bool flag_param(const struct ec_admin_req *r, const char *name)
{
	char v[16];
	return ec_admin_param(r, name, 0, v, sizeof(v)) &&
	       (strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "yes") == 0);
}

/* --- purge -------------------------------------------------------------------------- */

void ec_admin_purge(struct ec_admin_req *r)
{
	struct ec_admin *a = r->a;
	unsigned flags = flag_param(r, "soft") ? EC_PURGE_SOFT : 0;
	char *v = malloc(PARAM_MAX);
	struct ec_site *site = ec_admin_site(a);
	struct ec_arena ar;
	ec_arena_init(&ar);
	struct ec_purge_count sum = {0};
	const char *kind = NULL;
	unsigned n = 0;
	if (v == NULL) {
		ec_admin_fail(r, 503, "out of memory");
		goto out;
	}
	static const char *const kinds[] = {"url", "prefix", "tag"};
	unsigned nkinds = 0;
	for (size_t k = 0; k < EC_ARRAY_LEN(kinds); k++)
		nkinds += ec_admin_param(r, kinds[k], 0, v, PARAM_MAX);
	if (nkinds > 1) { /* refused before anything is purged */
		ec_admin_fail(r, 400, "give one of url=, prefix= or tag=");
		goto out;
	}
	for (size_t k = 0; k < EC_ARRAY_LEN(kinds); k++) {
		for (unsigned i = 0; ec_admin_param(r, kinds[k], i, v, PARAM_MAX); i++) {
			kind = kinds[k];
			struct ec_purge_count c;
			if (k == 0 || k == 1) {
				const char *why = NULL;
				struct ec_str key = ec_purge_url_key(&ar, site->conf, v, &why);
				if (key.len == 0) {
					ec_admin_fail(r, 400, "%s '%s': %s", kinds[k], v, why);
					goto out;
				}
				c = k == 0 ? ec_purge_key(a->env.store, a->env.disk, key, flags,
				                          true)
				           : ec_purge_prefix(a->env.store, a->env.disk, key, flags);
			} else {
				if (v[0] == '\0') {
					ec_admin_fail(r, 400, "empty tag");
					goto out;
				}
				c = ec_purge_tag(a->env.store, a->env.disk, ec_str_cstr(v), flags);
			}
			sum.memory += c.memory;
			sum.disk += c.disk;
			sum.total += c.total;
			n++;
			ec_log_info("admin: purge %s%s '%s': %llu objects", flags ? "(soft) " : "",
			            kinds[k], v, (unsigned long long)c.total);
		}
	}
	if (kind == NULL) {
		ec_admin_fail(r, 400, "give url=URL, prefix=URL-PREFIX or tag=TAG");
		goto out;
	}
	evbuffer_add_printf(r->out,
	                    "{\"purged\": %llu, \"memory\": %llu, \"disk\": %llu, \"soft\": %s}\n",
	                    (unsigned long long)sum.total, (unsigned long long)sum.memory,
	                    (unsigned long long)sum.disk, flags ? "true" : "false");
out:
	free(v);
	ec_arena_fini(&ar);
	ec_site_unref(&site);
}

/* --- ban ------------------------------------------------------------------------------- */

/* The expression: ?expr=, a JSON body {"expr": "..."} or the body as text. */
static bool ban_expr(const struct ec_admin_req *r, char *out, size_t cap)
{
	if (ec_admin_param(r, "expr", 0, out, cap))
		return true;
	struct ec_str b = ec_str_trim(r->body);
	while (b.len && (b.p[b.len - 1] == '\n' || b.p[b.len - 1] == '\r'))
		b.len--;
	if (b.len == 0 || b.len >= cap)
		return false;
	if (b.p[0] != '{') {
		memcpy(out, b.p, b.len);
		out[b.len] = '\0';
		return true;
	}
	/* {"expr": "..."}: jansson decodes it, \u escapes included. */
	json_t *doc = json_loadb(b.p, b.len, 0, NULL);
	const char *v = json_string_value(json_object_get(doc, "expr"));
	size_t n = v ? strlen(v) : 0;
	bool ok = v != NULL && n > 0 && n < cap;
	if (ok)
		memcpy(out, v, n + 1);
	json_decref(doc);
	return ok;
}

void ec_admin_ban(struct ec_admin_req *r)
{
	if (r->meth != EC_M_POST) {
		/* GET: the bans still listed, oldest last */
		evbuffer_add_printf(r->out, "{\"bans\": ");
		ec_ban_list_json(r->out);
		evbuffer_add_printf(r->out, "}\n");
		return;
	}
	char *expr = malloc(PARAM_MAX);
	char err[256];
	if (expr == NULL) {
		ec_admin_fail(r, 503, "out of memory");
		return;
	}
	if (!ban_expr(r, expr, PARAM_MAX)) {
		free(expr);
		ec_admin_fail(r, 400,
		              "give the expression as the body (or {\"expr\": ...}, or ?expr=)");
		return;
	}
	long n = ec_ban_add(r->a->env.store, r->a->env.disk, expr, (int64_t)time(NULL), err,
	                    sizeof(err));
	if (n < 0) {
		ec_log_warn("admin: ban '%s' refused: %s", expr, err);
		free(expr);
		ec_admin_fail(r, 400, "%s", err);
		return;
	}
	evbuffer_add_printf(r->out, "{\"purged\": %ld, \"bans\": ", n);
	ec_ban_list_json(r->out);
	evbuffer_add_printf(r->out, "}\n");
	free(expr);
}

void ec_admin_lurk(struct ec_admin *a)
{
	ec_ban_lurk(a->env.store, (int64_t)time(NULL));
}

/* --- objects --------------------------------------------------------------------------- */

struct entry {
	char *key;
	size_t klen;
	unsigned tiers; /* 1 memory, 2 disk */
	unsigned variants;
	uint64_t size;
	int64_t stored_at, expires;
	uint64_t hits;
	bool stale;
};

struct listing {
	struct ec_str prefix;
	struct ec_str cursor;
	struct entry *e;
	size_t n, cap;
	bool nomem;
};

static struct entry *add_entry(struct listing *l, struct ec_str key)
{
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 256;
		struct entry *ne = realloc(l->e, nc * sizeof(*ne));
		if (ne == NULL) {
			l->nomem = true;
			return NULL;
		}
		l->e = ne;
		l->cap = nc;
	}
	struct entry *e = &l->e[l->n];
	memset(e, 0, sizeof(*e));
	e->key = malloc(key.len + 1);
	if (e->key == NULL) {
		l->nomem = true;
		return NULL;
	}
	memcpy(e->key, key.p, key.len);
	e->key[key.len] = '\0';
	e->klen = key.len;
	l->n++;
	return e;
}

static int keycmp(struct ec_str a, struct ec_str b)
{
	int c = memcmp(a.p, b.p, EC_MIN(a.len, b.len));
	return c ? c : (a.len < b.len ? -1 : a.len > b.len);
}

static bool wanted(const struct listing *l, struct ec_str key)
{
	return ec_str_has_prefix(key, l->prefix) &&
	       (l->cursor.len == 0 || keycmp(key, l->cursor) > 0);
}

static int mem_cb(struct ec_obj *obj, void *arg)
{
	struct listing *l = arg;
	struct ec_str key = ec_obj_key(obj);
	if (!wanted(l, key))
		return 0;
	struct entry *e = add_entry(l, key);
	if (e == NULL)
		return 1;
	const struct ec_obj_attr *at = ec_obj_attr(obj);
	e->tiers = 1;
	e->variants = 1;
	e->size = ec_obj_body_len(obj);
	e->stored_at = at->stored_at;
	e->expires = at->expires;
	e->hits = ec_obj_hits(obj);
	e->stale = (ec_obj_flags(obj) & EC_OBJF_STALE) != 0;
	return 0;
}

static int disk_cb(const struct ec_disk_entry *de, void *arg)
{
	struct listing *l = arg;
	if (!wanted(l, de->key))
		return 0;
	struct entry *e = add_entry(l, de->key);
	if (e == NULL)
		return 1;
	e->tiers = 2;
	e->variants = (unsigned)de->nvariants;
	e->size = de->body_len;
	e->stored_at = de->stored_at;
	e->expires = de->expires;
	e->stale = de->stale;
	return 0;
}

static int entry_cmp(const void *x, const void *y)
{
	const struct entry *a = x, *b = y;
	return keycmp(ec_str_make(a->key, a->klen), ec_str_make(b->key, b->klen));
}

/* Sorted by key; memory variants of one key and the disk entry merged into one. */
static void merge(struct listing *l)
{
	qsort(l->e, l->n, sizeof(*l->e), entry_cmp);
	size_t o = 0;
	for (size_t i = 0; i < l->n; i++) {
		struct entry *e = &l->e[i];
		if (o > 0 && entry_cmp(&l->e[o - 1], e) == 0) {
			struct entry *m = &l->e[o - 1];
			if (e->tiers == 1 && m->tiers == 1)
				m->variants++;
			else
				m->variants = EC_MAX(m->variants, e->variants);
			m->tiers |= e->tiers;
			m->hits += e->hits;
			m->stale = m->stale || e->stale;
			if (e->stored_at > m->stored_at) {
				m->stored_at = e->stored_at;
				m->expires = e->expires;
				m->size = e->size;
			}
			free(e->key);
			continue;
		}
		l->e[o++] = *e;
	}
	l->n = o;
}

static const char *tier_name(unsigned t)
{
	return t == 3 ? "memory+disk" : t == 2 ? "disk" : "memory";
}

void ec_admin_objects(struct ec_admin_req *r)
{
	struct ec_admin *a = r->a;
	char *prefix = malloc(PARAM_MAX), *cursor = malloc(PARAM_MAX), lim[32];
	struct listing l = {0};
	if (prefix == NULL || cursor == NULL) {
		ec_admin_fail(r, 503, "out of memory");
		goto out;
	}
	if (!ec_admin_param(r, "prefix", 0, prefix, PARAM_MAX))
		prefix[0] = '\0';
	if (!ec_admin_param(r, "cursor", 0, cursor, PARAM_MAX))
		cursor[0] = '\0';
	unsigned long limit = 100;
	if (ec_admin_param(r, "limit", 0, lim, sizeof(lim))) {
		char *end;
		limit = strtoul(lim, &end, 10);
		if (*end != '\0' || limit == 0 || limit > 100000) {
			ec_admin_fail(r, 400, "limit: give 1..100000");
			goto out;
		}
	}
	l.prefix = ec_str_cstr(prefix);
	l.cursor = ec_str_cstr(cursor);
	if (a->env.store != NULL)
		ec_store_iterate(a->env.store, mem_cb, &l);
	if (a->env.disk != NULL && !l.nomem)
		ec_disk_list(a->env.disk, l.prefix, 0, disk_cb, &l);
	if (l.nomem) {
		ec_admin_fail(r, 503, "out of memory");
		goto out;
	}
	merge(&l);
	int64_t now = (int64_t)time(NULL);
	size_t shown = EC_MIN(l.n, (size_t)limit);
	evbuffer_add_printf(r->out, "{\"objects\": [");
	for (size_t i = 0; i < shown; i++) {
		const struct entry *e = &l.e[i];
		evbuffer_add_printf(r->out, "%s\n {\"key\": ", i ? "," : "");
		ec_json_str(r->out, e->key, e->klen);
		evbuffer_add_printf(r->out,
		                    ", \"tier\": \"%s\", \"variants\": %u, \"size\": %llu, "
		                    "\"stored_at\": %lld, \"age\": %lld, \"ttl\": %lld, "
		                    "\"hits\": %llu, \"stale\": %s}",
		                    tier_name(e->tiers), e->variants, (unsigned long long)e->size,
		                    (long long)e->stored_at, (long long)(now - e->stored_at),
		                    (long long)(e->expires - now), (unsigned long long)e->hits,
		                    e->stale ? "true" : "false");
	}
	evbuffer_add_printf(r->out, "],\n \"count\": %zu, \"next_cursor\": ", shown);
	if (l.n > shown)
		ec_json_str(r->out, l.e[shown - 1].key, l.e[shown - 1].klen);
	else
		evbuffer_add_printf(r->out, "null");
	evbuffer_add_printf(r->out, "}\n");
out:
	for (size_t i = 0; i < l.n; i++)
		free(l.e[i].key);
	free(l.e);
	free(prefix);
	free(cursor);
}

/* --- one object ----------------------------------------------------------------------- */

#define MAX_VARIANTS 64

struct variants {
	struct ec_obj *o[MAX_VARIANTS];
	size_t n;
};

static bool collect_variant(const struct ec_obj *obj, void *arg)
{
	struct variants *v = arg;
	if (v->n < MAX_VARIANTS) {
		ec_obj_ref((struct ec_obj *)obj);
		v->o[v->n++] = (struct ec_obj *)obj;
	}
	return false;
}

struct disk_size {
	struct ec_str key;
	bool found;
	uint64_t body_len;
	uint32_t atime;
};

static int disk_size_cb(const struct ec_disk_entry *e, void *arg)
{
	struct disk_size *ds = arg;
	if (ec_str_eq(e->key, ds->key)) {
		ds->found = true;
		ds->body_len = e->body_len;
		ds->atime = e->atime;
		return 1;
	}
	return 0;
}

/* size < 0: unknown (the disk tier reports only its newest variant's size) */
static void variant_json(struct evbuffer *o, const struct ec_obj *obj, const char *tier,
                         long long size, int64_t now, bool first)
{
	const struct ec_obj_attr *at = ec_obj_attr(obj);
	char sizebuf[32];
	if (size < 0)
		snprintf(sizebuf, sizeof(sizebuf), "null");
	else
		snprintf(sizebuf, sizeof(sizebuf), "%lld", size);
	evbuffer_add_printf(o, "%s\n  {\"tier\": \"%s\", \"vary_key\": ", first ? "" : ",", tier);
	ec_json_view(o, ec_obj_vkey(obj));
	evbuffer_add_printf(
	        o,
	        ", \"status\": %d, \"size\": %s, \"hits\": %llu, \"stale\": %s, "
	        "\"stored_at\": %lld, \"date\": %lld, \"request_time\": %lld, "
	        "\"response_time\": %lld, \"expires\": %lld, \"lifetime\": %lld, "
	        "\"age\": %lld, \"ttl\": %lld, \"last_access\": %lld,\n   \"tags\": [",
	        at->status, sizebuf, (unsigned long long)ec_obj_hits(obj),
	        (ec_obj_flags(obj) & EC_OBJF_STALE) ? "true" : "false", (long long)at->stored_at,
	        (long long)at->date, (long long)at->request_time, (long long)at->response_time,
	        (long long)at->expires, (long long)at->lifetime, (long long)(now - at->stored_at),
	        (long long)(at->expires - now), (long long)ec_obj_last_access(obj));
	struct ec_str tags[64];
	size_t nt = ec_tiers_tags(obj, tags, EC_ARRAY_LEN(tags));
	for (size_t i = 0; i < nt; i++) {
		evbuffer_add_printf(o, "%s", i ? ", " : "");
		ec_json_view(o, tags[i]);
	}
	evbuffer_add_printf(o, "],\n   \"headers\": [");
	struct ec_hdr h[256];
	int n = ec_hdrblock_parse(ec_obj_headers(obj), h, EC_ARRAY_LEN(h));
	for (int i = 0; i < n; i++) {
		evbuffer_add_printf(o, "%s[", i ? ", " : "");
		ec_json_view(o, h[i].name);
		evbuffer_add_printf(o, ", ");
		ec_json_view(o, h[i].value);
		evbuffer_add_printf(o, "]");
	}
	evbuffer_add_printf(o, "]}");
}

void ec_admin_object(struct ec_admin_req *r)
{
	struct ec_admin *a = r->a;
	char *url = malloc(PARAM_MAX);
	struct ec_site *site = ec_admin_site(a);
	struct ec_arena ar;
	ec_arena_init(&ar);
	struct variants mem = {0}, dsk = {0};
	if (url == NULL) {
		ec_admin_fail(r, 503, "out of memory");
		goto out;
	}
	if (!ec_admin_param(r, "url", 0, url, PARAM_MAX)) {
		ec_admin_fail(r, 400, "give url=URL");
		goto out;
	}
	const char *why = NULL;
	struct ec_str key = ec_purge_url_key(&ar, site->conf, url, &why);
	if (key.len == 0) {
		ec_admin_fail(r, 400, "url '%s': %s", url, why);
		goto out;
	}
	struct ec_key k = ec_key_make(key.p, key.len);
	struct ec_obj *o = NULL;
	if (a->env.store != NULL) {
		struct ec_lookup lk = {.key = &k,
		                       .match = collect_variant,
		                       .match_arg = &mem,
		                       .now = -1,
		                       .flags = EC_LOOKUP_PEEK};
		ec_store_lookup(a->env.store, &lk, &o);
		if (o != NULL)
			ec_obj_unref(&o);
	}
	struct disk_size ds = {.key = key};
	if (a->env.disk != NULL) {
		ec_disk_peek_variants(a->env.disk, &k, collect_variant, &dsk);
		ec_disk_list(a->env.disk, key, 0, disk_size_cb, &ds);
	}
	if (mem.n == 0 && dsk.n == 0) {
		ec_admin_fail(r, 404, "not cached: %.*s", (int)key.len, key.p);
		goto out;
	}
	int64_t now = (int64_t)time(NULL);
	evbuffer_add_printf(r->out, "{\"key\": ");
	ec_json_view(r->out, key);
	evbuffer_add_printf(r->out, ", \"variants\": [");
	for (size_t i = 0; i < mem.n; i++)
		variant_json(r->out, mem.o[i], "memory", (long long)ec_obj_body_len(mem.o[i]), now,
		             i == 0);
	for (size_t i = 0; i < dsk.n; i++)
		/* the disk tier reports the newest variant's body size (ec_disk_entry) */
		variant_json(r->out, dsk.o[i], "disk", dsk.n == 1 ? (long long)ds.body_len : -1,
		             now, mem.n == 0 && i == 0);
	evbuffer_add_printf(r->out, "]}\n");
out:
	for (size_t i = 0; i < mem.n; i++)
		ec_obj_unref(&mem.o[i]);
	for (size_t i = 0; i < dsk.n; i++)
		ec_obj_unref(&dsk.o[i]);
	free(url);
	ec_arena_fini(&ar);
	ec_site_unref(&site);
}
