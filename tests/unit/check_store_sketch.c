/*
 * tests/unit/check_store_sketch.c — storage/sketch.c, the TinyLFU count-min
 * sketch: exact counts when alone, never under-counting heavy hitters among
 * noise, saturation at 15, halving (explicit and after `sample` additions).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "storage/sketch.h"

static struct ec_hash128 key_hash(unsigned i)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "http://h/%u", i);
	return ec_store_hash(buf, (size_t)n);
}

START_TEST(test_exact_when_alone)
{
	struct ec_sketch s;
	struct ec_hash128 h = key_hash(1);

	ck_assert_int_eq(ec_sketch_init(&s, 1000), 0);
	ck_assert_uint_eq(ec_sketch_estimate(&s, h), 0);
	for (unsigned i = 1; i <= 9; i++) {
		ec_sketch_add(&s, h);
		ck_assert_uint_eq(ec_sketch_estimate(&s, h), i);
	}
	ck_assert_uint_eq(ec_sketch_estimate(&s, key_hash(2)) <= 9, 1);
	ec_sketch_fini(&s);
}
END_TEST

START_TEST(test_saturates_at_15)
{
	struct ec_sketch s;
	struct ec_hash128 h = key_hash(7);

	ck_assert_int_eq(ec_sketch_init(&s, 1000), 0);
	for (unsigned i = 0; i < 40; i++)
		ec_sketch_add(&s, h);
	ck_assert_uint_eq(ec_sketch_estimate(&s, h), EC_SKETCH_MAX);
	/* Saturated increments do not advance the aging clock. */
	ck_assert_uint_eq(s.additions, 15);
	ec_sketch_fini(&s);
}
END_TEST

START_TEST(test_heavy_hitters_never_undercounted)
{
	struct ec_sketch s;
	unsigned heavy = 100, noise = 5000, over = 0;
	uint64_t noise_sum = 0;

	ck_assert_int_eq(ec_sketch_init(&s, 2000), 0);
	s.sample = UINT64_MAX; /* no aging in this test */
	/* Heavy key i is seen 3 + i % 12 times, interleaved with one-off noise. */
	for (unsigned round = 0; round < 15; round++) {
		for (unsigned i = 0; i < heavy; i++)
			if (round < 3 + i % 12)
				ec_sketch_add(&s, key_hash(i));
		for (unsigned j = 0; j < noise / 15; j++)
			ec_sketch_add(&s, key_hash(1000000 + round * 1000 + j));
	}
	for (unsigned i = 0; i < heavy; i++) {
		unsigned est = ec_sketch_estimate(&s, key_hash(i));
		/* Count-min never under-estimates (below saturation). */
		ck_assert_uint_ge(est, 3 + i % 12);
		over += est > 3 + i % 12;
	}
	/* ...and rarely over-estimates with 4 rows this wide. */
	ck_assert_uint_le(over, heavy / 10);
	for (unsigned j = 0; j < 1000; j++)
		noise_sum += ec_sketch_estimate(&s, key_hash(1000000 + j));
	/* One-off keys estimate about 1 (they were each seen at most once). */
	ck_assert_uint_le(noise_sum, 1100);
	ec_sketch_fini(&s);
}
END_TEST

START_TEST(test_halve)
{
	struct ec_sketch s;
	struct ec_hash128 a = key_hash(1), b = key_hash(2);

	ck_assert_int_eq(ec_sketch_init(&s, 1000), 0);
	for (unsigned i = 0; i < 11; i++)
		ec_sketch_add(&s, a);
	for (unsigned i = 0; i < 4; i++)
		ec_sketch_add(&s, b);
	ck_assert_uint_eq(ec_sketch_estimate(&s, a), 11);
	ck_assert_uint_eq(ec_sketch_estimate(&s, b), 4);
	ec_sketch_halve(&s);
	ck_assert_uint_eq(ec_sketch_estimate(&s, a), 5);
	ck_assert_uint_eq(ec_sketch_estimate(&s, b), 2);
	ck_assert_uint_eq(s.additions, 7);
	ck_assert_uint_eq(s.halvings, 1);
	ec_sketch_halve(&s);
	ec_sketch_halve(&s);
	ck_assert_uint_eq(ec_sketch_estimate(&s, a), 1);
	ck_assert_uint_eq(ec_sketch_estimate(&s, b), 0);
	ec_sketch_fini(&s);
}
END_TEST

START_TEST(test_ages_after_sample)
{
	struct ec_sketch s;
	struct ec_hash128 hot = key_hash(42);
	unsigned i = 0;

	ck_assert_int_eq(ec_sketch_init(&s, 100), 0);
	ck_assert_uint_eq(s.sample, 1000); /* 10 x items */
	for (unsigned k = 0; k < 8; k++)
		ec_sketch_add(&s, hot);
	ck_assert_uint_eq(ec_sketch_estimate(&s, hot), 8);
	/* Fill the window with other keys: the 1000th addition halves. */
	while (s.halvings == 0)
		ec_sketch_add(&s, key_hash(5000 + i++));
	ck_assert_uint_eq(i, 1000 - 8);
	ck_assert_uint_eq(s.additions, 500);
	/* Hot was 8 (maybe more by collision, at most 15): now half of it. */
	ck_assert_uint_ge(ec_sketch_estimate(&s, hot), 4);
	ck_assert_uint_le(ec_sketch_estimate(&s, hot), 7);
	ec_sketch_fini(&s);
}
END_TEST

START_TEST(test_tiny_sketch_minimums)
{
	struct ec_sketch s;

	ck_assert_int_eq(ec_sketch_init(&s, 0), 0);
	ck_assert_uint_eq(s.block_mask, 0); /* one 64-byte block */
	ck_assert_uint_eq(s.sample, 64);
	ec_sketch_add(&s, key_hash(1));
	ck_assert_uint_ge(ec_sketch_estimate(&s, key_hash(1)), 1);
	ec_sketch_fini(&s);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("store_sketch");
	TCase *tc = tcase_create("sketch");

	tcase_add_test(tc, test_exact_when_alone);
	tcase_add_test(tc, test_saturates_at_15);
	tcase_add_test(tc, test_heavy_hitters_never_undercounted);
	tcase_add_test(tc, test_halve);
	tcase_add_test(tc, test_ages_after_sample);
	tcase_add_test(tc, test_tiny_sketch_minimums);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
