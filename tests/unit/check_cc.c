/*
 * check_cc.c — Check suite for policy/cc.c: Cache-Control parsing (RFC
 * 9111 §5.2) and targeted cache-control (RFC 9213). Each table row names
 * the rule it checks.
 */
/* Table rows leave trailing columns to their zero default. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "policy/cc.h"

/* "Name: value\n..." → header views into the literal. */
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

#define B(d) EC_CC_BIT(EC_CC_##d)
#define Q    EC_CC_REQUEST
#define R    EC_CC_RESPONSE
#define ANY  EC_CC_STALE_ANY
#define MAXD EC_DELTA_MAX

struct sv {
	enum ec_cc_dir d;
	int64_t v;
};

struct cc_case {
	const char *name;
	enum ec_cc_side side;
	enum ec_cc_syntax syntax; /* 0: Cache-Control syntax */
	const char *hdrs; /* field name must be Cache-Control (CC) or CDN-Cache-Control (SF) */
	enum ec_cc_rc rc;
	uint32_t present, invalid;
	struct sv secs[4]; /* expected delta-seconds; the others must read -1 */
};

static const struct cc_case cc_cases[] = {
        {"§5.2.2.1 max-age",
         R,
         0,
         "Cache-Control: max-age=60",
         EC_CC_OK,
         B(MAX_AGE),
         0,
         {{EC_CC_MAX_AGE, 60}}},
        {"§5.2 directive names are case-insensitive",
         R,
         0,
         "Cache-Control: MAX-AGE=60, No-Store",
         EC_CC_OK,
         B(MAX_AGE) | B(NO_STORE),
         0,
         {{EC_CC_MAX_AGE, 60}}},
        {"§5.2 quoted-string delta-seconds accepted",
         R,
         0,
         "Cache-Control: max-age=\"60\"",
         EC_CC_OK,
         B(MAX_AGE),
         0,
         {{EC_CC_MAX_AGE, 60}}},
        {"§5.2 field lines combine",
         R,
         0,
         "Cache-Control: public\ncache-control: max-age=30",
         EC_CC_OK,
         B(PUBLIC) | B(MAX_AGE),
         0,
         {{EC_CC_MAX_AGE, 30}}},
        {"§1.2.2 overflow becomes 2^31",
         R,
         0,
         "Cache-Control: max-age=99999999999999999999",
         EC_CC_OK,
         B(MAX_AGE),
         0,
         {{EC_CC_MAX_AGE, MAXD}}},
        {"§1.2.2 2^31 exactly",
         R,
         0,
         "Cache-Control: max-age=2147483648",
         EC_CC_OK,
         B(MAX_AGE),
         0,
         {{EC_CC_MAX_AGE, 2147483648LL}}},
        {"§1.2.2 2^31-1 kept",
         R,
         0,
         "Cache-Control: max-age=2147483647",
         EC_CC_OK,
         B(MAX_AGE),
         0,
         {{EC_CC_MAX_AGE, 2147483647LL}}},
        {"§1.2.2 2^32 saturates",
         R,
         0,
         "Cache-Control: s-maxage=4294967296",
         EC_CC_OK,
         B(S_MAXAGE),
         0,
         {{EC_CC_S_MAXAGE, MAXD}}},
        {"§1.2.2 leading zeros",
         R,
         0,
         "Cache-Control: max-age=007",
         EC_CC_OK,
         B(MAX_AGE),
         0,
         {{EC_CC_MAX_AGE, 7}}},
        {"§5.2.2.1 max-age=0",
         R,
         0,
         "Cache-Control: max-age=0",
         EC_CC_OK,
         B(MAX_AGE),
         0,
         {{EC_CC_MAX_AGE, 0}}},
        {"§4.2.1 repeated with the same value is fine",
         R,
         0,
         "Cache-Control: max-age=60, max-age=60",
         EC_CC_OK,
         B(MAX_AGE),
         0,
         {{EC_CC_MAX_AGE, 60}}},
        {"§4.2.1 conflicting duplicates are invalid", R, 0,
         "Cache-Control: max-age=60\nCache-Control: max-age=120", EC_CC_OK, B(MAX_AGE), B(MAX_AGE)},
        {"§4.2.1 conflict after agreement", R, 0, "Cache-Control: max-age=60,max-age=60,max-age=61",
         EC_CC_OK, B(MAX_AGE), B(MAX_AGE)},
        {"§4.2.1 non-integer max-age is invalid", R, 0, "Cache-Control: max-age=abc", EC_CC_OK,
         B(MAX_AGE), B(MAX_AGE)},
        {"§4.2.1 negative max-age is invalid", R, 0, "Cache-Control: max-age=-1", EC_CC_OK,
         B(MAX_AGE), B(MAX_AGE)},
        {"§4.2.1 decimal max-age is invalid", R, 0, "Cache-Control: max-age=1.5", EC_CC_OK,
         B(MAX_AGE), B(MAX_AGE)},
        {"§4.2.1 max-age without argument is invalid", R, 0, "Cache-Control: max-age", EC_CC_OK,
         B(MAX_AGE), B(MAX_AGE)},
        {"§4.2.1 max-age with empty argument is invalid", R, 0, "Cache-Control: max-age=", EC_CC_OK,
         B(MAX_AGE), B(MAX_AGE)},
        {"§4.2.1 max-age with empty quoted argument is invalid", R, 0,
         "Cache-Control: max-age=\"\"", EC_CC_OK, B(MAX_AGE), B(MAX_AGE)},
        {"§4.2.1 max-age with two numbers is invalid", R, 0, "Cache-Control: max-age=5 6", EC_CC_OK,
         B(MAX_AGE), B(MAX_AGE)},
        {"§4.2.1 unterminated quote is invalid", R, 0, "Cache-Control: max-age=\"5", EC_CC_OK,
         B(MAX_AGE), B(MAX_AGE)},
        {"§4.2.1 escaped digits are invalid", R, 0, "Cache-Control: max-age=\"6\\0\"", EC_CC_OK,
         B(MAX_AGE), B(MAX_AGE)},
        {"§5.2 OWS around = tolerated",
         R,
         0,
         "Cache-Control: max-age = 60",
         EC_CC_OK,
         B(MAX_AGE),
         0,
         {{EC_CC_MAX_AGE, 60}}},
        {"§5.2.3 unknown directives are ignored",
         R,
         0,
         "Cache-Control: foo, bar=baz, ext=\"a, b\", max-age=5",
         EC_CC_OK,
         B(MAX_AGE),
         0,
         {{EC_CC_MAX_AGE, 5}}},
        {"§5.2.3 example: private, community=\"UCI\"", R, 0,
         "Cache-Control: private, community=\"UCI\"", EC_CC_OK, B(PRIVATE), 0},
        {"§5.2.3 a quoted name is not a directive", R, 0, "Cache-Control: \"max-age\"=5", EC_CC_OK,
         0, 0},
        {"§5.2.2.10 s-maxage with max-age",
         R,
         0,
         "Cache-Control: s-maxage=600, max-age=60",
         EC_CC_OK,
         B(S_MAXAGE) | B(MAX_AGE),
         0,
         {{EC_CC_S_MAXAGE, 600}, {EC_CC_MAX_AGE, 60}}},
        {"§5.2.2.4 unqualified no-cache", R, 0, "Cache-Control: no-cache", EC_CC_OK, B(NO_CACHE),
         0},
        {"§5.2.2.4 empty no-cache list reads unqualified", R, 0, "Cache-Control: no-cache=\"\"",
         EC_CC_OK, B(NO_CACHE), B(NO_CACHE)},
        {"§5.2.2.4 escaped no-cache list reads unqualified", R, 0,
         "Cache-Control: no-cache=\"a\\\"b\"", EC_CC_OK, B(NO_CACHE), B(NO_CACHE)},
        {"§5.2.2.5 no-store with an argument still counts", R, 0, "Cache-Control: no-store=1",
         EC_CC_OK, B(NO_STORE), B(NO_STORE)},
        {"§5.2.2.2 must-revalidate with an argument still counts", R, 0,
         "Cache-Control: must-revalidate=\"x\"", EC_CC_OK, B(MUST_REVALIDATE), B(MUST_REVALIDATE)},
        {"§5.2.2.9 public with an argument is dropped", R, 0, "Cache-Control: public=1", EC_CC_OK,
         0, B(PUBLIC)},
        {"§5.2.2.3 must-understand with an argument is dropped", R, 0,
         "Cache-Control: must-understand=1, no-store", EC_CC_OK, B(NO_STORE), B(MUST_UNDERSTAND)},
        {"§5.2.2.3 must-understand, no-store", R, 0, "Cache-Control: must-understand, no-store",
         EC_CC_OK, B(MUST_UNDERSTAND) | B(NO_STORE), 0},
        {"§5.2.2.6/.8 flags", R, 0,
         "Cache-Control: no-transform, proxy-revalidate, must-revalidate", EC_CC_OK,
         B(NO_TRANSFORM) | B(PROXY_REVALIDATE) | B(MUST_REVALIDATE), 0},
        {"§5.2.1 request-only directives ignored in a response", R, 0,
         "Cache-Control: max-stale=10, min-fresh=5, only-if-cached", EC_CC_OK, 0, 0},
        {"§5.2.1.2 max-stale without a value: any staleness",
         Q,
         0,
         "Cache-Control: max-stale",
         EC_CC_OK,
         B(MAX_STALE),
         0,
         {{EC_CC_MAX_STALE, ANY}}},
        {"§5.2.1.2 max-stale=30",
         Q,
         0,
         "Cache-Control: max-stale=30",
         EC_CC_OK,
         B(MAX_STALE),
         0,
         {{EC_CC_MAX_STALE, 30}}},
        {"§5.2.1.2 max-stale with and without value conflict", Q, 0,
         "Cache-Control: max-stale, max-stale=5", EC_CC_OK, B(MAX_STALE), B(MAX_STALE)},
        {"§5.2.1.2 max-stale=abc invalid", Q, 0, "Cache-Control: max-stale=abc", EC_CC_OK,
         B(MAX_STALE), B(MAX_STALE)},
        {"§5.2.1.3 min-fresh=20",
         Q,
         0,
         "Cache-Control: min-fresh=20",
         EC_CC_OK,
         B(MIN_FRESH),
         0,
         {{EC_CC_MIN_FRESH, 20}}},
        {"§5.2.1.1 request max-age=0",
         Q,
         0,
         "Cache-Control: max-age=0",
         EC_CC_OK,
         B(MAX_AGE),
         0,
         {{EC_CC_MAX_AGE, 0}}},
        {"§5.2.1.4/.5/.7 request flags", Q, 0, "Cache-Control: only-if-cached, no-store, no-cache",
         EC_CC_OK, B(ONLY_IF_CACHED) | B(NO_STORE) | B(NO_CACHE), 0},
        {"§5.2.1.6 request no-transform", Q, 0, "Cache-Control: no-transform", EC_CC_OK,
         B(NO_TRANSFORM), 0},
        {"§5.2.2 response-only directives ignored in a request", Q, 0,
         "Cache-Control: s-maxage=5, public, private, must-revalidate, immutable", EC_CC_OK, 0, 0},
        {"§5.2.1.4 request no-cache takes no argument", Q, 0, "Cache-Control: no-cache=\"x\"",
         EC_CC_OK, B(NO_CACHE), 0},
        {"RFC 5861 §3 example: stale-while-revalidate",
         R,
         0,
         "Cache-Control: max-age=600, stale-while-revalidate=30",
         EC_CC_OK,
         B(MAX_AGE) | B(STALE_WHILE_REVALIDATE),
         0,
         {{EC_CC_MAX_AGE, 600}, {EC_CC_STALE_WHILE_REVALIDATE, 30}}},
        {"RFC 5861 §4 example: stale-if-error",
         R,
         0,
         "Cache-Control: max-age=600, stale-if-error=1200",
         EC_CC_OK,
         B(MAX_AGE) | B(STALE_IF_ERROR),
         0,
         {{EC_CC_MAX_AGE, 600}, {EC_CC_STALE_IF_ERROR, 1200}}},
        {"RFC 5861 §4 stale-if-error in a request",
         Q,
         0,
         "Cache-Control: stale-if-error=300",
         EC_CC_OK,
         B(STALE_IF_ERROR),
         0,
         {{EC_CC_STALE_IF_ERROR, 300}}},
        {"RFC 5861 §3 stale-while-revalidate only in responses", Q, 0,
         "Cache-Control: stale-while-revalidate=30", EC_CC_OK, 0, 0},
        {"RFC 5861 invalid stale-while-revalidate", R, 0,
         "Cache-Control: stale-while-revalidate=soon", EC_CC_OK, B(STALE_WHILE_REVALIDATE),
         B(STALE_WHILE_REVALIDATE)},
        {"RFC 8246 §2 example: immutable",
         R,
         0,
         "Cache-Control: max-age=31536000, immutable",
         EC_CC_OK,
         B(MAX_AGE) | B(IMMUTABLE),
         0,
         {{EC_CC_MAX_AGE, 31536000}}},
        {"§5.2 empty field", R, 0, "Cache-Control:", EC_CC_EMPTY, 0, 0},
        {"§5.2 only commas", R, 0, "Cache-Control: ,, ,", EC_CC_EMPTY, 0, 0},
        {"§5.2 absent field", R, 0, "Pragma: no-cache", EC_CC_ABSENT, 0, 0},
        {"§5.2 mixed case, quoted, two fields",
         R,
         0,
         "cache-control: MaX-aGe=\"10\"\nCACHE-CONTROL: s-MAXAGE=20",
         EC_CC_OK,
         B(MAX_AGE) | B(S_MAXAGE),
         0,
         {{EC_CC_MAX_AGE, 10}, {EC_CC_S_MAXAGE, 20}}},
        /* RFC 9213 §2.1: Structured Fields Dictionary syntax */
        {"RFC 9213 §3.1 CDN-Cache-Control: max-age=600",
         R,
         EC_CC_SYNTAX_SF,
         "CDN-Cache-Control: max-age=600",
         EC_CC_OK,
         B(MAX_AGE),
         0,
         {{EC_CC_MAX_AGE, 600}}},
        {"RFC 9213 §2.1 a string max-age is not coerced", R, EC_CC_SYNTAX_SF,
         "CDN-Cache-Control: max-age=\"600\"", EC_CC_OK, B(MAX_AGE), B(MAX_AGE)},
        {"RFC 9213 §2.1 a decimal max-age is not coerced", R, EC_CC_SYNTAX_SF,
         "CDN-Cache-Control: max-age=60.5", EC_CC_OK, B(MAX_AGE), B(MAX_AGE)},
        {"RFC 9213 §2.1 a negative max-age is invalid", R, EC_CC_SYNTAX_SF,
         "CDN-Cache-Control: max-age=-1", EC_CC_OK, B(MAX_AGE), B(MAX_AGE)},
        {"RFC 9213 §2.1 boolean directive", R, EC_CC_SYNTAX_SF, "CDN-Cache-Control: no-store",
         EC_CC_OK, B(NO_STORE), 0},
        {"RFC 9213 §2.1 ?0 switches a directive off", R, EC_CC_SYNTAX_SF,
         "CDN-Cache-Control: no-store=?0, public", EC_CC_OK, B(PUBLIC), 0},
        {"RFC 8941 §3.2 a later duplicate overrides",
         R,
         EC_CC_SYNTAX_SF,
         "CDN-Cache-Control: max-age=60, max-age=120",
         EC_CC_OK,
         B(MAX_AGE),
         0,
         {{EC_CC_MAX_AGE, 120}}},
        {"RFC 9213 §2.1 uppercase key is a parse error", R, EC_CC_SYNTAX_SF,
         "CDN-Cache-Control: Max-Age=60", EC_CC_SYNTAX, 0, 0},
        {"RFC 9213 §2.1 trailing comma is a parse error", R, EC_CC_SYNTAX_SF,
         "CDN-Cache-Control: max-age=60,", EC_CC_SYNTAX, 0, 0},
        {"RFC 9213 §2.1 parameters are ignored",
         R,
         EC_CC_SYNTAX_SF,
         "CDN-Cache-Control: max-age=60;foo=bar, public;x",
         EC_CC_OK,
         B(MAX_AGE) | B(PUBLIC),
         0,
         {{EC_CC_MAX_AGE, 60}}},
        {"RFC 9213 §3.1 none: valid and non-empty", R, EC_CC_SYNTAX_SF, "CDN-Cache-Control: none",
         EC_CC_OK, 0, 0},
        {"RFC 9213 §2.1 empty field", R, EC_CC_SYNTAX_SF, "CDN-Cache-Control:", EC_CC_EMPTY, 0, 0},
        {"RFC 9213 §2.1 inner list no-cache reads unqualified", R, EC_CC_SYNTAX_SF,
         "CDN-Cache-Control: no-cache=(\"a\" \"b\")", EC_CC_OK, B(NO_CACHE), B(NO_CACHE)},
        {"RFC 8941 §3.3.1 16-digit integer is a parse error", R, EC_CC_SYNTAX_SF,
         "CDN-Cache-Control: max-age=9999999999999999", EC_CC_SYNTAX, 0, 0},
        {"RFC 9213 §2.1 15 digits saturate at 2^31",
         R,
         EC_CC_SYNTAX_SF,
         "CDN-Cache-Control: max-age=999999999999999",
         EC_CC_OK,
         B(MAX_AGE),
         0,
         {{EC_CC_MAX_AGE, MAXD}}},
        {"RFC 9213 §2.1 field lines combine",
         R,
         EC_CC_SYNTAX_SF,
         "CDN-Cache-Control: max-age=60\nCDN-Cache-Control: public",
         EC_CC_OK,
         B(MAX_AGE) | B(PUBLIC),
         0,
         {{EC_CC_MAX_AGE, 60}}},
        {"RFC 9213 §2.1 one bad line discards the field", R, EC_CC_SYNTAX_SF,
         "CDN-Cache-Control: max-age=60\nCDN-Cache-Control: public,,", EC_CC_SYNTAX, 0, 0},
        {"RFC 9213 §2.1 restrictive directive with a value counts", R, EC_CC_SYNTAX_SF,
         "CDN-Cache-Control: must-revalidate=1", EC_CC_OK, B(MUST_REVALIDATE), B(MUST_REVALIDATE)},
        {"RFC 9213 §2.1 loosening directive with a value is dropped", R, EC_CC_SYNTAX_SF,
         "CDN-Cache-Control: public=1", EC_CC_OK, 0, B(PUBLIC)},
        {"RFC 9213 §2.1 stale-while-revalidate and s-maxage",
         R,
         EC_CC_SYNTAX_SF,
         "CDN-Cache-Control: stale-while-revalidate=30, s-maxage=10",
         EC_CC_OK,
         B(STALE_WHILE_REVALIDATE) | B(S_MAXAGE),
         0,
         {{EC_CC_STALE_WHILE_REVALIDATE, 30}, {EC_CC_S_MAXAGE, 10}}},
        {"RFC 9213 §2.1 token value for max-age", R, EC_CC_SYNTAX_SF,
         "CDN-Cache-Control: max-age=forever", EC_CC_OK, B(MAX_AGE), B(MAX_AGE)},
};

static const enum ec_cc_dir secs_dirs[] = {EC_CC_MAX_AGE,
                                           EC_CC_S_MAXAGE,
                                           EC_CC_MAX_STALE,
                                           EC_CC_MIN_FRESH,
                                           EC_CC_STALE_WHILE_REVALIDATE,
                                           EC_CC_STALE_IF_ERROR};

START_TEST(test_cc_table)
{
	const struct cc_case *c = &cc_cases[_i];
	struct ec_hdr h[8];
	size_t n = H(c->hdrs, h, 8);
	struct ec_cc cc;
	bool sf = c->syntax == EC_CC_SYNTAX_SF;
	enum ec_cc_rc rc = ec_cc_parse(h, n, sf ? "CDN-Cache-Control" : "Cache-Control",
	                               sf ? EC_CC_SYNTAX_SF : EC_CC_SYNTAX_CC, c->side, &cc);
	ck_assert_msg(rc == c->rc, "%s: rc %d, expected %d", c->name, rc, c->rc);
	ck_assert_msg(cc.present == c->present, "%s: present %#x, expected %#x", c->name,
	              cc.present, c->present);
	ck_assert_msg(cc.invalid == c->invalid, "%s: invalid %#x, expected %#x", c->name,
	              cc.invalid, c->invalid);
	for (size_t i = 0; i < EC_ARRAY_LEN(secs_dirs); i++) {
		int64_t want = -1;
		for (size_t j = 0; j < 4; j++)
			if (c->secs[j].d == secs_dirs[i])
				want = c->secs[j].v;
		ck_assert_msg(ec_cc_secs(&cc, secs_dirs[i]) == want, "%s: %s = %lld, expected %lld",
		              c->name, ec_cc_dir_name(secs_dirs[i]),
		              (long long)ec_cc_secs(&cc, secs_dirs[i]), (long long)want);
	}
}
END_TEST

/* Collects a field list into "a|b|c". */
static void fields_str(const struct ec_cc_fields *f, char *buf, size_t cap)
{
	struct ec_cc_fields_iter it = {0};
	struct ec_str e;
	size_t len = 0;
	buf[0] = '\0';
	while (ec_cc_fields_next(f, &it, &e)) {
		int k = snprintf(buf + len, cap - len, "%s%.*s", len ? "|" : "", (int)e.len, e.p);
		len += (size_t)k;
	}
}

START_TEST(test_fields_qualified_no_cache)
{
	/* §5.2.2.4: the qualified form lists field names */
	struct ec_hdr h[2];
	size_t n = H("Cache-Control: no-cache=\"Set-Cookie, X-Foo\", max-age=60", h, 2);
	struct ec_cc cc;
	char buf[128];
	ck_assert_int_eq(ec_cc_parse(h, n, "Cache-Control", EC_CC_SYNTAX_CC, R, &cc), EC_CC_OK);
	ck_assert(ec_cc_has(&cc, EC_CC_NO_CACHE));
	ck_assert(!cc.no_cache.all);
	ck_assert_uint_eq(cc.no_cache.n, 1);
	fields_str(&cc.no_cache, buf, sizeof(buf));
	ck_assert_str_eq(buf, "Set-Cookie|X-Foo");
	ck_assert(ec_cc_fields_has(&cc.no_cache, EC_STR("set-cookie")));
	ck_assert(ec_cc_fields_has(&cc.no_cache, EC_STR("X-FOO")));
	ck_assert(!ec_cc_fields_has(&cc.no_cache, EC_STR("X-Bar")));
	ck_assert(!ec_cc_fields_has(&cc.no_cache, EC_STR("Set")));
	ck_assert_int_eq(ec_cc_secs(&cc, EC_CC_MAX_AGE), 60);
}
END_TEST

START_TEST(test_fields_private_token_form)
{
	/* §5.2.2.7: senders should quote; the token form is still accepted */
	struct ec_hdr h[2];
	size_t n = H("Cache-Control: private=Set-Cookie", h, 2);
	struct ec_cc cc;
	char buf[128];
	ec_cc_parse(h, n, "Cache-Control", EC_CC_SYNTAX_CC, R, &cc);
	ck_assert(ec_cc_has(&cc, EC_CC_PRIVATE));
	ck_assert(!cc.priv.all);
	fields_str(&cc.priv, buf, sizeof(buf));
	ck_assert_str_eq(buf, "Set-Cookie");
}
END_TEST

START_TEST(test_fields_lists_collect)
{
	struct ec_hdr h[2];
	size_t n = H("Cache-Control: no-cache=\"a\", no-cache=\" b ,, c \"", h, 2);
	struct ec_cc cc;
	char buf[128];
	ec_cc_parse(h, n, "Cache-Control", EC_CC_SYNTAX_CC, R, &cc);
	ck_assert_uint_eq(cc.no_cache.n, 2);
	ck_assert(!cc.no_cache.all);
	fields_str(&cc.no_cache, buf, sizeof(buf));
	ck_assert_str_eq(buf, "a|b|c");
}
END_TEST

START_TEST(test_fields_unqualified_wins)
{
	/* §4.2.1: the most restrictive reading */
	struct ec_hdr h[2];
	size_t n = H("Cache-Control: private=\"a\", private", h, 2);
	struct ec_cc cc;
	ec_cc_parse(h, n, "Cache-Control", EC_CC_SYNTAX_CC, R, &cc);
	ck_assert(cc.priv.all);
	ck_assert(!ec_cc_fields_has(&cc.priv, EC_STR("a")));
}
END_TEST

START_TEST(test_fields_too_many_lists)
{
	struct ec_hdr h[2];
	size_t n = H("Cache-Control: private=\"a\", private=\"b\", private=\"c\", private=\"d\", "
	             "private=\"e\"",
	             h, 2);
	struct ec_cc cc;
	ec_cc_parse(h, n, "Cache-Control", EC_CC_SYNTAX_CC, R, &cc);
	ck_assert_uint_eq(cc.priv.n, EC_CC_FIELDS_MAX);
	ck_assert(cc.priv.all);
}
END_TEST

START_TEST(test_fields_sf_string)
{
	/* RFC 9213 §2.1: field lists as an sf-string */
	struct ec_hdr h[2];
	size_t n = H("CDN-Cache-Control: private=\"set-cookie, x-a\"", h, 2);
	struct ec_cc cc;
	char buf[64];
	ck_assert_int_eq(ec_cc_parse(h, n, "CDN-Cache-Control", EC_CC_SYNTAX_SF, R, &cc), EC_CC_OK);
	ck_assert(!cc.priv.all);
	fields_str(&cc.priv, buf, sizeof(buf));
	ck_assert_str_eq(buf, "set-cookie|x-a");
	/* a repeated key replaces the list (RFC 8941 §3.2) */
	n = H("CDN-Cache-Control: private=\"a\", private", h, 2);
	ec_cc_parse(h, n, "CDN-Cache-Control", EC_CC_SYNTAX_SF, R, &cc);
	ck_assert(cc.priv.all);
	ck_assert_uint_eq(cc.priv.n, 0);
}
END_TEST

START_TEST(test_dir_names)
{
	ck_assert_str_eq(ec_cc_dir_name(EC_CC_MAX_AGE), "max-age");
	ck_assert_str_eq(ec_cc_dir_name(EC_CC_STALE_WHILE_REVALIDATE), "stale-while-revalidate");
	ck_assert_str_eq(ec_cc_dir_name(EC_CC_MUST_UNDERSTAND), "must-understand");
	ck_assert_ptr_null(ec_cc_dir_name(EC_CC_INVALID));
	ck_assert_ptr_null(ec_cc_dir_name(EC_CC__COUNT));
}
END_TEST

/* RFC 9213 §2.2 target selection. */
struct tgt_case {
	const char *name;
	const char *hdrs;
	int target;
	uint32_t present;
	int64_t max_age, s_maxage;
};

static const struct tgt_case tgt_cases[] = {
        {"RFC 9213 §3.1 ex.1: CDN max-age=600 beats CC max-age=60, s-maxage=120",
         "Cache-Control: max-age=60, s-maxage=120\nCDN-Cache-Control: max-age=600", 0, B(MAX_AGE),
         600, -1},
        {"RFC 9213 §3.1 ex.2: CDN max-age=600 overrides CC no-store",
         "Cache-Control: no-store\nCDN-Cache-Control: max-age=600", 0, B(MAX_AGE), 600, -1},
        {"RFC 9213 §3.1 ex.3: without CDN-Cache-Control, CC no-store applies",
         "Cache-Control: no-store", -1, B(NO_STORE), -1, -1},
        {"RFC 9213 §3.1 ex.4: CDN-Cache-Control: none lets CDNs store",
         "Cache-Control: no-store\nCDN-Cache-Control: none", 0, 0, -1, -1},
        {"RFC 9213 §2.1 unparsable targeted field falls back to CC",
         "Cache-Control: max-age=60\nCDN-Cache-Control: max-age=600,", -1, B(MAX_AGE), 60, -1},
        {"RFC 9213 §2.2 empty targeted field falls back to CC",
         "Cache-Control: max-age=60\nCDN-Cache-Control: ", -1, B(MAX_AGE), 60, -1},
        {"RFC 9213 §2.2 Surrogate-Control (CC syntax) as second target",
         "Cache-Control: max-age=60\nSurrogate-Control: max-age=\"300\"", 1, B(MAX_AGE), 300, -1},
        {"RFC 9213 §2.2 first target in list order wins",
         "Surrogate-Control: max-age=300\nCDN-Cache-Control: s-maxage=30", 0, B(S_MAXAGE), -1, 30},
        {"RFC 9213 §2.2 falls through to the next target",
         "Surrogate-Control: max-age=300\nCDN-Cache-Control: Bad=1", 1, B(MAX_AGE), 300, -1},
        {"RFC 9213 §2.2 no targeted field, no CC", "Content-Type: text/plain", -1, 0, -1, -1},
        {"RFC 9213 §2.2 private in CC ignored when targeted",
         "Cache-Control: private\nCDN-Cache-Control: max-age=60", 0, B(MAX_AGE), 60, -1},
};

START_TEST(test_targets_table)
{
	const struct tgt_case *c = &tgt_cases[_i];
	struct ec_hdr h[8];
	size_t n = H(c->hdrs, h, 8);
	struct ec_cc cc;
	int t = ec_cc_parse_response(h, n, ec_cc_default_targets, EC_CC_DEFAULT_TARGETS, &cc);
	ck_assert_msg(t == c->target, "%s: target %d, expected %d", c->name, t, c->target);
	ck_assert_msg(cc.present == c->present, "%s: present %#x, expected %#x", c->name,
	              cc.present, c->present);
	ck_assert_msg(ec_cc_secs(&cc, EC_CC_MAX_AGE) == c->max_age, "%s: max-age", c->name);
	ck_assert_msg(ec_cc_secs(&cc, EC_CC_S_MAXAGE) == c->s_maxage, "%s: s-maxage", c->name);
}
END_TEST

START_TEST(test_targets_custom_list)
{
	/* RFC 9213 §2.2: "FooCDN" with [FooCDN-Cache-Control, CDN-Cache-Control] */
	static const struct ec_cc_target foo[] = {
	        {"FooCDN-Cache-Control", EC_CC_SYNTAX_SF, false},
	        {"CDN-Cache-Control", EC_CC_SYNTAX_SF, true},
	};
	struct ec_hdr h[4];
	struct ec_cc cc;
	size_t n = H("CDN-Cache-Control: max-age=600\nFooCDN-Cache-Control: max-age=1200\n"
	             "Cache-Control: max-age=60",
	             h, 4);
	ck_assert_int_eq(ec_cc_parse_response(h, n, foo, 2, &cc), 0);
	ck_assert_int_eq(ec_cc_secs(&cc, EC_CC_MAX_AGE), 1200);
	n = H("CDN-Cache-Control: max-age=600\nCache-Control: max-age=60", h, 4);
	ck_assert_int_eq(ec_cc_parse_response(h, n, foo, 2, &cc), 1);
	ck_assert_int_eq(ec_cc_secs(&cc, EC_CC_MAX_AGE), 600);
	/* an empty target list: Cache-Control only */
	ck_assert_int_eq(ec_cc_parse_response(h, n, NULL, 0, &cc), -1);
	ck_assert_int_eq(ec_cc_secs(&cc, EC_CC_MAX_AGE), 60);
	/* §2.2: fields not on the target list are passed through */
	ck_assert(!ec_cc_strip_field(EC_STR("FooCDN-Cache-Control"), foo, 2));
	ck_assert(ec_cc_strip_field(EC_STR("cdn-cache-control"), foo, 2));
	ck_assert(!ec_cc_strip_field(EC_STR("Surrogate-Control"), foo, 2));
}
END_TEST

START_TEST(test_strip_default)
{
	const struct ec_cc_target *t = ec_cc_default_targets;
	ck_assert(ec_cc_strip_field(EC_STR("CDN-Cache-Control"), t, EC_CC_DEFAULT_TARGETS));
	ck_assert(ec_cc_strip_field(EC_STR("surrogate-control"), t, EC_CC_DEFAULT_TARGETS));
	ck_assert(!ec_cc_strip_field(EC_STR("Cache-Control"), t, EC_CC_DEFAULT_TARGETS));
	ck_assert(!ec_cc_strip_field(EC_STR("CDN-Cache-Control-X"), t, EC_CC_DEFAULT_TARGETS));
	ck_assert(!ec_cc_strip_field(EC_STR(""), t, EC_CC_DEFAULT_TARGETS));
}
END_TEST

START_TEST(test_parse_reinitialises)
{
	/* out is fully written even when the field is absent */
	struct ec_hdr h[2];
	struct ec_cc cc;
	size_t n = H("Cache-Control: no-store, max-age=5", h, 2);
	ec_cc_parse(h, n, "Cache-Control", EC_CC_SYNTAX_CC, R, &cc);
	ck_assert_uint_ne(cc.present, 0);
	n = H("X: y", h, 2);
	ck_assert_int_eq(ec_cc_parse(h, n, "Cache-Control", EC_CC_SYNTAX_CC, R, &cc), EC_CC_ABSENT);
	ck_assert_uint_eq(cc.present, 0);
	ck_assert_uint_eq(cc.invalid, 0);
	ck_assert_int_eq(ec_cc_secs(&cc, EC_CC_MAX_AGE), -1);
	ck_assert_int_eq(ec_cc_parse(h, n, "CDN-Cache-Control", EC_CC_SYNTAX_SF, R, &cc),
	                 EC_CC_ABSENT);
}
END_TEST

static Suite *cc_suite(void)
{
	Suite *s = suite_create("policy/cc");
	TCase *tc = tcase_create("rfc9111-5.2");
	tcase_add_loop_test(tc, test_cc_table, 0, EC_ARRAY_LEN(cc_cases));
	tcase_add_test(tc, test_fields_qualified_no_cache);
	tcase_add_test(tc, test_fields_private_token_form);
	tcase_add_test(tc, test_fields_lists_collect);
	tcase_add_test(tc, test_fields_unqualified_wins);
	tcase_add_test(tc, test_fields_too_many_lists);
	tcase_add_test(tc, test_fields_sf_string);
	tcase_add_test(tc, test_dir_names);
	tcase_add_test(tc, test_parse_reinitialises);
	suite_add_tcase(s, tc);
	tc = tcase_create("rfc9213");
	tcase_add_loop_test(tc, test_targets_table, 0, EC_ARRAY_LEN(tgt_cases));
	tcase_add_test(tc, test_targets_custom_list);
	tcase_add_test(tc, test_strip_default);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(cc_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
