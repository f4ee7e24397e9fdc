/*
 * storage/disk_writer.c — the disk tier's writer thread: the only thread
 * that opens LMDB write transactions.
 *
 * Loop: wait for the queue; once something arrives, keep the batch open for
 * batch_delay (or until it holds batch_bytes, a flush is waiting, or the
 * tier is closing); apply the whole batch in one write transaction; commit
 * (durable at once under sync=commit; under sync=periodic, MDB_NOSYNC and an
 * mdb_env_sync every sync_interval); then release the batch's pending
 * purges and wake flushers; then evict down to the low watermark if the
 * live pages passed the high one.
 *
 * MDB_MAP_FULL: the transaction is aborted, the least recently used objects
 * are evicted (their own transactions), and the batch is tried again; if
 * the map is still full, the batch is applied without its puts (they are
 * counted as dropped), so purges are never lost to a full map.
 *
 * Owns (writer thread only): next_id, last_sync, dirty, the batch in hand.
 * Takes qlock only to take items from the queue and to publish progress,
 * never across an LMDB call.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "storage/disk_priv.h"

#define EVICT_PER_TXN 2048

struct batch {
	struct ec_disk_item *head;
	size_t nitems, nputs;
	uint64_t last_seq;
	/* results of the attempt in progress */
	uint64_t stored, stored_bytes, purged, touches, corrupt;
	bool quiet; /* the item in hand removes a record a lookup already reported */
};

/* --- helpers ----------------------------------------------------------------- */

uint64_t ec_disk__live_bytes(struct ec_disk *d, MDB_txn *txn)
{
	MDB_dbi dbis[] = {1 /* the main DB: the named sub-databases */,
	                  d->dbi_info,
	                  d->dbi_obj,
	                  d->dbi_chunk,
	                  d->dbi_key,
	                  d->dbi_tag,
	                  d->dbi_atime};
	uint64_t pages = 2; /* the meta pages */
	for (size_t i = 0; i < EC_ARRAY_LEN(dbis); i++) {
		MDB_stat st;
		if (mdb_stat(txn, dbis[i], &st) == 0)
			pages += st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages;
	}
	return pages * d->psize;
}

static MDB_val val(const void *p, size_t n)
{
	MDB_val v = {n, (void *)p};
	return v;
}

static int del_ok(int rc)
{
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static struct ec_str idx_str(struct ec_str s)
{
	return ec_str_make(s.p, EC_MIN(s.len, EC_DISK_KEYIDX_MAX));
}

/* Whether a record of this hash is stored besides the one being deleted. */
static int hash_has_records(struct ec_disk *d, MDB_txn *txn, const unsigned char *okey, bool *has)
{
	MDB_cursor *cur;
	unsigned char k0[EC_DISK_OKEY];
	memcpy(k0, okey, 16);
	memset(k0 + 16, 0, 8);
	MDB_val k = val(k0, EC_DISK_OKEY), v;
	int rc = mdb_cursor_open(txn, d->dbi_obj, &cur);
	if (rc != 0)
		return rc;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	*has = rc == 0 && k.mv_size == EC_DISK_OKEY && memcmp(k.mv_data, okey, 16) == 0;
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc;
}

/*
 * Deletes an object: chunks, tag and access-time entries, the record, and
 * the key-index entry when no variant of the key is left. rec is decoded
 * from a copy (the map's bytes change under deletes).
 */
static int del_object(struct ec_disk *d, MDB_txn *txn, const unsigned char *okey,
                      const struct ec_disk_rec *rec)
{
	int rc = 0;
	unsigned char ck[EC_DISK_CKEY], ak[EC_DISK_AKEY];
	if (!(rec->flags & EC_DISK_RECF_INLINE)) {
		for (uint32_t i = 0; i < rec->nchunks && rc == 0; i++) {
			ec_disk__ckey(rec->id, i, ck);
			MDB_val k = val(ck, EC_DISK_CKEY);
			rc = del_ok(mdb_del(txn, d->dbi_chunk, &k, NULL));
		}
	}
	size_t pos = 0;
	struct ec_str t;
	while (rc == 0 && ec_disk__rec_tag_next(rec, &pos, &t)) {
		MDB_val k = val(t.p, t.len), v = val(okey, EC_DISK_OKEY);
		rc = del_ok(mdb_del(txn, d->dbi_tag, &k, &v));
	}
	ec_disk__akey(rec->atime, okey, ak);
	MDB_val k = val(ak, EC_DISK_AKEY);
	if (rc == 0)
		rc = del_ok(mdb_del(txn, d->dbi_atime, &k, NULL));
	k = val(okey, EC_DISK_OKEY);
	if (rc == 0)
		rc = del_ok(mdb_del(txn, d->dbi_obj, &k, NULL));
	bool has = false;
	if (rc == 0)
		rc = hash_has_records(d, txn, okey, &has);
	if (rc == 0 && !has) {
		struct ec_str ks = idx_str(rec->key);
		MDB_val kk = val(ks.p, ks.len), kv = val(okey, 16);
		rc = del_ok(mdb_del(txn, d->dbi_key, &kk, &kv));
	}
	return rc;
}

/*
 * Reads the record at okey into a heap copy (*buf, decoded into *rec).
 * 0 with *buf NULL when absent; a corrupt record is deleted on the spot
 * (only the record: what it pointed to is unknown) and reported absent.
 */
static int load_record(struct ec_disk *d, MDB_txn *txn, const unsigned char *okey,
                       struct ec_disk_rec *rec, void **buf, size_t *len, struct batch *b)
{
	MDB_val k = val(okey, EC_DISK_OKEY), v;
	*buf = NULL;
	int rc = mdb_get(txn, d->dbi_obj, &k, &v);
	if (rc != 0)
		return del_ok(rc);
	const char *why;
	void *copy = malloc(v.mv_size);
	if (copy == NULL)
		return ENOMEM;
	memcpy(copy, v.mv_data, v.mv_size);
	if (ec_disk__rec_decode(copy, v.mv_size, rec, &why) != 0) {
		free(copy);
		if (!b->quiet) {
			b->corrupt++;
			ec_disk__log_limited(d, 3, EC_DISK_LOG_ERR,
			                     "disk: %s: bad record: %s (deleted)", d->dir, why);
		}
		return del_ok(mdb_del(txn, d->dbi_obj, &k, NULL));
	}
	*buf = copy;
	*len = v.mv_size;
	return 0;
}

/* Deletes (or, soft, marks stale) the object at okey if it is stored. */
static int purge_okey(struct ec_disk *d, MDB_txn *txn, const unsigned char *okey, bool soft,
                      struct batch *b)
{
	struct ec_disk_rec rec;
	void *buf;
	size_t len;
	int rc = load_record(d, txn, okey, &rec, &buf, &len, b);
	if (rc != 0 || buf == NULL)
		return rc;
	if (soft) {
		if (!(rec.flags & EC_DISK_RECF_STALE)) {
			ec_disk__rec_patch(buf, len, rec.atime, rec.flags | EC_DISK_RECF_STALE);
			MDB_val k = val(okey, EC_DISK_OKEY), v = val(buf, len);
			rc = mdb_put(txn, d->dbi_obj, &k, &v, 0);
		}
	} else {
		rc = del_object(d, txn, okey, &rec);
	}
	free(buf);
	if (rc == 0)
		b->purged++;
	return rc;
}

/* Collects the object keys stored for a hash (up to cap); *n gets the count. */
static int hash_okeys(struct ec_disk *d, MDB_txn *txn, struct ec_hash128 h,
                      unsigned char (*out)[EC_DISK_OKEY], size_t cap, size_t *n)
{
	MDB_cursor *cur;
	unsigned char k0[EC_DISK_OKEY];
	ec_disk__okey(h, 0, k0);
	MDB_val k = val(k0, EC_DISK_OKEY), v;
	int rc = mdb_cursor_open(txn, d->dbi_obj, &cur);
	*n = 0;
	if (rc != 0)
		return rc;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && *n < cap;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != EC_DISK_OKEY || memcmp(k.mv_data, k0, 16) != 0)
			break;
		memcpy(out[(*n)++], k.mv_data, EC_DISK_OKEY);
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc;
}

static int purge_hash(struct ec_disk *d, MDB_txn *txn, struct ec_hash128 h, bool soft,
                      struct ec_str must_prefix, struct batch *b)
{
	unsigned char okeys[64][EC_DISK_OKEY];
	size_t n;
	int rc;
	do {
		rc = hash_okeys(d, txn, h, okeys, EC_ARRAY_LEN(okeys), &n);
		for (size_t i = 0; i < n && rc == 0; i++) {
			if (must_prefix.len) {
				/* prefix purge: the index key was cut; check the full key */
				MDB_val k = val(okeys[i], EC_DISK_OKEY), v;
				struct ec_disk_rec r;
				const char *why;
				if (mdb_get(txn, d->dbi_obj, &k, &v) == 0 &&
				    ec_disk__rec_decode(v.mv_data, v.mv_size, &r, &why) == 0 &&
				    !ec_str_has_prefix(r.key, must_prefix))
					continue;
			}
			rc = purge_okey(d, txn, okeys[i], soft, b);
		}
	} while (rc == 0 && n == EC_ARRAY_LEN(okeys) && !soft && !must_prefix.len);
	return rc;
}

/* --- put and touch ------------------------------------------------------------ */

/* Copies body bytes [off, off+len) of obj into out. */
static void body_copy(const struct ec_obj *o, uint64_t off, size_t len, unsigned char *out)
{
	size_t idx, skip;
	if (len == 0 || !ec_obj_seek(o, off, &idx, &skip))
		return;
	while (len > 0) {
		struct ec_chunk *c = ec_obj_chunk(o, idx++);
		size_t n = EC_MIN(ec_chunk_len(c) - skip, len);
		memcpy(out, (const unsigned char *)ec_chunk_data(c) + skip, n);
		out += n;
		len -= n;
		skip = 0;
	}
}

static int put_object(struct ec_disk *d, MDB_txn *txn, struct ec_disk_item *it, struct batch *b)
{
	struct ec_obj *o = it->obj;
	unsigned char okey[EC_DISK_OKEY], ak[EC_DISK_AKEY];
	struct ec_str key = ec_obj_key(o);
	ec_disk__okey(ec_obj_hash(o), ec_disk__vid(ec_obj_vkey(o)), okey);
	uint64_t purged = b->purged;
	int rc = purge_okey(d, txn, okey, false, b); /* the variant it replaces */
	b->purged = purged;                          /* (a replacement is not a purge) */
	if (rc != 0)
		return rc;
	struct ec_str hdr = ec_obj_headers(o);
	size_t hcap = ec_hdrcodec_bound(hdr.len);
	unsigned char *henc = malloc(hcap);
	struct ec_str *tags = calloc(it->ntags + 1, sizeof(*tags));
	if (henc == NULL || tags == NULL) {
		free(henc);
		free(tags);
		return ENOMEM;
	}
	size_t hlen = 0;
	enum ec_hdrcodec_rc hrc =
	        ec_hdrcodec_encode(d->cfg.codec, hdr.p, hdr.len, henc, hcap, &hlen);
	if (hrc != EC_HDRC_OK) {
		free(henc);
		free(tags);
		return ENOMEM;
	}
	const unsigned char *tp = (const unsigned char *)it->data;
	for (size_t i = 0; i < it->ntags; i++) {
		size_t n = (size_t)(tp[0] | tp[1] << 8);
		tags[i] = ec_str_make((const char *)tp + 2, n);
		tp += 2 + n;
	}
	uint64_t body_len = ec_obj_body_len(o);
	struct ec_disk_rec r = {
	        .flags = EC_DISK_RECF_INLINE,
	        .meta_version = d->cfg.meta_version,
	        .atime = (uint32_t)EC_MAX(it->now, 0),
	        .body_len = body_len,
	        .attr = *ec_obj_attr(o),
	        .key = key,
	        .vkey = ec_obj_vkey(o),
	        .meta = ec_str_make(ec_obj_meta(o), ec_obj_meta_len(o)),
	        .hdr = ec_str_make((const char *)henc, hlen),
	};
	if (ec_disk__rec_size(&r, tags, it->ntags) > d->inline_max && body_len > 0) {
		r.flags = 0;
		r.id = d->next_id++;
		r.nchunks = (uint32_t)((body_len + EC_DISK_CHUNK_DATA - 1) / EC_DISK_CHUNK_DATA);
	}
	/* the chunks: appended (ids only grow), written straight into the map */
	unsigned char ck[EC_DISK_CKEY];
	for (uint32_t i = 0; i < r.nchunks && rc == 0; i++) {
		uint64_t off = (uint64_t)i * EC_DISK_CHUNK_DATA;
		size_t n = (size_t)EC_MIN(body_len - off, EC_DISK_CHUNK_DATA);
		ec_disk__ckey(r.id, i, ck);
		MDB_val k = val(ck, EC_DISK_CKEY), v = val(NULL, n + 8);
		rc = mdb_put(txn, d->dbi_chunk, &k, &v, MDB_APPEND | MDB_RESERVE);
		if (rc == 0) {
			body_copy(o, off, n, (unsigned char *)v.mv_data + 8);
			ec_disk__chunk_seal(v.mv_data, n);
		}
	}
	unsigned char *inline_body = NULL;
	if (rc == 0 && (r.flags & EC_DISK_RECF_INLINE) && body_len > 0) {
		inline_body = malloc((size_t)body_len);
		if (inline_body == NULL)
			rc = ENOMEM;
		else {
			body_copy(o, 0, (size_t)body_len, inline_body);
			r.body = ec_str_make((const char *)inline_body, (size_t)body_len);
		}
	}
	if (rc == 0) {
		size_t rl = ec_disk__rec_size(&r, tags, it->ntags);
		MDB_val k = val(okey, EC_DISK_OKEY), v = val(NULL, rl);
		rc = mdb_put(txn, d->dbi_obj, &k, &v, MDB_RESERVE);
		if (rc == 0)
			ec_disk__rec_encode(&r, tags, it->ntags, v.mv_data);
	}
	if (rc == 0) {
		ec_disk__akey(r.atime, okey, ak);
		MDB_val k = val(ak, EC_DISK_AKEY), v = val("", 0);
		rc = mdb_put(txn, d->dbi_atime, &k, &v, 0);
	}
	if (rc == 0) {
		struct ec_str ks = idx_str(key);
		MDB_val k = val(ks.p, ks.len), v = val(okey, 16);
		rc = mdb_put(txn, d->dbi_key, &k, &v, MDB_NODUPDATA);
		if (rc == MDB_KEYEXIST)
			rc = 0;
	}
	for (size_t i = 0; i < it->ntags && rc == 0; i++) {
		MDB_val k = val(tags[i].p, tags[i].len), v = val(okey, EC_DISK_OKEY);
		rc = mdb_put(txn, d->dbi_tag, &k, &v, MDB_NODUPDATA);
		if (rc == MDB_KEYEXIST)
			rc = 0;
	}
	free(inline_body);
	free(henc);
	free(tags);
	if (rc == 0) {
		b->stored++;
		b->stored_bytes += body_len;
	}
	return rc;
}

static int touch(struct ec_disk *d, MDB_txn *txn, const struct ec_disk_item *it, struct batch *b)
{
	struct ec_disk_rec rec;
	void *buf;
	size_t len;
	if (it->now < 0)
		return 0;
	/* A cheap read first: most touches find a recent access time and write nothing. */
	MDB_val k = val(it->okey, EC_DISK_OKEY), v;
	int rc = mdb_get(txn, d->dbi_obj, &k, &v);
	if (rc != 0)
		return del_ok(rc);
	if (v.mv_size >= 8) {
		const unsigned char *p = v.mv_data;
		uint32_t at = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
		              (uint32_t)p[7] << 24;
		if ((uint64_t)it->now < (uint64_t)at + d->cfg.touch_grain)
			return 0;
	}
	rc = load_record(d, txn, it->okey, &rec, &buf, &len, b);
	if (rc != 0 || buf == NULL)
		return rc;
	unsigned char ak[EC_DISK_AKEY];
	uint32_t now = (uint32_t)it->now;
	ec_disk__akey(rec.atime, it->okey, ak);
	MDB_val akv = val(ak, EC_DISK_AKEY), empty = val("", 0);
	rc = del_ok(mdb_del(txn, d->dbi_atime, &akv, NULL));
	ec_disk__akey(now, it->okey, ak);
	if (rc == 0)
		rc = mdb_put(txn, d->dbi_atime, &akv, &empty, 0);
	if (rc == 0) {
		ec_disk__rec_patch(buf, len, now, rec.flags);
		v = val(buf, len);
		rc = mdb_put(txn, d->dbi_obj, &k, &v, 0);
	}
	free(buf);
	if (rc == 0)
		b->touches++;
	return rc;
}

/* Prefix purge: every key-index entry starting with the (cut) prefix. */
static int purge_prefix(struct ec_disk *d, MDB_txn *txn, struct ec_str prefix, bool soft,
                        struct batch *b)
{
	struct ec_str ip = idx_str(prefix);
	struct ec_hash128 *hs = NULL;
	size_t n = 0, cap = 0;
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, d->dbi_key, &cur);
	if (rc != 0)
		return rc;
	MDB_val k = val(ip.p, ip.len), v;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (!ec_str_has_prefix(ec_str_make(k.mv_data, k.mv_size), ip))
			break;
		if (v.mv_size != 16)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 256;
			struct ec_hash128 *nh = realloc(hs, cap * sizeof(*hs));
			if (nh == NULL) {
				rc = ENOMEM;
				break;
			}
			hs = nh;
		}
		unsigned char ok[EC_DISK_OKEY] = {0};
		memcpy(ok, v.mv_data, 16);
		hs[n++] = ec_disk__okey_hash(ok);
	}
	mdb_cursor_close(cur);
	rc = del_ok(rc);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = purge_hash(d, txn, hs[i], soft, prefix, b);
	free(hs);
	return rc;
}

static int purge_tag(struct ec_disk *d, MDB_txn *txn, struct ec_str tag, bool soft, struct batch *b)
{
	unsigned char(*oks)[EC_DISK_OKEY] = NULL;
	size_t n = 0, cap = 0;
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, d->dbi_tag, &cur);
	if (rc != 0)
		return rc;
	MDB_val k = val(tag.p, tag.len), v;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_DUP)) {
		if (v.mv_size != EC_DISK_OKEY)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 256;
			void *no = realloc(oks, cap * EC_DISK_OKEY);
			if (no == NULL) {
				rc = ENOMEM;
				break;
			}
			oks = no;
		}
		memcpy(oks[n++], v.mv_data, EC_DISK_OKEY);
	}
	mdb_cursor_close(cur);
	rc = del_ok(rc);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = purge_okey(d, txn, oks[i], soft, b);
	free(oks);
	return rc;
}

static int apply(struct ec_disk *d, MDB_txn *txn, struct ec_disk_item *it, bool skip_puts,
                 struct batch *b)
{
	bool soft = it->flags & EC_PURGE_SOFT;
	struct ec_str none = EC_STR_NULL;
	switch (it->op) {
	case EC_DOP_PUT:
		return skip_puts ? 0 : put_object(d, txn, it, b);
	case EC_DOP_TOUCH:
		return skip_puts ? 0 : touch(d, txn, it, b);
	case EC_DOP_PURGE:
		return purge_hash(d, txn, it->hash, soft, none, b);
	case EC_DOP_REMOVE: {
		b->quiet = true;
		int rc = purge_okey(d, txn, it->okey, false, b);
		b->quiet = false;
		return rc;
	}
	case EC_DOP_PREFIX:
		return purge_prefix(d, txn, it->str, soft, b);
	case EC_DOP_TAG:
		return purge_tag(d, txn, it->str, soft, b);
	case EC_DOP_FLUSH:
		return 0;
	default:
		EC_WRONG("disk queue item");
		return 0;
	}
}

/* --- eviction ---------------------------------------------------------------- */

/*
 * Evicts least recently used objects until the live pages are at most
 * `target` bytes, at most `max` objects (0: no limit). Returns how many.
 */
static uint64_t evict(struct ec_disk *d, uint64_t target, uint64_t max)
{
	uint64_t total = 0;
	for (;;) {
		MDB_txn *txn;
		MDB_cursor *cur;
		int rc = mdb_txn_begin(d->env, NULL, 0, &txn);
		if (rc != 0) {
			ec_disk__mdb_error(d, "eviction", rc);
			return total;
		}
		uint64_t live = ec_disk__live_bytes(d, txn);
		uint64_t n = 0;
		struct batch b = {0};
		rc = mdb_cursor_open(txn, d->dbi_atime, &cur);
		while (rc == 0 && live > target && n < EVICT_PER_TXN && (!max || total + n < max)) {
			MDB_val k, v;
			rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
			if (rc != 0)
				break;
			unsigned char ok[EC_DISK_OKEY];
			if (k.mv_size == EC_DISK_AKEY)
				memcpy(ok, (unsigned char *)k.mv_data + 4, EC_DISK_OKEY);
			/* the entry goes first: a missing or bad record must not loop */
			rc = mdb_cursor_del(cur, 0);
			if (rc == 0 && k.mv_size == EC_DISK_AKEY)
				rc = purge_okey(d, txn, ok, false, &b);
			n++;
			live = ec_disk__live_bytes(d, txn); /* a few mdb_stat calls: cheap */
		}
		if (rc == MDB_NOTFOUND)
			rc = 0;
		mdb_cursor_close(cur);
		if (rc == 0) {
			live = ec_disk__live_bytes(d, txn);
			MDB_stat st;
			mdb_stat(txn, d->dbi_obj, &st);
			rc = mdb_txn_commit(txn);
			if (rc == 0) {
				atomic_store(&d->used_bytes, live);
				atomic_store(&d->objects, st.ms_entries);
				d->dirty = true;
				EC_DISK_ADD(d, commits, 1);
				EC_DISK_ADD(d, evictions, b.purged);
				EC_DISK_ADD(d, corrupt, b.corrupt);
			}
		} else {
			mdb_txn_abort(txn);
		}
		if (rc != 0) {
			ec_disk__mdb_error(d, "eviction", rc);
			return total;
		}
		total += b.purged;
		if (live <= target || n == 0 || (max && total >= max))
			return total;
	}
}

static void maybe_evict(struct ec_disk *d)
{
	uint64_t high = d->cfg.map_size / 100 * d->cfg.high_pct;
	uint64_t low = d->cfg.map_size / 100 * d->cfg.low_pct;
	if (atomic_load(&d->used_bytes) <= high)
		return;
	uint64_t n = evict(d, low, 0);
	ec_disk__log_limited(d, 2, EC_DISK_LOG_INFO,
	                     "disk: %s: over the high watermark (%u%%): evicted %llu objects, "
	                     "%.1f MiB used",
	                     d->dir, d->cfg.high_pct, (unsigned long long)n,
	                     (double)atomic_load(&d->used_bytes) / 1048576.0);
}

/* --- batches ------------------------------------------------------------------ */

/* One attempt: 0 when committed. */
static int attempt(struct ec_disk *d, struct batch *b, bool skip_puts)
{
	MDB_txn *txn;
	b->stored = b->stored_bytes = b->purged = b->touches = b->corrupt = 0;
	int rc = mdb_txn_begin(d->env, NULL, 0, &txn);
	if (rc != 0)
		return rc;
	for (struct ec_disk_item *it = b->head; it && rc == 0; it = it->next)
		rc = apply(d, txn, it, skip_puts, b);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	uint64_t live = ec_disk__live_bytes(d, txn);
	MDB_stat st;
	mdb_stat(txn, d->dbi_obj, &st);
	rc = mdb_txn_commit(txn);
	if (rc == 0) {
		atomic_store(&d->used_bytes, live);
		atomic_store(&d->objects, st.ms_entries);
	}
	return rc;
}

/*
 * Frees room after MDB_MAP_FULL: at least a tenth of the map or twice the
 * batch's puts, and down to the low watermark. LMDB reuses the pages a
 * transaction frees only from the transaction after next (the previous
 * snapshot must survive a crash), so a tiny write follows the eviction to
 * make its pages available to the retry.
 */
static void make_room(struct ec_disk *d, const struct batch *b, bool hard)
{
	uint64_t put_bytes = 0;
	for (const struct ec_disk_item *it = b->head; it; it = it->next)
		put_bytes += it->qbytes;
	uint64_t used = atomic_load(&d->used_bytes);
	uint64_t room = EC_MAX(d->cfg.map_size / 10, 2 * put_bytes);
	uint64_t target = used > room ? used - room : 0;
	uint64_t low = d->cfg.map_size / 100 * d->cfg.low_pct;
	/* hard: half the low watermark, for a batch that did not fit after a first round */
	evict(d, EC_MIN(target, hard ? low / 2 : low), 0);
	for (int i = 0; i < (hard ? 2 : 1); i++) {
		MDB_txn *txn;
		if (mdb_txn_begin(d->env, NULL, 0, &txn) != 0)
			return;
		d->ticks++;
		MDB_val k = val("tick", 4), v = val(&d->ticks, sizeof(d->ticks));
		if (mdb_put(txn, d->dbi_info, &k, &v, 0) == 0)
			mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
	}
}

static bool is_full(int rc)
{
	return rc == MDB_MAP_FULL || rc == MDB_TXN_FULL;
}

/*
 * Commits b (its items as one transaction), evicting and retrying once on a
 * full map; when still full and `last`, commits it without its puts. Adds
 * the results to the counters. Returns the final LMDB code.
 */
static int commit_batch(struct ec_disk *d, struct batch *b, bool last)
{
	int rc = attempt(d, b, false);
	if (is_full(rc)) {
		EC_DISK_ADD(d, map_full, 1);
		ec_disk__log_limited(d, 4, EC_DISK_LOG_WARN,
		                     "disk: %s: map full (%s): evicting the least recently used "
		                     "and retrying",
		                     d->dir, mdb_strerror(rc));
		make_room(d, b, false);
		rc = attempt(d, b, false);
	}
	if (is_full(rc) && last) {
		EC_DISK_ADD(d, map_full, 1);
		make_room(d, b, true);
		rc = attempt(d, b, false);
	}
	bool skipped = false;
	if (is_full(rc) && last) {
		EC_DISK_ADD(d, map_full, 1);
		ec_disk__log_limited(d, 5, EC_DISK_LOG_WARN,
		                     "disk: %s: map full even after eviction: %zu objects not "
		                     "stored",
		                     d->dir, b->nputs);
		rc = attempt(d, b, true);
		skipped = true;
	}
	if (rc == 0) {
		d->dirty = true;
		EC_DISK_ADD(d, commits, 1);
		EC_DISK_ADD(d, stored, b->stored);
		EC_DISK_ADD(d, stored_bytes, b->stored_bytes);
		EC_DISK_ADD(d, purged, b->purged);
		EC_DISK_ADD(d, touches, b->touches);
		EC_DISK_ADD(d, corrupt, b->corrupt);
		if (skipped)
			EC_DISK_ADD(d, puts_dropped, b->nputs);
	}
	return rc;
}

static void run_batch(struct ec_disk *d, struct batch *b)
{
	int rc = 0;
	uint64_t purged = 0;
	if (atomic_load(&d->state) != EC_DISK_OK) {
		/* off or read-only: nothing is written */
		EC_DISK_ADD(d, puts_dropped, b->nputs);
		goto publish;
	}
	rc = commit_batch(d, b, b->nitems == 1);
	purged = b->purged;
	if (is_full(rc) && b->nitems > 1) {
		/* Too big together even after eviction: one item a transaction, so
		 * that what fits is stored and purges are never lost. */
		EC_DISK_ADD(d, map_full, 1);
		rc = 0;
		purged = 0;
		for (struct ec_disk_item *it = b->head; it && (rc == 0 || is_full(rc));
		     it = it->next) {
			struct ec_disk_item *next = it->next;
			struct batch one = {.head = it, .nitems = 1, .nputs = it->op == EC_DOP_PUT};
			it->next = NULL;
			rc = commit_batch(d, &one, true);
			it->next = next;
			purged += rc == 0 ? one.purged : 0;
		}
	}
	if (rc != 0 && !is_full(rc)) {
		EC_DISK_ADD(d, write_errors, 1);
		if (rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND || rc == MDB_PANIC ||
		    rc == MDB_INVALID || rc == MDB_BAD_TXN) {
			ec_disk__mdb_error(d, "write", rc);
		} else if (rc != ENOMEM) {
			int old = atomic_exchange(&d->state, EC_DISK_READONLY);
			if (old == EC_DISK_OK)
				ec_disk__log(d, EC_DISK_LOG_ERR,
				             "disk: %s: write failed: %s; the disk tier is now "
				             "READ-ONLY (nothing new is stored on disk)",
				             d->dir, mdb_strerror(rc));
		}
		EC_DISK_ADD(d, puts_dropped, b->nputs);
	} else if (is_full(rc)) {
		EC_DISK_ADD(d, puts_dropped, 1);
	}
	/* Evict before publishing: a flush then sees the tier within its budget. */
	if (atomic_load(&d->state) == EC_DISK_OK)
		maybe_evict(d);
publish:
	pthread_mutex_lock(&d->qlock);
	d->done_seq = b->last_seq;
	d->flush_purged += purged;
	for (struct ec_disk_pending **pp = &d->pending; *pp;) {
		struct ec_disk_pending *p = *pp;
		if (p->seq <= d->done_seq) {
			*pp = p->next;
			free(p);
			atomic_fetch_sub(&d->npending, 1);
		} else {
			pp = &p->next;
		}
	}
	pthread_cond_broadcast(&d->qdone);
	pthread_mutex_unlock(&d->qlock);
	while (b->head) {
		struct ec_disk_item *it = b->head;
		b->head = it->next;
		if (it->obj)
			ec_obj_unref(&it->obj);
		free(it);
	}
}

/* Takes items off the queue, up to batch_bytes (at least one). qlock held. */
static void take(struct ec_disk *d, struct batch *b)
{
	struct ec_disk_item **tail = &b->head;
	size_t bytes = 0;
	memset(b, 0, sizeof(*b));
	while (d->qhead && (bytes < d->cfg.batch_bytes || b->nitems == 0)) {
		struct ec_disk_item *it = d->qhead;
		d->qhead = it->next;
		if (d->qhead == NULL)
			d->qtail = NULL;
		it->next = NULL;
		*tail = it;
		tail = &it->next;
		bytes += it->qbytes;
		b->nitems++;
		b->nputs += it->op == EC_DOP_PUT;
		b->last_seq = it->seq;
		if (it->op == EC_DOP_FLUSH)
			d->qflush--;
		atomic_fetch_sub_explicit(&d->qbytes, it->qbytes, memory_order_relaxed);
		atomic_fetch_sub_explicit(&d->qitems, 1, memory_order_relaxed);
	}
}

static void abstime(double secs_from_now, struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
	double t = (double)ts->tv_sec + ts->tv_nsec / 1e9 + secs_from_now;
	ts->tv_sec = (time_t)t;
	ts->tv_nsec = (long)((t - (double)ts->tv_sec) * 1e9);
}

static void maybe_sync(struct ec_disk *d, bool force)
{
	if (d->cfg.sync != EC_DISK_SYNC_PERIODIC || !d->dirty)
		return;
	double now = ec_disk__now();
	if (!force && now - d->last_sync < d->cfg.sync_interval)
		return;
	int rc = mdb_env_sync(d->env, 1);
	if (rc != 0)
		ec_disk__log_limited(d, 0, EC_DISK_LOG_ERR, "disk: %s: sync: %s", d->dir,
		                     mdb_strerror(rc));
	d->dirty = false;
	d->last_sync = now;
	EC_DISK_ADD(d, syncs, 1);
}

void *ec_disk__writer_main(void *arg)
{
	struct ec_disk *d = arg;
	EC_CHECK_MAGIC(d, EC_DISK_MAGIC);
	pthread_mutex_lock(&d->qlock);
	for (;;) {
		while (d->qhead == NULL && !d->stopping) {
			if (d->cfg.sync == EC_DISK_SYNC_PERIODIC && d->dirty) {
				struct timespec ts;
				double left = d->last_sync + d->cfg.sync_interval - ec_disk__now();
				abstime(EC_MAX(left, 0.0), &ts);
				if (pthread_cond_timedwait(&d->qcond, &d->qlock, &ts) ==
				    ETIMEDOUT) {
					pthread_mutex_unlock(&d->qlock);
					maybe_sync(d, false);
					pthread_mutex_lock(&d->qlock);
				}
			} else {
				pthread_cond_wait(&d->qcond, &d->qlock);
			}
		}
		if (d->qhead == NULL && d->stopping)
			break;
		/* Keep the batch open a little for more writes. */
		if (d->cfg.batch_delay > 0) {
			struct timespec ts;
			abstime(d->cfg.batch_delay, &ts);
			while (!d->stopping && d->qflush == 0 &&
			       atomic_load(&d->qbytes) < d->cfg.batch_bytes) {
				if (pthread_cond_timedwait(&d->qcond, &d->qlock, &ts) == ETIMEDOUT)
					break;
			}
		}
		struct batch b;
		take(d, &b);
		pthread_mutex_unlock(&d->qlock);
		run_batch(d, &b);
		maybe_sync(d, false);
		pthread_mutex_lock(&d->qlock);
	}
	pthread_mutex_unlock(&d->qlock);
	maybe_sync(d, true);
	return NULL;
}
