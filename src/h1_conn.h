/*
 * h1_conn.h — an HTTP/1.1 client connection: the h1 transport of the
 * pipeline.
 *
 * Owns the socket, its read and write buffers, the parser state and the one
 * request in progress (embedded: no allocation per request). Requests on a
 * connection are handled one at a time, so pipelined requests are answered
 * in order by construction: the next head is parsed only when the previous
 * response has been queued. Reads stop while the output buffer is over its
 * high-water mark (backpressure) and while a request's unread body fills the
 * input buffer.
 *
 * Thread: the worker that accepted it; never shared.
 */
#ifndef EC_H1_CONN_H
#define EC_H1_CONN_H

#include <netinet/in.h>

#include "arena.h"
#include "h1_body.h"
#include "http1_parse.h"
#include "req.h"

struct event;
struct evbuffer;
struct ec_worker;
struct ec_tls_ctx;
struct ssl_st;
struct ec_h2_sess;

#define EC_CONN_MAGIC 0x434f4e31u

enum ec_conn_state {
	EC_CS_INVALID = 0,
	EC_CS_HEAD,    /* waiting for (the rest of) a request head */
	EC_CS_BUSY,    /* a request is in the pipeline */
	EC_CS_CLOSING, /* flushing the last response, then lingering */
	EC_CS_LINGER,  /* write side shut; discarding input until EOF or timeout */
	EC_CS_H2,      /* an HTTP/2 session runs the connection (h2_conn.c) */
};

enum ec_conn_timer {
	EC_CT_NONE = 0,
	EC_CT_IDLE,   /* keep-alive wait for the next request */
	EC_CT_HEADER, /* the head must arrive within limits.header_timeout */
	EC_CT_BODY,   /* waiting for request body bytes */
	EC_CT_SEND,   /* waiting for the client to take our bytes */
	EC_CT_LINGER,
};

struct ec_conn {
	unsigned magic;
	struct ec_conn *next, *prev; /* worker's list */
	struct ec_worker *wrk;
	int fd;
	struct event *ev_read, *ev_write, *ev_timer;
	struct event *ev_kick; /* runs conn_process from the loop (see h1_conn.c) */
	struct evbuffer *in, *out;
	enum ec_conn_state state;
	enum ec_conn_timer timer;
	char peer[48];
	struct ssl_st *ssl;  /* TLS when set (tls.h); else plain reads and writes */
	bool tls_hs;         /* the TLS handshake is in progress */
	bool rd_wants_wr;    /* TLS must write before it can read again */
	struct ec_h2_sess *h2; /* state EC_CS_H2: the HTTP/2 session */

	struct ec_h1_parser parser;
	bool head_started; /* bytes of the current head have arrived */
	unsigned nreq;     /* requests served on this connection */

	bool reading;    /* ev_read is armed */
	bool writing;    /* ev_write is armed */
	bool eof;        /* the client closed its sending side */
	bool want_close; /* close after the current response */
	bool in_process; /* inside conn_process: defer frees and recursion */
	bool dead;       /* closed; free when leaving conn_process */
	bool congested;  /* told the pipeline to stop producing */
	bool broken;     /* a write failed: the client is gone */

	/* the request in progress */
	struct ec_req req;
	bool req_active;
	bool resp_finished; /* resp_end was called: finish the request in conn_process */
	bool resp_aborted;  /* resp_abort was called: close without completing */
	bool keepalive;       /* the client allows another request */
	bool expect_continue; /* answer 100 Continue on the first body read */
	bool body_wanted;     /* the pipeline waits for body bytes */
	struct ec_h1_body body;
	bool resp_chunked;    /* the response body is sent chunked */
	bool resp_no_body;

	struct ec_arena arena;
};

/* Takes ownership of an accepted, non-blocking socket; `tls` (NULL for a
 * plain listener) runs a TLS handshake first and, when ALPN picks h2, hands
 * the connection to HTTP/2. Returns NULL on exhausted resources (the socket
 * is closed). */
struct ec_conn *ec_h1_conn_new(struct ec_worker *w, int fd, const struct sockaddr *peer,
			       socklen_t peerlen, struct ec_tls_ctx *tls);

/* Drain: close now if idle, else close after the current response. */
void ec_h1_conn_drain(struct ec_conn *c);

/* Closes at once and frees (worker shutdown). */
void ec_h1_conn_kill(struct ec_conn *c);

/* For h2_conn.c, which runs over this connection's socket and buffers: */
/* schedules the connection's processing from the loop (never inline) */
void ec_conn__kick(struct ec_conn *c);
/* schedules processing again even from inside it (yields to other connections) */
void ec_conn__kick_later(struct ec_conn *c);
/* one write of what c->out holds; arms EV_WRITE for the rest */
void ec_conn__flush(struct ec_conn *c);
/* starts or stops reading */
void ec_conn__set_reading(struct ec_conn *c, bool on);
/* idle timer on (no stream open) or off */
void ec_conn__set_idle(struct ec_conn *c, bool on);
/* closes the connection (deferred free when inside processing) */
void ec_conn__close(struct ec_conn *c);

#endif /* EC_H1_CONN_H */
