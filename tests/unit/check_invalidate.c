/*
 * check_invalidate.c — Check suite for policy/invalidate.c: invalidation
 * after unsafe requests (RFC 9111 §4.4), with Location / Content-Location
 * resolved per RFC 3986 §5.2 (the §5.4 examples).
 */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "policy/invalidate.h"

static size_t H(const char *text, struct ec_hdr *h, size_t cap)
{
	size_t n = 0;
	const char *p = text;
	while (*p) {
		const char *eol = strchr(p, '\n');
		if (eol == NULL)
			eol = p + strlen(p);
		const char *colon = memchr(p, ':', (size_t)(eol - p));
		ck_assert_ptr_nonnull(colon);
		ck_assert_uint_lt(n, cap);
		h[n].name = ec_str_make(p, (size_t)(colon - p));
		h[n].value = ec_str_trim(ec_str_make(colon + 1, (size_t)(eol - colon - 1)));
		n++;
		p = *eol ? eol + 1 : eol;
	}
	return n;
}

static void render(const struct ec_str *s, int n, char *buf, size_t cap)
{
	size_t len = 0;
	buf[0] = '\0';
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s%.*s", i ? "|" : "", (int)s[i].len,
		                        s[i].p);
}

struct inval_case {
	const char *name;
	enum ec_method method;
	int status;
	const char *resp;
	const char *want; /* targets joined by "|" */
};

static const struct ec_inval_base base = {EC_STR("http"), EC_STR("example.com"),
                                          EC_STR("/a/b/c?x=1")};

static const struct inval_case inval_cases[] = {
        {"§4.4 POST 200 invalidates the target URI", EC_M_POST, 200, "", "/a/b/c?x=1"},
        {"§4.4 PUT 201 with a same-origin Location", EC_M_PUT, 201,
         "Location: http://example.com/new", "/a/b/c?x=1|/new"},
        {"§4.4 DELETE 204", EC_M_DELETE, 204, "", "/a/b/c?x=1"},
        {"§4.4 PATCH", EC_M_PATCH, 200, "", "/a/b/c?x=1"},
        {"§4.4 a method whose safety is unknown", EC_M_OTHER, 200, "", "/a/b/c?x=1"},
        {"§4.4 3xx is a non-error status", EC_M_POST, 303, "Location: /done", "/a/b/c?x=1|/done"},
        {"§4.4 GET is safe: nothing", EC_M_GET, 200, "Location: /x", ""},
        {"§4.4 HEAD is safe", EC_M_HEAD, 200, "", ""},
        {"§4.4 OPTIONS is safe", EC_M_OPTIONS, 200, "", ""},
        {"§4.4 TRACE is safe", EC_M_TRACE, 200, "", ""},
        {"§4.4 invalid method", EC_M_INVALID, 200, "", ""},
        {"§4.4 4xx is an error", EC_M_POST, 404, "", ""},
        {"§4.4 5xx is an error", EC_M_POST, 500, "", ""},
        {"§4.4 1xx is not final", EC_M_POST, 100, "", ""},
        {"§4.4 Location on another host is not invalidated", EC_M_POST, 201,
         "Location: http://evil.example/x", "/a/b/c?x=1"},
        {"§4.4 another scheme is another origin", EC_M_POST, 201, "Location: https://example.com/x",
         "/a/b/c?x=1"},
        {"RFC 9110 §4.3.1 the default port is the same origin", EC_M_POST, 201,
         "Location: http://example.com:80/x", "/a/b/c?x=1|/x"},
        {"RFC 9110 §4.3.1 another port is another origin", EC_M_POST, 201,
         "Location: http://example.com:8080/x", "/a/b/c?x=1"},
        {"RFC 9110 §4.3.1 scheme and host are case-insensitive", EC_M_POST, 201,
         "Location: HTTP://EXAMPLE.COM/x", "/a/b/c?x=1|/x"},
        {"RFC 3986 §3.2 userinfo is not part of the origin", EC_M_POST, 201,
         "Location: http://user:pw@example.com/x", "/a/b/c?x=1|/x"},
        {"§4.4 Content-Location too", EC_M_PUT, 200, "Location: /loc\nContent-Location: /cl",
         "/a/b/c?x=1|/loc|/cl"},
        {"§4.4 Content-Location equal to Location: once", EC_M_PUT, 200,
         "Location: /same\nContent-Location: http://example.com/same", "/a/b/c?x=1|/same"},
        {"§4.4 Location equal to the target: once", EC_M_PUT, 200, "Location: /a/b/c?x=1",
         "/a/b/c?x=1"},
        {"RFC 3986 §5.2 fragment dropped", EC_M_POST, 201, "Location: /x#frag", "/a/b/c?x=1|/x"},
        {"RFC 3986 §4.2 network-path reference, same host", EC_M_POST, 201,
         "Location: //example.com/n", "/a/b/c?x=1|/n"},
        {"RFC 3986 §4.2 network-path reference, other host", EC_M_POST, 201,
         "Location: //other.example/n", "/a/b/c?x=1"},
        {"RFC 9110 §4.2.3 empty path is /", EC_M_POST, 201, "Location: http://example.com",
         "/a/b/c?x=1|/"},
        {"RFC 3986 §3.1 a URI with no authority has no origin", EC_M_POST, 201,
         "Location: mailto:x@example.com", "/a/b/c?x=1"},
        {"§4.4 two Location lines: ignored", EC_M_POST, 201, "Location: /x\nLocation: /y",
         "/a/b/c?x=1"},
        {"§4.4 a Location with spaces is unusable", EC_M_POST, 201, "Location: /a b", "/a/b/c?x=1"},
        {"RFC 9110 §4.3.1 IPv6 literal with port", EC_M_POST, 201, "Location: http://[::1]:80/v6",
         "/a/b/c?x=1"},
};

START_TEST(test_targets)
{
	const struct inval_case *c = &inval_cases[_i];
	struct ec_hdr h[4];
	size_t n = H(c->resp, h, 4);
	char buf[512], got[512];
	struct ec_str out[EC_INVAL_MAX];
	int k = ec_inval_targets(c->method, c->status, &base, h, n, buf, sizeof(buf), out);
	ck_assert_int_ge(k, 0);
	render(out, k, got, sizeof(got));
	ck_assert_msg(strcmp(got, c->want) == 0, "%s: '%s', expected '%s'", c->name, got, c->want);
}
END_TEST

/* RFC 3986 §5.4: base URI "http://a/b/c/d;p?q" */
static const struct {
	const char *ref, *want; /* want NULL: not invalidated (duplicate or other origin) */
} rfc3986[] = {
        /* §5.4.1 normal examples */
        {"g", "/b/c/g"},
        {"./g", "/b/c/g"},
        {"g/", "/b/c/g/"},
        {"/g", "/g"},
        {"//g", NULL}, /* http://g: another host */
        {"?y", "/b/c/d;p?y"},
        {"g?y", "/b/c/g?y"},
        {"#s", NULL}, /* the target itself */
        {"g#s", "/b/c/g"},
        {"g?y#s", "/b/c/g?y"},
        {";x", "/b/c/;x"},
        {"g;x", "/b/c/g;x"},
        {"g;x?y#s", "/b/c/g;x?y"},
        {"", NULL},
        {".", "/b/c/"},
        {"./", "/b/c/"},
        {"..", "/b/"},
        {"../", "/b/"},
        {"../g", "/b/g"},
        {"../..", "/"},
        {"../../", "/"},
        {"../../g", "/g"},
        /* §5.4.2 abnormal examples */
        {"../../../g", "/g"},
        {"../../../../g", "/g"},
        {"/./g", "/g"},
        {"/../g", "/g"},
        {"g.", "/b/c/g."},
        {".g", "/b/c/.g"},
        {"g..", "/b/c/g.."},
        {"..g", "/b/c/..g"},
        {"./../g", "/b/g"},
        {"./g/.", "/b/c/g/"},
        {"g/./h", "/b/c/g/h"},
        {"g/../h", "/b/c/h"},
        {"g;x=1/./y", "/b/c/g;x=1/y"},
        {"g;x=1/../y", "/b/c/y"},
        {"g?y/./x", "/b/c/g?y/./x"},
        {"g?y/../x", "/b/c/g?y/../x"},
        {"g#s/./x", "/b/c/g"},
        {"g#s/../x", "/b/c/g"},
        {"http:g", NULL}, /* strict parsers: a scheme without authority */
        {"http://a/b/c/./../g", "/b/g"},
};

START_TEST(test_rfc3986_examples)
{
	static const struct ec_inval_base b = {EC_STR("http"), EC_STR("a"), EC_STR("/b/c/d;p?q")};
	char field[128];
	snprintf(field, sizeof(field), "Location: %s", rfc3986[_i].ref);
	struct ec_hdr h[1];
	size_t n = H(field, h, 1);
	char buf[512];
	struct ec_str out[EC_INVAL_MAX];
	int k = ec_inval_targets(EC_M_POST, 200, &b, h, n, buf, sizeof(buf), out);
	ck_assert_int_ge(k, 1);
	ck_assert(ec_str_eq(out[0], b.target));
	if (rfc3986[_i].want == NULL) {
		ck_assert_msg(k == 1, "%s: resolved to '%.*s'", rfc3986[_i].ref, (int)out[1].len,
		              out[1].p);
	} else {
		ck_assert_msg(k == 2, "%s: not resolved", rfc3986[_i].ref);
		ck_assert_msg(ec_str_eq(out[1], ec_str_cstr(rfc3986[_i].want)),
		              "%s: '%.*s', expected '%s'", rfc3986[_i].ref, (int)out[1].len,
		              out[1].p, rfc3986[_i].want);
	}
}
END_TEST

START_TEST(test_https_default_port)
{
	static const struct ec_inval_base b = {EC_STR("https"), EC_STR("Example.com:443"),
	                                       EC_STR("/")};
	struct ec_hdr h[2];
	size_t n =
	        H("Location: https://example.com/x\nContent-Location: http://example.com/y", h, 2);
	char buf[256], got[256];
	struct ec_str out[EC_INVAL_MAX];
	int k = ec_inval_targets(EC_M_POST, 200, &b, h, n, buf, sizeof(buf), out);
	render(out, k, got, sizeof(got));
	ck_assert_str_eq(got, "/|/x");
}
END_TEST

START_TEST(test_buffer_too_small)
{
	struct ec_hdr h[2];
	size_t n = H("Location: /a/very/long/location", h, 2);
	char buf[8];
	struct ec_str out[EC_INVAL_MAX];
	ck_assert_int_eq(ec_inval_targets(EC_M_POST, 200, &base, h, n, buf, sizeof(buf), out), -1);
	/* the documented bound is enough */
	size_t need = 2 * (base.target.len + h[0].value.len) + 2;
	char big[128];
	ck_assert_uint_le(need, sizeof(big));
	ck_assert_int_eq(ec_inval_targets(EC_M_POST, 200, &base, h, n, big, need, out), 2);
	ck_assert(ec_str_eq(out[1], EC_STR("/a/very/long/location")));
}
END_TEST

static Suite *inval_suite(void)
{
	Suite *s = suite_create("policy/invalidate");
	TCase *tc = tcase_create("rfc9111-4.4");
	tcase_add_loop_test(tc, test_targets, 0, EC_ARRAY_LEN(inval_cases));
	tcase_add_loop_test(tc, test_rfc3986_examples, 0, EC_ARRAY_LEN(rfc3986));
	tcase_add_test(tc, test_https_default_port);
	tcase_add_test(tc, test_buffer_too_small);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(inval_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
