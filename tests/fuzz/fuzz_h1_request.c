/*
 * fuzz_h1_request.c — libFuzzer harness for ec_h1_parse_request().
 *
 * Each input is parsed as a request head under the default limits and under
 * small ones (so the limit paths are reached), and then:
 *  - the result is checked against invariants that hold for any input: a
 *    known reason string, head_len within the input and ending in CRLF CRLF,
 *    every view inside the head, names made of tchar, values trimmed and
 *    free of CR/LF/NUL, framing consistent with the fields present...;
 *  - the same input is fed split in two at a few points, and grown a byte
 *    at a time when short, each prefix in its own exactly-sized heap copy,
 *    and must give the same answer as the whole;
 *  - a successful head followed by more bytes is followed by its body (if
 *    any) and the next request is parsed too, as on a pipelined connection.
 *
 * The replay build (tests/fuzz/replay.c) runs the seed corpus in make check.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "src/http1_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXH 128

static const struct ec_h1_limits small_limits = {
        .max_request_line = 48, .max_head = 256, .max_fields = 6, .max_body = 1000};

struct res {
	int rc;
	const char *reason;
	const char *buf;
	size_t len;
	struct ec_h1_req req;
	struct ec_hdr hdrs[MAXH];
};

static void parse(struct ec_h1_parser *p, const char *buf, size_t len,
                  const struct ec_h1_limits *lim, struct res *r)
{
	r->buf = buf;
	r->len = len;
	r->reason = NULL;
	r->rc = ec_h1_parse_request(p, buf, len, lim, r->hdrs, MAXH, &r->req, &r->reason);
}

static bool inside(struct ec_str v, const char *b, size_t n)
{
	return v.len == 0 || (v.p >= b && v.p + v.len <= b + n);
}

static bool known_reason(const char *why)
{
	for (int i = 1; i < EC_H1_R_COUNT; i++)
		if (why == ec_h1_reason_str[i])
			return true;
	return false;
}

/* Whether a Connection field lists `name`. */
static bool connection_names(const struct ec_hdr *h, size_t n, struct ec_str name)
{
	struct ec_hdr_iter it = {0};
	struct ec_str e;
	while (ec_hdr_list_next(h, n, "Connection", &it, &e))
		if (ec_str_caseeq(e, name))
			return true;
	return false;
}

static bool all_tchar(struct ec_str s)
{
	for (size_t i = 0; i < s.len; i++)
		if (!ec_is_tchar((unsigned char)s.p[i]))
			return false;
	return s.len > 0;
}

static bool clean_value(struct ec_str v)
{
	for (size_t i = 0; i < v.len; i++) {
		unsigned char c = (unsigned char)v.p[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return v.len == 0 || (!ec_is_ows(v.p[0]) && !ec_is_ows(v.p[v.len - 1]));
}

static void invariants(const struct res *r, const struct ec_h1_limits *lim)
{
	if (r->rc < 0) {
		EC_ASSERT(known_reason(r->reason));
		int st = ec_h1_err_status((enum ec_h1_err)r->rc);
		EC_ASSERT(st == 400 || st == 413 || st == 414 || st == 431 || st == 501 ||
		          st == 505);
		return;
	}
	if (r->rc == 0) {
		EC_ASSERT(r->len < lim->max_head); /* else it is too big already */
		return;
	}
	const size_t h = (size_t)r->rc;
	const struct ec_h1_req *q = &r->req;
	EC_ASSERT(h <= r->len && h <= lim->max_head && h >= 4);
	EC_ASSERT(memcmp(r->buf + h - 4, "\r\n\r\n", 4) == 0);
	EC_ASSERT(q->head_len == h);
	EC_ASSERT(inside(q->method, r->buf, h) && all_tchar(q->method));
	EC_ASSERT(q->meth != EC_M_INVALID && q->meth == ec_method_from_str(q->method));
	EC_ASSERT(inside(q->target, r->buf, h) && q->target.len > 0);
	EC_ASSERT(q->target.len <= lim->max_request_line);
	EC_ASSERT(inside(q->path, r->buf, h) || (q->path.len == 1 && q->path.p[0] == '/'));
	EC_ASSERT(inside(q->scheme, r->buf, h) && inside(q->authority, r->buf, h));
	EC_ASSERT(inside(q->host, r->buf, h));
	EC_ASSERT(q->minor <= 1);
	EC_ASSERT(q->hdrs == r->hdrs && q->nhdrs <= lim->max_fields);
	for (unsigned i = 0; i < q->nhdrs; i++) {
		EC_ASSERT(inside(q->hdrs[i].name, r->buf, h) && all_tchar(q->hdrs[i].name));
		EC_ASSERT(inside(q->hdrs[i].value, r->buf, h) && clean_value(q->hdrs[i].value));
	}
	if (q->meth == EC_M_CONNECT)
		EC_ASSERT(q->path.len == 0 && ec_str_eq(q->authority, q->target));
	else
		EC_ASSERT(q->path.len > 0);
	if (q->scheme.len != 0)
		EC_ASSERT(ec_str_eq(q->host, q->authority) && q->host.len > 0);

	const size_t n = q->nhdrs;
	const bool has_cl = ec_hdr_find(q->hdrs, n, "Content-Length") != NULL;
	const bool has_te = ec_hdr_find(q->hdrs, n, "Transfer-Encoding") != NULL;
	EC_ASSERT(ec_hdr_count(q->hdrs, n, "Host") <= 1);
	if (q->minor == 1)
		EC_ASSERT(q->host.len > 0);
	switch (q->framing) {
	case EC_H1_BODY_NONE:
		EC_ASSERT(!has_cl && !has_te && q->content_length == 0);
		break;
	case EC_H1_BODY_LENGTH:
		EC_ASSERT(has_cl && !has_te);
		EC_ASSERT(lim->max_body == 0 || q->content_length <= lim->max_body);
		break;
	case EC_H1_BODY_CHUNKED:
		EC_ASSERT(has_te && !has_cl && q->minor == 1 && q->content_length == 0);
		EC_ASSERT(ec_hdr_has_token(q->hdrs, n, "Transfer-Encoding", "chunked"));
		break;
	default:
		EC_WRONG("request framing");
	}
	const bool close = ec_hdr_has_token(q->hdrs, n, "Connection", "close");
	const bool ka = ec_hdr_has_token(q->hdrs, n, "Connection", "keep-alive");
	EC_ASSERT(q->keepalive == (q->minor == 1 ? !close : ka && !close));
	if (q->minor == 0)
		EC_ASSERT(!q->expect_continue && !q->expect_other && !q->upgrade);
	if (q->upgrade)
		EC_ASSERT(ec_hdr_find(q->hdrs, n, "Upgrade") != NULL);

	/* hop-by-hop: the fixed names always, any other name when Connection lists it */
	for (unsigned i = 0; i < n; i++) {
		const struct ec_str nm = q->hdrs[i].name;
		const bool hop = ec_h1_is_hop_by_hop(q->hdrs, (unsigned)n, i);
		if (ec_str_caseeq_lit(nm, "Connection") || ec_str_caseeq_lit(nm, "Upgrade") ||
		    ec_str_caseeq_lit(nm, "Transfer-Encoding") || ec_str_caseeq_lit(nm, "TE") ||
		    ec_str_caseeq_lit(nm, "Keep-Alive") || ec_str_caseeq_lit(nm, "Trailer") ||
		    ec_str_caseeq_lit(nm, "Proxy-Connection") ||
		    ec_str_caseeq_lit(nm, "Proxy-Authenticate") ||
		    ec_str_caseeq_lit(nm, "Proxy-Authorization"))
			EC_ASSERT(hop);
		else
			EC_ASSERT(hop == connection_names(q->hdrs, n, nm));
	}
	if (q->expect_continue || q->expect_other)
		EC_ASSERT(ec_hdr_find(q->hdrs, n, "Expect") != NULL);
}

static void same_view(struct ec_str a, const struct res *ra, struct ec_str b, const struct res *rb)
{
	EC_ASSERT(a.len == b.len);
	if (a.len == 0)
		return;
	if (inside(a, ra->buf, ra->len))
		EC_ASSERT(inside(b, rb->buf, rb->len) && a.p - ra->buf == b.p - rb->buf);
	else
		EC_ASSERT(a.p == b.p);
}

static void same(const struct res *a, const struct res *b)
{
	EC_ASSERT(a->rc == b->rc);
	if (a->rc < 0)
		EC_ASSERT(a->reason == b->reason);
	if (a->rc <= 0)
		return;
	const struct ec_h1_req *x = &a->req, *y = &b->req;
	same_view(x->method, a, y->method, b);
	same_view(x->target, a, y->target, b);
	same_view(x->path, a, y->path, b);
	same_view(x->scheme, a, y->scheme, b);
	same_view(x->authority, a, y->authority, b);
	same_view(x->host, a, y->host, b);
	EC_ASSERT(x->meth == y->meth && x->minor == y->minor && x->nhdrs == y->nhdrs);
	EC_ASSERT(x->framing == y->framing && x->content_length == y->content_length);
	EC_ASSERT(x->keepalive == y->keepalive && x->upgrade == y->upgrade);
	EC_ASSERT(x->expect_continue == y->expect_continue && x->expect_other == y->expect_other);
	EC_ASSERT(x->head_len == y->head_len);
	for (unsigned i = 0; i < x->nhdrs; i++) {
		same_view(a->hdrs[i].name, a, b->hdrs[i].name, b);
		same_view(a->hdrs[i].value, a, b->hdrs[i].value, b);
	}
}

static char *copy(const char *s, size_t n)
{
	char *b = malloc(n ? n : 1);
	EC_AN(b);
	memcpy(b, s, n);
	return b;
}

/* A first call with buf[0..cut) in its own copy, then the whole: as the daemon calls. */
static void split_at(const char *buf, size_t size, size_t cut, const struct ec_h1_limits *lim,
                     const struct res *whole, struct res *r)
{
	struct ec_h1_parser p = {0};
	char *a = copy(buf, cut);
	parse(&p, a, cut, lim, r);
	if (r->rc == 0)
		parse(&p, buf, size, lim, r);
	same(whole, r);
	free(a);
}

static void run(const char *buf, size_t size, const struct ec_h1_limits *lim, int depth)
{
	static struct res whole_s[3], r_s[3]; /* by depth: no recursion shares one */
	struct res *whole = &whole_s[depth], *r = &r_s[depth];
	struct ec_h1_parser p = {0};
	parse(&p, buf, size, lim, whole);
	invariants(whole, lim);

	/* the same call again (the parser reset itself on success) */
	if (whole->rc > 0) {
		parse(&p, buf, size, lim, r);
		same(whole, r);
	}

	if (size > 0) {
		size_t h = 0;
		for (size_t i = 0; i < size; i++)
			h = h * 31 + (unsigned char)buf[i];
		const size_t cuts[] = {size / 2, size / 3, size - 1, h % size};
		for (size_t i = 0; i < EC_ARRAY_LEN(cuts); i++)
			split_at(buf, size, cuts[i], lim, whole, r);
	}
	if (size <= 300) {
		struct ec_h1_parser pg = {0};
		for (size_t n = 0; n <= size; n++) {
			char *a = copy(buf, n);
			parse(&pg, a, n, lim, r);
			int rc = r->rc;
			if (rc != 0 || n == size) {
				if (n == size)
					same(whole, r);
				else
					EC_ASSERT(rc == whole->rc &&
					          (rc > 0 || r->reason == whole->reason));
				free(a);
				break;
			}
			free(a);
		}
	}

	/* pipelining: skip a Content-Length body and parse what follows */
	if (whole->rc > 0 && depth < 2) {
		size_t next = (size_t)whole->rc;
		if (whole->req.framing == EC_H1_BODY_LENGTH) {
			if (whole->req.content_length > size - next)
				return;
			next += (size_t)whole->req.content_length;
		} else if (whole->req.framing != EC_H1_BODY_NONE) {
			return;
		}
		if (next < size)
			run(buf + next, size - next, lim, depth + 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	run(buf, size, &ec_h1_limits_default, 0);
	run(buf, size, &small_limits, 0);
	return 0;
}
