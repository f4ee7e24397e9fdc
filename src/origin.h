/*
 * origin.h — the origin connector: one HTTP/1.1 exchange with a backend
 * (`struct ec_fetch`) over a pooled keep-alive connection.
 *
 * A fetch is started by an owner (the pipeline, for a client request; later
 * a background revalidation or a coalesced store writer) with a prebuilt
 * request head and callbacks. It connects or reuses an idle connection of
 * the backend's pool, sends the head and pulls the request body from the
 * owner with backpressure, parses the response head, and pushes the decoded
 * body to the owner, pausing when the owner says it is congested. Timeouts:
 * connect, first byte (after the request is sent), between bytes.
 *
 * Retries (never after a byte of response arrived): a connect failure moves
 * on to the next backend, once per backend; a reused connection that turns
 * out closed is retried once on a fresh one when the method is idempotent
 * and no request-body byte was consumed. A connection goes back to the pool
 * only when the exchange ended cleanly with known framing and nothing
 * extra arrived: a connection whose framing was in doubt is never reused.
 *
 * Callback rules: no callback runs inside ec_fetch_start. After `done` or
 * `error` the fetch frees itself; the owner must forget it. The owner may
 * cancel at any time outside a callback.
 *
 * Thread: the worker that started it (pools are per worker).
 */
#ifndef EC_ORIGIN_H
#define EC_ORIGIN_H

#include "http1_parse.h"

struct evbuffer;
struct ec_worker;
struct ec_site;
struct ec_backend;
struct ec_fetch;

enum ec_fetch_err {
	EC_FETCH_E_INVALID = 0,
#define X(sym, status, token, text) EC_FETCH_E_##sym,
#include "tbl/fetch_errors.h"
#undef X
};

int ec_fetch_err_status(enum ec_fetch_err e);
const char *ec_fetch_err_token(enum ec_fetch_err e);
const char *ec_fetch_err_text(enum ec_fetch_err e);

struct ec_fetch_ops {
	/* The response head (views valid during the call only). 1xx interim
	 * responses are consumed by the connector and never reported. */
	void (*head)(void *owner, struct ec_fetch *f, const struct ec_h1_resp *resp);
	/* Decoded body bytes; move them out of `data`. Return false when
	 * congested: the fetch stops reading until ec_fetch_resume(). */
	bool (*body)(void *owner, struct ec_fetch *f, struct evbuffer *data);
	/* The body is complete. */
	void (*done)(void *owner, struct ec_fetch *f);
	/* The exchange failed; `head_seen` tells whether head() was called. */
	void (*error)(void *owner, struct ec_fetch *f, enum ec_fetch_err err, bool head_seen);
	/* Request-body source, as ec_client_ops.body_read. NULL when no body. */
	long (*body_pull)(void *owner, struct evbuffer *dst, size_t max, bool *done);
};

struct ec_fetch_req {
	const char *head; /* the request head to send (copied) */
	size_t head_len;
	enum ec_method meth;
	bool has_body;
	bool body_chunked; /* send the pulled body as chunks */
	bool idempotent;   /* may be retried on a fresh connection */
	uint32_t lb_hash;  /* the key's hash for consistent hashing (ec_pipeline__route) */
};

/*
 * Starts an exchange with backend `first` of `site` (an index into
 * site->backends; retries stay within its group) (a reference to the site
 * is held until the fetch ends). Returns NULL only when out of memory.
 */
struct ec_fetch *ec_fetch_start(struct ec_worker *w, struct ec_site *site, unsigned first,
				const struct ec_fetch_req *r, const struct ec_fetch_ops *ops,
				void *owner);
/* The owner can take body bytes again. */
void ec_fetch_resume(struct ec_fetch *f);
/* The owner has more request-body bytes. */
void ec_fetch_body_ready(struct ec_fetch *f);
/* The owner is gone: abandon the exchange (its connection is closed unless it
 * already finished cleanly). Clears *fp. */
void ec_fetch_cancel(struct ec_fetch **fp);
/* The backend actually used (after retries). */
const struct ec_backend *ec_fetch_backend(const struct ec_fetch *f);

/* Per-worker pools: created lazily; closes every idle connection. */
void ec_origin_pools_free(struct ec_worker *w);

/*
 * Writes the origin groups of the current site (ec_origin_publish) as JSON:
 *   {"groups":[{"name":"default","algorithm":"wrr","backends":[{"name":
 *   "127.0.0.1:8081","weight":1,"backup":false,"health":"up","requests":0,
 *   "errors":0,"inflight":0,"pool_idle":0,"pool_new":0,"pool_reused":0,
 *   "latency_ms":{"p50":0.0,"p90":0.0,"p99":0.0}}]}]}
 * Counters are summed over all workers (shared atomics). Any thread; never
 * blocks beyond a short mutex. Implemented in origin_stats.c.
 */
void ec_origin_backends_json(struct evbuffer *out);
/* The same figures as Prometheus families edgecache_backend_* (text format
 * 0.0.4), one series per backend labelled by group and backend name. */
void ec_origin_backends_metrics(struct evbuffer *out);

#endif /* EC_ORIGIN_H */
