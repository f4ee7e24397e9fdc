/*
 * tests/unit/check_store_evict.c — the eviction and admission policies, on
 * objects of identical charge so capacities are exact object counts:
 * S3-FIFO (one-hit wonders go first, small -> main needs freq > 1, ghost
 * promotion, main reinsertion with freq - 1, the freq cap), TinyLFU admission
 * (a one-hit wonder loses to a hot victim, exactly at the >= boundary; a
 * replacement skips admission) and LRU recency.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/ec_store.h"

#define BODY 7000u

static size_t obj_charge;

static void key_of(unsigned id, char *buf)
{
	snprintf(buf, 32, "http://ev/%04u", id); /* fixed length: equal charges */
}

static struct ec_obj *make(unsigned id)
{
	static const char body[BODY];
	char key[32];
	struct ec_key k;
	struct ec_obj_init in = {.key = &k, .body_hint = BODY};
	struct ec_obj *o;

	key_of(id, key);
	k = ec_key_make(key, strlen(key));
	o = ec_obj_new(&in);
	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(ec_obj_append(o, body, BODY), 0);
	ec_obj_finish(o);
	return o;
}

/* A store holding exactly `n` objects (n >= 10 keeps the math simple). */
static struct ec_store *store_for(unsigned n, enum ec_evict_policy pol, enum ec_admission adm)
{
	struct ec_store_config cfg;
	const char *why;
	struct ec_store *st;
	struct ec_obj *o = make(0);

	obj_charge = ec_obj_charge(o);
	ec_obj_unref(&o);
	ec_store_config_default(&cfg, EC_MAX((uint64_t)n * obj_charge, (uint64_t)64 * 1024));
	ck_assert_uint_eq(cfg.capacity, (uint64_t)n * obj_charge);
	cfg.policy = pol;
	cfg.admission = adm;
	cfg.shards = 1;
	/* Sketch sized for 10x the objects: no aging inside these tests. */
	cfg.avg_obj_size = obj_charge / 10;
	st = ec_store_new(&cfg, &why);
	ck_assert_ptr_nonnull(st);
	return st;
}

static bool hit(struct ec_store *st, unsigned id)
{
	char key[32];
	struct ec_key k;
	struct ec_lookup req = {.key = &k};
	struct ec_obj *o;
	bool h;

	key_of(id, key);
	k = ec_key_make(key, strlen(key));
	h = ec_store_lookup(st, &req, &o) == EC_LOOKUP_HIT;
	if (h)
		ec_obj_unref(&o);
	return h;
}

/* Peeks at where an object is (without counting an access). */
static enum ec_obj_queue where(struct ec_store *st, unsigned id, unsigned *freq)
{
	char key[32];
	struct ec_key k;
	struct ec_lookup req = {.key = &k, .flags = EC_LOOKUP_PEEK};
	struct ec_obj *o;
	enum ec_obj_queue q;

	key_of(id, key);
	k = ec_key_make(key, strlen(key));
	if (ec_store_lookup(st, &req, &o) != EC_LOOKUP_HIT)
		return EC_OQ_NONE;
	q = ec_obj_queue(o);
	if (freq != NULL)
		*freq = ec_obj_freq(o);
	ec_obj_unref(&o);
	return q;
}

static enum ec_insert_rc put(struct ec_store *st, unsigned id)
{
	struct ec_obj *o = make(id);
	enum ec_insert_rc rc = ec_store_insert(st, o);

	ec_obj_unref(&o);
	return rc;
}

/* Fills a 10-object S3-FIFO cache with 0..9 and promotes 0..8 to main:
 * each is hit twice (freq 2 > 1), then inserting 10 evicts the only
 * one-hit wonder, 9, even though it is the newest. */
static struct ec_store *setup_promoted(void)
{
	struct ec_store *st = store_for(10, EC_EVICT_S3FIFO, EC_ADMIT_ALL);
	struct ec_store_stats s;

	for (unsigned i = 0; i < 10; i++)
		ck_assert_int_eq(put(st, i), EC_INSERT_OK);
	for (unsigned i = 0; i < 9; i++) {
		ck_assert(hit(st, i));
		ck_assert(hit(st, i));
	}
	for (unsigned i = 0; i < 10; i++)
		ck_assert_int_eq(where(st, i, NULL), EC_OQ_SMALL);
	ck_assert_int_eq(put(st, 10), EC_INSERT_OK);
	ec_store_stats(st, &s);
	ck_assert_uint_eq(s.evictions, 1);
	ck_assert_uint_eq(s.objects, 10);
	return st;
}

START_TEST(test_one_hit_wonder_evicted_first)
{
	struct ec_store *st = setup_promoted();
	unsigned f = 9;

	ck_assert_int_eq(where(st, 9, NULL), EC_OQ_NONE); /* evicted */
	for (unsigned i = 0; i < 9; i++) {
		ck_assert_int_eq(where(st, i, &f), EC_OQ_MAIN);
		ck_assert_uint_eq(f, 0); /* reset on the move */
	}
	ck_assert_int_eq(where(st, 10, NULL), EC_OQ_SMALL);
	ec_store_free(&st);
}
END_TEST

START_TEST(test_one_hit_is_not_enough)
{
	struct ec_store *st = store_for(10, EC_EVICT_S3FIFO, EC_ADMIT_ALL);

	for (unsigned i = 0; i < 10; i++)
		ck_assert_int_eq(put(st, i), EC_INSERT_OK);
	ck_assert(hit(st, 0)); /* freq 1: not > 1 */
	ck_assert(hit(st, 1));
	ck_assert(hit(st, 1)); /* freq 2 */
	ck_assert_int_eq(put(st, 10), EC_INSERT_OK);
	ck_assert_int_eq(where(st, 0, NULL), EC_OQ_NONE); /* the first victim */
	ck_assert_int_eq(where(st, 1, NULL), EC_OQ_SMALL);
	ck_assert_int_eq(put(st, 11), EC_INSERT_OK);
	ck_assert_int_eq(where(st, 1, NULL), EC_OQ_MAIN); /* moved on */
	ck_assert_int_eq(where(st, 2, NULL), EC_OQ_NONE); /* the next victim */
	ec_store_free(&st);
}
END_TEST

START_TEST(test_ghost_promotion)
{
	struct ec_store *st = setup_promoted();
	struct ec_store_stats s;

	/* 9 was evicted from small: its key is in the ghost, so it returns to main. */
	ck_assert(!hit(st, 9));
	ck_assert_int_eq(put(st, 9), EC_INSERT_OK);
	ck_assert_int_eq(where(st, 9, NULL), EC_OQ_MAIN);
	/* A key never seen goes to small. */
	ck_assert_int_eq(put(st, 50), EC_INSERT_OK);
	ck_assert_int_eq(where(st, 50, NULL), EC_OQ_SMALL);
	ec_store_stats(st, &s);
	ck_assert_uint_eq(s.ghost_hits, 1);
	ck_assert_uint_eq(s.ghost_entries, 2); /* 9, then 10 evicted for 9 */
	ec_store_free(&st);
}
END_TEST

START_TEST(test_main_reinsert_decrements)
{
	struct ec_store *st = setup_promoted();
	unsigned f = 0;

	/* main, tail first: 0 1 2 ... 8; small: 10. */
	ck_assert(hit(st, 0));
	ck_assert(hit(st, 0));
	ck_assert(hit(st, 0)); /* freq 3 */
	ck_assert(hit(st, 10));
	ck_assert(hit(st, 10)); /* 10 will move to main and empty small */
	ck_assert_int_eq(put(st, 11), EC_INSERT_OK);
	/* small's 10 went to main; small then empty, main's tail 0 (freq 3) was
	 * reinserted with freq 2 and 1 (freq 0) evicted. */
	ck_assert_int_eq(where(st, 10, NULL), EC_OQ_MAIN);
	ck_assert_int_eq(where(st, 0, &f), EC_OQ_MAIN);
	ck_assert_uint_eq(f, 2);
	ck_assert_int_eq(where(st, 1, NULL), EC_OQ_NONE);
	ck_assert_int_eq(where(st, 2, NULL), EC_OQ_MAIN);
	ck_assert_int_eq(where(st, 11, NULL), EC_OQ_SMALL);
	ec_store_free(&st);
}
END_TEST

START_TEST(test_freq_cap)
{
	struct ec_store *st = store_for(10, EC_EVICT_S3FIFO, EC_ADMIT_ALL);
	unsigned f = 0;

	ck_assert_int_eq(put(st, 1), EC_INSERT_OK);
	for (unsigned i = 0; i < 10; i++)
		ck_assert(hit(st, 1));
	ck_assert_int_eq(where(st, 1, &f), EC_OQ_SMALL);
	ck_assert_uint_eq(f, 3);
	ec_store_free(&st);
}
END_TEST

/* TinyLFU: 0..9 fill the cache, each looked up 6 times in all (est 6). */
static struct ec_store *setup_hot(void)
{
	struct ec_store *st = store_for(10, EC_EVICT_S3FIFO, EC_ADMIT_TINYLFU);

	for (unsigned i = 0; i < 10; i++) {
		ck_assert(!hit(st, i)); /* the miss that precedes an insert counts */
		ck_assert_int_eq(put(st, i), EC_INSERT_OK);
		for (unsigned j = 0; j < 5; j++)
			ck_assert(hit(st, i));
	}
	return st;
}

START_TEST(test_tinylfu_rejects_one_hit_wonder)
{
	struct ec_store *st = setup_hot();
	struct ec_store_stats s;

	ck_assert(!hit(st, 100));
	ck_assert_int_eq(put(st, 100), EC_INSERT_REJECTED);
	ck_assert_str_eq(ec_insert_rc_str(EC_INSERT_REJECTED),
	                 "admission: less frequently requested than the eviction victim");
	ec_store_stats(st, &s);
	ck_assert_uint_eq(s.rejected_admission, 1);
	ck_assert_uint_eq(s.evictions, 0);
	ck_assert_uint_eq(s.objects, 10);
	for (unsigned i = 0; i < 10; i++)
		ck_assert_int_ne(where(st, i, NULL), EC_OQ_NONE);
	ck_assert_int_eq(where(st, 100, NULL), EC_OQ_NONE);
	ec_store_free(&st);
}
END_TEST

START_TEST(test_tinylfu_admits_at_equal_frequency)
{
	struct ec_store *st = setup_hot();
	struct ec_store_stats s;

	/* 5 lookups: estimate 5 < 6, refused; the 6th makes it 6 >= 6. */
	for (unsigned j = 0; j < 5; j++)
		ck_assert(!hit(st, 100));
	ck_assert_int_eq(put(st, 100), EC_INSERT_REJECTED);
	ck_assert(!hit(st, 100));
	ck_assert_int_eq(put(st, 100), EC_INSERT_OK);
	ck_assert(hit(st, 100));
	ec_store_stats(st, &s);
	ck_assert_uint_eq(s.rejected_admission, 1);
	ck_assert_uint_eq(s.evictions, 1);
	ck_assert_uint_eq(s.objects, 10);
	ec_store_free(&st);
}
END_TEST

START_TEST(test_tinylfu_replacement_skips_admission)
{
	struct ec_store *st = setup_hot();
	struct ec_store_stats s;

	/* A new version of a stored variant is not a newcomer. */
	ck_assert_int_eq(put(st, 3), EC_INSERT_OK);
	ec_store_stats(st, &s);
	ck_assert_uint_eq(s.replaced, 1);
	ck_assert_uint_eq(s.rejected_admission, 0);
	ck_assert_uint_eq(s.objects, 10);
	ck_assert_uint_eq(s.bytes, 10 * obj_charge);
	ec_store_free(&st);
}
END_TEST

START_TEST(test_lru_recency)
{
	struct ec_store *st = store_for(10, EC_EVICT_LRU, EC_ADMIT_ALL);

	for (unsigned i = 0; i < 10; i++)
		ck_assert_int_eq(put(st, i), EC_INSERT_OK);
	ck_assert(hit(st, 0)); /* 0 is now the most recent; 1 the least */
	ck_assert_int_eq(put(st, 10), EC_INSERT_OK);
	ck_assert_int_eq(where(st, 1, NULL), EC_OQ_NONE);
	ck_assert_int_eq(where(st, 0, NULL), EC_OQ_LRU);
	ck_assert_int_eq(put(st, 11), EC_INSERT_OK);
	ck_assert_int_eq(where(st, 2, NULL), EC_OQ_NONE);
	ck_assert_int_eq(where(st, 0, NULL), EC_OQ_LRU);
	ec_store_free(&st);
}
END_TEST

START_TEST(test_scan_resistance)
{
	/* A hot set of 8 survives a scan of 200 one-off keys under S3-FIFO
	 * (and TinyLFU), but not under LRU. */
	enum ec_evict_policy pols[] = {EC_EVICT_S3FIFO, EC_EVICT_S3FIFO, EC_EVICT_LRU};
	enum ec_admission adms[] = {EC_ADMIT_ALL, EC_ADMIT_TINYLFU, EC_ADMIT_ALL};

	for (unsigned p = 0; p < 3; p++) {
		struct ec_store *st = store_for(20, pols[p], adms[p]);
		unsigned survivors = 0;

		for (unsigned round = 0; round < 3; round++)
			for (unsigned i = 0; i < 8; i++)
				if (!hit(st, i))
					(void)put(st, i);
		for (unsigned i = 1000; i < 1200; i++)
			if (!hit(st, i))
				(void)put(st, i);
		for (unsigned i = 0; i < 8; i++)
			survivors += where(st, i, NULL) != EC_OQ_NONE;
		ck_assert_uint_eq(survivors, pols[p] == EC_EVICT_LRU ? 0 : 8);
		ec_store_free(&st);
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("store_evict");
	TCase *tc = tcase_create("evict");

	tcase_add_test(tc, test_one_hit_wonder_evicted_first);
	tcase_add_test(tc, test_one_hit_is_not_enough);
	tcase_add_test(tc, test_ghost_promotion);
	tcase_add_test(tc, test_main_reinsert_decrements);
	tcase_add_test(tc, test_freq_cap);
	tcase_add_test(tc, test_tinylfu_rejects_one_hit_wonder);
	tcase_add_test(tc, test_tinylfu_admits_at_equal_frequency);
	tcase_add_test(tc, test_tinylfu_replacement_skips_admission);
	tcase_add_test(tc, test_lru_recency);
	tcase_add_test(tc, test_scan_resistance);
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
