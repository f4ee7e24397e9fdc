/*
 * admin.h — the admin API (DESIGN.md "Interfaces", docs/admin.md): its own
 * listener (TCP, loopback by default, or a Unix socket path), HTTP/1.1 read
 * with our parser, JSON answers, a bearer token on every call but
 * GET /health.
 *
 * Thread. The admin API runs on a thread of its own with its own
 * event_base: purges by prefix or tag, listings and the ban lurker walk the
 * whole memory tier and wait for the disk writer (ec_disk_flush), which
 * must never stall a worker's connections. It reads the workers' counters
 * with relaxed loads (stats.h) and calls the tiers, which lock internally.
 */
#ifndef EC_ADMIN_H
#define EC_ADMIN_H

struct ec_worker;
struct ec_site;
struct ec_store;
struct ec_disk;
struct ec_admin;

struct ec_admin_env {
	struct ec_worker **workers; /* borrowed; outlive the admin thread */
	unsigned nworkers;
	struct ec_store *store;
	struct ec_disk *disk; /* NULL: memory only */
};

/*
 * Binds the listener c->admin of `site` (nothing when "off": returns NULL
 * with err empty) and reads the token (admin_token_file, else
 * EDGECACHE_ADMIN_TOKEN). Prints "edgecache: listening on ADDR:PORT (admin)"
 * on stderr. Returns NULL with err set when the address cannot be bound or
 * the token file cannot be read. Main thread; blocks (bind, file read).
 */
struct ec_admin *ec_admin_new(const struct ec_admin_env *env, struct ec_site *site, char *err,
                              size_t errlen);

/* Starts the admin thread. 0 or -1. */
int ec_admin_start(struct ec_admin *a);

/* A reloaded site (key rules, backends) for later calls; takes a reference. Any thread. */
void ec_admin_set_site(struct ec_admin *a, struct ec_site *site);

/*
 * SIGHUP: reads the token again (admin_token_file `file`, else
 * EDGECACHE_ADMIN_TOKEN) and swaps it in for later calls. On failure the
 * old token stays and err says why. NULL-safe. Main thread; blocks (file read).
 */
int ec_admin_reload_token(struct ec_admin *a, const char *file, char *err, size_t errlen);

/* Stops the thread, closes the listener (unlinks a Unix socket), frees. NULL-safe. */
void ec_admin_free(struct ec_admin **ap);

#endif /* EC_ADMIN_H */
