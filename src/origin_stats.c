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
