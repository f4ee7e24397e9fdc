/*
 * tests/unit/check_disk_record.c — storage/disk_record.c: the stored
 * formats. Object records round-trip every field (inline body or chunked,
 * tags, empty and binary views); a record cut anywhere, with any single bit
 * flipped, of another version or with unknown flags is refused with a
 * reason; in-place patches keep the checksum valid; chunk records verify
 * their data; the keys sort as documented (big-endian).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/disk_priv.h"

static const struct ec_str TAGS[] = {{"product-42", 10}, {"", 0}, {"cat:shoes", 9}};

static struct ec_disk_rec sample(bool inline_body)
{
	static const char body[] = "hello, body";
	struct ec_disk_rec r = {
	        .flags = inline_body ? EC_DISK_RECF_INLINE : 0,
	        .meta_version = 7,
	        .atime = 1700000123,
	        .id = inline_body ? 0 : 0x0102030405060708ull,
	        .body_len = inline_body ? sizeof(body) - 1 : 3ull * EC_DISK_CHUNK_DATA + 5,
	        .nchunks = inline_body ? 0 : 4,
	        .attr = {.status = 203,
	                 .request_time = 1700000000,
	                 .response_time = 1700000001,
	                 .date = -5,
	                 .expires = 1700003601,
	                 .lifetime = 3600,
	                 .stored_at = 1700000002},
	        .key = EC_STR("http://example.test/a?b=c"),
	        .vkey = {"\0gzip\0", 6},
	        .meta = EC_STR("META-AREA-BYTES"),
	        .hdr = EC_STR("\x02\x01\x02\x03\x04\x10zstd-ish payload"),
	};
	if (inline_body)
		r.body = ec_str_make(body, sizeof(body) - 1);
	return r;
}

static unsigned char *encode(const struct ec_disk_rec *r, const struct ec_str *tags, size_t nt,
                             size_t *len)
{
	size_t n = ec_disk__rec_size(r, tags, nt);
	unsigned char *p = malloc(n);
	ck_assert_uint_eq(ec_disk__rec_encode(r, tags, nt, p), n);
	*len = n;
	return p;
}

static void check_same(const struct ec_disk_rec *a, const struct ec_disk_rec *b)
{
	ck_assert_uint_eq(a->flags, b->flags);
	ck_assert_uint_eq(a->meta_version, b->meta_version);
	ck_assert_uint_eq(a->atime, b->atime);
	ck_assert_uint_eq(a->id, b->id);
	ck_assert_uint_eq(a->body_len, b->body_len);
	ck_assert_uint_eq(a->nchunks, b->nchunks);
	ck_assert_int_eq(memcmp(&a->attr, &b->attr, sizeof(a->attr)), 0);
	ck_assert(ec_str_eq(a->key, b->key));
	ck_assert(ec_str_eq(a->vkey, b->vkey));
	ck_assert(ec_str_eq(a->meta, b->meta));
	ck_assert(ec_str_eq(a->hdr, b->hdr));
	ck_assert(ec_str_eq(a->body, b->body));
}

START_TEST(test_round_trip)
{
	for (int inl = 0; inl < 2; inl++) {
		struct ec_disk_rec r = sample(inl), out;
		size_t n;
		const char *why = NULL;
		unsigned char *p = encode(&r, TAGS, 3, &n);
		ck_assert_int_eq(ec_disk__rec_decode(p, n, &out, &why), 0);
		check_same(&r, &out);
		ck_assert_uint_eq(out.ntags, 3);
		size_t pos = 0;
		struct ec_str t;
		for (int i = 0; i < 3; i++) {
			ck_assert(ec_disk__rec_tag_next(&out, &pos, &t));
			ck_assert(ec_str_eq(t, TAGS[i]));
		}
		ck_assert(!ec_disk__rec_tag_next(&out, &pos, &t));
		/* fixed layout: version, flags, atime at the documented offsets */
		ck_assert_uint_eq(p[0], EC_DISK_REC_V1);
		ck_assert_uint_eq(p[1], inl ? 2 : 0);
		ck_assert_uint_eq(p[4] | p[5] << 8 | p[6] << 16 | (uint32_t)p[7] << 24,
		                  1700000123u);
		ck_assert_uint_eq(n, EC_DISK_REC_FIXED + r.key.len + r.vkey.len + r.meta.len +
		                             r.hdr.len + (2 + 10) + 2 + (2 + 9) + 8 +
		                             (inl ? r.body_len : 0));
		free(p);
	}
}
END_TEST

START_TEST(test_empty_views)
{
	struct ec_disk_rec r = sample(true), out;
	r.vkey = EC_STR_NULL;
	r.meta = EC_STR_NULL;
	r.hdr = EC_STR_NULL;
	r.body = EC_STR_NULL;
	r.body_len = 0;
	size_t n;
	const char *why;
	unsigned char *p = encode(&r, NULL, 0, &n);
	ck_assert_int_eq(ec_disk__rec_decode(p, n, &out, &why), 0);
	ck_assert_uint_eq(out.vkey.len + out.meta.len + out.hdr.len + out.body.len + out.ntags, 0);
	free(p);
}
END_TEST

START_TEST(test_every_cut_refused)
{
	struct ec_disk_rec r = sample(false), out;
	size_t n;
	const char *why;
	unsigned char *p = encode(&r, TAGS, 3, &n);
	for (size_t cut = 0; cut < n; cut++) {
		unsigned char *c = malloc(cut ? cut : 1);
		memcpy(c, p, cut);
		why = NULL;
		ck_assert_int_eq(ec_disk__rec_decode(c, cut, &out, &why), -1);
		ck_assert_ptr_nonnull(why);
		free(c);
	}
	/* one byte more is refused too */
	unsigned char *longer = malloc(n + 1);
	memcpy(longer, p, n);
	longer[n] = 0;
	ck_assert_int_eq(ec_disk__rec_decode(longer, n + 1, &out, &why), -1);
	free(longer);
	free(p);
}
END_TEST

START_TEST(test_every_bit_flip_refused)
{
	struct ec_disk_rec r = sample(true), out;
	size_t n;
	const char *why;
	unsigned char *p = encode(&r, TAGS, 3, &n);
	for (size_t i = 0; i < n; i++) {
		for (int b = 0; b < 8; b++) {
			p[i] ^= (unsigned char)(1u << b);
			ck_assert_msg(ec_disk__rec_decode(p, n, &out, &why) == -1,
			              "byte %zu bit %d", i, b);
			p[i] ^= (unsigned char)(1u << b);
		}
	}
	ck_assert_int_eq(ec_disk__rec_decode(p, n, &out, &why), 0);
	free(p);
}
END_TEST

/* Re-seals a record after a deliberate change, so only the change is judged. */
static void reseal(unsigned char *p, size_t n)
{
	unsigned flags = p[1];
	uint32_t at =
	        (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
	ec_disk__rec_patch(p, n, at, flags);
}

START_TEST(test_structural_checks)
{
	struct ec_disk_rec r = sample(false), out;
	size_t n;
	const char *why;
	unsigned char *p = encode(&r, TAGS, 3, &n);
	p[0] = 2; /* a later version this build does not read */
	reseal(p, n);
	ck_assert_int_eq(ec_disk__rec_decode(p, n, &out, &why), -1);
	ck_assert_str_eq(why, "unknown record version");
	p[0] = EC_DISK_REC_V1;
	p[1] = 0x80;
	reseal(p, n);
	ck_assert_int_eq(ec_disk__rec_decode(p, n, &out, &why), -1);
	ck_assert_str_eq(why, "unknown record flags");
	p[1] = 0;
	p[24] = 5; /* nchunks no longer matches body_len */
	reseal(p, n);
	ck_assert_int_eq(ec_disk__rec_decode(p, n, &out, &why), -1);
	ck_assert_str_eq(why, "chunk count does not match the body length");
	p[24] = 4;
	p[28] = 0xff; /* key length overruns */
	reseal(p, n);
	ck_assert_int_eq(ec_disk__rec_decode(p, n, &out, &why), -1);
	ck_assert_str_eq(why, "record lengths overrun");
	p[28] = (unsigned char)r.key.len;
	p[44] = 200; /* more tags than bytes */
	reseal(p, n);
	ck_assert_int_eq(ec_disk__rec_decode(p, n, &out, &why), -1);
	ck_assert_str_eq(why, "record tags overrun");
	p[44] = 3;
	reseal(p, n);
	ck_assert_int_eq(ec_disk__rec_decode(p, n, &out, &why), 0);
	free(p);
}
END_TEST

START_TEST(test_patch)
{
	struct ec_disk_rec r = sample(true), out;
	size_t n;
	const char *why;
	unsigned char *p = encode(&r, TAGS, 3, &n);
	ec_disk__rec_patch(p, n, 1800000000u, EC_DISK_RECF_INLINE | EC_DISK_RECF_STALE);
	ck_assert_int_eq(ec_disk__rec_decode(p, n, &out, &why), 0);
	ck_assert_uint_eq(out.atime, 1800000000u);
	ck_assert_uint_eq(out.flags, EC_DISK_RECF_INLINE | EC_DISK_RECF_STALE);
	ck_assert(ec_str_eq(out.body, r.body));
	free(p);
}
END_TEST

START_TEST(test_chunks)
{
	static unsigned char data[EC_DISK_CHUNK_DATA + 8], enc[EC_DISK_CHUNK_DATA + 16];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 31);
	const void *out;
	size_t dl;
	size_t n = ec_disk__chunk_encode(data, EC_DISK_CHUNK_DATA, enc);
	ck_assert_uint_eq(n, EC_DISK_CHUNK_DATA + 8);
	ck_assert_uint_eq(n, 8 * 4096 - 16); /* exactly 8 overflow pages with LMDB's header */
	ck_assert_int_eq(ec_disk__chunk_decode(enc, n, &out, &dl), 0);
	ck_assert_uint_eq(dl, EC_DISK_CHUNK_DATA);
	ck_assert_int_eq(memcmp(out, data, dl), 0);
	enc[100] ^= 4;
	ck_assert_int_eq(ec_disk__chunk_decode(enc, n, &out, &dl), -1);
	enc[100] ^= 4;
	ck_assert_int_eq(ec_disk__chunk_decode(enc, n - 1, &out, &dl), -1);
	ck_assert_int_eq(ec_disk__chunk_decode(enc, 7, &out, &dl), -1);
	/* longer than a chunk may be */
	memcpy(enc + 8, data, EC_DISK_CHUNK_DATA + 8 - 8);
	ec_disk__chunk_seal(enc, EC_DISK_CHUNK_DATA);
	ck_assert_int_eq(ec_disk__chunk_decode(enc, EC_DISK_CHUNK_DATA + 8, &out, &dl), 0);
	n = ec_disk__chunk_encode(data, 10, enc);
	ck_assert_int_eq(ec_disk__chunk_decode(enc, n, &out, &dl), 0);
	ck_assert_uint_eq(dl, 10);
	n = ec_disk__chunk_encode(data, 0, enc);
	ck_assert_int_eq(ec_disk__chunk_decode(enc, n, &out, &dl), 0);
	ck_assert_uint_eq(dl, 0);
}
END_TEST

START_TEST(test_keys)
{
	struct ec_hash128 h = {.lo = 0x1122334455667788ull, .hi = 0x99aabbccddeeff00ull};
	unsigned char ok[EC_DISK_OKEY], ck[EC_DISK_CKEY], ak[EC_DISK_AKEY], ak2[EC_DISK_AKEY];
	ec_disk__okey(h, 0x0102030405060708ull, ok);
	ck_assert_uint_eq(ok[0], 0x99);
	ck_assert_uint_eq(ok[8], 0x11);
	ck_assert_uint_eq(ok[23], 0x08);
	struct ec_hash128 back = ec_disk__okey_hash(ok);
	ck_assert(back.lo == h.lo && back.hi == h.hi);
	ec_disk__ckey(5, 258, ck);
	ck_assert_uint_eq(ec_disk__be64(ck), 5);
	ck_assert_uint_eq(ck[10], 1);
	ck_assert_uint_eq(ck[11], 2);
	/* access-time keys sort by time first (big-endian) */
	ec_disk__akey(255, ok, ak);
	ec_disk__akey(256, ok, ak2);
	ck_assert_int_lt(memcmp(ak, ak2, EC_DISK_AKEY), 0);
	ck_assert_int_eq(memcmp(ak + 4, ok, EC_DISK_OKEY), 0);
	ck_assert_uint_eq(ec_disk__vid(EC_STR_NULL), 0);
	ck_assert_uint_ne(ec_disk__vid(EC_STR("gzip")), ec_disk__vid(EC_STR("br")));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("disk_record");
	TCase *tc = tcase_create("record");
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_empty_views);
	tcase_add_test(tc, test_every_cut_refused);
	tcase_add_test(tc, test_every_bit_flip_refused);
	tcase_add_test(tc, test_structural_checks);
	tcase_add_test(tc, test_patch);
	tcase_add_test(tc, test_chunks);
	tcase_add_test(tc, test_keys);
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
