/*
 * fuzz_h1_response.c — libFuzzer harness for ec_h1_parse_response() and
 * the chunked decoder ec_h1_chunked_step().
 *
 * An input that starts with "HTTP/" or CR is a response head, parsed as the
 * answer to GET, HEAD and CONNECT (the method may change only the framing),
 * checked against invariants, split in two at a few points and grown a byte
 * at a time (when short) with the same answer required. When it frames a
 * chunked body, the bytes after the head are that body. Any other input is
 * a chunked body from its first byte, so the corpus can aim at the decoder
 * alone.
 *
 * A body is decoded whole, byte by byte, and in two and in several pieces,
 * each piece in its own exactly-sized heap copy; every way must report the
 * same outcome, reason, decoded bytes and consumed length, and every data
 * span must lie inside the piece it came from.
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
        .max_request_line = 40, .max_head = 200, .max_fields = 5, .max_body = 0};

struct res {
	int rc;
	const char *reason;
	const char *buf;
	size_t len;
	struct ec_h1_resp resp;
	struct ec_hdr hdrs[MAXH];
};

static void parse(struct ec_h1_parser *p, const char *buf, size_t len,
                  const struct ec_h1_limits *lim, enum ec_method m, struct res *r)
{
	r->buf = buf;
	r->len = len;
	r->reason = NULL;
	r->rc = ec_h1_parse_response(p, buf, len, lim, m, r->hdrs, MAXH, &r->resp, &r->reason);
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

static bool all_tchar(struct ec_str s)
{
	for (size_t i = 0; i < s.len; i++)
		if (!ec_is_tchar((unsigned char)s.p[i]))
			return false;
	return s.len > 0;
}

static bool no_ctl(struct ec_str v)
{
	for (size_t i = 0; i < v.len; i++) {
		unsigned char c = (unsigned char)v.p[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

static void invariants(const struct res *r, const struct ec_h1_limits *lim, enum ec_method m)
{
	if (r->rc < 0) {
		EC_ASSERT(known_reason(r->reason));
		EC_ASSERT(r->rc != EC_H1_E_BODY_TOO_BIG); /* max_body is for requests */
		return;
	}
	if (r->rc == 0) {
		EC_ASSERT(r->len < lim->max_head);
		return;
	}
	const size_t h = (size_t)r->rc;
	const struct ec_h1_resp *s = &r->resp;
	EC_ASSERT(h <= r->len && h <= lim->max_head && h >= 16);
	EC_ASSERT(memcmp(r->buf, "HTTP/1.", 7) == 0);
	EC_ASSERT(memcmp(r->buf + h - 4, "\r\n\r\n", 4) == 0);
	EC_ASSERT(s->head_len == h && s->minor <= 1);
	EC_ASSERT(s->status >= 100 && s->status <= 999);
	EC_ASSERT(inside(s->reason, r->buf, h) && no_ctl(s->reason));
	EC_ASSERT(s->hdrs == r->hdrs && s->nhdrs <= lim->max_fields);
	for (unsigned i = 0; i < s->nhdrs; i++) {
		struct ec_str v = s->hdrs[i].value;
		EC_ASSERT(inside(s->hdrs[i].name, r->buf, h) && all_tchar(s->hdrs[i].name));
		EC_ASSERT(inside(v, r->buf, h) && no_ctl(v));
		EC_ASSERT(v.len == 0 || (!ec_is_ows(v.p[0]) && !ec_is_ows(v.p[v.len - 1])));
	}
	const size_t n = s->nhdrs;
	const bool has_cl = ec_hdr_find(s->hdrs, n, "Content-Length") != NULL;
	const bool has_te = ec_hdr_find(s->hdrs, n, "Transfer-Encoding") != NULL;
	EC_ASSERT(!(has_cl && has_te));
	if (!has_cl)
		EC_ASSERT(s->content_length == 0);
	const int st = s->status;
	const bool bodiless = m == EC_M_HEAD || st < 200 || st == 204 || st == 304 ||
	                      (m == EC_M_CONNECT && st / 100 == 2);
	switch (s->framing) {
	case EC_H1_BODY_NONE:
		EC_ASSERT(bodiless);
		break;
	case EC_H1_BODY_LENGTH:
		EC_ASSERT(!bodiless && has_cl);
		break;
	case EC_H1_BODY_CHUNKED:
		EC_ASSERT(!bodiless && has_te && s->minor == 1);
		break;
	case EC_H1_BODY_CLOSE:
		EC_ASSERT(!bodiless && !has_cl && !has_te && !s->keepalive);
		break;
	default:
		EC_WRONG("response framing");
	}
	if (ec_hdr_has_token(s->hdrs, n, "Connection", "close"))
		EC_ASSERT(!s->keepalive);
}

static void same_view(struct ec_str a, const struct res *ra, struct ec_str b, const struct res *rb)
{
	EC_ASSERT(a.len == b.len);
	if (a.len != 0)
		EC_ASSERT(a.p - ra->buf == b.p - rb->buf);
}

static void same(const struct res *a, const struct res *b)
{
	EC_ASSERT(a->rc == b->rc);
	if (a->rc < 0)
		EC_ASSERT(a->reason == b->reason);
	if (a->rc <= 0)
		return;
	const struct ec_h1_resp *x = &a->resp, *y = &b->resp;
	EC_ASSERT(x->minor == y->minor && x->status == y->status && x->nhdrs == y->nhdrs);
	same_view(x->reason, a, y->reason, b);
	EC_ASSERT(x->framing == y->framing && x->content_length == y->content_length);
	EC_ASSERT(x->keepalive == y->keepalive && x->head_len == y->head_len);
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

static size_t hash(const char *buf, size_t size)
{
	size_t h = 0;
	for (size_t i = 0; i < size; i++)
		h = h * 31 + (unsigned char)buf[i];
	return h;
}

/* Parses the head every way; returns the whole-input result for GET in *out. */
static void run_head(const char *buf, size_t size, const struct ec_h1_limits *lim, struct res *out)
{
	static struct res whole_s, r_s;
	struct res *whole = &whole_s, *r = &r_s;
	static const enum ec_method methods[] = {EC_M_GET, EC_M_HEAD, EC_M_CONNECT};
	for (size_t mi = 0; mi < EC_ARRAY_LEN(methods); mi++) {
		const enum ec_method m = methods[mi];
		struct ec_h1_parser p = {0};
		parse(&p, buf, size, lim, m, whole);
		invariants(whole, lim, m);
		if (mi == 0) {
			*out = *whole;
		} else {
			/* the method changes the framing only */
			EC_ASSERT(whole->rc == out->rc);
			if (whole->rc < 0)
				EC_ASSERT(whole->reason == out->reason);
		}
		if (size > 0) {
			const size_t cuts[] = {size / 2, size - 1, hash(buf, size) % size};
			for (size_t i = 0; i < EC_ARRAY_LEN(cuts); i++) {
				struct ec_h1_parser ps = {0};
				char *a = copy(buf, cuts[i]);
				parse(&ps, a, cuts[i], lim, m, r);
				if (r->rc == 0)
					parse(&ps, buf, size, lim, m, r);
				same(whole, r);
				free(a);
			}
		}
		if (mi == 0 && size <= 300) {
			struct ec_h1_parser pg = {0};
			for (size_t k = 0; k <= size; k++) {
				char *a = copy(buf, k);
				parse(&pg, a, k, lim, m, r);
				if (r->rc != 0 || k == size) {
					EC_ASSERT(r->rc == whole->rc);
					if (r->rc < 0)
						EC_ASSERT(r->reason == whole->reason);
					free(a);
					break;
				}
				free(a);
			}
		}
	}
}

struct body {
	int ret;
	const char *reason;
	size_t consumed;
	size_t dlen;
	char *data;
};

/* Decodes in[0..len) fed in the pieces cut at cuts[0..ncuts) (ascending). */
static void decode(const char *in, size_t len, const size_t *cuts, size_t ncuts, struct body *b)
{
	struct ec_h1_chunked c;
	ec_h1_chunked_init(&c);
	b->ret = EC_H1_CHUNK_MORE;
	b->reason = NULL;
	b->consumed = len;
	b->dlen = 0;
	b->data = malloc(len + 1);
	EC_AN(b->data);
	size_t off = 0;
	for (size_t s = 0; s <= ncuts; s++) {
		const size_t end = s < ncuts ? cuts[s] : len, n = end - off;
		char *piece = copy(in + off, n);
		size_t pos = 0;
		for (;;) {
			size_t used = SIZE_MAX;
			struct ec_str d = {NULL, 0};
			const char *why = NULL;
			enum ec_h1_chunk_ret ret =
			        ec_h1_chunked_step(&c, piece + pos, n - pos, &used, &d, &why);
			EC_ASSERT(used <= n - pos);
			if (ret == EC_H1_CHUNK_DATA) {
				EC_ASSERT(d.len > 0 && d.p >= piece + pos);
				EC_ASSERT(d.p + d.len == piece + pos + used);
				memcpy(b->data + b->dlen, d.p, d.len);
				b->dlen += d.len;
				EC_ASSERT(b->dlen <= off + pos + used);
				pos += used;
				continue;
			}
			if (ret == EC_H1_CHUNK_MORE) {
				EC_ASSERT(used == n - pos);
				break;
			}
			EC_ASSERT(ret == EC_H1_CHUNK_DONE || ret == EC_H1_CHUNK_ERROR);
			if (ret == EC_H1_CHUNK_ERROR)
				EC_ASSERT(known_reason(why));
			b->ret = ret;
			b->reason = why;
			b->consumed = off + pos + used;
			/* a finished decoder stays finished */
			size_t used2 = SIZE_MAX;
			const char *why2 = NULL;
			EC_ASSERT(ec_h1_chunked_step(&c, piece, n, &used2, &d, &why2) == ret);
			EC_ASSERT(used2 == 0 && (ret == EC_H1_CHUNK_DONE || why2 == why));
			free(piece);
			return;
		}
		free(piece);
		off = end;
	}
}

static void same_body(const struct body *a, const struct body *b)
{
	EC_ASSERT(a->ret == b->ret && a->reason == b->reason && a->consumed == b->consumed);
	EC_ASSERT(a->dlen == b->dlen && memcmp(a->data, b->data, a->dlen) == 0);
}

static void run_body(const char *in, size_t len)
{
	struct body whole, b;
	decode(in, len, NULL, 0, &whole);
	if (whole.ret == EC_H1_CHUNK_DONE)
		EC_ASSERT(whole.consumed >= 5 && memcmp(in + whole.consumed - 2, "\r\n", 2) == 0);

	size_t *cuts = calloc(len + 1, sizeof(*cuts)), n = 0;
	EC_AN(cuts);
	for (size_t k = 1; k < len; k++)
		cuts[n++] = k;
	decode(in, len, cuts, n, &b); /* byte by byte */
	same_body(&whole, &b);
	free(b.data);

	if (len > 0) {
		size_t h = hash(in, len);
		size_t two[] = {h % (len + 1), len / 2};
		for (size_t i = 0; i < EC_ARRAY_LEN(two); i++) {
			decode(in, len, &two[i], 1, &b);
			same_body(&whole, &b);
			free(b.data);
		}
		n = 0;
		for (size_t k = 1 + h % 7; k < len; k += 1 + (h >> (k % 32)) % 13)
			cuts[n++] = k;
		decode(in, len, cuts, n, &b);
		same_body(&whole, &b);
		free(b.data);
	}
	free(cuts);
	free(whole.data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	if ((size >= 5 && memcmp(buf, "HTTP/", 5) == 0) || (size > 0 && buf[0] == '\r')) {
		static struct res r;
		run_head(buf, size, &small_limits, &r);
		run_head(buf, size, &ec_h1_limits_default, &r);
		if (r.rc > 0 && r.resp.framing == EC_H1_BODY_CHUNKED)
			run_body(buf + r.rc, size - (size_t)r.rc);
	} else {
		run_body(buf, size);
	}
	return 0;
}
