/*
 * admin_stats.c — GET /stats (JSON) and GET /metrics (Prometheus text
 * format 0.0.4) from the workers' counters (summed on read, stats.h), the
 * memory tier's and the disk tier's own counters.
 *
 * Every table entry (include/tbl/counters.h, EC_STORE_*_TABLE,
 * EC_DISK_*_TABLE) appears in both outputs under its table name, so names
 * cannot drift; a few families with labels (requests by cache outcome,
 * bytes and objects by tier) are added on top for dashboards.
 *
 * Thread: the admin thread.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "admin_priv.h"
#include "json.h"
#include "origin.h"
#include "stats.h"
#include "storage/ec_disk.h"
#include "storage/ec_store.h"
#include "worker.h"

struct snapshot {
	struct ec_stats w;
	struct ec_store_stats mem;
	struct ec_disk_stats disk;
	bool has_disk;
	double hit_ratio;
	uint64_t hits, lookups;
};

static void snap(struct ec_admin *a, struct snapshot *s)
{
	memset(s, 0, sizeof(*s));
	for (unsigned i = 0; i < a->env.nworkers; i++)
		ec_stats_sum(&s->w, &a->env.workers[i]->stats);
	if (a->env.store != NULL)
		ec_store_stats(a->env.store, &s->mem);
	if (a->env.disk != NULL) {
		ec_disk_stats(a->env.disk, &s->disk);
		s->has_disk = true;
	}
	/* Hits: answered from a stored response without a full fetch (stale
	 * ones included); lookups: every request the cache handled. */
	s->hits = s->w.cache_req_hit + s->w.cache_req_hit_disk + s->w.cache_req_stale;
	s->lookups = s->hits + s->w.cache_req_miss + s->w.cache_req_expired +
	             s->w.cache_req_revalidated + s->w.cache_req_collapsed;
	s->hit_ratio = s->lookups ? (double)s->hits / (double)s->lookups : 0.0;
}

void ec_admin_stats_json(struct ec_admin_req *r)
{
	struct snapshot s;
	snap(r->a, &s);
	struct evbuffer *o = r->out;
	evbuffer_add_printf(o, "{\"workers\": %u, \"time\": %lld,\n", r->a->env.nworkers,
	                    (long long)time(NULL));
	evbuffer_add_printf(
	        o,
	        " \"requests\": {\"hit\": %llu, \"hit_disk\": %llu, \"miss\": %llu, "
	        "\"expired\": %llu, \"revalidated\": %llu, \"stale\": %llu, "
	        "\"collapsed\": %llu, \"pass\": %llu, \"other\": %llu},\n",
	        (unsigned long long)s.w.cache_req_hit, (unsigned long long)s.w.cache_req_hit_disk,
	        (unsigned long long)s.w.cache_req_miss, (unsigned long long)s.w.cache_req_expired,
	        (unsigned long long)s.w.cache_req_revalidated,
	        (unsigned long long)s.w.cache_req_stale,
	        (unsigned long long)s.w.cache_req_collapsed, (unsigned long long)s.w.cache_req_pass,
	        (unsigned long long)s.w.cache_req_other);
	evbuffer_add_printf(o, " \"hit_ratio\": ");
	ec_json_double(o, s.hit_ratio);
	evbuffer_add_printf(
	        o, ",\n \"bytes\": {\"memory\": %llu, \"disk\": %llu, \"origin\": %llu},\n",
	        (unsigned long long)s.w.bytes_hit_memory, (unsigned long long)s.w.bytes_hit_disk,
	        (unsigned long long)s.w.bytes_from_origin);
	evbuffer_add_printf(o, " \"counters\": {");
	const char *sep = "";
#define X(name, kind, help)                                                                        \
	evbuffer_add_printf(o, "%s\"" #name "\": %llu", sep, (unsigned long long)s.w.name);        \
	sep = ", ";
#include "tbl/counters.h"
#undef X
	evbuffer_add_printf(o, "},\n \"memory\": {");
	sep = "";
#define X(name, doc)                                                                               \
	evbuffer_add_printf(o, "%s\"" #name "\": %llu", sep, (unsigned long long)s.mem.name);      \
	sep = ", ";
	EC_STORE_COUNTER_TABLE(X)
	EC_STORE_GAUGE_TABLE(X)
#undef X
	evbuffer_add_printf(o, "},\n \"disk\": ");
	if (!s.has_disk) {
		evbuffer_add_printf(o, "null");
	} else {
		evbuffer_add_printf(o, "{");
		sep = "";
#define X(name, doc)                                                                               \
	evbuffer_add_printf(o, "%s\"" #name "\": %llu", sep, (unsigned long long)s.disk.name);     \
	sep = ", ";
		EC_DISK_COUNTER_TABLE(X)
		EC_DISK_GAUGE_TABLE(X)
#undef X
		evbuffer_add_printf(o, "}");
	}
	evbuffer_add_printf(o, "}\n");
}

/* --- Prometheus ----------------------------------------------------------------- */

static void family(struct evbuffer *o, const char *name, const char *type, const char *help)
{
	evbuffer_add_printf(o, "# HELP edgecache_%s %s\n# TYPE edgecache_%s %s\n", name, help, name,
	                    type);
}

static void sample(struct evbuffer *o, const char *name, const char *labels, uint64_t v)
{
	evbuffer_add_printf(o, "edgecache_%s%s %llu\n", name, labels, (unsigned long long)v);
}

#define TYPE_counter "counter"
#define TYPE_gauge   "gauge"
#define TYPE_gmax    "gauge"
#define SFX_counter  "_total"
#define SFX_gauge    ""
#define SFX_gmax     ""

void ec_admin_metrics(struct ec_admin_req *r)
{
	struct snapshot s;
	snap(r->a, &s);
	struct evbuffer *o = r->out;
	r->ctype = "text/plain; version=0.0.4; charset=utf-8";

	family(o, "requests_total", "counter", "Client requests by cache outcome.");
	static const char *const outcome[] = {"hit",       "hit_disk",    "miss",
	                                      "expired",   "revalidated", "stale",
	                                      "collapsed", "pass",        "other"};
	const uint64_t vals[] = {
	        s.w.cache_req_hit,       s.w.cache_req_hit_disk,    s.w.cache_req_miss,
	        s.w.cache_req_expired,   s.w.cache_req_revalidated, s.w.cache_req_stale,
	        s.w.cache_req_collapsed, s.w.cache_req_pass,        s.w.cache_req_other};
	for (size_t i = 0; i < EC_ARRAY_LEN(outcome); i++) {
		char l[64];
		snprintf(l, sizeof(l), "{cache=\"%s\"}", outcome[i]);
		sample(o, "requests_total", l, vals[i]);
	}
	family(o, "hit_ratio", "gauge",
	       "Hits (memory, disk, stale) over requests the cache handled, since start.");
	evbuffer_add_printf(o, "edgecache_hit_ratio ");
	ec_json_double(o, s.hit_ratio);
	evbuffer_add_printf(o, "\n");
	family(o, "served_bytes_total", "counter", "Body bytes sent to clients by source.");
	sample(o, "served_bytes_total", "{source=\"memory\"}", s.w.bytes_hit_memory);
	sample(o, "served_bytes_total", "{source=\"disk\"}", s.w.bytes_hit_disk);
	sample(o, "served_bytes_total", "{source=\"origin\"}", s.w.bytes_from_origin);
	family(o, "tier_objects", "gauge", "Stored objects (variants) per tier.");
	sample(o, "tier_objects", "{tier=\"memory\"}", s.mem.objects);
	if (s.has_disk)
		sample(o, "tier_objects", "{tier=\"disk\"}", s.disk.objects);
	family(o, "tier_bytes", "gauge",
	       "Bytes per tier: memory charge of stored objects; disk pages holding live data.");
	sample(o, "tier_bytes", "{tier=\"memory\"}", s.mem.bytes);
	if (s.has_disk)
		sample(o, "tier_bytes", "{tier=\"disk\"}", s.disk.used_bytes);
	family(o, "evictions_total", "counter", "Objects evicted to make room, per tier.");
	sample(o, "evictions_total", "{tier=\"memory\"}", s.mem.evictions);
	if (s.has_disk)
		sample(o, "evictions_total", "{tier=\"disk\"}", s.disk.evictions);
	family(o, "admissions_rejected_total", "counter",
	       "Objects refused by the memory tier's TinyLFU admission.");
	sample(o, "admissions_rejected_total", "", s.mem.rejected_admission);

	family(o, "worker_loop_lag_seconds", "gauge",
	       "How late each worker's once-a-second timer last fired.");
	for (unsigned i = 0; i < r->a->env.nworkers; i++) {
		char l[32];
		snprintf(l, sizeof(l), "{worker=\"%u\"}", i);
		evbuffer_add_printf(
		        o, "edgecache_worker_loop_lag_seconds%s %.6f\n", l,
		        (double)__atomic_load_n(&r->a->env.workers[i]->stats.loop_lag_us,
		                                __ATOMIC_RELAXED) /
		                1e6);
	}

	/* Per backend: health, counters, the response-time histogram. */
	ec_origin_backends_metrics(o);

	/* Every per-worker counter, summed (gmax: the workers' maximum). */
#define X(name, kind, help)                                                                        \
	family(o, #name SFX_##kind, TYPE_##kind, help ".");                                        \
	sample(o, #name SFX_##kind, "", s.w.name);
#include "tbl/counters.h"
#undef X
	/* The tiers' own tables. */
#define X(name, doc)                                                                               \
	family(o, "memory_" #name "_total", "counter", "Memory tier: " doc ".");                   \
	sample(o, "memory_" #name "_total", "", s.mem.name);
	EC_STORE_COUNTER_TABLE(X)
#undef X
#define X(name, doc)                                                                               \
	family(o, "memory_" #name, "gauge", "Memory tier: " doc ".");                              \
	sample(o, "memory_" #name, "", s.mem.name);
	EC_STORE_GAUGE_TABLE(X)
#undef X
	if (s.has_disk) {
#define X(name, doc)                                                                               \
	family(o, "disk_" #name "_total", "counter", "Disk tier: " doc ".");                       \
	sample(o, "disk_" #name "_total", "", s.disk.name);
		EC_DISK_COUNTER_TABLE(X)
#undef X
#define X(name, doc)                                                                               \
	family(o, "disk_" #name, "gauge", "Disk tier: " doc ".");                                  \
	sample(o, "disk_" #name, "", s.disk.name);
		EC_DISK_GAUGE_TABLE(X)
#undef X
	}
}
