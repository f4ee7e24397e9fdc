/*
 * origin_dns.c — resolution of backend names (see origin_dns.h).
 *
 * A round resolves every name of a table with evdns_getaddrinfo; the
 * callbacks fill the round's copy of the table and the last one finishes the
 * round. evdns may call back before evdns_getaddrinfo returns (hosts-file
 * entries), so a round counts its pending lookups before issuing any.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "config.h"
#include "ec_util.h"
#include "log.h"
#include "origin_dns.h"

bool ec_dns_is_numeric(const char *host)
{
	unsigned char a[16];
	return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

static void add_name(struct ec_dns_table *t, const char *host)
{
	if (ec_dns_is_numeric(host) || ec_dns_find(t, host) != NULL || t->n >= EC_DNS_MAX_NAMES)
		return;
	snprintf(t->e[t->n++].host, sizeof(t->e[0].host), "%s", host);
}

struct ec_dns_table *ec_dns_collect(const struct ec_config *conf, bool *none)
{
	struct ec_dns_table *t = calloc(1, sizeof(*t));
	*none = false;
	if (t == NULL)
		return NULL;
	for (unsigned i = 0; i < conf->norigins; i++)
		add_name(t, conf->origins[i].host);
	for (unsigned i = 0; i < conf->ngbackends; i++)
		add_name(t, conf->gbackends[i].host);
	if (t->n == 0) {
		free(t);
		*none = true;
		return NULL;
	}
	return t;
}

const struct ec_dns_entry *ec_dns_find(const struct ec_dns_table *t, const char *host)
{
	for (unsigned i = 0; t != NULL && i < t->n; i++)
		if (strcmp(t->e[i].host, host) == 0)
			return &t->e[i];
	return NULL;
}

/* --- a round of lookups ---------------------------------------------------- */

struct lookup {
	struct round *r;
	unsigned i;
};

struct round {
	struct ec_dns_table t; /* the results (starts as a copy of the names) */
	struct lookup lk[EC_DNS_MAX_NAMES];
	unsigned pending;
	bool issuing;
	bool want_ttl; /* also ask for A and AAAA records, for their TTL */
	int min_ttl;   /* the shortest TTL seen; -1 none */
	void (*done)(struct round *r, void *arg);
	void *arg;
};

static int addr_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct sockaddr_storage));
}

static void on_addrinfo(int result, struct evutil_addrinfo *res, void *arg)
{
	struct lookup *lk = arg;
	struct round *r = lk->r;
	struct ec_dns_entry *e = &r->t.e[lk->i];
	e->n = 0;
	if (result != 0) {
		e->ok = false;
		snprintf(e->error, sizeof(e->error), "%s", evutil_gai_strerror(result));
	} else {
		struct sockaddr_storage tmp[EC_DNS_MAX_ADDRS];
		for (struct evutil_addrinfo *a = res; a && e->n < EC_DNS_MAX_ADDRS;
		     a = a->ai_next) {
			if (a->ai_addrlen > sizeof(tmp[0]))
				continue;
			memset(&tmp[e->n], 0, sizeof(tmp[0]));
			memcpy(&tmp[e->n], a->ai_addr, a->ai_addrlen);
			bool dup = false;
			for (unsigned k = 0; k < e->n && !dup; k++)
				dup = memcmp(&tmp[k], &tmp[e->n], sizeof(tmp[0])) == 0;
			if (!dup)
				e->n++;
		}
		qsort(tmp, e->n, sizeof(tmp[0]), addr_cmp);
		for (unsigned k = 0; k < e->n; k++) {
			e->addr[k] = tmp[k];
			e->len[k] = tmp[k].ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
			                                         : sizeof(struct sockaddr_in);
		}
		e->ok = e->n > 0;
		if (e->n == 0)
			snprintf(e->error, sizeof(e->error), "no address");
	}
	if (res != NULL)
		evutil_freeaddrinfo(res);
	EC_ASSERT(r->pending > 0);
	if (--r->pending == 0 && !r->issuing)
		r->done(r, r->arg);
}

static void on_ttl(int result, char type, int count, int ttl, void *addresses, void *arg)
{
	struct lookup *lk = arg;
	struct round *r = lk->r;
	if (result == DNS_ERR_NONE && count > 0 && ttl >= 0 && (r->min_ttl < 0 || ttl < r->min_ttl))
		r->min_ttl = ttl;
	EC_ASSERT(r->pending > 0);
	if (--r->pending == 0 && !r->issuing)
		r->done(r, r->arg);
}

/* Starts lookups of every name of r->t; r->done runs when all are back. */
static void round_start(struct round *r, struct evdns_base *dns)
{
	struct evutil_addrinfo hints;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = EVUTIL_AI_ADDRCONFIG;
	r->pending = r->t.n * (r->want_ttl ? 3 : 1);
	r->min_ttl = -1;
	r->issuing = true;
	for (unsigned i = 0; i < r->t.n; i++) {
		r->lk[i].r = r;
		r->lk[i].i = i;
		evdns_getaddrinfo(dns, r->t.e[i].host, NULL, &hints, on_addrinfo, &r->lk[i]);
		/* getaddrinfo does not tell the TTL: A and AAAA queries do (names
		 * from the hosts file have none; the interval applies to them) */
		if (!r->want_ttl)
			continue;
		if (evdns_base_resolve_ipv4(dns, r->t.e[i].host, DNS_QUERY_NO_SEARCH, on_ttl,
		                            &r->lk[i]) == NULL)
			r->pending--;
		if (evdns_base_resolve_ipv6(dns, r->t.e[i].host, DNS_QUERY_NO_SEARCH, on_ttl,
		                            &r->lk[i]) == NULL)
			r->pending--;
	}
	r->issuing = false;
	if (r->pending == 0)
		r->done(r, r->arg);
}

static struct evdns_base *dns_new(struct event_base *base, const char *resolv_conf)
{
	struct evdns_base *dns = evdns_base_new(base, 0);
	if (dns == NULL)
		return NULL;
	int rc = evdns_base_resolv_conf_parse(dns, DNS_OPTIONS_ALL, resolv_conf);
	if (rc != 0)
		ec_log_warn("dns: %s: cannot use it (evdns error %d); the hosts file and "
		            "127.0.0.1 remain",
		            resolv_conf, rc);
	return dns;
}

/* --- synchronous, at load ------------------------------------------------ */

static void sync_done(struct round *r, void *arg)
{
	event_base_loopbreak(arg);
}

int ec_dns_resolve_sync(struct ec_dns_table *t, const char *resolv_conf, double timeout, char *err,
                        size_t errlen)
{
	struct event_base *base = event_base_new();
	struct round *r = calloc(1, sizeof(*r));
	struct evdns_base *dns = base ? dns_new(base, resolv_conf) : NULL;
	int rc = 0;
	if (base == NULL || r == NULL || dns == NULL) {
		snprintf(err, errlen, "dns: out of memory");
		rc = -1;
		goto out;
	}
	r->t = *t;
	r->done = sync_done;
	r->arg = base;
	round_start(r, dns);
	if (r->pending > 0) {
		struct timeval tv = {(time_t)timeout,
		                     (suseconds_t)((timeout - (time_t)timeout) * 1e6)};
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	for (unsigned i = 0; i < r->t.n; i++) {
		const struct ec_dns_entry *e = &r->t.e[i];
		if (!e->ok) {
			snprintf(err, errlen, "origin %s: cannot resolve: %s", e->host,
			         r->pending > 0 && e->error[0] == '\0' ? "timed out" : e->error);
			rc = -1;
			goto out;
		}
	}
	*t = r->t;
out:
	if (dns != NULL)
		evdns_base_free(dns, 1); /* fails what is pending: callbacks run now */
	if (base != NULL)
		event_base_free(base);
	free(r);
	return rc;
}

/* --- the watcher ------------------------------------------------------------- */

struct ec_dns_watch {
	struct event_base *base;
	struct evdns_base *dns;
	struct event *timer;
	struct timeval tv; /* the next round's delay */
	double interval;
	struct ec_dns_table cur;
	struct round *r; /* the round running, or NULL */
	bool stopping;
	ec_dns_changed_f *cb;
	void *arg;
};

static bool entry_same(const struct ec_dns_entry *a, const struct ec_dns_entry *b)
{
	if (a->n != b->n)
		return false;
	for (unsigned i = 0; i < a->n; i++)
		if (memcmp(&a->addr[i], &b->addr[i], sizeof(a->addr[i])) != 0)
			return false;
	return true;
}

static void watch_done(struct round *r, void *arg)
{
	struct ec_dns_watch *w = arg;
	bool changed = false;
	if (w->stopping) { /* ec_dns_watch_stop cancelled the lookups */
		w->r = NULL;
		free(r);
		return;
	}
	for (unsigned i = 0; i < r->t.n; i++) {
		struct ec_dns_entry *e = &r->t.e[i], *old = &w->cur.e[i];
		if (!e->ok) {
			ec_log_warn("dns: re-resolving %s failed (%s): keeping its %u address%s",
			            e->host, e->error, old->n, old->n == 1 ? "" : "es");
			*e = *old; /* the last good set */
			continue;
		}
		if (!entry_same(e, old)) {
			ec_log_info("dns: %s now has %u address%s (had %u)", e->host, e->n,
			            e->n == 1 ? "" : "es", old->n);
			changed = true;
		}
	}
	w->r = NULL;
	/* the records' TTL (at least 1 s), at most the interval */
	double next = w->interval;
	if (r->min_ttl >= 0 && r->min_ttl < next)
		next = r->min_ttl < 1 ? 1 : r->min_ttl;
	w->tv.tv_sec = (time_t)next;
	w->tv.tv_usec = (suseconds_t)((next - (double)w->tv.tv_sec) * 1e6);
	if (changed) {
		w->cur = r->t;
		w->cb(w->arg, &w->cur);
	}
	free(r);
	event_add(w->timer, &w->tv);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct ec_dns_watch *w = arg;
	if (w->r != NULL)
		return;
	struct round *r = calloc(1, sizeof(*r));
	if (r == NULL) {
		event_add(w->timer, &w->tv);
		return;
	}
	r->t = w->cur;
	r->want_ttl = true;
	r->done = watch_done;
	r->arg = w;
	w->r = r;
	round_start(r, w->dns);
}

struct ec_dns_watch *ec_dns_watch_start(struct event_base *base, const struct ec_dns_table *current,
                                        const char *resolv_conf, double interval,
                                        ec_dns_changed_f *cb, void *arg)
{
	if (current == NULL || current->n == 0 || interval <= 0)
		return NULL;
	struct ec_dns_watch *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return NULL;
	w->base = base;
	w->cur = *current;
	w->cb = cb;
	w->arg = arg;
	w->interval = interval;
	/* the first round soon: it learns the records' TTLs */
	double first = interval < 1 ? interval : 1;
	w->tv.tv_sec = (time_t)first;
	w->tv.tv_usec = (suseconds_t)((first - (double)w->tv.tv_sec) * 1e6);
	w->dns = dns_new(base, resolv_conf);
	w->timer = evtimer_new(base, on_timer, w);
	if (w->dns == NULL || w->timer == NULL) {
		ec_dns_watch_stop(&w);
		return NULL;
	}
	event_add(w->timer, &w->tv);
	return w;
}

void ec_dns_watch_stop(struct ec_dns_watch **wp)
{
	struct ec_dns_watch *w = *wp;
	*wp = NULL;
	if (w == NULL)
		return;
	/* cancelling the pending lookups may finish the round (watch_done sees
	 * `stopping` and only frees it) */
	w->stopping = true;
	if (w->dns != NULL)
		evdns_base_free(w->dns, 1);
	free(w->r);
	if (w->timer != NULL)
		event_free(w->timer);
	free(w);
}
