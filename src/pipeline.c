/*
 * pipeline.c — the request pipeline (see pipeline.h):
 *
 *     route → cache lookup → fetch → respond → log
 *
 * Route picks the origin group (today: the default group of `-o` origins,
 * round-robin). The cache step is the seam where storage/ and policy/ plug
 * in: a hit answers here without a fetch; a miss continues to the fetch,
 * whose callbacks below relay the response to the client (and, with the
 * cache, into the store). Errors before the first response byte become an
 * error page with a status and a reason; after it, an aborted response.
 *
 * Thread: the request's worker; requests never migrate.
 */
#include <stdio.h>

#include <event2/buffer.h>

#include "arena.h"
#include "cache.h"
#include "fill.h"
#include "forward.h"
#include "origin.h"
#include "lb.h"
#include "pipeline.h"
#include "route.h"
#include "purge.h"
#include "site.h"
#include "worker.h"

static const struct ec_fetch_ops fetch_ops;

/* --- responses generated here ---------------------------------------------- */

void ec_pipeline_respond_error(struct ec_req *req, int status, const char *detail, bool close)
{
	struct ec_worker *w = req->wrk;
	char body[512];
	int n = snprintf(body, sizeof(body), "%d %s: %s\n", status, ec_http_reason(status),
			 detail ? detail : ec_http_reason(status));
	if (n < 0 || (size_t)n >= sizeof(body))
		n = (int)strlen(body);
	if (req->cache_status[0] == '\0')
		ec_cache_status_error(req, req->reason, req->cache_status, sizeof(req->cache_status));
	struct ec_hdr h[4] = {
		{EC_STR("Date"), ec_worker_date(w)},
		{EC_STR("Content-Type"), EC_STR("text/plain; charset=utf-8")},
		{EC_STR("Cache-Control"), EC_STR("no-store")},
		{EC_STR("Cache-Status"), ec_str_cstr(req->cache_status)},
	};
	struct ec_resp resp = {
		.status = status,
		.hdrs = h,
		.nhdrs = 4,
		.has_length = true,
		.length = (uint64_t)n,
		.no_body = req->meth == EC_M_HEAD,
		.close = close,
	};
	req->ops->resp_head(req, &resp);
	evbuffer_add(w->scratch, body, (size_t)n);
	req->ops->resp_body(req, w->scratch);
	evbuffer_drain(w->scratch, evbuffer_get_length(w->scratch));
	req->ops->resp_end(req);
}

void ec_pipeline_reject(struct ec_req *req, int status, const char *reason, const char *detail)
{
	req->reason = reason;
	ec_pipeline_respond_error(req, status, detail, true);
}

/* --- route ------------------------------------------------------------------ */

/* Picks the group (Host, path prefix) and its first backend (route.h). */
unsigned ec_pipeline__route(struct ec_req *req, uint32_t *hash)
{
	struct ec_str key = req->cache.key;
	if (key.len == 0)
		key = req->path;
	*hash = ec_lb_crc32(key.p, key.len);
	unsigned g = ec_route_group(req->site, req->host, req->path);
	int b = ec_route_pick(req->site, g, req->wrk->id, 0, *hash, ec_worker_now(req->wrk));
	EC_ASSERT(b >= 0); /* a group has a backend, and nothing was tried */
	return (unsigned)b;
}

/* --- fetch ------------------------------------------------------------------ */

void ec_pipeline__fetch(struct ec_req *req)
{
	struct ec_worker *w = req->wrk;
	uint32_t hash;
	unsigned first = ec_pipeline__route(req, &hash);
	const struct ec_backend *b = &req->site->backends[first];
	struct ec_hdr extra[2];
	unsigned flags = 0;
	unsigned nextra = ec_cache_fetch_fields(req, extra, &flags);
	size_t len = ec_forward_request_head(req, b, extra, nextra, flags, w->scratch);
	if (len == 0) {
		req->reason = "no-memory";
		ec_pipeline_respond_error(req, 503, "out of memory", true);
		return;
	}
	struct ec_fetch_req fr = {
		.head = (const char *)evbuffer_pullup(w->scratch, (ssize_t)len),
		.head_len = len,
		.meth = req->meth,
		.has_body = req->has_body,
		.body_chunked = req->has_body && !req->body_length_known,
		.idempotent = ec_method_is_idempotent(req->meth),
		.lb_hash = hash,
	};
	req->backend = b;
	req->t_origin = ec_time_now();
	req->fetch = ec_fetch_start(w, req->site, first, &fr, &fetch_ops, req);
	evbuffer_drain(w->scratch, len);
	if (req->fetch == NULL) {
		req->reason = "no-memory";
		ec_pipeline_respond_error(req, 503, "out of memory", true);
	}
}

void ec_pipeline_start(struct ec_req *req)
{
	EC_CHECK_MAGIC(req, EC_REQ_MAGIC);
	if (req->site->nbackends == 0) {
		req->reason = "no-backend";
		ec_pipeline_respond_error(req, 503, "no origin configured", false);
		return;
	}
	if (req->meth == EC_M_CONNECT) {
		/* A reverse proxy tunnels nothing. */
		req->reason = "method-not-supported";
		ec_pipeline_respond_error(req, 501, "CONNECT is not supported", true);
		return;
	}
	if (req->meth == EC_M_PURGE) {
		ec_purge_http(req); /* never forwarded */
		return;
	}
	if (ec_cache_lookup(req))
		return; /* answered from the cache, or waiting on a fill */
	ec_pipeline__fetch(req);
}

void ec_pipeline__restart(struct ec_req *req)
{
	EC_CHECK_MAGIC(req, EC_REQ_MAGIC);
	if (ec_cache_lookup(req))
		return;
	ec_pipeline__fetch(req);
}

/* --- fetch callbacks ---------------------------------------------------------- */

static struct ec_req *req_of(void *owner)
{
	struct ec_req *req = owner;
	EC_CHECK_MAGIC(req, EC_REQ_MAGIC);
	return req;
}

static void p_head(void *owner, struct ec_fetch *f, const struct ec_h1_resp *oresp)
{
	struct ec_req *req = req_of(owner);
	req->origin_time = ec_time_now() - req->t_origin;
	req->backend = ec_fetch_backend(f);
	struct ec_resp resp;
	switch (ec_cache_on_head(req, oresp, &resp)) {
	case EC_CACHE_HEAD_RELAY:
		req->ops->resp_head(req, &resp);
		return;
	case EC_CACHE_HEAD_ANSWERED:
	case EC_CACHE_HEAD_REFETCH:
		return;
	case EC_CACHE_HEAD_NOMEM:
	case EC_CACHE_HEAD_INVALID:
		break;
	}
	/* Arena exhausted: the response cannot be relayed. */
	req->reason = "no-memory";
	req->cache.swallow = true;
	ec_pipeline_respond_error(req, 503, "out of memory", true);
}

static bool p_body(void *owner, struct ec_fetch *f, struct evbuffer *data)
{
	struct ec_req *req = req_of(owner);
	ec_cache_on_body(req, data);
	if (req->resp_done || req->cache.refetch || evbuffer_get_length(data) == 0) {
		/* Stored but not for this client (a 304 it already has, a range
		 * outside its window, an answered request). */
		evbuffer_drain(data, evbuffer_get_length(data));
		return true;
	}
	return req->ops->resp_body(req, data);
}

static void p_done(void *owner, struct ec_fetch *f)
{
	struct ec_req *req = req_of(owner);
	req->fetch = NULL;
	ec_cache_on_done(req);
	if (req->cache.refetch && !req->resp_started) {
		/* The 304 did not match what we hold: ask again, unconditionally. */
		req->cache.refetch = false;
		req->cache.swallow = false;
		req->cache.off = 0;
		ec_pipeline__fetch(req);
		return;
	}
	if (!req->resp_done)
		req->ops->resp_end(req);
}

void ec_pipeline__fetch_error(struct ec_req *req, enum ec_fetch_err err)
{
	ec_cache_on_error(req);
	if (req->reason == NULL)
		req->reason = ec_fetch_err_token(err);
	if (req->resp_done)
		return;
	if (!req->resp_started) {
		if (err == EC_FETCH_E_CLIENT_BODY && req->body_error == 413) {
			ec_pipeline_respond_error(req, 413, "request body over the configured limit",
						  true);
			return;
		}
		bool close = err == EC_FETCH_E_CLIENT_BODY;
		ec_pipeline_respond_error(req, ec_fetch_err_status(err), ec_fetch_err_text(err),
					  close);
		return;
	}
	req->ops->resp_abort(req);
}

static void p_error(void *owner, struct ec_fetch *f, enum ec_fetch_err err, bool head_seen)
{
	struct ec_req *req = req_of(owner);
	req->fetch = NULL;
	ec_pipeline__fetch_error(req, err);
}

static long p_body_pull(void *owner, struct evbuffer *dst, size_t max, bool *done)
{
	struct ec_req *req = req_of(owner);
	return req->ops->body_read(req, dst, max, done);
}

static const struct ec_fetch_ops fetch_ops = {
	.head = p_head,
	.body = p_body,
	.done = p_done,
	.error = p_error,
	.body_pull = p_body_pull,
};

/* --- transport notifications ----------------------------------------------- */

void ec_pipeline_body_ready(struct ec_req *req)
{
	EC_CHECK_MAGIC(req, EC_REQ_MAGIC);
	if (req->fetch)
		ec_fetch_body_ready(req->fetch);
}

void ec_pipeline_resp_drained(struct ec_req *req)
{
	EC_CHECK_MAGIC(req, EC_REQ_MAGIC);
	if (req->cache.reader.fill)
		ec_fill_reader_drained(req);
	else if (req->fetch)
		ec_fetch_resume(req->fetch);
}

void ec_pipeline_client_gone(struct ec_req *req)
{
	EC_CHECK_MAGIC(req, EC_REQ_MAGIC);
	req->client_gone = true;
	/* A fill goes on without this reader (for the others and the store). */
	ec_fill_reader_detach(req);
	if (req->fetch)
		ec_fetch_cancel(&req->fetch);
}

/* --- log ----------------------------------------------------------------------- */

void ec_pipeline_finish(struct ec_req *req)
{
	EC_CHECK_MAGIC(req, EC_REQ_MAGIC);
	struct ec_worker *w = req->wrk;
	ec_fill_reader_detach(req);
	if (req->fetch)
		ec_fetch_cancel(&req->fetch);
	if (req->cache_log == NULL)
		req->cache_log = ec_cache_log_token(req);
	ec_cache_release(req);
	int st = req->status;
	if (st >= 500)
		EC_STAT_INC(&w->stats, resp_5xx);
	else if (st >= 400)
		EC_STAT_INC(&w->stats, resp_4xx);
	else if (st >= 300)
		EC_STAT_INC(&w->stats, resp_3xx);
	else if (st >= 200)
		EC_STAT_INC(&w->stats, resp_2xx);
	else if (st >= 100)
		EC_STAT_INC(&w->stats, resp_1xx);
	EC_STAT_ADD(&w->stats, resp_bytes, req->bytes_out);
	ec_stats_count_request(&w->stats, req->cache_log, req->bytes_out);
	if (ec_alog_enabled()) {
		double now = ec_time_now();
		struct ec_alog_rec rec = {
			.t_start = req->t_start,
			.duration = now - req->t_start,
			.client = ec_str_cstr(req->client_ip),
			.method = req->method,
			.target = req->target,
			.minor = req->proto == EC_PROTO_HTTP2 ? 20 : req->proto == EC_PROTO_HTTP10 ? 0 : 1,
			.status = st,
			.bytes = req->bytes_out,
			.cache = ec_str_cstr(req->cache_log),
			.backend = req->backend ? ec_str_cstr(req->backend->name) : EC_STR_NULL,
			.origin_time = req->origin_time,
			.reason = req->reason,
		};
		ec_alog_write(&w->alog, &rec);
	}
	ec_site_unref(&req->site);
	req->magic = 0;
}
