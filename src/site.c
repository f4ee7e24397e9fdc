/*
 * site.c — building and sharing the per-generation site (see site.h).
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ec_util.h"
#include "lb.h"
#include "origin_dns.h"
#include "origin_stats.h"
#include "origin_tls.h"
#include "site.h"

static uint64_t fnv1a(const char *s, uint64_t h)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

/* Fills backend b for origin o at address addr. `by_name`: o's host was
 * resolved through DNS, so the backend is named by its address (as nginx
 * names the peers of a name). */
static void backend_fill(struct ec_backend *b, const struct ec_conf_origin *o,
			 const struct sockaddr_storage *addr, socklen_t len, unsigned index,
			 bool by_name)
{
	memcpy(&b->addr, addr, len);
	b->addrlen = len;
	b->index = index;
	b->weight = o->weight ? o->weight : 1;
	b->backup = o->backup;
	char host[INET6_ADDRSTRLEN + 2];
	const char *h = o->host;
	if (by_name) {
		const void *src = addr->ss_family == AF_INET6
					  ? (const void *)&((const struct sockaddr_in6 *)addr)->sin6_addr
					  : (const void *)&((const struct sockaddr_in *)addr)->sin_addr;
		if (inet_ntop(addr->ss_family, src, host, sizeof(host)) != NULL)
			h = host;
	}
	if (strchr(h, ':'))
		snprintf(b->name, sizeof(b->name), "[%s]:%u", h, o->port);
	else
		snprintf(b->name, sizeof(b->name), "%s:%u", h, o->port);
	snprintf(b->host_field, sizeof(b->host_field), "%s", o->authority);
	b->id = fnv1a(b->name, fnv1a(o->scheme, 0xcbf29ce484222325ull));
	b->tls = strcmp(o->scheme, "https") == 0;
	snprintf(b->tls_name, sizeof(b->tls_name), "%s", o->host);
}

/* How many backends origin o makes: one per address of its name. */
static unsigned backend_count(const struct ec_conf_origin *o, const struct ec_dns_table *dns)
{
	const struct ec_dns_entry *e = ec_dns_find(dns, o->host);
	return e != NULL ? e->n : 1;
}

/* Appends origin o's backends at s->backends[*nb...]. 0 or -1 with err. */
static int backends_add(struct ec_site *s, unsigned *nb, const struct ec_conf_origin *o,
			const struct ec_dns_table *dns, char *err, size_t errlen)
{
	const struct ec_dns_entry *e = ec_dns_find(dns, o->host);
	if (e != NULL) {
		for (unsigned k = 0; k < e->n; k++, (*nb)++) {
			struct sockaddr_storage a = e->addr[k];
			((struct sockaddr_in *)&a)->sin_port = htons((uint16_t)o->port); /* same offset in v6 */
			backend_fill(&s->backends[*nb], o, &a, e->len[k], *nb, true);
		}
		return 0;
	}
	struct addrinfo hints = {0}, *res = NULL;
	char port[16];
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", o->port);
	int rc = getaddrinfo(o->host, port, &hints, &res);
	if (rc != 0 || res == NULL) {
		snprintf(err, errlen, "origin %s: cannot resolve %s: %s", o->url, o->host,
			 rc ? gai_strerror(rc) : "no address");
		return -1;
	}
	EC_ASSERT(res->ai_addrlen <= sizeof(struct sockaddr_storage));
	struct sockaddr_storage a;
	memset(&a, 0, sizeof(a));
	memcpy(&a, res->ai_addr, res->ai_addrlen);
	backend_fill(&s->backends[*nb], o, &a, res->ai_addrlen, *nb, false);
	freeaddrinfo(res);
	(*nb)++;
	return 0;
}

/* "FILE:LINE: KEY", "FLAG: KEY" or "KEY": where a group setting came from. */
static void where(const struct ec_config *conf, const struct ec_conf_group *cg, unsigned gi,
		  const char *leaf, char *out, size_t outlen)
{
	char key[64];
	if (cg != NULL)
		snprintf(key, sizeof(key), "groups[%u].%s", gi, leaf);
	else
		snprintf(key, sizeof(key), "origin.%s", leaf);
	const struct ec_conf_source *src = ec_config_source(conf, key);
	if (src == NULL && cg != NULL) {
		snprintf(key, sizeof(key), "groups[%u]", gi);
		snprintf(out, outlen, "%s:%u: %s", conf->path, cg->line, key);
	} else if (src == NULL) {
		snprintf(out, outlen, "%s", key);
	} else if (src->flag != NULL) {
		snprintf(out, outlen, "%s: %s", src->flag, key);
	} else {
		snprintf(out, outlen, "%s:%u: %s", conf->path, src->line, key);
	}
}

/* TLS for a group with https backends: the context, and the names. */
static int group_tls(struct ec_site *s, const struct ec_config *conf, struct ec_group *g,
		     unsigned gi, char *err, size_t errlen)
{
	bool any = false, all = true;
	for (unsigned i = 0; i < g->n; i++) {
		any |= s->backends[g->first + i].tls;
		all &= s->backends[g->first + i].tls;
	}
	char at[700], why[512];
	if (strcmp(g->lbc->protocol, "h2") == 0 && !all) {
		where(conf, g->cg, gi, "protocol", at, sizeof(at));
		snprintf(err, errlen, "%s: h2 needs https backends; use h2c for http", at);
		return -1;
	}
	if (!any)
		return 0;
	if (strcmp(g->lbc->protocol, "h2c") == 0) {
		where(conf, g->cg, gi, "protocol", at, sizeof(at));
		snprintf(err, errlen, "%s: h2c is HTTP/2 without TLS; use h2 for https backends", at);
		return -1;
	}
	g->tls = ec_otls_ctx_new(g->lbc, why, sizeof(why));
	if (g->tls == NULL) {
		where(conf, g->cg, gi, g->lbc->tls_cert[0] && strstr(why, "client") ? "tls_cert"
								  : "tls_ca",
		      at, sizeof(at));
		snprintf(err, errlen, "%s: %s", at, why);
		return -1;
	}
	for (unsigned i = 0; i < g->n; i++) {
		struct ec_backend *b = &s->backends[g->first + i];
		if (g->lbc->tls_sni[0])
			snprintf(b->tls_name, sizeof(b->tls_name), "%s", g->lbc->tls_sni);
	}
	return 0;
}

/* Adds group `name` over backends[first..first+n) and its balancer state. */
static int group_init(struct ec_site *s, const struct ec_config *conf, struct ec_group *g,
                      const char *name, const struct ec_conf_group *cg,
                      const struct ec_conf_lb *lbc, unsigned first, unsigned n, char *err,
                      size_t errlen)
{
	struct ec_lb_peer peers[EC_LB_MAX];
	snprintf(g->name, sizeof(g->name), "%s", name);
	g->cg = cg;
	g->lbc = lbc;
	g->first = first;
	g->n = n;
	g->h2 = strcmp(lbc->protocol, "h2c") == 0 || strcmp(lbc->protocol, "h2") == 0;
	g->ops = ec_lb_find(lbc->algorithm);
	if (g->ops == NULL) {
		snprintf(err, errlen, "group %s: unknown algorithm '%s'", name, lbc->algorithm);
		return -1;
	}
	if (n == 0 || n > EC_LB_MAX) {
		snprintf(err, errlen, "group %s: %u backends (1 to %d)", name, n, EC_LB_MAX);
		return -1;
	}
	for (unsigned i = 0; i < n; i++) {
		struct ec_backend *b = &s->backends[first + i];
		peers[i].name = b->name;
		peers[i].weight = b->weight;
		b->group = (unsigned)(g - s->groups);
		const char *host = cg ? cg->host : conf->origin_host;
		snprintf(b->send_host, sizeof(b->send_host), "%s", host);
		ec_bstate_init(&s->bstates[first + i], strcmp(lbc->health_check, "none") != 0);
		b->st = &s->bstates[first + i];
	}
	g->lb = g->ops->create(peers, n, conf->workers ? conf->workers : 1);
	if (g->lb == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static void site_free(struct ec_site *s)
{
	for (unsigned i = 0; i < s->ngroups; i++)
		if (s->groups[i].lb != NULL)
			s->groups[i].ops->destroy(s->groups[i].lb);
	for (unsigned i = 0; i < s->ngroups; i++)
		SSL_CTX_free(s->groups[i].tls);
	if (s->bstates != NULL)
		for (unsigned i = 0; i < s->nbackends; i++)
			if (s->backends[i].st != NULL)
				ec_bstate_destroy(&s->bstates[i]);
	free(s->groups);
	free(s->bstates);
	free(s->backends);
	free(s);
}

struct ec_site *ec_site_build(struct ec_config *conf, char *err, size_t errlen)
{
	return ec_site_build_dns(conf, NULL, err, errlen);
}

struct ec_site *ec_site_build_dns(struct ec_config *conf, const struct ec_dns_table *dns,
				  char *err, size_t errlen)
{
	struct ec_site *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->refcnt = 1;
	unsigned nb = 0;
	for (unsigned i = 0; i < conf->norigins; i++)
		nb += backend_count(&conf->origins[i], dns);
	for (unsigned i = 0; i < conf->ngbackends; i++)
		nb += backend_count(&conf->gbackends[i], dns);
	s->backends = calloc(nb ? nb : 1, sizeof(*s->backends));
	s->groups = calloc(conf->ngroups + 1, sizeof(*s->groups));
	if (posix_memalign((void **)&s->bstates, EC_CACHELINE,
			   (nb ? nb : 1) * sizeof(*s->bstates)) != 0)
		s->bstates = NULL;
	if (s->backends == NULL || s->groups == NULL || s->bstates == NULL) {
		site_free(s);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	unsigned at = 0;
	for (unsigned i = 0; i < conf->norigins; i++)
		if (backends_add(s, &at, &conf->origins[i], dns, err, errlen) != 0)
			goto fail;
	unsigned ndefault = at;
	unsigned gfirst[EC_CONF_MAX_GROUPS], gn[EC_CONF_MAX_GROUPS];
	for (unsigned g = 0; g < conf->ngroups; g++) {
		const struct ec_conf_group *cg = &conf->groups[g];
		gfirst[g] = at;
		for (unsigned i = cg->first; i < cg->first + cg->n; i++)
			if (backends_add(s, &at, &conf->gbackends[i], dns, err, errlen) != 0)
				goto fail;
		gn[g] = at - gfirst[g];
	}
	EC_ASSERT(at == nb);
	s->nbackends = nb;
	if (conf->norigins > 0) {
		if (group_init(s, conf, &s->groups[s->ngroups++], "default", NULL, &conf->lb, 0,
			       ndefault, err, errlen) != 0 ||
		    group_tls(s, conf, &s->groups[s->ngroups - 1], 0, err, errlen) != 0)
			goto fail;
	}
	for (unsigned i = 0; i < conf->ngroups; i++) {
		const struct ec_conf_group *cg = &conf->groups[i];
		if (group_init(s, conf, &s->groups[s->ngroups++], cg->name, cg, &cg->lb, gfirst[i],
			       gn[i], err, errlen) != 0 ||
		    group_tls(s, conf, &s->groups[s->ngroups - 1], i, err, errlen) != 0)
			goto fail;
	}
	s->conf = ec_config_ref(conf);

	/* RFC 9213 targets from cache.targeted: CDN-Cache-Control is a
	 * Structured Field, the others (Surrogate-Control...) use Cache-Control
	 * syntax; all are stripped before the response goes downstream. */
	ec_fresh_conf_init(&s->fconf);
	size_t nt = 0;
	for (const char *p = conf->targeted; *p && nt < EC_SITE_MAX_TARGETS;) {
		while (*p == ',' || *p == ' ')
			p++;
		const char *e = p;
		while (*e && *e != ',' && *e != ' ')
			e++;
		size_t len = (size_t)(e - p);
		if (len > 0 && len < sizeof(s->target_names[0])) {
			memcpy(s->target_names[nt], p, len);
			s->target_names[nt][len] = '\0';
			s->targets[nt].name = s->target_names[nt];
			s->targets[nt].syntax = strcasecmp(s->target_names[nt], "CDN-Cache-Control") == 0
							? EC_CC_SYNTAX_SF
							: EC_CC_SYNTAX_CC;
			s->targets[nt].strip = true;
			nt++;
		}
		p = e;
	}
	s->fconf.targets = s->targets;
	s->fconf.ntargets = nt;
	s->fconf.heuristic_max = (int64_t)conf->heuristic_max;
	s->fconf.default_ttl = (int64_t)conf->default_ttl;
	s->fconf.stale_on_error = (int64_t)conf->grace;
	return s;
fail:
	site_free(s);
	return NULL;
}

struct ec_site *ec_site_ref(struct ec_site *s)
{
	__atomic_add_fetch(&s->refcnt, 1, __ATOMIC_RELAXED);
	return s;
}

void ec_site_unref(struct ec_site **sp)
{
	struct ec_site *s = *sp;
	*sp = NULL;
	if (s == NULL)
		return;
	if (__atomic_sub_fetch(&s->refcnt, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	if (s->tls_release)
		s->tls_release(&s->tls);
	ec_config_unref(&s->conf);
	site_free(s);
}
