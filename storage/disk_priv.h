/*
 * storage/disk_priv.h — the disk tier's internals, shared by disk.c (open,
 * lookup, listing, the queue's producer side), disk_writer.c (the writer
 * thread) and disk_record.c (the stored formats), and by the unit tests.
 *
 * Who protects what in struct ec_disk:
 *   - set at open, read-only afterwards: cfg, env, the dbi handles, psize,
 *     keymax;
 *   - qlock: the queue (head, tail, counts, seq numbers), `stopping`, the
 *     pending-purge list; qcond wakes the writer, qdone wakes flushers;
 *   - the writer thread only: next_id, the batch, last_sync, flush_purged;
 *   - atomics (relaxed; read anywhere): state, the counters, the gauges,
 *     npending and purge_epoch.
 */
#ifndef EC_DISK_PRIV_H
#define EC_DISK_PRIV_H

#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>

#include "storage/ec_disk.h"

#define EC_DISK_MAGIC 0xd15cd15cu

/*
 * Format of the environment (the "info" record) and of the records. A
 * change to any layout below bumps EC_DISK_FORMAT; a build refuses an
 * environment of another format (memory-only, logged) so that a migration
 * can be written for it instead of misreading it.
 */
#define EC_DISK_FORMAT     1
#define EC_DISK_REC_V1     1
#define EC_DISK_INFO_MAGIC "edgecache-disk"

/* Body bytes per chunk record: 8 overflow pages of 4 KiB minus LMDB's page
 * header (16) and our checksum (8). */
#define EC_DISK_CHUNK_DATA (8u * 4096u - 16u - 8u)

/* Object keys: [hash.hi BE 8][hash.lo BE 8][vid BE 8]; chunk keys: [id BE 8][index BE 4];
 * access-time keys: [atime BE 4][object key 24]. */
#define EC_DISK_OKEY       24
#define EC_DISK_CKEY       12
#define EC_DISK_AKEY       28
#define EC_DISK_KEYIDX_MAX 400 /* bytes of a key string or tag kept in the index keys */

#define EC_DISK_RECF_STALE  0x01u /* soft-purged */
#define EC_DISK_RECF_INLINE 0x02u /* body inside the record, no chunks */
#define EC_DISK_RECF_KNOWN  0x03u

#define EC_DISK_REC_FIXED 104u /* fixed part; then variable fields and an 8-byte checksum */

/* A decoded object record; the views point into the encoded bytes. */
struct ec_disk_rec {
	unsigned flags;
	uint16_t meta_version;
	uint32_t atime;
	uint64_t id;
	uint64_t body_len;
	uint32_t nchunks;
	struct ec_obj_attr attr;
	struct ec_str key;
	struct ec_str vkey;
	struct ec_str meta;
	struct ec_str hdr;  /* encoded by the header codec */
	struct ec_str tags; /* ntags entries: u16 LE length + bytes */
	uint32_t ntags;
	struct ec_str body; /* INLINE only */
};

/* Record bytes for r (views set) with tags[0..ntags). */
size_t ec_disk__rec_size(const struct ec_disk_rec *r, const struct ec_str *tags, size_t ntags);
/* Encodes into out (ec_disk__rec_size bytes); returns the length. */
size_t ec_disk__rec_encode(const struct ec_disk_rec *r, const struct ec_str *tags, size_t ntags,
                           void *out);
/*
 * Decodes and verifies (version, lengths, checksum, flags) a record. 0, or
 * -1 with *why naming the problem. Never reads outside p[0..len).
 */
int ec_disk__rec_decode(const void *p, size_t len, struct ec_disk_rec *r, const char **why);
/* Iterates the tags: *pos starts at 0; false at the end. */
bool ec_disk__rec_tag_next(const struct ec_disk_rec *r, size_t *pos, struct ec_str *tag);
/* Rewrites a valid encoded record's atime and flags in place, checksum updated. */
void ec_disk__rec_patch(void *p, size_t len, uint32_t atime, unsigned flags);

/* Chunk record: [u64 LE XXH3-64 of the data][data]. */
size_t ec_disk__chunk_encode(const void *data, size_t len, void *out);
int ec_disk__chunk_decode(const void *p, size_t len, const void **data, size_t *dlen);
/* Writes the checksum of p[8..8+len) into p[0..8) (a chunk built in place). */
void ec_disk__chunk_seal(void *p, size_t len);

void ec_disk__okey(struct ec_hash128 h, uint64_t vid, unsigned char out[EC_DISK_OKEY]);
void ec_disk__ckey(uint64_t id, uint32_t idx, unsigned char out[EC_DISK_CKEY]);
void ec_disk__akey(uint32_t atime, const unsigned char okey[EC_DISK_OKEY],
                   unsigned char out[EC_DISK_AKEY]);
struct ec_hash128 ec_disk__okey_hash(const unsigned char okey[EC_DISK_OKEY]);
uint64_t ec_disk__vid(struct ec_str vkey);
uint64_t ec_disk__be64(const unsigned char *p);

/* --- the queue ------------------------------------------------------------- */

enum ec_disk_op {
	EC_DOP_INVALID = 0,
	EC_DOP_PUT,
	EC_DOP_TOUCH,
	EC_DOP_PURGE,  /* every variant of a hash */
	EC_DOP_REMOVE, /* one object key */
	EC_DOP_PREFIX,
	EC_DOP_TAG,
	EC_DOP_FLUSH,
};

struct ec_disk_item {
	struct ec_disk_item *next;
	enum ec_disk_op op;
	unsigned flags; /* EC_PURGE_SOFT */
	uint64_t seq;
	int64_t now;
	size_t qbytes;      /* what it counts in queue_bytes */
	struct ec_obj *obj; /* PUT: a reference */
	struct ec_hash128 hash;
	unsigned char okey[EC_DISK_OKEY]; /* TOUCH, REMOVE */
	struct ec_str str;                /* PREFIX, TAG: points into data[] */
	size_t ntags;                     /* PUT: tags in data[], u16 LE length + bytes each */
	size_t data_len;
	char data[];
};

enum ec_disk_state {
	EC_DISK_OK = 0,
	EC_DISK_READONLY = 1,
	EC_DISK_OFF = 2,
};

/* A purge queued and not yet committed: lookups of what it names miss. */
struct ec_disk_pending {
	struct ec_disk_pending *next;
	uint64_t seq; /* removed once done_seq reaches it */
	enum ec_disk_op op;
	struct ec_hash128 hash;
	size_t len;
	char str[];
};

struct ec_disk {
	unsigned magic;
	struct ec_disk_config cfg;
	char dir[4096];
	MDB_env *env;
	MDB_dbi dbi_info, dbi_obj, dbi_chunk, dbi_key, dbi_tag, dbi_atime;
	int lock_fd;
	size_t psize;
	size_t inline_max; /* largest record kept in a leaf page (no overflow page) */

	pthread_t thread;
	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	pthread_cond_t qdone;
	struct ec_disk_item *qhead, *qtail;
	uint64_t enq_seq;  /* last seq handed out */
	uint64_t done_seq; /* every item up to it is applied or dropped */
	bool stopping;
	struct ec_disk_pending *pending;
	_Atomic unsigned npending;
	_Atomic uint64_t purge_epoch;
	uint64_t flush_purged; /* purged objects since the last flush (qlock) */

	/* writer only */
	uint64_t next_id;
	double last_sync;
	bool dirty;                 /* commits since the last sync */
	uint64_t ticks;             /* writes that only advance the transaction id (make_room) */
	unsigned qflush;            /* FLUSH items queued (qlock): the batch commits at once */
	_Atomic double last_log[6]; /* rate limiting, racy by design */

	_Atomic int state;
	_Atomic uint64_t qbytes, qitems;
#define X(name, doc) _Atomic uint64_t name;
	EC_DISK_COUNTER_TABLE(X)
#undef X
	_Atomic uint64_t used_bytes, objects;
};

#define EC_DISK_ADD(d, ctr, n) atomic_fetch_add_explicit(&(d)->ctr, (n), memory_order_relaxed)

/* disk.c */
void ec_disk__log(struct ec_disk *d, enum ec_disk_log_level lvl, const char *fmt, ...)
        EC_PRINTF(3, 4);
/* Logs at most once per 10 s per slot (0 LMDB errors, 1 queue full, 2 eviction,
 * 3 corruption, 4 map full, 5 dropped writes); the rest are counted only. */
void ec_disk__log_limited(struct ec_disk *d, unsigned slot, enum ec_disk_log_level lvl,
                          const char *fmt, ...) EC_PRINTF(4, 5);
/* An LMDB error in a read or write: turns the tier off when it means damage. */
void ec_disk__mdb_error(struct ec_disk *d, const char *what, int rc);
double ec_disk__now(void);
void ec_disk__enqueue(struct ec_disk *d, struct ec_disk_item *it);

/* disk_writer.c */
void *ec_disk__writer_main(void *arg);
/* Live pages in the snapshot of txn, in bytes. */
uint64_t ec_disk__live_bytes(struct ec_disk *d, MDB_txn *txn);

#endif /* EC_DISK_PRIV_H */
