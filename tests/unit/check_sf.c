/*
 * check_sf.c — Check suite for policy/sf.c: the Structured Field Values
 * (RFC 8941) subset behind targeted cache-control and Cache-Status.
 */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "policy/sf.h"

/* Renders members as "key:type:value" joined by "|". */
struct dump {
	char buf[512];
	size_t len;
};

static void dump_member(const struct ec_sf_member *m, void *arg)
{
	static const char *const types[] = {"?", "int", "dec", "str", "tok", "bin", "bool", "list"};
	struct dump *d = arg;
	char val[128];
	if (m->type == EC_SF_INTEGER || m->type == EC_SF_BOOLEAN)
		snprintf(val, sizeof(val), "%lld", (long long)m->integer);
	else
		snprintf(val, sizeof(val), "%.*s%s", (int)m->raw.len, m->raw.p,
		         m->escaped ? "(esc)" : "");
	d->len +=
	        (size_t)snprintf(d->buf + d->len, sizeof(d->buf) - d->len, "%s%.*s:%s:%s",
	                         d->len ? "|" : "", (int)m->key.len, m->key.p, types[m->type], val);
}

struct dict_case {
	const char *name, *in;
	int rc;
	const char *members;
};

static const struct dict_case dict_cases[] = {
        {"RFC 8941 §3.2 example: strings and byte sequence",
         "en=\"Applepie\", da=:w4ZibGV0w6ZydGUK:", 2, "en:str:Applepie|da:bin:w4ZibGV0w6ZydGUK"},
        {"RFC 8941 §3.2 example: boolean, bare key, parameters", "a=?0, b, c; foo=bar", 3,
         "a:bool:0|b:bool:1|c:bool:1"},
        {"RFC 8941 §3.2 example: decimal and inner list", "rating=1.5, feelings=(joy sadness)", 2,
         "rating:dec:1.5|feelings:list:(joy sadness)"},
        {"§3.3.1 integers", "a=1, b=-2, c=999999999999999", 3,
         "a:int:1|b:int:-2|c:int:999999999999999"},
        {"§3.3.1 sixteen digits fail", "a=1234567890123456", -1, ""},
        {"§3.3.2 decimal limits", "a=123456789012.123", 1, "a:dec:123456789012.123"},
        {"§3.3.2 thirteen integer digits fail", "a=1234567890123.1", -1, ""},
        {"§3.3.2 four fraction digits fail", "a=1.2345", -1, ""},
        {"§3.3.2 trailing dot fails", "a=1.", -1, ""},
        {"§3.3.3 escaped string", "a=\"x\\\"y\"", 1, "a:str:x\\\"y(esc)"},
        {"§3.3.3 bad escape fails", "a=\"x\\y\"", -1, ""},
        {"§3.3.3 control character fails", "a=\"x\001\"", -1, ""},
        {"§3.3.3 unterminated string fails", "a=\"abc", -1, ""},
        {"§3.3.4 token", "a=tok/en:1", 1, "a:tok:tok/en:1"},
        {"§3.3.5 unterminated byte sequence fails", "a=:abc", -1, ""},
        {"§3.3.6 ?2 fails", "a=?2", -1, ""},
        {"§3.1.1 unterminated inner list fails", "a=(1 2", -1, ""},
        {"§3.1.1 inner list with parameters", "a=(1 2);p, b", 2, "a:list:(1 2);p|b:bool:1"},
        {"§3.1.2 parameters skipped", "a;p=1;q", 1, "a:bool:1"},
        {"§3.1.2 bad parameter fails", "a;P=1", -1, ""},
        {"§4.2 empty input", "", 0, ""},
        {"§4.2 blank input", "   ", 0, ""},
        {"§4.2 leading and trailing spaces", "  a=1  ", 1, "a:int:1"},
        {"§4.2.2 trailing comma fails", "a=1,", -1, ""},
        {"§4.2.2 empty member fails", "a=1,,b=2", -1, ""},
        {"§4.2.2 OWS around commas", "a=1 ,\tb=2", 2, "a:int:1|b:int:2"},
        {"§4.2.2 missing comma fails", "a=1 b=2", -1, ""},
        {"§4.2.3.3 uppercase key fails", "A=1", -1, ""},
        {"§4.2.3.3 key may start with *", "*x=1", 1, "*x:int:1"},
        {"§4.2.2 space after = fails", "a= 1", -1, ""},
        {"§4.2.2 duplicate keys reported in order", "a=1, a=2", 2, "a:int:1|a:int:2"},
};

START_TEST(test_dict)
{
	const struct dict_case *c = &dict_cases[_i];
	struct dump d = {{0}, 0};
	int rc = ec_sf_dict_parse(ec_str_cstr(c->in), NULL, NULL);
	ck_assert_msg(rc == c->rc, "%s: rc %d, expected %d", c->name, rc, c->rc);
	if (rc >= 0) {
		ck_assert_int_eq(ec_sf_dict_parse(ec_str_cstr(c->in), dump_member, &d), rc);
		ck_assert_msg(strcmp(d.buf, c->members) == 0, "%s: '%s', expected '%s'", c->name,
		              d.buf, c->members);
	}
}
END_TEST

START_TEST(test_dict_bounded)
{
	/* never reads past the view: "a=1" inside "a=12" */
	const char buf[] = "a=12";
	struct dump d = {{0}, 0};
	ck_assert_int_eq(ec_sf_dict_parse(ec_str_make(buf, 3), dump_member, &d), 1);
	ck_assert_str_eq(d.buf, "a:int:1");
	ck_assert_int_eq(ec_sf_dict_parse(ec_str_make("\"", 1), NULL, NULL), -1);
	ck_assert_int_eq(ec_sf_dict_parse(ec_str_make("a=\"", 3), NULL, NULL), -1);
	ck_assert_int_eq(ec_sf_dict_parse(ec_str_make("a=-", 3), NULL, NULL), -1);
	ck_assert_int_eq(ec_sf_dict_parse(ec_str_make("a;", 2), NULL, NULL), -1);
}
END_TEST

START_TEST(test_is_token)
{
	ck_assert(ec_sf_is_token(EC_STR("edgecache")));
	ck_assert(ec_sf_is_token(EC_STR("*foo")));
	ck_assert(ec_sf_is_token(EC_STR("foo:bar/baz")));
	ck_assert(ec_sf_is_token(EC_STR("MEMORY")));
	ck_assert(!ec_sf_is_token(EC_STR("1abc")));
	ck_assert(!ec_sf_is_token(EC_STR("")));
	ck_assert(!ec_sf_is_token(EC_STR("a b")));
	ck_assert(!ec_sf_is_token(EC_STR("a,b")));
	ck_assert(!ec_sf_is_token(EC_STR("a\"")));
}
END_TEST

START_TEST(test_write)
{
	char buf[64];
	ck_assert_uint_eq(ec_sf_write_string(buf, sizeof(buf), EC_STR("a\"b\\c")), 9);
	ck_assert_str_eq(buf, "\"a\\\"b\\\\c\"");
	ck_assert_uint_eq(ec_sf_write_string(buf, sizeof(buf), EC_STR("caf\xc3\xa9")), 7);
	ck_assert_str_eq(buf, "\"caf??\"");
	ck_assert_uint_eq(ec_sf_write_string(buf, sizeof(buf), EC_STR("")), 2);
	ck_assert_str_eq(buf, "\"\"");
	/* snprintf convention: truncated, NUL-terminated, full length returned */
	ck_assert_uint_eq(ec_sf_write_string(buf, 4, EC_STR("abcdef")), 8);
	ck_assert_str_eq(buf, "\"ab");
	ck_assert_uint_eq(ec_sf_write_string(NULL, 0, EC_STR("abcdef")), 8);
	ck_assert_uint_eq(ec_sf_write_token_or_string(buf, sizeof(buf), EC_STR("edgecache")), 9);
	ck_assert_str_eq(buf, "edgecache");
	ck_assert_uint_eq(ec_sf_write_token_or_string(buf, sizeof(buf), EC_STR("Edge Cache")), 12);
	ck_assert_str_eq(buf, "\"Edge Cache\"");
	ck_assert_uint_eq(ec_sf_write_token_or_string(buf, 5, EC_STR("edgecache")), 9);
	ck_assert_str_eq(buf, "edge");
}
END_TEST

static Suite *sf_suite(void)
{
	Suite *s = suite_create("policy/sf");
	TCase *tc = tcase_create("rfc8941");
	tcase_add_loop_test(tc, test_dict, 0, EC_ARRAY_LEN(dict_cases));
	tcase_add_test(tc, test_dict_bounded);
	tcase_add_test(tc, test_is_token);
	tcase_add_test(tc, test_write);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sf_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
