/*
 * check_range.c — Check suite for policy/range.c: Range requests against
 * a complete stored representation (RFC 9110 §14), Content-Range and
 * multipart/byteranges framing.
 */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "policy/range.h"

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

/* "a-b,c-d" */
static void render(const struct ec_range *r, size_t n, char *buf, size_t cap)
{
	size_t len = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s%" PRIu64 "-%" PRIu64,
		                        i ? "," : "", r[i].first, r[i].last);
}

#define OK     EC_RANGE_OK
#define IGNORE EC_RANGE_IGNORE
#define UNSAT  EC_RANGE_UNSATISFIABLE

struct parse_case {
	const char *name, *value;
	uint64_t len;
	enum ec_range_rc rc;
	const char *ranges;
};

static const struct parse_case parse_cases[] = {
        {"§14.1.2 example: the first 500 bytes", "bytes=0-499", 10000, OK, "0-499"},
        {"§14.1.2 example: the second 500 bytes", "bytes=500-999", 10000, OK, "500-999"},
        {"§14.1.2 example: the final 500 bytes (suffix)", "bytes=-500", 10000, OK, "9500-9999"},
        {"§14.1.2 example: the final 500 bytes (open)", "bytes=9500-", 10000, OK, "9500-9999"},
        {"§14.1.2 example: the first and last bytes only", "bytes=0-0,-1", 10000, OK,
         "0-0,9999-9999"},
        {"§14.1.2 example: 500-600,601-999 is the second 500 bytes", "bytes=500-600,601-999", 10000,
         OK, "500-999"},
        {"§14.1.2 example: 500-700,601-999 is the second 500 bytes", "bytes=500-700,601-999", 10000,
         OK, "500-999"},
        {"§14.1.1 range unit is case-insensitive", "Bytes=0-1", 10, OK, "0-1"},
        {"§14.1.2 last-pos beyond the end is capped", "bytes=0-499", 100, OK, "0-99"},
        {"§14.1.2 suffix longer than the representation", "bytes=-500", 100, OK, "0-99"},
        {"§14.1.2 suffix equal to the length", "bytes=-100", 100, OK, "0-99"},
        {"§14.1.2 the last byte", "bytes=99-99", 100, OK, "99-99"},
        {"§14.1.2 open range from 0", "bytes=0-", 100, OK, "0-99"},
        {"§14.1.1 first-pos at the length: unsatisfiable", "bytes=100-", 100, UNSAT, ""},
        {"§14.1.1 entirely beyond: unsatisfiable", "bytes=100-200", 100, UNSAT, ""},
        {"§14.1.1 zero-length suffix: unsatisfiable", "bytes=-0", 100, UNSAT, ""},
        {"§14.1.1 empty representation, int-range: unsatisfiable", "bytes=0-", 0, UNSAT, ""},
        {"§14.1.1 empty representation, suffix: nothing to cut, 200", "bytes=-5", 0, IGNORE, ""},
        {"§14.1.1 unsatisfiable specs are dropped", "bytes=0-1,200-300,5-6", 100, OK, "0-1,5-6"},
        {"§14.1.1 last-pos < first-pos is invalid", "bytes=5-1", 100, IGNORE, ""},
        {"§14.2 unknown unit ignored", "items=0-1", 100, IGNORE, ""},
        {"§14.1.2 no range-spec", "bytes=", 100, IGNORE, ""},
        {"§14.1.2 no '='", "bytes", 100, IGNORE, ""},
        {"§14.1.2 junk", "bytes=abc", 100, IGNORE, ""},
        {"§14.1.2 double dash", "bytes=--1", 100, IGNORE, ""},
        {"§14.1.2 three numbers", "bytes=1-2-3", 100, IGNORE, ""},
        {"§14.1.2 no OWS inside a range-spec", "bytes=0 -1", 100, IGNORE, ""},
        {"§14.1.2 OWS around the list's commas", "bytes=0-1 , 3-4", 100, OK, "0-1,3-4"},
        {"§14.1.2 space before the unit's '='", "bytes =0-1", 100, IGNORE, ""},
        {"RFC 9110 §5.6.1.2 empty list elements", "bytes=0-1,,3-4,", 100, OK, "0-1,3-4"},
        {"§14.1.2 sign not allowed", "bytes=+1-2", 100, IGNORE, ""},
        {"§14.1.2 huge first-pos saturates: unsatisfiable", "bytes=18446744073709551616-", 100,
         UNSAT, ""},
        {"§14.1.2 huge last-pos saturates: capped", "bytes=0-99999999999999999999999", 100, OK,
         "0-99"},
        {"§14.1.2 huge suffix: all of it", "bytes=-99999999999999999999999", 100, OK, "0-99"},
        {"§15.3.7.2 two overlapping ranges are coalesced", "bytes=0-10,5-15", 100, OK, "0-15"},
        {"§15.3.7.2 adjacent ranges are coalesced", "bytes=0-9,10-19", 100, OK, "0-19"},
        {"§15.3.7.2 a gap is kept", "bytes=0-9,11-19", 100, OK, "0-9,11-19"},
        {"§15.3.7.2 coalesced into the earliest", "bytes=0-9,50-59,10-19", 100, OK, "0-19,50-59"},
        {"§15.3.7.2 a merge reaching a later range absorbs it", "bytes=0-9,20-29,10-19", 100, OK,
         "0-29"},
        {"§15.3.7.2 a merge absorbing two kept ranges in a row", "bytes=0-9,12-14,16-18,10-15", 100,
         OK, "0-18"},
        {"§15.3.7.2 identical ranges", "bytes=0-0,0-0", 100, OK, "0-0"},
        {"§15.3.7.2 suffix and first byte of a 1-byte body", "bytes=-1,0-0", 1, OK, "0-0"},
        {"§14.2 more than two overlapping ranges: 200", "bytes=0-10,5-15,8-20", 100, IGNORE, ""},
        {"§14.2 descending order, 4 ranges: kept in order", "bytes=30-31,20-21,10-11,0-1", 100, OK,
         "30-31,20-21,10-11,0-1"},
        {"§14.2 descending order, 5 small ranges: 200", "bytes=40-41,30-31,20-21,10-11,0-1", 100,
         IGNORE, ""},
        {"§14.2 32 adjacent one-byte ranges coalesce",
         "bytes=0-0,1-1,2-2,3-3,4-4,5-5,6-6,7-7,8-8,9-9,10-10,11-11,12-12,13-13,14-14,15-15,"
         "16-16,17-17,18-18,19-19,20-20,21-21,22-22,23-23,24-24,25-25,26-26,27-27,28-28,29-29,"
         "30-30,31-31",
         100, OK, "0-31"},
        {"§14.2 33 range-specs: 200",
         "bytes=0-0,2-2,4-4,6-6,8-8,10-10,12-12,14-14,16-16,18-18,20-20,22-22,24-24,26-26,28-28,"
         "30-30,32-32,34-34,36-36,38-38,40-40,42-42,44-44,46-46,48-48,50-50,52-52,54-54,56-56,"
         "58-58,60-60,62-62,64-64",
         100, IGNORE, ""},
        {"§14.2 33 specs even if most are unsatisfiable",
         "bytes=0-0,1000-,1000-,1000-,1000-,1000-,1000-,1000-,1000-,1000-,1000-,1000-,1000-,"
         "1000-,1000-,1000-,1000-,1000-,1000-,1000-,1000-,1000-,1000-,1000-,1000-,1000-,1000-,"
         "1000-,1000-,1000-,1000-,1000-,1000-",
         100, IGNORE, ""},
};

START_TEST(test_parse)
{
	const struct parse_case *c = &parse_cases[_i];
	struct ec_range r[EC_RANGE_MAX];
	size_t n = 99;
	char buf[512];
	enum ec_range_rc rc = ec_range_parse(ec_str_cstr(c->value), c->len, r, EC_RANGE_MAX, &n);
	ck_assert_msg(rc == c->rc, "%s: rc %d, expected %d", c->name, rc, c->rc);
	render(r, rc == OK ? n : 0, buf, sizeof(buf));
	ck_assert_msg(strcmp(buf, c->ranges) == 0, "%s: '%s', expected '%s'", c->name, buf,
	              c->ranges);
	if (rc != OK)
		ck_assert_uint_eq(n, 0);
	for (size_t i = 0; rc == OK && i < n; i++)
		ck_assert(r[i].first <= r[i].last && r[i].last < c->len);
}
END_TEST

START_TEST(test_parse_cap)
{
	struct ec_range r[2];
	size_t n;
	ck_assert_int_eq(ec_range_parse(EC_STR("bytes=0-1,3-4"), 100, r, 2, &n), OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(ec_range_parse(EC_STR("bytes=0-1,3-4,6-7"), 100, r, 2, &n), IGNORE);
	ck_assert_uint_eq(n, 0);
}
END_TEST

struct req_case {
	const char *name;
	enum ec_method method;
	const char *req;
	enum ec_range_rc rc;
	const char *ranges;
};

static const struct req_case req_cases[] = {
        {"§14.2 GET with Range", EC_M_GET, "Range: bytes=0-499", OK, "0-499"},
        {"§14.2 no Range", EC_M_GET, "Accept: */*", EC_RANGE_NONE, ""},
        {"§14.2 HEAD: Range ignored", EC_M_HEAD, "Range: bytes=0-499", EC_RANGE_NONE, ""},
        {"§14.2 POST: Range ignored", EC_M_POST, "Range: bytes=0-499", EC_RANGE_NONE, ""},
        {"§14.2 Range twice: ignored", EC_M_GET, "Range: bytes=0-1\nRange: bytes=2-3", IGNORE, ""},
        {"§13.1.5 If-Range matches: 206", EC_M_GET, "Range: bytes=-500\nIf-Range: \"v1\"", OK,
         "9500-9999"},
        {"§13.1.5 If-Range does not match: whole 200", EC_M_GET,
         "Range: bytes=-500\nIf-Range: \"v0\"", EC_RANGE_NONE, ""},
        {"§13.1.5 If-Range date matches", EC_M_GET,
         "Range: bytes=0-0\nIf-Range: Mon, 13 Nov 2023 22:13:20 GMT", OK, "0-0"},
        {"§13.1.5 If-Range without Range: nothing", EC_M_GET, "If-Range: \"v1\"", EC_RANGE_NONE,
         ""},
        {"§14.2 unsatisfiable through the whole path", EC_M_GET, "Range: bytes=10000-", UNSAT, ""},
};

START_TEST(test_request)
{
	const struct req_case *c = &req_cases[_i];
	struct ec_hdr rq[4], st[4];
	size_t nq = H(c->req, rq, 4);
	size_t ns = H("ETag: \"v1\"\nLast-Modified: Mon, 13 Nov 2023 22:13:20 GMT\n"
	              "Date: Tue, 14 Nov 2023 22:13:20 GMT",
	              st, 4);
	struct ec_validators v;
	struct ec_range r[EC_RANGE_MAX];
	size_t n;
	char buf[256];
	ec_cond_validators(200, st, ns, 0, &v);
	enum ec_range_rc rc = ec_range_request(c->method, rq, nq, &v, 10000, r, EC_RANGE_MAX, &n);
	ck_assert_msg(rc == c->rc, "%s: rc %d, expected %d", c->name, rc, c->rc);
	render(r, rc == OK ? n : 0, buf, sizeof(buf));
	ck_assert_msg(strcmp(buf, c->ranges) == 0, "%s: '%s'", c->name, buf);
}
END_TEST

START_TEST(test_content_range)
{
	char buf[64];
	struct ec_range r = {42, 1233};
	/* §14.4 examples */
	ck_assert_uint_eq(ec_range_content_range(buf, sizeof(buf), &r, 1234), 18);
	ck_assert_str_eq(buf, "bytes 42-1233/1234");
	ck_assert_uint_eq(ec_range_content_range_unsat(buf, sizeof(buf), 1234), 12);
	ck_assert_str_eq(buf, "bytes */1234");
	/* §15.3.7.1 and §15.5.17 examples */
	r = (struct ec_range){21010, 47021};
	ec_range_content_range(buf, sizeof(buf), &r, 47022);
	ck_assert_str_eq(buf, "bytes 21010-47021/47022");
	ec_range_content_range_unsat(buf, sizeof(buf), 47022);
	ck_assert_str_eq(buf, "bytes */47022");
	/* snprintf convention */
	ck_assert_uint_eq(ec_range_content_range(buf, 6, &r, 47022), 23);
	ck_assert_str_eq(buf, "bytes");
	ck_assert_uint_eq(ec_range_content_range(NULL, 0, &r, 47022), 23);
	r = (struct ec_range){0, UINT64_MAX - 1};
	ec_range_content_range(buf, sizeof(buf), &r, UINT64_MAX);
	ck_assert_str_eq(buf, "bytes 0-18446744073709551614/18446744073709551615");
}
END_TEST

START_TEST(test_boundary)
{
	char b[EC_RANGE_BOUNDARY_LEN + 1];
	ec_range_boundary(0x0123456789abcdefULL, b);
	ck_assert_str_eq(b, "ec0123456789abcdef");
	ck_assert_uint_eq(strlen(b), EC_RANGE_BOUNDARY_LEN);
	ec_range_boundary(0, b);
	ck_assert_str_eq(b, "ec0000000000000000");
	/* a valid RFC 2046 boundary: bchars, at most 70 */
	for (size_t i = 0; i < strlen(b); i++)
		ck_assert(strchr("0123456789abcdefghijklmnopqrstuvwxyz", b[i]) != NULL);
}
END_TEST

START_TEST(test_multipart_example)
{
	/* §15.3.7.2 example: 500-999 and 7000-7999 of an 8000-byte PDF */
	struct ec_range r[2] = {{500, 999}, {7000, 7999}};
	struct ec_str b = EC_STR("THIS_STRING_SEPARATES"), ct = EC_STR("application/pdf");
	static char body[4096];
	size_t len = 0;
	for (size_t i = 0; i < 2; i++) {
		len += ec_range_part_header(body + len, sizeof(body) - len, i, b, ct, &r[i], 8000);
		memset(body + len, 'x', r[i].last - r[i].first + 1);
		len += r[i].last - r[i].first + 1;
	}
	len += ec_range_multipart_end(body + len, sizeof(body) - len, b);
	ck_assert_uint_eq(ec_range_multipart_length(r, 2, b, ct, 8000), len);
	ck_assert_uint_eq(len, 1719);
	const char *head = "--THIS_STRING_SEPARATES\r\n"
	                   "Content-Type: application/pdf\r\n"
	                   "Content-Range: bytes 500-999/8000\r\n\r\n";
	ck_assert_int_eq(memcmp(body, head, strlen(head)), 0);
	const char *mid = "\r\n--THIS_STRING_SEPARATES\r\n"
	                  "Content-Type: application/pdf\r\n"
	                  "Content-Range: bytes 7000-7999/8000\r\n\r\n";
	ck_assert_int_eq(memcmp(body + strlen(head) + 500, mid, strlen(mid)), 0);
	const char *tail = "\r\n--THIS_STRING_SEPARATES--\r\n";
	ck_assert_int_eq(memcmp(body + len - strlen(tail), tail, strlen(tail)), 0);
}
END_TEST

START_TEST(test_multipart_no_type)
{
	struct ec_range r[3] = {{0, 0}, {5, 9}, {99, 99}};
	char buf[256];
	struct ec_str b = EC_STR("ec0000000000000001");
	size_t n = ec_range_part_header(buf, sizeof(buf), 0, b, EC_STR_NULL, &r[0], 100);
	ck_assert_str_eq(buf, "--ec0000000000000001\r\nContent-Range: bytes 0-0/100\r\n\r\n");
	ck_assert_uint_eq(n, strlen(buf));
	n = ec_range_part_header(buf, sizeof(buf), 2, b, EC_STR_NULL, &r[2], 100);
	ck_assert_str_eq(buf, "\r\n--ec0000000000000001\r\nContent-Range: bytes 99-99/100\r\n\r\n");
	n = ec_range_multipart_end(buf, sizeof(buf), b);
	ck_assert_str_eq(buf, "\r\n--ec0000000000000001--\r\n");
	ck_assert_uint_eq(n, 26);
	/* 54 + 1 + 56 + 5 + 58 + 1 + 26 */
	ck_assert_uint_eq(ec_range_multipart_length(r, 3, b, EC_STR_NULL, 100), 201);
}
END_TEST

static Suite *range_suite(void)
{
	Suite *s = suite_create("policy/range");
	TCase *tc = tcase_create("rfc9110-14");
	tcase_add_loop_test(tc, test_parse, 0, EC_ARRAY_LEN(parse_cases));
	tcase_add_test(tc, test_parse_cap);
	tcase_add_loop_test(tc, test_request, 0, EC_ARRAY_LEN(req_cases));
	tcase_add_test(tc, test_content_range);
	tcase_add_test(tc, test_boundary);
	tcase_add_test(tc, test_multipart_example);
	tcase_add_test(tc, test_multipart_no_type);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(range_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
