/*
 * purge_http.c — the PURGE method on the proxy listener (purge.h): the
 * Varnish/Fastly convention of purging a URL by sending PURGE for it.
 *
 * Allowed only from the client address ranges in purge_allow (acl.h);
 * from anywhere else, or when the list is empty, the answer is 405 and
 * the request never reaches an origin. An allowed PURGE removes every
 * variant of the request's cache key from both tiers ("Soft-Purge: 1" or
 * "Fastly-Soft-Purge: 1" marks them stale instead) and answers 200 with
 * {"purged": N}. It never blocks the worker: the disk purge is queued
 * (lookups miss it at once) and counted before it is queued.
 *
 * Thread: the request's worker.
 */
#include <stdio.h>

#include <event2/buffer.h>

#include "acl.h"
#include "arena.h"
#include "cache.h"
#include "cache_key.h"
#include "config.h"
#include "log.h"
#include "pipeline.h"
#include "purge.h"
#include "req.h"
#include "site.h"
#include "storage/ec_store.h"
#include "worker.h"

static bool soft_requested(const struct ec_req *req)
{
	const char *names[] = {"soft-purge", "fastly-soft-purge"};
	for (size_t i = 0; i < EC_ARRAY_LEN(names); i++) {
		const struct ec_hdr *h = ec_hdr_find(req->hdrs, req->nhdrs, names[i]);
		if (h != NULL && ec_str_eq(ec_str_trim(h->value), EC_STR("1")))
			return true;
	}
	return false;
}

void ec_purge_http(struct ec_req *req)
{
	struct ec_worker *w = req->wrk;
	const struct ec_config *cf = req->site->conf;
	req->cache.fwd = EC_CS_FWD_METHOD;
	if (cf->purge_allow[0] == '\0' || !ec_acl_match(cf->purge_allow, req->client_ip)) {
		ec_log_warn("PURGE " EC_STR_FMT " from %s: not in purge_allow: 405",
		            EC_STR_ARG(req->target), req->client_ip);
		req->reason = "purge-refused";
		ec_pipeline_respond_error(req, 405, "PURGE is not allowed from this address",
		                          false);
		return;
	}
	struct ec_str key = ec_cache_key_build(req->arena, cf, req->scheme, req->host, req->path);
	if (key.len == 0 || w->store == NULL) {
		req->reason = "purge-failed";
		ec_pipeline_respond_error(req, w->store ? 503 : 404, "no cache to purge", false);
		return;
	}
	unsigned flags = soft_requested(req) ? EC_PURGE_SOFT : 0;
	struct ec_purge_count c = ec_purge_key(w->store, w->disk, key, flags, false);
	EC_STAT_INC(&w->stats, purge_requests);
	ec_log_info("PURGE%s " EC_STR_FMT " from %s: %llu objects", flags ? " (soft)" : "",
	            EC_STR_ARG(key), req->client_ip, (unsigned long long)c.total);
	char body[96];
	int n = snprintf(body, sizeof(body), "{\"purged\": %llu}\n", (unsigned long long)c.total);
	snprintf(req->cache_status, sizeof(req->cache_status), "edgecache; fwd=method");
	struct ec_hdr h[] = {
	        {EC_STR("Date"), ec_worker_date(w)},
	        {EC_STR("Content-Type"), EC_STR("application/json")},
	        {EC_STR("Cache-Control"), EC_STR("no-store")},
	        {EC_STR("Cache-Status"), ec_str_cstr(req->cache_status)},
	};
	struct ec_resp resp = {
	        .status = 200,
	        .hdrs = h,
	        .nhdrs = EC_ARRAY_LEN(h),
	        .has_length = true,
	        .length = (uint64_t)n,
	};
	req->ops->resp_head(req, &resp);
	evbuffer_add(w->scratch, body, (size_t)n);
	req->ops->resp_body(req, w->scratch);
	evbuffer_drain(w->scratch, evbuffer_get_length(w->scratch));
	req->ops->resp_end(req);
}
