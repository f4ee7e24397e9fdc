/*
 * main.c — the edgecache process: configuration, listening sockets, worker
 * threads, and signals.
 *
 * The main thread parses and validates the configuration, binds every
 * listening socket (one per address per worker, SO_REUSEPORT, so the kernel
 * spreads connections), starts the workers and then only handles signals:
 *
 *   SIGHUP   reload: build a new configuration and site; on success hand it
 *            to every worker (requests in flight keep the old one); on error
 *            log it and keep serving with the old one.
 *   SIGTERM  drain: stop accepting, let in-flight requests finish within
 *   SIGINT   drain_timeout, then stop, and exit 0.
 *   SIGUSR1  reopen the logs (after rotation).
 */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <unistd.h>

#include <event2/event.h>

#include "admin.h"
#include "ban.h"
#include "config.h"
#include "origin.h"
#include "log.h"
#include "health_check.h"
#include "origin_dns.h"
#include "origin_stats.h"
#include "site.h"
#include "tls.h"
#include "fill.h"
#include "policy/learn.h"
#include "policy/predict.h"
#include "storage/ec_disk.h"
#include "storage/ec_store.h"
#include "tiers.h"
#include "worker.h"

static struct {
	int argc;
	char **argv;
	struct ec_config *conf;
	struct ec_site *site;
	struct ec_hc *hc; /* active health checks of `site` */
	struct ec_dns_table *dns;  /* the backend names as resolved for `site`; NULL: none */
	struct ec_dns_watch *dnsw; /* re-resolves them */
	struct ec_store *store;
	struct ec_disk *disk;
	struct ec_hdrcodec *codec;
	struct ec_predict *predict;
	struct ec_learn *learn;
	unsigned nworkers;
	struct ec_worker **workers;
	struct ec_admin *admin;
	struct event_base *base;
	struct event *ev_drain_check;
	double drain_deadline;
	bool draining;
} M;

/*
 * Loads, validates and resolves a configuration from the command line.
 * Returns NULL with err set, or with *action HELP/VERSION and err empty.
 */
static struct ec_site *load(enum ec_config_action *action, struct ec_dns_table **dnsp,
			    char *err, size_t errlen)
{
	bool check_only = false;
	struct ec_config *c = ec_config_new();
	err[0] = '\0';
	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	optind = 1;
	if (ec_config_from_args(c, M.argc, M.argv, &check_only, err, errlen) != 0) {
		ec_config_unref(&c);
		return NULL;
	}
	*action = check_only ? EC_CONFIG_CHECK : c->action;
	if (*action == EC_CONFIG_HELP || *action == EC_CONFIG_VERSION) {
		ec_config_unref(&c);
		return NULL;
	}
	if (ec_config_finish(c, err, errlen) != 0) {
		ec_config_unref(&c);
		return NULL;
	}
	/* backend names: every address through evdns, like later re-resolutions */
	bool no_names = false;
	struct ec_dns_table *dns = ec_dns_collect(c, &no_names);
	if (dns == NULL && !no_names) {
		snprintf(err, errlen, "out of memory");
		ec_config_unref(&c);
		return NULL;
	}
	if (dns != NULL && ec_dns_resolve_sync(dns, c->dns_resolv_conf, 5.0, err, errlen) != 0) {
		free(dns);
		ec_config_unref(&c);
		return NULL;
	}
	struct ec_site *s = ec_site_build_dns(c, dns, err, errlen);
	ec_config_unref(&c);
	if (s != NULL && s->conf->ncerts > 0) {
		s->tls = ec_tls_ctx_new(s->conf, err, errlen);
		s->tls_release = ec_tls_ctx_unref;
		if (s->tls == NULL)
			ec_site_unref(&s);
	}
	if (s == NULL || dnsp == NULL)
		free(dns);
	else
		*dnsp = dns;
	return s;
}

/* Binds one listening socket. Returns the fd or -1 with a message. */
static int bind_one(const struct ec_conf_listen *l, unsigned port, unsigned backlog, char *err,
		    size_t errlen)
{
	struct addrinfo hints = {0}, *res = NULL;
	char ps[16];
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	snprintf(ps, sizeof(ps), "%u", port);
	int rc = getaddrinfo(l->host[0] ? l->host : NULL, ps, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "listen %s: %s", l->text, gai_strerror(rc));
		return -1;
	}
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "listen %s: socket: %s", l->text, strerror(errno));
		freeaddrinfo(res);
		return -1;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (res->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, (int)backlog) != 0) {
		snprintf(err, errlen, "listen %s: %s", l->text, strerror(errno));
		close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	return fd;
}

static unsigned bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/*
 * Address i of the plain listeners then the TLS listeners (tls_listen).
 */
static const struct ec_conf_listen *listen_at(const struct ec_config *c, unsigned i)
{
	return i < c->nlisten ? &c->listen[i] : &c->tls_listen[i - c->nlisten];
}

/*
 * fds[w * n + i]: worker w's socket for address i (listen_at; n is nlisten +
 * ntls_listen). The first socket
 * of an address takes the configured port (0 = any); the others bind the
 * port it got, so `-l 127.0.0.1:0` works with many workers.
 */
static int *bind_all(const struct ec_config *c, unsigned nworkers, char *err, size_t errlen)
{
	unsigned n = c->nlisten + c->ntls_listen;
	int *fds = malloc(sizeof(int) * n * nworkers);
	if (fds == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (unsigned i = 0; i < n * nworkers; i++)
		fds[i] = -1;
	for (unsigned i = 0; i < n; i++) {
		const struct ec_conf_listen *l = listen_at(c, i);
		unsigned port = l->port;
		for (unsigned w = 0; w < nworkers; w++) {
			int fd = bind_one(l, port, c->backlog, err, errlen);
			if (fd < 0) {
				for (unsigned k = 0; k < n * nworkers; k++)
					if (fds[k] >= 0)
						close(fds[k]);
				free(fds);
				return NULL;
			}
			fds[w * n + i] = fd;
			if (w == 0)
				port = bound_port(fd);
		}
		const char *h = l->host, *kind = i < c->nlisten ? "http" : "https";
		fprintf(stderr, strchr(h, ':') ? "edgecache: listening on [%s]:%u (%s)\n"
					       : "edgecache: listening on %s:%u (%s)\n",
			h, port, kind);
	}
	fflush(stderr);
	return fds;
}

/* --- signals --------------------------------------------------------------- */

static void on_dns_changed(void *arg, const struct ec_dns_table *fresh);

/* Makes `s` the current site: health carried over, checks restarted, workers
 * told. Takes the caller's reference. */
static void site_install(struct ec_site *s)
{
	ec_origin_publish(s); /* before the workers use it: backends keep their health */
	ec_hc_stop(&M.hc);
	M.hc = ec_hc_start(s);
	for (unsigned i = 0; i < M.nworkers; i++)
		ec_worker_post(M.workers[i], EC_WCMD_RELOAD, s);
	ec_admin_set_site(M.admin, s);
	ec_site_unref(&M.site);
	M.site = s;
}

/* The watcher saw other addresses for a backend name: same rules, new backends. */
static void on_dns_changed(void *arg, const struct ec_dns_table *fresh)
{
	char err[1024];
	struct ec_site *s = ec_site_build_dns(M.site->conf, fresh, err, sizeof(err));
	if (s == NULL) {
		ec_log_err("dns: cannot rebuild the backends, keeping the current ones: %s", err);
		return;
	}
	if (M.dns != NULL)
		*M.dns = *fresh;
	site_install(s);
	ec_log_info("dns: backends rebuilt (%u)", M.site->nbackends);
}

static void dns_watch_restart(struct ec_dns_table *dns)
{
	ec_dns_watch_stop(&M.dnsw);
	free(M.dns);
	M.dns = dns;
	M.dnsw = ec_dns_watch_start(M.base, dns, M.site->conf->dns_resolv_conf,
				    M.site->conf->dns_interval, on_dns_changed, NULL);
}

static void on_reload(evutil_socket_t sig, short what, void *arg)
{
	char err[1024];
	enum ec_config_action action;
	struct ec_dns_table *dns = NULL;
	ec_log_info("SIGHUP: reloading the configuration");
	struct ec_site *s = load(&action, &dns, err, sizeof(err));
	if (s == NULL) {
		ec_log_err("reload failed, keeping the running configuration: %s", err);
		return;
	}
	const struct ec_config *old = M.site->conf, *nc = s->conf;
	bool listen_same = old->nlisten == nc->nlisten;
	for (unsigned i = 0; listen_same && i < nc->nlisten; i++)
		listen_same = strcmp(old->listen[i].text, nc->listen[i].text) == 0;
	if (!listen_same || old->workers != nc->workers)
		ec_log_warn("reload: listen addresses and worker count apply at the next restart");
	if (old->memory_size != nc->memory_size || strcmp(old->eviction, nc->eviction) != 0 ||
	    old->max_object_size != nc->max_object_size)
		ec_log_warn("reload: memory, cache.eviction and cache.max_object_size apply at the "
			    "next restart");
	if (strcmp(old->disk_dir, nc->disk_dir) != 0 || old->disk_size != nc->disk_size ||
	    strcmp(old->disk_sync, nc->disk_sync) != 0 ||
	    old->disk_sync_interval != nc->disk_sync_interval ||
	    old->disk_high_watermark != nc->disk_high_watermark ||
	    old->disk_low_watermark != nc->disk_low_watermark ||
	    old->disk_batch_delay != nc->disk_batch_delay)
		ec_log_warn("reload: the disk tier's settings apply at the next restart");
	if (strcmp(old->admin, nc->admin) != 0)
		ec_log_warn("reload: the admin address applies at the next restart");
	else if (ec_admin_reload_token(M.admin, nc->admin_token_file, err, sizeof(err)) != 0)
		ec_log_err("reload: keeping the admin token: %s", err);
	if (strcmp(old->access_log, nc->access_log) != 0 || strcmp(old->error_log, nc->error_log) != 0)
		ec_log_warn("reload: log paths apply at the next restart (SIGUSR1 reopens them)");
	site_install(s);
	dns_watch_restart(dns);
	ec_log_info("configuration reloaded");
}

static void on_reopen(evutil_socket_t sig, short what, void *arg)
{
	ec_log_reopen();
}

static void on_drain_check(evutil_socket_t fd, short what, void *arg)
{
	bool all = true;
	for (unsigned i = 0; i < M.nworkers; i++)
		all = all && __atomic_load_n(&M.workers[i]->exited, __ATOMIC_ACQUIRE);
	if (all) {
		event_base_loopbreak(M.base);
		return;
	}
	struct timeval now;
	event_base_gettimeofday_cached(M.base, &now);
	if ((double)now.tv_sec + now.tv_usec / 1e6 >= M.drain_deadline) {
		ec_log_warn("drain timeout: closing the remaining connections");
		for (unsigned i = 0; i < M.nworkers; i++)
			ec_worker_post(M.workers[i], EC_WCMD_STOP, NULL);
		event_base_loopbreak(M.base);
	}
}

static void on_term(evutil_socket_t sig, short what, void *arg)
{
	if (M.draining) {
		ec_log_warn("second signal: stopping now");
		for (unsigned i = 0; i < M.nworkers; i++)
			ec_worker_post(M.workers[i], EC_WCMD_STOP, NULL);
		event_base_loopbreak(M.base);
		return;
	}
	M.draining = true;
	ec_log_info("%s: draining (up to %.1fs)", sig == SIGINT ? "SIGINT" : "SIGTERM",
		    M.site->conf->drain_timeout);
	struct timeval now;
	event_base_gettimeofday_cached(M.base, &now);
	M.drain_deadline = (double)now.tv_sec + now.tv_usec / 1e6 + M.site->conf->drain_timeout;
	for (unsigned i = 0; i < M.nworkers; i++)
		ec_worker_post(M.workers[i], EC_WCMD_DRAIN, NULL);
	struct timeval tick = {0, 50000};
	M.ev_drain_check = event_new(M.base, -1, EV_PERSIST, on_drain_check, NULL);
	event_add(M.ev_drain_check, &tick);
}

static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	char err[1024];
	enum ec_config_action action = EC_CONFIG_RUN;
	M.argc = argc;
	M.argv = argv;
	signal(SIGPIPE, SIG_IGN);

	M.site = load(&action, &M.dns, err, sizeof(err));
	if (M.site == NULL) {
		if (action == EC_CONFIG_HELP) {
			fputs(ec_config_usage(), stdout);
			return 0;
		}
		if (action == EC_CONFIG_VERSION) {
			printf("edgecache %s\n", PACKAGE_VERSION);
			return 0;
		}
		fprintf(stderr, "edgecache: %s\n", err);
		return action == EC_CONFIG_CHECK ? 1 : 2;
	}
	const struct ec_config *c = M.site->conf;
	if (action == EC_CONFIG_CHECK) {
		printf("edgecache: configuration %s%sOK\n", c->path, c->path[0] ? " " : "");
		ec_site_unref(&M.site);
		return 0;
	}
	if (ec_log_open(c->error_log) != 0) {
		fprintf(stderr, "edgecache: error_log %s: %s\n", c->error_log, strerror(errno));
		return 1;
	}
	if (ec_alog_open(c->access_log) != 0) {
		fprintf(stderr, "edgecache: access_log %s: %s\n", c->access_log, strerror(errno));
		return 1;
	}
	raise_nofile();

	struct ec_store_config scfg;
	const char *why = NULL;
	ec_store_config_default(&scfg, c->memory_size);
	scfg.policy = strcmp(c->eviction, "lru") == 0 ? EC_EVICT_LRU : EC_EVICT_S3FIFO;
	scfg.max_obj_size = EC_MIN(c->max_object_size, c->memory_size);
	M.store = ec_store_new(&scfg, &why);
	if (M.store == NULL) {
		fprintf(stderr, "edgecache: memory: cannot create the memory tier: %s\n", why);
		return 1;
	}

	/* The disk tier: when it cannot be used, the reason is logged and the
	 * daemon runs memory-only. */
	M.disk = ec_tiers_open_disk(c, &M.codec);

	M.predict = ec_predict_new(65536, (int64_t)c->hit_for_miss_ttl);
	M.learn = ec_learn_new(262144);
	if (M.predict == NULL || M.learn == NULL || ec_fill_init() != 0) {
		fprintf(stderr, "edgecache: out of memory\n");
		return 1;
	}

	/* Signals stay pending until their handlers are in place (below): a
	 * SIGTERM right after "listening on" must not kill the process with the
	 * default action. Threads started meanwhile inherit the mask, so only
	 * the main thread ever takes them. */
	sigset_t sigs_blocked;
	sigemptyset(&sigs_blocked);
	sigaddset(&sigs_blocked, SIGHUP);
	sigaddset(&sigs_blocked, SIGTERM);
	sigaddset(&sigs_blocked, SIGINT);
	sigaddset(&sigs_blocked, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &sigs_blocked, NULL);

	M.nworkers = c->workers;
	int *fds = bind_all(c, M.nworkers, err, sizeof(err));
	if (fds == NULL) {
		fprintf(stderr, "edgecache: %s\n", err);
		return 1;
	}
	M.workers = calloc(M.nworkers, sizeof(*M.workers));
	M.base = event_base_new();
	if (M.workers == NULL || M.base == NULL) {
		fprintf(stderr, "edgecache: out of memory\n");
		return 1;
	}
	ec_origin_publish(M.site);
	M.hc = ec_hc_start(M.site);
	for (unsigned i = 0; i < M.nworkers; i++) {
		unsigned nl = c->nlisten + c->ntls_listen;
		M.workers[i] = ec_worker_new(i, M.site, &fds[i * nl], nl);
		if (M.workers[i] != NULL) {
			M.workers[i]->tls_first = c->nlisten;
			M.workers[i]->store = M.store;
			M.workers[i]->disk = M.disk;
			M.workers[i]->predict = M.predict;
			M.workers[i]->learn = M.learn;
		}
		if (M.workers[i] == NULL || ec_worker_start(M.workers[i]) != 0) {
			fprintf(stderr, "edgecache: cannot start worker %u\n", i);
			return 1;
		}
	}
	free(fds);
	struct ec_admin_env aenv = {M.workers, M.nworkers, M.store, M.disk};
	M.admin = ec_admin_new(&aenv, M.site, err, sizeof(err));
	if (M.admin == NULL && err[0] != '\0') {
		fprintf(stderr, "edgecache: %s\n", err);
		return 1;
	}
	if (M.admin != NULL && ec_admin_start(M.admin) != 0) {
		fprintf(stderr, "edgecache: cannot start the admin thread\n");
		return 1;
	}
	fflush(stderr);
	ec_log_info("edgecache %s started: %u workers, %u origins", PACKAGE_VERSION, M.nworkers,
		    M.site->nbackends);
	M.dnsw = ec_dns_watch_start(M.base, M.dns, M.site->conf->dns_resolv_conf,
				    M.site->conf->dns_interval, on_dns_changed, NULL);

	struct event *sigs[] = {
		evsignal_new(M.base, SIGHUP, on_reload, NULL),
		evsignal_new(M.base, SIGTERM, on_term, NULL),
		evsignal_new(M.base, SIGINT, on_term, NULL),
		evsignal_new(M.base, SIGUSR1, on_reopen, NULL),
	};
	for (size_t i = 0; i < EC_ARRAY_LEN(sigs); i++)
		if (sigs[i] == NULL || event_add(sigs[i], NULL) != 0) {
			fprintf(stderr, "edgecache: cannot install signal handlers\n");
			return 1;
		}
	pthread_sigmask(SIG_UNBLOCK, &sigs_blocked, NULL);
	event_base_dispatch(M.base);

	ec_admin_free(&M.admin); /* it reads the workers' counters: before they go */
	for (unsigned i = 0; i < M.nworkers; i++)
		ec_worker_join_free(&M.workers[i]);
	ec_hc_stop(&M.hc);
	ec_dns_watch_stop(&M.dnsw);
	free(M.dns);
	ec_origin_publish(NULL);
	for (size_t i = 0; i < EC_ARRAY_LEN(sigs); i++)
		event_free(sigs[i]);
	if (M.ev_drain_check)
		event_free(M.ev_drain_check);
	event_base_free(M.base);
	free(M.workers);
	ec_disk_close(&M.disk); /* applies what is queued, syncs */
	ec_hdrcodec_free(&M.codec);
	ec_store_free(&M.store);
	ec_predict_free(&M.predict);
	ec_learn_free(&M.learn);
	ec_fill_fini();
	ec_ban_fini();
	ec_site_unref(&M.site);
	ec_log_info("stopped");
	return 0;
}
