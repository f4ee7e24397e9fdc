/*
 * site.h — everything a request needs that a reload can change: the
 * configuration snapshot plus what is derived from it at load time (the
 * resolved origin backends).
 *
 * Built by the main thread (it may block: name resolution), published to
 * every worker, never modified afterwards. Reference-counted with atomics:
 * each worker holds one reference to its current site and each request one
 * to the site it started with, so a reload never changes the rules under a
 * request in flight.
 */
#ifndef EC_SITE_H
#define EC_SITE_H

#include <sys/socket.h>

#include "config.h"
#include "policy/fresh.h"

struct ec_bstate;
struct ec_lb_ops;

struct ec_backend {
	unsigned index;                /* position in site->backends */
	unsigned group;                /* index into site->groups */
	bool backup;                   /* used only when every primary of the group is down */
	char send_host[256];           /* Host to send (group host / origin_host); "" = client's */
	struct ec_bstate *st;          /* shared health and counters (origin_stats.h) */
	bool tls;                      /* https: through group->tls */
	char tls_name[256];            /* SNI and verified name (tls_sni or the host) */
	char name[300];                /* host:port for logs, e.g. 127.0.0.1:9000 */
	char host_field[300];          /* Host value when the origin's own name is wanted */
	struct sockaddr_storage addr;  /* resolved at load time */
	socklen_t addrlen;
	unsigned weight;
	uint64_t id; /* identity across reloads (hash of scheme, host, port): pools keyed by it */
};

#define EC_SITE_MAX_TARGETS 8

/* An origin group: backends site->backends[first..first+n), routed by Host and
 * path prefix (cg), balanced by `ops` with per-site state `lb`. */
struct ec_group {
	char name[64];
	const struct ec_conf_group *cg; /* NULL for the default group (-o / origins:) */
	const struct ec_conf_lb *lbc;   /* into conf */
	unsigned first, n;
	const struct ec_lb_ops *ops;
	void *lb; /* the algorithm's state (lb.h) */
	struct ssl_ctx_st *tls; /* SSL_CTX for its https backends, NULL without (origin_tls.h) */
	bool h2;                /* protocol h2c or h2: HTTP/2 streams (origin_h2.c) */
};

struct ec_site {
	unsigned refcnt;
	struct ec_config *conf; /* reference held */
	unsigned nbackends;
	struct ec_backend *backends; /* every group's, group by group */
	unsigned ngroups;
	struct ec_group *groups; /* the default group first when there is one */
	struct ec_bstate *bstates; /* one per backend */

	/* cache rules derived from conf (policy/ takes them as a struct) */
	struct ec_fresh_conf fconf;
	struct ec_cc_target targets[EC_SITE_MAX_TARGETS];
	char target_names[EC_SITE_MAX_TARGETS][64];

	/* TLS contexts for the TLS listeners (tls.h), NULL without certificates;
	 * attached by main.c after ec_site_build, released through tls_release
	 * (so that site.c itself needs no TLS library). */
	struct ec_tls_ctx *tls;
	void (*tls_release)(struct ec_tls_ctx **);
};

/*
 * Builds a site from a finished config (takes a reference to it). Resolves
 * each origin host with getaddrinfo (blocking; main thread only). Returns
 * NULL with a message in err when an origin cannot be resolved.
 */
struct ec_site *ec_site_build(struct ec_config *conf, char *err, size_t errlen);
/* As ec_site_build, with the names in `dns` (origin_dns.h) already resolved:
 * every address of a name becomes a backend named ADDR:PORT. Names missing
 * from `dns` (or dns NULL) go through getaddrinfo. */
struct ec_dns_table;
struct ec_site *ec_site_build_dns(struct ec_config *conf, const struct ec_dns_table *dns,
				  char *err, size_t errlen);
struct ec_site *ec_site_ref(struct ec_site *s);
/* Drops a reference, frees at zero, clears *sp. Any thread. */
void ec_site_unref(struct ec_site **sp);

#endif /* EC_SITE_H */
