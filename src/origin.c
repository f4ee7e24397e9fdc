/*
 * origin.c — the origin connector: fetches over pooled HTTP/1.1 keep-alive
 * connections (see origin.h for the contract, retries and callback rules).
 *
 * Ownership: a fetch owns its connection (`oc`) while the exchange runs;
 * an idle connection belongs to its worker's pool for the backend's
 * identity. Both live on one worker thread; nothing is locked.
 *
 * Timers (one per connection, re-armed as the state changes): connect →
 * origin.connect_timeout; sending the request → between_bytes (a stalled
 * upload); request sent, head not yet complete → first_byte; body →
 * between_bytes, re-armed on every read; idle in the pool →
 * pool_idle_timeout.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "h1_body.h"
#include "netio.h"
#include "origin.h"
#include "origin_h2.h"
#include "origin_priv.h"
#include "origin_stats.h"
#include "origin_tls.h"
#include "retry.h"
#include "route.h"
#include "site.h"
#include "tls.h"
#include "worker.h"

#define FETCH_MAGIC 0x46455431u
#define OCONN_MAGIC 0x4f434e31u
#define SEND_HIGH (256 * 1024)
#define READ_MAX 65536
#define READ_SMALL 16384
#define BODY_STEP (256 * 1024)

static const struct {
	int status;
	const char *token, *text;
} fetch_errs[] = {
	[EC_FETCH_E_INVALID] = {500, "internal", "internal error"},
#define X(sym, st, tok, txt) [EC_FETCH_E_##sym] = {st, tok, txt},
#include "tbl/fetch_errors.h"
#undef X
};

int ec_fetch_err_status(enum ec_fetch_err e)
{
	return fetch_errs[e].status;
}

const char *ec_fetch_err_token(enum ec_fetch_err e)
{
	return fetch_errs[e].token;
}

const char *ec_fetch_err_text(enum ec_fetch_err e)
{
	return fetch_errs[e].text;
}

struct ec_pool {
	uint64_t id;
	struct ec_oconn *idle; /* most recently used first */
	unsigned nidle;
};

struct ec_oconn {
	unsigned magic;
	struct ec_oconn *next, *prev; /* pool's idle list */
	struct ec_worker *wrk;
	uint64_t pool_id;
	int fd;
	struct event *ev_read, *ev_write, *ev_timer;
	struct evbuffer *in, *out;
	unsigned nreq;
	struct ec_fetch *fetch; /* NULL while idle */
	bool reading, writing;
	SSL *ssl; /* https backends (origin_tls.h); NULL for plain TCP */
	/* while idle: the site whose backend counts it in pool_idle (reference) */
	struct ec_site *idle_site;
	struct ec_bstate *idle_st;
};

static void oc_on_read(evutil_socket_t fd, short what, void *arg);
static void oc_on_write(evutil_socket_t fd, short what, void *arg);
static void oc_on_timer(evutil_socket_t fd, short what, void *arg);
static void fetch_attempt(struct ec_fetch *f);
static void fetch_send(struct ec_fetch *f);
static void fetch_handshake(struct ec_fetch *f);
static void fetch_destroy(struct ec_fetch *f);
static void on_defer(evutil_socket_t fd, short what, void *arg);

/* --- connections and pools --------------------------------------------- */

static void oc_set_reading(struct ec_oconn *oc, bool on)
{
	if (on == oc->reading)
		return;
	if (on)
		event_add(oc->ev_read, NULL);
	else
		event_del(oc->ev_read);
	oc->reading = on;
}

static void oc_set_writing(struct ec_oconn *oc, bool on)
{
	if (on == oc->writing)
		return;
	if (on)
		event_add(oc->ev_write, NULL);
	else
		event_del(oc->ev_write);
	oc->writing = on;
}

static void oc_close(struct ec_oconn *oc)
{
	EC_CHECK_MAGIC(oc, OCONN_MAGIC);
	if (oc->ssl != NULL)
		SSL_free(oc->ssl);
	event_free(oc->ev_read);
	event_free(oc->ev_write);
	event_free(oc->ev_timer);
	evbuffer_free(oc->in);
	evbuffer_free(oc->out);
	close(oc->fd);
	oc->magic = 0;
	free(oc);
}

/* The connection leaves the idle state: its backend's pool_idle goes down. */
static void oc_unidle(struct ec_oconn *oc)
{
	if (oc->idle_st != NULL)
		__atomic_sub_fetch(&oc->idle_st->pool_idle, 1, __ATOMIC_RELAXED);
	oc->idle_st = NULL;
	ec_site_unref(&oc->idle_site);
}

static struct ec_pool *pool_get(struct ec_worker *w, uint64_t id, bool create)
{
	for (unsigned i = 0; i < w->npools; i++)
		if (w->pools[i].id == id)
			return &w->pools[i];
	if (!create)
		return NULL;
	struct ec_pool *np = realloc(w->pools, (w->npools + 1) * sizeof(*np));
	if (np == NULL)
		return NULL;
	w->pools = np;
	memset(&np[w->npools], 0, sizeof(np[0]));
	np[w->npools].id = id;
	return &np[w->npools++];
}

static void pool_unlink(struct ec_pool *p, struct ec_oconn *oc)
{
	if (oc->prev)
		oc->prev->next = oc->next;
	else
		p->idle = oc->next;
	if (oc->next)
		oc->next->prev = oc->prev;
	oc->next = oc->prev = NULL;
	p->nidle--;
}

static struct ec_oconn *pool_pop(struct ec_worker *w, uint64_t id)
{
	struct ec_pool *p = pool_get(w, id, false);
	if (p == NULL || p->idle == NULL)
		return NULL;
	struct ec_oconn *oc = p->idle;
	pool_unlink(p, oc);
	EC_STAT_DEC(&w->stats, origin_conns_idle);
	event_del(oc->ev_timer);
	oc_unidle(oc);
	return oc;
}

/* Puts a connection whose exchange ended cleanly back into its pool; `b`
 * of `site` counts it as idle. */
static void pool_put(struct ec_oconn *oc, struct ec_site *site, const struct ec_backend *b)
{
	struct ec_worker *w = oc->wrk;
	const struct ec_config *cf = w->site->conf;
	struct ec_pool *p = pool_get(w, oc->pool_id, true);
	if (p == NULL || p->nidle >= cf->pool_max_idle || w->draining) {
		oc_close(oc);
		return;
	}
	oc->fetch = NULL;
	oc->idle_site = ec_site_ref(site);
	oc->idle_st = b->st;
	__atomic_add_fetch(&b->st->pool_idle, 1, __ATOMIC_RELAXED);
	oc_set_writing(oc, false);
	oc_set_reading(oc, true); /* a close or stray bytes while idle end it */
	event_add(oc->ev_timer, w->tv_pool_idle);
	oc->next = p->idle;
	oc->prev = NULL;
	if (p->idle)
		p->idle->prev = oc;
	p->idle = oc;
	p->nidle++;
	EC_STAT_INC(&w->stats, origin_conns_idle);
}

/* An idle connection saw an event: the origin closed it, sent junk, or it
 * timed out. Either way it is done. */
static void oc_idle_end(struct ec_oconn *oc)
{
	struct ec_worker *w = oc->wrk;
	struct ec_pool *p = pool_get(w, oc->pool_id, false);
	EC_AN(p);
	pool_unlink(p, oc);
	EC_STAT_DEC(&w->stats, origin_conns_idle);
	oc_unidle(oc);
	oc_close(oc);
}

void ec_origin_pools_free(struct ec_worker *w)
{
	for (unsigned i = 0; i < w->npools; i++)
		while (w->pools[i].idle)
			oc_idle_end(w->pools[i].idle);
	free(w->pools);
	w->pools = NULL;
	w->npools = 0;
	while (w->spare_fetches != NULL) {
		struct ec_fetch *f = w->spare_fetches;
		w->spare_fetches = f->next_spare;
		fetch_destroy(f);
	}
	w->nspare_fetches = 0;
	ec_h2_free_worker(w);
}

/* Starts a non-blocking connect. Returns NULL with errno on failure. */
static struct ec_oconn *oc_connect(struct ec_worker *w, const struct ec_backend *b)
{
	int fd = socket(b->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&b->addr, b->addrlen) < 0 &&
	    errno != EINPROGRESS) {
		int e = errno;
		close(fd);
		errno = e;
		return NULL;
	}
	struct ec_oconn *oc = calloc(1, sizeof(*oc));
	if (oc == NULL) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	oc->magic = OCONN_MAGIC;
	oc->wrk = w;
	oc->fd = fd;
	oc->pool_id = b->id;
	oc->in = evbuffer_new();
	oc->out = evbuffer_new();
	oc->ev_read = event_new(w->base, fd, EV_READ | EV_PERSIST, oc_on_read, oc);
	oc->ev_write = event_new(w->base, fd, EV_WRITE | EV_PERSIST, oc_on_write, oc);
	oc->ev_timer = evtimer_new(w->base, oc_on_timer, oc);
	if (!oc->in || !oc->out || !oc->ev_read || !oc->ev_write || !oc->ev_timer) {
		if (oc->in)
			evbuffer_free(oc->in);
		if (oc->out)
			evbuffer_free(oc->out);
		if (oc->ev_read)
			event_free(oc->ev_read);
		if (oc->ev_write)
			event_free(oc->ev_write);
		if (oc->ev_timer)
			event_free(oc->ev_timer);
		free(oc);
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	EC_STAT_INC(&w->stats, origin_conns_opened);
	return oc;
}

/* --- fetch lifecycle ------------------------------------------------------- */

static const struct ec_backend *cur_backend(const struct ec_fetch *f)
{
	return &f->site->backends[f->backend];
}

const struct ec_backend *ec_fetch_backend(const struct ec_fetch *f)
{
	return cur_backend(f);
}

/* Spare fetches kept per worker. Sanitizer builds keep none, so a stale
 * fetch pointer is still caught as a use after free. */
#define SPARE_FETCHES 64

static bool keep_spare(const struct ec_worker *w)
{
#ifdef EC_ASAN
	(void)w;
	return false;
#else
	return w->nspare_fetches < SPARE_FETCHES;
#endif
}

static void fetch_destroy(struct ec_fetch *f)
{
	if (f->ev_defer)
		event_free(f->ev_defer);
	if (f->tmp)
		evbuffer_free(f->tmp);
	free(f->head);
	free(f);
}

/* A zeroed fetch with its buffer, event and room for a head of `head_len`. */
static struct ec_fetch *fetch_alloc(struct ec_worker *w, size_t head_len)
{
	struct ec_fetch *f = w->spare_fetches;
	if (f != NULL) {
		w->spare_fetches = f->next_spare;
		w->nspare_fetches--;
		struct evbuffer *tmp = f->tmp;
		struct event *ev = f->ev_defer;
		char *head = f->head;
		size_t cap = f->head_cap;
		memset(f, 0, sizeof(*f));
		f->tmp = tmp;
		f->ev_defer = ev;
		f->head = head;
		f->head_cap = cap;
	} else {
		f = calloc(1, sizeof(*f));
		if (f == NULL)
			return NULL;
		f->tmp = evbuffer_new();
		f->ev_defer = event_new(w->base, -1, 0, on_defer, f);
		if (f->tmp == NULL || f->ev_defer == NULL) {
			fetch_destroy(f);
			return NULL;
		}
	}
	if (f->head_cap < head_len) {
		char *h = realloc(f->head, head_len);
		if (h == NULL) {
			fetch_destroy(f);
			return NULL;
		}
		f->head = h;
		f->head_cap = head_len;
	}
	return f;
}

static void fetch_free(struct ec_fetch *f)
{
	EC_CHECK_MAGIC(f, FETCH_MAGIC);
	struct ec_worker *w = f->wrk;
	EC_ASSERT(f->oc == NULL);
	ec_site_unref(&f->site);
	f->magic = 0;
	if (keep_spare(w)) {
		event_del(f->ev_defer);
		evbuffer_drain(f->tmp, evbuffer_get_length(f->tmp));
		f->next_spare = w->spare_fetches;
		w->spare_fetches = f;
		w->nspare_fetches++;
	} else {
		fetch_destroy(f);
	}
	EC_ASSERT(w->nfetches > 0);
	w->nfetches--;
	ec_worker__maybe_drained(w);
}

/* Detaches the connection: back to the pool when `reuse`, else closed. */
static void fetch_release_conn(struct ec_fetch *f, bool reuse)
{
	struct ec_oconn *oc = f->oc;
	if (f->h2s != NULL)
		ec_h2_release(f);
	if (oc == NULL)
		return;
	f->oc = NULL;
	oc->fetch = NULL;
	event_del(oc->ev_timer);
	if (reuse)
		pool_put(oc, f->site, cur_backend(f));
	else
		oc_close(oc);
}

/* The current try is over: its backend has one fewer in flight. */
static void fetch_end_try(struct ec_fetch *f)
{
	if (f->inflight_st != NULL)
		__atomic_sub_fetch(&f->inflight_st->inflight, 1, __ATOMIC_RELAXED);
	f->inflight_st = NULL;
}

/* Passive health and error counts for a try that failed with err. */
static void fetch_note_failure(struct ec_fetch *f, enum ec_fetch_err err)
{
	const struct ec_backend *b = cur_backend(f);
	if (err == EC_FETCH_E_CLIENT_BODY)
		return; /* the client's fault */
	EC_BSTAT_ADD(b->st, errors, 1);
	/* a pooled connection the origin had closed says nothing about its health */
	if (err == EC_FETCH_E_CLOSED && f->reused)
		return;
	if (f->head_seen)
		return; /* a body cut short: counted, not a health signal */
	ec_backend_result(b, f->site->groups[f->group].lbc, false, ec_time_now());
}

static void fetch_fail(struct ec_fetch *f, enum ec_fetch_err err);
static void fetch_done(struct ec_fetch *f);

static void on_defer(evutil_socket_t fd, short what, void *arg)
{
	struct ec_fetch *f = arg;
	EC_CHECK_MAGIC(f, FETCH_MAGIC);
	fetch_fail(f, f->deferred);
}

static void fetch_fail(struct ec_fetch *f, enum ec_fetch_err err)
{
	struct ec_worker *w = f->wrk;
	if (f->in_start) {
		/* Never call the owner back from inside ec_fetch_start. */
		f->deferred = err;
		event_active(f->ev_defer, EV_TIMEOUT, 1);
		return;
	}
	const struct ec_backend *b = cur_backend(f);
	fetch_release_conn(f, false);
	fetch_note_failure(f, err);
	fetch_end_try(f);
	if (!f->resp_byte && !f->head_seen) {
		bool connect_err = err == EC_FETCH_E_CONNECT || err == EC_FETCH_E_CONNECT_TIMEOUT;
		if (connect_err) {
			EC_STAT_INC(&w->stats, origin_connect_errors);
			if (err == EC_FETCH_E_CONNECT_TIMEOUT) /* refusals were logged with errno */
				ec_log_warn("origin %s: %s", b->name, ec_fetch_err_text(err));
		}
		/* retry.h has the rules */
		struct ec_retry_in ri = {
			.err = err,
			.resp_byte = f->resp_byte,
			.idempotent = f->r.idempotent,
			.body_pulled = f->body_pulled,
			.reused = f->reused,
			.retried_reuse = f->retried_reuse,
			.backend_down = ec_health_is_down(&b->st->health),
			.retries_left = f->retries_left,
		};
		enum ec_retry rd = ec_retry_decide(&ri);
		if (rd == EC_RETRY_SAME_FRESH) {
			f->retried_reuse = true;
			EC_STAT_INC(&w->stats, origin_retries);
			fetch_attempt(f);
			return;
		}
		int next = rd == EC_RETRY_OTHER ? ec_route_pick(f->site, f->group, w->id, f->tried,
								 f->r.lb_hash, ec_time_now())
						: -1;
		if (next >= 0) {
			f->backend = (unsigned)next;
			f->retries_left--;
			f->retried_reuse = false;
			EC_STAT_INC(&w->stats, origin_retries);
			if (connect_err)
				ec_log_info("origin %s: retrying on %s", b->name, cur_backend(f)->name);
			else
				ec_log_info("origin %s: connection lost before the response; "
					    "retrying on %s",
					    b->name, cur_backend(f)->name);
			fetch_attempt(f);
			return;
		}
	}
	if (err == EC_FETCH_E_TIMEOUT || err == EC_FETCH_E_BODY_TIMEOUT)
		EC_STAT_INC(&w->stats, origin_timeouts);
	else if (err == EC_FETCH_E_BAD_RESPONSE || err == EC_FETCH_E_TRUNCATED ||
		 err == EC_FETCH_E_CLOSED)
		EC_STAT_INC(&w->stats, origin_errors);
	if (err != EC_FETCH_E_CONNECT && err != EC_FETCH_E_CONNECT_TIMEOUT &&
	    err != EC_FETCH_E_CLIENT_BODY)
		ec_log_warn("origin %s: %s", b->name, ec_fetch_err_text(err));
	f->ops->error(f->owner, f, err, f->head_seen);
	fetch_free(f);
}

void ec_fetch__head(struct ec_fetch *f, const struct ec_h1_resp *resp)
{
	const struct ec_backend *b = cur_backend(f);
	f->head_seen = true;
	f->state = FS_BODY;
	double now = ec_time_now();
	ec_bstate_latency(b->st, now - f->t_attempt);
	if (resp->status >= 500)
		EC_BSTAT_ADD(b->st, errors, 1);
	ec_backend_result(b, f->site->groups[f->group].lbc, resp->status < 500, now);
	f->ops->head(f->owner, f, resp);
}

bool ec_fetch__body(struct ec_fetch *f, struct evbuffer *data)
{
	EC_STAT_ADD(&f->wrk->stats, origin_bytes, (uint64_t)evbuffer_get_length(data));
	return f->ops->body(f->owner, f, data);
}

void ec_fetch__fail(struct ec_fetch *f, enum ec_fetch_err err)
{
	fetch_fail(f, err);
}

const struct ec_backend *ec_fetch__backend(const struct ec_fetch *f)
{
	return cur_backend(f);
}

void ec_fetch__done(struct ec_fetch *f)
{
	fetch_done(f);
}

static void fetch_done(struct ec_fetch *f)
{
	struct ec_oconn *oc = f->oc;
	const struct ec_config *cf = f->site->conf;
	bool reuse = oc != NULL && f->resp_keepalive && f->body.framing != EC_H1_BODY_CLOSE &&
		     f->req_sent && evbuffer_get_length(oc->in) == 0 &&
		     evbuffer_get_length(oc->out) == 0 &&
		     (cf->pool_max_requests == 0 || oc->nreq < cf->pool_max_requests);
	fetch_release_conn(f, reuse);
	fetch_end_try(f);
	f->ops->done(f->owner, f);
	fetch_free(f);
}

static void fetch_attempt(struct ec_fetch *f)
{
	struct ec_worker *w = f->wrk;
	const struct ec_backend *b = cur_backend(f);
	struct ec_oconn *oc = NULL;
	f->resp_byte = false;
	f->reused = false;
	f->req_sent = false;
	f->req_body_done = !f->r.has_body;
	f->head_seen = false;
	ec_h1_parser_reset(&f->parser);
	f->tried |= 1ull << (f->backend - f->site->groups[f->group].first);
	f->inflight_st = b->st;
	__atomic_add_fetch(&b->st->inflight, 1, __ATOMIC_RELAXED);
	EC_BSTAT_ADD(b->st, requests, 1);
	f->t_attempt = ec_time_now();
	if (f->site->groups[f->group].h2) {
		/* a stream on the backend's HTTP/2 connection (origin_h2.c) */
		f->state = FS_WAIT_HEAD;
		ec_h2_attempt(f);
		return;
	}
	if (!f->retried_reuse)
		oc = pool_pop(w, b->id);
	if (oc != NULL) {
		f->reused = true;
		EC_STAT_INC(&w->stats, origin_conns_reused);
		EC_BSTAT_ADD(b->st, pool_reused, 1);
	} else {
		EC_BSTAT_ADD(b->st, pool_new, 1);
		oc = oc_connect(w, b);
		if (oc == NULL) {
			f->oc = NULL;
			ec_log_warn("origin %s: connect: %s", b->name, strerror(errno));
			fetch_fail(f, EC_FETCH_E_CONNECT);
			return;
		}
	}
	f->oc = oc;
	oc->fetch = f;
	oc->nreq++;
	EC_STAT_INC(&w->stats, origin_requests);
	evbuffer_add(oc->out, f->head, f->r.head_len);
	oc_set_reading(oc, true);
	if (f->reused) {
		f->state = FS_SENDING;
		fetch_send(f);
	} else {
		f->state = FS_CONNECTING;
		oc_set_writing(oc, true);
		event_add(oc->ev_timer, w->tv_connect);
	}
}

struct ec_fetch *ec_fetch_start(struct ec_worker *w, struct ec_site *site, unsigned first,
				const struct ec_fetch_req *r, const struct ec_fetch_ops *ops,
				void *owner)
{
	EC_ASSERT(first < site->nbackends);
	struct ec_fetch *f = fetch_alloc(w, r->head_len);
	if (f == NULL)
		return NULL;
	f->magic = FETCH_MAGIC;
	f->wrk = w;
	f->site = ec_site_ref(site);
	f->backend = first;
	f->group = site->backends[first].group;
	f->retries_left = site->groups[f->group].lbc->retries;
	f->ops = ops;
	f->owner = owner;
	f->r = *r;
	memcpy(f->head, r->head, r->head_len);
	f->r.head = f->head;
	w->nfetches++;
	f->in_start = true;
	fetch_attempt(f);
	f->in_start = false;
	return f;
}

void ec_fetch_cancel(struct ec_fetch **fp)
{
	struct ec_fetch *f = *fp;
	*fp = NULL;
	if (f == NULL)
		return;
	EC_CHECK_MAGIC(f, FETCH_MAGIC);
	fetch_release_conn(f, false);
	fetch_end_try(f);
	fetch_free(f);
}

/* --- sending --------------------------------------------------------------- */

enum pump {
	PUMP_FULL = 1, /* the send buffer is full: write, then pump again */
	PUMP_DRY,      /* the owner has nothing now; it calls ec_fetch_body_ready */
	PUMP_DONE,     /* the whole body is queued */
	PUMP_FAILED,   /* the owner's body is broken: the fetch has failed */
};

/* Pulls request body from the owner while the send buffer has room. */
static enum pump fetch_pump_body(struct ec_fetch *f)
{
	struct ec_oconn *oc = f->oc;
	while (!f->req_body_done) {
		if (evbuffer_get_length(oc->out) >= SEND_HIGH)
			return PUMP_FULL;
		bool done = false;
		long n = f->ops->body_pull(f->owner, f->tmp, SEND_HIGH, &done);
		if (n < 0) {
			evbuffer_drain(f->tmp, evbuffer_get_length(f->tmp));
			fetch_fail(f, EC_FETCH_E_CLIENT_BODY);
			return PUMP_FAILED;
		}
		if (n > 0) {
			f->body_pulled = true;
			if (f->r.body_chunked)
				ec_h1_chunk_wrap(oc->out, f->tmp);
			else
				evbuffer_add_buffer(oc->out, f->tmp);
		}
		if (done) {
			f->req_body_done = true;
			if (f->r.body_chunked)
				ec_h1_chunk_end(oc->out);
		} else if (n == 0) {
			return PUMP_DRY;
		}
	}
	return PUMP_DONE;
}

/*
 * Writes the request: pump body, write, and again while the kernel takes
 * everything, until the body runs dry (the owner will call
 * ec_fetch_body_ready), the socket is full (EV_WRITE calls back), or all
 * is sent.
 */
static void fetch_send(struct ec_fetch *f)
{
	struct ec_oconn *oc = f->oc;
	struct ec_worker *w = f->wrk;
	if (f->state == FS_CONNECTING || f->state == FS_HANDSHAKE || oc == NULL)
		return;
	for (;;) {
		enum pump p = f->req_body_done ? PUMP_DONE : fetch_pump_body(f);
		if (p == PUMP_FAILED)
			return;
		if (evbuffer_get_length(oc->out)) {
			int n = oc->ssl ? ec_tls_write(oc->ssl, oc->out)
					: ec_netio_write(oc->out, oc->fd);
			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				if (f->head_seen) {
					/* The origin answered early and stopped reading the
					 * request: keep reading its response. */
					evbuffer_drain(oc->out, evbuffer_get_length(oc->out));
					f->req_body_done = true;
					oc_set_writing(oc, false);
					return;
				}
				fetch_fail(f, EC_FETCH_E_CLOSED);
				return;
			}
		}
		if (evbuffer_get_length(oc->out)) {
			oc_set_writing(oc, true);
			if (f->state == FS_SENDING)
				event_add(oc->ev_timer, w->tv_between);
			return;
		}
		oc_set_writing(oc, false);
		if (p != PUMP_FULL)
			break;
	}
	if (f->req_body_done && !f->req_sent) {
		f->req_sent = true;
		if (f->state == FS_SENDING) {
			f->state = FS_WAIT_HEAD;
			event_add(oc->ev_timer, w->tv_first_byte);
		}
	} else if (!f->req_body_done && f->state == FS_SENDING) {
		/* Waiting for the client's body: the client side times that out. */
		event_del(oc->ev_timer);
	}
}

void ec_fetch_body_ready(struct ec_fetch *f)
{
	EC_CHECK_MAGIC(f, FETCH_MAGIC);
	if (f->h2s != NULL) {
		ec_h2_body_ready(f);
		return;
	}
	if (f->oc != NULL && !f->req_body_done)
		fetch_send(f);
}

/* TLS handshake steps; then the request goes out. */
static void fetch_handshake(struct ec_fetch *f)
{
	struct ec_oconn *oc = f->oc;
	bool want_write = false;
	char why[320];
	int rc = ec_otls_handshake(oc->ssl, &want_write, why, sizeof(why));
	if (rc == 0) {
		oc_set_writing(oc, want_write); /* reading stays on */
		return;
	}
	if (rc < 0) {
		ec_log_warn("origin %s: TLS with %s: %s", cur_backend(f)->name,
			    cur_backend(f)->tls_name, why);
		fetch_fail(f, EC_FETCH_E_TLS);
		return;
	}
	EC_STAT_INC(&f->wrk->stats, origin_tls_handshakes);
	if (SSL_session_reused(oc->ssl))
		EC_STAT_INC(&f->wrk->stats, origin_tls_resumed);
	f->state = FS_SENDING;
	event_del(oc->ev_timer);
	fetch_send(f);
}

/* --- receiving ------------------------------------------------------------- */

static void fetch_input(struct ec_fetch *f, bool eof)
{
	struct ec_oconn *oc = f->oc;
	struct ec_worker *w = f->wrk;
	const struct ec_config *cf = f->site->conf;

	while (!f->head_seen) {
		size_t len = evbuffer_get_length(oc->in);
		if (len == 0) {
			if (eof)
				fetch_fail(f, f->resp_byte ? EC_FETCH_E_BAD_RESPONSE : EC_FETCH_E_CLOSED);
			return;
		}
		struct ec_h1_limits lim = {
			.max_request_line = EC_MAX(cf->max_request_line, (size_t)8192),
			.max_head = EC_MAX(cf->max_head, (size_t)65536),
			.max_fields = w->hdr_scratch_len,
		};
		size_t want = EC_MIN(len, lim.max_head + 2);
		const char *base = (const char *)evbuffer_pullup(oc->in, (ssize_t)want);
		struct ec_h1_resp resp;
		const char *why = NULL;
		int rc = ec_h1_parse_response(&f->parser, base, want, &lim, f->r.meth,
					      w->hdr_scratch, w->hdr_scratch_len, &resp, &why);
		if (rc == 0) {
			if (eof)
				fetch_fail(f, EC_FETCH_E_BAD_RESPONSE);
			return;
		}
		if (rc < 0) {
			ec_log_warn("origin %s: invalid response: %s", cur_backend(f)->name,
				    why ? why : "?");
			fetch_fail(f, EC_FETCH_E_BAD_RESPONSE);
			return;
		}
		if (resp.status < 200) {
			/* Interim responses: 100 Continue was already answered to the
			 * client by us; 103 and others are not relayed. 101 cannot
			 * happen: we never forward Upgrade. */
			evbuffer_drain(oc->in, resp.head_len);
			ec_h1_parser_reset(&f->parser);
			if (resp.status == 101) {
				fetch_fail(f, EC_FETCH_E_BAD_RESPONSE);
				return;
			}
			continue;
		}
		f->resp_keepalive = resp.keepalive;
		ec_h1_body_init(&f->body, resp.framing, resp.content_length);
		ec_fetch__head(f, &resp);
		evbuffer_drain(oc->in, resp.head_len);
	}

	for (;;) {
		const char *why = NULL;
		long n = ec_h1_body_move(&f->body, oc->in, f->tmp, BODY_STEP, &why);
		if (n < 0) {
			ec_log_warn("origin %s: invalid chunked body: %s", cur_backend(f)->name,
				    why ? why : "?");
			fetch_fail(f, EC_FETCH_E_BAD_RESPONSE);
			return;
		}
		if (n > 0) {
			EC_STAT_ADD(&w->stats, origin_bytes, (uint64_t)n);
			if (!f->ops->body(f->owner, f, f->tmp))
				f->paused = true;
		}
		if (f->body.done) {
			fetch_done(f);
			return;
		}
		if (n == 0)
			break;
	}
	if (eof) {
		if (f->body.framing == EC_H1_BODY_CLOSE) {
			f->body.done = true;
			fetch_done(f);
		} else {
			fetch_fail(f, EC_FETCH_E_TRUNCATED);
		}
		return;
	}
	if (f->paused) {
		/* The client is slow, not the origin: no between-bytes timer while
		 * paused (the client side has its own send timeout). */
		oc_set_reading(oc, false);
		event_del(oc->ev_timer);
	} else {
		event_add(oc->ev_timer, w->tv_between);
	}
}

void ec_fetch_resume(struct ec_fetch *f)
{
	EC_CHECK_MAGIC(f, FETCH_MAGIC);
	if (f->h2s != NULL) {
		ec_h2_resume(f);
		return;
	}
	if (!f->paused || f->oc == NULL)
		return;
	f->paused = false;
	oc_set_reading(f->oc, true);
	event_add(f->oc->ev_timer, f->wrk->tv_between);
}

/* --- libevent callbacks --------------------------------------------------- */

static void oc_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct ec_oconn *oc = arg;
	EC_CHECK_MAGIC(oc, OCONN_MAGIC);
	struct ec_fetch *f = oc->fetch;
	if (f == NULL) {
		if (oc->ssl != NULL && ec_otls_idle_ok(oc->ssl))
			return; /* a TLS 1.3 session ticket after the response */
		oc_idle_end(oc);
		return;
	}
	if (f->state == FS_CONNECTING)
		return; /* wait for writability to learn the connect result */
	if (f->state == FS_HANDSHAKE) {
		fetch_handshake(f);
		return;
	}
	f->wrk->activity++;
	/* Small reads for heads and small bodies (a 64 KiB buffer per 1 KiB
	 * response is a wasted allocation), large ones while a big body streams. */
	size_t want = READ_SMALL;
	if (f->head_seen && (f->body.framing == EC_H1_BODY_CLOSE ||
			     f->body.framing == EC_H1_BODY_CHUNKED || f->body.left > READ_SMALL))
		want = READ_MAX;
	int n = oc->ssl ? ec_otls_read(oc->ssl, oc->in, want) : ec_netio_read(oc->in, fd, want);
	bool eof = false;
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		eof = true;
	} else if (n == 0) {
		eof = true;
	} else {
		f->resp_byte = true;
	}
	if (eof)
		oc_set_reading(oc, false);
	fetch_input(f, eof);
}

static void oc_on_write(evutil_socket_t fd, short what, void *arg)
{
	struct ec_oconn *oc = arg;
	EC_CHECK_MAGIC(oc, OCONN_MAGIC);
	struct ec_fetch *f = oc->fetch;
	if (f == NULL) {
		oc_set_writing(oc, false);
		return;
	}
	if (f->state == FS_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err != 0) {
			ec_log_warn("origin %s: connect: %s", cur_backend(f)->name, strerror(err));
			fetch_fail(f, EC_FETCH_E_CONNECT);
			return;
		}
		if (cur_backend(f)->tls) {
			const struct ec_group *g = &f->site->groups[f->group];
			oc->ssl = ec_otls_new(g->tls, fd, cur_backend(f)->tls_name,
					     cur_backend(f)->name);
			if (oc->ssl == NULL) {
				fetch_fail(f, EC_FETCH_E_RESOURCES);
				return;
			}
			f->state = FS_HANDSHAKE;
			fetch_handshake(f);
			return;
		}
		f->state = FS_SENDING;
		event_del(oc->ev_timer);
	} else if (f->state == FS_HANDSHAKE) {
		fetch_handshake(f);
		return;
	}
	fetch_send(f);
}

static void oc_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct ec_oconn *oc = arg;
	EC_CHECK_MAGIC(oc, OCONN_MAGIC);
	struct ec_fetch *f = oc->fetch;
	if (f == NULL) {
		oc_idle_end(oc);
		return;
	}
	switch (f->state) {
	case FS_CONNECTING:
	case FS_HANDSHAKE:
		fetch_fail(f, EC_FETCH_E_CONNECT_TIMEOUT);
		break;
	case FS_SENDING:
	case FS_WAIT_HEAD:
		fetch_fail(f, EC_FETCH_E_TIMEOUT);
		break;
	case FS_BODY:
		fetch_fail(f, EC_FETCH_E_BODY_TIMEOUT);
		break;
	case FS_INVALID:
		EC_WRONG("timer on a fetch without state");
	}
}
