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

#include "req.h"

/* A complete request head is in `req`: route it, answer it. */
void ec_pipeline_start(struct ec_req *req);

/*
 * Answers `req` with an error generated here (no origin involved): `status`,
 * a log token `reason` (bad-request, client-timeout...) and a human detail
 * for the text/plain body. Used by transports for malformed requests.
 */
void ec_pipeline_reject(struct ec_req *req, int status, const char *reason, const char *detail);

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

#endif /* EC_PIPELINE_H */
