/*
 * origin_h2.h — HTTP/2 to origins, nghttp2 client: with prior knowledge
 * (`protocol: h2c`, http:// backends) or over TLS with ALPN h2 (`protocol:
 * h2`, https:// backends, through origin_tls.c). The fetches of a worker to
 * one backend share one connection as streams, as many as the origin's
 * SETTINGS_MAX_CONCURRENT_STREAMS allows (nghttp2 queues the rest).
 *
 * A try of a fetch (origin_priv.h) becomes a stream: the HTTP/1 request head
 * origin.c was given is turned into HTTP/2 fields (lower-case names,
 * :method, :scheme http, :authority from Host, :path; connection-specific
 * fields dropped); the request body is pulled from the owner; the response
 * head is handed over as an ec_h1_resp (framing LENGTH when a
 * Content-Length came, else close-delimited: the stream end ends it); the
 * body streams with flow control tied to the owner's backpressure (window
 * updates only for bytes the owner took).
 *
 * Failures: the connection cannot be made → EC_FETCH_E_CONNECT for every
 * stream waiting on it (retried on another backend); the connection dies or
 * the stream is refused (REFUSED_STREAM, or above a GOAWAY's last stream)
 * before a response → EC_FETCH_E_CLOSED (idempotent requests are retried);
 * reset after the head → EC_FETCH_E_TRUNCATED; first-byte and between-bytes
 * timeouts as for HTTP/1. A connection that got GOAWAY takes no new stream
 * and closes when its streams are done; an idle one closes after
 * origin.pool_idle_timeout.
 *
 * Thread: the worker; connections are per worker (thread-local list).
 */
#ifndef EC_ORIGIN_H2_H
#define EC_ORIGIN_H2_H

struct ec_fetch;
struct ec_worker;

/* Starts the current try of f as a stream (errors through ec_fetch__fail). */
void ec_h2_attempt(struct ec_fetch *f);
/* The fetch leaves its stream (done, failed or cancelled): reset it if open. */
void ec_h2_release(struct ec_fetch *f);
/* The owner takes body bytes again / has more request body. */
void ec_h2_resume(struct ec_fetch *f);
void ec_h2_body_ready(struct ec_fetch *f);
/* The worker ends: closes its connections (no fetch may be left). */
void ec_h2_free_worker(struct ec_worker *w);

#endif /* EC_ORIGIN_H2_H */
