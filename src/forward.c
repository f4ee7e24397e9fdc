/*
 * forward.c — the changes a proxy makes to messages in transit (see
 * forward.h). Runs on every request that reaches an origin, so it builds
 * heads in one reserved evbuffer region with no intermediate copies.
 */

#include <event2/buffer.h>

#include "arena.h"
#include "config.h"
#include "forward.h"
#include "http1_parse.h"
#include "site.h"

enum fclass {
	F_KEEP = 0,
	F_HOST,
	F_FRAMING, /* Content-Length, Transfer-Encoding: re-stated by us */
	F_EXPECT,  /* answered by us */
	F_VIA,
	F_XFF,
	F_XFP,
	F_COND, /* If-* */
	F_RANGE,
};

static enum fclass classify(struct ec_str n)
{
	switch (n.len) {
	case 3:
		return ec_str_caseeq_lit(n, "via") ? F_VIA : F_KEEP;
	case 4:
		return ec_str_caseeq_lit(n, "host") ? F_HOST : F_KEEP;
	case 5:
		return ec_str_caseeq_lit(n, "range") ? F_RANGE : F_KEEP;
	case 6:
		return ec_str_caseeq_lit(n, "expect") ? F_EXPECT : F_KEEP;
	case 8:
		if (ec_str_caseeq_lit(n, "if-match") || ec_str_caseeq_lit(n, "if-range"))
			return F_COND;
		return F_KEEP;
	case 13:
		return ec_str_caseeq_lit(n, "if-none-match") ? F_COND : F_KEEP;
	case 14:
		return ec_str_caseeq_lit(n, "content-length") ? F_FRAMING : F_KEEP;
	case 15:
		return ec_str_caseeq_lit(n, "x-forwarded-for") ? F_XFF : F_KEEP;
	case 17:
		if (ec_str_caseeq_lit(n, "transfer-encoding"))
			return F_FRAMING;
		if (ec_str_caseeq_lit(n, "if-modified-since") || ec_str_caseeq_lit(n, "x-forwarded-proto"))
			return ec_lower(n.p[0]) == 'i' ? F_COND : F_XFP;
		return F_KEEP;
	case 19:
		return ec_str_caseeq_lit(n, "if-unmodified-since") ? F_COND : F_KEEP;
	default:
		return F_KEEP;
	}
}

static char *put(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

static char *put_field(char *p, struct ec_str name, struct ec_str value)
{
	p = put(p, name.p, name.len);
	p = put(p, ": ", 2);
	p = put(p, value.p, value.len);
	return put(p, "\r\n", 2);
}

/* Writes "Name: v1, v2, ..., last\r\n" joining every field of class `cls`. */
static char *put_joined(char *p, const char *name, const struct ec_req *req, enum fclass cls,
			const char *last, size_t lastlen)
{
	p = put(p, name, strlen(name));
	p = put(p, ": ", 2);
	for (unsigned i = 0; i < req->nhdrs; i++) {
		if (classify(req->hdrs[i].name) != cls || req->hdrs[i].value.len == 0)
			continue;
		p = put(p, req->hdrs[i].value.p, req->hdrs[i].value.len);
		p = put(p, ", ", 2);
	}
	p = put(p, last, lastlen);
	return put(p, "\r\n", 2);
}

struct ec_str ec_forward_via(struct ec_req *req, const char *version)
{
	const struct ec_config *cf = req->site->conf;
	size_t vl = strlen(version), nl = strnlen(cf->via_name, sizeof(cf->via_name));
	char *p = ec_arena_alloc(req->arena, vl + 1 + nl + 1);
	if (p == NULL)
		return EC_STR_NULL;
	char *e = put(put(put(p, version, vl), " ", 1), cf->via_name, nl);
	*e = '\0';
	return ec_str_make(p, (size_t)(e - p));
}

size_t ec_forward_request_head(const struct ec_req *req, const struct ec_backend *b,
			       const struct ec_hdr *extra, unsigned nextra, unsigned flags,
			       struct evbuffer *out)
{
	const struct ec_config *cf = req->site->conf;
	size_t need = req->method.len + req->path.len + 512 + strlen(b->send_host) +
		      strlen(b->host_field) + req->host.len + sizeof(cf->via_name);
	for (unsigned i = 0; i < req->nhdrs; i++)
		need += req->hdrs[i].name.len + req->hdrs[i].value.len + 6;
	for (unsigned i = 0; i < nextra; i++)
		need += extra[i].name.len + extra[i].value.len + 4;

	struct evbuffer_iovec v;
	if (evbuffer_reserve_space(out, (ssize_t)need, &v, 1) < 1)
		return 0;
	char *p = v.iov_base;

	if (flags & EC_FWD_AS_GET)
		p = put(p, "GET", 3);
	else
		p = put(p, req->method.p, req->method.len);
	*p++ = ' ';
	if (req->path.len == 0 || req->path.p[0] == '?')
		*p++ = '/'; /* RFC 9112 §3.2.1: an empty path is sent as "/" */
	p = put(p, req->path.p, req->path.len);
	p = put(p, " HTTP/1.1\r\nHost: ", 17);
	if (b->send_host[0])
		p = put(p, b->send_host, strlen(b->send_host));
	else if (req->host.len)
		p = put(p, req->host.p, req->host.len);
	else
		p = put(p, b->host_field, strlen(b->host_field));
	p = put(p, "\r\n", 2);

	const struct ec_hdr *conn = ec_hdr_find(req->hdrs, req->nhdrs, "connection");
	for (unsigned i = 0; i < req->nhdrs; i++) {
		const struct ec_hdr *h = &req->hdrs[i];
		enum fclass cls = classify(h->name);
		if ((cls == F_COND && !(flags & EC_FWD_SKIP_COND)) ||
		    (cls == F_RANGE && !(flags & EC_FWD_SKIP_RANGE)))
			cls = F_KEEP;
		if (cls != F_KEEP || ec_h1_is_hop_by_hop_conn(req->hdrs, req->nhdrs, i, conn))
			continue;
		p = put_field(p, h->name, h->value);
	}

	char via[8 + sizeof(cf->via_name)];
	const char *ver = req->proto == EC_PROTO_HTTP10  ? "1.0 "
			  : req->proto == EC_PROTO_HTTP2 ? "2 "
							 : "1.1 ";
	char *ve = put(via, ver, strlen(ver));
	ve = put(ve, cf->via_name, strnlen(cf->via_name, sizeof(cf->via_name)));
	p = put_joined(p, "Via", req, F_VIA, via, (size_t)(ve - via));
	if (cf->xff) {
		p = put_joined(p, "X-Forwarded-For", req, F_XFF, req->client_ip,
			       strlen(req->client_ip));
		p = put(p, "X-Forwarded-Proto: ", 19);
		p = put(p, req->scheme.p, req->scheme.len);
		p = put(p, "\r\n", 2);
	}
	for (unsigned i = 0; i < nextra; i++)
		p = put_field(p, extra[i].name, extra[i].value);

	if (req->has_body && !req->body_length_known) {
		p = put(p, "Transfer-Encoding: chunked\r\n", 28);
	} else if (req->body_length_known) {
		p = put(p, "Content-Length: ", 16);
		p = ec_put_u64(p, req->content_length);
		p = put(p, "\r\n", 2);
	}
	p = put(p, "\r\n", 2);

	v.iov_len = (size_t)(p - (char *)v.iov_base);
	EC_ASSERT(v.iov_len <= need);
	evbuffer_commit_space(out, &v, 1);
	return v.iov_len;
}

int ec_forward_response_fields(struct ec_req *req, const struct ec_h1_resp *resp,
			       struct ec_hdr **out)
{
	struct ec_hdr *h = ec_arena_alloc(req->arena, (resp->nhdrs + 2) * sizeof(*h));
	if (h == NULL)
		return -1;
	unsigned n = 0;
	size_t vialen = 0;
	const struct ec_hdr *conn = ec_hdr_find(resp->hdrs, resp->nhdrs, "connection");
	for (unsigned i = 0; i < resp->nhdrs; i++) {
		const struct ec_hdr *f = &resp->hdrs[i];
		enum fclass cls = classify(f->name);
		if (cls == F_VIA) {
			vialen += f->value.len + 2;
			continue;
		}
		if (cls == F_FRAMING || ec_h1_is_hop_by_hop_conn(resp->hdrs, resp->nhdrs, i, conn))
			continue;
		h[n++] = *f;
	}
	struct ec_str mine = ec_forward_via(req, resp->minor == 0 ? "1.0" : "1.1");
	char *via = ec_arena_alloc(req->arena, vialen + mine.len + 1);
	if (via == NULL || mine.p == NULL)
		return -1;
	char *p = via;
	for (unsigned i = 0; i < resp->nhdrs; i++) {
		const struct ec_hdr *f = &resp->hdrs[i];
		if (classify(f->name) != F_VIA || f->value.len == 0)
			continue;
		p = put(p, f->value.p, f->value.len);
		p = put(p, ", ", 2);
	}
	p = put(p, mine.p, mine.len);
	h[n].name = EC_STR("Via");
	h[n].value = ec_str_make(via, (size_t)(p - via));
	n++;
	*out = h;
	return (int)n;
}
