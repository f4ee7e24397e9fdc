/*
 * worker.h — worker threads: one libevent event_base each, one listening
 * socket per listener address each (SO_REUSEPORT: the kernel spreads
 * connections), and everything a connection touches on its way: stats,
 * the access-log buffer, the origin connection pools. A connection never
 * changes thread, so nothing here is locked except the command mailbox
 * through which the main thread asks for a reload, a drain or a stop.
 */
#ifndef EC_WORKER_H
#define EC_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/time.h>

#include "ec_http.h"
#include "log.h"
#include "stats.h"

struct event_base;
struct event;
struct evbuffer;
struct ec_site;
struct ec_conn;
struct ec_pool;
struct ec_store;
struct ec_disk;
struct ec_reader;
struct ec_fill;
struct ec_predict;
struct ec_learn;

#define EC_WORKER_MAGIC 0x574b5231u

enum ec_wcmd {
	EC_WCMD_RELOAD = 1 << 0, /* take cmd_site as the new site */
	EC_WCMD_DRAIN = 1 << 1,  /* stop accepting, finish in-flight requests, exit the loop */
	EC_WCMD_STOP = 1 << 2,   /* exit the loop now */
};

struct ec_worker {
	unsigned magic;
	unsigned id;
	pthread_t thread;
	struct event_base *base;
	struct ec_site *site; /* current generation (reference held) */
	struct ec_store *store; /* the memory tier, shared by all workers; NULL = no cache */
	struct ec_disk *disk;   /* the LMDB tier, shared; NULL = memory only (src/tiers.h) */

	/* listeners: fds created by the main thread, one per address */
	unsigned nlisten;
	int *listen_fds;
	struct event **ev_listen;
	unsigned tls_first; /* listen_fds[tls_first..nlisten) are TLS listeners */
	bool accepting;

	/* client connections (for draining and the connection limit) */
	struct ec_conn *conns; /* doubly linked via conn->next/prev */
	unsigned nconns;
	unsigned nfetches; /* origin exchanges in flight */

	/* origin side: idle keep-alive connections per backend identity */
	struct ec_pool *pools;
	unsigned npools;
	unsigned rr; /* round-robin cursor over site->backends */
	/* finished fetches kept for reuse, with their buffer, event and head
	 * copy (origin.c): four allocations fewer per origin request */
	struct ec_fetch *spare_fetches;
	unsigned nspare_fetches;

	/* timeouts as libevent common timeouts (O(1) timer insertion) */
	const struct timeval *tv_header, *tv_idle, *tv_send;
	const struct timeval *tv_connect, *tv_first_byte, *tv_between, *tv_pool_idle;

	struct event *ev_tick; /* once a second: access-log flush, drain checks */
	double tick_last;      /* CLOCK_MONOTONIC of the last tick (loop lag) */
	bool draining;

	/* mailbox from the main thread */
	pthread_mutex_t cmd_lock;
	unsigned cmd;
	struct ec_site *cmd_site;
	int cmd_fd; /* eventfd the main thread writes to wake the loop */
	struct event *ev_cmd;
	struct timeval tv_own[7]; /* fallbacks when libevent runs out of common timeouts */

	/* scratch space for synchronous work (never held across callbacks) */
	struct ec_hdr *hdr_scratch; /* parser output before it is copied */
	unsigned hdr_scratch_len;
	struct evbuffer *scratch;

	/* the Date field value, refreshed once a second */
	char date[32];
	int64_t date_sec;

	int exited; /* set (atomically) when the thread's loop has ended */
	uint64_t activity; /* bumped by socket callbacks: the busy-poll loop watches it */

	/* coalescing (fill.c): readers to pump, queued by any thread */
	pthread_mutex_t wake_lock;
	struct ec_reader *wake_head, *wake_tail;
	bool wake_signalled;
	int wake_fd; /* eventfd other threads write to */
	struct event *ev_wake;
	struct ec_fill *fills; /* fills whose fetch runs here (this thread only) */
	struct ec_predict *predict; /* the cacheability predictor, shared */
	struct ec_learn *learn;     /* the freshness predictor, shared */

	struct ec_stats stats;
	struct ec_alog_buf alog;
};

/*
 * Creates the worker (its event_base, timers, mailbox) for listening
 * sockets already bound by the main thread; takes a reference to `site`.
 * Returns NULL on failure (resources). Does not start the thread.
 */
struct ec_worker *ec_worker_new(unsigned id, struct ec_site *site, const int *listen_fds,
				unsigned nlisten);
/* Starts the thread. 0 or -1. */
int ec_worker_start(struct ec_worker *w);
/* Posts a command from the main thread (RELOAD needs `site`, taking a reference). */
void ec_worker_post(struct ec_worker *w, enum ec_wcmd cmd, struct ec_site *site);
/* Joins the thread and frees everything. */
void ec_worker_join_free(struct ec_worker **wp);

/* Wall clock as of this loop iteration (cheap; for timers and dates). */
double ec_worker_now(struct ec_worker *w);
/* Wall clock now, to the microsecond (for request timings in logs). */
double ec_time_now(void);
/* The current HTTP Date value (IMF-fixdate), cached per second. */
struct ec_str ec_worker_date(struct ec_worker *w);

/* Connection bookkeeping for h1_conn.c. */
void ec_worker__conn_add(struct ec_worker *w, struct ec_conn *c);
void ec_worker__conn_del(struct ec_worker *w, struct ec_conn *c);
/* Wakes w's loop to pump its queued readers (any thread; fill.c). */
void ec_worker__wake_signal(struct ec_worker *w);

/* Called when a connection or fetch ends while draining: exits the loop when idle. */
void ec_worker__maybe_drained(struct ec_worker *w);

#endif /* EC_WORKER_H */
