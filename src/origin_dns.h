/*
 * origin_dns.h — backends given by name: resolved with libevent's evdns
 * (the resolv.conf named by origin.dns_resolv_conf, and /etc/hosts), every
 * address a backend, re-resolved every origin.dns_interval.
 *
 * At load (and reload) the main thread resolves every name synchronously on
 * a private event_base, bounded by a timeout; a name that does not resolve
 * is a load error. Afterwards a watcher on the main thread's event_base
 * re-resolves all names asynchronously, as often as the shortest TTL of
 * their A records says (at least 1 s apart) and at most origin.dns_interval
 * apart (names from the hosts file: the interval); when the set of
 * addresses of a name changed it hands the new table to a callback, which
 * builds a new site (the backends' health carries over by address). A failed
 * re-resolution keeps the name's last good addresses (logged).
 *
 * Threads: main only. Numeric hosts never go through here.
 */
#ifndef EC_ORIGIN_DNS_H
#define EC_ORIGIN_DNS_H

#include <stdbool.h>
#include <sys/socket.h>

struct event_base;
struct ec_config;

#define EC_DNS_MAX_ADDRS 16  /* addresses kept per name */
#define EC_DNS_MAX_NAMES 128 /* names per configuration */

struct ec_dns_entry {
	char host[256];
	unsigned n; /* addresses, sorted */
	struct sockaddr_storage addr[EC_DNS_MAX_ADDRS];
	socklen_t len[EC_DNS_MAX_ADDRS];
	bool ok;         /* resolved at least once */
	char error[128]; /* the last failure */
};

struct ec_dns_table {
	unsigned n;
	struct ec_dns_entry e[EC_DNS_MAX_NAMES];
};

/* Whether host is an IPv4/IPv6 literal (no resolution). */
bool ec_dns_is_numeric(const char *host);

/* A table of every name conf's backends use, unresolved; NULL if none or
 * out of memory (*none tells which). Free with free(). */
struct ec_dns_table *ec_dns_collect(const struct ec_config *conf, bool *none);

/* Resolves every entry, blocking for at most `timeout` seconds. 0, or -1
 * with "origin NAME: cannot resolve: REASON" in err. */
int ec_dns_resolve_sync(struct ec_dns_table *t, const char *resolv_conf, double timeout, char *err,
                        size_t errlen);

/* The entry for host, or NULL. */
const struct ec_dns_entry *ec_dns_find(const struct ec_dns_table *t, const char *host);

struct ec_dns_watch;
/* The addresses changed: `fresh` (valid during the call) is the new table. */
typedef void ec_dns_changed_f(void *arg, const struct ec_dns_table *fresh);

/* Re-resolves `current`'s names every `interval` seconds on `base`. NULL when
 * interval is 0 or the table empty. */
struct ec_dns_watch *ec_dns_watch_start(struct event_base *base, const struct ec_dns_table *current,
                                        const char *resolv_conf, double interval,
                                        ec_dns_changed_f *cb, void *arg);
void ec_dns_watch_stop(struct ec_dns_watch **wp);

#endif /* EC_ORIGIN_DNS_H */
