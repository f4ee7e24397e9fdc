/*
 * check_tls.c — the pure parts of src/tls.c: how a certificate name matches an
 * SNI host name (exact, case-insensitive; a wildcard covers one label).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "src/tls.h"

static bool m(const char *pat, const char *host)
{
	return ec_tls_name_matches(pat, host, strlen(host));
}

START_TEST(test_exact)
{
	ck_assert(m("a.test", "a.test"));
	ck_assert(m("a.test", "A.TEST"));
	ck_assert(!m("a.test", "a.tes"));
	ck_assert(!m("a.test", "a.testx"));
	ck_assert(!m("a.test", "b.a.test"));
	ck_assert(!m("a.test", ""));
}
END_TEST

START_TEST(test_wildcard_one_label)
{
	ck_assert(m("*.wild.test", "x.wild.test"));
	ck_assert(m("*.wild.test", "X.Wild.Test"));
	ck_assert(m("*.wild.test", "long-label-123.wild.test"));
	ck_assert(!m("*.wild.test", "wild.test"));
	ck_assert(!m("*.wild.test", ".wild.test"));
	ck_assert(!m("*.wild.test", "a.b.wild.test"));
	ck_assert(!m("*.wild.test", "x.wild.testx"));
	ck_assert(!m("*.wild.test", "x.otherwild.test"));
	ck_assert(!m("*.wild.test", "x"));
}
END_TEST

START_TEST(test_length_not_terminator)
{
	/* the host is a length-delimited view into the ClientHello */
	const char buf[] = "a.testGARBAGE";
	ck_assert(ec_tls_name_matches("a.test", buf, 6));
	ck_assert(!ec_tls_name_matches("a.test", buf, 7));
	const char wild[] = "x.wild.test.evil";
	ck_assert(ec_tls_name_matches("*.wild.test", wild, 11));
	ck_assert(!ec_tls_name_matches("*.wild.test", wild, 16));
}
END_TEST

static Suite *tls_suite(void)
{
	Suite *s = suite_create("tls");
	TCase *tc = tcase_create("names");
	tcase_add_test(tc, test_exact);
	tcase_add_test(tc, test_wildcard_one_label);
	tcase_add_test(tc, test_length_not_terminator);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(tls_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
