/*
 * check_core.c — unit tests for the daemon's small core modules: the
 * per-request arena, HTTP/1 body framing over evbuffers (h1_body.c), the
 * forwarding rules (forward.c), socket reads (netio.c) and the access-log
 * line format (log.c).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "src/arena.h"
#include "src/config.h"
#include "src/forward.h"
#include "src/h1_body.h"
#include "src/log.h"
#include "src/netio.h"
#include "src/req.h"
#include "src/site.h"

static char *drain_str(struct evbuffer *b)
{
	size_t n = evbuffer_get_length(b);
	char *s = malloc(n + 1);
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	return s;
}

/* --- arena --------------------------------------------------------------- */

START_TEST(test_arena_inline_then_heap)
{
	struct ec_arena *a = malloc(sizeof(*a));
	ec_arena_init(a);
	char *p = ec_arena_alloc(a, 100);
	ck_assert_ptr_nonnull(p);
	ck_assert((uintptr_t)p % 16 == 0);
	ck_assert(p >= a->inline_block && p < a->inline_block + EC_ARENA_INLINE);
	ck_assert_uint_eq(a->heap_bytes, 0);
	/* more than the inline block holds goes to the heap */
	char *q = ec_arena_alloc(a, EC_ARENA_INLINE);
	ck_assert_ptr_nonnull(q);
	ck_assert(!(q >= a->inline_block && q < a->inline_block + EC_ARENA_INLINE));
	ck_assert_uint_ge(a->heap_bytes, EC_ARENA_INLINE);
	memset(q, 'x', EC_ARENA_INLINE);
	struct ec_str d = ec_arena_strdup(a, EC_STR("hello"));
	ck_assert_int_eq(d.len, 5);
	ck_assert(memcmp(d.p, "hello", 5) == 0);
	ec_arena_reset(a);
	ck_assert_uint_eq(a->heap_bytes, 0);
	ck_assert_ptr_eq(ec_arena_alloc(a, 1), a->inline_block);
	ec_arena_fini(a);
	free(a);
}
END_TEST

/* --- h1_body ------------------------------------------------------------- */

START_TEST(test_body_length)
{
	struct evbuffer *src = evbuffer_new(), *dst = evbuffer_new();
	struct ec_h1_body b;
	const char *why = NULL;
	ec_h1_body_init(&b, EC_H1_BODY_LENGTH, 10);
	ck_assert(!b.done);
	evbuffer_add(src, "0123456", 7);
	ck_assert_int_eq(ec_h1_body_move(&b, src, dst, 1024, &why), 7);
	ck_assert(!b.done);
	evbuffer_add(src, "789GET / HTTP/1.1", 17);
	ck_assert_int_eq(ec_h1_body_move(&b, src, dst, 1024, &why), 3);
	ck_assert(b.done);
	/* the next message stays in the source */
	ck_assert_uint_eq(evbuffer_get_length(src), 14);
	char *s = drain_str(dst);
	ck_assert_str_eq(s, "0123456789");
	free(s);
	/* a zero length is done at once */
	ec_h1_body_init(&b, EC_H1_BODY_LENGTH, 0);
	ck_assert(b.done);
	ck_assert_int_eq(ec_h1_body_move(&b, src, dst, 1024, &why), 0);
	evbuffer_free(src);
	evbuffer_free(dst);
}
END_TEST

START_TEST(test_body_chunked_roundtrip)
{
	struct evbuffer *src = evbuffer_new(), *dst = evbuffer_new(), *data = evbuffer_new();
	/* encode 3 chunks with our own writer, then decode them byte by byte */
	evbuffer_add(data, "hello", 5);
	ec_h1_chunk_wrap(src, data);
	ck_assert_uint_eq(evbuffer_get_length(data), 0);
	ec_h1_chunk_wrap(src, data); /* empty: writes nothing (no early last-chunk) */
	evbuffer_add(data, " world, this is chunked", 23);
	ec_h1_chunk_wrap(src, data);
	ec_h1_chunk_end(src);
	evbuffer_add(src, "NEXT", 4);
	char *wire = drain_str(src);
	ck_assert_str_eq(wire, "5\r\nhello\r\n17\r\n world, this is chunked\r\n0\r\n\r\nNEXT");

	struct ec_h1_body b;
	const char *why = NULL;
	ec_h1_body_init(&b, EC_H1_BODY_CHUNKED, 0);
	for (size_t i = 0; wire[i] && !b.done; i++) {
		evbuffer_add(src, &wire[i], 1);
		ck_assert_int_ge(ec_h1_body_move(&b, src, dst, 1024, &why), 0);
	}
	ck_assert(b.done);
	char *s = drain_str(dst);
	ck_assert_str_eq(s, "hello world, this is chunked");
	free(s);
	free(wire);
	evbuffer_free(src);
	evbuffer_free(dst);
	evbuffer_free(data);
}
END_TEST

START_TEST(test_body_chunked_error)
{
	struct evbuffer *src = evbuffer_new(), *dst = evbuffer_new();
	struct ec_h1_body b;
	const char *why = NULL;
	ec_h1_body_init(&b, EC_H1_BODY_CHUNKED, 0);
	evbuffer_add(src, "5x\r\nhello\r\n", 11);
	ck_assert_int_eq(ec_h1_body_move(&b, src, dst, 1024, &why), -1);
	ck_assert_ptr_nonnull(why);
	ck_assert(!b.done);
	evbuffer_free(src);
	evbuffer_free(dst);
}
END_TEST

START_TEST(test_body_close_delimited)
{
	struct evbuffer *src = evbuffer_new(), *dst = evbuffer_new();
	struct ec_h1_body b;
	const char *why = NULL;
	ec_h1_body_init(&b, EC_H1_BODY_CLOSE, 0);
	evbuffer_add(src, "abc", 3);
	ck_assert_int_eq(ec_h1_body_move(&b, src, dst, 2, &why), 2);
	ck_assert_int_eq(ec_h1_body_move(&b, src, dst, 2, &why), 1);
	ck_assert(!b.done); /* only the connection's end ends it */
	evbuffer_free(src);
	evbuffer_free(dst);
}
END_TEST

/* --- forward --------------------------------------------------------------- */

struct fwd_fixture {
	struct ec_config *conf;
	struct ec_site *site;
	struct ec_arena arena;
	struct ec_req req;
};

static struct fwd_fixture *fwd_setup(const char *origin_host, bool xff)
{
	struct fwd_fixture *f = calloc(1, sizeof(*f));
	char err[256];
	f->conf = ec_config_new();
	ck_assert(ec_config_parse_origin("http://127.0.0.1:9000", &f->conf->origins[0], err,
					 sizeof(err)));
	f->conf->norigins = 1;
	snprintf(f->conf->origin_host, sizeof(f->conf->origin_host), "%s", origin_host);
	f->conf->xff = xff;
	f->site = ec_site_build(f->conf, err, sizeof(err));
	ck_assert_msg(f->site != NULL, "%s", err);
	ec_arena_init(&f->arena);
	f->req.magic = EC_REQ_MAGIC;
	f->req.site = f->site;
	f->req.arena = &f->arena;
	f->req.proto = EC_PROTO_HTTP11;
	f->req.scheme = EC_STR("http");
	snprintf(f->req.client_ip, sizeof(f->req.client_ip), "192.0.2.7");
	return f;
}

static void fwd_teardown(struct fwd_fixture *f)
{
	ec_site_unref(&f->site);
	ec_config_unref(&f->conf);
	ec_arena_fini(&f->arena);
	free(f);
}

START_TEST(test_forward_request_head)
{
	struct fwd_fixture *f = fwd_setup("", true);
	struct ec_hdr h[] = {
		{EC_STR("Host"), EC_STR("www.example")},
		{EC_STR("Connection"), EC_STR("keep-alive, X-Secret")},
		{EC_STR("X-Secret"), EC_STR("hop")},
		{EC_STR("Keep-Alive"), EC_STR("timeout=5")},
		{EC_STR("TE"), EC_STR("trailers")},
		{EC_STR("Accept"), EC_STR("*/*")},
		{EC_STR("Via"), EC_STR("1.1 upstream")},
		{EC_STR("X-Forwarded-For"), EC_STR("198.51.100.1")},
		{EC_STR("X-Forwarded-Proto"), EC_STR("https")},
		{EC_STR("Expect"), EC_STR("100-continue")},
		{EC_STR("Content-Length"), EC_STR("5")},
		{EC_STR("Proxy-Authorization"), EC_STR("Basic x")},
		{EC_STR("If-None-Match"), EC_STR("\"a\"")},
		{EC_STR("Range"), EC_STR("bytes=0-1")},
	};
	f->req.method = EC_STR("POST");
	f->req.meth = EC_M_POST;
	f->req.path = EC_STR("/p?q=1");
	f->req.host = EC_STR("www.example");
	f->req.hdrs = h;
	f->req.nhdrs = EC_ARRAY_LEN(h);
	f->req.has_body = true;
	f->req.body_length_known = true;
	f->req.content_length = 5;
	struct evbuffer *out = evbuffer_new();
	size_t n = ec_forward_request_head(&f->req, &f->site->backends[0], NULL, 0, 0, out);
	char *s = drain_str(out);
	ck_assert_uint_eq(n, strlen(s));
	ck_assert_str_eq(s, "POST /p?q=1 HTTP/1.1\r\n"
			    "Host: www.example\r\n"
			    "Accept: */*\r\n"
			    "If-None-Match: \"a\"\r\n"
			    "Range: bytes=0-1\r\n"
			    "Via: 1.1 upstream, 1.1 edgecache\r\n"
			    "X-Forwarded-For: 198.51.100.1, 192.0.2.7\r\n"
			    "X-Forwarded-Proto: http\r\n"
			    "Content-Length: 5\r\n"
			    "\r\n");
	free(s);

	/* revalidation: the client's conditionals go, ours are added */
	struct ec_hdr extra[] = {{EC_STR("If-None-Match"), EC_STR("\"stored\"")}};
	ec_forward_request_head(&f->req, &f->site->backends[0], extra, 1, EC_FWD_SKIP_COND, out);
	s = drain_str(out);
	ck_assert_ptr_null(strstr(s, "\"a\""));
	ck_assert_ptr_nonnull(strstr(s, "If-None-Match: \"stored\"\r\n"));
	ck_assert_ptr_nonnull(strstr(s, "Range: bytes=0-1\r\n"));
	free(s);
	ec_forward_request_head(&f->req, &f->site->backends[0], NULL, 0, EC_FWD_SKIP_RANGE, out);
	s = drain_str(out);
	ck_assert_ptr_null(strstr(s, "Range:"));
	ck_assert_ptr_nonnull(strstr(s, "If-None-Match: \"a\"\r\n"));
	free(s);
	evbuffer_free(out);
	fwd_teardown(f);
}
END_TEST

START_TEST(test_forward_origin_host_chunked_no_xff)
{
	struct fwd_fixture *f = fwd_setup("origin.internal", false);
	struct ec_hdr h[] = {
		{EC_STR("Host"), EC_STR("www.example")},
		{EC_STR("Transfer-Encoding"), EC_STR("chunked")},
	};
	f->req.method = EC_STR("PUT");
	f->req.meth = EC_M_PUT;
	f->req.path = EC_STR("?only-query"); /* absolute-form "http://h?only-query" */
	f->req.host = EC_STR("www.example");
	f->req.proto = EC_PROTO_HTTP10;
	f->req.hdrs = h;
	f->req.nhdrs = 2;
	f->req.has_body = true;
	f->req.body_length_known = false;
	struct evbuffer *out = evbuffer_new();
	ec_forward_request_head(&f->req, &f->site->backends[0], NULL, 0, 0, out);
	char *s = drain_str(out);
	ck_assert_str_eq(s, "PUT /?only-query HTTP/1.1\r\n"
			    "Host: origin.internal\r\n"
			    "Via: 1.0 edgecache\r\n"
			    "Transfer-Encoding: chunked\r\n"
			    "\r\n");
	free(s);
	evbuffer_free(out);
	fwd_teardown(f);
}
END_TEST

START_TEST(test_forward_response_fields)
{
	struct fwd_fixture *f = fwd_setup("", true);
	struct ec_hdr h[] = {
		{EC_STR("Content-Type"), EC_STR("text/html")},
		{EC_STR("Connection"), EC_STR("close, X-Internal")},
		{EC_STR("X-Internal"), EC_STR("1")},
		{EC_STR("Transfer-Encoding"), EC_STR("chunked")},
		{EC_STR("Content-Length"), EC_STR("10")},
		{EC_STR("Via"), EC_STR("1.0 inner")},
		{EC_STR("Set-Cookie"), EC_STR("a=1")},
		{EC_STR("Set-Cookie"), EC_STR("b=2")},
		{EC_STR("Upgrade"), EC_STR("h2c")},
	};
	struct ec_h1_resp resp = {.minor = 1, .status = 200, .hdrs = h, .nhdrs = EC_ARRAY_LEN(h)};
	struct ec_hdr *out = NULL;
	int n = ec_forward_response_fields(&f->req, &resp, &out);
	ck_assert_int_eq(n, 4);
	ck_assert(ec_str_eq(out[0].name, EC_STR("Content-Type")));
	ck_assert(ec_str_eq(out[1].value, EC_STR("a=1")));
	ck_assert(ec_str_eq(out[2].value, EC_STR("b=2")));
	ck_assert(ec_str_eq(out[3].name, EC_STR("Via")));
	ck_assert(ec_str_eq(out[3].value, EC_STR("1.0 inner, 1.1 edgecache")));
	fwd_teardown(f);
}
END_TEST

/* --- netio ------------------------------------------------------------------ */

START_TEST(test_netio_read)
{
	int sv[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	struct evbuffer *b = evbuffer_new();
	ck_assert_int_eq(ec_netio_read(b, sv[0], 100), -1); /* nothing yet: EAGAIN */
	char big[5000];
	memset(big, 'z', sizeof(big));
	ck_assert_int_eq(write(sv[1], big, sizeof(big)), (int)sizeof(big));
	ck_assert_int_eq(ec_netio_read(b, sv[0], 1000), 1000); /* never more than asked */
	ck_assert_int_eq(ec_netio_read(b, sv[0], 65536), 4000);
	ck_assert_uint_eq(evbuffer_get_length(b), 5000);
	close(sv[1]);
	ck_assert_int_eq(ec_netio_read(b, sv[0], 100), 0); /* end of stream */
	close(sv[0]);
	evbuffer_free(b);
}
END_TEST

/* --- access log -------------------------------------------------------------- */

START_TEST(test_alog_line)
{
	ck_assert_int_eq(ec_alog_open("/dev/null"), 0);
	struct ec_alog_buf *b = calloc(1, sizeof(*b));
	struct ec_alog_rec r = {
		.t_start = 1764034197.123456,
		.duration = 0.0004121,
		.client = EC_STR("127.0.0.1"),
		.method = EC_STR("GET"),
		.target = EC_STR("/a\"b\n"), /* quote and newline are neutralised */
		.minor = 1,
		.status = 200,
		.bytes = 1024,
		.backend = EC_STR("127.0.0.1:9000"),
		.origin_time = 0.000301,
	};
	ec_alog_write(b, &r);
	b->data[b->len] = '\0';
	ck_assert_str_eq(b->data, "2025-11-25T01:29:57.123Z 127.0.0.1 \"GET /a?b? HTTP/1.1\" 200 "
				  "1024 0.000412 - 127.0.0.1:9000 0.000301 -\n");
	b->len = 0;
	r.origin_time = -1;
	r.backend = EC_STR_NULL;
	r.reason = "bad-request";
	r.status = 400;
	r.minor = 0;
	ec_alog_write(b, &r);
	b->data[b->len] = '\0';
	ck_assert_ptr_nonnull(strstr(b->data, "HTTP/1.0\" 400 1024 0.000412 - - - bad-request\n"));
	free(b);
	ec_alog_open("");
}
END_TEST

static Suite *core_suite(void)
{
	Suite *s = suite_create("core");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_arena_inline_then_heap);
	tcase_add_test(tc, test_body_length);
	tcase_add_test(tc, test_body_chunked_roundtrip);
	tcase_add_test(tc, test_body_chunked_error);
	tcase_add_test(tc, test_body_close_delimited);
	tcase_add_test(tc, test_forward_request_head);
	tcase_add_test(tc, test_forward_origin_host_chunked_no_xff);
	tcase_add_test(tc, test_forward_response_fields);
	tcase_add_test(tc, test_netio_read);
	tcase_add_test(tc, test_alog_line);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(core_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
