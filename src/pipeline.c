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
#include "forward.h"
#include "origin.h"
#include "pipeline.h"
#include "site.h"
#include "worker.h"

static const struct ec_fetch_ops fetch_ops;

/* --- responses generated here ---------------------------------------------- */

static void respond_error(struct ec_req *req, int status, const char *detail, bool close)
{
	struct ec_worker *w = req->wrk;
	char body[512];
	int n = snprintf(body, sizeof(body), "%d %s: %s\n", status, ec_http_reason(status),
			 detail ? detail : ec_http_reason(status));
	if (n < 0 || (size_t)n >= sizeof(body))
		n = (int)strlen(body);
	struct ec_hdr h[3] = {
		{EC_STR("Date"), ec_worker_date(w)},
		{EC_STR("Content-Type"), EC_STR("text/plain; charset=utf-8")},
		{EC_STR("Cache-Control"), EC_STR("no-store")},
	};
	struct ec_resp resp = {
		.status = status,
		.hdrs = h,
		.nhdrs = 3,
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
	respond_error(req, status, detail, true);
}

/* --- route ------------------------------------------------------------------ */

/* Picks the first backend to try for this request (round-robin per worker). */
static unsigned route_backend(struct ec_req *req)
{
	struct ec_worker *w = req->wrk;
	unsigned n = req->site->nbackends;
	return n > 1 ? (w->rr++ % n) : 0;
}

/* --- fetch ------------------------------------------------------------------ */

static void fetch_to_origin(struct ec_req *req)
{
	struct ec_worker *w = req->wrk;
	unsigned first = route_backend(req);
	const struct ec_backend *b = &req->site->backends[first];
	size_t len = ec_forward_request_head(req, b, NULL, 0, false, w->scratch);
	if (len == 0) {
		req->reason = "no-memory";
		respond_error(req, 503, "out of memory", true);
		return;
	}
	struct ec_fetch_req fr = {
		.head = (const char *)evbuffer_pullup(w->scratch, (ssize_t)len),
		.head_len = len,
		.meth = req->meth,
		.has_body = req->has_body,
		.body_chunked = req->has_body && !req->body_length_known,
		.idempotent = ec_method_is_idempotent(req->meth),
	};
	req->backend = b;
	req->t_origin = ec_time_now();
	req->fetch = ec_fetch_start(w, req->site, first, &fr, &fetch_ops, req);
	evbuffer_drain(w->scratch, len);
	if (req->fetch == NULL) {
		req->reason = "no-memory";
		respond_error(req, 503, "out of memory", true);
	}
}

void ec_pipeline_start(struct ec_req *req)
{
	EC_CHECK_MAGIC(req, EC_REQ_MAGIC);
	if (req->site->nbackends == 0) {
		req->reason = "no-backend";
		respond_error(req, 503, "no origin configured", false);
		return;
	}
	/* Cache lookup goes here: a hit answers from the store and returns. */
	fetch_to_origin(req);
}

/* --- fetch callbacks ---------------------------------------------------------- */

static struct ec_req *req_of(void *owner)
{
	struct ec_req *req = owner;
	EC_CHECK_MAGIC(req, EC_REQ_MAGIC);
	return req;
}

static bool content_length_of(const struct ec_h1_resp *resp, uint64_t *len)
{
	const struct ec_hdr *h = ec_hdr_find(resp->hdrs, resp->nhdrs, "content-length");
	return h != NULL && ec_str_to_u64(h->value, len);
}

static void p_head(void *owner, struct ec_fetch *f, const struct ec_h1_resp *oresp)
{
	struct ec_req *req = req_of(owner);
	req->origin_time = ec_time_now() - req->t_origin;
	req->backend = ec_fetch_backend(f);
	struct ec_hdr *hdrs;
	int n = ec_forward_response_fields(req, oresp, &hdrs);
	if (n < 0) {
		/* Arena exhausted: the response cannot be relayed. */
		req->reason = "no-memory";
		respond_error(req, 503, "out of memory", true);
		return;
	}
	struct ec_resp resp = {
		.status = oresp->status,
		.hdrs = hdrs,
		.nhdrs = (unsigned)n,
		.has_length = oresp->framing == EC_H1_BODY_LENGTH,
		.length = oresp->content_length,
		.no_body = req->meth == EC_M_HEAD || oresp->status == 204 || oresp->status == 304,
	};
	if (req->meth == EC_M_HEAD && oresp->status != 204 && oresp->status != 304)
		resp.has_length = content_length_of(oresp, &resp.length);
	req->ops->resp_head(req, &resp);
}

static bool p_body(void *owner, struct ec_fetch *f, struct evbuffer *data)
{
	struct ec_req *req = req_of(owner);
	if (req->resp_done) {
		/* The head could not be relayed; swallow the rest. */
		evbuffer_drain(data, evbuffer_get_length(data));
		return true;
	}
	return req->ops->resp_body(req, data);
}

static void p_done(void *owner, struct ec_fetch *f)
{
	struct ec_req *req = req_of(owner);
	req->fetch = NULL;
	if (!req->resp_done)
		req->ops->resp_end(req);
}

static void p_error(void *owner, struct ec_fetch *f, enum ec_fetch_err err, bool head_seen)
{
	struct ec_req *req = req_of(owner);
	req->fetch = NULL;
	if (req->reason == NULL)
		req->reason = ec_fetch_err_token(err);
	if (req->resp_done)
		return;
	if (!req->resp_started) {
		if (err == EC_FETCH_E_CLIENT_BODY && req->body_error == 413) {
			respond_error(req, 413, "request body over the configured limit", true);
			return;
		}
		bool close = err == EC_FETCH_E_CLIENT_BODY;
		respond_error(req, ec_fetch_err_status(err), ec_fetch_err_text(err), close);
		return;
	}
	req->ops->resp_abort(req);
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
	if (req->fetch)
		ec_fetch_resume(req->fetch);
}

void ec_pipeline_client_gone(struct ec_req *req)
{
	EC_CHECK_MAGIC(req, EC_REQ_MAGIC);
	req->client_gone = true;
	if (req->fetch)
		ec_fetch_cancel(&req->fetch);
}

/* --- log ----------------------------------------------------------------------- */

void ec_pipeline_finish(struct ec_req *req)
{
	EC_CHECK_MAGIC(req, EC_REQ_MAGIC);
	struct ec_worker *w = req->wrk;
	if (req->fetch)
		ec_fetch_cancel(&req->fetch);
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
