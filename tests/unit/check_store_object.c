/*
 * tests/unit/check_store_object.c — storage/object.c: object construction,
 * chunk sizing, the zero-copy append path, seeking, body sharing, and
 * refcount lifetimes (a chunk outlives its object while referenced).
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "storage/ec_object.h"

static struct ec_obj *new_obj(const char *key, uint64_t hint)
{
	struct ec_key k = ec_key_make(key, strlen(key));
	struct ec_obj_init in = {.key = &k, .body_hint = hint};
	struct ec_obj *o = ec_obj_new(&in);

	ck_assert_ptr_nonnull(o);
	return o;
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(seed + i * 7 + (i >> 8));
}

/* Walks the chunks and compares with the expected body. */
static void check_body(const struct ec_obj *o, const unsigned char *want, size_t n)
{
	size_t off = 0;

	ck_assert_uint_eq(ec_obj_body_len(o), n);
	for (size_t i = 0; i < ec_obj_nchunks(o); i++) {
		struct ec_chunk *c = ec_obj_chunk(o, i);
		size_t len = ec_chunk_len(c);

		ck_assert_uint_eq(ec_chunk_offset(c), off);
		ck_assert_uint_le(off + len, n);
		ck_assert_int_eq(memcmp(ec_chunk_data(c), want + off, len), 0);
		off += len;
	}
	ck_assert_uint_eq(off, n);
}

START_TEST(test_new_fields)
{
	const char *key = "http://example.com/a?b=1";
	struct ec_key k = ec_key_make(key, strlen(key));
	struct ec_obj_init in = {.key = &k, .vkey = "gzip\0br", .vkey_len = 7, .meta_len = 40};
	struct ec_obj *o = ec_obj_new(&in);
	const unsigned char *meta;
	size_t live = ec_obj_live();

	ck_assert_ptr_nonnull(o);
	ck_assert(ec_str_eq(ec_obj_key(o), ec_str_cstr(key)));
	ck_assert_uint_eq(ec_obj_vkey(o).len, 7);
	ck_assert_int_eq(memcmp(ec_obj_vkey(o).p, "gzip\0br", 7), 0);
	ck_assert_uint_eq(ec_obj_hash(o).lo, k.hash.lo);
	ck_assert_uint_eq(ec_obj_hash(o).hi, k.hash.hi);
	ck_assert_uint_eq(ec_obj_meta_len(o), 40);
	meta = ec_obj_meta(o);
	for (size_t i = 0; i < 40; i++)
		ck_assert_uint_eq(meta[i], 0);
	ck_assert_uint_eq(ec_obj_headers(o).len, 0);
	ck_assert(!ec_obj_is_complete(o));
	ck_assert_int_eq(ec_obj_queue(o), EC_OQ_NONE);
	ck_assert_uint_eq(ec_obj_freq(o), 0);
	ck_assert_uint_eq(ec_obj_hits(o), 0);

	ec_obj_attr_mut(o)->status = 200;
	ec_obj_attr_mut(o)->expires = 1234;
	ck_assert_int_eq(ec_obj_attr(o)->status, 200);
	ck_assert_int_eq(ec_obj_attr(o)->expires, 1234);

	ck_assert_int_eq(ec_obj_set_headers(o, "Vary: a\r\n", 9), 0);
	ck_assert_int_eq(ec_obj_set_headers(o, "X: yz\r\n", 7), 0); /* replaces */
	ck_assert(ec_str_eq(ec_obj_headers(o), ec_str_cstr("X: yz\r\n")));

	ec_obj_set_flags(o, EC_OBJF_STALE);
	ck_assert_uint_eq(ec_obj_flags(o), EC_OBJF_STALE);
	ec_obj_unref(&o);
	ck_assert_ptr_null(o);
	ck_assert_uint_eq(ec_obj_live(), live - 1);
}
END_TEST

START_TEST(test_new_limits)
{
	static char big[64 * 1024 + 1];
	struct ec_key k = ec_key_make(big, sizeof(big));
	struct ec_obj_init in = {.key = &k};

	errno = 0;
	ck_assert_ptr_null(ec_obj_new(&in));
	ck_assert_int_eq(errno, EINVAL);
	k = ec_key_make("k", 1);
	in.vkey = big;
	in.vkey_len = sizeof(big);
	errno = 0;
	ck_assert_ptr_null(ec_obj_new(&in));
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(test_hash_is_xxh3_of_key)
{
	struct ec_hash128 a = ec_store_hash("abc", 3), b = ec_store_hash("abc", 3);
	struct ec_hash128 c = ec_store_hash("abd", 3);

	ck_assert(a.lo == b.lo && a.hi == b.hi);
	ck_assert(a.lo != c.lo || a.hi != c.hi);
	/* XXH3-128("") is a published constant (xxhash.h test vectors). */
	a = ec_store_hash("", 0);
	ck_assert_uint_eq(a.lo, 0x6001C324468D497Full);
	ck_assert_uint_eq(a.hi, 0x99AA06D3014798D8ull);
}
END_TEST

START_TEST(test_chunks_with_hint)
{
	static unsigned char body[100 * 1024];
	struct ec_obj *o = new_obj("k", sizeof(body));

	fill(body, sizeof(body), 3);
	/* Appended in odd pieces: chunks still come out full-sized. */
	for (size_t off = 0; off < sizeof(body);) {
		size_t n = EC_MIN((size_t)7777, sizeof(body) - off);
		ck_assert_int_eq(ec_obj_append(o, body + off, n), 0);
		off += n;
	}
	ec_obj_finish(o);
	ck_assert(ec_obj_is_complete(o));
	ck_assert_uint_eq(ec_obj_nchunks(o), 4);
	ck_assert_uint_eq(ec_chunk_len(ec_obj_chunk(o, 0)), EC_CHUNK_MAX);
	ck_assert_uint_eq(ec_chunk_len(ec_obj_chunk(o, 1)), EC_CHUNK_MAX);
	ck_assert_uint_eq(ec_chunk_len(ec_obj_chunk(o, 2)), EC_CHUNK_MAX);
	ck_assert_uint_eq(ec_chunk_len(ec_obj_chunk(o, 3)), sizeof(body) - 3 * EC_CHUNK_MAX);
	check_body(o, body, sizeof(body));
	ec_obj_unref(&o);
}
END_TEST

START_TEST(test_small_body_exact_chunk)
{
	unsigned char body[1000];
	struct ec_obj *o = new_obj("k", sizeof(body));
	size_t charge_before;

	fill(body, sizeof(body), 1);
	charge_before = ec_obj_charge(o);
	ck_assert_int_eq(ec_obj_append(o, body, sizeof(body)), 0);
	ec_obj_finish(o);
	ck_assert_uint_eq(ec_obj_nchunks(o), 1);
	/* The chunk is exactly the Content-Length: charge grows by it plus a header. */
	ck_assert_uint_gt(ec_obj_charge(o), charge_before + 1000);
	ck_assert_uint_lt(ec_obj_charge(o), charge_before + 1000 + 64);
	check_body(o, body, sizeof(body));
	ec_obj_unref(&o);
}
END_TEST

START_TEST(test_chunks_geometric_without_hint)
{
	static unsigned char body[300 * 1024];
	struct ec_obj *o = new_obj("k", 0);
	size_t expect_caps[] = {2048, 4096, 8192, 16384, 32768, 32768};

	fill(body, sizeof(body), 9);
	for (size_t off = 0; off < sizeof(body); off += 1000)
		ck_assert_int_eq(
		        ec_obj_append(o, body + off, EC_MIN((size_t)1000, sizeof(body) - off)), 0);
	ec_obj_finish(o);
	/* Every chunk but the last is full: its length is its capacity. */
	for (size_t i = 0; i < EC_ARRAY_LEN(expect_caps); i++)
		ck_assert_uint_eq(ec_chunk_len(ec_obj_chunk(o, i)), expect_caps[i]);
	/* 2+4+8+16 KiB, then 32 KiB chunks: well past the inline array (grown). */
	ck_assert_uint_eq(ec_obj_nchunks(o), 4 + (300 - 30 + 31) / 32);
	check_body(o, body, sizeof(body));
	ec_obj_unref(&o);
}
END_TEST

START_TEST(test_reserve_commit)
{
	unsigned char body[5000];
	struct ec_obj *o = new_obj("k", 0);
	void *p;
	size_t avail, done = 0;

	fill(body, sizeof(body), 5);
	/* Reserve then commit nothing: no empty chunk is published. */
	ck_assert_int_eq(ec_obj_reserve(o, 100, &p, &avail), 0);
	ck_assert_uint_ge(avail, 100);
	ec_obj_commit(o, 0);
	ck_assert_uint_eq(ec_obj_nchunks(o), 0);
	while (done < sizeof(body)) {
		size_t n;
		ck_assert_int_eq(ec_obj_reserve(o, sizeof(body) - done, &p, &avail), 0);
		n = EC_MIN(avail, sizeof(body) - done);
		n = EC_MIN(n, (size_t)1500);
		memcpy(p, body + done, n);
		ec_obj_commit(o, n);
		done += n;
		ck_assert_uint_eq(ec_obj_body_len(o), done);
	}
	/* A reservation abandoned at finish is dropped. */
	ck_assert_int_eq(ec_obj_reserve(o, 10, &p, &avail), 0);
	ec_obj_finish(o);
	check_body(o, body, sizeof(body));
	ec_obj_unref(&o);
}
END_TEST

START_TEST(test_seek)
{
	static unsigned char body[70000];
	struct ec_obj *o = new_obj("k", sizeof(body));
	size_t idx, skip;

	fill(body, sizeof(body), 2);
	ck_assert(!ec_obj_seek(o, 0, &idx, &skip)); /* empty */
	ck_assert_int_eq(ec_obj_append(o, body, sizeof(body)), 0);
	ec_obj_finish(o);
	ck_assert(ec_obj_seek(o, 0, &idx, &skip));
	ck_assert_uint_eq(idx, 0);
	ck_assert_uint_eq(skip, 0);
	ck_assert(ec_obj_seek(o, EC_CHUNK_MAX - 1, &idx, &skip));
	ck_assert_uint_eq(idx, 0);
	ck_assert_uint_eq(skip, EC_CHUNK_MAX - 1);
	ck_assert(ec_obj_seek(o, EC_CHUNK_MAX, &idx, &skip));
	ck_assert_uint_eq(idx, 1);
	ck_assert_uint_eq(skip, 0);
	ck_assert(ec_obj_seek(o, sizeof(body) - 1, &idx, &skip));
	ck_assert_uint_eq(idx, 2);
	ck_assert_uint_eq(skip, sizeof(body) - 1 - 2 * EC_CHUNK_MAX);
	ck_assert_uint_eq(((const unsigned char *)ec_chunk_data(ec_obj_chunk(o, idx)))[skip],
	                  body[sizeof(body) - 1]);
	ck_assert(!ec_obj_seek(o, sizeof(body), &idx, &skip));
	ec_obj_unref(&o);
}
END_TEST

START_TEST(test_chunk_outlives_object)
{
	unsigned char body[40000];
	struct ec_obj *o = new_obj("k", sizeof(body));
	struct ec_chunk *c0, *c1;
	size_t objs = ec_obj_live(), chunks = ec_chunk_live();

	fill(body, sizeof(body), 4);
	ck_assert_int_eq(ec_obj_append(o, body, sizeof(body)), 0);
	ec_obj_finish(o);
	ck_assert_uint_eq(ec_chunk_live(), chunks + 2);
	/* What the daemon does per chunk on a hit, then the request ends. */
	c0 = ec_obj_chunk(o, 0);
	c1 = ec_obj_chunk(o, 1);
	ec_chunk_ref(c0);
	ec_chunk_ref(c1);
	ec_obj_unref(&o);
	ck_assert_uint_eq(ec_obj_live(), objs - 1);
	ck_assert_uint_eq(ec_chunk_live(), chunks + 2);
	/* libevent still sends them. */
	ck_assert_int_eq(memcmp(ec_chunk_data(c0), body, EC_CHUNK_MAX), 0);
	ck_assert_int_eq(
	        memcmp(ec_chunk_data(c1), body + EC_CHUNK_MAX, sizeof(body) - EC_CHUNK_MAX), 0);
	/* libevent's cleanup callback drops them. */
	ec_chunk_release_cb(ec_chunk_data(c0), ec_chunk_len(c0), c0);
	ck_assert_uint_eq(ec_chunk_live(), chunks + 1);
	ec_chunk_unref(&c1);
	ck_assert_ptr_null(c1);
	ck_assert_uint_eq(ec_chunk_live(), chunks);
}
END_TEST

START_TEST(test_share_body)
{
	unsigned char body[50000];
	struct ec_obj *a = new_obj("k", sizeof(body)), *b = new_obj("k", 0);
	size_t chunks;

	fill(body, sizeof(body), 6);
	ck_assert_int_eq(ec_obj_append(a, body, sizeof(body)), 0);
	ec_obj_finish(a);
	chunks = ec_chunk_live();
	/* A 304 refresh: new headers, the same body by reference. */
	ck_assert_int_eq(ec_obj_set_headers(b, "ETag: \"2\"\r\n", 11), 0);
	ck_assert_int_eq(ec_obj_share_body(b, a), 0);
	ck_assert(ec_obj_is_complete(b));
	ck_assert_uint_eq(ec_chunk_live(), chunks);
	ck_assert_uint_eq(ec_obj_nchunks(b), 2);
	ck_assert_ptr_eq(ec_obj_chunk(b, 0), ec_obj_chunk(a, 0));
	ec_obj_unref(&a);
	ck_assert_uint_eq(ec_chunk_live(), chunks);
	check_body(b, body, sizeof(body));
	ec_obj_unref(&b);
	ck_assert_uint_eq(ec_chunk_live(), chunks - 2);
}
END_TEST

START_TEST(test_shared_refs_many_chunks)
{
	/* More chunks than the inline array: the shared array is allocated. */
	static unsigned char body[20 * EC_CHUNK_MAX];
	struct ec_obj *a = new_obj("k", sizeof(body)), *b = new_obj("k", 1);

	fill(body, sizeof(body), 8);
	ck_assert_int_eq(ec_obj_append(a, body, sizeof(body)), 0);
	ec_obj_finish(a);
	ck_assert_int_eq(ec_obj_share_body(b, a), 0);
	ec_obj_unref(&a);
	check_body(b, body, sizeof(body));
	ec_obj_unref(&b);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("store_object");
	TCase *tc = tcase_create("object");

	tcase_add_test(tc, test_new_fields);
	tcase_add_test(tc, test_new_limits);
	tcase_add_test(tc, test_hash_is_xxh3_of_key);
	tcase_add_test(tc, test_chunks_with_hint);
	tcase_add_test(tc, test_small_body_exact_chunk);
	tcase_add_test(tc, test_chunks_geometric_without_hint);
	tcase_add_test(tc, test_reserve_commit);
	tcase_add_test(tc, test_seek);
	tcase_add_test(tc, test_chunk_outlives_object);
	tcase_add_test(tc, test_share_body);
	tcase_add_test(tc, test_shared_refs_many_chunks);
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
