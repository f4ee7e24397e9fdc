/*
 * check_http1_parse.c — Check suite for src/http1_parse.c: request and
 * response heads, limits, the chunked decoder, hop-by-hop fields.
 *
 * Every input goes through one of two helpers that feed it whole, split in
 * two at every byte boundary (a first call with buf[0..k), then the whole
 * buffer with the same parser state: how the daemon calls as its read buffer
 * grows), and grown one byte at a time; every way must give the same answer
 * as the whole. Each call gets its own exactly-sized heap copy of its input,
 * so an ASan build catches any read past `len`; test_guard_pages does the
 * same in any build by ending each input at an inaccessible page.
 *
 * Inputs over 2 * SPLIT_ALL bytes (the 8 KiB and 32 KiB limit cases) are
 * split and grown at every boundary in their first and last SPLIT_ALL bytes
 * and at a stride of 61 between, to keep the suite within seconds.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "src/http1_parse.h"

#define MAXH 256

/*
 * Check's ck_assert_* report every passing assertion through its pipe (a
 * write(2) each); the split loops make millions, so these call into Check
 * only when they fail.
 */
static const char *cur_case = "-"; /* named in failures inside the helpers */

#define CK(x)                                                                                      \
	do {                                                                                       \
		if (!(x))                                                                          \
			ck_abort_msg("[%.60s] assertion failed: %s", cur_case, #x);                \
	} while (0)
#define CK_MSG(x, ...)                                                                             \
	do {                                                                                       \
		if (!(x))                                                                          \
			ck_abort_msg(__VA_ARGS__);                                                 \
	} while (0)
#define CK_EQ(a, b)                                                                                \
	do {                                                                                       \
		long long a_ = (long long)(a), b_ = (long long)(b);                                \
		if (a_ != b_)                                                                      \
			ck_abort_msg("[%.60s] %s == %s: %lld != %lld", cur_case, #a, #b, a_, b_);  \
	} while (0)
#define CK_STREQ(a, b)                                                                             \
	do {                                                                                       \
		const char *a_ = (a), *b_ = (b);                                                   \
		if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0)                               \
			ck_abort_msg("[%.60s] %s == %s: \"%s\" != \"%s\"", cur_case, #a, #b,       \
			             a_ ? a_ : "(null)", b_ ? b_ : "(null)");                      \
	} while (0)
#define SPLIT_ALL 512

static const struct ec_h1_limits lim_small = {
        .max_request_line = 32, .max_head = 128, .max_fields = 4, .max_body = 0};
static const struct ec_h1_limits lim_body = {
        .max_request_line = 8192, .max_head = 32768, .max_fields = 100, .max_body = 1000};
/* A head limit below the line limit: the head limit must win, however split. */
static const struct ec_h1_limits lim_head_first = {
        .max_request_line = 64, .max_head = 48, .max_fields = 4, .max_body = 0};

/* ---- inputs ------------------------------------------------------------ */

/* A test input: pre, then nfill copies of fill, then post. */
struct input {
	const char *pre;
	size_t pre_len;
	char fill;
	size_t nfill;
	const char *post;
	size_t post_len;
};

#define IN(lit)                                                                                    \
	{                                                                                          \
		lit, sizeof(lit) - 1, 0, 0, "", 0                                                  \
	}
#define IN_FILL(pre, c, n, post)                                                                   \
	{                                                                                          \
		pre, sizeof(pre) - 1, c, n, post, sizeof(post) - 1                                 \
	}

static char *build(const struct input *in, size_t *len)
{
	*len = in->pre_len + in->nfill + in->post_len;
	char *b = malloc(*len + 1);
	CK((b) != NULL);
	memcpy(b, in->pre, in->pre_len);
	memset(b + in->pre_len, in->fill, in->nfill);
	memcpy(b + in->pre_len + in->nfill, in->post, in->post_len);
	b[*len] = 0;
	return b;
}

/* An exactly-sized heap copy: one byte more read is an ASan error. */
static char *dup_exact(const char *s, size_t n)
{
	char *b = malloc(n ? n : 1);
	if (b == NULL)
		abort();
	memcpy(b, s, n);
	return b;
}

/* The cut points tried for an input of len bytes. */
static bool try_cut(size_t k, size_t len)
{
	return len <= 2 * SPLIT_ALL || k < SPLIT_ALL || k > len - SPLIT_ALL || k % 61 == 0;
}

#define ck_view(v, lit)                                                                            \
	do {                                                                                       \
		struct ec_str v_ = (v);                                                            \
		const char *l_ = (lit);                                                            \
		CK_MSG(v_.len == strlen(l_) && (v_.len == 0 || !memcmp(v_.p, l_, v_.len)),         \
		       "%s: got \"%.*s\", want \"%s\"", #v, (int)v_.len, v_.p ? v_.p : "", l_);    \
	} while (0)

/* ---- heads: one helper for every input ---------------------------------- */

enum kind { REQ, RESP };

struct head_res {
	int rc;
	const char *reason;
	const char *buf; /* the input the views point into */
	size_t len;
	struct ec_h1_req req;
	struct ec_h1_resp resp;
	struct ec_hdr hdrs[MAXH];
};

static void parse_one(enum kind k, struct ec_h1_parser *p, const char *buf, size_t len,
                      const struct ec_h1_limits *lim, enum ec_method m, struct head_res *r)
{
	r->reason = NULL;
	r->buf = buf;
	r->len = len;
	if (k == REQ)
		r->rc = ec_h1_parse_request(p, buf, len, lim, r->hdrs, MAXH, &r->req, &r->reason);
	else
		r->rc = ec_h1_parse_response(p, buf, len, lim, m, r->hdrs, MAXH, &r->resp,
		                             &r->reason);
	if (r->rc < 0)
		CK((r->reason) != NULL);
	CK((r->rc) <= ((int)len));
}

static bool inside(struct ec_str v, const char *buf, size_t len)
{
	return v.len == 0 || (v.p >= buf && v.p + v.len <= buf + len);
}

/* Two views are the same: same length and offset (or both the same static string). */
static void same_view(struct ec_str a, const struct head_res *ra, struct ec_str b,
                      const struct head_res *rb)
{
	CK_EQ(a.len, b.len);
	if (a.len == 0)
		return;
	bool ia = inside(a, ra->buf, ra->len), ib = inside(b, rb->buf, rb->len);
	CK(ia == ib);
	if (ia)
		CK_EQ((size_t)(a.p - ra->buf), (size_t)(b.p - rb->buf));
	else
		CK_EQ(a.p, b.p);
}

static void same_result(enum kind k, const struct head_res *a, const struct head_res *b)
{
	CK_EQ(a->rc, b->rc);
	if (a->rc < 0)
		CK_STREQ(a->reason, b->reason);
	if (a->rc <= 0)
		return;
	unsigned n;
	if (k == REQ) {
		const struct ec_h1_req *x = &a->req, *y = &b->req;
		same_view(x->method, a, y->method, b);
		CK_EQ(x->meth, y->meth);
		same_view(x->target, a, y->target, b);
		same_view(x->path, a, y->path, b);
		same_view(x->scheme, a, y->scheme, b);
		same_view(x->authority, a, y->authority, b);
		same_view(x->host, a, y->host, b);
		CK_EQ(x->minor, y->minor);
		CK_EQ(x->framing, y->framing);
		CK_EQ(x->content_length, y->content_length);
		CK(x->keepalive == y->keepalive);
		CK(x->expect_continue == y->expect_continue);
		CK(x->expect_other == y->expect_other);
		CK(x->upgrade == y->upgrade);
		CK_EQ(x->head_len, y->head_len);
		CK_EQ(x->nhdrs, y->nhdrs);
		n = x->nhdrs;
	} else {
		const struct ec_h1_resp *x = &a->resp, *y = &b->resp;
		CK_EQ(x->minor, y->minor);
		CK_EQ(x->status, y->status);
		same_view(x->reason, a, y->reason, b);
		CK_EQ(x->framing, y->framing);
		CK_EQ(x->content_length, y->content_length);
		CK(x->keepalive == y->keepalive);
		CK_EQ(x->head_len, y->head_len);
		CK_EQ(x->nhdrs, y->nhdrs);
		n = x->nhdrs;
	}
	for (unsigned i = 0; i < n; i++) {
		same_view(a->hdrs[i].name, a, b->hdrs[i].name, b);
		same_view(a->hdrs[i].value, a, b->hdrs[i].value, b);
	}
}

/* Every view of a successful parse lies inside the head (path may be the static "/"). */
static void views_inside(enum kind k, const struct head_res *r)
{
	size_t h = (size_t)r->rc;
	unsigned n = k == REQ ? r->req.nhdrs : r->resp.nhdrs;
	if (k == REQ) {
		const struct ec_h1_req *q = &r->req;
		CK_EQ(q->head_len, h);
		CK(inside(q->method, r->buf, h) && q->method.len > 0);
		CK(inside(q->target, r->buf, h) && q->target.len > 0);
		CK(inside(q->path, r->buf, h) || (q->path.len == 1 && q->path.p[0] == '/'));
		CK(inside(q->scheme, r->buf, h));
		CK(inside(q->authority, r->buf, h));
		CK(inside(q->host, r->buf, h));
		CK_EQ(q->hdrs, r->hdrs);
	} else {
		CK_EQ(r->resp.head_len, h);
		CK(inside(r->resp.reason, r->buf, h));
		CK_EQ(r->resp.hdrs, r->hdrs);
	}
	for (unsigned i = 0; i < n; i++) {
		CK(inside(r->hdrs[i].name, r->buf, h) && r->hdrs[i].name.len > 0);
		CK(inside(r->hdrs[i].value, r->buf, h));
	}
}

/*
 * Parses `in` whole, split in two at every boundary, and grown a byte at a
 * time; asserts all agree. Returns the whole-input result (free with
 * head_free), whose views point into its own copy of the input.
 */
static struct head_res *run_head(enum kind k, const char *in, size_t len,
                                 const struct ec_h1_limits *lim, enum ec_method m)
{
	struct head_res *whole = calloc(1, sizeof(*whole)), *r = calloc(1, sizeof(*r));
	CK(whole && r);
	if (cur_case[0] == '-')
		cur_case = in;
	struct ec_h1_parser p = {0};
	parse_one(k, &p, dup_exact(in, len), len, lim, m, whole);
	if (whole->rc > 0)
		views_inside(k, whole);

	char *second = dup_exact(in, len); /* read only: one copy serves every second call */
	for (size_t cut = 0; cut < len; cut++) {
		if (!try_cut(cut, len))
			continue;
		struct ec_h1_parser ps = {0};
		char *a = dup_exact(in, cut);
		parse_one(k, &ps, a, cut, lim, m, r);
		if (r->rc == 0)
			parse_one(k, &ps, second, len, lim, m, r);
		same_result(k, whole, r);
		free(a);
	}
	free(second);

	struct ec_h1_parser pg = {0};
	for (size_t n = 0; n <= len; n++) {
		if (n < len && !try_cut(n, len))
			continue;
		char *a = dup_exact(in, n);
		parse_one(k, &pg, a, n, lim, m, r);
		CK_EQ(pg.scanned, r->rc == 0 ? n : pg.scanned);
		if (r->rc != 0 || n == len) {
			same_result(k, whole, r);
			free(a);
			break;
		}
		free(a);
	}
	free(r);
	if (cur_case == in)
		cur_case = "-";
	return whole;
}

static void head_free(struct head_res *r)
{
	free((void *)r->buf);
	free(r);
}

static struct head_res *req_ok(const char *in, size_t len, const struct ec_h1_limits *lim)
{
	struct head_res *r = run_head(REQ, in, len, lim, EC_M_INVALID);
	CK_MSG(r->rc > 0, "rc %d (%s) for %s", r->rc, r->reason ? r->reason : "-", in);
	return r;
}
#define REQ_OK(lit) req_ok(lit, sizeof(lit) - 1, NULL)

static struct head_res *resp_ok(const char *in, size_t len, enum ec_method m)
{
	struct head_res *r = run_head(RESP, in, len, NULL, m);
	CK_MSG(r->rc > 0, "rc %d (%s) for %s", r->rc, r->reason ? r->reason : "-", in);
	return r;
}
#define RESP_OK(lit, m) resp_ok(lit, sizeof(lit) - 1, m)

/* hdrs[i] is name: value for each pair; n pairs in all. */
static void ck_hdrs(const struct head_res *r, unsigned nh, unsigned n, const char *const *nv)
{
	CK_EQ(nh, n);
	for (unsigned i = 0; i < n; i++) {
		ck_view(r->hdrs[i].name, nv[2 * i]);
		ck_view(r->hdrs[i].value, nv[2 * i + 1]);
	}
}
#define CK_HDRS(r, nh, ...)                                                                        \
	do {                                                                                       \
		static const char *const nv_[] = {__VA_ARGS__};                                    \
		ck_hdrs(r, nh, EC_ARRAY_LEN(nv_) / 2, nv_);                                        \
	} while (0)

/* ---- valid requests ------------------------------------------------------ */

START_TEST(test_req_simple_get)
{
	static const char in[] = "GET /index.html?x=1&y=%20 HTTP/1.1\r\n"
	                         "Host: www.example.com\r\n"
	                         "User-Agent: curl/8.0\r\n"
	                         "Accept: */*\r\n"
	                         "\r\n";
	struct head_res *r = REQ_OK(in);
	const struct ec_h1_req *q = &r->req;
	CK_EQ(r->rc, sizeof(in) - 1);
	ck_view(q->method, "GET");
	CK_EQ(q->meth, EC_M_GET);
	ck_view(q->target, "/index.html?x=1&y=%20");
	ck_view(q->path, "/index.html?x=1&y=%20");
	CK_EQ(q->path.p, q->target.p);
	ck_view(q->scheme, "");
	ck_view(q->authority, "");
	ck_view(q->host, "www.example.com");
	CK_EQ(q->minor, 1);
	CK_HDRS(r, q->nhdrs, "Host", "www.example.com", "User-Agent", "curl/8.0", "Accept", "*/*");
	CK_EQ(q->framing, EC_H1_BODY_NONE);
	CK_EQ(q->content_length, 0);
	CK(q->keepalive);
	CK(!q->expect_continue && !q->expect_other && !q->upgrade);
	CK_EQ(q->head_len, sizeof(in) - 1);
	head_free(r);
}
END_TEST

START_TEST(test_req_post_length_with_body)
{
	static const char in[] = "POST /submit HTTP/1.1\r\n"
	                         "Host: api.example:8443\r\n"
	                         "Content-Type: text/plain\r\n"
	                         "Content-Length: 5\r\n"
	                         "\r\n"
	                         "hello";
	struct head_res *r = REQ_OK(in);
	const struct ec_h1_req *q = &r->req;
	CK_EQ(r->rc, sizeof(in) - 1 - 5);
	ck_view(q->method, "POST");
	CK_EQ(q->meth, EC_M_POST);
	ck_view(q->path, "/submit");
	ck_view(q->host, "api.example:8443");
	CK_HDRS(r, q->nhdrs, "Host", "api.example:8443", "Content-Type", "text/plain",
	        "Content-Length", "5");
	CK_EQ(q->framing, EC_H1_BODY_LENGTH);
	CK_EQ(q->content_length, 5);
	CK(q->keepalive);
	CK_EQ(q->head_len, sizeof(in) - 1 - 5);
	head_free(r);
}
END_TEST

START_TEST(test_req_chunked_then_body)
{
	static const char in[] = "PUT /obj HTTP/1.1\r\n"
	                         "Host: h\r\n"
	                         "Transfer-Encoding:\tChunked \r\n"
	                         "Expect: 100-continue\r\n"
	                         "\r\n"
	                         "5\r\nhello\r\n0\r\n\r\n";
	struct head_res *r = REQ_OK(in);
	const struct ec_h1_req *q = &r->req;
	CK_EQ(q->meth, EC_M_PUT);
	CK_HDRS(r, q->nhdrs, "Host", "h", "Transfer-Encoding", "Chunked", "Expect", "100-continue");
	CK_EQ(q->framing, EC_H1_BODY_CHUNKED);
	CK_EQ(q->content_length, 0);
	CK(q->expect_continue);
	CK(!q->expect_other);
	CK(q->keepalive);

	/* the body right after the head, through the decoder */
	struct ec_h1_chunked c;
	ec_h1_chunked_init(&c);
	const char *body = r->buf + q->head_len;
	size_t blen = sizeof(in) - 1 - q->head_len, used;
	struct ec_str d;
	const char *why = NULL;
	CK_EQ(ec_h1_chunked_step(&c, body, blen, &used, &d, &why), EC_H1_CHUNK_DATA);
	ck_view(d, "hello");
	CK_EQ(used, 8);
	CK_EQ(ec_h1_chunked_step(&c, body + used, blen - used, &used, &d, &why), EC_H1_CHUNK_DONE);
	CK_EQ(used, blen - 8);
	head_free(r);
}
END_TEST

START_TEST(test_req_http10)
{
	struct head_res *r = REQ_OK("GET /a HTTP/1.0\r\nAccept: x\r\n\r\n");
	const struct ec_h1_req *q = &r->req;
	CK_EQ(q->minor, 0);
	ck_view(q->host, "");
	CK(!q->keepalive);
	CK_HDRS(r, q->nhdrs, "Accept", "x");
	CK_EQ(q->framing, EC_H1_BODY_NONE);
	head_free(r);

	r = REQ_OK("GET /a HTTP/1.0\r\nConnection: Keep-Alive\r\nHost: h.example\r\n"
	           "Expect: 100-continue\r\nUpgrade: websocket\r\n\r\n");
	q = &r->req;
	CK_EQ(q->minor, 0);
	ck_view(q->host, "h.example");
	CK(q->keepalive);
	CK(!q->expect_continue && !q->expect_other); /* ignored on 1.0 */
	CK(!q->upgrade);
	head_free(r);

	r = REQ_OK("GET / HTTP/1.0\r\nHost:\r\nConnection: keep-alive, close\r\n\r\n");
	ck_view(r->req.host, "");
	CK(!r->req.keepalive);
	CK_HDRS(r, r->req.nhdrs, "Host", "", "Connection", "keep-alive, close");
	head_free(r);
}
END_TEST

START_TEST(test_req_connection)
{
	struct head_res *r = REQ_OK("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
	CK(!r->req.keepalive);
	head_free(r);
	r = REQ_OK("GET / HTTP/1.1\r\nHost: h\r\nConnection: x-foo,, CLOSE ,\r\n\r\n");
	CK(!r->req.keepalive);
	head_free(r);
	r = REQ_OK("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\nConnection: te\r\n\r\n");
	CK(r->req.keepalive);
	head_free(r);
	r = REQ_OK(
	        "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
	CK(r->req.upgrade && r->req.keepalive);
	head_free(r);
	r = REQ_OK("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n");
	CK(!r->req.upgrade);
	head_free(r);
	r = REQ_OK("GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\n\r\n");
	CK(!r->req.upgrade);
	head_free(r);
}
END_TEST

START_TEST(test_req_leading_crlf)
{
	static const char in[] = "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n";
	struct head_res *r = REQ_OK(in);
	CK_EQ(r->rc, sizeof(in) - 1);
	CK_EQ(r->req.head_len, sizeof(in) - 1);
	ck_view(r->req.method, "GET");
	CK_EQ(r->req.method.p, r->buf + 4);
	ck_view(r->req.host, "h");
	head_free(r);
}
END_TEST

START_TEST(test_req_absolute_form)
{
	struct head_res *r = REQ_OK("GET http://Origin.example:8080/a/b?c=d HTTP/1.1\r\n"
	                            "Host: ignored.example\r\n\r\n");
	const struct ec_h1_req *q = &r->req;
	ck_view(q->target, "http://Origin.example:8080/a/b?c=d");
	ck_view(q->scheme, "http");
	ck_view(q->authority, "Origin.example:8080");
	ck_view(q->path, "/a/b?c=d");
	ck_view(q->host, "Origin.example:8080");
	CK_HDRS(r, q->nhdrs, "Host", "ignored.example");
	head_free(r);

	r = REQ_OK("HEAD HTTPS://[2001:db8::1] HTTP/1.1\r\nHost: x\r\n\r\n");
	q = &r->req;
	CK_EQ(q->meth, EC_M_HEAD);
	ck_view(q->scheme, "HTTPS");
	ck_view(q->authority, "[2001:db8::1]");
	ck_view(q->host, "[2001:db8::1]");
	ck_view(q->path, "/");
	CK(!inside(q->path, r->buf, r->len)); /* the static "/" */
	head_free(r);

	/* HTTP/1.0 needs no Host even in absolute-form */
	r = REQ_OK("OPTIONS http://h.example/ HTTP/1.0\r\n\r\n");
	ck_view(r->req.host, "h.example");
	ck_view(r->req.path, "/");
	CK(inside(r->req.path, r->buf, r->len));
	head_free(r);
}
END_TEST

START_TEST(test_req_connect_and_asterisk)
{
	struct head_res *r =
	        REQ_OK("CONNECT tunnel.example:443 HTTP/1.1\r\nHost: tunnel.example:443\r\n\r\n");
	const struct ec_h1_req *q = &r->req;
	CK_EQ(q->meth, EC_M_CONNECT);
	ck_view(q->target, "tunnel.example:443");
	ck_view(q->authority, "tunnel.example:443");
	ck_view(q->path, "");
	ck_view(q->scheme, "");
	ck_view(q->host, "tunnel.example:443");
	head_free(r);

	r = REQ_OK("CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n");
	ck_view(r->req.authority, "[::1]:8443");
	head_free(r);

	r = REQ_OK("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n");
	q = &r->req;
	CK_EQ(q->meth, EC_M_OPTIONS);
	ck_view(q->target, "*");
	ck_view(q->path, "*");
	ck_view(q->authority, "");
	head_free(r);
}
END_TEST

START_TEST(test_req_expect)
{
	struct head_res *r = REQ_OK(
	        "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 0\r\n\r\n");
	CK(r->req.expect_continue && !r->req.expect_other);
	CK_EQ(r->req.framing, EC_H1_BODY_LENGTH);
	CK_EQ(r->req.content_length, 0);
	head_free(r);
	r = REQ_OK("POST / HTTP/1.1\r\nHost: h\r\nExpect: x-fancy\r\n\r\n");
	CK(!r->req.expect_continue && r->req.expect_other);
	head_free(r);
	r = REQ_OK("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue, foo=bar\r\n\r\n");
	CK(r->req.expect_continue && r->req.expect_other);
	head_free(r);
}
END_TEST

START_TEST(test_req_field_values)
{
	static const char in[] = "GET / HTTP/1.1\r\n"
	                         "Host:\t host.example \t\r\n"
	                         "X-Empty:\r\n"
	                         "X-Spaces:   \r\n"
	                         "X-Inner: a  b\tc\r\n"
	                         "X-Obs-Text: caf\xc3\xa9 \x80\xff\r\n"
	                         "x-dup: 1\r\n"
	                         "X-DUP: 2\r\n"
	                         "!#$%&'*+-.^_`|~09azAZ: v\r\n"
	                         "\r\n";
	struct head_res *r = REQ_OK(in);
	CK_HDRS(r, r->req.nhdrs, "Host", "host.example", "X-Empty", "", "X-Spaces", "", "X-Inner",
	        "a  b\tc", "X-Obs-Text", "caf\xc3\xa9 \x80\xff", "x-dup", "1", "X-DUP", "2",
	        "!#$%&'*+-.^_`|~09azAZ", "v");
	ck_view(r->req.host, "host.example");
	head_free(r);
}
END_TEST

START_TEST(test_req_content_length_forms)
{
	struct head_res *r =
	        REQ_OK("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5 ,5\r\n\r\n");
	CK_EQ(r->req.framing, EC_H1_BODY_LENGTH);
	CK_EQ(r->req.content_length, 5);
	head_free(r);
	r = REQ_OK(
	        "POST / HTTP/1.1\r\nContent-Length: 5\r\nHost: h\r\ncontent-length: 005\r\n\r\n");
	CK_EQ(r->req.content_length, 5);
	head_free(r);
	r = REQ_OK("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9999999999999999999\r\n\r\n");
	CK_EQ(r->req.content_length, UINT64_C(9999999999999999999));
	head_free(r);
	static const char atmax[] = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n";
	r = req_ok(atmax, sizeof(atmax) - 1, &lim_body);
	CK_EQ(r->req.content_length, 1000);
	head_free(r);
}
END_TEST

START_TEST(test_req_versions_and_methods)
{
	struct head_res *r = REQ_OK("GET / HTTP/1.2\r\nHost: h\r\n\r\n");
	CK_EQ(r->req.minor, 1);
	CK(r->req.keepalive);
	head_free(r);
	r = REQ_OK("GET / HTTP/1.9\r\nHost: h\r\n\r\n");
	CK_EQ(r->req.minor, 1);
	head_free(r);
	r = REQ_OK("get / HTTP/1.1\r\nHost: h\r\n\r\n");
	CK_EQ(r->req.meth, EC_M_OTHER);
	ck_view(r->req.method, "get");
	head_free(r);
	r = REQ_OK("M-SEARCH! / HTTP/1.1\r\nHost: h\r\n\r\n");
	CK_EQ(r->req.meth, EC_M_OTHER);
	head_free(r);
	r = REQ_OK("PURGE /x HTTP/1.1\r\nHost: h\r\n\r\n");
	CK_EQ(r->req.meth, EC_M_PURGE);
	head_free(r);
}
END_TEST

START_TEST(test_req_hosts)
{
	static const char *const ok[] = {
	        "h",       "h.example.",       "192.0.2.1", "192.0.2.1:80", "[::1]",
	        "[::1]:0", "[::ffff:1.2.3.4]", "x:65535",   "%41b.c",       "a-b_c~d!$&'()*+,;=",
	        "h:00080",
	};
	for (size_t i = 0; i < EC_ARRAY_LEN(ok); i++) {
		char in[256];
		int n = snprintf(in, sizeof(in), "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", ok[i]);
		struct head_res *r = req_ok(in, (size_t)n, NULL);
		ck_view(r->req.host, ok[i]);
		head_free(r);
	}
}
END_TEST

START_TEST(test_req_pipelined)
{
	static const char in[] = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"
	                         "GET /2 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
	struct head_res *r = REQ_OK(in);
	ck_view(r->req.path, "/1");
	size_t first = r->req.head_len;
	CK_EQ(first, 28);
	head_free(r);
	r = req_ok(in + first, sizeof(in) - 1 - first, NULL);
	ck_view(r->req.path, "/2");
	CK(!r->req.keepalive);
	head_free(r);
}
END_TEST

START_TEST(test_req_state_moves_with_buffer)
{
	/* the daemon may realloc its buffer between calls: state is offsets only */
	static const char in[] = "\r\nGET /moved HTTP/1.1\r\nHost: h\r\nA: b\r\n\r\n";
	struct ec_h1_parser p;
	ec_h1_parser_reset(&p);
	struct ec_hdr h[MAXH];
	struct ec_h1_req q;
	const char *why = NULL;
	char *a = dup_exact(in, 20);
	CK_EQ(ec_h1_parse_request(&p, a, 20, NULL, h, MAXH, &q, &why), 0);
	CK_EQ(p.scanned, 20);
	CK_EQ(p.start, 2);
	free(a);
	a = dup_exact(in, 33);
	CK_EQ(ec_h1_parse_request(&p, a, 33, NULL, h, MAXH, &q, &why), 0);
	CK_EQ(p.nfields, 1);
	free(a);
	a = dup_exact(in, sizeof(in) - 1);
	CK_EQ(ec_h1_parse_request(&p, a, sizeof(in) - 1, NULL, h, MAXH, &q, &why),
	      (int)sizeof(in) - 1);
	ck_view(q.path, "/moved");
	CK_EQ(q.nhdrs, 2);
	CK_EQ(p.scanned, 0); /* reset for the next head */
	free(a);
}
END_TEST

/* ---- valid responses ----------------------------------------------------- */

START_TEST(test_resp_length)
{
	static const char in[] = "HTTP/1.1 200 OK\r\n"
	                         "Content-Type: text/html\r\n"
	                         "Content-Length: 12\r\n"
	                         "Cache-Control: max-age=60\r\n"
	                         "\r\n"
	                         "hello world!";
	struct head_res *r = RESP_OK(in, EC_M_GET);
	const struct ec_h1_resp *s = &r->resp;
	CK_EQ(r->rc, sizeof(in) - 1 - 12);
	CK_EQ(s->minor, 1);
	CK_EQ(s->status, 200);
	ck_view(s->reason, "OK");
	CK_HDRS(r, s->nhdrs, "Content-Type", "text/html", "Content-Length", "12", "Cache-Control",
	        "max-age=60");
	CK_EQ(s->framing, EC_H1_BODY_LENGTH);
	CK_EQ(s->content_length, 12);
	CK(s->keepalive);
	CK_EQ(s->head_len, sizeof(in) - 1 - 12);
	head_free(r);
}
END_TEST

START_TEST(test_resp_chunked_close_none)
{
	struct head_res *r =
	        RESP_OK("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", EC_M_GET);
	CK_EQ(r->resp.framing, EC_H1_BODY_CHUNKED);
	CK(r->resp.keepalive);
	head_free(r);

	r = RESP_OK("HTTP/1.1 200 OK\r\nServer: x\r\n\r\n", EC_M_GET);
	CK_EQ(r->resp.framing, EC_H1_BODY_CLOSE);
	CK(!r->resp.keepalive);
	CK_EQ(r->resp.content_length, 0);
	head_free(r);

	r = RESP_OK("HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n", EC_M_HEAD);
	CK_EQ(r->resp.framing, EC_H1_BODY_NONE);
	CK_EQ(r->resp.content_length, 42);
	CK(r->resp.keepalive);
	head_free(r);

	r = RESP_OK("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", EC_M_HEAD);
	CK_EQ(r->resp.framing, EC_H1_BODY_NONE);
	head_free(r);

	static const int bodiless[] = {100, 101, 103, 199, 204, 304};
	for (size_t i = 0; i < EC_ARRAY_LEN(bodiless); i++) {
		char in[128];
		int n = snprintf(in, sizeof(in), "HTTP/1.1 %d X\r\nContent-Length: 7\r\n\r\n",
		                 bodiless[i]);
		r = resp_ok(in, (size_t)n, EC_M_GET);
		CK_EQ(r->resp.status, bodiless[i]);
		CK_EQ(r->resp.framing, EC_H1_BODY_NONE);
		CK_EQ(r->resp.content_length, 7);
		head_free(r);
	}

	r = RESP_OK("HTTP/1.1 200 Connection established\r\n\r\n", EC_M_CONNECT);
	CK_EQ(r->resp.framing, EC_H1_BODY_NONE);
	ck_view(r->resp.reason, "Connection established");
	head_free(r);
	r = RESP_OK("HTTP/1.1 407 Proxy Auth\r\nContent-Length: 3\r\n\r\n", EC_M_CONNECT);
	CK_EQ(r->resp.framing, EC_H1_BODY_LENGTH);
	head_free(r);
	r = RESP_OK("HTTP/1.1 205 Reset\r\n\r\n", EC_M_GET);
	CK_EQ(r->resp.framing, EC_H1_BODY_CLOSE);
	head_free(r);
}
END_TEST

START_TEST(test_resp_versions_and_reason)
{
	struct head_res *r = RESP_OK(
	        "HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive\r\n\r\n", EC_M_GET);
	CK_EQ(r->resp.minor, 0);
	CK(r->resp.keepalive);
	head_free(r);
	r = RESP_OK("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", EC_M_GET);
	CK(!r->resp.keepalive);
	head_free(r);
	r = RESP_OK("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\n", EC_M_GET);
	CK(!r->resp.keepalive);
	CK_EQ(r->resp.framing, EC_H1_BODY_LENGTH);
	head_free(r);
	r = RESP_OK("HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n", EC_M_GET);
	CK_EQ(r->resp.status, 404);
	ck_view(r->resp.reason, "");
	head_free(r);
	r = RESP_OK("HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n", EC_M_GET);
	ck_view(r->resp.reason, "");
	head_free(r);
	r = RESP_OK("HTTP/1.3 999 Tr\xe8s \tbien \r\nContent-Length: 0\r\n\r\n", EC_M_GET);
	CK_EQ(r->resp.minor, 1);
	CK_EQ(r->resp.status, 999);
	ck_view(r->resp.reason, "Tr\xe8s \tbien ");
	head_free(r);
}
END_TEST

/* ---- invalid heads, one table each --------------------------------------- */

struct bad_head {
	const char *name;
	struct input in;
	const struct ec_h1_limits *lim; /* NULL: the defaults */
	enum ec_method method;          /* responses: the request method (0: GET) */
	int err;
	int status;
	const char *reason;
};

#define BAD(nm, lit, e, st, why)                                                                   \
	{                                                                                          \
		.name = nm, .in = IN(lit), .err = EC_H1_E_##e, .status = st, .reason = why         \
	}
#define BAD_LIM(nm, lit, l, e, st, why)                                                            \
	{                                                                                          \
		.name = nm, .in = IN(lit), .lim = l, .err = EC_H1_E_##e, .status = st,             \
		.reason = why                                                                      \
	}
#define BAD_FILL(nm, pre, c, n, post, l, e, st, why)                                               \
	{                                                                                          \
		.name = nm, .in = IN_FILL(pre, c, n, post), .lim = l, .err = EC_H1_E_##e,          \
		.status = st, .reason = why                                                        \
	}

#define RL "GET / HTTP/1.1\r\n"
#define H  "Host: h\r\n"
#define PH "POST / HTTP/1.1\r\nHost: h\r\n"

static const struct bad_head req_bad[] = {
        /* framing: the smuggling classics */
        BAD("CL and TE", PH "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", BAD, 400,
            "both Content-Length and Transfer-Encoding"),
        BAD("TE and CL", PH "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n", BAD, 400,
            "both Content-Length and Transfer-Encoding"),
        BAD("TE chunked, identity", PH "Transfer-Encoding: chunked, identity\r\n\r\n", BAD, 400,
            "chunked not the final transfer coding"),
        BAD("TE xchunked", PH "Transfer-Encoding: xchunked\r\n\r\n", BAD, 400,
            "chunked not the final transfer coding"),
        BAD("TE identity", PH "Transfer-Encoding: identity\r\n\r\n", BAD, 400,
            "chunked not the final transfer coding"),
        BAD("TE chunked then gzip field",
            PH "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", BAD, 400,
            "chunked not the final transfer coding"),
        BAD("TE space before colon", PH "Transfer-Encoding : chunked\r\n\r\n", BAD, 400,
            "whitespace before colon"),
        BAD("TE tab before colon", PH "Transfer-Encoding\t: chunked\r\n\r\n", BAD, 400,
            "whitespace before colon"),
        BAD("TE gzip + chunked fields",
            PH "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", NOT_IMPL, 501,
            "unsupported transfer coding"),
        BAD("TE gzip, chunked", PH "Transfer-Encoding: gzip, chunked\r\n\r\n", NOT_IMPL, 501,
            "unsupported transfer coding"),
        BAD("TE chunked twice, one field", PH "Transfer-Encoding: chunked, chunked\r\n\r\n", BAD,
            400, "chunked applied twice"),
        BAD("TE chunked twice, two fields",
            PH "Transfer-Encoding: chunked\r\nTransfer-Encoding: CHUNKED\r\n\r\n", BAD, 400,
            "chunked applied twice"),
        BAD("TE on HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", BAD, 400,
            "Transfer-Encoding on HTTP/1.0"),
        BAD("TE empty", PH "Transfer-Encoding:\r\n\r\n", BAD, 400, "invalid Transfer-Encoding"),
        BAD("TE empty element", PH "Transfer-Encoding: , chunked\r\n\r\n", BAD, 400,
            "invalid Transfer-Encoding"),
        BAD("TE trailing comma", PH "Transfer-Encoding: chunked,\r\n\r\n", BAD, 400,
            "invalid Transfer-Encoding"),
        BAD("TE parameter", PH "Transfer-Encoding: chunked;q=1\r\n\r\n", BAD, 400,
            "invalid Transfer-Encoding"),
        BAD("TE quoted", PH "Transfer-Encoding: \"chunked\"\r\n\r\n", BAD, 400,
            "invalid Transfer-Encoding"),
        BAD("TE two words", PH "Transfer-Encoding: chunked chunked\r\n\r\n", BAD, 400,
            "invalid Transfer-Encoding"),
        BAD("TE vertical tab", PH "Transfer-Encoding: chunked\x0b\r\n\r\n", BAD, 400,
            "control character in field value"),
        BAD("CL plus sign", PH "Content-Length: +5\r\n\r\n", BAD, 400, "invalid Content-Length"),
        BAD("CL minus sign", PH "Content-Length: -5\r\n\r\n", BAD, 400, "invalid Content-Length"),
        BAD("CL hex", PH "Content-Length: 0x5\r\n\r\n", BAD, 400, "invalid Content-Length"),
        BAD("CL space inside", PH "Content-Length: 5 5\r\n\r\n", BAD, 400,
            "invalid Content-Length"),
        BAD("CL empty", PH "Content-Length:\r\n\r\n", BAD, 400, "invalid Content-Length"),
        BAD("CL trailing comma", PH "Content-Length: 5,\r\n\r\n", BAD, 400,
            "invalid Content-Length"),
        BAD("CL empty element", PH "Content-Length: 5,,5\r\n\r\n", BAD, 400,
            "invalid Content-Length"),
        BAD("CL decimal point", PH "Content-Length: 5.0\r\n\r\n", BAD, 400,
            "invalid Content-Length"),
        BAD("CL 20 digits", PH "Content-Length: 00000000000000000005\r\n\r\n", BAD, 400,
            "invalid Content-Length"),
        BAD("CL overflow", PH "Content-Length: 18446744073709551616\r\n\r\n", BAD, 400,
            "invalid Content-Length"),
        BAD("CL list differs", PH "Content-Length: 5, 6\r\n\r\n", BAD, 400,
            "differing Content-Length values"),
        BAD("CL fields differ", PH "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", BAD, 400,
            "differing Content-Length values"),
        BAD_LIM("CL over max_body", PH "Content-Length: 1001\r\n\r\n", &lim_body, BODY_TOO_BIG, 413,
                "Content-Length over limit"),
        /* line ends and control characters */
        BAD("bare LF line ends", "GET / HTTP/1.1\nHost: h\n\n", BAD, 400, "bare LF"),
        BAD("bare LF after fields", RL H "\n", BAD, 400, "bare LF"),
        BAD("bare LF ends a field", RL "Host: h\n\r\n", BAD, 400, "bare LF"),
        BAD("LF inside a line", RL H "X: a\nb\r\n\r\n", BAD, 400, "bare LF"),
        BAD("leading bare LF", "\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", BAD, 400, "bare LF"),
        BAD("CR in value", RL H "X: a\rb\r\n\r\n", BAD, 400, "CR in field value"),
        BAD("NUL in value", RL H "X: a\0b\r\n\r\n", BAD, 400, "NUL in field value"),
        BAD("DEL in value", RL H "X: a\x7f\r\n\r\n", BAD, 400, "control character in field value"),
        BAD("SOH in value", RL H "X: \x01\r\n\r\n", BAD, 400, "control character in field value"),
        BAD("CR at line start", RL H "\rX: y\r\n\r\n", BAD, 400, "bare CR"),
        BAD("CR in target", "GET /\r HTTP/1.1\r\nHost: h\r\n\r\n", BAD, 400, "bare CR"),
        BAD("CR after version", "GET / HTTP/1.1\r\r\nHost: h\r\n\r\n", BAD, 400, "bare CR"),
        /* field lines */
        BAD("obs-fold", RL H "X: a\r\n b\r\n\r\n", BAD, 400, "obs-fold"),
        BAD("obs-fold tab", RL H "X: a\r\n\tb\r\n\r\n", BAD, 400, "obs-fold"),
        BAD("space before first field", RL " Host: h\r\n\r\n", BAD, 400,
            "whitespace before first field"),
        BAD("space before colon", RL "Host : h\r\n\r\n", BAD, 400, "whitespace before colon"),
        BAD("name with space", RL H "Foo Bar: x\r\n\r\n", BAD, 400, "invalid field name"),
        BAD("empty name", RL H ": x\r\n\r\n", BAD, 400, "empty field name"),
        BAD("no colon", RL H "NoColon\r\n\r\n", BAD, 400, "field line without colon"),
        BAD("name with paren", RL H "X(y): z\r\n\r\n", BAD, 400, "invalid field name"),
        BAD("name with obs-text", RL H "X\xc3\xa9: z\r\n\r\n", BAD, 400, "invalid field name"),
        BAD("name with NUL", RL H "X\0: z\r\n\r\n", BAD, 400, "invalid field name"),
        /* request line */
        BAD("method with paren", "GE(T / HTTP/1.1\r\nHost: h\r\n\r\n", BAD, 400, "invalid method"),
        BAD("method starts with paren", "(GET / HTTP/1.1\r\nHost: h\r\n\r\n", BAD, 400,
            "invalid method"),
        BAD("method obs-text", "G\xc9T / HTTP/1.1\r\nHost: h\r\n\r\n", BAD, 400, "invalid method"),
        BAD("leading space", " GET / HTTP/1.1\r\nHost: h\r\n\r\n", BAD, 400,
            "malformed request line"),
        BAD("tab after method", "GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n", BAD, 400,
            "malformed request line"),
        BAD("two spaces", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", BAD, 400, "malformed request line"),
        BAD("method only", "GET\r\nHost: h\r\n\r\n", BAD, 400, "malformed request line"),
        BAD("HTTP/0.9 request", "GET /\r\nHost: h\r\n\r\n", BAD, 400, "malformed request line"),
        BAD("target with CTL", "GET /a\x01z HTTP/1.1\r\nHost: h\r\n\r\n", BAD, 400,
            "invalid request target"),
        BAD("target with DEL", "GET /a\x7fz HTTP/1.1\r\nHost: h\r\n\r\n", BAD, 400,
            "invalid request target"),
        BAD("target with tab", "GET /a\tz HTTP/1.1\r\nHost: h\r\n\r\n", BAD, 400,
            "invalid request target"),
        BAD("target with SP", "GET /a z HTTP/1.1\r\nHost: h\r\n\r\n", BAD, 400,
            "invalid HTTP version"),
        BAD("target with fragment", "GET /a#b HTTP/1.1\r\nHost: h\r\n\r\n", BAD, 400,
            "fragment in request target"),
        BAD("trailing space", "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", BAD, 400,
            "invalid HTTP version"),
        BAD("version 1.10", "GET / HTTP/1.10\r\nHost: h\r\n\r\n", BAD, 400, "invalid HTTP version"),
        BAD("version lower case", "GET / http/1.1\r\nHost: h\r\n\r\n", BAD, 400,
            "invalid HTTP version"),
        BAD("version no minor", "GET / HTTP/1\r\nHost: h\r\n\r\n", BAD, 400,
            "invalid HTTP version"),
        BAD("version 11", "GET / HTTP/11\r\nHost: h\r\n\r\n", BAD, 400, "invalid HTTP version"),
        BAD("version letters", "GET / HTTP/1.x\r\nHost: h\r\n\r\n", BAD, 400,
            "invalid HTTP version"),
        BAD("version short", "GET / H\r\n\r\n", BAD, 400, "invalid HTTP version"),
        BAD("HTTP/2", "GET / HTTP/2\r\nHost: h\r\n\r\n", BAD, 400, "invalid HTTP version"),
        BAD("HTTP/2.0", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", VERSION, 505,
            "unsupported HTTP version"),
        BAD("HTTP/3.0", "GET / HTTP/3.0\r\nHost: h\r\n\r\n", VERSION, 505,
            "unsupported HTTP version"),
        BAD("HTTP/0.9", "GET / HTTP/0.9\r\nHost: h\r\n\r\n", VERSION, 505,
            "unsupported HTTP version"),
        /* target forms */
        BAD("asterisk with GET", "GET * HTTP/1.1\r\nHost: h\r\n\r\n", BAD, 400,
            "asterisk-form target without OPTIONS"),
        BAD("asterisk prefix", "OPTIONS *x HTTP/1.1\r\nHost: h\r\n\r\n", BAD, 400,
            "invalid request target"),
        BAD("CONNECT origin-form", "CONNECT / HTTP/1.1\r\nHost: h\r\n\r\n", BAD, 400,
            "CONNECT without authority-form target"),
        BAD("CONNECT no port", "CONNECT h.example HTTP/1.1\r\nHost: h\r\n\r\n", BAD, 400,
            "CONNECT without authority-form target"),
        BAD("CONNECT absolute-form", "CONNECT http://h:80/ HTTP/1.1\r\nHost: h\r\n\r\n", BAD, 400,
            "CONNECT without authority-form target"),
        BAD("authority-form with GET", "GET h.example:80 HTTP/1.1\r\nHost: h\r\n\r\n", BAD, 400,
            "invalid request target"),
        BAD("relative target", "GET a/b HTTP/1.1\r\nHost: h\r\n\r\n", BAD, 400,
            "invalid request target"),
        BAD("scheme one slash", "GET http:/a HTTP/1.1\r\nHost: h\r\n\r\n", BAD, 400,
            "invalid request target"),
        BAD("ftp scheme", "GET ftp://h/ HTTP/1.1\r\nHost: h\r\n\r\n", BAD, 400,
            "unsupported scheme in target"),
        BAD("userinfo", "GET http://u:p@h/ HTTP/1.1\r\nHost: h\r\n\r\n", BAD, 400,
            "userinfo in target"),
        BAD("empty authority", "GET http:///a HTTP/1.1\r\nHost: h\r\n\r\n", BAD, 400,
            "invalid authority in target"),
        BAD("bad port in authority", "GET http://h:99999/ HTTP/1.1\r\nHost: h\r\n\r\n", BAD, 400,
            "invalid authority in target"),
        BAD("query without path", "GET http://h?q HTTP/1.1\r\nHost: h\r\n\r\n", BAD, 400,
            "absolute-form target with query but no path"),
        /* Host */
        BAD("missing Host", "GET / HTTP/1.1\r\nAccept: x\r\n\r\n", BAD, 400, "missing Host"),
        BAD("missing Host, absolute-form", "GET http://h/ HTTP/1.1\r\n\r\n", BAD, 400,
            "missing Host"),
        BAD("duplicate Host", RL "Host: a\r\nhost: a\r\n\r\n", BAD, 400, "duplicate Host"),
        BAD("duplicate Host 1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", BAD, 400,
            "duplicate Host"),
        BAD("empty Host", RL "Host: \r\n\r\n", BAD, 400, "empty Host"),
        BAD("Host with space", RL "Host: a b\r\n\r\n", BAD, 400, "invalid Host"),
        BAD("Host empty port", RL "Host: a:\r\n\r\n", BAD, 400, "invalid Host"),
        BAD("Host long port", RL "Host: a:123456\r\n\r\n", BAD, 400, "invalid Host"),
        BAD("Host port 65536", RL "Host: a:65536\r\n\r\n", BAD, 400, "invalid Host"),
        BAD("Host port letters", RL "Host: a:8x\r\n\r\n", BAD, 400, "invalid Host"),
        BAD("Host no name", RL "Host: :80\r\n\r\n", BAD, 400, "invalid Host"),
        BAD("Host open bracket", RL "Host: [::1\r\n\r\n", BAD, 400, "invalid Host"),
        BAD("Host empty brackets", RL "Host: []\r\n\r\n", BAD, 400, "invalid Host"),
        BAD("Host IPv4 in brackets", RL "Host: [1.2.3.4]\r\n\r\n", BAD, 400, "invalid Host"),
        BAD("Host IPvFuture", RL "Host: [v1.x]\r\n\r\n", BAD, 400, "invalid Host"),
        BAD("Host zone id", RL "Host: [fe80::1%25eth0]\r\n\r\n", BAD, 400, "invalid Host"),
        BAD("Host userinfo", RL "Host: u@h\r\n\r\n", BAD, 400, "invalid Host"),
        BAD("Host with path", RL "Host: h/p\r\n\r\n", BAD, 400, "invalid Host"),
        BAD("Host bad pct", RL "Host: h%zz\r\n\r\n", BAD, 400, "invalid Host"),
        BAD("Host short pct", RL "Host: h%4\r\n\r\n", BAD, 400, "invalid Host"),
        BAD("Host on 1.0 invalid", "GET / HTTP/1.0\r\nHost: a b\r\n\r\n", BAD, 400, "invalid Host"),
        BAD("Host bad in absolute-form", "GET http://h/ HTTP/1.1\r\nHost: a b\r\n\r\n", BAD, 400,
            "invalid Host"),
        /* Connection */
        BAD("Connection non-token", RL H "Connection: close;x\r\n\r\n", BAD, 400,
            "invalid Connection"),
        BAD("Connection quoted", RL H "Connection: \"close\"\r\n\r\n", BAD, 400,
            "invalid Connection"),
        BAD("Connection two words", RL H "Connection: keep alive\r\n\r\n", BAD, 400,
            "invalid Connection"),
        /* limits (small: line 32, head 128, 4 fields) */
        BAD_FILL("line 33 of 32", "GET /", 'a', 19, " HTTP/1.1\r\nHost: h\r\n\r\n", &lim_small,
                 LINE_TOO_LONG, 414, "request line too long"),
        BAD_FILL("line 33 of 32 then bare LF", "GET /", 'a', 19, " HTTP/1.1\nHost: h\r\n\r\n",
                 &lim_small, LINE_TOO_LONG, 414, "request line too long"),
        BAD_FILL("line 32 then bare LF", "GET /", 'a', 18, " HTTP/1.1\nHost: h\r\n\r\n", &lim_small,
                 BAD, 400, "bare LF"),
        BAD_FILL("line 32 then bare CR", "GET /", 'a', 18, " HTTP/1.1\rHost: h\r\n\r\n", &lim_small,
                 LINE_TOO_LONG, 414, "request line too long"),
        BAD_FILL("head 129 of 128", "GET / HTTP/1.1\r\nHost: h\r\nX: ", 'v', 97, "\r\n\r\n",
                 &lim_small, HEAD_TOO_BIG, 431, "header block too big"),
        BAD_FILL("5 fields of 4", "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n",
                 0, 0, "\r\n", &lim_small, HEAD_TOO_BIG, 431, "too many header fields"),
        BAD_FILL("empty lines count in the head", "", '\n', 0,
                 "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
                 "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
                 "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
                 "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
                 "GET / HTTP/1.1\r\nHost: h\r\n\r\n",
                 &lim_small, HEAD_TOO_BIG, 431, "header block too big"),
        BAD_FILL("head limit before line limit", "GET /", 'a', 60, " HTTP/1.1\r\nHost: h\r\n\r\n",
                 &lim_head_first, HEAD_TOO_BIG, 431, "header block too big"),
        BAD_FILL("empty lines then long line", "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET /", 'a',
                 40, " HTTP/1.1\r\n\r\n", &lim_head_first, HEAD_TOO_BIG, 431,
                 "header block too big"),
        /* the same at the default limits: 8192, 32768, 100 */
        BAD_FILL("line 8193 of 8192", "GET /", 'a', 8179, " HTTP/1.1\r\nHost: h\r\n\r\n", NULL,
                 LINE_TOO_LONG, 414, "request line too long"),
        BAD_FILL("head 32769 of 32768", "GET / HTTP/1.1\r\nHost: h\r\nX: ", 'v', 32737, "\r\n\r\n",
                 NULL, HEAD_TOO_BIG, 431, "header block too big"),
        BAD_FILL("line without end over the head", "GET /", 'a', 40000, "", NULL, LINE_TOO_LONG,
                 414, "request line too long"),
};

static const struct bad_head resp_bad[] = {
        BAD("CL and TE",
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", BAD, 400,
            "both Content-Length and Transfer-Encoding"),
        BAD("CL and TE on HEAD",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", BAD, 400,
            "both Content-Length and Transfer-Encoding"),
        BAD("TE gzip alone", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", BAD, 400,
            "chunked not the final transfer coding"),
        BAD("TE gzip, chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            NOT_IMPL, 501, "unsupported transfer coding"),
        BAD("TE twice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", BAD, 400,
            "chunked applied twice"),
        BAD("TE on 1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", BAD, 400,
            "Transfer-Encoding on HTTP/1.0"),
        BAD("CL differ", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", BAD,
            400, "differing Content-Length values"),
        BAD("CL sign", "HTTP/1.1 304 Not Modified\r\nContent-Length: +1\r\n\r\n", BAD, 400,
            "invalid Content-Length"),
        BAD("HTTP/2.0", "HTTP/2.0 200 OK\r\n\r\n", VERSION, 505, "unsupported HTTP version"),
        BAD("HTTP/2", "HTTP/2 200 OK\r\n\r\n", BAD, 400, "invalid HTTP version"),
        BAD("ICY", "ICY 200 OK\r\nX: y\r\n\r\n", BAD, 400, "invalid HTTP version"),
        BAD("short status line", "HTTP/1.1\r\n\r\n", BAD, 400, "malformed status line"),
        BAD("no SP after version", "HTTP/1.1_200 OK\r\n\r\n", BAD, 400, "malformed status line"),
        BAD("junk after status", "HTTP/1.1 200X\r\n\r\n", BAD, 400, "malformed status line"),
        BAD("two digits", "HTTP/1.1 20 OK\r\n\r\n", BAD, 400, "invalid status code"),
        BAD("four digits", "HTTP/1.1 2000 OK\r\n\r\n", BAD, 400, "invalid status code"),
        BAD("status 099", "HTTP/1.1 099 OK\r\n\r\n", BAD, 400, "invalid status code"),
        BAD("status letters", "HTTP/1.1 abc OK\r\n\r\n", BAD, 400, "invalid status code"),
        BAD("two spaces", "HTTP/1.1  200 OK\r\n\r\n", BAD, 400, "invalid status code"),
        BAD("CTL in reason", "HTTP/1.1 200 O\x01K\r\n\r\n", BAD, 400, "invalid reason phrase"),
        BAD("bare CR in reason", "HTTP/1.1 200 OK\rX\r\n\r\n", BAD, 400, "bare CR"),
        BAD("empty line before status", "\r\nHTTP/1.1 200 OK\r\n\r\n", BAD, 400,
            "empty line before status line"),
        BAD("bare LF", "HTTP/1.1 200 OK\nContent-Length: 0\n\n", BAD, 400, "bare LF"),
        BAD("obs-fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", BAD, 400, "obs-fold"),
        BAD("space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n", BAD, 400,
            "whitespace before colon"),
        BAD("NUL in value", "HTTP/1.1 200 OK\r\nX: \0\r\n\r\n", BAD, 400, "NUL in field value"),
        BAD_FILL("status line too long", "HTTP/1.1 200 ", 'x', 20, "\r\n\r\n", &lim_small,
                 LINE_TOO_LONG, 414, "status line too long"),
        BAD_FILL("response head too big", "HTTP/1.1 200 OK\r\nX: ", 'x', 200, "\r\n\r\n",
                 &lim_small, HEAD_TOO_BIG, 431, "header block too big"),
};

static void check_bad(enum kind k, const struct bad_head *c)
{
	size_t len;
	char *in = build(&c->in, &len);
	const struct ec_h1_limits *lim = c->lim ? c->lim : &ec_h1_limits_default;
	cur_case = c->name;
	struct head_res *r = run_head(k, in, len, lim, c->method ? c->method : EC_M_GET);
	CK_MSG(r->rc == c->err, "%s: rc %d (%s), want %d (%s)", c->name, r->rc,
	       r->reason ? r->reason : "-", c->err, c->reason);
	CK_MSG(strcmp(r->reason, c->reason) == 0, "%s: reason \"%s\", want \"%s\"", c->name,
	       r->reason, c->reason);
	CK_EQ(ec_h1_err_status(r->rc), c->status);
	head_free(r);
	free(in);
	cur_case = "-";
}

/*
 * One test runs a whole table (the failure names the case): a forked test
 * per case costs a LeakSanitizer pass each under --enable-asan.
 */
START_TEST(test_req_bad)
{
	for (size_t i = 0; i < EC_ARRAY_LEN(req_bad); i++)
		check_bad(REQ, &req_bad[i]);
}
END_TEST

START_TEST(test_resp_bad)
{
	for (size_t i = 0; i < EC_ARRAY_LEN(resp_bad); i++)
		check_bad(RESP, &resp_bad[i]);
}
END_TEST

/* ---- limits, exactly at the boundary ------------------------------------- */

/* A request line of exactly n bytes (n >= 16), then Host and the end. */
static char *line_of(size_t n, size_t *len)
{
	struct input in = IN_FILL("GET /", 'a', n - 14, " HTTP/1.1\r\nHost: h\r\n\r\n");
	return build(&in, len);
}

START_TEST(test_limit_request_line)
{
	size_t len;
	char *in = line_of(32, &len);
	struct head_res *r = req_ok(in, len, &lim_small);
	CK_EQ(r->req.target.len, 32 - 14 + 1);
	head_free(r);
	free(in);

	/* partial input: 32 bytes, 32 + CR → need more; 33 without CR → 414 */
	in = line_of(33, &len);
	struct ec_hdr h[8];
	struct ec_h1_req q;
	const char *why;
	for (size_t n = 0; n <= 33; n++) {
		struct ec_h1_parser p = {0};
		char *a = dup_exact(in, n);
		int rc = ec_h1_parse_request(&p, a, n, &lim_small, h, 8, &q, &why);
		CK_EQ(rc, n <= 32 ? 0 : EC_H1_E_LINE_TOO_LONG);
		free(a);
	}
	free(in);
	in = line_of(32, &len);
	for (size_t n = 32; n <= 34; n++) { /* "...1.1", "...1.1\r", "...1.1\r\n" */
		struct ec_h1_parser p = {0};
		char *a = dup_exact(in, n);
		CK_EQ(ec_h1_parse_request(&p, a, n, &lim_small, h, 8, &q, &why), 0);
		free(a);
	}
	free(in);

	/* the defaults: 8192 passes, 8193 is 414 (also in req_bad, split every way) */
	in = line_of(8192, &len);
	struct head_res *d = req_ok(in, len, NULL);
	CK_EQ(d->req.head_len, len);
	head_free(d);
	free(in);
	in = line_of(8193, &len);
	struct ec_hdr hd[MAXH];
	struct ec_h1_parser p = {0};
	CK_EQ(ec_h1_parse_request(&p, in, 8193, NULL, hd, MAXH, &q, &why), EC_H1_E_LINE_TOO_LONG);
	CK_STREQ(why, "request line too long");
	free(in);
}
END_TEST

START_TEST(test_limit_head)
{
	/* exactly 128 bytes passes */
	struct input at = IN_FILL("GET / HTTP/1.1\r\nHost: h\r\nX: ", 'v', 96, "\r\n\r\n");
	size_t len;
	char *in = build(&at, &len);
	CK_EQ(len, 128);
	struct head_res *r = req_ok(in, len, &lim_small);
	CK_EQ(r->req.head_len, 128);
	CK_EQ(r->req.hdrs[1].value.len, 96);
	head_free(r);
	free(in);

	/* partial: 127 bytes of a 129-byte head need more, 128 are already 431 */
	struct input over = IN_FILL("GET / HTTP/1.1\r\nHost: h\r\nX: ", 'v', 97, "\r\n\r\n");
	in = build(&over, &len);
	CK_EQ(len, 129);
	struct ec_hdr h[8];
	struct ec_h1_req q;
	const char *why;
	for (size_t n = 120; n <= 129; n++) {
		struct ec_h1_parser p = {0};
		char *a = dup_exact(in, n);
		int rc = ec_h1_parse_request(&p, a, n, &lim_small, h, 8, &q, &why);
		CK_EQ(rc, n < 128 ? 0 : EC_H1_E_HEAD_TOO_BIG);
		free(a);
	}
	free(in);

	/* the default: 32768 passes */
	struct input dflt = IN_FILL("GET / HTTP/1.1\r\nHost: h\r\nX: ", 'v', 32736, "\r\n\r\n");
	in = build(&dflt, &len);
	CK_EQ(len, 32768);
	r = req_ok(in, len, NULL);
	CK_EQ(r->rc, 32768);
	head_free(r);
	free(in);
}
END_TEST

/* A request with n fields "Fk: v" after Host (so n + 1 in all). */
static char *fields_of(unsigned n, bool end, size_t *len)
{
	size_t cap = 64 + 16 * (size_t)n, off;
	char *b = malloc(cap);
	CK((b) != NULL);
	off = (size_t)snprintf(b, cap, "GET / HTTP/1.1\r\nHost: h\r\n");
	for (unsigned i = 0; i < n; i++)
		off += (size_t)snprintf(b + off, cap - off, "F%u: v\r\n", i);
	if (end)
		off += (size_t)snprintf(b + off, cap - off, "\r\n");
	*len = off;
	return b;
}

START_TEST(test_limit_fields)
{
	size_t len;
	char *in = fields_of(3, true, &len); /* 4 fields of 4 */
	struct head_res *r = req_ok(in, len, &lim_small);
	CK_EQ(r->req.nhdrs, 4);
	ck_view(r->req.hdrs[3].name, "F2");
	head_free(r);
	free(in);

	/* partial: the 5th field line complete, no end yet → already 431 */
	in = fields_of(4, false, &len);
	struct ec_hdr h[8];
	struct ec_h1_req q;
	const char *why;
	struct ec_h1_parser p = {0};
	CK_EQ(ec_h1_parse_request(&p, in, len - 1, &lim_small, h, 8, &q, &why), 0);
	CK_EQ(ec_h1_parse_request(&p, in, len, &lim_small, h, 8, &q, &why), EC_H1_E_HEAD_TOO_BIG);
	CK_STREQ(why, "too many header fields");
	CK_EQ(ec_h1_err_status(EC_H1_E_HEAD_TOO_BIG), 431);
	free(in);

	/* the default: 100 fields pass, 101 fail */
	in = fields_of(99, true, &len);
	r = req_ok(in, len, NULL);
	CK_EQ(r->req.nhdrs, 100);
	head_free(r);
	free(in);
	in = fields_of(100, true, &len);
	r = run_head(REQ, in, len, NULL, EC_M_INVALID);
	CK_EQ(r->rc, EC_H1_E_HEAD_TOO_BIG);
	CK_STREQ(r->reason, "too many header fields");
	head_free(r);
	free(in);
}
END_TEST

/* ---- chunked bodies ------------------------------------------------------ */

struct chunk_res {
	int ret;
	const char *reason;
	char *data;
	size_t dlen;
	size_t consumed; /* over the whole input */
};

/*
 * Feeds in[0..len) in the slices cut at cuts[0..ncuts) (ascending), each in
 * its own exactly-sized heap copy, calling until MORE, DONE or ERROR.
 */
static void chunk_feed(const char *in, size_t len, const size_t *cuts, size_t ncuts,
                       struct chunk_res *r)
{
	struct ec_h1_chunked c;
	ec_h1_chunked_init(&c);
	r->ret = EC_H1_CHUNK_MORE;
	r->reason = NULL;
	r->data = malloc(len + 1);
	r->dlen = 0;
	r->consumed = len;
	size_t off = 0;
	for (size_t s = 0; s <= ncuts; s++) {
		const size_t end = s < ncuts ? cuts[s] : len, n = end - off;
		char *slice = dup_exact(in + off, n);
		size_t pos = 0;
		for (;;) {
			size_t used = SIZE_MAX;
			struct ec_str d = {0};
			const char *why = NULL;
			int ret = ec_h1_chunked_step(&c, slice + pos, n - pos, &used, &d, &why);
			CK((used) <= (n - pos));
			if (ret == EC_H1_CHUNK_DATA) {
				CK((d.len) > (0));
				CK(d.p >= slice + pos && d.p + d.len == slice + pos + used);
				memcpy(r->data + r->dlen, d.p, d.len);
				r->dlen += d.len;
				pos += used;
				continue;
			}
			if (ret == EC_H1_CHUNK_MORE) {
				CK_EQ(used, n - pos);
				break;
			}
			CK(ret == EC_H1_CHUNK_DONE || ret == EC_H1_CHUNK_ERROR);
			if (ret == EC_H1_CHUNK_ERROR)
				CK((why) != NULL);
			r->ret = ret;
			r->reason = why;
			r->consumed = off + pos + used;
			free(slice);
			return;
		}
		free(slice);
		off = end;
	}
}

static void chunk_same(const struct chunk_res *a, const struct chunk_res *b)
{
	CK_EQ(a->ret, b->ret);
	if (a->ret == EC_H1_CHUNK_ERROR)
		CK_STREQ(a->reason, b->reason);
	CK_EQ(a->consumed, b->consumed);
	CK_EQ(a->dlen, b->dlen);
	CK(memcmp(a->data, b->data, a->dlen) == 0);
}

/* Decodes whole, in two pieces at every boundary, byte by byte, and in 3-7 byte pieces. */
static void chunk_run(const char *in, size_t len, struct chunk_res *whole)
{
	chunk_feed(in, len, NULL, 0, whole);
	struct chunk_res r;
	for (size_t k = 0; k <= len; k++) {
		if (!try_cut(k, len))
			continue;
		chunk_feed(in, len, &k, 1, &r);
		chunk_same(whole, &r);
		free(r.data);
	}
	size_t *cuts = malloc((len + 1) * sizeof(*cuts)), n = 0;
	for (size_t k = 1; k < len; k++)
		cuts[n++] = k;
	chunk_feed(in, len, cuts, n, &r);
	chunk_same(whole, &r);
	free(r.data);
	n = 0;
	for (size_t k = 3, step = 3; k < len; step = step % 7 + 3, k += step)
		cuts[n++] = k;
	chunk_feed(in, len, cuts, n, &r);
	chunk_same(whole, &r);
	free(r.data);
	free(cuts);
}

#define AT_END SIZE_MAX

struct chunk_case {
	const char *name;
	struct input in;
	int ret;
	const char *reason; /* ERROR */
	const char *data;   /* the decoded bytes; NULL: not checked */
	size_t dlen;
	size_t consumed; /* AT_END: all of the input */
};

#define CH_DONE(nm, lit, out)                                                                      \
	{                                                                                          \
		nm, IN(lit), EC_H1_CHUNK_DONE, NULL, out, sizeof(out) - 1, AT_END                  \
	}
#define CH_DONE_AT(nm, lit, out, at)                                                               \
	{                                                                                          \
		nm, IN(lit), EC_H1_CHUNK_DONE, NULL, out, sizeof(out) - 1, at                      \
	}
#define CH_MORE(nm, lit, out)                                                                      \
	{                                                                                          \
		nm, IN(lit), EC_H1_CHUNK_MORE, NULL, out, sizeof(out) - 1, AT_END                  \
	}
#define CH_BAD(nm, lit, at, why)                                                                   \
	{                                                                                          \
		nm, IN(lit), EC_H1_CHUNK_ERROR, why, NULL, 0, at                                   \
	}

static const struct chunk_case chunk_cases[] = {
        CH_DONE("one chunk", "5\r\nhello\r\n0\r\n\r\n", "hello"),
        CH_DONE("two chunks", "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", "abcde"),
        CH_DONE("upper hex", "A\r\n0123456789\r\n0\r\n\r\n", "0123456789"),
        CH_DONE("two hex digits", "10\r\n0123456789abcdef\r\n0\r\n\r\n", "0123456789abcdef"),
        CH_DONE("16 digits", "0000000000000005\r\nhello\r\n0000000000000000\r\n\r\n", "hello"),
        CH_DONE("extensions", "5;a\r\nhello\r\n0;b=c\r\n\r\n", "hello"),
        CH_DONE("extensions with BWS and quotes",
                "5 ; a ; b = \"q\\\"x;\\\\\" ;c=d\t;e=\"\"\r\nhello\r\n0 ;z=\"\xff\"\r\n\r\n",
                "hello"),
        CH_DONE("CRLF as data", "4\r\n\r\n\r\n\r\n0\r\n\r\n", "\r\n\r\n"),
        CH_DONE("binary data", "3\r\n\0\r\xff\r\n0\r\n\r\n", "\0\r\xff"),
        CH_DONE("trailers", "0\r\nX-Sum: abc\r\nY:\r\nZ: \t v \x80\r\n\r\n", ""),
        CH_DONE_AT("next message after", "1\r\nx\r\n0\r\n\r\nGET / HTTP/1.1\r\n", "x", 11),
        CH_DONE_AT("second body after", "0\r\n\r\n0\r\n\r\n", "", 5),
        {"extension of 4096", IN_FILL("1;", 'a', 4095, "\r\nx\r\n0\r\n\r\n"), EC_H1_CHUNK_DONE,
         NULL, "x", 1, AT_END},
        {"trailers of 32768", IN_FILL("0\r\nX: ", 'a', 32763, "\r\n\r\n"), EC_H1_CHUNK_DONE, NULL,
         "", 0, AT_END},
        CH_MORE("empty input", "", ""),
        CH_MORE("partial size", "1f", ""),
        CH_MORE("partial data", "5\r\nhel", "hel"),
        CH_MORE("data, no CRLF yet", "5\r\nhello", "hello"),
        CH_MORE("largest size", "4000000000000000\r\nab", "ab"),
        CH_MORE("no final CRLF", "0\r\n", ""),
        CH_MORE("trailer, no final CRLF", "0\r\nX: y\r\n", ""),
        CH_BAD("size of 18 f", "ffffffffffffffffff\r\n", 15, "chunk size overflow"),
        CH_BAD("size 2^62 + 1", "4000000000000001\r\n", 15, "chunk size overflow"),
        CH_BAD("17 digits", "00000000000000005\r\n", 16, "chunk size too long"),
        {"extension of 5000", IN_FILL("5;", 'a', 5000, "\r\nhello\r\n0\r\n\r\n"), EC_H1_CHUNK_ERROR,
         "chunk extension too long", NULL, 0, 4097},
        {"extension of 4097", IN_FILL("1;", 'a', 4096, "\r\nx\r\n0\r\n\r\n"), EC_H1_CHUNK_ERROR,
         "chunk extension too long", NULL, 0, 4097},
        CH_BAD("5 x", "5 x\r\nhello\r\n0\r\n\r\n", 2, "junk after chunk size"),
        CH_BAD("trailing space", "5 \r\nhello\r\n0\r\n\r\n", 2, "junk after chunk size"),
        CH_BAD("5x", "5x\r\nhello\r\n", 1, "invalid chunk size"),
        CH_BAD("0x5", "0x5\r\nhello\r\n", 1, "invalid chunk size"),
        CH_BAD("x", "x\r\n", 0, "invalid chunk size"),
        CH_BAD("minus", "-5\r\n", 0, "invalid chunk size"),
        CH_BAD("plus", "+5\r\n", 0, "invalid chunk size"),
        CH_BAD("empty size", "\r\nhello\r\n", 0, "missing chunk size"),
        CH_BAD("extension without size", ";a\r\n", 0, "missing chunk size"),
        CH_BAD("space before size", " 5\r\n", 0, "missing chunk size"),
        CH_BAD("no CRLF after data", "5\r\nhelloX\r\n0\r\n\r\n", 8,
               "missing CRLF after chunk data"),
        CH_BAD("CR then junk after data", "5\r\nhello\rX", 9, "missing CRLF after chunk data"),
        CH_BAD("LF only after data", "5\r\nhello\n0\r\n\r\n", 8, "missing CRLF after chunk data"),
        CH_BAD("bare LF after size", "5\nhello\r\n", 1, "bare LF in chunked body"),
        CH_BAD("bare LF after extension", "5;a\nhello\r\n", 3, "bare LF in chunked body"),
        CH_BAD("bare LF after BWS", "5 \nhello\r\n", 2, "bare LF in chunked body"),
        CH_BAD("bare LF in trailer", "0\r\nX: y\n\r\n", 7, "bare LF in chunked body"),
        CH_BAD("bare LF at the end", "0\r\n\n", 3, "bare LF in chunked body"),
        CH_BAD("bare CR after size", "5\rhello\r\n", 2, "bare CR in chunked body"),
        CH_BAD("bare CR at the end", "0\r\n\rX", 4, "bare CR in chunked body"),
        CH_BAD("bare CR in trailer", "0\r\nX: y\rZ\r\n\r\n", 8, "bare CR in chunked body"),
        CH_BAD("extension without name", "5;\r\nhello\r\n", 2, "invalid chunk extension"),
        CH_BAD("extension value without name", "5;=x\r\nhello\r\n", 2, "invalid chunk extension"),
        CH_BAD("extension empty value", "5;a=\r\nhello\r\n", 4, "invalid chunk extension"),
        CH_BAD("extension unterminated quote", "5;a=\"x\r\nhello\r\n", 6,
               "invalid chunk extension"),
        CH_BAD("extension two names", "5;a b\r\nhello\r\n", 4, "invalid chunk extension"),
        CH_BAD("extension two values", "5;a=b c\r\nhello\r\n", 6, "invalid chunk extension"),
        CH_BAD("extension junk after quote", "5;a=\"x\"y\r\nhello\r\n", 7,
               "invalid chunk extension"),
        CH_BAD("extension trailing space", "5;a \r\nhello\r\n", 4, "invalid chunk extension"),
        CH_BAD("extension value trailing space", "5;a=b \r\nhello\r\n", 6,
               "invalid chunk extension"),
        CH_BAD("extension CTL in quotes", "5;a=\"\x01\"\r\nhello\r\n", 5,
               "invalid chunk extension"),
        CH_BAD("extension CTL after backslash", "5;a=\"\\\x01\"\r\nhello\r\n", 6,
               "invalid chunk extension"),
        CH_BAD("extension non-token name", "5;a@b\r\nhello\r\n", 3, "invalid chunk extension"),
        CH_BAD("trailer name with space", "0\r\nBad Name: x\r\n\r\n", 6, "invalid trailer field"),
        CH_BAD("trailer obs-fold", "0\r\n x: y\r\n\r\n", 3, "invalid trailer field"),
        CH_BAD("trailer empty name", "0\r\n: y\r\n\r\n", 3, "invalid trailer field"),
        CH_BAD("trailer NUL", "0\r\nX: a\0b\r\n\r\n", 7, "invalid trailer field"),
        CH_BAD("trailer without colon", "0\r\nX\r\n\r\n", 4, "invalid trailer field"),
        {"trailers of 32769", IN_FILL("0\r\nX: ", 'a', 32764, "\r\n\r\n"), EC_H1_CHUNK_ERROR,
         "trailer section too big", NULL, 0, 32771},
};

static void check_chunk_case(const struct chunk_case *c)
{
	size_t len;
	char *in = build(&c->in, &len);
	cur_case = c->name;
	struct chunk_res r;
	chunk_run(in, len, &r);
	CK_MSG(r.ret == c->ret, "%s: ret %d (%s), want %d", c->name, r.ret,
	       r.reason ? r.reason : "-", c->ret);
	if (c->ret == EC_H1_CHUNK_ERROR)
		CK_MSG(strcmp(r.reason, c->reason) == 0, "%s: reason \"%s\", want \"%s\"", c->name,
		       r.reason, c->reason);
	CK_MSG(r.consumed == (c->consumed == AT_END ? len : c->consumed), "%s: consumed %zu",
	       c->name, r.consumed);
	if (c->data) {
		CK_EQ(r.dlen, c->dlen);
		CK(memcmp(r.data, c->data, c->dlen) == 0);
	}
	free(r.data);
	free(in);
	cur_case = "-";
}

START_TEST(test_chunked)
{
	for (size_t i = 0; i < EC_ARRAY_LEN(chunk_cases); i++)
		check_chunk_case(&chunk_cases[i]);
}
END_TEST

START_TEST(test_chunked_terminal_states)
{
	struct ec_h1_chunked c;
	size_t used;
	struct ec_str d;
	const char *why = NULL;

	ec_h1_chunked_init(&c);
	CK_EQ(ec_h1_chunked_step(&c, "5x", 2, &used, &d, &why), EC_H1_CHUNK_ERROR);
	CK_STREQ(why, "invalid chunk size");
	CK_EQ(used, 1);
	why = NULL;
	CK_EQ(ec_h1_chunked_step(&c, "\r\n", 2, &used, &d, &why), EC_H1_CHUNK_ERROR);
	CK_STREQ(why, "invalid chunk size");
	CK_EQ(used, 0);

	ec_h1_chunked_init(&c);
	CK_EQ(ec_h1_chunked_step(&c, "0\r\n\r\nX", 6, &used, &d, &why), EC_H1_CHUNK_DONE);
	CK_EQ(used, 5);
	CK_EQ(ec_h1_chunked_step(&c, "X", 1, &used, &d, &why), EC_H1_CHUNK_DONE);
	CK_EQ(used, 0);

	/* a data span stops at the end of its chunk even with more input behind it */
	ec_h1_chunked_init(&c);
	CK_EQ(ec_h1_chunked_step(&c, "2\r\nabcd", 7, &used, &d, &why), EC_H1_CHUNK_DATA);
	ck_view(d, "ab");
	CK_EQ(used, 5);
	CK_EQ(c.remaining, 0);
	CK_EQ(ec_h1_chunked_step(&c, "cd", 2, &used, &d, &why), EC_H1_CHUNK_ERROR);
	CK_STREQ(why, "missing CRLF after chunk data");
}
END_TEST

/* ---- hop-by-hop, statuses ------------------------------------------------- */

#define HDR(n, v)                                                                                  \
	{                                                                                          \
		EC_STR(n), EC_STR(v)                                                               \
	}

START_TEST(test_hop_by_hop)
{
	static const struct {
		struct ec_hdr h;
		bool hop;
	} t[] = {
	        {HDR("Connection", "keep-alive, X-Custom"), true},
	        {HDR("keep-alive", "timeout=5"), true},
	        {HDR("TE", "trailers"), true},
	        {HDR("Trailer", "X-Sum"), true},
	        {HDR("Transfer-Encoding", "chunked"), true},
	        {HDR("Upgrade", "h2c"), true},
	        {HDR("Proxy-Connection", "keep-alive"), true},
	        {HDR("Proxy-Authenticate", "Basic"), true},
	        {HDR("PROXY-AUTHORIZATION", "Basic eA=="), true},
	        {HDR("x-custom", "1"), true},
	        {HDR("connection", "X-Other"), true},
	        {HDR("X-Other", ""), true},
	        {HDR("Content-Length", "5"), false},
	        {HDR("Cache-Control", "max-age=1"), false},
	        {HDR("Host", "h"), false},
	        {HDR("X-Custom-2", ""), false},
	        {HDR("Keep-Alive-X", ""), false},
	};
	struct ec_hdr h[EC_ARRAY_LEN(t)];
	for (unsigned i = 0; i < EC_ARRAY_LEN(t); i++)
		h[i] = t[i].h;
	for (unsigned i = 0; i < EC_ARRAY_LEN(t); i++)
		CK_MSG(ec_h1_is_hop_by_hop(h, EC_ARRAY_LEN(t), i) == t[i].hop, "%s", t[i].h.name.p);
	/* without Connection fields, a custom name is end-to-end */
	CK(!ec_h1_is_hop_by_hop(&h[9], 1, 0));
}
END_TEST

START_TEST(test_err_status)
{
	CK_EQ(ec_h1_err_status(EC_H1_E_BAD), 400);
	CK_EQ(ec_h1_err_status(EC_H1_E_LINE_TOO_LONG), 414);
	CK_EQ(ec_h1_err_status(EC_H1_E_HEAD_TOO_BIG), 431);
	CK_EQ(ec_h1_err_status(EC_H1_E_VERSION), 505);
	CK_EQ(ec_h1_err_status(EC_H1_E_NOT_IMPL), 501);
	CK_EQ(ec_h1_err_status(EC_H1_E_BODY_TOO_BIG), 413);
	CK_EQ(ec_h1_err_status(EC_H1_OK), 500);
	CK_EQ(ec_h1_err_status((enum ec_h1_err) - 99), 500);
}
END_TEST

/* Every reason in the table is expected by at least one case above. */
START_TEST(test_reasons_covered)
{
	for (int i = 1; i < EC_H1_R_COUNT; i++) {
		const char *want = ec_h1_reason_str[i];
		bool seen = false;
		for (size_t k = 0; k < EC_ARRAY_LEN(req_bad) && !seen; k++)
			seen = strcmp(req_bad[k].reason, want) == 0;
		for (size_t k = 0; k < EC_ARRAY_LEN(resp_bad) && !seen; k++)
			seen = strcmp(resp_bad[k].reason, want) == 0;
		for (size_t k = 0; k < EC_ARRAY_LEN(chunk_cases) && !seen; k++)
			seen = chunk_cases[k].reason && strcmp(chunk_cases[k].reason, want) == 0;
		CK_MSG(seen, "no test expects \"%s\"", want);
	}
	CK((ec_h1_reason_str[EC_H1_R_INVALID]) == NULL);
}
END_TEST

/* ---- never past len: inputs that end at an inaccessible page -------------- */

struct guard {
	char *base;
	size_t size;
	char *end; /* the first byte of the PROT_NONE page */
};

static void guard_map(struct guard *g, size_t len)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t data = (len + pg - 1) / pg * pg;
	g->size = data + pg;
	g->base = mmap(NULL, g->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CK(g->base != MAP_FAILED);
	g->end = g->base + data;
	CK_EQ(mprotect(g->end, pg, PROT_NONE), 0);
}

/* Copies in[0..n) to end right at the guard page and returns where it starts. */
static const char *guard_put(const struct guard *g, const char *in, size_t n)
{
	memcpy(g->end - n, in, n);
	return g->end - n;
}

static void guard_head(enum kind k, const char *in, size_t len, const struct ec_h1_limits *lim,
                       enum ec_method m)
{
	struct guard g;
	guard_map(&g, len);
	struct head_res *r = calloc(1, sizeof(*r)), *whole = calloc(1, sizeof(*whole));
	struct ec_h1_parser p = {0};
	parse_one(k, &p, guard_put(&g, in, len), len, lim, m, whole);
	for (size_t n = 0; n < len; n++) {
		if (!try_cut(n, len))
			continue;
		struct ec_h1_parser ps = {0};
		parse_one(k, &ps, guard_put(&g, in, n), n, lim, m, r);
		if (r->rc == 0)
			parse_one(k, &ps, guard_put(&g, in, len), len, lim, m, r);
		CK_EQ(r->rc, whole->rc);
	}
	free(r);
	free(whole);
	munmap(g.base, g.size);
}

static void guard_chunked(const char *in, size_t len)
{
	struct guard g;
	guard_map(&g, len);
	for (size_t n = 0; n <= len; n++) {
		if (!try_cut(n, len))
			continue;
		const char *b = guard_put(&g, in, n);
		struct ec_h1_chunked c;
		ec_h1_chunked_init(&c);
		size_t pos = 0, used;
		struct ec_str d;
		const char *why;
		while (ec_h1_chunked_step(&c, b + pos, n - pos, &used, &d, &why) ==
		       EC_H1_CHUNK_DATA)
			pos += used;
	}
	munmap(g.base, g.size);
}

static const char *const guard_valid_req[] = {
        "GET / HTTP/1.1\r\nHost: h\r\n\r\n",
        "\r\nPOST /a?b HTTP/1.1\r\nHost: h:1\r\nContent-Length: 3, 3\r\nX:  \r\n\r\n",
        "GET http://h/ HTTP/1.0\r\n\r\n",
        "CONNECT h:1 HTTP/1.1\r\nHost: h:1\r\n\r\n",
        "OPTIONS * HTTP/1.1\r\nHost: [::1]\r\nTransfer-Encoding: chunked\r\n\r\n",
};
static const char *const guard_valid_resp[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n",
        "HTTP/1.1 204\r\n\r\n",
        "HTTP/1.0 200 \r\nTransfer-Encoding: x\r\nConnection: keep-alive\r\n\r\n",
};

START_TEST(test_guard_pages)
{
	for (size_t i = 0; i < EC_ARRAY_LEN(guard_valid_req); i++)
		guard_head(REQ, guard_valid_req[i], strlen(guard_valid_req[i]), NULL, EC_M_INVALID);
	for (size_t i = 0; i < EC_ARRAY_LEN(guard_valid_resp); i++)
		guard_head(RESP, guard_valid_resp[i], strlen(guard_valid_resp[i]), NULL, EC_M_GET);
	for (size_t i = 0; i < EC_ARRAY_LEN(req_bad); i++) {
		size_t len;
		char *in = build(&req_bad[i].in, &len);
		guard_head(REQ, in, len, req_bad[i].lim ? req_bad[i].lim : NULL, EC_M_INVALID);
		free(in);
	}
	for (size_t i = 0; i < EC_ARRAY_LEN(resp_bad); i++) {
		size_t len;
		char *in = build(&resp_bad[i].in, &len);
		guard_head(RESP, in, len, resp_bad[i].lim, EC_M_GET);
		free(in);
	}
	for (size_t i = 0; i < EC_ARRAY_LEN(chunk_cases); i++) {
		size_t len;
		char *in = build(&chunk_cases[i].in, &len);
		guard_chunked(in, len);
		free(in);
	}
}
END_TEST

static Suite *parser_suite(void)
{
	Suite *s = suite_create("http1_parse");
	TCase *tc = tcase_create("requests");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_req_simple_get);
	tcase_add_test(tc, test_req_post_length_with_body);
	tcase_add_test(tc, test_req_chunked_then_body);
	tcase_add_test(tc, test_req_http10);
	tcase_add_test(tc, test_req_connection);
	tcase_add_test(tc, test_req_leading_crlf);
	tcase_add_test(tc, test_req_absolute_form);
	tcase_add_test(tc, test_req_connect_and_asterisk);
	tcase_add_test(tc, test_req_expect);
	tcase_add_test(tc, test_req_field_values);
	tcase_add_test(tc, test_req_content_length_forms);
	tcase_add_test(tc, test_req_versions_and_methods);
	tcase_add_test(tc, test_req_hosts);
	tcase_add_test(tc, test_req_pipelined);
	tcase_add_test(tc, test_req_state_moves_with_buffer);
	tcase_add_test(tc, test_req_bad);
	suite_add_tcase(s, tc);

	tc = tcase_create("responses");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_resp_length);
	tcase_add_test(tc, test_resp_chunked_close_none);
	tcase_add_test(tc, test_resp_versions_and_reason);
	tcase_add_test(tc, test_resp_bad);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_limit_request_line);
	tcase_add_test(tc, test_limit_head);
	tcase_add_test(tc, test_limit_fields);
	suite_add_tcase(s, tc);

	tc = tcase_create("chunked");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_chunked);
	tcase_add_test(tc, test_chunked_terminal_states);
	suite_add_tcase(s, tc);

	tc = tcase_create("misc");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_hop_by_hop);
	tcase_add_test(tc, test_err_status);
	tcase_add_test(tc, test_reasons_covered);
	tcase_add_test(tc, test_guard_pages);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(parser_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
