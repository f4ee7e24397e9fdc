/*
 * h2_conn.h — HTTP/2 to clients: an nghttp2 server session running over a
 * client connection (h1_conn.h owns the socket, the TLS object, the
 * buffers and the timers; this module owns the session and its streams).
 *
 * A connection becomes HTTP/2 after ALPN h2 on a TLS listener, or when a
 * plain listener's first bytes are the connection preface (h2c with prior
 * knowledge). Each request stream embeds its own `struct ec_req` and arena
 * and runs the same pipeline as an HTTP/1.1 request, answering through
 * h2 client ops: the response body is queued per stream and handed to
 * nghttp2 by a data provider that defers when the queue is empty and is
 * resumed when the pipeline adds bytes, so the client's flow-control windows
 * decide the pace and a stream over its queue limit tells the pipeline to
 * stop producing (resp_body returns false) until nghttp2 has taken it.
 *
 * Limits and abuse protection (docs/tls.md): at most h2_max_streams
 * concurrent streams, a header list size limit (limits.header_block), and per
 * connection budgets for RST_STREAM (rapid reset, CVE-2023-44487),
 * CONTINUATION frames, PING and SETTINGS frames; a connection over a budget
 * gets GOAWAY(ENHANCE_YOUR_CALM), a log line and is closed.
 *
 * Reentrancy, as in h1_conn.c: the ops only queue bytes and record state
 * (plus nghttp2 submit/resume calls, allowed anywhere); nghttp2 runs
 * (mem_recv, mem_send) only from ec_h2_process, which runs from libevent
 * callbacks. A stream is freed in nghttp2's stream-close callback, which is
 * where its request is finished.
 *
 * Thread: the worker that owns the connection.
 */
#ifndef EC_H2_CONN_H
#define EC_H2_CONN_H

struct ec_conn;

#define EC_H2_RESET_BUDGET     200  /* RST_STREAM frames received per window */
#define EC_H2_PING_BUDGET      50   /* PING frames per window */
#define EC_H2_SETTINGS_BUDGET  50   /* SETTINGS frames per window */
#define EC_H2_CONTINUATION_MAX 8    /* CONTINUATION frames in one header block */
#define EC_H2_BUDGET_WINDOW    10.0 /* seconds */

/* Starts the session on c (c->in may hold the client's first bytes).
 * Returns 0, or -1 out of memory. */
int ec_h2_start(struct ec_conn *c);

/* Feeds what c->in holds to the session, sends what it has to send, and
 * closes the connection when the session is over. From conn_process only. */
void ec_h2_process(struct ec_conn *c);

/* Graceful shutdown: GOAWAY, finish the open streams, then close. */
void ec_h2_drain(struct ec_conn *c);

/* The connection is closing: every open stream's request ends (client gone)
 * and the session is freed. */
void ec_h2_free(struct ec_conn *c);

#endif /* EC_H2_CONN_H */
