/*
 * check_predict.c — the two predictors of policy/: the cacheability
 * predictor (hit-for-miss marks, expiry, LRU bound, clearing, threads) and
 * the freshness predictor (learned lifetimes from revalidations).
 */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>

#include "policy/learn.h"
#include "policy/predict.h"

START_TEST(test_predict_mark_clear_expire)
{
	struct ec_predict *p = ec_predict_new(1024, 100);
	ck_assert_ptr_nonnull(p);
	ck_assert(!ec_predict_uncacheable(p, 42, 1000));
	ec_predict_mark(p, 42, 1000);
	ck_assert(ec_predict_uncacheable(p, 42, 1000));
	ck_assert(ec_predict_uncacheable(p, 42, 1099));
	ck_assert(!ec_predict_uncacheable(p, 43, 1000));
	/* a mark lives `ttl` seconds */
	ck_assert(!ec_predict_uncacheable(p, 42, 1100));
	ck_assert_uint_eq(ec_predict_count(p), 0);
	/* a storable response clears it */
	ec_predict_mark(p, 7, 2000);
	ec_predict_clear(p, 7);
	ck_assert(!ec_predict_uncacheable(p, 7, 2000));
	/* marking again refreshes the time */
	ec_predict_mark(p, 9, 3000);
	ec_predict_mark(p, 9, 3050);
	ck_assert(ec_predict_uncacheable(p, 9, 3120));
	ck_assert_uint_eq(ec_predict_count(p), 1);
	ec_predict_free(&p);
	ck_assert_ptr_null(p);
}
END_TEST

START_TEST(test_predict_bounded_lru)
{
	/* 16 shards x 4 slots: the oldest marks of a shard go first */
	struct ec_predict *p = ec_predict_new(64, 1000000);
	uint64_t shard = 3ull << 59; /* same shard: the top bits pick it */
	for (uint64_t i = 1; i <= 4; i++)
		ec_predict_mark(p, shard | i, (int64_t)i);
	for (uint64_t i = 1; i <= 4; i++)
		ck_assert(ec_predict_uncacheable(p, shard | i, 10));
	ec_predict_mark(p, shard | 5, 11); /* evicts the least recently marked: 1 */
	ck_assert(!ec_predict_uncacheable(p, shard | 1, 12));
	for (uint64_t i = 2; i <= 5; i++)
		ck_assert(ec_predict_uncacheable(p, shard | i, 12));
	ck_assert_uint_le(ec_predict_count(p), 64);
	/* many keys never exceed the capacity, and deletion keeps lookups right */
	for (uint64_t i = 0; i < 100000; i++)
		ec_predict_mark(p, i * 0x9e3779b97f4a7c15ull, 20);
	ck_assert_uint_le(ec_predict_count(p), 64);
	for (uint64_t i = 99990; i < 100000; i++)
		ck_assert(ec_predict_uncacheable(p, i * 0x9e3779b97f4a7c15ull, 21));
	ec_predict_free(&p);
}
END_TEST

static struct ec_predict *shared;

static void *hammer(void *arg)
{
	uint64_t base = (uint64_t)(uintptr_t)arg;
	for (uint64_t i = 0; i < 20000; i++) {
		uint64_t k = (base + i * 7919) * 0x9e3779b97f4a7c15ull;
		ec_predict_mark(shared, k, 1);
		(void)ec_predict_uncacheable(shared, k, 2);
		if (i % 3 == 0)
			ec_predict_clear(shared, k);
	}
	return NULL;
}

START_TEST(test_predict_threads)
{
	shared = ec_predict_new(4096, 1000);
	pthread_t t[4];
	for (uintptr_t i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, hammer, (void *)(i * 1000003));
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	ck_assert_uint_le(ec_predict_count(shared), 4096);
	ec_predict_free(&shared);
}
END_TEST

START_TEST(test_learn_lifetimes)
{
	struct ec_learn *l = ec_learn_new(4096);
	ck_assert_ptr_nonnull(l);
	/* nothing known */
	ck_assert_int_eq(ec_learn_lifetime(l, 11, 0, 0, 3600), 0);
	/* first seen at 1000 with validator A */
	ec_learn_observe(l, 11, 0xA, false, 1000);
	ck_assert_int_eq(ec_learn_lifetime(l, 11, 1000, 0, 3600), 0);
	ck_assert_int_eq(ec_learn_lifetime(l, 11, 1000, 5, 3600), 5); /* the minimum */
	/* confirmed unchanged 100 s later (a 304): half the stable span */
	ec_learn_observe(l, 11, 0, true, 1100);
	ck_assert_int_eq(ec_learn_lifetime(l, 11, 1100, 0, 3600), 50);
	/* the same validator in a 200 confirms too; the span keeps growing */
	ec_learn_observe(l, 11, 0xA, false, 1400);
	ck_assert_int_eq(ec_learn_lifetime(l, 11, 1400, 0, 3600), 200);
	/* capped by the maximum */
	ec_learn_observe(l, 11, 0, true, 20000);
	ck_assert_int_eq(ec_learn_lifetime(l, 11, 20000, 0, 3600), 3600);
	/* a new representation: the clock starts over */
	ec_learn_observe(l, 11, 0xB, false, 20010);
	ck_assert_int_eq(ec_learn_lifetime(l, 11, 20010, 0, 3600), 0);
	ec_learn_observe(l, 11, 0xB, false, 20030);
	ck_assert_int_eq(ec_learn_lifetime(l, 11, 20030, 0, 3600), 10);
	/* responses without a validator teach nothing */
	ec_learn_observe(l, 12, 0, false, 5);
	ck_assert_int_eq(ec_learn_lifetime(l, 12, 5, 0, 3600), 0);
	ec_learn_free(&l);
	ck_assert_ptr_null(l);
}
END_TEST

START_TEST(test_learn_bounded)
{
	/* 64 keys: 16 shards x 1 set x 4 ways; older keys are replaced */
	struct ec_learn *l = ec_learn_new(64);
	for (uint64_t i = 1; i <= 1000; i++)
		ec_learn_observe(l, i * 0x9e3779b97f4a7c15ull, 1, false, (int64_t)i);
	ec_learn_observe(l, 1000 * 0x9e3779b97f4a7c15ull, 1, false, 2000);
	ck_assert_int_eq(ec_learn_lifetime(l, 1000 * 0x9e3779b97f4a7c15ull, 2000, 0, 3600), 500);
	ec_learn_free(&l);
}
END_TEST

static Suite *predict_suite(void)
{
	Suite *s = suite_create("predict");
	TCase *tc = tcase_create("predict");
	tcase_add_test(tc, test_predict_mark_clear_expire);
	tcase_add_test(tc, test_predict_bounded_lru);
	tcase_add_test(tc, test_predict_threads);
	tcase_add_test(tc, test_learn_lifetimes);
	tcase_add_test(tc, test_learn_bounded);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(predict_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
