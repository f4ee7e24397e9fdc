/*
 * worker.c — worker threads (see worker.h).
 *
 * Each worker runs its own event_base created without internal locks
 * (EVENT_BASE_FLAG_NOLOCK): nothing but the worker touches it. The main
 * thread talks to a worker only through its mailbox: a mutex-protected
 * command word plus an eventfd that wakes the loop.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "fill.h"
#include "h1_conn.h"
#include "origin.h"
#include "site.h"
#include "tls.h"
#include "worker.h"

#define ACCEPT_BATCH 64
#define HDR_SCRATCH_MIN 256

static const struct timeval *common_timeout(struct ec_worker *w, double secs, struct timeval *own)
{
	if (secs <= 0)
		secs = 0.001;
	own->tv_sec = (time_t)secs;
	own->tv_usec = (suseconds_t)((secs - (double)own->tv_sec) * 1e6);
	const struct timeval *ct = event_base_init_common_timeout(w->base, own);
	return ct ? ct : own;
}

static int apply_site(struct ec_worker *w, struct ec_site *site, struct timeval *own)
{
	const struct ec_config *cf = site->conf;
	unsigned want = EC_MAX(cf->max_fields, (unsigned)HDR_SCRATCH_MIN);
	if (want > w->hdr_scratch_len) {
		struct ec_hdr *h = realloc(w->hdr_scratch, want * sizeof(*h));
		if (h == NULL)
			return -1;
		w->hdr_scratch = h;
		w->hdr_scratch_len = want;
	}
	w->tv_header = common_timeout(w, cf->header_timeout, &own[0]);
	w->tv_idle = common_timeout(w, cf->idle_timeout, &own[1]);
	w->tv_send = common_timeout(w, cf->send_timeout, &own[2]);
	w->tv_connect = common_timeout(w, cf->connect_timeout, &own[3]);
	w->tv_first_byte = common_timeout(w, cf->first_byte_timeout, &own[4]);
	w->tv_between = common_timeout(w, cf->between_bytes_timeout, &own[5]);
	w->tv_pool_idle = common_timeout(w, cf->pool_idle_timeout, &own[6]);
	ec_site_unref(&w->site);
	w->site = ec_site_ref(site);
	return 0;
}

double ec_worker_now(struct ec_worker *w)
{
	struct timeval tv;
	event_base_gettimeofday_cached(w->base, &tv);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

double ec_time_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct ec_str ec_worker_date(struct ec_worker *w)
{
	struct timeval tv;
	event_base_gettimeofday_cached(w->base, &tv);
	if ((int64_t)tv.tv_sec != w->date_sec) {
		w->date_sec = tv.tv_sec;
		ec_http_date_format(w->date_sec, w->date);
	}
	return ec_str_make(w->date, 29);
}

/* --- connections --------------------------------------------------------- */

void ec_worker__conn_add(struct ec_worker *w, struct ec_conn *c)
{
	c->prev = NULL;
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	EC_STAT_INC(&w->stats, client_conns_open);
}

void ec_worker__conn_del(struct ec_worker *w, struct ec_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->next = c->prev = NULL;
	w->nconns--;
	EC_STAT_DEC(&w->stats, client_conns_open);
	if (!w->accepting && !w->draining && w->ev_listen) {
		/* A slot freed under limits.max_connections: accept again. */
		for (unsigned i = 0; i < w->nlisten; i++)
			event_add(w->ev_listen[i], NULL);
		w->accepting = true;
	}
}

void ec_worker__maybe_drained(struct ec_worker *w)
{
	if (w->draining && w->nconns == 0 && w->nfetches == 0 && w->fills == NULL)
		event_base_loopexit(w->base, NULL);
}

static void stop_accepting(struct ec_worker *w)
{
	if (!w->accepting)
		return;
	for (unsigned i = 0; i < w->nlisten; i++)
		event_del(w->ev_listen[i]);
	w->accepting = false;
}

static void on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct ec_worker *w = arg;
	EC_CHECK_MAGIC(w, EC_WORKER_MAGIC);
	const struct ec_config *cf = w->site->conf;
	w->activity++;
	struct ec_tls_ctx *tls = NULL;
	bool is_tls = false;
	for (unsigned i = w->tls_first; i < w->nlisten; i++)
		if (w->listen_fds[i] == fd)
			is_tls = true, tls = w->site->tls;
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int cfd = accept4(fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				static __thread double last;
				double now = ec_worker_now(w);
				if (now - last > 10) {
					ec_log_err("accept: %s: raise the file descriptor limit",
						   strerror(errno));
					last = now;
				}
			}
			break;
		}
		EC_STAT_INC(&w->stats, client_conns_accepted);
		if (cf->max_conns && w->nconns >= cf->max_conns) {
			EC_STAT_INC(&w->stats, client_conns_refused);
			close(cfd);
			stop_accepting(w);
			break;
		}
		if (is_tls && tls == NULL) {
			close(cfd); /* a reload dropped every certificate: TLS cannot be served */
			continue;
		}
		int one = 1;
		if (ss.ss_family != AF_UNIX)
			setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		ec_h1_conn_new(w, cfd, (struct sockaddr *)&ss, sl, tls);
	}
}

/* --- timers and commands ----------------------------------------------- */

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct ec_worker *w = arg;
	EC_CHECK_MAGIC(w, EC_WORKER_MAGIC);
	if (w->alog.len)
		ec_alog_flush(&w->alog);
	/* Loop lag: how late this once-a-second timer fired (admin metrics). */
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	double now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	if (w->tick_last > 0) {
		double lag = now - w->tick_last - 1.0;
		__atomic_store_n(&w->stats.loop_lag_us, lag > 0 ? (uint64_t)(lag * 1e6) : 0,
		                 __ATOMIC_RELAXED);
	}
	w->tick_last = now;
}

/* The worker whose loop runs on this thread (NULL on others). */
static __thread struct ec_worker *tl_worker;

void ec_worker__wake_signal(struct ec_worker *w)
{
	if (tl_worker == w) {
		event_active(w->ev_wake, EV_TIMEOUT, 1);
		return;
	}
	uint64_t one = 1;
	ssize_t r = write(w->wake_fd, &one, sizeof(one));
	(void)r;
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct ec_worker *w = arg;
	EC_CHECK_MAGIC(w, EC_WORKER_MAGIC);
	if (fd >= 0) {
		uint64_t v;
		ssize_t r = read(fd, &v, sizeof(v));
		(void)r;
	}
	ec_fill__worker_wake(w);
}

static void start_drain(struct ec_worker *w)
{
	if (w->draining)
		return;
	stop_accepting(w);
	w->draining = true;
	for (unsigned i = 0; i < w->nlisten; i++) {
		event_free(w->ev_listen[i]);
		close(w->listen_fds[i]);
		w->listen_fds[i] = -1;
	}
	free(w->ev_listen);
	w->ev_listen = NULL;
	w->nlisten = 0;
	ec_origin_pools_free(w);
	struct ec_conn *c = w->conns, *next;
	for (; c != NULL; c = next) {
		next = c->next;
		ec_h1_conn_drain(c);
	}
	ec_worker__maybe_drained(w);
}

static void on_cmd(evutil_socket_t fd, short what, void *arg)
{
	struct ec_worker *w = arg;
	EC_CHECK_MAGIC(w, EC_WORKER_MAGIC);
	uint64_t v;
	ssize_t r = read(fd, &v, sizeof(v));
	(void)r;
	pthread_mutex_lock(&w->cmd_lock);
	unsigned cmd = w->cmd;
	struct ec_site *site = w->cmd_site;
	w->cmd = 0;
	w->cmd_site = NULL;
	pthread_mutex_unlock(&w->cmd_lock);
	if (cmd & EC_WCMD_RELOAD) {
		if (site != NULL && apply_site(w, site, w->tv_own) != 0)
			ec_log_err("worker %u: out of memory applying the new configuration", w->id);
	}
	ec_site_unref(&site);
	if (cmd & EC_WCMD_DRAIN)
		start_drain(w);
	if (cmd & EC_WCMD_STOP)
		event_base_loopbreak(w->base);
}

void ec_worker_post(struct ec_worker *w, enum ec_wcmd cmd, struct ec_site *site)
{
	pthread_mutex_lock(&w->cmd_lock);
	w->cmd |= (unsigned)cmd;
	if (site != NULL) {
		ec_site_unref(&w->cmd_site);
		w->cmd_site = ec_site_ref(site);
	}
	pthread_mutex_unlock(&w->cmd_lock);
	uint64_t one = 1;
	ssize_t r = write(w->cmd_fd, &one, sizeof(one));
	(void)r;
}

/* --- lifecycle ------------------------------------------------------------- */

struct ec_worker *ec_worker_new(unsigned id, struct ec_site *site, const int *listen_fds,
				unsigned nlisten)
{
	/* Cache-line aligned: the stats block is, and UBSan checks it. */
	size_t size = (sizeof(struct ec_worker) + EC_CACHELINE - 1) & ~(size_t)(EC_CACHELINE - 1);
	struct ec_worker *w = aligned_alloc(EC_CACHELINE, size);
	if (w == NULL)
		return NULL;
	memset(w, 0, size);
	w->magic = EC_WORKER_MAGIC;
	w->id = id;
	pthread_mutex_init(&w->cmd_lock, NULL);
	w->cmd_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	pthread_mutex_init(&w->wake_lock, NULL);
	w->rr = id; /* spread the round-robin starting points */
	struct event_config *ecfg = event_config_new();
	if (ecfg == NULL || w->cmd_fd < 0 || w->wake_fd < 0)
		goto fail;
	event_config_set_flag(ecfg, EVENT_BASE_FLAG_NOLOCK);
	w->base = event_base_new_with_config(ecfg);
	event_config_free(ecfg);
	if (w->base == NULL)
		goto fail;
	w->scratch = evbuffer_new();
	if (w->scratch == NULL || apply_site(w, site, w->tv_own) != 0)
		goto fail;
	w->nlisten = nlisten;
	w->tls_first = nlisten;
	w->listen_fds = calloc(nlisten ? nlisten : 1, sizeof(int));
	w->ev_listen = calloc(nlisten ? nlisten : 1, sizeof(struct event *));
	if (w->listen_fds == NULL || w->ev_listen == NULL)
		goto fail;
	for (unsigned i = 0; i < nlisten; i++) {
		w->listen_fds[i] = listen_fds[i];
		w->ev_listen[i] =
			event_new(w->base, listen_fds[i], EV_READ | EV_PERSIST, on_accept, w);
		if (w->ev_listen[i] == NULL || event_add(w->ev_listen[i], NULL) != 0)
			goto fail;
	}
	w->accepting = true;
	w->ev_cmd = event_new(w->base, w->cmd_fd, EV_READ | EV_PERSIST, on_cmd, w);
	w->ev_tick = event_new(w->base, -1, EV_PERSIST, on_tick, w);
	w->ev_wake = event_new(w->base, w->wake_fd, EV_READ | EV_PERSIST, on_wake, w);
	if (w->ev_wake == NULL || event_add(w->ev_wake, NULL) != 0)
		goto fail;
	struct timeval sec = {1, 0};
	if (w->ev_cmd == NULL || w->ev_tick == NULL || event_add(w->ev_cmd, NULL) != 0 ||
	    event_add(w->ev_tick, &sec) != 0)
		goto fail;
	return w;
fail:
	ec_log_err("worker %u: cannot set up: out of resources", id);
	/* Partially built: release what exists. Listening fds stay the caller's. */
	if (w->ev_listen) {
		for (unsigned i = 0; i < nlisten; i++)
			if (w->ev_listen[i])
				event_free(w->ev_listen[i]);
		free(w->ev_listen);
	}
	free(w->listen_fds);
	if (w->ev_cmd)
		event_free(w->ev_cmd);
	if (w->ev_tick)
		event_free(w->ev_tick);
	if (w->ev_wake)
		event_free(w->ev_wake);
	if (w->wake_fd >= 0)
		close(w->wake_fd);
	if (w->scratch)
		evbuffer_free(w->scratch);
	if (w->base)
		event_base_free(w->base);
	if (w->cmd_fd >= 0)
		close(w->cmd_fd);
	ec_site_unref(&w->site);
	free(w->hdr_scratch);
	free(w);
	return NULL;
}

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * The event loop. With `busy_poll` set, a loop that just did work polls
 * (epoll with no wait) for that long before it blocks again: on virtual
 * machines a halted vCPU takes milliseconds to wake, which dominates tail
 * latency once a worker outpaces its clients. Off (0) by default: it spends
 * CPU to buy latency, the operator's call.
 */
static void worker_loop(struct ec_worker *w)
{
	for (;;) {
		double spin = w->site->conf->busy_poll;
		if (spin <= 0) {
			event_base_loop(w->base, EVLOOP_ONCE);
		} else {
			uint64_t seen = w->activity;
			double idle_since = mono_now();
			while (mono_now() - idle_since < spin && !event_base_got_exit(w->base) &&
			       !event_base_got_break(w->base)) {
				event_base_loop(w->base, EVLOOP_NONBLOCK);
				if (w->activity != seen) {
					seen = w->activity;
					idle_since = mono_now();
				}
			}
			if (!event_base_got_exit(w->base) && !event_base_got_break(w->base))
				event_base_loop(w->base, EVLOOP_ONCE);
		}
		if (event_base_got_exit(w->base) || event_base_got_break(w->base))
			break;
	}
}

static void *worker_main(void *arg)
{
	struct ec_worker *w = arg;
	EC_CHECK_MAGIC(w, EC_WORKER_MAGIC);
	tl_worker = w;
	worker_loop(w);
	/* Leaving: whatever is still open (drain deadline passed) is cut. */
	while (w->conns)
		ec_h1_conn_kill(w->conns);
	ec_fill__worker_exit(w);
	ec_origin_pools_free(w);
	if (w->alog.len)
		ec_alog_flush(&w->alog);
	__atomic_store_n(&w->exited, 1, __ATOMIC_RELEASE);
	return NULL;
}

int ec_worker_start(struct ec_worker *w)
{
	return pthread_create(&w->thread, NULL, worker_main, w) == 0 ? 0 : -1;
}

void ec_worker_join_free(struct ec_worker **wp)
{
	struct ec_worker *w = *wp;
	*wp = NULL;
	if (w == NULL)
		return;
	pthread_join(w->thread, NULL);
	for (unsigned i = 0; i < w->nlisten; i++) {
		if (w->ev_listen[i])
			event_free(w->ev_listen[i]);
		if (w->listen_fds[i] >= 0)
			close(w->listen_fds[i]);
	}
	free(w->ev_listen);
	free(w->listen_fds);
	event_free(w->ev_cmd);
	event_free(w->ev_tick);
	event_free(w->ev_wake);
	close(w->wake_fd);
	pthread_mutex_destroy(&w->wake_lock);
	evbuffer_free(w->scratch);
	event_base_free(w->base);
	close(w->cmd_fd);
	ec_site_unref(&w->site);
	ec_site_unref(&w->cmd_site);
	free(w->hdr_scratch);
	pthread_mutex_destroy(&w->cmd_lock);
	w->magic = 0;
	free(w);
}
