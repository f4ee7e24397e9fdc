/*
 * storage/disk.c — the disk tier: opening the LMDB environment, lookups
 * (copies out of short read transactions), listing, and the producer side
 * of the writer's queue (puts, touches, purges, flushes). The writer thread
 * is in disk_writer.c, the stored formats in disk_record.c; docs/storage.md
 * ("Disk tier") tells the design.
 *
 * Locks: qlock guards the queue and the pending-purge list (disk_priv.h).
 * A lookup takes no lock unless purges are pending (then qlock, briefly).
 * Read transactions: one per lookup or listing, on the calling thread,
 * aborted before returning; nothing read from the map outlives it (every
 * byte a caller gets is copied).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "storage/disk_priv.h"

#define MAX_READERS   512
#define TOUCH_MAX_Q   65536 /* touches are dropped beyond this many queued items */
#define HDR_STACK_MAX 16384

/* --- logging ------------------------------------------------------------- */

static void vlog(struct ec_disk *d, enum ec_disk_log_level lvl, const char *fmt, va_list ap)
{
	char msg[1024];
	if (d->cfg.log == NULL)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	d->cfg.log(d->cfg.log_arg, lvl, msg);
}

void ec_disk__log(struct ec_disk *d, enum ec_disk_log_level lvl, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(d, lvl, fmt, ap);
	va_end(ap);
}

double ec_disk__now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void ec_disk__log_limited(struct ec_disk *d, unsigned slot, enum ec_disk_log_level lvl,
                          const char *fmt, ...)
{
	/* Racy across threads by design: at worst two lines instead of one. */
	double now = ec_disk__now();
	EC_ASSERT(slot < EC_ARRAY_LEN(d->last_log));
	double last = atomic_load_explicit(&d->last_log[slot], memory_order_relaxed);
	if (last != 0 && now - last < 10)
		return;
	atomic_store_explicit(&d->last_log[slot], now, memory_order_relaxed);
	va_list ap;
	va_start(ap, fmt);
	vlog(d, lvl, fmt, ap);
	va_end(ap);
}

void ec_disk__mdb_error(struct ec_disk *d, const char *what, int rc)
{
	if (rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND || rc == MDB_PANIC ||
	    rc == MDB_INVALID || rc == MDB_BAD_TXN) {
		int old = atomic_exchange(&d->state, EC_DISK_OFF);
		if (old != EC_DISK_OFF)
			ec_disk__log(d, EC_DISK_LOG_ERR,
			             "disk: %s: %s: %s; the disk tier is OFF, running memory-only "
			             "(move the directory away and restart to start afresh)",
			             d->dir, what, mdb_strerror(rc));
		return;
	}
	ec_disk__log_limited(d, 0, EC_DISK_LOG_ERR, "disk: %s: %s: %s", d->dir, what,
	                     mdb_strerror(rc));
}

const char *ec_disk_sync_str(enum ec_disk_sync s)
{
	switch (s) {
	case EC_DISK_SYNC_COMMIT:
		return "commit";
	case EC_DISK_SYNC_PERIODIC:
		return "periodic";
	default:
		return "invalid";
	}
}

/* --- open and close -------------------------------------------------------- */

void ec_disk_config_default(struct ec_disk_config *cfg, const char *dir, uint64_t map_size)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->dir = dir;
	cfg->map_size = map_size;
	cfg->sync = EC_DISK_SYNC_COMMIT;
	cfg->sync_interval = 1.0;
	cfg->high_pct = 85;
	cfg->low_pct = 70;
	cfg->batch_delay = 0.002;
	cfg->batch_bytes = 4u << 20;
	cfg->queue_bytes = 64u << 20;
	cfg->touch_grain = 60;
	cfg->max_obj_size = map_size / 8;
}

static int fail(char *err, size_t errlen, const char *dir, const char *fmt, ...) EC_PRINTF(4, 5);

static int fail(char *err, size_t errlen, const char *dir, const char *fmt, ...)
{
	char what[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s: %s", dir, what);
	return -1;
}

static int check_config(const struct ec_disk_config *c, char *err, size_t errlen)
{
	const char *dir = c->dir ? c->dir : "";
	if (c->dir == NULL || c->dir[0] == '\0')
		return fail(err, errlen, dir, "no directory");
	if (strlen(c->dir) >= 4000)
		return fail(err, errlen, dir, "path too long");
	if (c->map_size < (1u << 20))
		return fail(err, errlen, dir, "size below 1M");
	if (c->codec == NULL)
		return fail(err, errlen, dir, "no header codec");
	if (c->sync != EC_DISK_SYNC_COMMIT && c->sync != EC_DISK_SYNC_PERIODIC)
		return fail(err, errlen, dir, "bad sync policy");
	if (c->high_pct == 0 || c->high_pct > 100 || c->low_pct >= c->high_pct)
		return fail(err, errlen, dir, "watermarks must satisfy 0 <= low < high <= 100");
	if (!(c->sync_interval > 0) || c->batch_delay < 0 || c->batch_bytes == 0)
		return fail(err, errlen, dir, "bad sync interval or batch limits");
	return 0;
}

/* Reads or writes the format record; 0, or -1 with err. */
static int check_format(struct ec_disk *d, MDB_txn *txn, char *err, size_t errlen)
{
	MDB_val k = {sizeof("format") - 1, (void *)"format"}, v;
	unsigned char want[20];
	memcpy(want, EC_DISK_INFO_MAGIC, 14);
	want[14] = 0;
	want[15] = 0;
	want[16] = (unsigned char)EC_DISK_FORMAT;
	want[17] = want[18] = want[19] = 0;
	int rc = mdb_get(txn, d->dbi_info, &k, &v);
	if (rc == MDB_NOTFOUND && d->cfg.read_only)
		return fail(err, errlen, d->dir, "not an edgecache disk tier (no format record)");
	if (rc == MDB_NOTFOUND) {
		MDB_stat st;
		if (mdb_stat(txn, d->dbi_obj, &st) == 0 && st.ms_entries != 0)
			return fail(err, errlen, d->dir, "objects without a format record");
		v.mv_size = sizeof(want);
		v.mv_data = want;
		rc = mdb_put(txn, d->dbi_info, &k, &v, 0);
		if (rc != 0)
			return fail(err, errlen, d->dir, "writing the format record: %s",
			            mdb_strerror(rc));
		return 0;
	}
	if (rc != 0)
		return fail(err, errlen, d->dir, "reading the format record: %s", mdb_strerror(rc));
	const unsigned char *p = v.mv_data;
	if (v.mv_size != sizeof(want) || memcmp(p, want, 16) != 0)
		return fail(err, errlen, d->dir, "not an edgecache disk tier (bad format record)");
	unsigned ver = (unsigned)p[16] | (unsigned)p[17] << 8 | (unsigned)p[18] << 16 |
	               (unsigned)p[19] << 24;
	if (ver != EC_DISK_FORMAT)
		return fail(err, errlen, d->dir,
		            "stored format version %u, this build reads version %u (move the "
		            "directory away to start afresh)",
		            ver, (unsigned)EC_DISK_FORMAT);
	return 0;
}

static int open_env(struct ec_disk *d, char *err, size_t errlen)
{
	int rc = mdb_env_create(&d->env);
	if (rc != 0)
		return fail(err, errlen, d->dir, "mdb_env_create: %s", mdb_strerror(rc));
	mdb_env_set_maxdbs(d->env, 8);
	mdb_env_set_maxreaders(d->env, MAX_READERS);
	/* read-only: no size set, LMDB takes the one the daemon stored */
	rc = d->cfg.read_only ? 0 : mdb_env_set_mapsize(d->env, (size_t)d->cfg.map_size);
	if (rc != 0)
		return fail(err, errlen, d->dir, "map size: %s", mdb_strerror(rc));
	unsigned flags = MDB_NORDAHEAD;
	if (d->cfg.sync == EC_DISK_SYNC_PERIODIC)
		flags |= MDB_NOSYNC;
	/* Read-only (cachectl --db): no lock file writes either; the shared flock
	 * taken by the caller proves no daemon has the directory. */
	if (d->cfg.read_only)
		flags |= MDB_RDONLY | MDB_NOLOCK;
	rc = mdb_env_open(d->env, d->dir, flags, 0640);
	if (rc != 0)
		return fail(err, errlen, d->dir, "cannot open the LMDB environment: %s",
		            mdb_strerror(rc));
	int dead = 0;
	if (!d->cfg.read_only)
		mdb_reader_check(d->env, &dead);
	MDB_envinfo info;
	MDB_stat est;
	mdb_env_info(d->env, &info);
	mdb_env_stat(d->env, &est);
	if (d->cfg.read_only)
		d->cfg.map_size = info.me_mapsize; /* the size the daemon gave it */
	d->psize = est.ms_psize;
	/* A leaf node holds at most ((psize - 16) / 2 & ~1) - 2 bytes; beyond it a
	 * value takes overflow pages of its own. Node header 8, object key 24. */
	d->inline_max = (((d->psize - 16) / 2) & ~(size_t)1) - 2 - 8 - EC_DISK_OKEY;
	if (mdb_env_get_maxkeysize(d->env) < EC_DISK_KEYIDX_MAX + 16)
		return fail(err, errlen, d->dir, "LMDB built with keys shorter than %d bytes",
		            EC_DISK_KEYIDX_MAX + 16);

	MDB_txn *txn;
	rc = mdb_txn_begin(d->env, NULL, d->cfg.read_only ? MDB_RDONLY : 0, &txn);
	if (rc != 0)
		return fail(err, errlen, d->dir, "mdb_txn_begin: %s", mdb_strerror(rc));
	struct {
		const char *name;
		unsigned flags;
		MDB_dbi *dbi;
	} dbs[] = {
	        {"info", 0, &d->dbi_info},          {"objects", 0, &d->dbi_obj},
	        {"chunks", 0, &d->dbi_chunk},       {"keys", MDB_DUPSORT, &d->dbi_key},
	        {"tags", MDB_DUPSORT, &d->dbi_tag}, {"atime", 0, &d->dbi_atime},
	};
	for (size_t i = 0; i < EC_ARRAY_LEN(dbs); i++) {
		rc = mdb_dbi_open(txn, dbs[i].name,
		                  dbs[i].flags | (d->cfg.read_only ? 0 : MDB_CREATE), dbs[i].dbi);
		if (rc != 0) {
			mdb_txn_abort(txn);
			return fail(err, errlen, d->dir, "sub-database %s: %s", dbs[i].name,
			            mdb_strerror(rc));
		}
	}
	if (check_format(d, txn, err, errlen) != 0) {
		mdb_txn_abort(txn);
		return -1;
	}
	/* The next object id follows the last chunk key: ids only grow, so chunk
	 * records are appended (MDB_APPEND) and their pages fill completely. */
	MDB_cursor *cur;
	MDB_val k, v;
	d->next_id = 1;
	if (mdb_cursor_open(txn, d->dbi_chunk, &cur) == 0) {
		if (mdb_cursor_get(cur, &k, &v, MDB_LAST) == 0 && k.mv_size == EC_DISK_CKEY)
			d->next_id = ec_disk__be64(k.mv_data) + 1;
		mdb_cursor_close(cur);
	}
	MDB_stat ost;
	mdb_stat(txn, d->dbi_obj, &ost);
	d->objects = ost.ms_entries;
	d->used_bytes = ec_disk__live_bytes(d, txn);
	rc = mdb_txn_commit(txn); /* read-only too: an abort would close the dbi handles */
	if (rc != 0)
		return fail(err, errlen, d->dir, "mdb_txn_commit: %s", mdb_strerror(rc));
	if (dead)
		ec_disk__log(d, EC_DISK_LOG_INFO, "disk: %s: cleared %d stale reader slots", d->dir,
		             dead);
	return 0;
}

static void free_pending(struct ec_disk *d)
{
	while (d->pending) {
		struct ec_disk_pending *p = d->pending;
		d->pending = p->next;
		free(p);
	}
}

static void destroy(struct ec_disk *d)
{
	if (d->env)
		mdb_env_close(d->env);
	if (d->lock_fd >= 0)
		close(d->lock_fd);
	free_pending(d);
	pthread_mutex_destroy(&d->qlock);
	pthread_cond_destroy(&d->qcond);
	pthread_cond_destroy(&d->qdone);
	free(d);
}

struct ec_disk *ec_disk_open(const struct ec_disk_config *cfg, char *err, size_t errlen)
{
	if (check_config(cfg, err, errlen) != 0)
		return NULL;
	struct ec_disk *d = calloc(1, sizeof(*d));
	if (d == NULL) {
		fail(err, errlen, cfg->dir, "out of memory");
		return NULL;
	}
	d->magic = EC_DISK_MAGIC;
	d->cfg = *cfg;
	snprintf(d->dir, sizeof(d->dir), "%s", cfg->dir);
	d->cfg.dir = d->dir;
	if (d->cfg.max_obj_size == 0 || d->cfg.max_obj_size > d->cfg.map_size / 4)
		d->cfg.max_obj_size = d->cfg.map_size / 4;
	/* A batch bigger than a small map's headroom would overflow it before the
	 * watermark eviction could run: keep batches to a quarter of the map. */
	if (d->cfg.batch_bytes > d->cfg.map_size / 4)
		d->cfg.batch_bytes = d->cfg.map_size / 4;
	d->lock_fd = -1;
	pthread_mutex_init(&d->qlock, NULL);
	pthread_cond_init(&d->qcond, NULL);
	pthread_cond_init(&d->qdone, NULL);

	struct stat st;
	if (!d->cfg.read_only && mkdir(d->dir, 0750) != 0 && errno != EEXIST) {
		fail(err, errlen, d->dir, "cannot create the directory: %s", strerror(errno));
		goto bad;
	}
	if (stat(d->dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fail(err, errlen, d->dir, "not a directory");
		goto bad;
	}
	char path[4200];
	snprintf(path, sizeof(path), "%s/edgecache.lock", d->dir);
	d->lock_fd = d->cfg.read_only ? open(path, O_RDONLY | O_CLOEXEC)
	                               : open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (d->lock_fd < 0) {
		fail(err, errlen, d->dir, "cannot open %s: %s", path, strerror(errno));
		goto bad;
	}
	if (flock(d->lock_fd, (d->cfg.read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0) {
		fail(err, errlen, d->dir, "in use by another process (%s is locked)", path);
		goto bad;
	}
	if (open_env(d, err, errlen) != 0)
		goto bad;
	d->last_sync = ec_disk__now();
	if (d->cfg.read_only) {
		atomic_store(&d->state, EC_DISK_READONLY); /* puts are dropped */
		return d;
	}
	if (pthread_create(&d->thread, NULL, ec_disk__writer_main, d) != 0) {
		fail(err, errlen, d->dir, "cannot start the writer thread");
		goto bad;
	}
	ec_disk__log(d, EC_DISK_LOG_INFO,
	             "disk: %s: %llu objects, %.1f MiB used of %.1f MiB, format %d, sync %s",
	             d->dir, (unsigned long long)d->objects, (double)d->used_bytes / 1048576.0,
	             (double)d->cfg.map_size / 1048576.0, EC_DISK_FORMAT,
	             ec_disk_sync_str(d->cfg.sync));
	return d;
bad:
	destroy(d);
	return NULL;
}

void ec_disk_close(struct ec_disk **dp)
{
	struct ec_disk *d = *dp;
	*dp = NULL;
	if (d == NULL)
		return;
	EC_CHECK_MAGIC(d, EC_DISK_MAGIC);
	if (d->cfg.read_only) {
		while (d->qhead != NULL) { /* what lookups queued (deletions): dropped */
			struct ec_disk_item *it = d->qhead;
			d->qhead = it->next;
			free(it);
		}
		destroy(d);
		return;
	}
	pthread_mutex_lock(&d->qlock);
	d->stopping = true;
	pthread_cond_signal(&d->qcond);
	pthread_mutex_unlock(&d->qlock);
	pthread_join(d->thread, NULL);
	if (atomic_load(&d->state) != EC_DISK_OFF)
		mdb_env_sync(d->env, 1);
	ec_disk__log(d, EC_DISK_LOG_INFO, "disk: %s: closed: %llu objects, %.1f MiB used", d->dir,
	             (unsigned long long)d->objects, (double)d->used_bytes / 1048576.0);
	destroy(d);
}

/* --- queue (producers) ----------------------------------------------------- */

void ec_disk__enqueue(struct ec_disk *d, struct ec_disk_item *it)
{
	/* qlock held by the caller */
	it->next = NULL;
	it->seq = ++d->enq_seq;
	if (d->qtail)
		d->qtail->next = it;
	else
		d->qhead = it;
	d->qtail = it;
	atomic_fetch_add_explicit(&d->qbytes, it->qbytes, memory_order_relaxed);
	atomic_fetch_add_explicit(&d->qitems, 1, memory_order_relaxed);
	pthread_cond_signal(&d->qcond);
}

static struct ec_disk_item *item_new(enum ec_disk_op op, size_t data_len)
{
	struct ec_disk_item *it = calloc(1, sizeof(*it) + data_len + 1);
	if (it == NULL)
		return NULL;
	it->op = op;
	it->data_len = data_len;
	return it;
}

static bool writable(struct ec_disk *d)
{
	return atomic_load_explicit(&d->state, memory_order_relaxed) == EC_DISK_OK;
}

enum ec_disk_put_rc ec_disk_put(struct ec_disk *d, struct ec_obj *obj, const struct ec_str *tags,
                                size_t ntags, int64_t now)
{
	EC_CHECK_MAGIC(d, EC_DISK_MAGIC);
	EC_ASSERT(ec_obj_is_complete(obj));
	if (!writable(d)) {
		EC_DISK_ADD(d, puts_dropped, 1);
		return EC_DISK_PUT_DISABLED;
	}
	uint64_t body = ec_obj_body_len(obj);
	if (body > d->cfg.max_obj_size) {
		EC_DISK_ADD(d, puts_dropped, 1);
		return EC_DISK_PUT_TOO_BIG;
	}
	size_t tlen = 0, nt = 0;
	for (size_t i = 0; i < ntags; i++) {
		if (tags[i].len == 0)
			continue;
		tlen += 2 + EC_MIN(tags[i].len, EC_DISK_KEYIDX_MAX);
		nt++;
	}
	struct ec_disk_item *it = item_new(EC_DOP_PUT, tlen);
	if (it == NULL) {
		EC_DISK_ADD(d, puts_dropped, 1);
		return EC_DISK_PUT_NOMEM;
	}
	unsigned char *p = (unsigned char *)it->data;
	for (size_t i = 0; i < ntags; i++) {
		size_t n = EC_MIN(tags[i].len, EC_DISK_KEYIDX_MAX);
		if (n == 0)
			continue;
		p[0] = (unsigned char)n;
		p[1] = (unsigned char)(n >> 8);
		memcpy(p + 2, tags[i].p, n);
		p += 2 + n;
	}
	it->ntags = nt;
	it->now = now;
	it->qbytes = (size_t)body + ec_obj_headers(obj).len + ec_obj_key(obj).len + tlen;
	pthread_mutex_lock(&d->qlock);
	if (atomic_load_explicit(&d->qbytes, memory_order_relaxed) + it->qbytes >
	            d->cfg.queue_bytes ||
	    d->stopping) {
		pthread_mutex_unlock(&d->qlock);
		free(it);
		EC_DISK_ADD(d, puts_dropped, 1);
		ec_disk__log_limited(d, 1, EC_DISK_LOG_WARN,
		                     "disk: %s: the writer is behind (queue full): objects are "
		                     "not being stored on disk",
		                     d->dir);
		return EC_DISK_PUT_BUSY;
	}
	ec_obj_ref(obj);
	it->obj = obj;
	ec_disk__enqueue(d, it);
	pthread_mutex_unlock(&d->qlock);
	EC_DISK_ADD(d, puts_queued, 1);
	return EC_DISK_PUT_QUEUED;
}

static void obj_okey(const struct ec_obj *obj, unsigned char okey[EC_DISK_OKEY])
{
	ec_disk__okey(ec_obj_hash(obj), ec_disk__vid(ec_obj_vkey(obj)), okey);
}

void ec_disk_touch(struct ec_disk *d, const struct ec_obj *obj, int64_t now)
{
	EC_CHECK_MAGIC(d, EC_DISK_MAGIC);
	if (!writable(d) || atomic_load_explicit(&d->qitems, memory_order_relaxed) > TOUCH_MAX_Q)
		return;
	struct ec_disk_item *it = item_new(EC_DOP_TOUCH, 0);
	if (it == NULL)
		return;
	obj_okey(obj, it->okey);
	it->now = now;
	pthread_mutex_lock(&d->qlock);
	if (d->stopping) {
		pthread_mutex_unlock(&d->qlock);
		free(it);
		return;
	}
	ec_disk__enqueue(d, it);
	pthread_mutex_unlock(&d->qlock);
}

/*
 * Queues a purge-like operation and records it as pending (so lookups miss
 * what it names until it is committed). A purge that cannot be queued (out
 * of memory) still bumps the epoch, so no lookup in flight re-admits.
 */
static void queue_purge(struct ec_disk *d, enum ec_disk_op op, unsigned flags,
                        struct ec_hash128 hash, const unsigned char *okey, struct ec_str s)
{
	EC_CHECK_MAGIC(d, EC_DISK_MAGIC);
	atomic_fetch_add(&d->purge_epoch, 1);
	if (atomic_load(&d->state) == EC_DISK_OFF)
		return;
	size_t n = EC_MIN(s.len, EC_DISK_KEYIDX_MAX * 100);
	struct ec_disk_item *it = item_new(op, n);
	struct ec_disk_pending *pd = calloc(1, sizeof(*pd) + n + 1);
	if (it == NULL || pd == NULL) {
		free(it);
		free(pd);
		ec_disk__log_limited(d, 5, EC_DISK_LOG_ERR,
		                     "disk: %s: out of memory queueing a "
		                     "purge",
		                     d->dir);
		return;
	}
	it->flags = flags;
	it->hash = hash;
	if (okey)
		memcpy(it->okey, okey, EC_DISK_OKEY);
	if (n)
		memcpy(it->data, s.p, n);
	it->str = ec_str_make(it->data, n);
	pd->op = op;
	pd->hash = hash;
	pd->len = n;
	if (n)
		memcpy(pd->str, s.p, n);
	pthread_mutex_lock(&d->qlock);
	ec_disk__enqueue(d, it);
	pd->seq = it->seq;
	pd->next = d->pending;
	d->pending = pd;
	atomic_fetch_add(&d->npending, 1);
	pthread_mutex_unlock(&d->qlock);
}

void ec_disk_purge(struct ec_disk *d, const struct ec_key *key, unsigned flags)
{
	queue_purge(d, EC_DOP_PURGE, flags, key->hash, NULL, EC_STR_NULL);
}

void ec_disk_remove(struct ec_disk *d, const struct ec_obj *obj)
{
	unsigned char okey[EC_DISK_OKEY];
	obj_okey(obj, okey);
	queue_purge(d, EC_DOP_REMOVE, 0, ec_obj_hash(obj), okey, EC_STR_NULL);
}

void ec_disk_purge_prefix(struct ec_disk *d, struct ec_str prefix, unsigned flags)
{
	struct ec_hash128 none = {0, 0};
	if (prefix.len == 0)
		return;
	queue_purge(d, EC_DOP_PREFIX, flags, none, NULL, prefix);
}

void ec_disk_purge_tag(struct ec_disk *d, struct ec_str tag, unsigned flags)
{
	struct ec_hash128 none = {0, 0};
	if (tag.len == 0)
		return;
	queue_purge(d, EC_DOP_TAG, flags, none, NULL,
	            ec_str_make(tag.p, EC_MIN(tag.len, EC_DISK_KEYIDX_MAX)));
}

uint64_t ec_disk_flush(struct ec_disk *d)
{
	EC_CHECK_MAGIC(d, EC_DISK_MAGIC);
	struct ec_disk_item *it = item_new(EC_DOP_FLUSH, 0);
	pthread_mutex_lock(&d->qlock);
	uint64_t want = d->enq_seq;
	if (it != NULL) {
		d->qflush++;
		ec_disk__enqueue(d, it);
		want = it->seq;
	}
	while (d->done_seq < want)
		pthread_cond_wait(&d->qdone, &d->qlock);
	uint64_t n = d->flush_purged;
	d->flush_purged = 0;
	pthread_mutex_unlock(&d->qlock);
	return n;
}

/* --- lookup ---------------------------------------------------------------- */

/* ec_str_has_prefix, also for an empty prefix with a NULL pointer (memcmp's
 * arguments must not be NULL even for 0 bytes). */
static bool has_prefix(struct ec_str s, struct ec_str prefix)
{
	return prefix.len == 0 || ec_str_has_prefix(s, prefix);
}

static bool pending_hides(struct ec_disk *d, const struct ec_disk_rec *r, struct ec_hash128 h)
{
	bool hide = false;
	pthread_mutex_lock(&d->qlock);
	for (struct ec_disk_pending *p = d->pending; p && !hide; p = p->next) {
		switch (p->op) {
		case EC_DOP_PURGE:
		case EC_DOP_REMOVE:
			hide = p->hash.hi == h.hi && p->hash.lo == h.lo;
			break;
		case EC_DOP_PREFIX:
			hide = has_prefix(r->key, ec_str_make(p->str, p->len));
			break;
		case EC_DOP_TAG: {
			size_t pos = 0;
			struct ec_str t;
			while (!hide && ec_disk__rec_tag_next(r, &pos, &t))
				hide = ec_str_eq(t, ec_str_make(p->str, p->len));
			break;
		}
		default:
			break;
		}
	}
	pthread_mutex_unlock(&d->qlock);
	return hide;
}

/* Builds an object from a decoded record, without its body. NULL: see *why. */
static struct ec_obj *obj_from_rec(struct ec_disk *d, const struct ec_disk_rec *r,
                                   const struct ec_key *key, const char **why)
{
	size_t raw_len;
	uint32_t did;
	enum ec_hdrcodec_rc hrc = ec_hdrcodec_peek(r->hdr.p, r->hdr.len, &raw_len, &did);
	if (hrc != EC_HDRC_OK) {
		*why = ec_hdrcodec_rc_str(hrc);
		return NULL;
	}
	struct ec_obj_init init = {
	        .key = key,
	        .vkey = r->vkey.len ? r->vkey.p : NULL,
	        .vkey_len = r->vkey.len,
	        .meta_len = r->meta.len,
	        .body_hint = r->body_len,
	};
	struct ec_obj *o = ec_obj_new(&init);
	if (o == NULL) {
		*why = "out of memory";
		return NULL;
	}
	char stackbuf[HDR_STACK_MAX];
	char *buf = raw_len <= sizeof(stackbuf) ? stackbuf : malloc(raw_len);
	size_t n = 0;
	hrc = buf ? ec_hdrcodec_decode(d->cfg.codec, r->hdr.p, r->hdr.len, buf, raw_len, &n)
	          : EC_HDRC_NOMEM;
	if (hrc != EC_HDRC_OK || ec_obj_set_headers(o, buf, n) != 0) {
		*why = hrc != EC_HDRC_OK ? ec_hdrcodec_rc_str(hrc) : "out of memory";
		if (buf != stackbuf)
			free(buf);
		ec_obj_unref(&o);
		return NULL;
	}
	if (buf != stackbuf)
		free(buf);
	*ec_obj_attr_mut(o) = r->attr;
	if (r->meta.len)
		memcpy(ec_obj_meta(o), r->meta.p, r->meta.len);
	return o;
}

/* Copies the body; 0, or -1 with *why (the object is then unusable). */
static int copy_body(struct ec_disk *d, MDB_txn *txn, const struct ec_disk_rec *r, struct ec_obj *o,
                     const char **why, int *mdb_rc)
{
	if (r->flags & EC_DISK_RECF_INLINE) {
		if (r->body_len && ec_obj_append(o, r->body.p, r->body.len) != 0) {
			*why = "out of memory";
			return -1;
		}
		return 0;
	}
	MDB_cursor *cur;
	MDB_val k, v;
	unsigned char ck[EC_DISK_CKEY];
	int rc = mdb_cursor_open(txn, d->dbi_chunk, &cur);
	if (rc != 0) {
		*mdb_rc = rc;
		*why = "cursor";
		return -1;
	}
	ec_disk__ckey(r->id, 0, ck);
	k.mv_size = EC_DISK_CKEY;
	k.mv_data = ck;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
	uint64_t left = r->body_len;
	for (uint32_t i = 0; i < r->nchunks; i++) {
		const void *data;
		size_t dl;
		ec_disk__ckey(r->id, i, ck);
		if (rc != 0 || k.mv_size != EC_DISK_CKEY ||
		    memcmp(k.mv_data, ck, EC_DISK_CKEY) != 0) {
			if (rc != 0 && rc != MDB_NOTFOUND)
				*mdb_rc = rc;
			*why = "missing chunk";
			break;
		}
		if (ec_disk__chunk_decode(v.mv_data, v.mv_size, &data, &dl) != 0 ||
		    dl != EC_MIN(left, EC_DISK_CHUNK_DATA)) {
			*why = "chunk checksum or length mismatch";
			break;
		}
		if (ec_obj_append(o, data, dl) != 0) {
			*why = "out of memory";
			break;
		}
		left -= dl;
		if (i + 1 < r->nchunks)
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	return left == 0 && ec_obj_body_len(o) == r->body_len ? 0 : -1;
}

/* Queues the deletion of a record that cannot be used (corrupt, old layout). */
static void drop_record(struct ec_disk *d, const unsigned char *okey)
{
	if (!writable(d))
		return;
	struct ec_disk_item *it = item_new(EC_DOP_REMOVE, 0);
	if (it == NULL)
		return;
	memcpy(it->okey, okey, EC_DISK_OKEY);
	it->hash = ec_disk__okey_hash(okey);
	pthread_mutex_lock(&d->qlock);
	if (d->stopping) {
		pthread_mutex_unlock(&d->qlock);
		free(it);
		return;
	}
	ec_disk__enqueue(d, it);
	pthread_mutex_unlock(&d->qlock);
}

void ec_disk_peek_variants(struct ec_disk *d, const struct ec_key *k, ec_store_match_f *match,
                           void *arg)
{
	struct ec_lookup lk = {
	        .key = k, .match = match, .match_arg = arg, .now = -1, .flags = EC_LOOKUP_PEEK};
	struct ec_obj *o = NULL;
	ec_disk_lookup(d, &lk, &o);
	if (o != NULL)
		ec_obj_unref(&o);
}

enum ec_lookup_rc ec_disk_lookup(struct ec_disk *d, const struct ec_lookup *req,
                                 struct ec_obj **objp)
{
	EC_CHECK_MAGIC(d, EC_DISK_MAGIC);
	*objp = NULL;
	if (atomic_load_explicit(&d->state, memory_order_relaxed) == EC_DISK_OFF)
		return EC_LOOKUP_MISS;
	EC_DISK_ADD(d, lookups, 1);
	uint64_t epoch = atomic_load(&d->purge_epoch);
	MDB_txn *txn;
	int rc = mdb_txn_begin(d->env, NULL, MDB_RDONLY, &txn);
	if (rc != 0) {
		ec_disk__mdb_error(d, "read transaction", rc);
		EC_DISK_ADD(d, misses, 1);
		return EC_LOOKUP_MISS;
	}
	MDB_cursor *cur;
	rc = mdb_cursor_open(txn, d->dbi_obj, &cur);
	if (rc != 0) {
		mdb_txn_abort(txn);
		ec_disk__mdb_error(d, "cursor", rc);
		EC_DISK_ADD(d, misses, 1);
		return EC_LOOKUP_MISS;
	}
	unsigned char okey[EC_DISK_OKEY];
	ec_disk__okey(req->key->hash, 0, okey);
	MDB_val k = {EC_DISK_OKEY, okey}, v;
	struct ec_str want = ec_str_make(req->key->p, req->key->len);
	bool variants = false, hide = false;
	struct ec_obj *found = NULL;
	struct ec_disk_rec rec;
	uint32_t atime = 0;
	int mdb_rc = 0;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && found == NULL;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != EC_DISK_OKEY || memcmp(k.mv_data, okey, 16) != 0)
			break;
		const char *why = NULL;
		if (ec_disk__rec_decode(v.mv_data, v.mv_size, &rec, &why) != 0 ||
		    (rec.meta_version != d->cfg.meta_version && (why = "other meta version"))) {
			if (strcmp(why, "other meta version") != 0) {
				EC_DISK_ADD(d, corrupt, 1);
				ec_disk__log_limited(d, 3, EC_DISK_LOG_ERR,
				                     "disk: %s: bad record for " EC_STR_FMT
				                     ": %s (deleted)",
				                     d->dir, EC_STR_ARG(want), why);
			}
			drop_record(d, k.mv_data);
			continue;
		}
		if (!ec_str_eq(rec.key, want))
			continue; /* another key with the same hash */
		/* A record a queued purge covers is gone already: no match callback sees it. */
		if (atomic_load_explicit(&d->npending, memory_order_acquire) != 0 &&
		    pending_hides(d, &rec, req->key->hash)) {
			hide = true;
			continue;
		}
		struct ec_obj *o = obj_from_rec(d, &rec, req->key, &why);
		if (o == NULL) {
			EC_DISK_ADD(d, corrupt, 1);
			ec_disk__log_limited(d, 3, EC_DISK_LOG_ERR,
			                     "disk: %s: cannot read the headers of " EC_STR_FMT
			                     ": %s (deleted)",
			                     d->dir, EC_STR_ARG(want), why);
			drop_record(d, k.mv_data);
			continue;
		}
		if (req->match != NULL && !req->match(o, req->match_arg)) {
			variants = true; /* a usable variant, not this request's */
			ec_obj_unref(&o);
			continue;
		}
		if (copy_body(d, txn, &rec, o, &why, &mdb_rc) != 0) {
			ec_obj_unref(&o);
			if (mdb_rc != 0)
				break;
			EC_DISK_ADD(d, corrupt, 1);
			ec_disk__log_limited(d, 3, EC_DISK_LOG_ERR,
			                     "disk: %s: bad body for " EC_STR_FMT ": %s (deleted)",
			                     d->dir, EC_STR_ARG(want), why);
			drop_record(d, k.mv_data);
			continue;
		}
		ec_obj_finish(o);
		if (rec.flags & EC_DISK_RECF_STALE)
			ec_obj_set_flags(o, EC_OBJF_STALE);
		atime = rec.atime;
		if (atomic_load_explicit(&d->npending, memory_order_acquire) != 0)
			hide = pending_hides(d, &rec, req->key->hash);
		found = o;
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		mdb_rc = rc;
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (mdb_rc != 0)
		ec_disk__mdb_error(d, "lookup", mdb_rc);
	/* A purge queued during the copy may cover this object: miss, so that a
	 * purged object never finds its way back into memory. */
	if (found != NULL && (hide || atomic_load(&d->purge_epoch) != epoch))
		ec_obj_unref(&found);
	if (found == NULL) {
		EC_DISK_ADD(d, misses, 1);
		return variants && !hide ? EC_LOOKUP_VARY_MISS : EC_LOOKUP_MISS;
	}
	EC_DISK_ADD(d, hits, 1);
	if (req->now >= 0 && (uint64_t)req->now >= (uint64_t)atime + d->cfg.touch_grain)
		ec_disk_touch(d, found, req->now);
	*objp = found;
	return EC_LOOKUP_HIT;
}

/* --- listing --------------------------------------------------------------- */

int ec_disk_list(struct ec_disk *d, struct ec_str prefix, size_t limit, ec_disk_iter_f *cb,
                 void *arg)
{
	EC_CHECK_MAGIC(d, EC_DISK_MAGIC);
	if (atomic_load(&d->state) == EC_DISK_OFF)
		return -1;
	MDB_txn *txn;
	MDB_cursor *kc = NULL, *oc = NULL;
	int rc = mdb_txn_begin(d->env, NULL, MDB_RDONLY, &txn);
	if (rc != 0) {
		ec_disk__mdb_error(d, "list", rc);
		return -1;
	}
	if (mdb_cursor_open(txn, d->dbi_key, &kc) != 0 ||
	    mdb_cursor_open(txn, d->dbi_obj, &oc) != 0) {
		if (kc)
			mdb_cursor_close(kc);
		mdb_txn_abort(txn);
		return -1;
	}
	struct ec_str ip = ec_str_make(prefix.p, EC_MIN(prefix.len, EC_DISK_KEYIDX_MAX));
	MDB_val k = {ip.len, (void *)ip.p}, v;
	size_t n = 0;
	int ret = 0;
	MDB_cursor_op op = ip.len ? MDB_SET_RANGE : MDB_FIRST;
	for (rc = mdb_cursor_get(kc, &k, &v, op); rc == 0;
	     rc = mdb_cursor_get(kc, &k, &v, MDB_NEXT)) {
		struct ec_str ks = ec_str_make(k.mv_data, k.mv_size);
		if (!has_prefix(ks, ip))
			break;
		if (v.mv_size != 16)
			continue;
		unsigned char okey[EC_DISK_OKEY] = {0};
		memcpy(okey, v.mv_data, 16);
		MDB_val ok = {EC_DISK_OKEY, okey}, ov;
		struct ec_disk_entry e = {0};
		struct ec_disk_rec r;
		const char *why;
		for (int orc = mdb_cursor_get(oc, &ok, &ov, MDB_SET_RANGE);
		     orc == 0 && ok.mv_size == EC_DISK_OKEY && memcmp(ok.mv_data, okey, 16) == 0;
		     orc = mdb_cursor_get(oc, &ok, &ov, MDB_NEXT)) {
			if (ec_disk__rec_decode(ov.mv_data, ov.mv_size, &r, &why) != 0)
				continue;
			if (!has_prefix(r.key, prefix) ||
			    (e.nvariants && !ec_str_eq(r.key, e.key)))
				continue;
			if (e.nvariants == 0 || r.attr.stored_at >= e.stored_at) {
				e.body_len = r.body_len;
				e.stored_at = r.attr.stored_at;
				e.expires = r.attr.expires;
			}
			e.key = r.key;
			e.atime = EC_MAX(e.atime, r.atime);
			e.stale = e.stale || (r.flags & EC_DISK_RECF_STALE);
			e.nvariants++;
		}
		if (e.nvariants == 0)
			continue;
		if ((ret = cb(&e, arg)) != 0 || (limit && ++n == limit))
			break;
	}
	mdb_cursor_close(kc);
	mdb_cursor_close(oc);
	mdb_txn_abort(txn);
	return ret;
}

/* --- stats ----------------------------------------------------------------- */

void ec_disk_stats(struct ec_disk *d, struct ec_disk_stats *out)
{
	EC_CHECK_MAGIC(d, EC_DISK_MAGIC);
#define X(name, doc) out->name = atomic_load_explicit(&d->name, memory_order_relaxed);
	EC_DISK_COUNTER_TABLE(X)
#undef X
	out->map_size = d->cfg.map_size;
	out->used_bytes = atomic_load(&d->used_bytes);
	out->objects = atomic_load(&d->objects);
	out->queue_bytes = atomic_load(&d->qbytes);
	out->queue_items = atomic_load(&d->qitems);
	out->state = (uint64_t)atomic_load(&d->state);
}
