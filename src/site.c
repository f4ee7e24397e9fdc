/*
 * site.c — building and sharing the per-generation site (see site.h).
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ec_util.h"
#include "site.h"

static uint64_t fnv1a(const char *s, uint64_t h)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

struct ec_site *ec_site_build(struct ec_config *conf, char *err, size_t errlen)
{
	struct ec_site *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->refcnt = 1;
	s->backends = calloc(conf->norigins ? conf->norigins : 1, sizeof(*s->backends));
	if (s->backends == NULL) {
		free(s);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (unsigned i = 0; i < conf->norigins; i++) {
		const struct ec_conf_origin *o = &conf->origins[i];
		struct ec_backend *b = &s->backends[i];
		struct addrinfo hints = {0}, *res = NULL;
		char port[16];
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_NUMERICSERV;
		snprintf(port, sizeof(port), "%u", o->port);
		int rc = getaddrinfo(o->host, port, &hints, &res);
		if (rc != 0 || res == NULL) {
			snprintf(err, errlen, "origin %s: cannot resolve %s: %s", o->url, o->host,
				 rc ? gai_strerror(rc) : "no address");
			free(s->backends);
			free(s);
			return NULL;
		}
		EC_ASSERT(res->ai_addrlen <= sizeof(b->addr));
		memcpy(&b->addr, res->ai_addr, res->ai_addrlen);
		b->addrlen = res->ai_addrlen;
		freeaddrinfo(res);
		b->index = i;
		b->weight = o->weight ? o->weight : 1;
		if (strchr(o->host, ':'))
			snprintf(b->name, sizeof(b->name), "[%s]:%u", o->host, o->port);
		else
			snprintf(b->name, sizeof(b->name), "%s:%u", o->host, o->port);
		snprintf(b->host_field, sizeof(b->host_field), "%s", o->authority);
		b->id = fnv1a(b->name, fnv1a(o->scheme, 0xcbf29ce484222325ull));
	}
	s->nbackends = conf->norigins;
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
	free(s->backends);
	free(s);
}
