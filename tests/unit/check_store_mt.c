/*
 * tests/unit/check_store_mt.c — the store under concurrency: 4 threads for
 * about 2 s (S3-FIFO + TinyLFU, then LRU) on a small cache doing random
 * lookups with full body verification, inserts (new keys, new variants,
 * replacements), purges, soft purges, removes, iterations, and holding object
 * and chunk references past eviction the way libevent does. Run it under
 * ASan (--enable-asan) and TSan to catch use-after-free and races.
 *
 * Every body byte is a function of (key id, version, offset), and the header
 * block names the id and version, so any reader can check what it got.
 * Worker threads record failures in a counter (Check's asserts are for the
 * main thread); the main thread asserts on it, on the byte capacity, and that
 * every object and chunk is freed at the end.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "storage/ec_store.h"

#define THREADS  4
#define KEYS     64
#define CAPACITY (256u * 1024u)
#define HELD_CH  16
#define HELD_OBJ 4
#define MAX_BODY 30000u /* a few exceed the 25.6 KiB maximum object size */

static const char *const vkeys[] = {"", "gzip", "br"};

struct shared {
	struct ec_store *st;
	atomic_bool stop;
	atomic_uint failures;
	atomic_ulong ops, hits, inserts, verified_bytes, held_released;
	char first_failure[256];
	pthread_mutex_t fail_lock;
};

struct held_chunk {
	struct ec_chunk *c;
	unsigned id, ver;
};

static void report(struct shared *sh, const char *what, unsigned id)
{
	if (atomic_fetch_add(&sh->failures, 1) == 0) {
		pthread_mutex_lock(&sh->fail_lock);
		snprintf(sh->first_failure, sizeof(sh->first_failure), "%s (key %u)", what, id);
		pthread_mutex_unlock(&sh->fail_lock);
	}
}

static unsigned char byte_at(unsigned id, unsigned ver, uint64_t off)
{
	return (unsigned char)(id * 131u + ver * 7u + off * 13u + (off >> 9));
}

static uint64_t rnd_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static struct ec_key key_for(unsigned id, char *buf)
{
	int n = snprintf(buf, 48, "http://mt.example/%u", id);
	return ec_key_make(buf, (size_t)n);
}

static bool check_chunk(const struct ec_chunk *c, unsigned id, unsigned ver)
{
	const unsigned char *p = ec_chunk_data(c);
	size_t len = ec_chunk_len(c);
	uint64_t off = ec_chunk_offset(c);

	for (size_t i = 0; i < len; i++)
		if (p[i] != byte_at(id, ver, off + i))
			return false;
	return true;
}

/* Checks the header block and every body byte; returns the version. */
static bool verify(struct shared *sh, const struct ec_obj *o, unsigned id, unsigned *verp)
{
	struct ec_str h = ec_obj_headers(o);
	char buf[64];
	unsigned hid, ver, len;
	uint64_t off = 0;

	if (h.len >= sizeof(buf))
		return false;
	memcpy(buf, h.p, h.len);
	buf[h.len] = '\0';
	if (sscanf(buf, "id=%u ver=%u len=%u", &hid, &ver, &len) != 3 || hid != id)
		return false;
	if (!ec_obj_is_complete(o) || ec_obj_body_len(o) != len)
		return false;
	for (size_t i = 0; i < ec_obj_nchunks(o); i++) {
		const struct ec_chunk *c = ec_obj_chunk(o, i);
		if (ec_chunk_offset(c) != off || !check_chunk(c, id, ver))
			return false;
		off += ec_chunk_len(c);
	}
	if (off != len)
		return false;
	atomic_fetch_add_explicit(&sh->verified_bytes, len, memory_order_relaxed);
	*verp = ver;
	return true;
}

static struct ec_obj *build(unsigned id, unsigned vk, unsigned ver, size_t len)
{
	char kb[48], hdr[64];
	struct ec_key k = key_for(id, kb);
	struct ec_obj_init in = {.key = &k,
	                         .vkey = vkeys[vk],
	                         .vkey_len = strlen(vkeys[vk]),
	                         .meta_len = 16,
	                         .body_hint = ver % 2 ? len : 0};
	struct ec_obj *o = ec_obj_new(&in);
	int n;

	if (o == NULL)
		return NULL;
	n = snprintf(hdr, sizeof(hdr), "id=%u ver=%u len=%zu", id, ver, len);
	if (ec_obj_set_headers(o, hdr, (size_t)n) != 0) {
		ec_obj_unref(&o);
		return NULL;
	}
	for (size_t off = 0; off < len;) {
		void *p;
		size_t avail, m;
		if (ec_obj_reserve(o, len - off, &p, &avail) != 0) {
			ec_obj_unref(&o);
			return NULL;
		}
		m = EC_MIN(avail, len - off);
		m = EC_MIN(m, (size_t)5000); /* several commits per chunk */
		for (size_t i = 0; i < m; i++)
			((unsigned char *)p)[i] = byte_at(id, ver, off + i);
		ec_obj_commit(o, m);
		off += m;
	}
	ec_obj_finish(o);
	return o;
}

struct worker {
	struct shared *sh;
	unsigned idx;
	uint64_t rnd;
	struct held_chunk chunks[HELD_CH];
	struct ec_obj *objs[HELD_OBJ];
	unsigned next_ver;
};

static void release_chunk(struct worker *w, unsigned slot)
{
	struct held_chunk *hc = &w->chunks[slot];

	if (hc->c == NULL)
		return;
	/* The bytes must still be intact, whatever happened to the object. */
	if (!check_chunk(hc->c, hc->id, hc->ver))
		report(w->sh, "held chunk changed", hc->id);
	ec_chunk_release_cb(ec_chunk_data(hc->c), ec_chunk_len(hc->c), hc->c);
	hc->c = NULL;
	atomic_fetch_add_explicit(&w->sh->held_released, 1, memory_order_relaxed);
}

static bool match_vk(const struct ec_obj *o, void *arg)
{
	return ec_store_match_vkey(o, arg);
}

/* The id in "http://mt.example/N", or KEYS when the key is not ours. */
static unsigned id_of(const struct ec_obj *o)
{
	struct ec_str k = ec_obj_key(o);
	unsigned id = 0;

	if (k.len < 19 || k.len > 21 || memcmp(k.p, "http://mt.example/", 18) != 0)
		return KEYS;
	for (size_t i = 18; i < k.len; i++)
		id = id * 10 + (unsigned)(k.p[i] - '0');
	return id < KEYS ? id : KEYS;
}

static int count_cb(struct ec_obj *o, void *arg)
{
	if (id_of(o) == KEYS)
		(*(unsigned *)arg) += 1000000;
	(*(unsigned *)arg)++;
	return 0;
}

static void one_op(struct worker *w)
{
	struct shared *sh = w->sh;
	uint64_t r = rnd_next(&w->rnd);
	unsigned id = (unsigned)(r % KEYS), vk = (unsigned)((r >> 8) % 3),
	         op = (unsigned)((r >> 16) % 100);
	char kb[48];
	struct ec_key k = key_for(id, kb);
	struct ec_str want = ec_str_cstr(vkeys[vk]);
	struct ec_lookup req = {
	        .key = &k, .match = match_vk, .match_arg = &want, .now = (int64_t)op};
	struct ec_obj *o = NULL;
	unsigned ver;

	if (op < 55) { /* lookup, verify, hold some references */
		if (ec_store_lookup(sh->st, &req, &o) != EC_LOOKUP_HIT)
			return;
		atomic_fetch_add_explicit(&sh->hits, 1, memory_order_relaxed);
		if (!ec_str_eq(ec_obj_vkey(o), want) || !verify(sh, o, id, &ver)) {
			report(sh, "bad object from lookup", id);
			ec_obj_unref(&o);
			return;
		}
		if (ec_obj_nchunks(o) > 0 && (r >> 24) % 2 == 0) {
			unsigned slot = (unsigned)((r >> 28) % HELD_CH);
			struct ec_chunk *c =
			        ec_obj_chunk(o, (size_t)((r >> 32) % ec_obj_nchunks(o)));
			release_chunk(w, slot);
			ec_chunk_ref(c);
			w->chunks[slot] = (struct held_chunk){c, id, ver};
		}
		if ((r >> 36) % 4 == 0) {
			unsigned slot = (unsigned)((r >> 40) % HELD_OBJ);
			if (w->objs[slot] != NULL)
				ec_obj_unref(&w->objs[slot]);
			w->objs[slot] = o; /* keep it; it may be evicted meanwhile */
			o = NULL;
		}
		if (o != NULL)
			ec_obj_unref(&o);
	} else if (op < 85) { /* miss path: build and insert */
		size_t len = (size_t)((r >> 24) % MAX_BODY);
		enum ec_insert_rc rc;

		o = build(id, vk, w->idx * 100000000u + w->next_ver++, len);
		if (o == NULL) {
			report(sh, "build failed", id);
			return;
		}
		rc = ec_store_insert(sh->st, o);
		if (rc != EC_INSERT_OK && rc != EC_INSERT_REJECTED && rc != EC_INSERT_TOO_BIG)
			report(sh, "insert failed", id);
		if (rc == EC_INSERT_OK)
			atomic_fetch_add_explicit(&sh->inserts, 1, memory_order_relaxed);
		ec_obj_unref(&o);
	} else if (op < 92) {
		(void)ec_store_purge(sh->st, &k, (r >> 24) % 4 == 0 ? EC_PURGE_SOFT : 0);
	} else if (op < 99) {
		if (ec_store_lookup(sh->st, &req, &o) == EC_LOOKUP_HIT) {
			(void)ec_store_remove(sh->st, o);
			if (!verify(sh, o, id, &ver))
				report(sh, "bad object after remove", id);
			ec_obj_unref(&o);
		}
	} else {
		unsigned n = 0;
		struct ec_store_stats s;

		(void)ec_store_iterate(sh->st, count_cb, &n);
		ec_store_stats(sh->st, &s);
		if (n >= 1000000)
			report(sh, "iteration saw a foreign key", id);
		if (s.bytes > CAPACITY)
			report(sh, "capacity exceeded", id);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	while (!atomic_load_explicit(&w->sh->stop, memory_order_relaxed)) {
		for (unsigned i = 0; i < 64; i++)
			one_op(w);
		atomic_fetch_add_explicit(&w->sh->ops, 64, memory_order_relaxed);
	}
	for (unsigned i = 0; i < HELD_CH; i++)
		release_chunk(w, i);
	for (unsigned i = 0; i < HELD_OBJ; i++)
		if (w->objs[i] != NULL) {
			unsigned ver;
			/* Evicted or not, a held object stays whole. */
			if (!verify(w->sh, w->objs[i], id_of(w->objs[i]), &ver))
				report(w->sh, "held object changed", id_of(w->objs[i]));
			ec_obj_unref(&w->objs[i]);
		}
	return NULL;
}

static void run(enum ec_evict_policy pol, enum ec_admission adm, unsigned ms)
{
	struct ec_store_config cfg;
	const char *why;
	struct shared sh;
	struct worker w[THREADS];
	pthread_t th[THREADS];
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
	struct ec_store_stats s;
	size_t objs = ec_obj_live(), chunks = ec_chunk_live();

	memset(&sh, 0, sizeof(sh));
	pthread_mutex_init(&sh.fail_lock, NULL);
	ec_store_config_default(&cfg, CAPACITY);
	cfg.policy = pol;
	cfg.admission = adm;
	cfg.shards = 4; /* few shards: more contention */
	cfg.avg_obj_size = 8192;
	sh.st = ec_store_new(&cfg, &why);
	ck_assert_ptr_nonnull(sh.st);
	for (unsigned i = 0; i < THREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].sh = &sh;
		w[i].idx = i;
		w[i].rnd = 0x9E3779B97F4A7C15ull * (i + 1);
		ck_assert_int_eq(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	}
	nanosleep(&ts, NULL);
	atomic_store(&sh.stop, true);
	for (unsigned i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	ck_assert_msg(atomic_load(&sh.failures) == 0, "%u failures, first: %s",
	              atomic_load(&sh.failures), sh.first_failure);
	ec_store_stats(sh.st, &s);
	fprintf(stderr,
	        "%s: %lu ops, %lu hits (%lu body bytes verified), %lu inserts, %llu evictions, "
	        "%llu admission rejections, %lu held chunks released\n",
	        pol == EC_EVICT_LRU ? "lru" : "s3fifo+tinylfu", atomic_load(&sh.ops),
	        atomic_load(&sh.hits), atomic_load(&sh.verified_bytes), atomic_load(&sh.inserts),
	        (unsigned long long)s.evictions, (unsigned long long)s.rejected_admission,
	        atomic_load(&sh.held_released));
	ck_assert_uint_le(s.bytes, CAPACITY);
	/* It really ran: many operations, hits, inserts and evictions. */
	ck_assert_uint_gt(atomic_load(&sh.ops), 2000);
	ck_assert_uint_gt(atomic_load(&sh.hits), 200);
	ck_assert_uint_gt(atomic_load(&sh.inserts), 200);
	ck_assert_uint_gt(s.evictions, 10);
	ck_assert_uint_gt(atomic_load(&sh.held_released), 50);
	ec_store_free(&sh.st);
	ck_assert_uint_eq(ec_obj_live(), objs);
	ck_assert_uint_eq(ec_chunk_live(), chunks);
	pthread_mutex_destroy(&sh.fail_lock);
}

START_TEST(test_concurrent_s3fifo_tinylfu)
{
	run(EC_EVICT_S3FIFO, EC_ADMIT_TINYLFU, 1200);
}
END_TEST

START_TEST(test_concurrent_lru)
{
	run(EC_EVICT_LRU, EC_ADMIT_ALL, 800);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("store_mt");
	TCase *tc = tcase_create("mt");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_concurrent_s3fifo_tinylfu);
	tcase_add_test(tc, test_concurrent_lru);
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
