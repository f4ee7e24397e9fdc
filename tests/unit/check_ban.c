/*
 * check_ban.c — Check suite for policy/ban.c (ban expressions: parsing,
 * PCRE2 URL regexes, header and status conditions) and src/acl.c (the
 * purge_allow address ranges).
 */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "policy/ban.h"
#include "src/acl.h"

static const struct ec_hdr hdrs[] = {
        {EC_STR("Content-Type"), EC_STR("image/png")},
        {EC_STR("X-Team"), EC_STR("blue")},
        {EC_STR("X-Team"), EC_STR("red")},
};

static const struct {
	const char *expr;
	const char *key;
	int status;
	bool match;
} cases[] = {
        {"req.url ~ ^/img/", "http://h.test/img/a.png", 200, true},
        {"req.url ~ ^/img/", "http://h.test/css/a.css", 200, false},
        {"req.url ~ \"^/img/.*\\.png$\"", "http://h.test/img/a.png", 200, true},
        {"url ~ \"\\?v=2\"", "http://h.test/a?v=2", 200, true},
        {"req.url == /a", "http://h.test/a", 200, true},
        {"req.url == /a", "http://h.test/a?q", 200, false},
        {"req.url != /a", "http://h.test/b", 200, true},
        {"req.url !~ ^/a", "http://h.test/a", 200, false},
        {"req.url == /", "http://h.test", 200, true},
        {"req.url ~ ^/p", "/p/only-path-key", 200, true},
        {"req.host == h.test", "http://h.test/a", 200, true},
        {"req.host == h.test", "http://other.test/a", 200, false},
        {"req.host ~ (?i)^H\\.TEST$", "http://h.test/a", 200, true},
        {"obj.http.content-type == image/png", "http://h.test/a", 200, true},
        {"obj.http.Content-Type ~ ^text/", "http://h.test/a", 200, false},
        {"obj.http.x-team == red", "http://h.test/a", 200, true},
        {"obj.http.x-team != red", "http://h.test/a", 200, false},
        {"obj.http.x-missing != 1", "http://h.test/a", 200, true},
        {"obj.http.x-missing == 1", "http://h.test/a", 200, false},
        {"http.x-team ~ ^bl", "http://h.test/a", 200, true},
        {"obj.status == 404", "http://h.test/a", 404, true},
        {"obj.status == 404", "http://h.test/a", 200, false},
        {"req.url ~ ^/img/ && obj.http.x-team == blue", "http://h.test/img/1", 200, true},
        {"req.url ~ ^/img/ && obj.http.x-team == green", "http://h.test/img/1", 200, false},
        {"  req.url ~ ^/img/&&obj.status == 200  ", "http://h.test/img/1", 200, true},
};

START_TEST(test_match)
{
	char err[256];
	struct ec_ban_expr *e = ec_ban_parse(cases[_i].expr, err, sizeof(err));
	ck_assert_msg(e != NULL, "%s: %s", cases[_i].expr, err);
	bool m = ec_ban_match(e, ec_str_cstr(cases[_i].key), hdrs, EC_ARRAY_LEN(hdrs),
	                      cases[_i].status);
	ck_assert_msg(m == cases[_i].match, "%s on %s: %d", cases[_i].expr, cases[_i].key, m);
	ck_assert_str_eq(ec_ban_text(e), cases[_i].expr);
	ec_ban_free(&e);
	ck_assert_ptr_null(e);
}
END_TEST

static const struct {
	const char *expr;
	const char *why;
} bad[] = {
        {"", "empty expression"},
        {"   ", "empty expression"},
        {"req.nope ~ x", "unknown field 'req.nope'"},
        {"obj.http. == x", "unknown field"},
        {"obj.http.a b == x", "expected ~"},
        {"req.url = x", "expected ~, !~, == or !="},
        {"req.url ~", "missing value"},
        {"req.url ~ \"open", "unterminated string"},
        {"req.url ~ (x", "regex: missing closing parenthesis"},
        {"req.url ~ a b", "expected && or the end"},
        {"req.url ~ a &&", "unknown field ''"},
        {"a ~ 1 && a ~ 1", "unknown field 'a'"},
        {"url ~ 1 && url ~ 2 && url ~ 3 && url ~ 4 && url ~ 5 && url ~ 6 && url ~ 7 && url ~ 8 "
         "&& url ~ 9",
         "more than 8 conditions"},
};

START_TEST(test_bad)
{
	char err[256] = "";
	struct ec_ban_expr *e = ec_ban_parse(bad[_i].expr, err, sizeof(err));
	ck_assert_msg(e == NULL, "%s parsed", bad[_i].expr);
	ck_assert_msg(strstr(err, bad[_i].why) != NULL, "%s: got '%s', want '%s'", bad[_i].expr,
	              err, bad[_i].why);
}
END_TEST

START_TEST(test_needs_object)
{
	char err[128];
	struct ec_ban_expr *e = ec_ban_parse("req.url ~ ^/a && req.host == x", err, sizeof(err));
	ck_assert(!ec_ban_needs_object(e));
	ec_ban_free(&e);
	e = ec_ban_parse("req.url ~ ^/a && obj.status == 200", err, sizeof(err));
	ck_assert(ec_ban_needs_object(e));
	ec_ban_free(&e);
}
END_TEST

START_TEST(test_acl)
{
	char err[160];
	const char *list = "127.0.0.1/32, 10.0.0.0/8 ::1 2001:db8::/32";
	ck_assert(ec_acl_valid(list, err, sizeof(err)));
	ck_assert(ec_acl_valid("", err, sizeof(err)));
	ck_assert(ec_acl_match(list, "127.0.0.1"));
	ck_assert(!ec_acl_match(list, "127.0.0.2"));
	ck_assert(ec_acl_match(list, "10.255.1.2"));
	ck_assert(!ec_acl_match(list, "11.0.0.1"));
	ck_assert(ec_acl_match(list, "::1"));
	ck_assert(ec_acl_match(list, "::ffff:127.0.0.1"));
	ck_assert(ec_acl_match(list, "2001:db8:1::5"));
	ck_assert(!ec_acl_match(list, "2001:db9::5"));
	ck_assert(!ec_acl_match(list, "garbage"));
	ck_assert(!ec_acl_match("", "127.0.0.1"));
	ck_assert(ec_acl_match("127.0.0.0/8", "127.0.0.2"));
	ck_assert(ec_acl_match("0.0.0.0/0", "192.0.2.1"));
	ck_assert(ec_acl_match("127.0.0.1", "127.0.0.1"));
	ck_assert(!ec_acl_valid("127.0.0.1/33", err, sizeof(err)));
	ck_assert(strstr(err, "'127.0.0.1/33'") != NULL);
	ck_assert(!ec_acl_valid("::1/129", err, sizeof(err)));
	ck_assert(!ec_acl_valid("localhost", err, sizeof(err)));
	ck_assert(!ec_acl_valid("10.0.0.0/", err, sizeof(err)));
	ck_assert(!ec_acl_valid("10.0.0.0/-1", err, sizeof(err)));
}
END_TEST

static Suite *ban_suite(void)
{
	Suite *s = suite_create("policy/ban");
	TCase *tc = tcase_create("ban");
	tcase_add_loop_test(tc, test_match, 0, EC_ARRAY_LEN(cases));
	tcase_add_loop_test(tc, test_bad, 0, EC_ARRAY_LEN(bad));
	tcase_add_test(tc, test_needs_object);
	tcase_add_test(tc, test_acl);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ban_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
