/*
 * check_fresh.c — Check suite for policy/fresh.c: storability (RFC 9111
 * §3), freshness lifetime (§4.2.1, §4.2.2), age (§4.2.3, §5.1), the
 * reuse decision (§4, §5.2.1, RFC 5861) and stored fields (§3.1). Every
 * table row names the rule it checks. T is 2023-11-14T22:13:20Z.
 */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

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

#define T      1700000000LL
#define D0     "Tue, 14 Nov 2023 22:13:20 GMT"
#define DM1    "Tue, 14 Nov 2023 22:13:19 GMT"
#define DM10   "Tue, 14 Nov 2023 22:13:10 GMT"
#define DM60   "Tue, 14 Nov 2023 22:12:20 GMT"
#define DM100  "Tue, 14 Nov 2023 22:11:40 GMT"
#define DM1000 "Tue, 14 Nov 2023 21:56:40 GMT"
#define DM1D   "Mon, 13 Nov 2023 22:13:20 GMT"
#define DM100D "Sun, 06 Aug 2023 22:13:20 GMT"
#define DP60   "Tue, 14 Nov 2023 22:14:20 GMT"
#define DP600  "Tue, 14 Nov 2023 22:23:20 GMT"
#define DP1H   "Tue, 14 Nov 2023 23:13:20 GMT"
#define MAXD   EC_DELTA_MAX

START_TEST(test_dates_are_what_we_think)
{
	int64_t t;
	ck_assert(ec_http_date_parse(EC_STR(D0), &t) && t == T);
	ck_assert(ec_http_date_parse(EC_STR(DM1), &t) && t == T - 1);
	ck_assert(ec_http_date_parse(EC_STR(DM10), &t) && t == T - 10);
	ck_assert(ec_http_date_parse(EC_STR(DM60), &t) && t == T - 60);
	ck_assert(ec_http_date_parse(EC_STR(DM100), &t) && t == T - 100);
	ck_assert(ec_http_date_parse(EC_STR(DM1000), &t) && t == T - 1000);
	ck_assert(ec_http_date_parse(EC_STR(DM1D), &t) && t == T - 86400);
	ck_assert(ec_http_date_parse(EC_STR(DM100D), &t) && t == T - 8640000);
	ck_assert(ec_http_date_parse(EC_STR(DP60), &t) && t == T + 60);
	ck_assert(ec_http_date_parse(EC_STR(DP600), &t) && t == T + 600);
	ck_assert(ec_http_date_parse(EC_STR(DP1H), &t) && t == T + 3600);
}
END_TEST

/* ---- freshness lifetime, §4.2.1 / §4.2.2 ---- */

struct life_case {
	const char *name;
	int status;
	const char *hdrs;
	int64_t default_ttl, heuristic_max; /* 0: defaults (none, 86400) */
	int64_t secs;
	enum ec_fresh_source src;
};

static const struct life_case life_cases[] = {
        {"§4.2.1 s-maxage beats max-age", 200, "Cache-Control: max-age=60, s-maxage=120", 0, 0, 120,
         EC_FSRC_S_MAXAGE},
        {"§4.2.1 max-age beats Expires", 200,
         "Cache-Control: max-age=60\nDate: " D0 "\nExpires: " DP1H, 0, 0, 60, EC_FSRC_MAX_AGE},
        {"§5.3 s-maxage: a shared cache ignores Expires", 200,
         "Cache-Control: s-maxage=10\nDate: " D0 "\nExpires: " DP1H, 0, 0, 10, EC_FSRC_S_MAXAGE},
        {"§4.2.1 Expires minus Date", 200, "Date: " D0 "\nExpires: " DP1H, 0, 0, 3600,
         EC_FSRC_EXPIRES},
        {"§4.2.1 Expires minus an earlier Date", 200, "Date: " DM60 "\nExpires: " DP600, 0, 0, 660,
         EC_FSRC_EXPIRES},
        {"§4.2.1 Expires without Date: the receive time stands in", 200, "Expires: " DP600, 0, 0,
         600, EC_FSRC_EXPIRES},
        {"§4.2.1 invalid Date ignored, receive time used", 200, "Date: yesterday\nExpires: " DP600,
         0, 0, 600, EC_FSRC_EXPIRES},
        {"§4.2.1 Expires in the past", 200, "Date: " D0 "\nExpires: " DM60, 0, 0, 0,
         EC_FSRC_EXPIRES},
        {"§4.2.1 Expires equal to Date", 200, "Date: " D0 "\nExpires: " D0, 0, 0, 0,
         EC_FSRC_EXPIRES},
        {"§5.3 invalid Expires \"0\" is already expired", 200, "Date: " D0 "\nExpires: 0", 0, 0, 0,
         EC_FSRC_EXPIRES},
        {"§5.3 invalid Expires \"-1\" is already expired", 200, "Expires: -1", 0, 0, 0,
         EC_FSRC_EXPIRES},
        {"§5.3 non-GMT Expires is invalid", 200, "Expires: Tue, 14 Nov 2023 23:13:20 PST", 0, 0, 0,
         EC_FSRC_EXPIRES},
        {"§4.2.1 two different Expires: stale", 200,
         "Date: " D0 "\nExpires: " DP1H "\nExpires: " DP600, 0, 0, 0, EC_FSRC_CONFLICT},
        {"§4.2.1 two identical Expires are fine", 200,
         "Date: " D0 "\nExpires: " DP1H "\nExpires: " DP1H, 0, 0, 3600, EC_FSRC_EXPIRES},
        {"§4.2.1 invalid max-age: stale (Expires not consulted)", 200,
         "Cache-Control: max-age=abc\nDate: " D0 "\nExpires: " DP1H, 0, 0, 0, EC_FSRC_CONFLICT},
        {"§4.2.1 conflicting max-age: stale", 200, "Cache-Control: max-age=60, max-age=30", 0, 0, 0,
         EC_FSRC_CONFLICT},
        {"§4.2.1 conflicting s-maxage: stale", 200,
         "Cache-Control: s-maxage=60\nCache-Control: s-maxage=6, max-age=600", 0, 0, 0,
         EC_FSRC_CONFLICT},
        {"§4.2.1 valid s-maxage outranks invalid max-age", 200,
         "Cache-Control: s-maxage=60, max-age=x", 0, 0, 60, EC_FSRC_S_MAXAGE},
        {"§1.2.2 huge max-age saturates at 2^31", 200, "Cache-Control: max-age=99999999999", 0, 0,
         MAXD, EC_FSRC_MAX_AGE},
        {"§1.2.2 Expires in year 9999 saturates at 2^31", 200,
         "Date: " D0 "\nExpires: Fri, 31 Dec 9999 23:59:59 GMT", 0, 0, MAXD, EC_FSRC_EXPIRES},
        {"§4.2.2 heuristic: 10 % of Date - Last-Modified", 200,
         "Date: " D0 "\nLast-Modified: " DM1D, 0, 0, 8640, EC_FSRC_HEURISTIC},
        {"§4.2.2 heuristic capped by the default maximum (1 day)", 200,
         "Date: " D0 "\nLast-Modified: " DM100D, 0, 0, 86400, EC_FSRC_HEURISTIC},
        {"§4.2.2 heuristic cap is configurable", 200, "Date: " D0 "\nLast-Modified: " DM1D, 0, 3600,
         3600, EC_FSRC_HEURISTIC},
        {"§4.2.2 heuristic without Date uses the receive time", 200, "Last-Modified: " DM1000, 0, 0,
         100, EC_FSRC_HEURISTIC},
        {"§4.2.2 heuristic rounds down (86399 s → 8639 s)", 200,
         "Date: " D0 "\nLast-Modified: Mon, 13 Nov 2023 22:13:21 GMT", 0, 0, 8639,
         EC_FSRC_HEURISTIC},
        {"§4.2.2 heuristic of a 1 s interval is 0: nothing", 200,
         "Date: " D0 "\nLast-Modified: " DM1, 0, 0, 0, EC_FSRC_NONE},
        {"§4.2.2 heuristic never negative: Last-Modified after Date", 200,
         "Date: " D0 "\nLast-Modified: " DP60, 0, 0, 0, EC_FSRC_NONE},
        {"§4.2.2 no heuristic when explicit freshness is present", 200,
         "Cache-Control: max-age=0\nDate: " D0 "\nLast-Modified: " DM1D, 0, 0, 0, EC_FSRC_MAX_AGE},
        {"§4.2.2 no heuristic for invalid Expires", 200,
         "Expires: 0\nDate: " D0 "\nLast-Modified: " DM1D, 0, 0, 0, EC_FSRC_EXPIRES},
        {"§4.2.2 302 is not heuristically cacheable", 302, "Date: " D0 "\nLast-Modified: " DM1D, 0,
         0, 0, EC_FSRC_NONE},
        {"§4.2.2 public makes a 302 heuristically cacheable", 302,
         "Cache-Control: public\nDate: " D0 "\nLast-Modified: " DM1D, 0, 0, 8640,
         EC_FSRC_HEURISTIC},
        {"RFC 9110 §15.1 404 is heuristically cacheable", 404, "Date: " D0 "\nLast-Modified: " DM1D,
         0, 0, 8640, EC_FSRC_HEURISTIC},
        {"RFC 9110 §15.1 301 is heuristically cacheable", 301, "Date: " D0 "\nLast-Modified: " DM1D,
         0, 0, 8640, EC_FSRC_HEURISTIC},
        {"RFC 7725 §3 451 is heuristically cacheable", 451, "Date: " D0 "\nLast-Modified: " DM1D, 0,
         0, 8640, EC_FSRC_HEURISTIC},
        {"RFC 9110 §15.1 500 is not heuristically cacheable", 500,
         "Date: " D0 "\nLast-Modified: " DM1D, 0, 0, 0, EC_FSRC_NONE},
        {"default TTL without Last-Modified", 200, "Date: " D0, 300, 0, 300, EC_FSRC_DEFAULT},
        {"heuristic before default TTL", 200, "Date: " D0 "\nLast-Modified: " DM1D, 300, 0, 8640,
         EC_FSRC_HEURISTIC},
        {"default TTL only for heuristically cacheable statuses", 302, "Date: " D0, 300, 0, 0,
         EC_FSRC_NONE},
        {"explicit max-age=0 beats the default TTL", 200, "Cache-Control: max-age=0", 300, 0, 0,
         EC_FSRC_MAX_AGE},
        {"no freshness information at all", 200, "Date: " D0, 0, 0, 0, EC_FSRC_NONE},
        {"RFC 9213 §2.2 targeted field: Expires ignored, heuristic applies", 200,
         "CDN-Cache-Control: must-revalidate\nDate: " D0 "\nExpires: " DP1H
         "\nLast-Modified: " DM1D,
         0, 0, 8640, EC_FSRC_HEURISTIC},
        {"RFC 9213 §3.1 CDN max-age=600 beats CC s-maxage=120", 200,
         "Cache-Control: max-age=60, s-maxage=120\nCDN-Cache-Control: max-age=600", 0, 0, 600,
         EC_FSRC_MAX_AGE},
        {"RFC 9213 Surrogate-Control beats Cache-Control", 200,
         "Cache-Control: no-cache, max-age=0\nSurrogate-Control: max-age=300", 0, 0, 300,
         EC_FSRC_MAX_AGE},
        {"RFC 9213 §2.1 invalid targeted field: Cache-Control and Expires apply", 200,
         "CDN-Cache-Control: max-age=600,\nDate: " D0 "\nExpires: " DP600, 0, 0, 600,
         EC_FSRC_EXPIRES},
};

START_TEST(test_lifetime)
{
	const struct life_case *c = &life_cases[_i];
	struct ec_hdr h[8];
	size_t n = H(c->hdrs, h, 8);
	struct ec_fresh_conf conf;
	struct ec_fresh_resp r;
	ec_fresh_conf_init(&conf);
	if (c->default_ttl)
		conf.default_ttl = c->default_ttl;
	if (c->heuristic_max)
		conf.heuristic_max = c->heuristic_max;
	ec_fresh_resp_parse(c->status, h, n, &conf, &r);
	struct ec_lifetime l = ec_fresh_lifetime(&r, T, &conf);
	ck_assert_msg(l.secs == c->secs, "%s: lifetime %lld, expected %lld", c->name,
	              (long long)l.secs, (long long)c->secs);
	ck_assert_msg(l.src == c->src, "%s: source %d, expected %d", c->name, l.src, c->src);
}
END_TEST

/* ---- age, §4.2.3 and §5.1 ---- */

struct age_case {
	const char *name;
	const char *hdrs;
	int64_t request_time, response_time, now;
	int64_t initial, current;
};

static const struct age_case age_cases[] = {
        {"§4.2.3 no Date, no Age: zero", "", T, T, T, 0, 0},
        {"§4.2.3 resident time adds up", "", T, T, T + 100, 0, 100},
        {"§4.2.3 apparent_age = response_time - date_value", "Date: " DM60, T, T, T, 60, 60},
        {"§4.2.3 apparent_age is never negative", "Date: " DP60, T, T, T + 5, 0, 5},
        {"§4.2.3 corrected_age_value = age_value + response_delay", "Date: " D0 "\nAge: 30", T - 2,
         T, T, 32, 32},
        {"§4.2.3 corrected_initial_age takes the larger: apparent", "Date: " DM100 "\nAge: 30",
         T - 2, T, T + 10, 100, 110},
        {"§4.2.3 corrected_initial_age takes the larger: corrected", "Date: " DM10 "\nAge: 100",
         T - 5, T, T, 105, 105},
        {"§4.2.3 response delay alone", "Date: " D0, T - 3, T, T, 3, 3},
        {"§4.2.3 clock step: negative response delay counts as 0", "Age: 10", T + 5, T, T, 10, 10},
        {"§4.2.3 clock step: now before response_time", "Age: 10", T, T, T - 50, 10, 10},
        {"§5.1 invalid Age is ignored", "Age: abc", T - 2, T, T, 2, 2},
        {"§5.1 negative Age is ignored", "Age: -5", T - 2, T, T, 2, 2},
        {"§5.1 decimal Age is ignored", "Age: 1.5", T, T, T, 0, 0},
        {"§5.1 empty Age is ignored", "Age:", T, T, T, 0, 0},
        {"§5.1 list-valued Age: the first member", "Age: 10, 20", T, T, T, 10, 10},
        {"§5.1 two Age lines: the first", "Age: 20\nAge: 10", T, T, T, 20, 20},
        {"§5.1 leading zeros", "Age: 007", T, T, T, 7, 7},
        {"§1.2.2 huge Age saturates at 2^31", "Age: 99999999999999999999", T, T, T, MAXD, MAXD},
        {"§1.2.2 current_age saturates at 2^31", "Age: 2147483000", T, T, T + 1000, 2147483000,
         MAXD},
        {"§4.2.3 RFC 2616-style example: 1 s delay, 5 s apparent, Age 3",
         "Date: Tue, 14 Nov 2023 22:13:15 GMT\nAge: 3", T - 1, T, T + 60, 5, 65},
};

START_TEST(test_age)
{
	const struct age_case *c = &age_cases[_i];
	struct ec_hdr h[8];
	size_t n = H(c->hdrs, h, 8);
	struct ec_fresh_resp r;
	ec_fresh_resp_parse(200, h, n, NULL, &r);
	int64_t init = ec_fresh_initial_age(&r, c->request_time, c->response_time);
	ck_assert_msg(init == c->initial, "%s: initial age %lld, expected %lld", c->name,
	              (long long)init, (long long)c->initial);
	int64_t cur = ec_fresh_current_age(init, c->response_time, c->now);
	ck_assert_msg(cur == c->current, "%s: current age %lld, expected %lld", c->name,
	              (long long)cur, (long long)c->current);
}
END_TEST

/* ---- storability, §3 ---- */

struct store_case {
	const char *name;
	enum ec_method method; /* 0: GET */
	const char *req;
	int status;
	const char *resp;
	int64_t default_ttl;
	enum ec_store_verdict verdict;
	enum ec_cs_detail why;
	bool strip;
};

#define YES   EC_STORE_YES, EC_CS_DETAIL_NONE
#define NO(w) EC_STORE_NO, EC_CS_DETAIL_##w

static const struct store_case store_cases[] = {
        {"§3 200 with max-age", 0, "", 200, "Cache-Control: max-age=60", 0, YES},
        {"§3 POST responses are not stored (edgecache's choice)", EC_M_POST, "", 200,
         "Cache-Control: max-age=60\nContent-Location: /x", 0, NO(METHOD)},
        {"§3 HEAD responses are not stored (fetch HEAD misses with GET)", EC_M_HEAD, "", 200,
         "Cache-Control: max-age=60", 0, NO(METHOD)},
        {"§3 PUT", EC_M_PUT, "", 200, "Cache-Control: max-age=60", 0, NO(METHOD)},
        {"§3 unknown method", EC_M_OTHER, "", 200, "Cache-Control: max-age=60", 0, NO(METHOD)},
        {"§3 status must be final: 103", 0, "", 103, "Cache-Control: max-age=60", 0, NO(STATUS)},
        {"§3 out-of-range status", 0, "", 1000, "Cache-Control: max-age=60", 0, NO(STATUS)},
        {"§3.3 206 is not stored (no partial storage)", 0, "", 206, "Cache-Control: max-age=60", 0,
         NO(PARTIAL)},
        {"§4.3.4 304 is not stored as a response", 0, "", 304, "Cache-Control: max-age=60", 0,
         NO(STATUS)},
        {"§5.2.2.5 response no-store", 0, "", 200, "Cache-Control: no-store, max-age=60", 0,
         NO(NO_STORE)},
        {"§5.2.2.5 no-store beats public", 0, "", 200, "Cache-Control: public, no-store", 0,
         NO(NO_STORE)},
        {"§5.2.1.5 request no-store", 0, "Cache-Control: no-store", 200,
         "Cache-Control: max-age=60", 0, NO(REQ_NO_STORE)},
        {"§5.2.2.7 unqualified private", 0, "", 200, "Cache-Control: private, max-age=60", 0,
         NO(PRIVATE)},
        {"§5.2.2.7 private beats public", 0, "", 200, "Cache-Control: public, private", 0,
         NO(PRIVATE)},
        {"§5.2.2.7 private with an empty list reads unqualified", 0, "", 200,
         "Cache-Control: private=\"\", max-age=60", 0, NO(PRIVATE)},
        {"§5.2.2.7 qualified private: stored without those fields", 0, "", 200,
         "Cache-Control: private=\"Set-Cookie\", max-age=60", 0, YES, true},
        {"§5.2.2.4 qualified no-cache: stored without those fields", 0, "", 200,
         "Cache-Control: no-cache=\"Set-Cookie\", max-age=60", 0, YES, true},
        {"§3.5 Authorization without a permitting directive", 0, "Authorization: Basic eDp5", 200,
         "Cache-Control: max-age=60", 0, NO(AUTHORIZATION)},
        {"§3.5 Authorization with public", 0, "Authorization: Basic eDp5", 200,
         "Cache-Control: public, max-age=60", 0, YES},
        {"§3.5 Authorization with s-maxage", 0, "Authorization: Basic eDp5", 200,
         "Cache-Control: s-maxage=60", 0, YES},
        {"§3.5 Authorization with must-revalidate", 0, "Authorization: Basic eDp5", 200,
         "Cache-Control: must-revalidate, max-age=60", 0, YES},
        {"§3.5 Authorization with public in CDN-Cache-Control", 0, "Authorization: Bearer x", 200,
         "CDN-Cache-Control: public, max-age=60", 0, YES},
        {"§4.1 Vary: * never matches, not stored", 0, "", 200,
         "Cache-Control: max-age=60\nVary: Accept, *", 0, NO(VARY_STAR)},
        {"§3 302 without explicit freshness", 0, "", 302, "Location: /x\nETag: \"a\"", 0,
         NO(NO_FRESHNESS)},
        {"§3 302 with max-age", 0, "", 302, "Location: /x\nCache-Control: max-age=60", 0, YES},
        {"§3 307 with Expires", 0, "", 307, "Date: " D0 "\nExpires: " DP600, 0, YES},
        {"§3 302 with invalid Expires and a validator", 0, "", 302, "Expires: 0\nETag: \"a\"", 0,
         YES},
        {"§3 heuristically cacheable 200 with Last-Modified", 0, "", 200,
         "Date: " D0 "\nLast-Modified: " DM1D, 0, YES},
        {"§3 200 with nothing: not worth storing", 0, "", 200, "Content-Type: text/plain", 0,
         NO(NO_FRESHNESS)},
        {"§3 200 with only an ETag: stored for revalidation", 0, "", 200, "ETag: \"x\"", 0, YES},
        {"§3 max-age=0 with a validator", 0, "", 200, "Cache-Control: max-age=0\nETag: \"x\"", 0,
         YES},
        {"§3 max-age=0 without a validator", 0, "", 200, "Cache-Control: max-age=0", 0,
         NO(NO_FRESHNESS)},
        {"§5.2.2.4 no-cache without a validator", 0, "", 200, "Cache-Control: no-cache, max-age=60",
         0, NO(NO_FRESHNESS)},
        {"§5.2.2.4 no-cache with a validator", 0, "", 200,
         "Cache-Control: no-cache\nLast-Modified: " DM1D, 0, YES},
        {"§5.2.2.3 must-understand overrides no-store for an understood status", 0, "", 200,
         "Cache-Control: must-understand, no-store, max-age=60", 0, YES},
        {"§5.2.2.3 must-understand with a status not understood", 0, "", 299,
         "Cache-Control: must-understand, no-store, max-age=60", 0, NO(MUST_UNDERSTAND)},
        {"§5.2.2.3 must-understand with 206: understood, still partial", 0, "", 206,
         "Cache-Control: must-understand, no-store, max-age=60", 0, NO(PARTIAL)},
        {"§3 unknown status with explicit freshness is storable", 0, "", 299,
         "Cache-Control: max-age=60", 0, YES},
        {"§5.2.2.9 public makes a 500 storable", 0, "", 500,
         "Cache-Control: public\nDate: " D0 "\nLast-Modified: " DM1D, 0, YES},
        {"§3 500 without freshness", 0, "", 500, "ETag: \"e\"", 0, NO(NO_FRESHNESS)},
        {"§3 404 with a configured default TTL", 0, "", 404, "Content-Type: text/html", 60, YES},
        {"RFC 5861 §4 stale-if-error makes a stale response worth storing", 0, "", 200,
         "Cache-Control: max-age=0, stale-if-error=60", 0, YES},
        {"RFC 9213 §3.1 CDN max-age overrides CC no-store", 0, "", 200,
         "Cache-Control: no-store\nCDN-Cache-Control: max-age=600", 0, YES},
        {"RFC 9213 §3.1 CDN none: CC no-store ignored, freshness still needed", 0, "", 200,
         "Cache-Control: no-store\nCDN-Cache-Control: none", 0, NO(NO_FRESHNESS)},
        {"RFC 9213 §3.1 CDN none with Last-Modified", 0, "", 200,
         "Cache-Control: no-store\nCDN-Cache-Control: none\nDate: " D0 "\nLast-Modified: " DM1D, 0,
         YES},
        {"RFC 9213 §2.2 CDN no-store overrides CC max-age", 0, "", 200,
         "Cache-Control: max-age=600\nCDN-Cache-Control: no-store", 0, NO(NO_STORE)},
        {"§5.2.2.10 s-maxage alone", 0, "", 200, "Cache-Control: s-maxage=60", 0, YES},
        {"§5.4 request Pragma does not affect storing", 0, "Pragma: no-cache", 200,
         "Cache-Control: max-age=60", 0, YES},
        {"§5.2.1.4 request no-cache does not affect storing", 0, "Cache-Control: no-cache", 200,
         "Cache-Control: max-age=60", 0, YES},
};

START_TEST(test_storable)
{
	const struct store_case *c = &store_cases[_i];
	struct ec_hdr rqh[8], rsh[8];
	size_t nq = H(c->req, rqh, 8), ns = H(c->resp, rsh, 8);
	struct ec_fresh_conf conf;
	struct ec_fresh_req rq;
	struct ec_fresh_resp rs;
	ec_fresh_conf_init(&conf);
	conf.default_ttl = c->default_ttl;
	ec_fresh_req_parse(c->method ? c->method : EC_M_GET, rqh, nq, &rq);
	ec_fresh_resp_parse(c->status, rsh, ns, &conf, &rs);
	struct ec_store_decision d = ec_fresh_storable(&rq, &rs, T, &conf);
	ck_assert_msg(d.verdict == c->verdict && d.why == c->why,
	              "%s: verdict %d why %s, expected %d %s", c->name, d.verdict, d.reason,
	              c->verdict, ec_cs_detail_str(c->why));
	ck_assert_str_eq(d.reason, ec_cs_detail_str(c->why));
	ck_assert_msg(d.strip == c->strip, "%s: strip %d", c->name, d.strip);
	/* the combined parse-and-judge gives the same verdict and lifetime */
	struct ec_fresh_resp rs2;
	struct ec_store_decision d2 = ec_fresh_store_check(&rq, c->status, rsh, ns, T, &conf, &rs2);
	ck_assert_msg(d2.verdict == d.verdict && d2.why == d.why && d2.strip == d.strip &&
	                  d2.life.secs == d.life.secs && d2.life.src == d.life.src,
	              "%s: store_check verdict %d why %s", c->name, d2.verdict, d2.reason);
}
END_TEST

START_TEST(test_storable_lifetime)
{
	/* the verdict carries the lifetime it was judged with */
	struct ec_hdr rsh[4];
	size_t ns = H("Date: " D0 "\nLast-Modified: " DM1D, rsh, 4);
	struct ec_fresh_conf conf;
	struct ec_fresh_req rq;
	struct ec_fresh_resp rs;
	ec_fresh_conf_init(&conf);
	ec_fresh_req_parse(EC_M_GET, NULL, 0, &rq);
	ec_fresh_resp_parse(200, rsh, ns, &conf, &rs);
	struct ec_store_decision d = ec_fresh_storable(&rq, &rs, T, &conf);
	ck_assert_int_eq(d.verdict, EC_STORE_YES);
	ck_assert_int_eq(d.life.secs, 8640);
	ck_assert_int_eq(d.life.src, EC_FSRC_HEURISTIC);
	ck_assert_str_eq(d.reason, "");
}
END_TEST

START_TEST(test_status_table)
{
	/* RFC 9110 §15.1: the heuristically cacheable codes, and 451 (RFC 7725 §3) */
	static const int heur[] = {200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 451, 501};
	for (int s = 100; s < 600; s++) {
		bool want = false;
		for (size_t i = 0; i < EC_ARRAY_LEN(heur); i++)
			want |= heur[i] == s;
		ck_assert_msg(ec_fresh_status_heuristic(s) == want, "status %d", s);
	}
	ck_assert(ec_fresh_status_understood(200));
	ck_assert(ec_fresh_status_understood(304));
	ck_assert(ec_fresh_status_understood(503));
	ck_assert(!ec_fresh_status_understood(299));
	ck_assert(!ec_fresh_status_understood(103));
	ck_assert(!ec_fresh_status_understood(418));
}
END_TEST

START_TEST(test_keep_field)
{
	struct ec_hdr h[8];
	struct ec_fresh_resp rs;
	size_t n = H("Connection: X-Hop, close\nCache-Control: private=\"Set-Cookie\", "
	             "no-cache=\"X-Secret\", max-age=60",
	             h, 8);
	ec_fresh_resp_parse(200, h, n, NULL, &rs);
	/* §3.1 and RFC 9110 §7.6.1 */
	static const char *const gone[] = {
	        "Connection",
	        "keep-alive",
	        "Proxy-Connection",
	        "TE",
	        "Transfer-Encoding",
	        "Upgrade",
	        "Trailer",
	        "Proxy-Authenticate",
	        "Proxy-Authentication-Info",
	        "Proxy-Authorization",
	        "X-Hop",
	        "x-hop",
	        /* §5.2.2.7, §5.2.2.4 */
	        "Set-Cookie",
	        "set-cookie",
	        "X-Secret",
	};
	for (size_t i = 0; i < EC_ARRAY_LEN(gone); i++)
		ck_assert_msg(!ec_fresh_keep_field(&rs, h, n, ec_str_cstr(gone[i])), "%s kept",
		              gone[i]);
	static const char *const kept[] = {"Content-Type", "Cache-Control", "ETag", "Set-Cookie2",
	                                   "Vary",         "Age",           "Date", "X-Hop2"};
	for (size_t i = 0; i < EC_ARRAY_LEN(kept); i++)
		ck_assert_msg(ec_fresh_keep_field(&rs, h, n, ec_str_cstr(kept[i])), "%s dropped",
		              kept[i]);
	/* without response policy: only the §3.1 rules */
	ck_assert(ec_fresh_keep_field(NULL, h, n, EC_STR("Set-Cookie")));
	ck_assert(!ec_fresh_keep_field(NULL, h, n, EC_STR("X-Hop")));
}
END_TEST

START_TEST(test_req_parse)
{
	struct ec_hdr h[4];
	struct ec_fresh_req rq;
	size_t n = H("Pragma: no-cache", h, 4);
	ec_fresh_req_parse(EC_M_GET, h, n, &rq);
	ck_assert(rq.no_cache && !rq.has_cc && !rq.authorization);
	/* §5.4: Pragma is ignored when Cache-Control is present, even empty */
	n = H("Pragma: no-cache\nCache-Control:", h, 4);
	ec_fresh_req_parse(EC_M_GET, h, n, &rq);
	ck_assert(!rq.no_cache && rq.has_cc);
	n = H("Pragma: foo, No-Cache", h, 4);
	ec_fresh_req_parse(EC_M_GET, h, n, &rq);
	ck_assert(rq.no_cache);
	n = H("Cache-Control: no-cache\nAuthorization: x", h, 4);
	ec_fresh_req_parse(EC_M_HEAD, h, n, &rq);
	ck_assert(rq.no_cache && rq.has_cc && rq.authorization);
	ck_assert_int_eq(rq.method, EC_M_HEAD);
}
END_TEST

/* ---- reuse decision, §4 and §5.2.1 ---- */

struct use_case {
	const char *name;
	bool miss;
	int64_t lifetime, initial_age, swr, sie;
	uint32_t flags;
	int64_t elapsed; /* now - response_time */
	const char *req;
	enum ec_method method;
	int64_t stale_on_error;
	enum ec_fresh_use use;
	enum ec_cs_detail why;
	bool on_error;
	int64_t age, ttl;
};

#define U(x)    EC_USE_##x
#define W(x)    EC_CS_DETAIL_##x
#define NOSTALE EC_FMETA_NO_STALE
#define NOCACHE EC_FMETA_NO_CACHE

static const struct use_case use_cases[] = {
        {"§4.2 fresh: freshness_lifetime > current_age", .lifetime = 60, .elapsed = 10, .req = "",
         .use = U(FRESH), .why = W(FRESH), .on_error = true, .age = 10, .ttl = 50},
        {"§4.2 age equal to the lifetime is stale", .lifetime = 60, .elapsed = 60, .req = "",
         .use = U(REVALIDATE), .why = W(STALE), .age = 60, .ttl = 0},
        {"§4.3 stale: revalidate", .lifetime = 60, .elapsed = 100, .req = "", .use = U(REVALIDATE),
         .why = W(STALE), .age = 100, .ttl = -40},
        {"§4.2.3 current_age includes the initial age", .lifetime = 60, .initial_age = 50,
         .elapsed = 5, .req = "", .use = U(FRESH), .why = W(FRESH), .on_error = true, .age = 55,
         .ttl = 5},
        {"§4.2.3 initial age alone makes it stale", .lifetime = 60, .initial_age = 70, .req = "",
         .use = U(REVALIDATE), .why = W(STALE), .age = 70, .ttl = -10},
        {"§5.2.2.4 response no-cache: validate every use", .lifetime = 60, .flags = NOCACHE,
         .req = "", .use = U(REVALIDATE), .why = W(NO_CACHE), .ttl = 60},
        {"§5.2.1.4 request no-cache", .lifetime = 60, .elapsed = 1,
         .req = "Cache-Control: no-cache", .use = U(REVALIDATE), .why = W(REQ_NO_CACHE),
         .on_error = true, .age = 1, .ttl = 59},
        {"§5.4 Pragma: no-cache without Cache-Control", .lifetime = 60, .req = "Pragma: no-cache",
         .use = U(REVALIDATE), .why = W(REQ_NO_CACHE), .on_error = true, .ttl = 60},
        {"§5.4 Pragma ignored when Cache-Control is present", .lifetime = 60,
         .req = "Pragma: no-cache\nCache-Control: max-stale=0", .use = U(FRESH), .why = W(FRESH),
         .on_error = true, .ttl = 60},
        {"§5.2.1.1 max-age=5 refuses an age of 10", .lifetime = 60, .elapsed = 10,
         .req = "Cache-Control: max-age=5", .use = U(REVALIDATE), .why = W(REQ_MAX_AGE),
         .on_error = true, .age = 10, .ttl = 50},
        {"§5.2.1.1 max-age=10 accepts an age of 10", .lifetime = 60, .elapsed = 10,
         .req = "Cache-Control: max-age=10", .use = U(FRESH), .why = W(FRESH), .on_error = true,
         .age = 10, .ttl = 50},
        {"§5.2.1.1 max-age=0 accepts an age of 0", .lifetime = 60,
         .req = "Cache-Control: max-age=0", .use = U(FRESH), .why = W(FRESH), .on_error = true,
         .ttl = 60},
        {"§5.2.1.1 max-age=0 refuses an age of 1", .lifetime = 60, .elapsed = 1,
         .req = "Cache-Control: max-age=0", .use = U(REVALIDATE), .why = W(REQ_MAX_AGE),
         .on_error = true, .age = 1, .ttl = 59},
        {"§5.2.1.1 invalid request max-age counts as 0", .lifetime = 60, .elapsed = 1,
         .req = "Cache-Control: max-age=soon", .use = U(REVALIDATE), .why = W(REQ_MAX_AGE),
         .on_error = true, .age = 1, .ttl = 59},
        {"§5.2.1.1 max-age without max-stale: no stale", .lifetime = 60, .elapsed = 100,
         .req = "Cache-Control: max-age=1000", .use = U(REVALIDATE), .why = W(STALE), .age = 100,
         .ttl = -40},
        {"§5.2.1.3 min-fresh=20 with 50 s left", .lifetime = 60, .elapsed = 10,
         .req = "Cache-Control: min-fresh=20", .use = U(FRESH), .why = W(FRESH), .on_error = true,
         .age = 10, .ttl = 50},
        {"§5.2.1.3 min-fresh=50 with 50 s left", .lifetime = 60, .elapsed = 10,
         .req = "Cache-Control: min-fresh=50", .use = U(FRESH), .why = W(FRESH), .on_error = true,
         .age = 10, .ttl = 50},
        {"§5.2.1.3 min-fresh=51 with 50 s left", .lifetime = 60, .elapsed = 10,
         .req = "Cache-Control: min-fresh=51", .use = U(REVALIDATE), .why = W(REQ_MIN_FRESH),
         .on_error = true, .age = 10, .ttl = 50},
        {"§5.2.1.3 invalid min-fresh cannot be satisfied", .lifetime = 60,
         .req = "Cache-Control: min-fresh=x", .use = U(REVALIDATE), .why = W(REQ_MIN_FRESH),
         .on_error = true, .ttl = 60},
        {"§5.2.1.2 max-stale without value accepts any staleness", .lifetime = 60,
         .elapsed = 100000, .req = "Cache-Control: max-stale", .use = U(STALE), .why = W(MAX_STALE),
         .age = 100000, .ttl = -99940},
        {"§5.2.1.2 max-stale=40 covers 40 s of staleness", .lifetime = 60, .elapsed = 100,
         .req = "Cache-Control: max-stale=40", .use = U(STALE), .why = W(MAX_STALE), .age = 100,
         .ttl = -40},
        {"§5.2.1.2 max-stale=39 does not", .lifetime = 60, .elapsed = 100,
         .req = "Cache-Control: max-stale=39", .use = U(REVALIDATE), .why = W(STALE), .age = 100,
         .ttl = -40},
        {"§5.2.1.2 invalid max-stale is ignored", .lifetime = 60, .elapsed = 100,
         .req = "Cache-Control: max-stale=x", .use = U(REVALIDATE), .why = W(STALE), .age = 100,
         .ttl = -40},
        {"§5.2.1.2 max-stale with max-age: age bound still applies", .lifetime = 60, .elapsed = 100,
         .req = "Cache-Control: max-stale, max-age=90", .use = U(REVALIDATE), .why = W(REQ_MAX_AGE),
         .age = 100, .ttl = -40},
        {"§5.2.1.3 min-fresh with a stale response", .lifetime = 60, .elapsed = 100,
         .req = "Cache-Control: max-stale, min-fresh=0", .use = U(REVALIDATE),
         .why = W(REQ_MIN_FRESH), .age = 100, .ttl = -40},
        {"§4.2.4/§5.2.2.2 must-revalidate forbids max-stale", .lifetime = 60, .flags = NOSTALE,
         .elapsed = 100, .req = "Cache-Control: max-stale", .use = U(REVALIDATE),
         .why = W(MUST_REVALIDATE), .age = 100, .ttl = -40},
        {"§5.2.2.2 must-revalidate does not affect a fresh response", .lifetime = 60,
         .flags = NOSTALE, .elapsed = 59, .req = "", .use = U(FRESH), .why = W(FRESH),
         .on_error = true, .age = 59, .ttl = 1},
        {"RFC 5861 §3 stale-while-revalidate=30 within the window", .lifetime = 600, .swr = 30,
         .elapsed = 620, .req = "", .use = U(STALE_REVALIDATE), .why = W(STALE_WHILE_REVALIDATE),
         .age = 620, .ttl = -20},
        {"RFC 5861 §3 the window's last second", .lifetime = 600, .swr = 30, .elapsed = 630,
         .req = "", .use = U(STALE_REVALIDATE), .why = W(STALE_WHILE_REVALIDATE), .age = 630,
         .ttl = -30},
        {"RFC 5861 §3 past the window", .lifetime = 600, .swr = 30, .elapsed = 631, .req = "",
         .use = U(REVALIDATE), .why = W(STALE), .age = 631, .ttl = -31},
        {"RFC 5861 §3 the moment it turns stale", .lifetime = 600, .swr = 30, .elapsed = 600,
         .req = "", .use = U(STALE_REVALIDATE), .why = W(STALE_WHILE_REVALIDATE), .age = 600},
        {"RFC 5861 §3 no window, staleness 0", .lifetime = 600, .elapsed = 600, .req = "",
         .use = U(REVALIDATE), .why = W(STALE), .age = 600},
        {"§4.2.4 must-revalidate forbids stale-while-revalidate", .lifetime = 600, .swr = 30,
         .flags = NOSTALE, .elapsed = 620, .req = "", .use = U(REVALIDATE),
         .why = W(MUST_REVALIDATE), .age = 620, .ttl = -20},
        {"RFC 5861 §3 request no-cache is honoured first", .lifetime = 600, .swr = 30,
         .elapsed = 620, .req = "Cache-Control: no-cache", .use = U(REVALIDATE),
         .why = W(REQ_NO_CACHE), .age = 620, .ttl = -20},
        {"RFC 5861 §4 stale-if-error=1200: serve stale if the origin fails", .lifetime = 600,
         .sie = 1200, .elapsed = 1000, .req = "", .use = U(REVALIDATE), .why = W(STALE),
         .on_error = true, .age = 1000, .ttl = -400},
        {"RFC 5861 §4 stale-if-error window's last second", .lifetime = 600, .sie = 1200,
         .elapsed = 1800, .req = "", .use = U(REVALIDATE), .why = W(STALE), .on_error = true,
         .age = 1800, .ttl = -1200},
        {"RFC 5861 §4 past the stale-if-error window", .lifetime = 600, .sie = 1200,
         .elapsed = 1801, .req = "", .use = U(REVALIDATE), .why = W(STALE), .age = 1801,
         .ttl = -1201},
        {"RFC 5861 §4 the request's stale-if-error overrides", .lifetime = 600, .sie = 1200,
         .elapsed = 1000, .req = "Cache-Control: stale-if-error=10", .use = U(REVALIDATE),
         .why = W(STALE), .age = 1000, .ttl = -400},
        {"RFC 5861 §4 stale-if-error from the request alone", .lifetime = 600, .elapsed = 1000,
         .req = "Cache-Control: stale-if-error=600", .use = U(REVALIDATE), .why = W(STALE),
         .on_error = true, .age = 1000, .ttl = -400},
        {"§4.2.4 must-revalidate forbids stale-if-error", .lifetime = 600, .sie = 1200,
         .flags = NOSTALE, .elapsed = 1000, .req = "", .use = U(REVALIDATE),
         .why = W(MUST_REVALIDATE), .age = 1000, .ttl = -400},
        {"§4.2.4 configured stale-on-error when disconnected", .lifetime = 600, .elapsed = 1000,
         .req = "", .stale_on_error = 3600, .use = U(REVALIDATE), .why = W(STALE), .on_error = true,
         .age = 1000, .ttl = -400},
        {"§4.2.4 no-cache forbids serving on error, even fresh", .lifetime = 600, .sie = 1200,
         .flags = NOCACHE, .req = "", .use = U(REVALIDATE), .why = W(NO_CACHE), .ttl = 600},
        {"§5.2.1.7 only-if-cached with a fresh response", .lifetime = 60,
         .req = "Cache-Control: only-if-cached", .use = U(FRESH), .why = W(FRESH), .on_error = true,
         .ttl = 60},
        {"§5.2.1.7 only-if-cached with a stale response: 504", .lifetime = 60, .elapsed = 100,
         .req = "Cache-Control: only-if-cached", .use = U(GATEWAY_TIMEOUT),
         .why = W(ONLY_IF_CACHED), .age = 100, .ttl = -40},
        {"§5.2.1.7 only-if-cached and max-stale: serve stale", .lifetime = 60, .elapsed = 100,
         .req = "Cache-Control: only-if-cached, max-stale", .use = U(STALE), .why = W(MAX_STALE),
         .age = 100, .ttl = -40},
        {"§5.2.1.7 only-if-cached with response no-cache: 504", .lifetime = 60, .flags = NOCACHE,
         .req = "Cache-Control: only-if-cached", .use = U(GATEWAY_TIMEOUT),
         .why = W(ONLY_IF_CACHED), .ttl = 60},
        {"§5.2.1.7 only-if-cached and a miss: 504", .miss = true,
         .req = "Cache-Control: only-if-cached", .use = U(GATEWAY_TIMEOUT),
         .why = W(ONLY_IF_CACHED)},
        {"§4 a miss", .miss = true, .req = "", .use = U(MISS), .why = W(NONE)},
        {"§5.2.1.5 request no-store may be served from cache", .lifetime = 60,
         .req = "Cache-Control: no-store", .use = U(FRESH), .why = W(FRESH), .on_error = true,
         .ttl = 60},
        {"§4 POST is forwarded", .lifetime = 60, .req = "", .method = EC_M_POST, .use = U(BYPASS),
         .why = W(METHOD)},
        {"§4 unknown methods are forwarded", .miss = true, .req = "", .method = EC_M_OTHER,
         .use = U(BYPASS), .why = W(METHOD)},
        {"RFC 9110 §9.3.2 HEAD from a stored GET", .lifetime = 60, .req = "", .method = EC_M_HEAD,
         .use = U(FRESH), .why = W(FRESH), .on_error = true, .ttl = 60},
        {"RFC 8246 immutable does not override request no-cache", .lifetime = 600,
         .flags = EC_FMETA_IMMUTABLE, .req = "Cache-Control: no-cache", .use = U(REVALIDATE),
         .why = W(REQ_NO_CACHE), .on_error = true, .ttl = 600},
};

START_TEST(test_decide)
{
	const struct use_case *c = &use_cases[_i];
	struct ec_hdr h[8];
	size_t n = H(c->req, h, 8);
	struct ec_fresh_conf conf;
	struct ec_fresh_req rq;
	ec_fresh_conf_init(&conf);
	conf.stale_on_error = c->stale_on_error;
	ec_fresh_req_parse(c->method ? c->method : EC_M_GET, h, n, &rq);
	struct ec_fresh_meta m = {
	        .response_time = T,
	        .initial_age = c->initial_age,
	        .lifetime = c->lifetime,
	        .swr = c->swr,
	        .sie = c->sie,
	        .flags = c->flags,
	};
	struct ec_fresh_decision d =
	        ec_fresh_decide(c->miss ? NULL : &m, &rq, T + c->elapsed, &conf);
	ck_assert_msg(d.use == c->use, "%s: use %d, expected %d", c->name, d.use, c->use);
	ck_assert_msg(d.why == c->why, "%s: why %s, expected %s", c->name, ec_cs_detail_str(d.why),
	              ec_cs_detail_str(c->why));
	ck_assert_msg(d.serve_on_error == c->on_error, "%s: serve_on_error %d", c->name,
	              d.serve_on_error);
	ck_assert_msg(d.age == c->age && d.ttl == c->ttl, "%s: age %lld ttl %lld", c->name,
	              (long long)d.age, (long long)d.ttl);
}
END_TEST

START_TEST(test_meta_end_to_end)
{
	/* request sent at T-2, response at T: Date 10 s old, Age 30 */
	struct ec_hdr h[8];
	size_t n = H("Date: " DM10 "\nAge: 30\nETag: \"v1\"\n"
	             "Cache-Control: max-age=600, stale-while-revalidate=30, stale-if-error=60, "
	             "must-revalidate, immutable",
	             h, 8);
	struct ec_fresh_conf conf;
	struct ec_fresh_resp r;
	struct ec_fresh_meta m;
	ec_fresh_conf_init(&conf);
	ec_fresh_resp_parse(200, h, n, &conf, &r);
	ec_fresh_meta_make(&r, T - 2, T, &conf, &m);
	ck_assert_int_eq(m.response_time, T);
	ck_assert_int_eq(m.initial_age, 32); /* max(10, 30 + 2) */
	ck_assert_int_eq(m.lifetime, 600);
	ck_assert_int_eq(m.swr, 30);
	ck_assert_int_eq(m.sie, 60);
	ck_assert_uint_eq(m.flags, EC_FMETA_NO_STALE | EC_FMETA_IMMUTABLE | EC_FMETA_VALIDATOR);
	ck_assert_uint_eq(m.source, EC_FSRC_MAX_AGE);
	ck_assert_int_eq(ec_fresh_meta_age(&m, T + 100), 132);
	ck_assert_int_eq(ec_fresh_age_value(&m, T + 100), 132);
	ck_assert_int_eq(ec_fresh_ttl(&m, T + 100), 468);
	ck_assert_int_eq(ec_fresh_ttl(&m, T + 700), -132);
	/* must-revalidate: stale means revalidate despite the windows */
	struct ec_fresh_req rq;
	ec_fresh_req_parse(EC_M_GET, NULL, 0, &rq);
	struct ec_fresh_decision d = ec_fresh_decide(&m, &rq, T + 570, &conf);
	ck_assert_int_eq(d.use, EC_USE_REVALIDATE);
	ck_assert_int_eq(d.why, EC_CS_DETAIL_MUST_REVALIDATE);
	ck_assert(!d.serve_on_error);
	d = ec_fresh_decide(&m, &rq, T + 567, &conf);
	ck_assert_int_eq(d.use, EC_USE_FRESH);
	ck_assert_int_eq(d.ttl, 1);
}
END_TEST

START_TEST(test_meta_flags)
{
	struct ec_hdr h[4];
	struct ec_fresh_resp r;
	struct ec_fresh_meta m;
	size_t n = H("Cache-Control: no-cache, proxy-revalidate", h, 4);
	ec_fresh_resp_parse(200, h, n, NULL, &r);
	ec_fresh_meta_make(&r, T, T, NULL, &m);
	ck_assert_uint_eq(m.flags, EC_FMETA_NO_CACHE | EC_FMETA_NO_STALE);
	ck_assert_uint_eq(m.source, EC_FSRC_NONE);
	/* §5.2.2.10: s-maxage implies proxy-revalidate for a shared cache */
	n = H("Cache-Control: s-maxage=5\nLast-Modified: " DM1D, h, 4);
	ec_fresh_resp_parse(200, h, n, NULL, &r);
	ec_fresh_meta_make(&r, T, T, NULL, &m);
	ck_assert_uint_eq(m.flags, EC_FMETA_NO_STALE | EC_FMETA_VALIDATOR);
	/* qualified no-cache is not "validate every use" (fields are stripped) */
	n = H("Cache-Control: no-cache=\"Set-Cookie\", max-age=5", h, 4);
	ec_fresh_resp_parse(200, h, n, NULL, &r);
	ec_fresh_meta_make(&r, T, T, NULL, &m);
	ck_assert_uint_eq(m.flags, 0);
	/* the Age value sent: 0 .. 2^31 */
	m = (struct ec_fresh_meta){.response_time = T, .initial_age = MAXD};
	ck_assert_int_eq(ec_fresh_age_value(&m, T + 5), MAXD);
	m = (struct ec_fresh_meta){.response_time = T};
	ck_assert_int_eq(ec_fresh_age_value(&m, T - 5), 0);
}
END_TEST

START_TEST(test_conf_defaults)
{
	struct ec_fresh_conf c;
	ec_fresh_conf_init(&c);
	ck_assert_ptr_eq(c.targets, ec_cc_default_targets);
	ck_assert_uint_eq(c.ntargets, 2);
	ck_assert_uint_eq(c.heuristic_pct, 10);
	ck_assert_int_eq(c.heuristic_max, 86400);
	ck_assert_int_eq(c.default_ttl, 0);
	ck_assert_int_eq(c.stale_on_error, 0);
}
END_TEST

static Suite *fresh_suite(void)
{
	Suite *s = suite_create("policy/fresh");
	TCase *tc = tcase_create("rfc9111-4.2");
	tcase_add_test(tc, test_dates_are_what_we_think);
	tcase_add_test(tc, test_conf_defaults);
	tcase_add_loop_test(tc, test_lifetime, 0, EC_ARRAY_LEN(life_cases));
	tcase_add_loop_test(tc, test_age, 0, EC_ARRAY_LEN(age_cases));
	suite_add_tcase(s, tc);
	tc = tcase_create("rfc9111-3");
	tcase_add_loop_test(tc, test_storable, 0, EC_ARRAY_LEN(store_cases));
	tcase_add_test(tc, test_storable_lifetime);
	tcase_add_test(tc, test_status_table);
	tcase_add_test(tc, test_keep_field);
	suite_add_tcase(s, tc);
	tc = tcase_create("rfc9111-5.2.1");
	tcase_add_test(tc, test_req_parse);
	tcase_add_loop_test(tc, test_decide, 0, EC_ARRAY_LEN(use_cases));
	tcase_add_test(tc, test_meta_end_to_end);
	tcase_add_test(tc, test_meta_flags);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(fresh_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
