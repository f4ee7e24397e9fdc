/*
 * check_cache_status.c — Check suite for policy/cache_status.c: the
 * Cache-Status field (RFC 9211) and its vocabulary table.
 */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "policy/cache_status.h"

struct cs_case {
	const char *name;
	const char *cache;
	struct ec_cache_status cs;
	const char *want;
};

#define S(lit)                                                                                     \
	{                                                                                          \
		lit, sizeof(lit) - 1                                                               \
	}

static const struct cs_case cs_cases[] = {
        {"RFC 9211 §3 minimal hit", "ExampleCache", {.hit = true}, "ExampleCache; hit"},
        {"RFC 9211 §3 minimal miss",
         "ExampleCache",
         {.fwd = EC_CS_FWD_URI_MISS},
         "ExampleCache; fwd=uri-miss"},
        {"RFC 9211 §3 miss that validated",
         "ExampleCache",
         {.fwd = EC_CS_FWD_STALE, .fwd_status = 304},
         "ExampleCache; fwd=stale; fwd-status=304"},
        {"RFC 9211 §3 collapsed miss",
         "ExampleCache",
         {.fwd = EC_CS_FWD_URI_MISS, .collapsed = true},
         "ExampleCache; fwd=uri-miss; collapsed"},
        {"RFC 9211 §3 two layers: origin cache",
         "OriginCache",
         {.hit = true, .has_ttl = true, .ttl = 1100},
         "OriginCache; hit; ttl=1100"},
        {"RFC 9211 §3 two layers: a cache name that is not a token",
         "CDN Company Here",
         {.hit = true, .has_ttl = true, .ttl = 545},
         "\"CDN Company Here\"; hit; ttl=545"},
        {"RFC 9211 §3 three layers: reverse proxy",
         "ReverseProxyCache",
         {.hit = true},
         "ReverseProxyCache; hit"},
        {"RFC 9211 §3 three layers: forward proxy",
         "ForwardProxyCache",
         {.fwd = EC_CS_FWD_URI_MISS, .collapsed = true, .stored = true},
         "ForwardProxyCache; fwd=uri-miss; collapsed; stored"},
        {"RFC 9211 §3 three layers: browser",
         "BrowserCache",
         {.fwd = EC_CS_FWD_URI_MISS},
         "BrowserCache; fwd=uri-miss"},
        {"RFC 9211 §2.8 detail token",
         "ExampleCache",
         {.hit = true, .detail = S("MEMORY")},
         "ExampleCache; hit; detail=MEMORY"},
        {"DESIGN.md hit with ttl",
         "edgecache",
         {.hit = true, .has_ttl = true, .ttl = 57},
         "edgecache; hit; ttl=57"},
        {"DESIGN.md stored miss",
         "edgecache",
         {.fwd = EC_CS_FWD_MISS, .stored = true},
         "edgecache; fwd=miss; stored"},
        {"DESIGN.md revalidated",
         "edgecache",
         {.fwd = EC_CS_FWD_STALE, .fwd_status = 304},
         "edgecache; fwd=stale; fwd-status=304"},
        {"DESIGN.md collapsed",
         "edgecache",
         {.fwd = EC_CS_FWD_URI_MISS, .collapsed = true},
         "edgecache; fwd=uri-miss; collapsed"},
        {"RFC 9211 §2.8 bypass with a detail",
         "edgecache",
         {.fwd = EC_CS_FWD_BYPASS, .detail = S("no-store")},
         "edgecache; fwd=bypass; detail=no-store"},
        {"RFC 9211 §2.8 detail that is not a token",
         "edgecache",
         {.fwd = EC_CS_FWD_MISS, .detail = S("origin said \"no\"")},
         "edgecache; fwd=miss; detail=\"origin said \\\"no\\\"\""},
        {"RFC 9211 §2.4 negative ttl (stale)",
         "edgecache",
         {.hit = true, .has_ttl = true, .ttl = -12},
         "edgecache; hit; ttl=-12"},
        {"RFC 9211 §2.4 ttl=0",
         "edgecache",
         {.fwd = EC_CS_FWD_STALE, .has_ttl = true, .ttl = 0},
         "edgecache; fwd=stale; ttl=0"},
        {"RFC 9211 §2.4 ttl beyond sf-integer saturates",
         "edgecache",
         {.hit = true, .has_ttl = true, .ttl = INT64_MAX},
         "edgecache; hit; ttl=999999999999999"},
        {"RFC 9211 §2.7 key is an sf-string",
         "edgecache",
         {.fwd = EC_CS_FWD_VARY_MISS, .key = S("https://example.com/a?b")},
         "edgecache; fwd=vary-miss; key=\"https://example.com/a?b\""},
        {"RFC 9211 §2.2 every parameter, in order",
         "edgecache",
         {.fwd = EC_CS_FWD_STALE,
          .fwd_status = 200,
          .has_ttl = true,
          .ttl = 60,
          .stored = true,
          .collapsed = true,
          .key = S("k"),
          .detail = S("x")},
         "edgecache; fwd=stale; fwd-status=200; ttl=60; collapsed; stored; key=\"k\"; detail=x"},
        {"RFC 9211 §2.3/2.5/2.6 fwd-status, stored, collapsed need fwd",
         "edgecache",
         {.hit = true, .fwd_status = 200, .stored = true, .collapsed = true},
         "edgecache; hit"},
        {"RFC 9211 §2.2 fwd=request",
         "edgecache",
         {.fwd = EC_CS_FWD_REQUEST},
         "edgecache; fwd=request"},
        {"RFC 9211 §2.2 fwd=method",
         "edgecache",
         {.fwd = EC_CS_FWD_METHOD},
         "edgecache; fwd=method"},
        {"RFC 9211 §2.2 fwd=partial",
         "edgecache",
         {.fwd = EC_CS_FWD_PARTIAL},
         "edgecache; fwd=partial"},
        {"RFC 9211 §2.2 fwd NONE omitted", "edgecache", {.fwd = EC_CS_FWD_NONE}, "edgecache"},
};

START_TEST(test_format)
{
	const struct cs_case *c = &cs_cases[_i];
	char buf[256];
	size_t n = ec_cs_format(&c->cs, ec_str_cstr(c->cache), buf, sizeof(buf));
	ck_assert_msg(strcmp(buf, c->want) == 0, "%s: '%s', expected '%s'", c->name, buf, c->want);
	ck_assert_uint_eq(n, strlen(c->want));
	/* the length alone, and every truncation, agree */
	ck_assert_uint_eq(ec_cs_format(&c->cs, ec_str_cstr(c->cache), NULL, 0), n);
	for (size_t cap = 1; cap <= n; cap++) {
		char small[256];
		memset(small, 'X', sizeof(small));
		ck_assert_uint_eq(ec_cs_format(&c->cs, ec_str_cstr(c->cache), small, cap), n);
		ck_assert_uint_eq(strlen(small), cap - 1);
		ck_assert_int_eq(memcmp(small, c->want, cap - 1), 0);
	}
}
END_TEST

START_TEST(test_vocabulary)
{
	/* RFC 9211 §2.2: the registered fwd values */
	ck_assert_str_eq(ec_cs_fwd_str(EC_CS_FWD_BYPASS), "bypass");
	ck_assert_str_eq(ec_cs_fwd_str(EC_CS_FWD_METHOD), "method");
	ck_assert_str_eq(ec_cs_fwd_str(EC_CS_FWD_URI_MISS), "uri-miss");
	ck_assert_str_eq(ec_cs_fwd_str(EC_CS_FWD_VARY_MISS), "vary-miss");
	ck_assert_str_eq(ec_cs_fwd_str(EC_CS_FWD_MISS), "miss");
	ck_assert_str_eq(ec_cs_fwd_str(EC_CS_FWD_REQUEST), "request");
	ck_assert_str_eq(ec_cs_fwd_str(EC_CS_FWD_STALE), "stale");
	ck_assert_str_eq(ec_cs_fwd_str(EC_CS_FWD_PARTIAL), "partial");
	ck_assert_ptr_null(ec_cs_fwd_str(EC_CS_FWD_NONE));
	ck_assert_ptr_null(ec_cs_fwd_str(EC_CS_FWD_INVALID));
	ck_assert_ptr_null(ec_cs_fwd_str((enum ec_cs_fwd)1000));
	ck_assert_str_eq(ec_cs_detail_str(EC_CS_DETAIL_NONE), "");
	ck_assert_str_eq(ec_cs_detail_str(EC_CS_DETAIL_NO_STORE), "no-store");
	ck_assert_str_eq(ec_cs_detail_str(EC_CS_DETAIL_AUTHORIZATION), "authorization");
	ck_assert_str_eq(ec_cs_detail_str(EC_CS_DETAIL_STALE_WHILE_REVALIDATE),
	                 "stale-while-revalidate");
	ck_assert_ptr_null(ec_cs_detail_str(EC_CS_DETAIL_INVALID));
	ck_assert_ptr_null(ec_cs_detail_str(EC_CS_DETAIL__COUNT));
}
END_TEST

START_TEST(test_details_are_tokens)
{
	/* every detail is written bare (an sf-token) and is unique */
	for (int d = EC_CS_DETAIL_NONE + 1; d < EC_CS_DETAIL__COUNT; d++) {
		const char *s = ec_cs_detail_str((enum ec_cs_detail)d);
		struct ec_cache_status cs = {.fwd = EC_CS_FWD_BYPASS, .detail = ec_str_cstr(s)};
		char buf[128], want[128];
		ec_cs_format(&cs, EC_STR("c"), buf, sizeof(buf));
		snprintf(want, sizeof(want), "c; fwd=bypass; detail=%s", s);
		ck_assert_str_eq(buf, want);
		for (int e = EC_CS_DETAIL_NONE; e < d; e++)
			ck_assert_str_ne(s, ec_cs_detail_str((enum ec_cs_detail)e));
	}
}
END_TEST

static Suite *cs_suite(void)
{
	Suite *s = suite_create("policy/cache_status");
	TCase *tc = tcase_create("rfc9211");
	tcase_add_loop_test(tc, test_format, 0, EC_ARRAY_LEN(cs_cases));
	tcase_add_test(tc, test_vocabulary);
	tcase_add_test(tc, test_details_are_tokens);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(cs_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
