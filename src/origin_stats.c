/*
 * origin_stats.c — shared per-backend state: health transitions, counters,
 * the latency histogram and the `/backends` JSON (see origin_stats.h).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "config.h"
#include "log.h"
#include "origin.h"
#include "origin_stats.h"
#include "site.h"

static pthread_mutex_t cur_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ec_site *cur_site;
static uint64_t health_changes;

void ec_bstate_init(struct ec_bstate *st, bool active)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_init(&st->lock, NULL);
	ec_health_init(&st->health, active);
}

void ec_bstate_destroy(struct ec_bstate *st)
{
	pthread_mutex_destroy(&st->lock);
}

static double bucket_ms(unsigned i)
{
	return 0.1 * pow(2.0, i / 4.0);
}

void ec_bstate_latency(struct ec_bstate *st, double seconds)
{
	double ms = seconds * 1000.0;
	unsigned i = 0;
	if (ms > 0.1)
		i = (unsigned)ceil(4.0 * log2(ms / 0.1));
	if (i >= EC_LAT_BUCKETS)
		i = EC_LAT_BUCKETS - 1;
	EC_BSTAT_ADD(st, lat[i], 1);
	EC_BSTAT_ADD(st, lat_sum_us, (uint64_t)(seconds > 0 ? seconds * 1e6 + 0.5 : 0));
}

double ec_bstate_quantile(const struct ec_bstate *st, double q)
{
	uint64_t n[EC_LAT_BUCKETS], total = 0;
	for (unsigned i = 0; i < EC_LAT_BUCKETS; i++)
		total += n[i] = EC_BSTAT_GET(st, lat[i]);
	if (total == 0)
		return 0.0;
	uint64_t want = (uint64_t)ceil(q * (double)total), acc = 0;
	for (unsigned i = 0; i < EC_LAT_BUCKETS; i++) {
		acc += n[i];
		if (acc >= want && acc > 0)
			return bucket_ms(i);
	}
	return bucket_ms(EC_LAT_BUCKETS - 1);
}

static void log_change(const struct ec_backend *b, const struct ec_health *h, const char *why)
{
	__atomic_add_fetch(&health_changes, 1, __ATOMIC_RELAXED);
	if (h->down)
		ec_log_warn("origin %s: marked down (%s)", b->name, why);
	else
		ec_log_info("origin %s: marked up (%s)", b->name, why);
}

void ec_backend_result(const struct ec_backend *b, const struct ec_conf_lb *c, bool ok, double now)
{
	struct ec_bstate *st = b->st;
	struct ec_health *h = &st->health;
	/* fast path: an up backend without a failure streak stays as it is */
	if (ok && !ec_health_is_down(h) && __atomic_load_n(&h->pfails, __ATOMIC_RELAXED) == 0)
		return;
	pthread_mutex_lock(&st->lock);
	bool changed = ec_health_event(h, c, ok ? EC_HEALTH_EV_OK : EC_HEALTH_EV_FAIL, now);
	if (changed)
		log_change(b, h, ok ? "probe request succeeded" : "consecutive request failures");
	pthread_mutex_unlock(&st->lock);
}

void ec_backend_check_result(const struct ec_backend *b, const struct ec_conf_lb *c, bool ok,
                             const char *why, double now)
{
	struct ec_bstate *st = b->st;
	pthread_mutex_lock(&st->lock);
	bool changed = ec_health_event(&st->health, c,
	                               ok ? EC_HEALTH_EV_CHECK_OK : EC_HEALTH_EV_CHECK_FAIL, now);
	if (changed) {
		char reason[160];
		snprintf(reason, sizeof(reason), "health check %s%s%s", ok ? "passed" : "failed",
		         why ? ": " : "", why ? why : "");
		log_change(b, &st->health, reason);
	}
	pthread_mutex_unlock(&st->lock);
}

bool ec_backend_usable(const struct ec_backend *b, const struct ec_conf_lb *c, double now,
                       bool claim)
{
	struct ec_bstate *st = b->st;
	if (!ec_health_is_down(&st->health))
		return true;
	bool probe;
	pthread_mutex_lock(&st->lock);
	bool ok = ec_health_usable(&st->health, c, now, claim, &probe);
	pthread_mutex_unlock(&st->lock);
	if (probe)
		ec_log_info("origin %s: probing (down since the last failures)", b->name);
	return ok;
}

const char *ec_backend_health_name(const struct ec_backend *b)
{
	return ec_health_is_down(&b->st->health) ? "down" : "up";
}

uint64_t ec_origin_health_changes(void)
{
	return __atomic_load_n(&health_changes, __ATOMIC_RELAXED);
}

void ec_origin_publish(struct ec_site *s)
{
	pthread_mutex_lock(&cur_lock);
	struct ec_site *old = cur_site;
	if (s != NULL && old != NULL) {
		/* the same backend keeps its health across a reload */
		for (unsigned i = 0; i < s->nbackends; i++)
			for (unsigned j = 0; j < old->nbackends; j++) {
				if (s->backends[i].id != old->backends[j].id)
					continue;
				struct ec_bstate *o = old->backends[j].st, *n = s->backends[i].st;
				pthread_mutex_lock(&o->lock);
				bool active = n->health.active;
				n->health = o->health;
				n->health.active = active;
				pthread_mutex_unlock(&o->lock);
				break;
			}
	}
	cur_site = s ? ec_site_ref(s) : NULL;
	pthread_mutex_unlock(&cur_lock);
	ec_site_unref(&old);
}

static void json_str(struct evbuffer *out, const char *s)
{
	evbuffer_add(out, "\"", 1);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			evbuffer_add_printf(out, "\\%c", ch);
		else if (ch < 0x20)
			evbuffer_add_printf(out, "\\u%04x", ch);
		else
			evbuffer_add(out, s, 1);
	}
	evbuffer_add(out, "\"", 1);
}

void ec_origin_backends_json(struct evbuffer *out)
{
	pthread_mutex_lock(&cur_lock);
	struct ec_site *s = cur_site ? ec_site_ref(cur_site) : NULL;
	pthread_mutex_unlock(&cur_lock);
	evbuffer_add_printf(out, "{\"groups\":[");
	for (unsigned g = 0; s != NULL && g < s->ngroups; g++) {
		const struct ec_group *gr = &s->groups[g];
		evbuffer_add_printf(out, "%s{\"name\":", g ? "," : "");
		json_str(out, gr->name);
		evbuffer_add_printf(out, ",\"algorithm\":");
		json_str(out, gr->lbc->algorithm);
		evbuffer_add_printf(out, ",\"backends\":[");
		for (unsigned i = 0; i < gr->n; i++) {
			const struct ec_backend *b = &s->backends[gr->first + i];
			const struct ec_bstate *st = b->st;
			int idle = EC_BSTAT_GET(st, pool_idle);
			evbuffer_add_printf(out, "%s{\"name\":", i ? "," : "");
			json_str(out, b->name);
			evbuffer_add_printf(
			        out,
			        ",\"weight\":%u,\"backup\":%s,\"health\":\"%s\",\"requests\":%llu,"
			        "\"errors\":%llu,\"inflight\":%u,\"pool_idle\":%d,\"pool_new\":%"
			        "llu,"
			        "\"pool_reused\":%llu,\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,"
			        "\"p99\":%.3f}}",
			        b->weight, b->backup ? "true" : "false", ec_backend_health_name(b),
			        (unsigned long long)EC_BSTAT_GET(st, requests),
			        (unsigned long long)EC_BSTAT_GET(st, errors),
			        EC_BSTAT_GET(st, inflight), idle < 0 ? 0 : idle,
			        (unsigned long long)EC_BSTAT_GET(st, pool_new),
			        (unsigned long long)EC_BSTAT_GET(st, pool_reused),
			        ec_bstate_quantile(st, 0.5), ec_bstate_quantile(st, 0.9),
			        ec_bstate_quantile(st, 0.99));
		}
		evbuffer_add_printf(out, "]}");
	}
	evbuffer_add_printf(out, "]}");
	ec_site_unref(&s);
}

/* --- Prometheus ----------------------------------------------------------------- */

/* A label value: backslash, double quote and newline escaped (format 0.0.4). */
static void prom_label(struct evbuffer *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			evbuffer_add_printf(out, "\\%c", *s);
		else if (*s == '\n')
			evbuffer_add(out, "\\n", 2);
		else
			evbuffer_add(out, s, 1);
	}
}

static void prom_series(struct evbuffer *out, const char *name, const struct ec_group *g,
			const struct ec_backend *b, const char *extra)
{
	evbuffer_add_printf(out, "edgecache_backend_%s{group=\"", name);
	prom_label(out, g->name);
	evbuffer_add_printf(out, "\",backend=\"");
	prom_label(out, b->name);
	evbuffer_add_printf(out, "\"%s} ", extra ? extra : "");
}

enum bfig { B_UP, B_REQUESTS, B_ERRORS, B_INFLIGHT, B_POOL_IDLE, B_POOL_NEW, B_POOL_REUSED };

static const struct {
	const char *name, *type, *help;
} bfigs[] = {
        [B_UP] = {"up", "gauge", "1 when the backend is usable (passive and active health), else 0."},
        [B_REQUESTS] = {"requests_total", "counter", "Exchanges started with the backend (each try counts)."},
        [B_ERRORS] = {"errors_total", "counter", "Tries that failed, and 5xx responses."},
        [B_INFLIGHT] = {"inflight", "gauge", "Exchanges with the backend running now."},
        [B_POOL_IDLE] = {"pool_idle", "gauge", "Idle keep-alive connections to the backend, all workers."},
        [B_POOL_NEW] = {"connections_opened_total", "counter", "Connections opened to the backend."},
        [B_POOL_REUSED] = {"pool_reused_total", "counter", "Exchanges sent on a pooled keep-alive connection."},
};

static uint64_t bfig_value(enum bfig f, const struct ec_backend *b)
{
	const struct ec_bstate *st = b->st;
	switch (f) {
	case B_UP:
		return strcmp(ec_backend_health_name(b), "up") == 0;
	case B_REQUESTS:
		return EC_BSTAT_GET(st, requests);
	case B_ERRORS:
		return EC_BSTAT_GET(st, errors);
	case B_INFLIGHT:
		return EC_BSTAT_GET(st, inflight);
	case B_POOL_IDLE: {
		int idle = EC_BSTAT_GET(st, pool_idle);
		return idle < 0 ? 0 : (uint64_t)idle;
	}
	case B_POOL_NEW:
		return EC_BSTAT_GET(st, pool_new);
	case B_POOL_REUSED:
		return EC_BSTAT_GET(st, pool_reused);
	}
	return 0;
}

void ec_origin_backends_metrics(struct evbuffer *out)
{
	pthread_mutex_lock(&cur_lock);
	struct ec_site *s = cur_site ? ec_site_ref(cur_site) : NULL;
	pthread_mutex_unlock(&cur_lock);
	if (s == NULL)
		return;
	for (size_t f = 0; f < EC_ARRAY_LEN(bfigs); f++) {
		evbuffer_add_printf(out, "# HELP edgecache_backend_%s %s\n# TYPE edgecache_backend_%s %s\n",
				    bfigs[f].name, bfigs[f].help, bfigs[f].name, bfigs[f].type);
		for (unsigned g = 0; g < s->ngroups; g++)
			for (unsigned i = 0; i < s->groups[g].n; i++) {
				const struct ec_backend *b = &s->backends[s->groups[g].first + i];
				prom_series(out, bfigs[f].name, &s->groups[g], b, NULL);
				evbuffer_add_printf(out, "%llu\n",
						    (unsigned long long)bfig_value((enum bfig)f, b));
			}
	}
	/* The latency histogram with every fourth bucket bound (0.1 ms times a
	 * power of two, up to 3.3 s): exact cumulative counts, 17 series. */
	evbuffer_add_printf(out, "# HELP edgecache_backend_response_seconds Time from sending a "
				 "request to the backend to its response head.\n"
				 "# TYPE edgecache_backend_response_seconds histogram\n");
	for (unsigned g = 0; g < s->ngroups; g++)
		for (unsigned i = 0; i < s->groups[g].n; i++) {
			const struct ec_backend *b = &s->backends[s->groups[g].first + i];
			uint64_t acc = 0;
			for (unsigned k = 0; k < EC_LAT_BUCKETS; k++) {
				acc += EC_BSTAT_GET(b->st, lat[k]);
				if (k % 4 != 0 || k == EC_LAT_BUCKETS - 1)
					continue;
				char le[48];
				snprintf(le, sizeof(le), ",le=\"%g\"", bucket_ms(k) / 1000.0);
				prom_series(out, "response_seconds_bucket", &s->groups[g], b, le);
				evbuffer_add_printf(out, "%llu\n", (unsigned long long)acc);
			}
			prom_series(out, "response_seconds_bucket", &s->groups[g], b, ",le=\"+Inf\"");
			evbuffer_add_printf(out, "%llu\n", (unsigned long long)acc);
			prom_series(out, "response_seconds_sum", &s->groups[g], b, NULL);
			evbuffer_add_printf(out, "%.6f\n",
					    (double)EC_BSTAT_GET(b->st, lat_sum_us) / 1e6);
			prom_series(out, "response_seconds_count", &s->groups[g], b, NULL);
			evbuffer_add_printf(out, "%llu\n", (unsigned long long)acc);
		}
	ec_site_unref(&s);
}
