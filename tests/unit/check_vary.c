/*
 * check_vary.c — Check suite for policy/vary.c: secondary cache keys and
 * matching (RFC 9111 §4.1).
 */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "policy/vary.h"

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

struct key_case {
	const char *name, *resp, *req;
	enum ec_vary_rc rc;
	const char *key;
};

static const struct key_case key_cases[] = {
        {"§4.1 no Vary: empty key", "Content-Type: text/plain", "Accept: a", EC_VARY_NONE, ""},
        {"§4.1 empty Vary: empty key", "Vary:", "Accept: a", EC_VARY_NONE, ""},
        {"§4.1 one varied field, present", "Vary: Accept-Encoding", "Accept-Encoding: gzip",
         EC_VARY_OK, "accept-encoding=gzip\n"},
        {"§4.1 absent only matches absent", "Vary: Accept-Encoding", "Accept: */*", EC_VARY_OK,
         "accept-encoding\n"},
        {"§4.1 present but empty differs from absent", "Vary: Accept-Encoding",
         "Accept-Encoding:", EC_VARY_OK, "accept-encoding=\n"},
        {"§4.1 whitespace around commas removed", "Vary: Accept-Encoding",
         "Accept-Encoding:  gzip ,br\t,  deflate ", EC_VARY_OK,
         "accept-encoding=gzip, br, deflate\n"},
        {"§4.1 field lines combined", "Vary: Accept-Encoding",
         "Accept-Encoding: gzip\naccept-encoding: br", EC_VARY_OK, "accept-encoding=gzip, br\n"},
        {"§4.1 empty list members dropped", "Vary: Accept-Encoding", "Accept-Encoding: gzip,,br,",
         EC_VARY_OK, "accept-encoding=gzip, br\n"},
        {"§4.1 case-normalised where case-insensitive: Accept-Encoding", "Vary: Accept-Encoding",
         "Accept-Encoding: GZIP, Br", EC_VARY_OK, "accept-encoding=gzip, br\n"},
        {"§4.1 case kept for other fields", "Vary: X-Device", "X-Device: Mobile", EC_VARY_OK,
         "x-device=Mobile\n"},
        {"§4.1 Accept-Language tags and parameters", "Vary: Accept-Language",
         "Accept-Language: en-US ; q=0.8, FR;q=0.5", EC_VARY_OK,
         "accept-language=en-us;q=0.8, fr;q=0.5\n"},
        {"§4.1 Accept media ranges fold case", "Vary: Accept",
         "Accept: Text/HTML, application/XML;q=0.9", EC_VARY_OK,
         "accept=text/html, application/xml;q=0.9\n"},
        {"§4.1 Accept-Charset folds case", "Vary: Accept-Charset", "Accept-Charset: UTF-8",
         EC_VARY_OK, "accept-charset=utf-8\n"},
        {"§4.1 quoted strings kept verbatim", "Vary: Accept", "Accept: text/html;foo=\"A ,B\"",
         EC_VARY_OK, "accept=text/html;foo=\"A ,B\"\n"},
        {"§4.1 inner whitespace of other fields kept", "Vary: User-Agent",
         "User-Agent: Mozilla/5.0 (X11;  Linux)", EC_VARY_OK,
         "user-agent=Mozilla/5.0 (X11;  Linux)\n"},
        {"RFC 9110 §12.5.5 example: Vary: accept-encoding, accept-language",
         "Vary: accept-encoding, accept-language", "Accept-Language: da\nAccept-Encoding: br",
         EC_VARY_OK, "accept-encoding=br\naccept-language=da\n"},
        {"§4.1 Vary order kept, names lower-cased, repeats dropped",
         "Vary: Accept-Language, ACCEPT-ENCODING\nVary: accept-language",
         "Accept-Encoding: gzip\nAccept-Language: de", EC_VARY_OK,
         "accept-language=de\naccept-encoding=gzip\n"},
        {"§4.1 request field name case does not matter", "Vary: Accept-Encoding",
         "aCCEPT-eNCODING: gzip", EC_VARY_OK, "accept-encoding=gzip\n"},
        {"§4.1 one present, one absent", "Vary: Accept-Encoding, Cookie", "Cookie: a=1; b=2",
         EC_VARY_OK, "accept-encoding\ncookie=a=1; b=2\n"},
        {"§4.1 Vary: * always fails to match", "Vary: *", "Accept: a", EC_VARY_NEVER, ""},
        {"§4.1 * among other members", "Vary: Accept\nVary: Accept-Encoding, *", "", EC_VARY_NEVER,
         ""},
        {"§4.1 a member that is not a field name never matches", "Vary: Accept, foo bar", "",
         EC_VARY_NEVER, ""},
        {"§4.1 CR in a varied value cannot be keyed", "Vary: X-A", "X-A: a\rb", EC_VARY_UNKEYABLE,
         ""},
};

START_TEST(test_key)
{
	const struct key_case *c = &key_cases[_i];
	struct ec_hdr rs[8], rq[8];
	size_t ns = H(c->resp, rs, 8), nq = H(c->req, rq, 8);
	char buf[256];
	size_t len = 99;
	enum ec_vary_rc rc = ec_vary_key(rs, ns, rq, nq, buf, sizeof(buf), &len);
	ck_assert_msg(rc == c->rc, "%s: rc %d, expected %d", c->name, rc, c->rc);
	ck_assert_msg(len == strlen(c->key) && memcmp(buf, c->key, len) == 0,
	              "%s: key '%.*s', expected '%s'", c->name, (int)len, buf, c->key);
	/* a request always matches the key it produced */
	if (rc == EC_VARY_OK || rc == EC_VARY_NONE)
		ck_assert(ec_vary_match(rs, ns, ec_str_make(buf, len), rq, nq));
	else
		ck_assert(!ec_vary_match(rs, ns, ec_str_make(buf, len), rq, nq));
}
END_TEST

struct match_case {
	const char *name, *resp, *stored_req, *req;
	bool match;
};

static const struct match_case match_cases[] = {
        {"§4.1 adding or removing whitespace", "Vary: Accept-Encoding", "Accept-Encoding: gzip,br",
         "Accept-Encoding: gzip , br", true},
        {"§4.1 combining field lines", "Vary: Accept-Encoding", "Accept-Encoding: gzip, br",
         "Accept-Encoding: gzip\nAccept-Encoding: br", true},
        {"§4.1 case-normalisation where case-insensitive", "Vary: Accept-Language",
         "Accept-Language: en-GB", "Accept-Language: EN-gb", true},
        {"§4.1 different values", "Vary: Accept-Encoding", "Accept-Encoding: gzip",
         "Accept-Encoding: br", false},
        {"§4.1 order is significant", "Vary: Accept-Encoding", "Accept-Encoding: gzip, br",
         "Accept-Encoding: br, gzip", false},
        {"§4.1 absent vs empty", "Vary: Accept-Encoding", "", "Accept-Encoding:", false},
        {"§4.1 absent vs absent", "Vary: Accept-Encoding", "Accept: x", "Accept: y", true},
        {"§4.1 unvaried fields do not matter", "Vary: Accept-Encoding",
         "Accept-Encoding: gzip\nAccept: a", "Accept-Encoding: gzip\nAccept: b", true},
        {"§4.1 case matters for other fields", "Vary: X-Device", "X-Device: mobile",
         "X-Device: Mobile", false},
        {"§4.1 a prefix is not a match", "Vary: X-A", "X-A: ab", "X-A: a", false},
        {"§4.1 a longer value is not a match", "Vary: X-A", "X-A: a", "X-A: ab", false},
        {"§4.1 two fields, second differs", "Vary: X-A, X-B", "X-A: 1\nX-B: 2", "X-A: 1\nX-B: 3",
         false},
        {"§4.1 no Vary: everything matches", "Content-Type: a", "X: 1", "X: 2", true},
};

START_TEST(test_match)
{
	const struct match_case *c = &match_cases[_i];
	struct ec_hdr rs[8], sq[8], rq[8];
	size_t ns = H(c->resp, rs, 8), nsq = H(c->stored_req, sq, 8), nq = H(c->req, rq, 8);
	char buf[256];
	size_t len;
	enum ec_vary_rc rc = ec_vary_key(rs, ns, sq, nsq, buf, sizeof(buf), &len);
	ck_assert(rc == EC_VARY_OK || rc == EC_VARY_NONE);
	ck_assert_msg(ec_vary_match(rs, ns, ec_str_make(buf, len), rq, nq) == c->match, "%s",
	              c->name);
	/* the same answer as comparing two built keys */
	char buf2[256];
	size_t len2;
	ec_vary_key(rs, ns, rq, nq, buf2, sizeof(buf2), &len2);
	ck_assert((len == len2 && memcmp(buf, buf2, len) == 0) == c->match);
}
END_TEST

START_TEST(test_match_edges)
{
	struct ec_hdr rs[4], rq[4];
	size_t ns = H("Content-Type: a", rs, 4), nq = H("X-A: 1", rq, 4);
	/* no Vary: only an empty stored key matches */
	ck_assert(ec_vary_match(rs, ns, EC_STR_NULL, rq, nq));
	ck_assert(!ec_vary_match(rs, ns, EC_STR("x-a=1\n"), rq, nq));
	/* Vary: * never matches, even an empty stored key */
	ns = H("Vary: *", rs, 4);
	ck_assert(!ec_vary_match(rs, ns, EC_STR(""), rq, nq));
	ck_assert(!ec_vary_match(rs, ns, EC_STR_NULL, rq, nq));
	/* a stored key for the wrong Vary */
	ns = H("Vary: X-A", rs, 4);
	ck_assert(ec_vary_match(rs, ns, EC_STR("x-a=1\n"), rq, nq));
	ck_assert(!ec_vary_match(rs, ns, EC_STR("x-b=1\n"), rq, nq));
	ck_assert(!ec_vary_match(rs, ns, EC_STR("x-a=1\nx-b\n"), rq, nq));
	ck_assert(!ec_vary_match(rs, ns, EC_STR(""), rq, nq));
}
END_TEST

START_TEST(test_nospace)
{
	struct ec_hdr rs[4], rq[4];
	size_t ns = H("Vary: Accept-Encoding", rs, 4), nq = H("Accept-Encoding: gzip", rq, 4);
	char buf[32];
	size_t len;
	memset(buf, 'X', sizeof(buf));
	ck_assert_int_eq(ec_vary_key(rs, ns, rq, nq, buf, 10, &len), EC_VARY_NOSPACE);
	ck_assert_uint_eq(len, 21);
	ck_assert_int_eq(buf[10], 'X'); /* nothing written past cap */
	ck_assert_int_eq(ec_vary_key(rs, ns, rq, nq, buf, 21, &len), EC_VARY_OK);
	ck_assert_uint_eq(len, 21);
	ck_assert_int_eq(memcmp(buf, "accept-encoding=gzip\n", 21), 0);
	ck_assert_int_eq(ec_vary_key(rs, ns, rq, nq, NULL, 0, &len), EC_VARY_NOSPACE);
	ck_assert_uint_eq(len, 21);
}
END_TEST

START_TEST(test_long_field_name)
{
	/* no length limit on varied field names */
	char name[300], lower[300], want[400];
	memset(name, 'X', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	memset(lower, 'x', sizeof(lower) - 1);
	lower[sizeof(lower) - 1] = '\0';
	struct ec_hdr rs[1] = {{EC_STR("Vary"), ec_str_cstr(name)}};
	struct ec_hdr rq[1] = {{ec_str_cstr(name), EC_STR("v")}};
	char buf[400];
	size_t len;
	ck_assert_int_eq(ec_vary_key(rs, 1, rq, 1, buf, sizeof(buf), &len), EC_VARY_OK);
	snprintf(want, sizeof(want), "%s=v\n", lower);
	ck_assert_uint_eq(len, strlen(want));
	ck_assert_int_eq(memcmp(buf, want, len), 0);
	ck_assert(ec_vary_match(rs, 1, ec_str_make(buf, len), rq, 1));
}
END_TEST

static Suite *vary_suite(void)
{
	Suite *s = suite_create("policy/vary");
	TCase *tc = tcase_create("rfc9111-4.1");
	tcase_add_loop_test(tc, test_key, 0, EC_ARRAY_LEN(key_cases));
	tcase_add_loop_test(tc, test_match, 0, EC_ARRAY_LEN(match_cases));
	tcase_add_test(tc, test_match_edges);
	tcase_add_test(tc, test_nospace);
	tcase_add_test(tc, test_long_field_name);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(vary_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
