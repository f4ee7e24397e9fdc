/*
 * pipeline.h — the life of a request, independent of the client protocol:
 *
 *     decode (transport) → route → cache lookup → fetch → respond → log
 *
 * Transports call in here; the pipeline answers through req->ops. The cache
 * (storage/ + policy/) slots in between route and fetch: a hit answers from
 * the store, a miss fetches through the origin connector and stores what
 * policy/ calls storable while it streams to the client.
 *
 * Thread: the request's worker. None of these functions blocks.
 */
#ifndef EC_PIPELINE_H
#define EC_PIPELINE_H

#include "origin.h"
#include "req.h"

/* A complete request head is in `req`: route it, answer it. */
void ec_pipeline_start(struct ec_req *req);

/*
 * Answers `req` with an error generated here (no origin involved): `status`,
 * a log token `reason` (bad-request, client-timeout...) and a human detail
 * for the text/plain body. Used by transports for malformed requests.
 */
void ec_pipeline_reject(struct ec_req *req, int status, const char *reason, const char *detail);

/*
 * Answers with an error page: `status`, a text/plain body naming `detail`,
 * Cache-Status (req->cache_status when set, else derived from the cache
 * step and req->reason). For the cache step and the pipeline itself.
 */
void ec_pipeline_respond_error(struct ec_req *req, int status, const char *detail, bool close);

/* The transport has request-body bytes again after body_read returned 0. */
void ec_pipeline_body_ready(struct ec_req *req);

/* The transport's send buffer drained after resp_body returned false. */
void ec_pipeline_resp_drained(struct ec_req *req);

/* The client went away: release what the request holds upstream. */
void ec_pipeline_client_gone(struct ec_req *req);

/*
 * The exchange is over (response queued or aborted, or the client gone):
 * write the access-log line, count it, release the request's references.
 * Called exactly once per request, by the transport.
 */
void ec_pipeline_finish(struct ec_req *req);

/* For the cache's coalescing (fill.c): */
/* the first backend to try for req (the route step) */
unsigned ec_pipeline__route(struct ec_req *req, uint32_t *hash);
/* fetch for req from the origin, owned by req (no coalescing) */
void ec_pipeline__fetch(struct ec_req *req);
/* run the cache step again (a failed fill's waiter retries) */
void ec_pipeline__restart(struct ec_req *req);
/* an origin exchange for req failed: error page or broken response */
void ec_pipeline__fetch_error(struct ec_req *req, enum ec_fetch_err err);

#endif /* EC_PIPELINE_H */
