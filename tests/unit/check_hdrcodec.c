/*
 * tests/unit/check_hdrcodec.c — storage/hdrcodec.c: round trips with and
 * without the default dictionary, raw blocks for incompressible input,
 * the framing (kind, dictionary id, raw length), an unknown dictionary id
 * (a clean error), a dictionary rollout (old blocks stay readable), refused
 * dictionaries, short output buffers, and damaged blocks never read or
 * write out of bounds.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/ec_hdrcodec.h"

static const char HEADERS[] = "Content-Type: text/html; charset=utf-8\r\n"
                              "Cache-Control: public, max-age=3600\r\n"
                              "ETag: \"5f3c2a1b9e8d7c6b5a493827\"\r\n"
                              "Last-Modified: Tue, 05 Dec 2023 04:08:53 GMT\r\n"
                              "Vary: Accept-Encoding\r\n"
                              "Server: nginx\r\n"
                              "X-Content-Type-Options: nosniff\r\n"
                              "Strict-Transport-Security: max-age=31536000; includeSubDomains\r\n";

static struct ec_hdrcodec *with_default(uint32_t *id)
{
	struct ec_hdrcodec *c = ec_hdrcodec_new(0);
	const char *why = NULL;
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(ec_hdrcodec_add_dict(c, ec_hdrcodec_default_dict,
	                                      ec_hdrcodec_default_dict_len, true, id, &why),
	                 0);
	return c;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A copy of the default dictionary under another id (same content). */
static unsigned char *dict_with_id(uint32_t id, size_t *len)
{
	unsigned char *d = malloc(ec_hdrcodec_default_dict_len);
	memcpy(d, ec_hdrcodec_default_dict, ec_hdrcodec_default_dict_len);
	for (int i = 0; i < 4; i++)
		d[4 + i] = (unsigned char)(id >> (8 * i));
	*len = ec_hdrcodec_default_dict_len;
	return d;
}

static void round_trip(struct ec_hdrcodec *c, const void *raw, size_t len, unsigned kind,
                       uint32_t dict_id, size_t *enc_len)
{
	size_t cap = ec_hdrcodec_bound(len), n = 0, m = 0, peek_len = 0;
	unsigned char *enc = malloc(cap), *dec = malloc(len + 1);
	uint32_t pd = 99;
	ck_assert_int_eq(ec_hdrcodec_encode(c, raw, len, enc, cap, &n), EC_HDRC_OK);
	ck_assert_uint_eq(enc[0], kind);
	if (kind == 2)
		ck_assert_uint_eq(le32(enc + 1), dict_id);
	ck_assert_int_eq(ec_hdrcodec_peek(enc, n, &peek_len, &pd), EC_HDRC_OK);
	ck_assert_uint_eq(peek_len, len);
	ck_assert_uint_eq(pd, kind == 2 ? dict_id : 0);
	ck_assert_int_eq(ec_hdrcodec_decode(c, enc, n, dec, len + 1, &m), EC_HDRC_OK);
	ck_assert_uint_eq(m, len);
	ck_assert(len == 0 || memcmp(dec, raw, len) == 0);
	if (enc_len)
		*enc_len = n;
	free(enc);
	free(dec);
}

START_TEST(test_default_dict_loads)
{
	uint32_t id = 0;
	struct ec_hdrcodec *c = with_default(&id);
	ck_assert_uint_ne(id, 0);
	ck_assert_uint_eq(id, le32(ec_hdrcodec_default_dict + 4));
	ck_assert_uint_eq(ec_hdrcodec_encode_dict(c), id);
	ck_assert(ec_hdrcodec_has_dict(c, id));
	ck_assert(!ec_hdrcodec_has_dict(c, id + 1));
	ec_hdrcodec_free(&c);
	ck_assert_ptr_null(c);
}
END_TEST

START_TEST(test_round_trip_dict_beats_plain)
{
	uint32_t id;
	size_t with_dict, plain_len;
	struct ec_hdrcodec *c = with_default(&id), *plain = ec_hdrcodec_new(0);
	round_trip(c, HEADERS, sizeof(HEADERS) - 1, 2, id, &with_dict);
	round_trip(plain, HEADERS, sizeof(HEADERS) - 1, 1, 0, &plain_len);
	/* the dictionary knows these fields: well under half of plain zstd */
	ck_assert_uint_lt(with_dict * 2, plain_len);
	ck_assert_uint_lt(with_dict * 3, sizeof(HEADERS) - 1);
	ec_hdrcodec_free(&c);
	ec_hdrcodec_free(&plain);
}
END_TEST

START_TEST(test_raw_when_incompressible)
{
	uint32_t id;
	struct ec_hdrcodec *c = with_default(&id);
	unsigned char rnd[300];
	size_t n;
	srand(7);
	for (size_t i = 0; i < sizeof(rnd); i++)
		rnd[i] = (unsigned char)rand();
	round_trip(c, rnd, sizeof(rnd), 0, 0, &n);
	ck_assert_uint_eq(n, sizeof(rnd) + 3); /* kind + 2-byte varint */
	round_trip(c, "", 0, 0, 0, &n);
	ck_assert_uint_eq(n, 2);
	round_trip(c, "A", 1, 0, 0, &n);
	ec_hdrcodec_free(&c);
}
END_TEST

START_TEST(test_large_block)
{
	uint32_t id;
	struct ec_hdrcodec *c = with_default(&id);
	size_t len = 200000;
	char *big = malloc(len);
	for (size_t i = 0; i < len; i++)
		big[i] = HEADERS[i % (sizeof(HEADERS) - 1)];
	round_trip(c, big, len, 2, id, NULL);
	free(big);
	ec_hdrcodec_free(&c);
}
END_TEST

START_TEST(test_unknown_dict_is_clean_error)
{
	uint32_t id;
	struct ec_hdrcodec *c = with_default(&id), *none = ec_hdrcodec_new(0);
	unsigned char enc[1024], dec[1024];
	size_t n, m = 12345;
	ck_assert_int_eq(ec_hdrcodec_encode(c, HEADERS, sizeof(HEADERS) - 1, enc, sizeof(enc), &n),
	                 EC_HDRC_OK);
	ck_assert_int_eq(ec_hdrcodec_decode(none, enc, n, dec, sizeof(dec), &m),
	                 EC_HDRC_UNKNOWN_DICT);
	ck_assert_uint_eq(m, 12345);
	/* the same block with its id changed: also unknown to the codec that has the dict */
	enc[1] ^= 0x55;
	ck_assert_int_eq(ec_hdrcodec_decode(c, enc, n, dec, sizeof(dec), &m), EC_HDRC_UNKNOWN_DICT);
	ck_assert_str_eq(ec_hdrcodec_rc_str(EC_HDRC_UNKNOWN_DICT),
	                 "block needs a dictionary that is not loaded");
	ec_hdrcodec_free(&c);
	ec_hdrcodec_free(&none);
}
END_TEST

START_TEST(test_rollout_keeps_old_blocks_readable)
{
	uint32_t old_id, new_id = 0;
	struct ec_hdrcodec *c = with_default(&old_id);
	unsigned char old_blk[1024], new_blk[1024], dec[1024];
	size_t on, nn, m;
	const char *why;
	ck_assert_int_eq(
	        ec_hdrcodec_encode(c, HEADERS, sizeof(HEADERS) - 1, old_blk, sizeof(old_blk), &on),
	        EC_HDRC_OK);
	size_t dl;
	unsigned char *d2 = dict_with_id(424242, &dl);
	ck_assert_int_eq(ec_hdrcodec_add_dict(c, d2, dl, true, &new_id, &why), 0);
	ck_assert_uint_eq(new_id, 424242);
	ck_assert_uint_eq(ec_hdrcodec_encode_dict(c), 424242);
	ck_assert_int_eq(
	        ec_hdrcodec_encode(c, HEADERS, sizeof(HEADERS) - 1, new_blk, sizeof(new_blk), &nn),
	        EC_HDRC_OK);
	ck_assert_uint_eq(le32(new_blk + 1), 424242);
	ck_assert_uint_eq(le32(old_blk + 1), old_id);
	ck_assert_int_eq(ec_hdrcodec_decode(c, old_blk, on, dec, sizeof(dec), &m), EC_HDRC_OK);
	ck_assert_int_eq(memcmp(dec, HEADERS, m), 0);
	ck_assert_int_eq(ec_hdrcodec_decode(c, new_blk, nn, dec, sizeof(dec), &m), EC_HDRC_OK);
	ck_assert_int_eq(memcmp(dec, HEADERS, m), 0);
	/* re-adding the old one for decoding only does not change the encoder */
	ck_assert_int_eq(ec_hdrcodec_add_dict(c, ec_hdrcodec_default_dict,
	                                      ec_hdrcodec_default_dict_len, false, &old_id, &why),
	                 0);
	ck_assert_uint_eq(ec_hdrcodec_encode_dict(c), 424242);
	free(d2);
	ec_hdrcodec_free(&c);
}
END_TEST

START_TEST(test_refused_dictionaries)
{
	struct ec_hdrcodec *c = ec_hdrcodec_new(3);
	uint32_t id = 0;
	const char *why = NULL;
	ck_assert_int_eq(ec_hdrcodec_add_dict(c, "raw content, no magic", 21, true, &id, &why), -1);
	ck_assert_str_eq(why, "not a zstd dictionary (bad magic)");
	size_t dl;
	unsigned char *d0 = dict_with_id(0, &dl);
	ck_assert_int_eq(ec_hdrcodec_add_dict(c, d0, dl, true, &id, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "id 0"));
	ck_assert_int_eq(ec_hdrcodec_add_dict(c, ec_hdrcodec_default_dict,
	                                      ec_hdrcodec_default_dict_len, true, &id, &why),
	                 0);
	/* same id, different bytes */
	unsigned char *other = dict_with_id(id, &dl);
	other[dl - 1] ^= 1;
	ck_assert_int_eq(ec_hdrcodec_add_dict(c, other, dl, true, &id, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "same id"));
	free(d0);
	free(other);
	ec_hdrcodec_free(&c);
}
END_TEST

START_TEST(test_nospace)
{
	uint32_t id;
	struct ec_hdrcodec *c = with_default(&id);
	unsigned char enc[1024], dec[1024];
	size_t n, m;
	ck_assert_int_eq(ec_hdrcodec_encode(c, HEADERS, sizeof(HEADERS) - 1, enc, 4, &n),
	                 EC_HDRC_NOSPACE);
	ck_assert_int_eq(ec_hdrcodec_encode(c, HEADERS, sizeof(HEADERS) - 1, enc, sizeof(enc), &n),
	                 EC_HDRC_OK);
	ck_assert_int_eq(ec_hdrcodec_decode(c, enc, n, dec, sizeof(HEADERS) - 2, &m),
	                 EC_HDRC_NOSPACE);
	ec_hdrcodec_free(&c);
}
END_TEST

START_TEST(test_damaged_blocks)
{
	uint32_t id;
	struct ec_hdrcodec *c = with_default(&id);
	unsigned char enc[1024], bad[1024];
	size_t n, m, rl;
	uint32_t did;
	ck_assert_int_eq(ec_hdrcodec_encode(c, HEADERS, sizeof(HEADERS) - 1, enc, sizeof(enc), &n),
	                 EC_HDRC_OK);
	/* every truncation fails cleanly (the exact-size output leaves no slack) */
	for (size_t cut = 0; cut < n; cut++) {
		unsigned char *dec = malloc(sizeof(HEADERS) - 1);
		enum ec_hdrcodec_rc rc =
		        ec_hdrcodec_decode(c, enc, cut, dec, sizeof(HEADERS) - 1, &m);
		ck_assert_msg(rc == EC_HDRC_CORRUPT, "cut %zu: %s", cut, ec_hdrcodec_rc_str(rc));
		free(dec);
	}
	/* unknown kind, a raw length over the limit, a raw block of the wrong length */
	memcpy(bad, enc, n);
	bad[0] = 7;
	ck_assert_int_eq(ec_hdrcodec_peek(bad, n, &rl, &did), EC_HDRC_CORRUPT);
	const unsigned char huge[] = {1, 0xff, 0xff, 0xff, 0x7f, 0};
	ck_assert_int_eq(ec_hdrcodec_peek(huge, sizeof(huge), &rl, &did), EC_HDRC_CORRUPT);
	const unsigned char rawbad[] = {0, 5, 'a', 'b'};
	ck_assert_int_eq(ec_hdrcodec_peek(rawbad, sizeof(rawbad), &rl, &did), EC_HDRC_CORRUPT);
	/* bit flips in the payload: never out of bounds (ASan watches), never the wrong length */
	for (size_t i = 7; i < n; i++) { /* after kind, id, 2-byte length */
		for (int bit = 0; bit < 8; bit++) {
			unsigned char *dec = malloc(sizeof(HEADERS) - 1);
			memcpy(bad, enc, n);
			bad[i] ^= (unsigned char)(1u << bit);
			enum ec_hdrcodec_rc rc =
			        ec_hdrcodec_decode(c, bad, n, dec, sizeof(HEADERS) - 1, &m);
			ck_assert(rc == EC_HDRC_CORRUPT ||
			          (rc == EC_HDRC_OK && m == sizeof(HEADERS) - 1));
			free(dec);
		}
	}
	ec_hdrcodec_free(&c);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("hdrcodec");
	TCase *tc = tcase_create("codec");
	tcase_add_test(tc, test_default_dict_loads);
	tcase_add_test(tc, test_round_trip_dict_beats_plain);
	tcase_add_test(tc, test_raw_when_incompressible);
	tcase_add_test(tc, test_large_block);
	tcase_add_test(tc, test_unknown_dict_is_clean_error);
	tcase_add_test(tc, test_rollout_keeps_old_blocks_readable);
	tcase_add_test(tc, test_refused_dictionaries);
	tcase_add_test(tc, test_nospace);
	tcase_add_test(tc, test_damaged_blocks);
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
