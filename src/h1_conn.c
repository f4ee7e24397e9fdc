/*
 * h1_conn.c — the HTTP/1.1 client connection (see h1_conn.h).
 *
 * Life of a connection: accept → HEAD (idle or header timer) → a complete
 * head becomes the embedded request, copied into the arena, and enters the
 * pipeline (BUSY) → the pipeline answers through h1_ops → when the response
 * is queued the request is finished and logged, and the next head is parsed
 * from what is already buffered (pipelining) → ... → CLOSING (flush) →
 * LINGER (write side shut, input discarded briefly so a client that is still
 * sending never turns our last response into a reset) → freed.
 *
 * Reentrancy rule: the transport operations (h1_ops) never close, free or
 * call back into the pipeline. They queue bytes, try one write, and record
 * what happened (resp_finished, broken); the work that follows — finishing
 * the request, parsing the next one, closing — happens in conn_process,
 * which runs from libevent callbacks only (directly, or through the `kick`
 * event when the operation came from an origin callback). So an origin
 * exchange calling into the transport never finds itself cancelled or its
 * request freed under its feet. `in_process` guards conn_process against
 * recursion and defers the free of a connection closed inside it.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "h1_conn.h"
#include "h2_conn.h"
#include "netio.h"
#include "pipeline.h"
#include "site.h"
#include "tls.h"
#include "worker.h"

#define OUT_HIGH (256 * 1024) /* stop producing above this much unsent output */
#define OUT_LOW (64 * 1024)   /* resume below this */
#define IN_HIGH (256 * 1024)  /* stop reading while this much request body waits */
#define READ_MAX 16384 /* requests are small; uploads just take more reads */
#define LINGER_SECS 2
/* The HTTP/2 connection preface: on a plain listener it means h2c with prior knowledge. */
#define H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define H2_PREFACE_LEN 24

static void conn_process(struct ec_conn *c);
static void conn_flush(struct ec_conn *c);
static void conn_free(struct ec_conn *c);
static void conn_start_h2(struct ec_conn *c);
static const struct ec_client_ops h1_ops;

/* Schedules conn_process from the event loop (never runs it inline). */
static void conn_kick(struct ec_conn *c)
{
	if (!c->in_process && !c->dead)
		event_active(c->ev_kick, EV_TIMEOUT, 1);
}

/* --- helpers ------------------------------------------------------------ */

static const struct ec_config *conf_of(struct ec_conn *c)
{
	return c->wrk->site->conf;
}

static void set_reading(struct ec_conn *c, bool on)
{
	if (on && c->ssl != NULL && !c->tls_hs && ec_tls_pending(c->ssl))
		event_active(c->ev_read, EV_READ, 1); /* decrypted bytes wait: no socket event comes */
	if (on == c->reading)
		return;
	if (on)
		event_add(c->ev_read, NULL);
	else
		event_del(c->ev_read);
	c->reading = on;
}

/* One read from the socket or through TLS (ec_netio_read's convention). */
static int conn_io_read(struct ec_conn *c, size_t max)
{
	if (c->ssl == NULL)
		return ec_netio_read(c->in, c->fd, max);
	bool ww;
	int n = ec_tls_read(c->ssl, c->in, max, &ww);
	if (n < 0 && ww && !c->writing) {
		c->rd_wants_wr = true;
		event_add(c->ev_write, NULL);
		c->writing = true;
	}
	return n;
}

/* One write of c->out to the socket or through TLS (evbuffer_write's convention). */
static int conn_io_write(struct ec_conn *c)
{
	if (c->ssl == NULL)
		return ec_netio_write(c->out, c->fd);
	return ec_tls_write(c->ssl, c->out);
}

static void set_timer(struct ec_conn *c, enum ec_conn_timer t)
{
	const struct timeval *tv = NULL;
	struct timeval linger = {LINGER_SECS, 0};
	if (t == c->timer && t != EC_CT_SEND)
		return;
	switch (t) {
	case EC_CT_NONE:
		event_del(c->ev_timer);
		c->timer = t;
		return;
	case EC_CT_IDLE:
		tv = c->wrk->tv_idle;
		break;
	case EC_CT_HEADER:
		tv = c->wrk->tv_header;
		break;
	case EC_CT_BODY:
		tv = c->wrk->tv_idle;
		break;
	case EC_CT_SEND:
		tv = c->wrk->tv_send;
		break;
	case EC_CT_LINGER:
		tv = &linger;
		break;
	}
	c->timer = t;
	event_add(c->ev_timer, tv);
}

static void conn_close(struct ec_conn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	if (c->h2 != NULL)
		ec_h2_free(c);
	if (c->req_active) {
		/* The client is gone with a request in flight: let the pipeline
		 * release its origin exchange, then log the request. */
		c->req.client_gone = true;
		if (!c->req.resp_done && c->req.reason == NULL)
			c->req.reason = "client-closed";
		if (!c->req.resp_done)
			EC_STAT_INC(&c->wrk->stats, client_aborts);
		ec_pipeline_client_gone(&c->req);
		c->req_active = false;
		ec_pipeline_finish(&c->req);
	}
	set_reading(c, false);
	event_del(c->ev_write);
	event_del(c->ev_timer);
	event_del(c->ev_kick);
	if (!c->in_process)
		conn_free(c);
}

static void conn_free(struct ec_conn *c)
{
	EC_CHECK_MAGIC(c, EC_CONN_MAGIC);
	EC_ASSERT(!c->req_active);
	ec_worker__conn_del(c->wrk, c);
	event_free(c->ev_read);
	event_free(c->ev_write);
	event_free(c->ev_timer);
	event_free(c->ev_kick);
	evbuffer_free(c->in);
	evbuffer_free(c->out);
	ec_tls_conn_free(&c->ssl);
	close(c->fd);
	ec_arena_fini(&c->arena);
	struct ec_worker *w = c->wrk;
	c->magic = 0;
	free(c);
	ec_worker__maybe_drained(w);
}

/* Write side done: shut it, discard input briefly, then close. */
static void conn_linger(struct ec_conn *c)
{
	c->state = EC_CS_LINGER;
	if (c->eof || c->resp_aborted) {
		conn_close(c);
		return;
	}
	ec_tls_conn_free(&c->ssl); /* close_notify first; lingering discards raw bytes */
	shutdown(c->fd, SHUT_WR);
	evbuffer_drain(c->in, evbuffer_get_length(c->in));
	set_reading(c, true);
	set_timer(c, EC_CT_LINGER);
}

/*
 * One writev of what is queued; arms EV_WRITE for the rest. Safe to call
 * from transport operations: on a write error it only marks the
 * connection broken and kicks conn_process.
 */
static void conn_flush(struct ec_conn *c)
{
	if (c->dead || c->broken)
		return;
	size_t left = evbuffer_get_length(c->out);
	if (left) {
		int n = conn_io_write(c);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			c->broken = true;
			evbuffer_drain(c->out, evbuffer_get_length(c->out));
			conn_kick(c);
			return;
		}
		left = evbuffer_get_length(c->out);
	}
	if (left) {
		if (!c->writing) {
			event_add(c->ev_write, NULL);
			c->writing = true;
		}
		set_timer(c, EC_CT_SEND);
		return;
	}
	if (c->writing) {
		event_del(c->ev_write);
		c->writing = false;
	}
	if (c->timer == EC_CT_SEND)
		set_timer(c, EC_CT_NONE);
	if (c->state == EC_CS_CLOSING)
		conn_kick(c); /* conn_process moves on to lingering */
}

/* --- the request --------------------------------------------------------- */

static void rebase(struct ec_str *s, const char *from, size_t len, const char *to)
{
	if (s->p >= from && s->p < from + len)
		s->p = to + (s->p - from);
}

/* Prepares the embedded request for a new exchange. */
static void req_begin(struct ec_conn *c)
{
	struct ec_req *r = &c->req;
	memset(r, 0, sizeof(*r));
	r->magic = EC_REQ_MAGIC;
	r->ops = &h1_ops;
	r->transport = c;
	r->wrk = c->wrk;
	r->site = ec_site_ref(c->wrk->site);
	r->arena = &c->arena;
	r->t_start = ec_time_now();
	r->origin_time = -1;
	r->scheme = c->ssl != NULL ? EC_STR("https") : EC_STR("http");
	r->proto = EC_PROTO_HTTP11;
	memcpy(r->client_ip, c->peer, sizeof(r->client_ip));
	c->req_active = true;
	c->resp_finished = false;
	c->resp_aborted = false;
	c->body_wanted = false;
	c->congested = false;
	c->resp_chunked = false;
	c->resp_no_body = false;
	c->expect_continue = false;
	ec_h1_body_init(&c->body, EC_H1_BODY_NONE, 0);
	c->state = EC_CS_BUSY;
	c->nreq++;
	EC_STAT_INC(&c->wrk->stats, client_requests);
}

/* A head failed to parse (or timed out): answer, log, close. */
static void conn_reject(struct ec_conn *c, int status, const char *why)
{
	req_begin(c);
	c->want_close = true;
	c->keepalive = false;
	EC_STAT_INC(&c->wrk->stats, client_bad_requests);
	ec_log_info("bad request from %s: %s (%d)", c->peer, why, status);
	ec_pipeline_reject(&c->req, status, status == 408 ? "client-timeout" : "bad-request", why);
}

/*
 * Turns a parsed head (views into `base`) into the embedded request: the
 * head bytes are copied into the arena so the views survive the buffer
 * moving on, then the head is drained from the input.
 */
static bool conn_start_request(struct ec_conn *c, const struct ec_h1_req *h, const char *base)
{
	struct ec_req *r = &c->req;
	size_t len = h->head_len;
	req_begin(c);
	char *copy = ec_arena_alloc(&c->arena, len);
	struct ec_hdr *hdrs = ec_arena_alloc(&c->arena, (h->nhdrs ? h->nhdrs : 1) * sizeof(*hdrs));
	if (copy == NULL || hdrs == NULL)
		return false;
	memcpy(copy, base, len);
	r->proto = h->minor == 0 ? EC_PROTO_HTTP10 : EC_PROTO_HTTP11;
	r->meth = h->meth;
	r->method = h->method;
	r->target = h->target;
	r->path = h->path;
	r->host = h->host;
	rebase(&r->method, base, len, copy);
	rebase(&r->target, base, len, copy);
	rebase(&r->path, base, len, copy);
	rebase(&r->host, base, len, copy);
	for (unsigned i = 0; i < h->nhdrs; i++) {
		hdrs[i] = h->hdrs[i];
		rebase(&hdrs[i].name, base, len, copy);
		rebase(&hdrs[i].value, base, len, copy);
	}
	r->hdrs = hdrs;
	r->nhdrs = h->nhdrs;
	r->has_body = h->framing == EC_H1_BODY_CHUNKED ||
		      (h->framing == EC_H1_BODY_LENGTH && h->content_length > 0);
	r->body_length_known = h->framing == EC_H1_BODY_LENGTH;
	r->content_length = h->content_length;
	r->body_done = !r->has_body;
	c->keepalive = h->keepalive;
	c->expect_continue = h->expect_continue && r->has_body;
	ec_h1_body_init(&c->body, h->framing, h->content_length);
	evbuffer_drain(c->in, len);
	return true;
}

/* --- TLS and HTTP/2 --------------------------------------------------------- */

/* Hands the connection to an HTTP/2 session (after ALPN h2 or the h2c preface). */
static void conn_start_h2(struct ec_conn *c)
{
	set_timer(c, EC_CT_NONE);
	c->state = EC_CS_H2;
	if (ec_h2_start(c) != 0) {
		ec_log_info("h2 from %s: cannot start a session (out of memory)", c->peer);
		c->broken = true;
	}
}

/* Drives the TLS handshake from a socket event. */
static void conn_handshake(struct ec_conn *c)
{
	bool ww;
	const char *why = NULL;
	int rc = ec_tls_handshake(c->ssl, &ww, &why);
	if (rc == 0) {
		if (ww && !c->writing) {
			event_add(c->ev_write, NULL);
			c->writing = true;
		}
		set_reading(c, true);
		return;
	}
	if (rc < 0) {
		EC_STAT_INC(&c->wrk->stats, tls_handshake_errors);
		ec_log_info("tls handshake with %s failed: %s", c->peer, why);
		c->in_process = true;
		conn_close(c);
		c->in_process = false;
		conn_free(c);
		return;
	}
	c->tls_hs = false;
	EC_STAT_INC(&c->wrk->stats, tls_handshakes);
	if (ec_tls_is_h2(c->ssl))
		conn_start_h2(c);
	/* Application data may already sit decrypted in the SSL object. */
	event_active(c->ev_read, EV_READ, 1);
	conn_process(c);
}

void ec_conn__kick(struct ec_conn *c)
{
	conn_kick(c);
}

void ec_conn__kick_later(struct ec_conn *c)
{
	if (!c->dead)
		event_active(c->ev_kick, EV_TIMEOUT, 1);
}

void ec_conn__flush(struct ec_conn *c)
{
	conn_flush(c);
}

void ec_conn__set_reading(struct ec_conn *c, bool on)
{
	set_reading(c, on);
}

void ec_conn__set_idle(struct ec_conn *c, bool on)
{
	if (on)
		set_timer(c, EC_CT_IDLE);
	else if (c->timer == EC_CT_IDLE)
		set_timer(c, EC_CT_NONE);
}

void ec_conn__close(struct ec_conn *c)
{
	conn_close(c);
}

/* --- processing ------------------------------------------------------------ */

/* Parses one head if there is one; starts its request. */
static void conn_parse_head(struct ec_conn *c)
{
	const struct ec_config *cf = conf_of(c);
	size_t len = evbuffer_get_length(c->in);
	if (len == 0) {
		if (c->eof || c->wrk->draining) {
			conn_close(c);
			return;
		}
		c->head_started = false;
		set_timer(c, c->nreq ? EC_CT_IDLE : EC_CT_HEADER);
		set_reading(c, true);
		return;
	}
	if (c->nreq == 0 && c->ssl == NULL) {
		/* h2c with prior knowledge: the preface instead of a first request */
		size_t k = EC_MIN(len, (size_t)H2_PREFACE_LEN);
		const char *b = (const char *)evbuffer_pullup(c->in, (ssize_t)k);
		if (memcmp(b, H2_PREFACE, k) == 0) {
			if (k < H2_PREFACE_LEN && !c->eof) {
				set_reading(c, true);
				return;
			}
			if (k == H2_PREFACE_LEN) {
				conn_start_h2(c);
				return;
			}
		}
	}
	if (!c->head_started) {
		c->head_started = true;
		ec_h1_parser_reset(&c->parser);
		set_timer(c, EC_CT_HEADER);
	}
	struct ec_h1_limits lim = {
		.max_request_line = cf->max_request_line,
		.max_head = cf->max_head,
		.max_fields = cf->max_fields,
		.max_body = cf->max_body,
	};
	size_t want = EC_MIN(len, cf->max_head + 2);
	const char *base = (const char *)evbuffer_pullup(c->in, (ssize_t)want);
	struct ec_h1_req h;
	const char *why = NULL;
	int rc = ec_h1_parse_request(&c->parser, base, want, &lim, c->wrk->hdr_scratch,
				     c->wrk->hdr_scratch_len, &h, &why);
	if (rc == 0) {
		if (c->eof) {
			/* The client stopped mid-head: nothing to answer. */
			conn_close(c);
			return;
		}
		set_reading(c, true);
		return;
	}
	c->head_started = false;
	set_timer(c, EC_CT_NONE);
	if (rc < 0) {
		conn_reject(c, ec_h1_err_status(rc), why ? why : "malformed request");
		return;
	}
	if (!conn_start_request(c, &h, base)) {
		c->want_close = true;
		ec_pipeline_reject(&c->req, 503, "no-memory", "out of memory");
		return;
	}
	if (h.expect_other) {
		c->want_close = true;
		ec_pipeline_reject(&c->req, 417, "bad-request", "unsupported expectation");
		return;
	}
	ec_pipeline_start(&c->req);
}

/* The response is queued: log it and get ready for the next request. */
static void conn_request_done(struct ec_conn *c)
{
	EC_ASSERT(c->req_active);
	struct ec_req *r = &c->req;
	bool body_left = r->has_body && !c->body.done;
	c->req_active = false;
	ec_pipeline_finish(r);
	ec_arena_reset(&c->arena);
	if (body_left || !c->keepalive || c->wrk->draining || c->resp_aborted)
		c->want_close = true;
	if (c->want_close) {
		c->state = EC_CS_CLOSING;
		set_reading(c, false);
		return;
	}
	c->state = EC_CS_HEAD;
}

/* Input arrived (or the pipeline moved) while a request is in flight. */
static void conn_busy_input(struct ec_conn *c)
{
	size_t len = evbuffer_get_length(c->in);
	if (c->body_wanted && (len > 0 || c->eof)) {
		c->body_wanted = false;
		ec_pipeline_body_ready(&c->req);
		len = evbuffer_get_length(c->in);
	}
	if (c->state != EC_CS_BUSY || c->resp_finished)
		return;
	/* Bytes beyond the body (or a body nobody reads yet) wait in the
	 * buffer; stop reading when too many wait. */
	set_reading(c, !c->eof && len < IN_HIGH);
	if (c->timer == EC_CT_BODY && (c->body.done || !c->req.has_body))
		set_timer(c, EC_CT_NONE);
}

static void conn_process(struct ec_conn *c)
{
	if (c->in_process || c->dead)
		return;
	c->in_process = true;
	for (unsigned guard = 0; !c->dead; guard++) {
		if (c->broken) {
			conn_close(c);
			break;
		}
		if (c->state == EC_CS_HEAD) {
			if (evbuffer_get_length(c->out) > OUT_HIGH) {
				conn_flush(c);
				if (c->dead || c->broken)
					continue;
			}
			if (evbuffer_get_length(c->out) > OUT_HIGH) {
				/* Pipelined requests wait until the client reads: EV_WRITE
				 * is armed and on_write resumes processing. */
				set_reading(c, false);
				break;
			}
			conn_parse_head(c);
			if (c->state == EC_CS_HEAD)
				break;
			continue;
		}
		if (c->state == EC_CS_BUSY) {
			if (c->resp_finished) {
				conn_request_done(c);
				continue;
			}
			conn_busy_input(c);
			if (c->resp_finished || c->broken)
				continue;
			break;
		}
		if (c->state == EC_CS_H2) {
			ec_h2_process(c);
			if (c->state == EC_CS_H2 && !c->broken)
				break;
			continue; /* the session ended itself (CLOSING), or a write failed */
		}
		if (c->state == EC_CS_CLOSING) {
			conn_flush(c);
			if (!c->dead && !c->broken && evbuffer_get_length(c->out) == 0)
				conn_linger(c);
			break;
		}
		break;
	}
	if (!c->dead)
		conn_flush(c);
	c->in_process = false;
	if (c->dead)
		conn_free(c);
}

/* --- libevent callbacks --------------------------------------------------- */

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	struct ec_conn *c = arg;
	EC_CHECK_MAGIC(c, EC_CONN_MAGIC);
	c->wrk->activity++;
	if (c->tls_hs) {
		conn_handshake(c);
		return;
	}
	if (c->ssl != NULL && !c->reading && c->state != EC_CS_LINGER)
		return; /* activated for pending TLS bytes, but reading stopped since */
	int n = conn_io_read(c, READ_MAX);
	if (n > 0 && c->ssl != NULL && ec_tls_pending(c->ssl))
		event_active(c->ev_read, EV_READ, 1); /* more decrypted bytes: no socket event comes */
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		c->in_process = true;
		conn_close(c);
		c->in_process = false;
		conn_free(c);
		return;
	}
	if (c->state == EC_CS_LINGER) {
		evbuffer_drain(c->in, evbuffer_get_length(c->in));
		if (n == 0)
			conn_close(c);
		return;
	}
	if (n == 0) {
		/* Half-close: a complete request in flight is still answered
		 * (then the connection closes); a body still to come fails. */
		c->eof = true;
		set_reading(c, false);
	}
	conn_process(c); /* may free c */
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
	struct ec_conn *c = arg;
	EC_CHECK_MAGIC(c, EC_CONN_MAGIC);
	c->writing = false; /* not persistent: conn_flush re-arms */
	if (c->tls_hs) {
		conn_handshake(c);
		return;
	}
	if (c->rd_wants_wr) {
		c->rd_wants_wr = false;
		event_active(c->ev_read, EV_READ, 1);
	}
	conn_flush(c);
	if (c->broken) {
		conn_process(c);
		return;
	}
	if (c->congested && c->req_active && evbuffer_get_length(c->out) < OUT_LOW) {
		c->congested = false;
		ec_pipeline_resp_drained(&c->req);
	}
	if (c->state == EC_CS_H2 || c->state != EC_CS_BUSY || c->resp_finished)
		conn_process(c);
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct ec_conn *c = arg;
	EC_CHECK_MAGIC(c, EC_CONN_MAGIC);
	conn_process(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct ec_conn *c = arg;
	EC_CHECK_MAGIC(c, EC_CONN_MAGIC);
	enum ec_conn_timer t = c->timer;
	c->timer = EC_CT_NONE;
	if (t == EC_CT_IDLE && c->state == EC_CS_H2) {
		/* An idle HTTP/2 connection says goodbye with GOAWAY; the session
		 * closes it once that is written. */
		ec_h2_drain(c);
		return;
	}
	switch (t) {
	case EC_CT_HEADER:
		EC_STAT_INC(&c->wrk->stats, client_timeouts);
		if (c->tls_hs) {
			EC_STAT_INC(&c->wrk->stats, tls_handshake_errors);
			ec_log_info("tls handshake with %s: not done within limits.header_timeout",
				    c->peer);
		}
		if (c->head_started && c->state == EC_CS_HEAD) {
			c->head_started = false;
			c->in_process = true;
			evbuffer_drain(c->in, evbuffer_get_length(c->in));
			conn_reject(c, 408, "request head not received in time");
			c->in_process = false;
			conn_process(c);
			return;
		}
		break;
	case EC_CT_BODY:
		EC_STAT_INC(&c->wrk->stats, client_timeouts);
		if (c->req_active && c->req.reason == NULL)
			c->req.reason = "client-body-timeout";
		break;
	case EC_CT_SEND:
		EC_STAT_INC(&c->wrk->stats, client_timeouts);
		if (c->req_active && c->req.reason == NULL)
			c->req.reason = "client-send-timeout";
		break;
	case EC_CT_IDLE:
	case EC_CT_LINGER:
	case EC_CT_NONE:
		break;
	}
	if (t == EC_CT_NONE)
		return;
	c->in_process = true;
	conn_close(c);
	c->in_process = false;
	conn_free(c);
}

/* --- transport operations ----------------------------------------------- */

static struct ec_conn *conn_of(struct ec_req *r)
{
	struct ec_conn *c = r->transport;
	EC_CHECK_MAGIC(c, EC_CONN_MAGIC);
	return c;
}

static char *put(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

static char *put_length(char *p, uint64_t len)
{
	p = put(p, "Content-Length: ", 16);
	p = ec_put_u64(p, len);
	return put(p, "\r\n", 2);
}

static void h1_resp_head(struct ec_req *r, const struct ec_resp *resp)
{
	struct ec_conn *c = conn_of(r);
	EC_ASSERT(!r->resp_started);
	r->resp_started = true;
	r->status = resp->status;
	if (c->dead || c->broken)
		return;
	size_t need = 128;
	for (unsigned i = 0; i < resp->nhdrs; i++)
		need += resp->hdrs[i].name.len + resp->hdrs[i].value.len + 4;
	/* A request body not read to its end by now may never be: announce the
	 * close that conn_request_done would then do. */
	bool close = c->want_close || resp->close || !c->keepalive || c->wrk->draining ||
		     (r->has_body && !c->body.done);
	struct evbuffer_iovec v;
	if (evbuffer_reserve_space(c->out, (ssize_t)need, &v, 1) < 1) {
		c->broken = true; /* out of memory: drop the client */
		conn_kick(c);
		return;
	}
	char *p = v.iov_base;
	const char *reason = ec_http_reason(resp->status);
	p = put(p, "HTTP/1.1 ", 9);
	p = ec_put_u64(p, (uint64_t)resp->status);
	*p++ = ' ';
	p = put(p, reason, strlen(reason));
	p = put(p, "\r\n", 2);
	for (unsigned i = 0; i < resp->nhdrs; i++) {
		const struct ec_hdr *h = &resp->hdrs[i];
		p = put(p, h->name.p, h->name.len);
		p = put(p, ": ", 2);
		p = put(p, h->value.p, h->value.len);
		p = put(p, "\r\n", 2);
	}
	bool bodiless_status = resp->status < 200 || resp->status == 204 || resp->status == 304;
	c->resp_no_body = resp->no_body;
	if (resp->no_body) {
		if (resp->has_length && !bodiless_status)
			p = put_length(p, resp->length);
	} else if (resp->has_length) {
		p = put_length(p, resp->length);
	} else if (r->proto == EC_PROTO_HTTP11) {
		p = put(p, "Transfer-Encoding: chunked\r\n", 28);
		c->resp_chunked = true;
	} else {
		close = true; /* HTTP/1.0: the end of the body is the end of the connection */
	}
	if (close) {
		c->want_close = true;
		p = put(p, "Connection: close\r\n", 19);
	} else if (r->proto == EC_PROTO_HTTP10) {
		p = put(p, "Connection: keep-alive\r\n", 24);
	}
	p = put(p, "\r\n", 2);
	v.iov_len = (size_t)(p - (char *)v.iov_base);
	EC_ASSERT(v.iov_len <= need);
	evbuffer_commit_space(c->out, &v, 1);
	/* Not flushed here: the body usually follows within the same origin
	 * read, and one writev for head and body saves a segment and a system
	 * call. The kick flushes at the end of this loop iteration at the latest. */
	conn_kick(c);
}

static bool h1_resp_body(struct ec_req *r, struct evbuffer *data)
{
	struct ec_conn *c = conn_of(r);
	size_t n = evbuffer_get_length(data);
	if (c->dead || c->broken || c->resp_no_body) {
		evbuffer_drain(data, n);
		return true;
	}
	r->bytes_out += n;
	if (c->resp_chunked)
		ec_h1_chunk_wrap(c->out, data);
	else
		evbuffer_add_buffer(c->out, data);
	if (!c->in_process)
		conn_flush(c);
	if (!c->broken && evbuffer_get_length(c->out) > OUT_HIGH) {
		c->congested = true;
		return false;
	}
	return true;
}

static void h1_resp_end(struct ec_req *r)
{
	struct ec_conn *c = conn_of(r);
	EC_ASSERT(!r->resp_done);
	r->resp_done = true;
	c->resp_finished = true;
	if (c->dead || c->broken)
		return;
	if (c->resp_chunked && !c->resp_no_body)
		ec_h1_chunk_end(c->out);
	if (!c->in_process) {
		conn_flush(c);
		conn_kick(c);
	}
}

static void h1_resp_abort(struct ec_req *r)
{
	struct ec_conn *c = conn_of(r);
	r->resp_done = true;
	/* Whatever was queued goes out; then the connection ends without the
	 * terminating chunk or the announced length, which every client reads as
	 * a broken response. */
	c->resp_finished = true;
	c->resp_aborted = true;
	c->want_close = true;
	if (!c->in_process && !c->dead) {
		conn_flush(c);
		conn_kick(c);
	}
}

static long h1_body_read(struct ec_req *r, struct evbuffer *dst, size_t max, bool *done)
{
	struct ec_conn *c = conn_of(r);
	*done = false;
	if (c->dead || c->broken)
		return -1;
	if (c->expect_continue) {
		c->expect_continue = false;
		evbuffer_add(c->out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
		if (!c->in_process)
			conn_flush(c);
	}
	const char *why = NULL;
	long n = ec_h1_body_move(&c->body, c->in, dst, max, &why);
	if (n < 0) {
		ec_log_info("bad request body from %s: %s", c->peer, why ? why : "?");
		r->reason = "bad-request-body";
		r->body_error = 400;
		c->want_close = true;
		return -1;
	}
	r->body_read += (uint64_t)n;
	uint64_t max_body = conf_of(c)->max_body;
	if (max_body && r->body_read > max_body) {
		/* Content-Length over the limit was refused at the head; a chunked
		 * body is refused as soon as it passes the limit. */
		ec_log_info("request body from %s over limits.body (%llu)", c->peer,
			    (unsigned long long)max_body);
		r->reason = "body-too-large";
		r->body_error = 413;
		c->want_close = true;
		return -1;
	}
	if (c->body.done) {
		*done = true;
		r->body_done = true;
		if (c->timer == EC_CT_BODY)
			set_timer(c, EC_CT_NONE);
	} else if (n == 0) {
		if (c->eof) {
			r->reason = "client-closed";
			c->want_close = true;
			return -1;
		}
		c->body_wanted = true;
		set_timer(c, EC_CT_BODY);
	}
	if (!c->eof && evbuffer_get_length(c->in) < IN_HIGH)
		set_reading(c, true);
	return n;
}

static const struct ec_client_ops h1_ops = {
	.resp_head = h1_resp_head,
	.resp_body = h1_resp_body,
	.resp_end = h1_resp_end,
	.resp_abort = h1_resp_abort,
	.body_read = h1_body_read,
};

/* --- lifecycle ------------------------------------------------------------- */

struct ec_conn *ec_h1_conn_new(struct ec_worker *w, int fd, const struct sockaddr *peer,
			       socklen_t peerlen, struct ec_tls_ctx *tls)
{
	struct ec_conn *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(fd);
		return NULL;
	}
	c->magic = EC_CONN_MAGIC;
	c->wrk = w;
	c->fd = fd;
	c->in = evbuffer_new();
	c->out = evbuffer_new();
	c->ev_read = event_new(w->base, fd, EV_READ | EV_PERSIST, on_read, c);
	c->ev_write = event_new(w->base, fd, EV_WRITE, on_write, c);
	c->ev_timer = evtimer_new(w->base, on_timer, c);
	c->ev_kick = event_new(w->base, -1, 0, on_kick, c);
	if (tls != NULL) {
		c->ssl = ec_tls_conn_new(tls, fd);
		c->tls_hs = true;
	}
	if (!c->in || !c->out || !c->ev_read || !c->ev_write || !c->ev_timer || !c->ev_kick ||
	    (tls != NULL && c->ssl == NULL)) {
		ec_tls_conn_free(&c->ssl);
		if (c->in)
			evbuffer_free(c->in);
		if (c->out)
			evbuffer_free(c->out);
		if (c->ev_read)
			event_free(c->ev_read);
		if (c->ev_write)
			event_free(c->ev_write);
		if (c->ev_timer)
			event_free(c->ev_timer);
		if (c->ev_kick)
			event_free(c->ev_kick);
		free(c);
		close(fd);
		return NULL;
	}
	ec_arena_init(&c->arena);
	if (peer->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)peer)->sin_addr, c->peer,
			  sizeof(c->peer));
	else if (peer->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)peer)->sin6_addr, c->peer,
			  sizeof(c->peer));
	else
		snprintf(c->peer, sizeof(c->peer), "unix");
	(void)peerlen;
	c->state = EC_CS_HEAD;
	ec_worker__conn_add(w, c);
	set_reading(c, true);
	set_timer(c, EC_CT_HEADER);
	return c;
}

void ec_h1_conn_drain(struct ec_conn *c)
{
	EC_CHECK_MAGIC(c, EC_CONN_MAGIC);
	if (c->state == EC_CS_H2) {
		ec_h2_drain(c);
		return;
	}
	if (c->tls_hs) {
		conn_close(c);
		return;
	}
	if (c->state == EC_CS_HEAD && !c->head_started && evbuffer_get_length(c->in) == 0) {
		conn_close(c);
		return;
	}
	c->want_close = true;
}

void ec_h1_conn_kill(struct ec_conn *c)
{
	EC_CHECK_MAGIC(c, EC_CONN_MAGIC);
	conn_close(c);
}
