/*
 * tests/unit/check_store_index.c — storage/store.c: the sharded index.
 * Config validation, hit/miss/vary-miss, variants (insert, match, replace,
 * purge), soft purge, remove, hash collisions (same bucket; same full
 * 128-bit hash), iteration, reference lifetimes across eviction and store
 * teardown, the maximum object size, and byte capacity never exceeded over
 * random insert/lookup/purge/remove sequences under both policies.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/ec_store.h"

#define CAP (1024u * 1024u)

static struct ec_store *new_store(uint64_t cap, enum ec_evict_policy pol, enum ec_admission adm)
{
	struct ec_store_config cfg;
	const char *why = NULL;
	struct ec_store *st;

	ec_store_config_default(&cfg, cap);
	cfg.policy = pol;
	cfg.admission = adm;
	cfg.shards = 8;
	st = ec_store_new(&cfg, &why);
	ck_assert_msg(st != NULL, "ec_store_new: %s", why ? why : "?");
	return st;
}

/* An object whose body is `size` bytes of `fillc`, finished. */
static struct ec_obj *make_obj_h(struct ec_key k, const char *vkey, size_t size, char fillc)
{
	struct ec_obj_init in = {.key = &k, .vkey = vkey, .vkey_len = vkey ? strlen(vkey) : 0};
	struct ec_obj *o;
	char buf[512];

	in.body_hint = size;
	o = ec_obj_new(&in);
	ck_assert_ptr_nonnull(o);
	memset(buf, fillc, sizeof(buf));
	for (size_t done = 0; done < size;) {
		size_t n = EC_MIN(sizeof(buf), size - done);
		ck_assert_int_eq(ec_obj_append(o, buf, n), 0);
		done += n;
	}
	ec_obj_finish(o);
	return o;
}

static struct ec_obj *make_obj(const char *key, const char *vkey, size_t size, char fillc)
{
	return make_obj_h(ec_key_make(key, strlen(key)), vkey, size, fillc);
}

static enum ec_lookup_rc lookup_h(struct ec_store *st, struct ec_key k, const char *vkey,
                                  struct ec_obj **op)
{
	struct ec_str v = ec_str_cstr(vkey);
	struct ec_lookup req = {.key = &k, .now = 100};

	if (vkey != NULL) {
		req.match = ec_store_match_vkey;
		req.match_arg = &v;
	}
	return ec_store_lookup(st, &req, op);
}

static enum ec_lookup_rc lookup(struct ec_store *st, const char *key, const char *vkey,
                                struct ec_obj **op)
{
	return lookup_h(st, ec_key_make(key, strlen(key)), vkey, op);
}

/* Inserts and drops the caller's reference; returns the insert result. */
static enum ec_insert_rc put(struct ec_store *st, struct ec_obj *o)
{
	enum ec_insert_rc rc = ec_store_insert(st, o);
	ec_obj_unref(&o);
	return rc;
}

static char body_byte(const struct ec_obj *o)
{
	return *(const char *)ec_chunk_data(ec_obj_chunk(o, 0));
}

START_TEST(test_config_errors)
{
	struct ec_store_config cfg;
	const char *why;

	ec_store_config_default(&cfg, 1000);
	ck_assert_ptr_null(ec_store_new(&cfg, &why));
	ck_assert_str_eq(why, "capacity below 64 KiB");
	ec_store_config_default(&cfg, CAP);
	cfg.policy = EC_EVICT_INVALID;
	ck_assert_ptr_null(ec_store_new(&cfg, &why));
	ck_assert_str_eq(why, "unknown eviction policy");
	ec_store_config_default(&cfg, CAP);
	cfg.admission = EC_ADMIT_INVALID;
	ck_assert_ptr_null(ec_store_new(&cfg, &why));
	ck_assert_str_eq(why, "unknown admission policy");
	ec_store_config_default(&cfg, CAP);
	cfg.shards = 48;
	ck_assert_ptr_null(ec_store_new(&cfg, &why));
	ck_assert_str_eq(why, "shards must be a power of two up to 4096");
	cfg.shards = 1;
	{
		struct ec_store *st = ec_store_new(&cfg, &why);
		ck_assert_ptr_nonnull(st);
		/* Default max object size: the small FIFO's 10 %. */
		ck_assert_uint_eq(ec_store_max_obj_size(st), CAP / 10);
		ec_store_free(&st);
		ck_assert_ptr_null(st);
	}
}
END_TEST

START_TEST(test_hit_miss_stats)
{
	struct ec_store *st = new_store(CAP, EC_EVICT_S3FIFO, EC_ADMIT_TINYLFU);
	struct ec_store_stats s;
	struct ec_obj *o, *got;
	size_t charge;

	ck_assert_int_eq(lookup(st, "http://a/1", NULL, &got), EC_LOOKUP_MISS);
	ck_assert_ptr_null(got);
	o = make_obj("http://a/1", NULL, 3000, 'x');
	ec_obj_attr_mut(o)->status = 203;
	charge = ec_obj_charge(o);
	ck_assert_int_eq(ec_store_insert(st, o), EC_INSERT_OK);
	ck_assert_uint_eq(ec_obj_charge(o), charge); /* fixed at publish */
	ec_obj_unref(&o);
	ck_assert_int_eq(lookup(st, "http://a/1", NULL, &got), EC_LOOKUP_HIT);
	ck_assert_int_eq(ec_obj_attr(got)->status, 203);
	ck_assert_uint_eq(ec_obj_body_len(got), 3000);
	ck_assert_uint_eq(ec_obj_hits(got), 1);
	ck_assert_int_eq(ec_obj_last_access(got), 100);
	ck_assert_uint_eq(ec_obj_freq(got), 1);
	ec_obj_unref(&got);
	/* A peek changes nothing. */
	{
		struct ec_key k = ec_key_make("http://a/1", 10);
		struct ec_lookup req = {.key = &k, .flags = EC_LOOKUP_PEEK};
		ck_assert_int_eq(ec_store_lookup(st, &req, &got), EC_LOOKUP_HIT);
		ck_assert_uint_eq(ec_obj_hits(got), 1);
		ec_obj_unref(&got);
	}
	ck_assert_int_eq(lookup(st, "http://a/2", NULL, &got), EC_LOOKUP_MISS);
	ec_store_stats(st, &s);
	ck_assert_uint_eq(s.lookups, 3);
	ck_assert_uint_eq(s.hits, 1);
	ck_assert_uint_eq(s.misses, 2);
	ck_assert_uint_eq(s.inserts, 1);
	ck_assert_uint_eq(s.objects, 1);
	ck_assert_uint_eq(s.objheads, 1);
	ck_assert_uint_eq(s.bytes, charge);
	ck_assert_uint_eq(s.small_bytes, charge);
	ck_assert_uint_eq(s.capacity, CAP);
	ec_store_free(&st);
}
END_TEST

START_TEST(test_variants)
{
	struct ec_store *st = new_store(CAP, EC_EVICT_S3FIFO, EC_ADMIT_TINYLFU);
	struct ec_store_stats s;
	struct ec_obj *got, *old_b;
	size_t live = ec_obj_live();

	ck_assert_int_eq(put(st, make_obj("http://v/", "gzip", 100, 'g')), EC_INSERT_OK);
	ck_assert_int_eq(put(st, make_obj("http://v/", "br", 100, 'b')), EC_INSERT_OK);
	ck_assert_int_eq(put(st, make_obj("http://v/", "", 100, 'i')), EC_INSERT_OK);
	ck_assert_int_eq(lookup(st, "http://v/", "br", &got), EC_LOOKUP_HIT);
	ck_assert_int_eq(body_byte(got), 'b');
	old_b = got;
	ck_assert_int_eq(lookup(st, "http://v/", "gzip", &got), EC_LOOKUP_HIT);
	ck_assert_int_eq(body_byte(got), 'g');
	ec_obj_unref(&got);
	ck_assert_int_eq(lookup(st, "http://v/", "", &got), EC_LOOKUP_HIT);
	ck_assert_int_eq(body_byte(got), 'i');
	ec_obj_unref(&got);
	/* No variant matches: a vary miss, not a miss. */
	ck_assert_int_eq(lookup(st, "http://v/", "zstd", &got), EC_LOOKUP_VARY_MISS);
	ck_assert_ptr_null(got);
	/* No matcher: the newest variant. */
	ck_assert_int_eq(lookup(st, "http://v/", NULL, &got), EC_LOOKUP_HIT);
	ck_assert_int_eq(body_byte(got), 'i');
	ec_obj_unref(&got);

	/* Same secondary key: replaced; the old one lives on with its reader. */
	ck_assert_int_eq(put(st, make_obj("http://v/", "br", 200, 'B')), EC_INSERT_OK);
	ck_assert_int_eq(lookup(st, "http://v/", "br", &got), EC_LOOKUP_HIT);
	ck_assert_int_eq(body_byte(got), 'B');
	ck_assert_uint_eq(ec_obj_body_len(got), 200);
	ec_obj_unref(&got);
	ck_assert_int_eq(ec_obj_queue(old_b), EC_OQ_NONE);
	ck_assert_int_eq(body_byte(old_b), 'b');
	ec_store_stats(st, &s);
	ck_assert_uint_eq(s.replaced, 1);
	ck_assert_uint_eq(s.objects, 3);
	ck_assert_uint_eq(s.objheads, 1);
	ck_assert_uint_eq(ec_obj_live(), live + 4);
	ec_obj_unref(&old_b);
	ck_assert_uint_eq(ec_obj_live(), live + 3);

	/* Soft purge marks all variants stale and keeps them. */
	{
		struct ec_key k = ec_key_make("http://v/", 9);
		ck_assert_uint_eq(ec_store_purge(st, &k, EC_PURGE_SOFT), 3);
		ck_assert_int_eq(lookup(st, "http://v/", "gzip", &got), EC_LOOKUP_HIT);
		ck_assert_uint_eq(ec_obj_flags(got) & EC_OBJF_STALE, EC_OBJF_STALE);
		ec_obj_unref(&got);
		/* Purge removes all variants. */
		ck_assert_uint_eq(ec_store_purge(st, &k, 0), 3);
		ck_assert_uint_eq(ec_store_purge(st, &k, 0), 0);
	}
	ck_assert_int_eq(lookup(st, "http://v/", "gzip", &got), EC_LOOKUP_MISS);
	ec_store_stats(st, &s);
	ck_assert_uint_eq(s.objects, 0);
	ck_assert_uint_eq(s.objheads, 0);
	ck_assert_uint_eq(s.bytes, 0);
	ck_assert_uint_eq(s.purged, 3);
	ck_assert_uint_eq(s.vary_misses, 1);
	ck_assert_uint_eq(ec_obj_live(), live);
	ec_store_free(&st);
}
END_TEST

START_TEST(test_remove)
{
	struct ec_store *st = new_store(CAP, EC_EVICT_LRU, EC_ADMIT_ALL);
	struct ec_obj *a, *got;
	struct ec_store_stats s;

	ck_assert_int_eq(put(st, make_obj("http://r/", "1", 10, '1')), EC_INSERT_OK);
	ck_assert_int_eq(put(st, make_obj("http://r/", "2", 10, '2')), EC_INSERT_OK);
	ck_assert_int_eq(lookup(st, "http://r/", "1", &a), EC_LOOKUP_HIT);
	ck_assert(ec_store_remove(st, a));
	ck_assert(!ec_store_remove(st, a)); /* already gone */
	ck_assert_int_eq(lookup(st, "http://r/", "1", &got), EC_LOOKUP_VARY_MISS);
	ck_assert_int_eq(lookup(st, "http://r/", "2", &got), EC_LOOKUP_HIT);
	ec_obj_unref(&got);
	ck_assert_int_eq(body_byte(a), '1');
	ec_obj_unref(&a);
	ec_store_stats(st, &s);
	ck_assert_uint_eq(s.objects, 1);
	ck_assert_uint_eq(s.purged, 1);
	ec_store_free(&st);
}
END_TEST

/* Two keys forced into one bucket, and two keys with the same full hash. */
START_TEST(test_collisions)
{
	struct ec_store *st = new_store(CAP, EC_EVICT_S3FIFO, EC_ADMIT_ALL);
	struct ec_key a = ec_key_make("http://c/a", 10), b = ec_key_make("http://c/b", 10);
	struct ec_key c = ec_key_make("http://c/c", 10);
	struct ec_obj *got;
	struct ec_store_stats s;

	/* Same shard (top bits of hi) and same bucket (low bits of lo). */
	b.hash.hi = a.hash.hi ^ 1;
	b.hash.lo = a.hash.lo ^ (UINT64_C(1) << 40);
	/* The very same 128-bit hash, a different key string. */
	c.hash = a.hash;
	ck_assert_int_eq(put(st, make_obj_h(a, NULL, 10, 'a')), EC_INSERT_OK);
	ck_assert_int_eq(put(st, make_obj_h(b, NULL, 10, 'b')), EC_INSERT_OK);
	ck_assert_int_eq(put(st, make_obj_h(c, NULL, 10, 'c')), EC_INSERT_OK);
	ec_store_stats(st, &s);
	ck_assert_uint_eq(s.objheads, 3);
	ck_assert_int_eq(lookup_h(st, a, NULL, &got), EC_LOOKUP_HIT);
	ck_assert_int_eq(body_byte(got), 'a');
	ec_obj_unref(&got);
	ck_assert_int_eq(lookup_h(st, b, NULL, &got), EC_LOOKUP_HIT);
	ck_assert_int_eq(body_byte(got), 'b');
	ec_obj_unref(&got);
	ck_assert_int_eq(lookup_h(st, c, NULL, &got), EC_LOOKUP_HIT);
	ck_assert_int_eq(body_byte(got), 'c');
	ec_obj_unref(&got);
	/* Purging one leaves the others. */
	ck_assert_uint_eq(ec_store_purge(st, &c, 0), 1);
	ck_assert_int_eq(lookup_h(st, c, NULL, &got), EC_LOOKUP_MISS);
	ck_assert_int_eq(lookup_h(st, a, NULL, &got), EC_LOOKUP_HIT);
	ck_assert_int_eq(body_byte(got), 'a');
	ec_obj_unref(&got);
	ck_assert_uint_eq(ec_store_purge(st, &a, 0), 1);
	ck_assert_int_eq(lookup_h(st, b, NULL, &got), EC_LOOKUP_HIT);
	ck_assert_int_eq(body_byte(got), 'b');
	ec_obj_unref(&got);
	ec_store_free(&st);
}
END_TEST

struct iter_ctx {
	unsigned seen;
	unsigned stop_after;
	unsigned char mark[300];
	struct ec_obj *keep;
};

static int iter_cb(struct ec_obj *o, void *arg)
{
	struct iter_ctx *ctx = arg;
	struct ec_str k = ec_obj_key(o);
	unsigned id = 0;

	for (size_t i = strlen("http://it/"); i < k.len; i++)
		id = id * 10 + (unsigned)(k.p[i] - '0');
	ck_assert_uint_lt(id, 300);
	ctx->mark[id]++;
	if (id == 7) {
		ec_obj_ref(o); /* allowed: keep it past the shard lock */
		ctx->keep = o;
	}
	return ++ctx->seen == ctx->stop_after ? 42 : 0;
}

START_TEST(test_iterate)
{
	struct ec_store *st = new_store(CAP, EC_EVICT_S3FIFO, EC_ADMIT_ALL);
	struct iter_ctx ctx;
	char key[32];

	for (unsigned i = 0; i < 300; i++) {
		snprintf(key, sizeof(key), "http://it/%u", i);
		ck_assert_int_eq(put(st, make_obj(key, NULL, 10, 'x')), EC_INSERT_OK);
	}
	memset(&ctx, 0, sizeof(ctx));
	ck_assert_int_eq(ec_store_iterate(st, iter_cb, &ctx), 0);
	ck_assert_uint_eq(ctx.seen, 300);
	for (unsigned i = 0; i < 300; i++)
		ck_assert_uint_eq(ctx.mark[i], 1);
	ck_assert_ptr_nonnull(ctx.keep);
	ck_assert(ec_store_remove(st, ctx.keep));
	ec_obj_unref(&ctx.keep);
	memset(&ctx, 0, sizeof(ctx));
	ctx.stop_after = 10;
	ck_assert_int_eq(ec_store_iterate(st, iter_cb, &ctx), 42);
	ck_assert_uint_eq(ctx.seen, 10);
	ec_store_free(&st);
}
END_TEST

START_TEST(test_reader_outlives_eviction_and_store)
{
	/* 64 KiB store: 10 x 10 KiB objects cannot all fit. */
	struct ec_store *st = new_store(64 * 1024, EC_EVICT_LRU, EC_ADMIT_ALL);
	struct ec_obj *first, *got;
	struct ec_chunk *c;
	size_t live = ec_obj_live(), chunks = ec_chunk_live();
	char key[32];

	ck_assert_int_eq(put(st, make_obj("http://e/0", NULL, 5000, '0')), EC_INSERT_OK);
	ck_assert_int_eq(lookup(st, "http://e/0", NULL, &first), EC_LOOKUP_HIT);
	for (unsigned i = 1; i < 20; i++) {
		snprintf(key, sizeof(key), "http://e/%u", i);
		ck_assert_int_eq(put(st, make_obj(key, NULL, 5000, (char)('0' + i % 10))),
		                 EC_INSERT_OK);
	}
	/* Evicted from the store... */
	ck_assert_int_eq(lookup(st, "http://e/0", NULL, &got), EC_LOOKUP_MISS);
	ck_assert_int_eq(ec_obj_queue(first), EC_OQ_NONE);
	/* ...yet still readable by the reader that holds it. */
	ck_assert_uint_eq(ec_obj_body_len(first), 5000);
	ck_assert_int_eq(body_byte(first), '0');
	/* A stored object outlives the store if referenced. */
	ck_assert_int_eq(lookup(st, "http://e/19", NULL, &got), EC_LOOKUP_HIT);
	ec_store_free(&st);
	ck_assert_int_eq(body_byte(got), '9');
	c = ec_obj_chunk(got, 0);
	ec_chunk_ref(c);
	ec_obj_unref(&got);
	ec_obj_unref(&first);
	ck_assert_uint_eq(ec_obj_live(), live);
	/* ...and a chunk outlives its object. */
	ck_assert_uint_eq(ec_chunk_live(), chunks + 1);
	ck_assert_int_eq(*(const char *)ec_chunk_data(c), '9');
	ec_chunk_unref(&c);
	ck_assert_uint_eq(ec_chunk_live(), chunks);
}
END_TEST

START_TEST(test_too_big)
{
	struct ec_store *st = new_store(CAP, EC_EVICT_S3FIFO, EC_ADMIT_TINYLFU);
	struct ec_obj *o = make_obj("http://big/", NULL, CAP / 10, 'x');
	struct ec_store_stats s;

	ck_assert_uint_gt(ec_obj_charge(o), ec_store_max_obj_size(st));
	ck_assert_int_eq(ec_store_insert(st, o), EC_INSERT_TOO_BIG);
	ck_assert_str_eq(ec_insert_rc_str(EC_INSERT_TOO_BIG),
	                 "object larger than the maximum object size");
	ec_obj_unref(&o);
	ec_store_stats(st, &s);
	ck_assert_uint_eq(s.rejected_too_big, 1);
	ck_assert_uint_eq(s.objects, 0);
	ck_assert_uint_eq(s.bytes, 0);
	ec_store_free(&st);
}
END_TEST

struct sum_ctx {
	uint64_t bytes;
	uint64_t n;
};

static int sum_cb(struct ec_obj *o, void *arg)
{
	struct sum_ctx *c = arg;
	c->bytes += ec_obj_charge(o);
	c->n++;
	return 0;
}

static void random_ops(enum ec_evict_policy pol, enum ec_admission adm)
{
	uint64_t cap = 256 * 1024;
	struct ec_store *st = new_store(cap, pol, adm);
	uint64_t rnd = 12345;
	unsigned inserted = 0, evictions_seen = 0;
	size_t live = ec_obj_live();

	for (unsigned step = 0; step < 20000; step++) {
		char key[32], vkey[4];
		unsigned r, id;
		struct ec_store_stats s;
		struct sum_ctx sum = {0, 0};
		struct ec_obj *o;

		rnd = rnd * 6364136223846793005ull + 1442695040888963407ull;
		r = (unsigned)(rnd >> 33);
		id = r % 500;
		snprintf(key, sizeof(key), "http://rnd/%u", id);
		snprintf(vkey, sizeof(vkey), "%u", (r >> 9) % 3);
		switch ((r >> 12) % 8) {
		case 0:
		case 1:
		case 2:
		case 3: /* a miss-then-insert, sizes from 0 to 24 KiB */
			if (lookup(st, key, vkey, &o) == EC_LOOKUP_HIT) {
				ec_obj_unref(&o);
				break;
			}
			o = make_obj(key, vkey, (r >> 15) % (24 * 1024), 'r');
			if (ec_store_insert(st, o) == EC_INSERT_OK)
				inserted++;
			ec_obj_unref(&o);
			break;
		case 4:
		case 5: /* hits */
			if (lookup(st, key, vkey, &o) == EC_LOOKUP_HIT)
				ec_obj_unref(&o);
			break;
		case 6: {
			struct ec_key k = ec_key_make(key, strlen(key));
			(void)ec_store_purge(st, &k, 0);
			break;
		}
		case 7:
			if (lookup(st, key, NULL, &o) == EC_LOOKUP_HIT) {
				(void)ec_store_remove(st, o);
				ec_obj_unref(&o);
			}
			break;
		}
		ec_store_stats(st, &s);
		ck_assert_uint_le(s.bytes, cap);
		if (step % 97 == 0) {
			/* The accounting matches what is actually stored. */
			ck_assert_int_eq(ec_store_iterate(st, sum_cb, &sum), 0);
			ck_assert_uint_eq(sum.bytes, s.bytes);
			ck_assert_uint_eq(sum.n, s.objects);
			ck_assert_uint_eq(s.small_bytes + s.main_bytes, s.bytes);
		}
		evictions_seen = (unsigned)s.evictions;
	}
	ck_assert_uint_gt(inserted, 1000);
	ck_assert_uint_gt(evictions_seen, 100); /* the capacity was really under pressure */
	ec_store_free(&st);
	ck_assert_uint_eq(ec_obj_live(), live);
}

START_TEST(test_capacity_never_exceeded_s3fifo)
{
	random_ops(EC_EVICT_S3FIFO, EC_ADMIT_TINYLFU);
	random_ops(EC_EVICT_S3FIFO, EC_ADMIT_ALL);
}
END_TEST

START_TEST(test_capacity_never_exceeded_lru)
{
	random_ops(EC_EVICT_LRU, EC_ADMIT_ALL);
	random_ops(EC_EVICT_LRU, EC_ADMIT_TINYLFU);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("store_index");
	TCase *tc = tcase_create("index");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_config_errors);
	tcase_add_test(tc, test_hit_miss_stats);
	tcase_add_test(tc, test_variants);
	tcase_add_test(tc, test_remove);
	tcase_add_test(tc, test_collisions);
	tcase_add_test(tc, test_iterate);
	tcase_add_test(tc, test_reader_outlives_eviction_and_store);
	tcase_add_test(tc, test_too_big);
	tcase_add_test(tc, test_capacity_never_exceeded_s3fifo);
	tcase_add_test(tc, test_capacity_never_exceeded_lru);
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
