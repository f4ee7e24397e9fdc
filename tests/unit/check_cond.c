/*
 * check_cond.c — Check suite for policy/cond.c: entity-tags (RFC 9110
 * §8.8.3), client preconditions answered from cache (RFC 9110 §13, RFC
 * 9111 §4.3.2), If-Range (§13.1.5) and revalidation (RFC 9111 §3.2, §4.3).
 * T is 2023-11-14T22:13:20Z.
 */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "policy/cond.h"
#include "policy/fresh.h"

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

/* Renders a header list as "Name: value|Name: value". */
static void render(const struct ec_hdr *h, size_t n, char *buf, size_t cap)
{
	size_t len = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s%.*s: %.*s", i ? "|" : "",
		                        (int)h[i].name.len, h[i].name.p, (int)h[i].value.len,
		                        h[i].value.p);
}

#define T      1700000000LL
#define D0     "Tue, 14 Nov 2023 22:13:20 GMT"
#define DM10   "Tue, 14 Nov 2023 22:13:10 GMT"
#define DM60   "Tue, 14 Nov 2023 22:12:20 GMT"
#define DM100  "Tue, 14 Nov 2023 22:11:40 GMT"
#define DM1D   "Mon, 13 Nov 2023 22:13:20 GMT"
#define DM6D   "Wed, 08 Nov 2023 22:13:20 GMT"
#define DM100D "Sun, 06 Aug 2023 22:13:20 GMT"
#define DP1H   "Tue, 14 Nov 2023 23:13:20 GMT"

/* ---- entity-tags, RFC 9110 §8.8.3 ---- */

START_TEST(test_etag_parse)
{
	struct ec_etag e;
	/* §8.8.3 examples */
	ck_assert(ec_cond_etag_parse(EC_STR("\"xyzzy\""), &e) && !e.weak);
	ck_assert(ec_str_eq(e.opaque, EC_STR("\"xyzzy\"")));
	ck_assert(ec_cond_etag_parse(EC_STR("W/\"xyzzy\""), &e) && e.weak);
	ck_assert(ec_str_eq(e.opaque, EC_STR("\"xyzzy\"")));
	ck_assert(ec_cond_etag_parse(EC_STR("\"\""), &e) && !e.weak && e.opaque.len == 2);
	ck_assert(ec_cond_etag_parse(EC_STR("  \"x\"\t"), &e));
	ck_assert(ec_cond_etag_parse(EC_STR("\"caf\xc3\xa9\""), &e)); /* obs-text */
	ck_assert(!ec_cond_etag_parse(EC_STR("xyzzy"), &e));
	ck_assert(!ec_cond_etag_parse(EC_STR("w/\"x\""), &e)); /* %s"W/" is case-sensitive */
	ck_assert(!ec_cond_etag_parse(EC_STR("\"a b\""), &e));
	ck_assert(!ec_cond_etag_parse(EC_STR("\"a"), &e));
	ck_assert(!ec_cond_etag_parse(EC_STR("\"x\" \"y\""), &e));
	ck_assert(!ec_cond_etag_parse(EC_STR("W/"), &e));
	ck_assert(!ec_cond_etag_parse(EC_STR(""), &e));
}
END_TEST

START_TEST(test_etag_compare)
{
	/* §8.8.3.2 table */
	static const struct {
		const char *a, *b;
		bool strong, weak;
	} rows[] = {
	        {"W/\"1\"", "W/\"1\"", false, true}, {"W/\"1\"", "W/\"2\"", false, false},
	        {"W/\"1\"", "\"1\"", false, true},   {"\"1\"", "\"1\"", true, true},
	        {"\"1\"", "\"2\"", false, false},
	};
	for (size_t i = 0; i < EC_ARRAY_LEN(rows); i++) {
		struct ec_etag a, b;
		ck_assert(ec_cond_etag_parse(ec_str_cstr(rows[i].a), &a));
		ck_assert(ec_cond_etag_parse(ec_str_cstr(rows[i].b), &b));
		ck_assert_msg(ec_cond_etag_strong_eq(&a, &b) == rows[i].strong, "row %zu strong",
		              i);
		ck_assert_msg(ec_cond_etag_strong_eq(&b, &a) == rows[i].strong, "row %zu strong'",
		              i);
		ck_assert_msg(ec_cond_etag_weak_eq(&a, &b) == rows[i].weak, "row %zu weak", i);
	}
}
END_TEST

START_TEST(test_etag_list)
{
	struct ec_str rest = EC_STR("\"xyzzy\", \"r2d2xxxx\", \"c3piozzzz\"");
	struct ec_etag e;
	ck_assert_int_eq(ec_cond_etag_list_next(&rest, &e), 1);
	ck_assert(ec_str_eq(e.opaque, EC_STR("\"xyzzy\"")));
	ck_assert_int_eq(ec_cond_etag_list_next(&rest, &e), 1);
	ck_assert(ec_str_eq(e.opaque, EC_STR("\"r2d2xxxx\"")));
	ck_assert_int_eq(ec_cond_etag_list_next(&rest, &e), 1);
	ck_assert(ec_str_eq(e.opaque, EC_STR("\"c3piozzzz\"")));
	ck_assert_int_eq(ec_cond_etag_list_next(&rest, &e), 0);
	ck_assert_int_eq(ec_cond_etag_list_next(&rest, &e), 0);

	rest = EC_STR(" , \"a,b\" ,W/\"c\", bogus, \"d\" x, *, \"e\",");
	ck_assert_int_eq(ec_cond_etag_list_next(&rest, &e), 1);
	ck_assert(ec_str_eq(e.opaque, EC_STR("\"a,b\""))); /* a comma inside a tag */
	ck_assert_int_eq(ec_cond_etag_list_next(&rest, &e), 1);
	ck_assert(e.weak && ec_str_eq(e.opaque, EC_STR("\"c\"")));
	ck_assert_int_eq(ec_cond_etag_list_next(&rest, &e), -1);
	ck_assert_int_eq(ec_cond_etag_list_next(&rest, &e), -1);
	ck_assert_int_eq(ec_cond_etag_list_next(&rest, &e), 2);
	ck_assert_int_eq(ec_cond_etag_list_next(&rest, &e), 1);
	ck_assert(ec_str_eq(e.opaque, EC_STR("\"e\"")));
	ck_assert_int_eq(ec_cond_etag_list_next(&rest, &e), 0);
}
END_TEST

START_TEST(test_validators)
{
	struct ec_hdr h[8];
	struct ec_validators v;
	size_t n = H("ETag: \"v1\"\nLast-Modified: " DM1D "\nDate: " D0, h, 8);
	ec_cond_validators(200, h, n, T, &v);
	ck_assert(v.has_etag && !v.etag.weak && ec_str_eq(v.etag.opaque, EC_STR("\"v1\"")));
	ck_assert(v.has_lm && v.last_modified == T - 86400);
	ck_assert(v.has_date && v.date == T);
	ck_assert_int_eq(v.status, 200);
	ck_assert_int_eq(v.received, T);
	ck_assert(ec_cond_lm_strong(&v));
	/* two ETag lines, an invalid one: no ETag; invalid dates: none */
	n = H("ETag: \"a\"\nETag: \"b\"\nLast-Modified: never\nDate: " D0 "\nDate: " DM10, h, 8);
	ec_cond_validators(200, h, n, 0, &v);
	ck_assert(!v.has_etag && !v.has_lm && !v.has_date);
	n = H("ETag: abc", h, 8);
	ec_cond_validators(200, h, n, 0, &v);
	ck_assert(!v.has_etag);
	/* §8.8.2.2: strong only when at least 1 s before Date */
	n = H("Last-Modified: " D0 "\nDate: " D0, h, 8);
	ec_cond_validators(200, h, n, 0, &v);
	ck_assert(v.has_lm && !ec_cond_lm_strong(&v));
	n = H("Last-Modified: " DM10 "\nDate: Tue, 14 Nov 2023 22:13:11 GMT", h, 8);
	ec_cond_validators(200, h, n, 0, &v);
	ck_assert(ec_cond_lm_strong(&v));
	n = H("Last-Modified: " DM10, h, 8);
	ec_cond_validators(200, h, n, 0, &v);
	ck_assert(!ec_cond_lm_strong(&v));
}
END_TEST

/* ---- preconditions, RFC 9110 §13.2.2 order ---- */

#define STORED "ETag: \"v1\"\nLast-Modified: " DM1D "\nDate: " D0

struct cond_case {
	const char *name;
	enum ec_method method; /* 0: GET */
	const char *req;
	const char *stored; /* NULL: STORED */
	int status;         /* 0: 200 */
	int64_t received;
	enum ec_cond_result want;
};

#define PROCEED EC_COND_PROCEED
#define NOT_MOD EC_COND_NOT_MODIFIED
#define FAILED  EC_COND_PRECONDITION_FAILED

static const struct cond_case cond_cases[] = {
        {"§13.2.2 no preconditions", 0, "Accept: */*", NULL, 0, 0, PROCEED},
        {"§13.1.1 If-Match: * with a stored response", 0, "If-Match: *", NULL, 0, 0, PROCEED},
        {"§13.1.1 If-Match with the stored tag", 0, "If-Match: \"v1\"", NULL, 0, 0, PROCEED},
        {"§13.1.1 example list without the stored tag", 0,
         "If-Match: \"xyzzy\", \"r2d2xxxx\", \"c3piozzzz\"", NULL, 0, 0, FAILED},
        {"§13.1.1 example list with the stored tag", 0,
         "If-Match: \"xyzzy\", \"r2d2xxxx\", \"c3piozzzz\"", "ETag: \"r2d2xxxx\"", 0, 0, PROCEED},
        {"§13.1.1 strong comparison: a weak tag fails", 0, "If-Match: W/\"v1\"", NULL, 0, 0,
         FAILED},
        {"§13.1.1 strong comparison: a weak stored tag fails", 0, "If-Match: \"v1\"",
         "ETag: W/\"v1\"", 0, 0, FAILED},
        {"§13.1.1 no stored ETag", 0, "If-Match: \"v1\"", "Date: " D0, 0, 0, FAILED},
        {"§13.1.1 lists over several lines", 0, "If-Match: \"a\"\nIf-Match: \"b\", \"v1\"", NULL, 0,
         0, PROCEED},
        {"§13.1.1 malformed If-Match fails", 0, "If-Match: v1", NULL, 0, 0, FAILED},
        {"§13.1.4 If-Unmodified-Since after Last-Modified", 0, "If-Unmodified-Since: " D0, NULL, 0,
         0, PROCEED},
        {"§13.1.4 If-Unmodified-Since equal to Last-Modified", 0, "If-Unmodified-Since: " DM1D,
         NULL, 0, 0, PROCEED},
        {"§13.1.4 If-Unmodified-Since before Last-Modified", 0, "If-Unmodified-Since: " DM100D,
         NULL, 0, 0, FAILED},
        {"§13.1.4 ignored when If-Match is present", 0,
         "If-Match: \"v1\"\nIf-Unmodified-Since: " DM100D, NULL, 0, 0, PROCEED},
        {"§13.1.4 invalid date ignored", 0, "If-Unmodified-Since: last week", NULL, 0, 0, PROCEED},
        {"§13.1.4 ignored without Last-Modified", 0, "If-Unmodified-Since: " DM100D,
         "ETag: \"v1\"\nDate: " D0, 0, 0, PROCEED},
        {"§13.1.4 several dates ignored", 0,
         "If-Unmodified-Since: " DM100D "\nIf-Unmodified-Since: " D0, NULL, 0, 0, PROCEED},
        {"§13.1.2 weak comparison: GET gets 304", 0, "If-None-Match: W/\"v1\"", NULL, 0, 0,
         NOT_MOD},
        {"§13.1.2 example list, weak comparison", 0,
         "If-None-Match: W/\"xyzzy\", W/\"r2d2xxxx\", W/\"c3piozzzz\"", "ETag: \"r2d2xxxx\"", 0, 0,
         NOT_MOD},
        {"§13.1.2 no match", 0, "If-None-Match: \"v2\"", NULL, 0, 0, PROCEED},
        {"§13.1.2 If-None-Match: * with a stored response", 0, "If-None-Match: *", NULL, 0, 0,
         NOT_MOD},
        {"§13.1.2 HEAD gets 304 too", EC_M_HEAD, "If-None-Match: \"v1\"", NULL, 0, 0, NOT_MOD},
        {"§13.1.2 other methods get 412", EC_M_DELETE, "If-None-Match: \"v1\"", NULL, 0, 0, FAILED},
        {"§13.1.2 no stored ETag: no match", 0, "If-None-Match: \"v1\"", "Date: " D0, 0, 0,
         PROCEED},
        {"§13.1.3 not modified since", 0, "If-Modified-Since: " D0, NULL, 0, 0, NOT_MOD},
        {"§13.1.3 modified since", 0, "If-Modified-Since: " DM100D, NULL, 0, 0, PROCEED},
        {"§13.1.3 equal to Last-Modified", 0, "If-Modified-Since: " DM1D, NULL, 0, 0, NOT_MOD},
        {"§13.1.3 example date: modified since 1994", 0,
         "If-Modified-Since: Sat, 29 Oct 1994 19:43:31 GMT", NULL, 0, 0, PROCEED},
        {"§13.1.3 ignored with If-None-Match", 0, "If-None-Match: \"v2\"\nIf-Modified-Since: " D0,
         NULL, 0, 0, PROCEED},
        {"§13.1.3 only for GET and HEAD", EC_M_POST, "If-Modified-Since: " D0, NULL, 0, 0, PROCEED},
        {"§13.1.3 HEAD", EC_M_HEAD, "If-Modified-Since: " D0, NULL, 0, 0, NOT_MOD},
        {"§13.1.3 invalid date ignored", 0, "If-Modified-Since: yesterday", NULL, 0, 0, PROCEED},
        {"§13.1.3 more than one member ignored", 0,
         "If-Modified-Since: " D0 "\nIf-Modified-Since: " D0, NULL, 0, 0, PROCEED},
        {"RFC 2616 §14.25 a date later than now is invalid", 0, "If-Modified-Since: " DP1H, NULL, 0,
         0, PROCEED},
        {"RFC 9111 §4.3.2 no Last-Modified: Date is used", 0, "If-Modified-Since: " D0,
         "ETag: \"v1\"\nDate: " DM60, 0, 0, NOT_MOD},
        {"RFC 9111 §4.3.2 no Last-Modified: Date later than the condition", 0,
         "If-Modified-Since: " DM100, "Date: " DM60, 0, 0, PROCEED},
        {"RFC 9111 §4.3.2 neither: the receive time is used", 0, "If-Modified-Since: " DM10,
         "Content-Type: a", 0, T - 60, NOT_MOD},
        {"RFC 9111 §4.3.2 neither, receive time later", 0, "If-Modified-Since: " DM100,
         "Content-Type: a", 0, T - 60, PROCEED},
        {"§13.1.3 no modification date available: ignored", 0, "If-Modified-Since: " D0,
         "Content-Type: a", 0, 0, PROCEED},
        {"§13.2.2 If-Match failure before If-None-Match", 0,
         "If-Match: \"x\"\nIf-None-Match: \"v1\"", NULL, 0, 0, FAILED},
        {"§13.2.2 If-Unmodified-Since failure before If-None-Match", 0,
         "If-Unmodified-Since: " DM100D "\nIf-None-Match: \"v1\"", NULL, 0, 0, FAILED},
        {"§13.2.2 If-Match passes, If-None-Match matches: 304", 0,
         "If-Match: \"v1\"\nIf-None-Match: \"v1\"", NULL, 0, 0, NOT_MOD},
        {"§13.2.1 preconditions ignored for a stored 404", 0, "If-Match: \"x\"", NULL, 404, 0,
         PROCEED},
        {"§13.2.1 and for a stored 301", 0, "If-None-Match: *", NULL, 301, 0, PROCEED},
        {"§13.2.1 but evaluated for a stored 204", 0, "If-None-Match: *", NULL, 204, 0, NOT_MOD},
};

START_TEST(test_evaluate)
{
	const struct cond_case *c = &cond_cases[_i];
	struct ec_hdr rq[8], st[8];
	size_t nq = H(c->req, rq, 8), ns = H(c->stored ? c->stored : STORED, st, 8);
	struct ec_validators v;
	ec_cond_validators(c->status ? c->status : 200, st, ns, c->received, &v);
	enum ec_cond_result r = ec_cond_evaluate(c->method ? c->method : EC_M_GET, rq, nq, &v, T);
	ck_assert_msg(r == c->want, "%s: %d, expected %d", c->name, r, c->want);
}
END_TEST

/* ---- If-Range, §13.1.5 ---- */

struct ifr_case {
	const char *name, *req, *stored;
	bool range;
};

static const struct ifr_case ifr_cases[] = {
        {"§13.1.5 no If-Range: the Range applies", "Range: bytes=0-1", STORED, true},
        {"§13.1.5 strong ETag match", "If-Range: \"v1\"", STORED, true},
        {"§13.1.5 ETag mismatch", "If-Range: \"v2\"", STORED, false},
        {"§13.1.5 a weak tag never matches", "If-Range: W/\"v1\"", STORED, false},
        {"§13.1.5 a weak stored tag never matches", "If-Range: \"v1\"", "ETag: W/\"v1\"", false},
        {"§13.1.5 date equal to a strong Last-Modified", "If-Range: " DM1D, STORED, true},
        {"§13.1.5 date not equal", "If-Range: " DM100D, STORED, false},
        {"§13.1.5 date equal to a weak Last-Modified (same as Date)", "If-Range: " D0,
         "Last-Modified: " D0 "\nDate: " D0, false},
        {"§13.1.5 date without a stored Date: weak", "If-Range: " DM1D, "Last-Modified: " DM1D,
         false},
        {"§13.1.5 a date starting with W (Wed)", "If-Range: " DM6D,
         "Last-Modified: " DM6D "\nDate: " D0, true},
        {"§13.1.5 example: If-Range: Wed, 21 Oct 2015 07:28:00 GMT",
         "If-Range: Wed, 21 Oct 2015 07:28:00 GMT",
         "Last-Modified: Wed, 21 Oct 2015 07:28:00 GMT\nDate: Thu, 22 Oct 2015 07:28:00 GMT", true},
        {"§13.1.5 malformed", "If-Range: v1", STORED, false},
        {"§13.1.5 two lines", "If-Range: \"v1\"\nIf-Range: \"v1\"", STORED, false},
        {"§13.1.5 ETag list is not allowed", "If-Range: \"v1\", \"v2\"", STORED, false},
};

START_TEST(test_if_range)
{
	const struct ifr_case *c = &ifr_cases[_i];
	struct ec_hdr rq[8], st[8];
	size_t nq = H(c->req, rq, 8), ns = H(c->stored, st, 8);
	struct ec_validators v;
	ec_cond_validators(200, st, ns, 0, &v);
	ck_assert_msg(ec_cond_if_range(rq, nq, &v) == c->range, "%s", c->name);
}
END_TEST

/* ---- revalidation, RFC 9111 §4.3 ---- */

struct reval_case {
	const char *name, *stored, *want;
};

static const struct reval_case reval_cases[] = {
        {"§4.3.1 ETag and Last-Modified", STORED, "If-None-Match: \"v1\"|If-Modified-Since: " DM1D},
        {"§4.3.1 weak ETag only", "ETag: W/\"v1\"\nDate: " D0, "If-None-Match: W/\"v1\""},
        {"§4.3.1 Last-Modified only", "Last-Modified: " DM1D "\nDate: " D0,
         "If-Modified-Since: " DM1D},
        {"§4.3.1 neither: the Date", "Date: " D0, "If-Modified-Since: " D0},
        {"§4.3.1 nothing to validate with", "Content-Type: a", ""},
        {"§4.3.1 invalid ETag: Last-Modified only", "ETag: v1\nLast-Modified: " DM1D,
         "If-Modified-Since: " DM1D},
        {"§4.3.1 invalid ETag and no Last-Modified: the Date", "ETag: v1\nDate: " D0,
         "If-Modified-Since: " D0},
        {"§4.3.1 invalid Last-Modified is not sent", "ETag: \"v1\"\nLast-Modified: 0",
         "If-None-Match: \"v1\""},
};

START_TEST(test_revalidation)
{
	const struct reval_case *c = &reval_cases[_i];
	struct ec_hdr st[8], out[2];
	size_t ns = H(c->stored, st, 8);
	char buf[256];
	size_t k = ec_cond_revalidation(st, ns, out);
	render(out, k, buf, sizeof(buf));
	ck_assert_msg(strcmp(buf, c->want) == 0, "%s: '%s', expected '%s'", c->name, buf, c->want);
}
END_TEST

START_TEST(test_freshen_select)
{
	struct ec_hdr h[8];
	struct ec_validators s[4];
	bool sel[4];
	size_t n;
	/* candidates: A "v1" (older), B "v1" (newer), C "v2", D no validator */
	n = H("ETag: \"v1\"\nDate: " DM100, h, 8);
	ec_cond_validators(200, h, n, 0, &s[0]);
	n = H("ETag: \"v1\"\nDate: " DM10, h, 8);
	ec_cond_validators(200, h, n, 0, &s[1]);
	n = H("ETag: \"v2\"\nLast-Modified: " DM1D "\nDate: " DM60, h, 8);
	ec_cond_validators(200, h, n, 0, &s[2]);
	n = H("Date: " DM60, h, 8);
	ec_cond_validators(200, h, n, 0, &s[3]);

	/* §4.3.4 bullet 1: a strong validator selects every match */
	n = H("ETag: \"v1\"\nDate: " D0, h, 8);
	ck_assert_uint_eq(ec_cond_freshen_select(h, n, s, 4, sel), 2);
	ck_assert(sel[0] && sel[1] && !sel[2] && !sel[3]);
	/* ... and nothing when none matches */
	n = H("ETag: \"v3\"", h, 8);
	ck_assert_uint_eq(ec_cond_freshen_select(h, n, s, 4, sel), 0);
	ck_assert(!sel[0] && !sel[1] && !sel[2] && !sel[3]);
	/* a strong Last-Modified (1 s before the 304's Date) */
	n = H("Last-Modified: " DM1D "\nDate: " D0, h, 8);
	ck_assert_uint_eq(ec_cond_freshen_select(h, n, s, 4, sel), 1);
	ck_assert(sel[2]);
	/* bullet 2: a weak validator selects the most recent match */
	n = H("ETag: W/\"v1\"", h, 8);
	ck_assert_uint_eq(ec_cond_freshen_select(h, n, s, 4, sel), 1);
	ck_assert(!sel[0] && sel[1]);
	n = H("ETag: W/\"v2\"", h, 8);
	ck_assert_uint_eq(ec_cond_freshen_select(h, n, s, 4, sel), 1);
	ck_assert(sel[2]);
	/* a weak Last-Modified (no Date in the 304) */
	n = H("Last-Modified: " DM1D, h, 8);
	ck_assert_uint_eq(ec_cond_freshen_select(h, n, s, 4, sel), 1);
	ck_assert(sel[2]);
	/* bullet 3: no validator, a single stored response without one */
	n = H("Date: " D0, h, 8);
	ck_assert_uint_eq(ec_cond_freshen_select(h, n, &s[3], 1, sel), 1);
	ck_assert(sel[0]);
	ck_assert_uint_eq(ec_cond_freshen_select(h, n, &s[2], 1, sel), 0);
	ck_assert_uint_eq(ec_cond_freshen_select(h, n, &s[2], 2, sel), 0);
}
END_TEST

START_TEST(test_merge)
{
	struct ec_hdr st[16], up[16], out[16];
	size_t ns = H("Date: " DM1D "\nCache-Control: max-age=60\nContent-Length: 100\n"
	              "Content-Type: text/html\nETag: \"v1\"\nX-Old: 1\nX-Old: 2\n"
	              "Content-Encoding: gzip",
	              st, 16);
	size_t nu = H("Date: " D0 "\nCache-Control: max-age=120\nX-Old: 3\nContent-Length: 0\n"
	              "Connection: X-Hop\nX-Hop: a\nKeep-Alive: timeout=5\nX-New: n\n"
	              "Content-Encoding: br\nETag: \"v1\"\nContent-Range: bytes */100\n"
	              "Proxy-Authenticate: Basic",
	              up, 16);
	size_t k;
	char buf[1024];
	/* §3.2 / §4.3.4: replace all instances, append new, keep the exceptions */
	ck_assert_int_eq(ec_cond_merge(st, ns, up, nu, out, 16, &k), 0);
	render(out, k, buf, sizeof(buf));
	ck_assert_str_eq(buf, "Content-Length: 100|Content-Type: text/html|Content-Encoding: gzip|"
	                      "Date: " D0 "|Cache-Control: max-age=120|X-Old: 3|X-New: n|"
	                      "ETag: \"v1\"");
	/* too small: -1 and the count needed */
	ck_assert_int_eq(ec_cond_merge(st, ns, up, nu, out, 3, &k), -1);
	ck_assert_uint_eq(k, 8);
	/* an empty 304 changes nothing */
	ck_assert_int_eq(ec_cond_merge(st, ns, up, 0, out, 16, &k), 0);
	ck_assert_uint_eq(k, ns);
}
END_TEST

START_TEST(test_304_fields)
{
	/* RFC 9110 §15.4.5 */
	static const char *const yes[] = {"Cache-Control", "Content-Location", "Date",
	                                  "ETag",          "Expires",          "Vary",
	                                  "last-modified"};
	static const char *const no[] = {"Content-Type", "Content-Length", "Set-Cookie",
	                                 "Content-Encoding", "Age"};
	for (size_t i = 0; i < EC_ARRAY_LEN(yes); i++)
		ck_assert_msg(ec_cond_304_field(ec_str_cstr(yes[i])), "%s", yes[i]);
	for (size_t i = 0; i < EC_ARRAY_LEN(no); i++)
		ck_assert_msg(!ec_cond_304_field(ec_str_cstr(no[i])), "%s", no[i]);
}
END_TEST

struct head_case {
	const char *name, *stored, *head;
	enum ec_head_update want;
};

static const struct head_case head_cases[] = {
        {"§4.3.5 matching validators and length: update",
         "ETag: \"v1\"\nLast-Modified: " DM1D "\nContent-Length: 10",
         "ETag: \"v1\"\nLast-Modified: " DM1D "\nContent-Length: 10", EC_HEAD_UPDATE},
        {"§4.3.5 different ETag: stale", "ETag: \"v1\"", "ETag: \"v2\"", EC_HEAD_STALE},
        {"§4.3.5 ETag strength differs: stale", "ETag: \"v1\"", "ETag: W/\"v1\"", EC_HEAD_STALE},
        {"§4.3.5 different Last-Modified: stale", "Last-Modified: " DM1D, "Last-Modified: " DM100D,
         EC_HEAD_STALE},
        {"§4.3.5 different Content-Length: stale", "Content-Length: 10", "Content-Length: 11",
         EC_HEAD_STALE},
        {"§4.3.5 Content-Length only in HEAD: stale", "ETag: \"v1\"",
         "ETag: \"v1\"\nContent-Length: 11", EC_HEAD_STALE},
        {"§4.3.5 ETag the stored response lacks: stale", "Content-Length: 10", "ETag: \"v1\"",
         EC_HEAD_STALE},
        {"§4.3.5 no validators received, no length: update", "ETag: \"v1\"", "Date: " D0,
         EC_HEAD_UPDATE},
};

START_TEST(test_head)
{
	const struct head_case *c = &head_cases[_i];
	struct ec_hdr st[8], hd[8];
	size_t ns = H(c->stored, st, 8), nh = H(c->head, hd, 8);
	ck_assert_msg(ec_cond_head_check(st, ns, hd, nh) == c->want, "%s", c->name);
}
END_TEST

START_TEST(test_revalidation_flow)
{
	/*
	 * RFC 9111 §4.3: a stored response goes stale, is revalidated with
	 * its validators, a 304 freshens it, and the client's own condition
	 * is then answered from the freshened response.
	 */
	struct ec_hdr st[8], up[8], merged[16], cond[2], rq[4];
	size_t ns = H("Date: " DM1D "\nCache-Control: max-age=60\nETag: \"v1\"\n"
	              "Content-Type: text/plain\nContent-Length: 5",
	              st, 8);
	struct ec_fresh_conf conf;
	struct ec_fresh_req req;
	struct ec_fresh_resp r;
	struct ec_fresh_meta m;
	ec_fresh_conf_init(&conf);
	ec_fresh_resp_parse(200, st, ns, &conf, &r);
	ec_fresh_meta_make(&r, T - 86400, T - 86400, &conf, &m);
	size_t nq = H("If-None-Match: \"v1\"", rq, 4);
	ec_fresh_req_parse(EC_M_GET, rq, nq, &req);
	struct ec_fresh_decision d = ec_fresh_decide(&m, &req, T, &conf);
	ck_assert_int_eq(d.use, EC_USE_REVALIDATE);

	char buf[512];
	size_t k = ec_cond_revalidation(st, ns, cond);
	render(cond, k, buf, sizeof(buf));
	ck_assert_str_eq(buf, "If-None-Match: \"v1\"");

	size_t nu = H("Date: " D0 "\nCache-Control: max-age=300\nETag: \"v1\"", up, 8);
	struct ec_validators sv;
	bool sel;
	ec_cond_validators(200, st, ns, T - 86400, &sv);
	ck_assert_uint_eq(ec_cond_freshen_select(up, nu, &sv, 1, &sel), 1);
	ck_assert_int_eq(ec_cond_merge(st, ns, up, nu, merged, 16, &k), 0);
	render(merged, k, buf, sizeof(buf));
	ck_assert_str_eq(buf, "Content-Type: text/plain|Content-Length: 5|Date: " D0
	                      "|Cache-Control: max-age=300|ETag: \"v1\"");

	ec_fresh_resp_parse(200, merged, k, &conf, &r);
	ec_fresh_meta_make(&r, T - 1, T, &conf, &m);
	d = ec_fresh_decide(&m, &req, T + 10, &conf);
	ck_assert_int_eq(d.use, EC_USE_FRESH);
	ck_assert_int_eq(d.ttl, 289); /* 300 - (1 s delay + 10 s resident) */
	ec_cond_validators(200, merged, k, T, &sv);
	ck_assert_int_eq(ec_cond_evaluate(EC_M_GET, rq, nq, &sv, T + 10), EC_COND_NOT_MODIFIED);
}
END_TEST

static Suite *cond_suite(void)
{
	Suite *s = suite_create("policy/cond");
	TCase *tc = tcase_create("rfc9110-8.8");
	tcase_add_test(tc, test_etag_parse);
	tcase_add_test(tc, test_etag_compare);
	tcase_add_test(tc, test_etag_list);
	tcase_add_test(tc, test_validators);
	suite_add_tcase(s, tc);
	tc = tcase_create("rfc9110-13");
	tcase_add_loop_test(tc, test_evaluate, 0, EC_ARRAY_LEN(cond_cases));
	tcase_add_loop_test(tc, test_if_range, 0, EC_ARRAY_LEN(ifr_cases));
	tcase_add_test(tc, test_304_fields);
	suite_add_tcase(s, tc);
	tc = tcase_create("rfc9111-4.3");
	tcase_add_loop_test(tc, test_revalidation, 0, EC_ARRAY_LEN(reval_cases));
	tcase_add_test(tc, test_freshen_select);
	tcase_add_test(tc, test_merge);
	tcase_add_loop_test(tc, test_head, 0, EC_ARRAY_LEN(head_cases));
	tcase_add_test(tc, test_revalidation_flow);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(cond_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
