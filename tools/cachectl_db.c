/*
 * cachectl_db.c — cachectl --db: the disk tier of a stopped daemon, opened
 * read-only (storage/ec_disk.h, read_only: MDB_RDONLY | MDB_NOLOCK after a
 * shared lock on edgecache.lock, which a running daemon holds exclusively).
 * Nothing in the directory is written. The key of a URL is built with the
 * default key rules (scheme and host kept, query as written): --db has no
 * daemon configuration to read them from.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cachectl.h"
#include "src/tiers.h"
#include "storage/ec_disk.h"
#include "storage/ec_hdrcodec.h"

/* --- offline: the disk tier ------------------------------------------------------------ */

static struct ec_hdrcodec *offline_codec;

static struct ec_disk *open_db(void)
{
	offline_codec = ec_hdrcodec_new(0);
	uint32_t id;
	const char *why = "out of memory";
	if (offline_codec == NULL ||
	    ec_hdrcodec_add_dict(offline_codec, ec_hdrcodec_default_dict,
	                         ec_hdrcodec_default_dict_len, true, &id, &why) != 0) {
		die_msg("header dictionary: %s", why);
		return NULL;
	}
	struct ec_disk_config dc;
	ec_disk_config_default(&dc, G.db, 1u << 20);
	dc.read_only = true;
	dc.meta_version = EC_TIERS_META_VERSION;
	dc.codec = offline_codec;
	char err[1024];
	struct ec_disk *d = ec_disk_open(&dc, err, sizeof(err));
	if (d == NULL)
		die_msg("--db %s", err);
	return d;
}

static void close_db(struct ec_disk **d)
{
	ec_disk_close(d);
	ec_hdrcodec_free(&offline_codec);
}

struct dbcount {
	uint64_t keys, variants, bytes, stale, expired;
	long long now;
};

static int dbcount_cb(const struct ec_disk_entry *e, void *arg)
{
	struct dbcount *c = arg;
	c->keys++;
	c->variants += e->nvariants;
	c->bytes += e->body_len;
	c->stale += e->stale;
	c->expired += e->expires < c->now;
	return 0;
}

int ctl_db_stats(void)
{
	struct ec_disk *d = open_db();
	if (d == NULL)
		return EXIT_FAIL;
	struct ec_disk_stats s;
	ec_disk_stats(d, &s);
	struct dbcount c = {.now = (long long)time(NULL)};
	ec_disk_list(d, (struct ec_str){"", 0}, 0, dbcount_cb, &c);
	if (G.json) {
		printf("{\"dir\": \"%s\", \"objects\": %llu, \"keys\": %llu, \"used_bytes\": %llu, "
		       "\"map_size\": %llu, \"body_bytes\": %llu, \"stale\": %llu, \"expired\": "
		       "%llu}\n",
		       G.db, (unsigned long long)s.objects, (unsigned long long)c.keys,
		       (unsigned long long)s.used_bytes, (unsigned long long)s.map_size,
		       (unsigned long long)c.bytes, (unsigned long long)c.stale,
		       (unsigned long long)c.expired);
	} else {
		char a[32], b[32], e[32];
		human_size(s.used_bytes, a, sizeof(a));
		human_size(s.map_size, b, sizeof(b));
		human_size(c.bytes, e, sizeof(e));
		printf("%sdisk tier%s  %s (read-only)\n", BOLD, RESET, G.db);
		row("objects", "%llu variants of %llu keys", (unsigned long long)s.objects,
		    (unsigned long long)c.keys);
		row("space", "%s used of %s; bodies %s", a, b, e);
		row("stale", "%llu soft-purged, %llu expired", (unsigned long long)c.stale,
		    (unsigned long long)c.expired);
	}
	close_db(&d);
	return 0;
}

struct dbls {
	struct ctl_objs *l;
	long long now;
};

static int dbls_cb(const struct ec_disk_entry *e, void *arg)
{
	struct dbls *d = arg;
	struct ctl_objs *l = d->l;
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 256;
		struct obj *no = realloc(l->o, nc * sizeof(*no));
		if (no == NULL)
			return 1;
		l->o = no;
		l->cap = nc;
	}
	struct obj *o = &l->o[l->n];
	o->key = strndup(e->key.p, e->key.len);
	if (o->key == NULL)
		return 1;
	o->tier = "disk";
	o->size = (long long)e->body_len;
	o->age = d->now - e->stored_at;
	o->ttl = e->expires - d->now;
	o->hits = 0;
	o->variants = (long long)e->nvariants;
	o->stale = e->stale;
	l->n++;
	return 0;
}

int ctl_db_list(const char *prefix, struct ctl_objs *l)
{
	struct ec_disk *d = open_db();
	if (d == NULL)
		return -1;
	struct dbls ds = {l, (long long)time(NULL)};
	int rc = ec_disk_list(d, (struct ec_str){prefix, strlen(prefix)}, 0, dbls_cb, &ds);
	close_db(&d);
	if (rc != 0)
		die_msg("--db %s: cannot list the tier", G.db);
	return rc;
}

/* The key of a URL under the default key rules (for --db, which has no config). */
static char *url_key(const char *url)
{
	const char *rest;
	const char *scheme;
	if (strncasecmp(url, "http://", 7) == 0)
		scheme = "http", rest = url + 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		scheme = "https", rest = url + 8;
	else
		return NULL;
	size_t hl = strcspn(rest, "/?");
	char host[300];
	snprintf(host, sizeof(host), "%.*s", (int)hl, rest);
	for (char *p = host; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	const char *dflt = strcmp(scheme, "https") == 0 ? ":443" : ":80";
	size_t n = strlen(host), dl = strlen(dflt);
	if (n > dl && strcmp(host + n - dl, dflt) == 0)
		host[n - dl] = '\0';
	const char *path = rest + hl;
	size_t cap = strlen(url) + 16;
	char *k = malloc(cap);
	if (k)
		snprintf(k, cap, "%s://%s%s%s", scheme, host, path[0] == '/' ? "" : "/", path);
	return k;
}

struct collect {
	struct ec_obj *o[64];
	size_t n;
};

static bool collect_variant(const struct ec_obj *obj, void *arg)
{
	struct collect *c = arg;
	if (c->n < EC_ARRAY_LEN(c->o)) {
		ec_obj_ref((struct ec_obj *)obj);
		c->o[c->n++] = (struct ec_obj *)obj;
	}
	return false;
}

static int size_cb(const struct ec_disk_entry *e, void *arg)
{
	struct ec_disk_entry *out = arg;
	if (e->key.len == out->key.len && memcmp(e->key.p, out->key.p, e->key.len) == 0) {
		out->body_len = e->body_len;
		out->nvariants = e->nvariants;
		return 1;
	}
	return 0;
}

/* A stored header block: "Name: value\r\n" lines. */
static json_t *headers_json(struct ec_str blk)
{
	json_t *arr = json_array();
	const char *p = blk.p, *end = blk.p + blk.len;
	while (p < end) {
		const char *nl = memmem(p, (size_t)(end - p), "\r\n", 2);
		if (nl == NULL)
			nl = end;
		const char *colon = memchr(p, ':', (size_t)(nl - p));
		if (colon != NULL) {
			const char *v = colon + 1;
			while (v < nl && *v == ' ')
				v++;
			json_array_append_new(arr, json_pack("[s%, s%]", p, (size_t)(colon - p), v,
			                                     (size_t)(nl - v)));
		}
		p = nl + 2;
	}
	return arr;
}

/* Surrogate-Key (space-separated) and Cache-Tag (comma-separated) values. */
static json_t *tags_json(struct ec_str blk)
{
	json_t *arr = json_array();
	json_t *h = headers_json(blk), *x;
	size_t i;
	json_array_foreach(h, i, x)
	{
		const char *name = json_string_value(json_array_get(x, 0));
		const char *val = json_string_value(json_array_get(x, 1));
		const char *seps = strcasecmp(name, "surrogate-key") == 0 ? " \t"
		                   : strcasecmp(name, "cache-tag") == 0   ? ", \t"
		                                                          : NULL;
		for (const char *p = val; seps != NULL && *p;) {
			p += strspn(p, seps);
			size_t n = strcspn(p, seps);
			if (n > 0)
				json_array_append_new(arr, json_stringn(p, n));
			p += n;
		}
	}
	json_decref(h);
	return arr;
}

json_t *ctl_db_inspect(const char *url, long long now)
{
	char *key = url_key(url);
	if (key == NULL) {
		die_msg("inspect: '%s' is not an absolute http:// or https:// URL", url);
		return NULL;
	}
	struct ec_disk *d = open_db();
	if (d == NULL) {
		free(key);
		return NULL;
	}
	struct ec_key k = ec_key_make(key, strlen(key));
	struct collect c = {0};
	ec_disk_peek_variants(d, &k, collect_variant, &c);
	struct ec_disk_entry ent = {.key = {key, strlen(key)}};
	ec_disk_list(d, ent.key, 0, size_cb, &ent);
	json_t *vars = json_array();
	for (size_t i = 0; i < c.n; i++) {
		const struct ec_obj_attr *at = ec_obj_attr(c.o[i]);
		struct ec_str vk = ec_obj_vkey(c.o[i]);
		json_t *v = json_pack(
		        "{s:s, s:s%, s:i, s:o, s:i, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o}",
		        "tier", "disk", "vary_key", vk.p ? vk.p : "", vk.len, "status", at->status,
		        "size", c.n == 1 ? json_integer((json_int_t)ent.body_len) : json_null(),
		        "hits", 0, "stale", (ec_obj_flags(c.o[i]) & EC_OBJF_STALE) != 0,
		        "stored_at", (json_int_t)at->stored_at, "date", (json_int_t)at->date,
		        "expires", (json_int_t)at->expires, "lifetime", (json_int_t)at->lifetime,
		        "age", (json_int_t)(now - at->stored_at), "ttl",
		        (json_int_t)(at->expires - now), "tags", tags_json(ec_obj_headers(c.o[i])),
		        "headers", headers_json(ec_obj_headers(c.o[i])));
		json_array_append_new(vars, v);
		ec_obj_unref(&c.o[i]);
	}
	close_db(&d);
	if (c.n == 0) {
		die_msg("inspect: not in %s: %s", G.db, key);
		json_decref(vars);
		free(key);
		return NULL;
	}
	json_t *j = json_pack("{s:s, s:o}", "key", key, "variants", vars);
	free(key);
	return j;
}
