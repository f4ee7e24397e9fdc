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

#include <pthread.h>

#include "h1_body.h"
#include "json.h"
#include "netio.h"
#include "origin.h"
#include "site.h"
#include "worker.h"

/*
 * Per-backend figures for GET /backends, shared by the workers: one slot
 * per backend identity (ec_backend.id), found without a lock, added under
 * bstat_lock; every count is a relaxed atomic.
 */
#define BSTAT_MAX 256
struct bstat {
	uint64_t id; /* 0 = free */
	uint64_t requests, errors, inflight, pool_idle, pool_new, pool_reused;
};
static struct bstat bstats[BSTAT_MAX];
static unsigned nbstats;
static pthread_mutex_t bstat_lock = PTHREAD_MUTEX_INITIALIZER;

static struct bstat *bstat_find(uint64_t id, bool add)
{
	unsigned n = __atomic_load_n(&nbstats, __ATOMIC_ACQUIRE);
	for (unsigned i = 0; i < n; i++)
		if (bstats[i].id == id)
			return &bstats[i];
	if (!add)
		return NULL;
	pthread_mutex_lock(&bstat_lock);
	struct bstat *b = NULL;
	for (unsigned i = 0; i < nbstats && b == NULL; i++)
		if (bstats[i].id == id)
			b = &bstats[i];
	if (b == NULL && nbstats < BSTAT_MAX) {
		b = &bstats[nbstats];
		b->id = id;
		__atomic_store_n(&nbstats, nbstats + 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&bstat_lock);
	return b;
}

#define BSTAT_ADD(id, field, n)                                                                    \
	do {                                                                                       \
		struct bstat *bs_ = bstat_find((id), true);                                        \
		if (bs_ != NULL)                                                                   \
			__atomic_add_fetch(&bs_->field, (uint64_t)(n), __ATOMIC_RELAXED);          \
	} while (0)

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
};

enum fstate {
	FS_INVALID = 0,
	FS_CONNECTING,
	FS_SENDING,   /* the request is being written */
	FS_WAIT_HEAD, /* the request is written; waiting for the head */
	FS_BODY,      /* streaming the response body */
};

struct ec_fetch {
	unsigned magic;
	struct ec_worker *wrk;
	struct ec_site *site;
	unsigned backend;      /* index into site->backends */
	unsigned backends_tried;
	uint64_t inflight_id; /* backend counted in flight for /backends; 0 = none */
	bool retried_reuse;
	const struct ec_fetch_ops *ops;
	void *owner;
	struct ec_fetch_req r;
	char *head;

	struct ec_oconn *oc;
	enum fstate state;
	bool reused;      /* oc came from the pool */
	bool resp_byte;   /* a byte of response arrived */
	bool body_pulled; /* a request-body byte was consumed from the owner */
	bool req_body_done;
	bool req_sent;
	bool head_seen;
	bool paused;
	bool resp_keepalive;
	bool in_start; /* inside ec_fetch_start: errors are deferred */
	struct ec_h1_parser parser;
	struct ec_h1_body body;
	struct evbuffer *tmp;
	struct event *ev_defer;
	enum ec_fetch_err deferred;
};

static void oc_on_read(evutil_socket_t fd, short what, void *arg);
static void oc_on_write(evutil_socket_t fd, short what, void *arg);
static void oc_on_timer(evutil_socket_t fd, short what, void *arg);
static void fetch_attempt(struct ec_fetch *f);
static void fetch_send(struct ec_fetch *f);

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
	event_free(oc->ev_read);
	event_free(oc->ev_write);
	event_free(oc->ev_timer);
	evbuffer_free(oc->in);
	evbuffer_free(oc->out);
	close(oc->fd);
	oc->magic = 0;
	free(oc);
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
	BSTAT_ADD(id, pool_idle, -1);
	event_del(oc->ev_timer);
	return oc;
}

/* Puts a connection whose exchange ended cleanly back into its pool. */
static void pool_put(struct ec_oconn *oc)
{
	struct ec_worker *w = oc->wrk;
	const struct ec_config *cf = w->site->conf;
	struct ec_pool *p = pool_get(w, oc->pool_id, true);
	if (p == NULL || p->nidle >= cf->pool_max_idle || w->draining) {
		oc_close(oc);
		return;
	}
	oc->fetch = NULL;
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
	BSTAT_ADD(oc->pool_id, pool_idle, 1);
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
	BSTAT_ADD(oc->pool_id, pool_idle, -1);
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

static void fetch_free(struct ec_fetch *f)
{
	EC_CHECK_MAGIC(f, FETCH_MAGIC);
	struct ec_worker *w = f->wrk;
	EC_ASSERT(f->oc == NULL);
	if (f->inflight_id != 0)
		BSTAT_ADD(f->inflight_id, inflight, -1);
	event_free(f->ev_defer);
	evbuffer_free(f->tmp);
	ec_site_unref(&f->site);
	free(f->head);
	f->magic = 0;
	free(f);
	EC_ASSERT(w->nfetches > 0);
	w->nfetches--;
	ec_worker__maybe_drained(w);
}

/* Detaches the connection: back to the pool when `reuse`, else closed. */
static void fetch_release_conn(struct ec_fetch *f, bool reuse)
{
	struct ec_oconn *oc = f->oc;
	if (oc == NULL)
		return;
	f->oc = NULL;
	oc->fetch = NULL;
	event_del(oc->ev_timer);
	if (reuse)
		pool_put(oc);
	else
		oc_close(oc);
}

static void fetch_fail(struct ec_fetch *f, enum ec_fetch_err err);

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
	if (!f->resp_byte && !f->head_seen) {
		bool connect_err = err == EC_FETCH_E_CONNECT || err == EC_FETCH_E_CONNECT_TIMEOUT;
		if (connect_err) {
			EC_STAT_INC(&w->stats, origin_connect_errors);
			if (err == EC_FETCH_E_CONNECT_TIMEOUT) /* refusals were logged with errno */
				ec_log_warn("origin %s: %s", b->name, ec_fetch_err_text(err));
		}
		/* Nothing reached an origin application: another backend may try. */
		if (connect_err && f->backends_tried < f->site->nbackends) {
			f->backend = (f->backend + 1) % f->site->nbackends;
			f->backends_tried++;
			EC_STAT_INC(&w->stats, origin_retries);
			fetch_attempt(f);
			return;
		}
		/* A pooled connection the origin had closed: once, on a fresh one. */
		if (err == EC_FETCH_E_CLOSED && f->reused && !f->retried_reuse && f->r.idempotent &&
		    !f->body_pulled) {
			f->retried_reuse = true;
			EC_STAT_INC(&w->stats, origin_retries);
			fetch_attempt(f);
			return;
		}
	}
	if (err == EC_FETCH_E_TIMEOUT || err == EC_FETCH_E_BODY_TIMEOUT)
		EC_STAT_INC(&w->stats, origin_timeouts);
	else if (err == EC_FETCH_E_BAD_RESPONSE || err == EC_FETCH_E_TRUNCATED ||
		 err == EC_FETCH_E_CLOSED)
		EC_STAT_INC(&w->stats, origin_errors);
	if (err != EC_FETCH_E_CLIENT_BODY)
		BSTAT_ADD(b->id, errors, 1);
	if (err != EC_FETCH_E_CONNECT && err != EC_FETCH_E_CONNECT_TIMEOUT &&
	    err != EC_FETCH_E_CLIENT_BODY)
		ec_log_warn("origin %s: %s", b->name, ec_fetch_err_text(err));
	f->ops->error(f->owner, f, err, f->head_seen);
	fetch_free(f);
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
	if (!f->retried_reuse)
		oc = pool_pop(w, b->id);
	if (f->inflight_id != 0)
		BSTAT_ADD(f->inflight_id, inflight, -1);
	f->inflight_id = b->id;
	BSTAT_ADD(b->id, inflight, 1);
	BSTAT_ADD(b->id, requests, 1);
	BSTAT_ADD(b->id, pool_reused, oc != NULL);
	BSTAT_ADD(b->id, pool_new, oc == NULL);
	if (oc != NULL) {
		f->reused = true;
		EC_STAT_INC(&w->stats, origin_conns_reused);
	} else {
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
	struct ec_fetch *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return NULL;
	f->head = malloc(r->head_len);
	f->tmp = evbuffer_new();
	f->ev_defer = event_new(w->base, -1, 0, on_defer, f);
	if (f->head == NULL || f->tmp == NULL || f->ev_defer == NULL) {
		free(f->head);
		if (f->tmp)
			evbuffer_free(f->tmp);
		if (f->ev_defer)
			event_free(f->ev_defer);
		free(f);
		return NULL;
	}
	f->magic = FETCH_MAGIC;
	f->wrk = w;
	f->site = ec_site_ref(site);
	f->backend = first;
	f->backends_tried = 1;
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
	if (f->state == FS_CONNECTING || oc == NULL)
		return;
	for (;;) {
		enum pump p = f->req_body_done ? PUMP_DONE : fetch_pump_body(f);
		if (p == PUMP_FAILED)
			return;
		if (evbuffer_get_length(oc->out)) {
			int n = evbuffer_write(oc->out, oc->fd);
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
	if (f->oc != NULL && !f->req_body_done)
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
		f->head_seen = true;
		f->state = FS_BODY;
		f->resp_keepalive = resp.keepalive;
		ec_h1_body_init(&f->body, resp.framing, resp.content_length);
		f->ops->head(f->owner, f, &resp);
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
		oc_idle_end(oc);
		return;
	}
	if (f->state == FS_CONNECTING)
		return; /* wait for writability to learn the connect result */
	f->wrk->activity++;
	/* Small reads for heads and small bodies (a 64 KiB buffer per 1 KiB
	 * response is a wasted allocation), large ones while a big body streams. */
	size_t want = READ_SMALL;
	if (f->head_seen && (f->body.framing == EC_H1_BODY_CLOSE ||
			     f->body.framing == EC_H1_BODY_CHUNKED || f->body.left > READ_SMALL))
		want = READ_MAX;
	int n = ec_netio_read(oc->in, fd, want);
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
		f->state = FS_SENDING;
		event_del(oc->ev_timer);
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

/* --- GET /backends ----------------------------------------------------------- */

static struct ec_site *bj_site;
static pthread_mutex_t bj_lock = PTHREAD_MUTEX_INITIALIZER;

void ec_origin_set_site(struct ec_site *site)
{
	struct ec_site *s = site ? ec_site_ref(site) : NULL;
	pthread_mutex_lock(&bj_lock);
	struct ec_site *old = bj_site;
	bj_site = s;
	pthread_mutex_unlock(&bj_lock);
	ec_site_unref(&old);
}

void ec_origin_backends_json(struct evbuffer *out)
{
	pthread_mutex_lock(&bj_lock);
	struct ec_site *s = bj_site ? ec_site_ref(bj_site) : NULL;
	pthread_mutex_unlock(&bj_lock);
	evbuffer_add_printf(out, "{\"groups\":[{\"name\":\"default\",\"algorithm\":\"rr\","
	                         "\"backends\":[");
	for (unsigned i = 0; s != NULL && i < s->nbackends; i++) {
		const struct ec_backend *b = &s->backends[i];
		struct bstat *bs = bstat_find(b->id, false);
		struct bstat z = {0};
		if (bs == NULL)
			bs = &z;
#define LD(f) (unsigned long long)__atomic_load_n(&bs->f, __ATOMIC_RELAXED)
		evbuffer_add_printf(out, "%s{\"name\":", i ? "," : "");
		ec_json_cstr(out, b->name);
		evbuffer_add_printf(out,
		                    ",\"weight\":%u,\"backup\":false,\"health\":\"up\","
		                    "\"requests\":%llu,\"errors\":%llu,\"inflight\":%llu,"
		                    "\"pool_idle\":%llu,\"pool_new\":%llu,\"pool_reused\":%llu,"
		                    "\"latency_ms\":{\"p50\":0.0,\"p90\":0.0,\"p99\":0.0}}",
		                    b->weight, LD(requests), LD(errors), LD(inflight), LD(pool_idle),
		                    LD(pool_new), LD(pool_reused));
#undef LD
	}
	evbuffer_add_printf(out, "]}]}\n");
	ec_site_unref(&s);
}
