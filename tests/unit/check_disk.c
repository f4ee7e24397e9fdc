/*
 * tests/unit/check_disk.c — the disk tier (storage/disk.c, disk_writer.c)
 * on a real LMDB environment in a temporary directory:
 *   - put, flush, lookup: every field and body byte, inline and chunked
 *     bodies, after a close and reopen too (no scan: counts come back);
 *   - variants (match callback, vary miss, replacement), purge, remove,
 *     prefix and tag purge with their counts, soft purge (EC_OBJF_STALE),
 *     and lookups missing a purge that is queued but not yet committed;
 *   - writer batching: a burst of puts becomes one transaction;
 *   - watermark eviction of the least recently used, touches keeping an
 *     object alive; a map too small for the load never fails a put;
 *   - a corrupt record, a corrupt chunk, an unknown dictionary, another
 *     meta version: a miss, counted, the record deleted; never a partial
 *     body;
 *   - refused directories: another format version, a path under a regular
 *     file, a non-LMDB file, a second opener.
 */
#define _XOPEN_SOURCE 700
#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage/disk_priv.h"

static char dir[256];
static struct ec_hdrcodec *codec;
static int nlogs;
static char lastlog[1024];

static void logcb(void *arg, enum ec_disk_log_level lvl, const char *msg)
{
	nlogs++;
	snprintf(lastlog, sizeof(lastlog), "%s", msg);
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(p);
}

static void setup(void)
{
	uint32_t id;
	const char *why;
	snprintf(dir, sizeof(dir), "/tmp/check_disk.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	codec = ec_hdrcodec_new(3);
	ck_assert_int_eq(ec_hdrcodec_add_dict(codec, ec_hdrcodec_default_dict,
	                                      ec_hdrcodec_default_dict_len, true, &id, &why),
	                 0);
	nlogs = 0;
	lastlog[0] = '\0';
}

static void teardown(void)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	ec_hdrcodec_free(&codec);
	ck_assert_uint_eq(ec_obj_live(), 0);
	ck_assert_uint_eq(ec_chunk_live(), 0);
}

static void cfg_init(struct ec_disk_config *cfg, uint64_t size)
{
	ec_disk_config_default(cfg, dir, size);
	cfg->codec = codec;
	cfg->log = logcb;
	cfg->meta_version = 3;
	cfg->batch_delay = 0.001;
}

static struct ec_disk *open_ok(const struct ec_disk_config *cfg)
{
	char err[512] = "";
	struct ec_disk *d = ec_disk_open(cfg, err, sizeof(err));
	ck_assert_msg(d != NULL, "ec_disk_open: %s", err);
	return d;
}

static struct ec_disk *open_default(void)
{
	struct ec_disk_config cfg;
	cfg_init(&cfg, 16u << 20);
	return open_ok(&cfg);
}

static unsigned char body_byte(const char *key, uint64_t i)
{
	return (unsigned char)(key[strlen(key) - 1] * 7 + i * 13 + (i >> 9));
}

static const char HDRS[] = "Content-Type: image/png\r\nCache-Control: max-age=600\r\n"
                           "ETag: \"abc\"\r\n";

/* A complete object: key, vkey, meta "M:" + key, headers, body of n pattern bytes. */
static struct ec_obj *mkobj(const char *key, const char *vkey, uint64_t n)
{
	struct ec_key k = ec_key_make(key, strlen(key));
	char meta[300];
	int ml = snprintf(meta, sizeof(meta), "M:%s", key);
	struct ec_obj_init in = {.key = &k,
	                         .vkey = vkey,
	                         .vkey_len = vkey ? strlen(vkey) : 0,
	                         .meta_len = (size_t)ml,
	                         .body_hint = n};
	struct ec_obj *o = ec_obj_new(&in);
	ck_assert_ptr_nonnull(o);
	memcpy(ec_obj_meta(o), meta, (size_t)ml);
	ck_assert_int_eq(ec_obj_set_headers(o, HDRS, sizeof(HDRS) - 1), 0);
	struct ec_obj_attr *a = ec_obj_attr_mut(o);
	a->status = 200;
	a->request_time = 1000;
	a->response_time = 1001;
	a->date = 999;
	a->expires = 1601;
	a->lifetime = 600;
	a->stored_at = 1002;
	unsigned char buf[4096];
	for (uint64_t off = 0; off < n;) {
		size_t m = (size_t)EC_MIN(n - off, sizeof(buf));
		for (size_t i = 0; i < m; i++)
			buf[i] = body_byte(key, off + i);
		ck_assert_int_eq(ec_obj_append(o, buf, m), 0);
		off += m;
	}
	ec_obj_finish(o);
	return o;
}

static void put(struct ec_disk *d, const char *key, const char *vkey, uint64_t n, int64_t now)
{
	struct ec_obj *o = mkobj(key, vkey, n);
	ck_assert_int_eq(ec_disk_put(d, o, NULL, 0, now), EC_DISK_PUT_QUEUED);
	ec_obj_unref(&o);
}

static enum ec_lookup_rc get(struct ec_disk *d, const char *key, const char *vkey,
                             struct ec_obj **o)
{
	struct ec_key k = ec_key_make(key, strlen(key));
	struct ec_str vk = vkey ? ec_str_cstr(vkey) : EC_STR_NULL;
	struct ec_lookup req = {.key = &k,
	                        .match = vkey ? ec_store_match_vkey : NULL,
	                        .match_arg = &vk,
	                        .now = 2000};
	return ec_disk_lookup(d, &req, o);
}

/* Looks up and checks every field and body byte of what mkobj built. */
static void check_hit(struct ec_disk *d, const char *key, const char *vkey, uint64_t n)
{
	struct ec_obj *o = NULL;
	ck_assert_int_eq(get(d, key, vkey, &o), EC_LOOKUP_HIT);
	ck_assert(ec_obj_is_complete(o));
	ck_assert(ec_str_eq(ec_obj_key(o), ec_str_cstr(key)));
	ck_assert(ec_str_eq(ec_obj_vkey(o), vkey ? ec_str_cstr(vkey) : EC_STR_NULL));
	ck_assert(ec_str_eq(ec_obj_headers(o), EC_STR(HDRS)));
	char meta[300];
	int ml = snprintf(meta, sizeof(meta), "M:%s", key);
	ck_assert_uint_eq(ec_obj_meta_len(o), (size_t)ml);
	ck_assert_int_eq(memcmp(ec_obj_meta(o), meta, (size_t)ml), 0);
	const struct ec_obj_attr *a = ec_obj_attr(o);
	ck_assert_int_eq(a->status, 200);
	ck_assert_int_eq(a->request_time, 1000);
	ck_assert_int_eq(a->response_time, 1001);
	ck_assert_int_eq(a->date, 999);
	ck_assert_int_eq(a->expires, 1601);
	ck_assert_int_eq(a->lifetime, 600);
	ck_assert_int_eq(a->stored_at, 1002);
	ck_assert_uint_eq(ec_obj_body_len(o), n);
	uint64_t off = 0;
	for (size_t i = 0; i < ec_obj_nchunks(o); i++) {
		struct ec_chunk *c = ec_obj_chunk(o, i);
		const unsigned char *p = ec_chunk_data(c);
		for (size_t j = 0; j < ec_chunk_len(c); j++)
			ck_assert_msg(p[j] == body_byte(key, off + j), "%s byte %llu", key,
			              (unsigned long long)(off + j));
		off += ec_chunk_len(c);
	}
	ck_assert_uint_eq(off, n);
	ec_obj_unref(&o);
}

static void check_miss(struct ec_disk *d, const char *key, const char *vkey, enum ec_lookup_rc want)
{
	struct ec_obj *o = (struct ec_obj *)1;
	ck_assert_int_eq(get(d, key, vkey, &o), want);
	ck_assert_ptr_null(o);
}

START_TEST(test_put_lookup_reopen)
{
	struct ec_disk *d = open_default();
	const uint64_t sizes[] = {0,     1, 1000, 1900, EC_DISK_CHUNK_DATA, EC_DISK_CHUNK_DATA + 1,
	                          300000};
	char key[64];
	for (size_t i = 0; i < EC_ARRAY_LEN(sizes); i++) {
		snprintf(key, sizeof(key), "http://t/obj%zu", i);
		put(d, key, NULL, sizes[i], 1000);
	}
	ec_disk_flush(d);
	struct ec_disk_stats st;
	ec_disk_stats(d, &st);
	ck_assert_uint_eq(st.stored, EC_ARRAY_LEN(sizes));
	ck_assert_uint_eq(st.objects, EC_ARRAY_LEN(sizes));
	ck_assert_uint_eq(st.puts_queued, EC_ARRAY_LEN(sizes));
	ck_assert_uint_eq(st.queue_items, 0);
	for (size_t i = 0; i < EC_ARRAY_LEN(sizes); i++) {
		snprintf(key, sizeof(key), "http://t/obj%zu", i);
		check_hit(d, key, NULL, sizes[i]);
	}
	check_miss(d, "http://t/none", NULL, EC_LOOKUP_MISS);
	ec_disk_close(&d);
	ck_assert_ptr_null(d);
	ck_assert_ptr_nonnull(strstr(lastlog, "closed: 7 objects"));

	d = open_default();
	ck_assert_ptr_nonnull(strstr(lastlog, ": 7 objects"));
	for (size_t i = 0; i < EC_ARRAY_LEN(sizes); i++) {
		snprintf(key, sizeof(key), "http://t/obj%zu", i);
		check_hit(d, key, NULL, sizes[i]);
	}
	ec_disk_stats(d, &st);
	ck_assert_uint_eq(st.hits, EC_ARRAY_LEN(sizes));
	ck_assert_uint_eq(st.corrupt, 0);
	ec_disk_close(&d);
}
END_TEST

START_TEST(test_inline_vs_chunks)
{
	struct ec_disk *d = open_default();
	put(d, "http://t/small", NULL, 1024, 1000);
	put(d, "http://t/big", NULL, 3 * EC_DISK_CHUNK_DATA, 1000);
	ec_disk_flush(d);
	MDB_txn *txn;
	MDB_stat cs;
	ck_assert_int_eq(mdb_txn_begin(d->env, NULL, MDB_RDONLY, &txn), 0);
	mdb_stat(txn, d->dbi_chunk, &cs);
	ck_assert_uint_eq(cs.ms_entries, 3); /* the 1 KiB body lives in its record */
	ck_assert_uint_eq(cs.ms_overflow_pages, 3 * 8);
	mdb_txn_abort(txn);
	ec_disk_close(&d);
}
END_TEST

START_TEST(test_variants_purge_remove)
{
	struct ec_disk *d = open_default();
	put(d, "http://t/v", "gzip", 5000, 1000);
	put(d, "http://t/v", "br", 70000, 1000);
	put(d, "http://t/w", NULL, 10, 1000);
	ec_disk_flush(d);
	check_hit(d, "http://t/v", "gzip", 5000);
	check_hit(d, "http://t/v", "br", 70000);
	check_miss(d, "http://t/v", "zstd", EC_LOOKUP_VARY_MISS);
	/* replacement: same variant, new body */
	put(d, "http://t/v", "gzip", 6000, 1001);
	ec_disk_flush(d);
	check_hit(d, "http://t/v", "gzip", 6000);
	struct ec_disk_stats st;
	ec_disk_stats(d, &st);
	ck_assert_uint_eq(st.objects, 3);
	ck_assert_uint_eq(st.purged, 0);
	/* remove exactly one variant */
	struct ec_obj *o = mkobj("http://t/v", "br", 1);
	ec_disk_remove(d, o);
	ec_obj_unref(&o);
	ck_assert_uint_eq(ec_disk_flush(d), 1);
	check_miss(d, "http://t/v", "br", EC_LOOKUP_VARY_MISS);
	check_hit(d, "http://t/v", "gzip", 6000);
	/* purge the key: every variant */
	struct ec_key k = ec_key_make("http://t/v", 10);
	ec_disk_purge(d, &k, 0);
	ck_assert_uint_eq(ec_disk_flush(d), 1);
	check_miss(d, "http://t/v", "gzip", EC_LOOKUP_MISS);
	check_hit(d, "http://t/w", NULL, 10);
	ec_disk_stats(d, &st);
	ck_assert_uint_eq(st.objects, 1);
	/* no chunk, tag, access-time or key entry is left behind */
	MDB_txn *txn;
	MDB_stat s;
	ck_assert_int_eq(mdb_txn_begin(d->env, NULL, MDB_RDONLY, &txn), 0);
	mdb_stat(txn, d->dbi_chunk, &s);
	ck_assert_uint_eq(s.ms_entries, 0);
	mdb_stat(txn, d->dbi_atime, &s);
	ck_assert_uint_eq(s.ms_entries, 1);
	mdb_stat(txn, d->dbi_key, &s);
	ck_assert_uint_eq(s.ms_entries, 1);
	mdb_txn_abort(txn);
	ec_disk_close(&d);
}
END_TEST

static int count_cb(const struct ec_disk_entry *e, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

START_TEST(test_prefix_tag_soft)
{
	struct ec_disk *d = open_default();
	const char *keys[] = {"http://a/x/1", "http://a/x/2", "http://a/y/1", "http://b/x/1"};
	struct ec_str tags[][2] = {{EC_STR("red"), EC_STR("t1")},
	                           {EC_STR("blue"), EC_STR("t1")},
	                           {EC_STR("red"), EC_STR("")},
	                           {EC_STR("green"), EC_STR("t2")}};
	for (int i = 0; i < 4; i++) {
		struct ec_obj *o = mkobj(keys[i], NULL, 100);
		ck_assert_int_eq(ec_disk_put(d, o, tags[i], 2, 1000), EC_DISK_PUT_QUEUED);
		ec_obj_unref(&o);
	}
	ec_disk_flush(d);
	int n = 0;
	ck_assert_int_eq(ec_disk_list(d, EC_STR("http://a/"), 0, count_cb, &n), 0);
	ck_assert_int_eq(n, 3);
	n = 0;
	ec_disk_list(d, EC_STR_NULL, 2, count_cb, &n);
	ck_assert_int_eq(n, 2);

	ec_disk_purge_tag(d, EC_STR("red"), EC_PURGE_SOFT);
	ck_assert_uint_eq(ec_disk_flush(d), 2);
	struct ec_obj *o;
	ck_assert_int_eq(get(d, "http://a/x/1", NULL, &o), EC_LOOKUP_HIT);
	ck_assert_uint_eq(ec_obj_flags(o) & EC_OBJF_STALE, EC_OBJF_STALE);
	ec_obj_unref(&o);
	ck_assert_int_eq(get(d, "http://a/x/2", NULL, &o), EC_LOOKUP_HIT);
	ck_assert_uint_eq(ec_obj_flags(o) & EC_OBJF_STALE, 0);
	ec_obj_unref(&o);

	ec_disk_purge_prefix(d, EC_STR("http://a/x/"), 0);
	ck_assert_uint_eq(ec_disk_flush(d), 2);
	check_miss(d, "http://a/x/1", NULL, EC_LOOKUP_MISS);
	check_miss(d, "http://a/x/2", NULL, EC_LOOKUP_MISS);
	check_hit(d, "http://a/y/1", NULL, 100);
	ec_disk_purge_tag(d, EC_STR("t2"), 0);
	ck_assert_uint_eq(ec_disk_flush(d), 1);
	check_miss(d, "http://b/x/1", NULL, EC_LOOKUP_MISS);
	ec_disk_purge_tag(d, EC_STR("t1"), 0); /* its objects are gone already */
	ck_assert_uint_eq(ec_disk_flush(d), 0);
	ec_disk_close(&d);
}
END_TEST

START_TEST(test_pending_purge_hides)
{
	struct ec_disk_config cfg;
	cfg_init(&cfg, 16u << 20);
	cfg.batch_delay = 0.3; /* the purge stays queued a while */
	struct ec_disk *d = open_ok(&cfg);
	put(d, "http://t/p", NULL, 100, 1000);
	ec_disk_flush(d);
	struct ec_key k = ec_key_make("http://t/p", 10);
	ec_disk_purge(d, &k, 0);
	/* not committed yet, but the lookup must not hand it out any more */
	check_miss(d, "http://t/p", NULL, EC_LOOKUP_MISS);
	struct ec_disk_stats st;
	ec_disk_stats(d, &st);
	ck_assert_uint_eq(st.objects, 1);
	ec_disk_flush(d);
	ec_disk_stats(d, &st);
	ck_assert_uint_eq(st.objects, 0);
	ck_assert_uint_eq(d->npending, 0);
	ec_disk_close(&d);
}
END_TEST

START_TEST(test_batching)
{
	struct ec_disk_config cfg;
	cfg_init(&cfg, 16u << 20);
	cfg.batch_delay = 0.5;
	struct ec_disk *d = open_ok(&cfg);
	char key[64];
	for (int i = 0; i < 50; i++) {
		snprintf(key, sizeof(key), "http://t/b%d", i);
		put(d, key, NULL, 2000, 1000);
	}
	ec_disk_flush(d); /* ends the batch at once */
	struct ec_disk_stats st;
	ec_disk_stats(d, &st);
	ck_assert_uint_eq(st.stored, 50);
	ck_assert_uint_eq(st.commits, 1);
	/* a batch is also cut at batch_bytes */
	ec_disk_close(&d);
	cfg.batch_bytes = 10000;
	cfg.batch_delay = 0.001;
	d = open_ok(&cfg);
	for (int i = 0; i < 20; i++) {
		snprintf(key, sizeof(key), "http://t/c%d", i);
		put(d, key, NULL, 2000, 1000);
	}
	ec_disk_flush(d);
	ec_disk_stats(d, &st);
	ck_assert_uint_eq(st.stored, 20);
	ck_assert_uint_ge(st.commits, 4); /* 20 x ~2 KiB in batches of <= 10 KB */
	ec_disk_close(&d);
}
END_TEST

START_TEST(test_watermark_eviction_lru)
{
	struct ec_disk_config cfg;
	cfg_init(&cfg, 8u << 20);
	cfg.high_pct = 50;
	cfg.low_pct = 30;
	cfg.touch_grain = 10;
	struct ec_disk *d = open_ok(&cfg);
	char key[64];
	/* 40 x 64 KiB = 2.5 MiB: under the 4 MiB high watermark */
	for (int i = 0; i < 40; i++) {
		snprintf(key, sizeof(key), "http://t/e%d", i);
		put(d, key, NULL, 65536, 1000 + i);
	}
	ec_disk_flush(d);
	struct ec_disk_stats st;
	ec_disk_stats(d, &st);
	ck_assert_uint_eq(st.evictions, 0);
	/* object 0 is used again: it must outlive objects 1.. */
	struct ec_obj *o = mkobj("http://t/e0", NULL, 1);
	ec_disk_touch(d, o, 5000);
	ec_obj_unref(&o);
	/* 30 more pass the 4 MiB high watermark: eviction to 2.4 MiB drops about 35 */
	for (int i = 40; i < 70; i++) {
		snprintf(key, sizeof(key), "http://t/e%d", i);
		put(d, key, NULL, 65536, 5000 + i);
	}
	ec_disk_flush(d);
	ec_disk_stats(d, &st);
	ck_assert_uint_gt(st.evictions, 0);
	ck_assert_uint_ge(st.touches, 1);
	ck_assert_uint_le(st.used_bytes, (uint64_t)cfg.map_size * cfg.high_pct / 100);
	ck_assert_uint_eq(st.objects, 70 - st.evictions);
	ck_assert_uint_lt(st.evictions, 39);
	/* the oldest went first; the touched one and the newest stayed */
	check_miss(d, "http://t/e1", NULL, EC_LOOKUP_MISS);
	check_hit(d, "http://t/e0", NULL, 65536);
	check_hit(d, "http://t/e69", NULL, 65536);
	ec_disk_close(&d);
}
END_TEST

START_TEST(test_map_full_never_fails)
{
	struct ec_disk_config cfg;
	cfg_init(&cfg, 4u << 20);
	cfg.high_pct = 100;
	cfg.low_pct = 90;
	struct ec_disk *d = open_ok(&cfg);
	char key[64];
	for (int i = 0; i < 200; i++) {
		snprintf(key, sizeof(key), "http://t/f%d", i);
		put(d, key, NULL, 100000, 1000 + i);
		if (i % 10 == 9)
			ec_disk_flush(d);
	}
	ec_disk_flush(d);
	struct ec_disk_stats st;
	ec_disk_stats(d, &st);
	ck_assert_uint_gt(st.map_full + st.evictions, 0);
	ck_assert_uint_eq(st.state, EC_DISK_OK);
	ck_assert_uint_eq(st.write_errors, 0);
	ck_assert_uint_eq(st.stored + st.puts_dropped, 200);
	/* 20 MB through a 4 MiB map: a 100 KB object takes runs of contiguous
	 * pages, and a fragmented free list may still refuse one now and then,
	 * but the newest objects are mostly there */
	int hits = 0;
	for (int i = 190; i < 200; i++) {
		struct ec_obj *o;
		snprintf(key, sizeof(key), "http://t/f%d", i);
		if (get(d, key, NULL, &o) == EC_LOOKUP_HIT) {
			hits++;
			ec_obj_unref(&o);
			check_hit(d, key, NULL, 100000);
		}
	}
	ck_assert_int_ge(hits, 5);
	ec_disk_close(&d);
}
END_TEST

/* Rewrites the stored bytes of a record or chunk through LMDB directly. */
static void damage(struct ec_disk *d, MDB_dbi dbi, const void *key, size_t klen, size_t at)
{
	MDB_txn *txn;
	MDB_val k = {klen, (void *)key}, v;
	ck_assert_int_eq(mdb_txn_begin(d->env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_get(txn, dbi, &k, &v), 0);
	unsigned char *copy = malloc(v.mv_size);
	memcpy(copy, v.mv_data, v.mv_size);
	copy[at % v.mv_size] ^= 0x20;
	v.mv_data = copy;
	ck_assert_int_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	free(copy);
}

START_TEST(test_corruption_is_a_miss)
{
	struct ec_disk *d = open_default();
	put(d, "http://t/r", NULL, 500, 1000);
	put(d, "http://t/c", NULL, 100000, 1000);
	ec_disk_flush(d);
	unsigned char ok[EC_DISK_OKEY];
	ec_disk__okey(ec_store_hash("http://t/r", 10), 0, ok);
	damage(d, d->dbi_obj, ok, EC_DISK_OKEY, 150);
	check_miss(d, "http://t/r", NULL, EC_LOOKUP_MISS);
	ck_assert_ptr_nonnull(strstr(lastlog, "bad record for http://t/r"));
	/* a damaged chunk: a miss, never a partial body */
	struct ec_obj *o;
	ck_assert_int_eq(get(d, "http://t/c", NULL, &o), EC_LOOKUP_HIT);
	ec_obj_unref(&o);
	unsigned char ck[EC_DISK_CKEY];
	ec_disk__ckey(1, 2, ck); /* the first chunked object got id 1 */
	damage(d, d->dbi_chunk, ck, EC_DISK_CKEY, 5000);
	check_miss(d, "http://t/c", NULL, EC_LOOKUP_MISS);
	ec_disk_flush(d);
	struct ec_disk_stats st;
	ec_disk_stats(d, &st);
	ck_assert_uint_eq(st.corrupt, 2);
	ck_assert_uint_eq(st.objects, 0); /* both deleted */
	ck_assert_uint_eq(st.state, EC_DISK_OK);
	ec_disk_close(&d);
}
END_TEST

START_TEST(test_unknown_dict_and_meta_version)
{
	struct ec_disk *d = open_default();
	put(d, "http://t/u", NULL, 50, 1000);
	put(d, "http://t/m", NULL, 50, 1000);
	ec_disk_close(&d);
	/* a codec without the dictionary the blocks name */
	struct ec_hdrcodec *plain = ec_hdrcodec_new(3), *saved = codec;
	codec = plain;
	d = open_default();
	check_miss(d, "http://t/u", NULL, EC_LOOKUP_MISS);
	ck_assert_ptr_nonnull(strstr(lastlog, "needs a dictionary"));
	ec_disk_close(&d);
	codec = saved;
	ec_hdrcodec_free(&plain);
	/* another meta layout: silently a miss, and deleted */
	struct ec_disk_config cfg;
	cfg_init(&cfg, 16u << 20);
	cfg.meta_version = 4;
	d = open_ok(&cfg);
	check_miss(d, "http://t/m", NULL, EC_LOOKUP_MISS);
	ec_disk_flush(d);
	struct ec_disk_stats st;
	ec_disk_stats(d, &st);
	ck_assert_uint_eq(st.objects, 0);
	ck_assert_uint_eq(st.corrupt, 0);
	ec_disk_close(&d);
}
END_TEST

START_TEST(test_refused_directories)
{
	struct ec_disk_config cfg;
	char err[512], path[400];
	struct ec_disk *d = open_default();
	/* a second opener (another daemon on the same directory) */
	cfg_init(&cfg, 16u << 20);
	ck_assert_ptr_null(ec_disk_open(&cfg, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "in use by another process"));
	/* another format version */
	MDB_txn *txn;
	MDB_val k = {6, "format"}, v;
	ck_assert_int_eq(mdb_txn_begin(d->env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_get(txn, d->dbi_info, &k, &v), 0);
	unsigned char f[20];
	memcpy(f, v.mv_data, 20);
	f[16] = 9;
	v.mv_data = f;
	ck_assert_int_eq(mdb_put(txn, d->dbi_info, &k, &v, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	ec_disk_close(&d);
	ck_assert_ptr_null(ec_disk_open(&cfg, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "stored format version 9, this build reads version 1"));
	/* a path that cannot be created: under a regular file */
	snprintf(path, sizeof(path), "%s/file", dir);
	FILE *fp = fopen(path, "w");
	fputs("x", fp);
	fclose(fp);
	snprintf(path, sizeof(path), "%s/file/sub", dir);
	cfg.dir = path;
	ck_assert_ptr_null(ec_disk_open(&cfg, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "cannot create the directory: Not a directory"));
	/* not an LMDB file */
	snprintf(path, sizeof(path), "%s/junk", dir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/junk/data.mdb", dir);
	fp = fopen(path, "w");
	for (int i = 0; i < 3000; i++)
		fputs("garbage!", fp);
	fclose(fp);
	snprintf(path, sizeof(path), "%s/junk", dir);
	ck_assert_ptr_null(ec_disk_open(&cfg, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "cannot open the LMDB environment"));
	/* config errors */
	cfg.dir = dir;
	cfg.low_pct = 90;
	ck_assert_ptr_null(ec_disk_open(&cfg, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "watermarks"));
}
END_TEST

START_TEST(test_periodic_sync)
{
	struct ec_disk_config cfg;
	cfg_init(&cfg, 16u << 20);
	cfg.sync = EC_DISK_SYNC_PERIODIC;
	cfg.sync_interval = 0.05;
	struct ec_disk *d = open_ok(&cfg);
	put(d, "http://t/s", NULL, 100, 1000);
	ec_disk_flush(d);
	usleep(200000);
	struct ec_disk_stats st;
	ec_disk_stats(d, &st);
	ck_assert_uint_ge(st.syncs, 1);
	ec_disk_close(&d);
	cfg.sync = EC_DISK_SYNC_COMMIT;
	d = open_ok(&cfg);
	check_hit(d, "http://t/s", NULL, 100);
	ec_disk_close(&d);
}
END_TEST

START_TEST(test_read_only)
{
	struct ec_disk_config cfg;
	cfg_init(&cfg, 16u << 20);
	struct ec_disk *d = open_ok(&cfg);
	put(d, "http://t/ro/a", NULL, 5000, 1000);
	put(d, "http://t/ro/b", "v", 10, 1000);
	ec_disk_flush(d);
	/* a running daemon holds the lock: read-only opens are refused */
	struct ec_disk_config ro;
	cfg_init(&ro, 1u << 20); /* the stored map size wins */
	ro.read_only = true;
	char err[512] = "";
	ck_assert_ptr_null(ec_disk_open(&ro, err, sizeof(err)));
	ck_assert_msg(strstr(err, "in use by another process") != NULL, "%s", err);
	ec_disk_close(&d);

	d = open_ok(&ro);
	struct ec_disk *d2 = open_ok(&ro); /* readers share the lock */
	ck_assert_ptr_null(ec_disk_open(&cfg, err, sizeof(err))); /* a writer does not */
	check_hit(d, "http://t/ro/a", NULL, 5000);
	check_hit(d2, "http://t/ro/b", "v", 10);
	struct ec_disk_stats st;
	ec_disk_stats(d, &st);
	ck_assert_uint_eq(st.objects, 2);
	ck_assert_uint_eq(st.map_size, 16u << 20);
	ck_assert_uint_eq(st.state, 1); /* read-only */
	struct ec_obj *o = mkobj("http://t/ro/c", NULL, 10);
	ck_assert_int_eq(ec_disk_put(d, o, NULL, 0, 1000), EC_DISK_PUT_DISABLED);
	ec_obj_unref(&o);
	ec_disk_close(&d2);
	ec_disk_close(&d);

	ro.dir = "/nonexistent/edgecache-ro";
	ck_assert_ptr_null(ec_disk_open(&ro, err, sizeof(err)));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("disk");
	TCase *tc = tcase_create("disk");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_put_lookup_reopen);
	tcase_add_test(tc, test_inline_vs_chunks);
	tcase_add_test(tc, test_variants_purge_remove);
	tcase_add_test(tc, test_prefix_tag_soft);
	tcase_add_test(tc, test_pending_purge_hides);
	tcase_add_test(tc, test_batching);
	tcase_add_test(tc, test_watermark_eviction_lru);
	tcase_add_test(tc, test_map_full_never_fails);
	tcase_add_test(tc, test_corruption_is_a_miss);
	tcase_add_test(tc, test_unknown_dict_and_meta_version);
	tcase_add_test(tc, test_refused_directories);
	tcase_add_test(tc, test_periodic_sync);
	tcase_add_test(tc, test_read_only);
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
