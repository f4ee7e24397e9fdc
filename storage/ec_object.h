/*
 * storage/ec_object.h — a cached object: metadata, an opaque stored header
 * block, an opaque daemon "meta" area and a body made of refcounted chunks.
 *
 * Life of an object (see docs/storage.md for the full story):
 *
 *   writer (one thread)                      readers (any thread)
 *   ec_obj_new()            refs = 1
 *   ec_obj_attr_mut(), ec_obj_meta(), ec_obj_set_headers()
 *   ec_obj_append() ...     chunks appended, bytes published with release
 *   ec_obj_finish()         body complete
 *   ec_store_insert()       index + queue take their own references
 *   ec_obj_unref(&o)                          ec_store_lookup() -> ref held
 *                                             walk chunks, ec_chunk_ref() each
 *                                             one handed to libevent
 *                                             ec_obj_unref(&o)
 *
 * Once an object is inserted (published) everything but the hot counters
 * (hits, last access, S3-FIFO frequency, flags) is immutable, so readers need
 * no lock to look at it. Body bytes are append-only: a byte, once published,
 * never changes and never moves, which is what makes sending a chunk to
 * libevent by reference (evbuffer_add_reference) safe.
 *
 * Memory-ordering rule for the body (it already holds for read-while-write,
 * which the coalescing work adds on top: a reader may walk the chunks of an
 * object whose writer is still appending):
 *   writer: write bytes into the chunk, then store chunk->len (release);
 *           a new chunk is fully initialised and put in the chunk array before
 *           nchunks is stored (release); body_len and the complete flag are
 *           stored (release) after the chunk lengths they cover.
 *   reader: load nchunks (acquire), then the array; chunks [0, n) are valid;
 *           load a chunk's len (acquire); bytes [0, len) are valid and final.
 * The chunk array grows by copying into a larger array; the old arrays stay
 * allocated until the object is freed, so a reader that loaded the old array
 * pointer keeps reading valid entries.
 *
 * Refcounts are atomic; every function here is thread-safe unless it says it
 * is for the writer only. Nothing here blocks or takes a lock.
 */
#ifndef EC_OBJECT_H
#define EC_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ec_util.h"

/*
 * Body chunk capacity limit. 32 KiB: below glibc's mmap threshold (chunks come
 * from malloc arenas, not one mmap each); two TLS records; a 1 MiB body is 32
 * evbuffer references, far below libevent's 128 iovecs per writev; LMDB (the
 * disk tier) stores it as 8 overflow pages. Smaller chunks are allocated when
 * the body is short: exactly the Content-Length when the writer gave a size
 * hint, otherwise growing geometrically from EC_CHUNK_FIRST.
 */
#define EC_CHUNK_MAX   (32u * 1024u)
#define EC_CHUNK_FIRST (2u * 1024u)

/* A cache key: the daemon-built key string and its XXH3-128 hash. */
struct ec_hash128 {
	uint64_t lo;
	uint64_t hi;
};

struct ec_key {
	struct ec_hash128 hash;
	const char *p; /* the key string, e.g. "http://example.com/path?q"; not NUL-terminated */
	size_t len;
};

/* XXH3-128 of `len` bytes at `p` (any bytes; len 0 allowed). Pure, thread-safe. */
struct ec_hash128 ec_store_hash(const void *p, size_t len);

/* Fills a key view over p[0..len) and its hash. The key string is not copied. */
struct ec_key ec_key_make(const char *p, size_t len);

struct ec_obj;
struct ec_chunk;

/* HTTP metadata. The store never interprets it; the daemon and policy/ do. */
struct ec_obj_attr {
	int status;            /* HTTP status of the stored response */
	int64_t request_time;  /* RFC 9111 §4.2.3: when the request was sent (unix s) */
	int64_t response_time; /* when the response was received */
	int64_t date;          /* the Date header value, or response_time when absent */
	int64_t expires;       /* absolute expiry: response_time + freshness lifetime - age */
	int64_t lifetime;      /* freshness lifetime in seconds */
	int64_t stored_at;     /* when the object was built */
};

/* Flags set at any time (atomically) on a published object. */
enum ec_obj_flag {
	EC_OBJF_STALE = 1u << 0, /* soft-purged: serve only as stale, revalidate */
};

/* Where the eviction policy holds an object (introspection, tests, inspect). */
enum ec_obj_queue {
	EC_OQ_INVALID = 0,
	EC_OQ_NONE,  /* not queued: building, removed, or evicted */
	EC_OQ_SMALL, /* S3-FIFO small (probationary) FIFO */
	EC_OQ_MAIN,  /* S3-FIFO main FIFO */
	EC_OQ_LRU,   /* the LRU list */
};

/* What ec_obj_new() needs. Everything is copied; nothing is kept. */
struct ec_obj_init {
	const struct ec_key *key; /* primary key (required; len <= 64 KiB) */
	const void *vkey;         /* secondary (Vary) key bytes, opaque; NULL when len 0 */
	size_t vkey_len;          /* <= 64 KiB */
	size_t meta_len;          /* size of the zeroed daemon meta area (<= 64 KiB) */
	uint64_t body_hint;       /* expected body length (Content-Length), 0 = unknown */
};

/*
 * Creates an object in the building state with one reference owned by the
 * caller. Returns NULL with errno = ENOMEM when out of memory, EINVAL when a
 * length limit above is exceeded (peer-controlled sizes are not asserted on).
 */
struct ec_obj *ec_obj_new(const struct ec_obj_init *init);

/* Takes a reference. The caller must already hold one (or the shard lock). */
void ec_obj_ref(struct ec_obj *o);

/*
 * Drops the reference *op and clears *op. The last reference frees the object
 * and drops its references to its chunks; chunks someone else still holds
 * (libevent) live on. Never blocks; callable from any thread.
 */
void ec_obj_unref(struct ec_obj **op);

/* --- writer side (the thread that created the object, before insert) ---- */

/* Metadata to fill before insert; asserts the object is not yet published. */
struct ec_obj_attr *ec_obj_attr_mut(struct ec_obj *o);

/*
 * The daemon's meta area (meta_len bytes, zeroed at creation): whatever the
 * daemon wants to keep with the object in memory (e.g. parsed validators,
 * Surrogate-Key tags, the decoded Vary field names). Writable by the creator
 * before insert; read-only afterwards by convention. The store never reads it.
 */
void *ec_obj_meta(const struct ec_obj *o);
size_t ec_obj_meta_len(const struct ec_obj *o);

/*
 * Stores a copy of the serialized header block (opaque to the store).
 * Replaces an earlier block. 0, or -1 with errno ENOMEM (the object is
 * unchanged) or EINVAL (longer than 16 MiB). Asserts not published.
 */
int ec_obj_set_headers(struct ec_obj *o, const void *p, size_t len);

/*
 * Appends a copy of p[0..len) to the body, filling the tail chunk before
 * starting the next. 0, or -1 with errno = ENOMEM (bytes appended before the
 * failure stay; the writer should abandon the object). Asserts that the body
 * is not finished.
 */
int ec_obj_append(struct ec_obj *o, const void *p, size_t len);

/*
 * Zero-copy append in two steps, for reading straight from the origin's
 * buffer into the body (evbuffer_remove(buf, p, avail)):
 * reserve returns in *p, *avail writable space (1 <= *avail <= EC_CHUNK_MAX)
 * in the tail chunk, allocating a chunk sized for `want` bytes when needed;
 * commit publishes the first n (<= avail) bytes written there.
 * reserve: 0, or -1 with errno ENOMEM.
 */
int ec_obj_reserve(struct ec_obj *o, size_t want, void **p, size_t *avail);
void ec_obj_commit(struct ec_obj *o, size_t n);

/*
 * Makes dst's body the same chunks as src's (references, no copy): how a
 * 304 revalidation builds the replacement object with new headers. src must
 * be complete and dst's body empty (asserted). dst is finished afterwards.
 * 0, or -1 with errno ENOMEM.
 */
int ec_obj_share_body(struct ec_obj *dst, const struct ec_obj *src);

/* Marks the body complete; no more appends. Required before insert. */
void ec_obj_finish(struct ec_obj *o);

/* --- readers (any thread holding a reference) ------------------------------ */

struct ec_str ec_obj_key(const struct ec_obj *o);
struct ec_hash128 ec_obj_hash(const struct ec_obj *o);
struct ec_str ec_obj_vkey(const struct ec_obj *o);    /* bytes; may hold NULs */
struct ec_str ec_obj_headers(const struct ec_obj *o); /* empty until set */
const struct ec_obj_attr *ec_obj_attr(const struct ec_obj *o);

bool ec_obj_is_complete(const struct ec_obj *o);
uint64_t ec_obj_body_len(const struct ec_obj *o); /* published so far; final if complete */
size_t ec_obj_nchunks(const struct ec_obj *o);
/* Chunk i (< ec_obj_nchunks()); valid while the caller holds the object. */
struct ec_chunk *ec_obj_chunk(const struct ec_obj *o, size_t i);
/*
 * For ranges: the chunk holding body byte `off` and the offset inside it.
 * false when off >= ec_obj_body_len().
 */
bool ec_obj_seek(const struct ec_obj *o, uint64_t off, size_t *idx, size_t *skip);

/*
 * Bytes this object counts against the store capacity: the object and objhead
 * structs, key (twice: object and objhead), secondary key, meta area, header
 * block, chunk array(s) and every chunk's header and full capacity; the
 * object, objhead and chunk allocations are whole cache lines.
 */
size_t ec_obj_charge(const struct ec_obj *o);

uint64_t ec_obj_hits(const struct ec_obj *o);
int64_t ec_obj_last_access(const struct ec_obj *o);
unsigned ec_obj_flags(const struct ec_obj *o);
void ec_obj_set_flags(struct ec_obj *o, unsigned flags); /* atomic OR */
enum ec_obj_queue ec_obj_queue(const struct ec_obj *o);  /* snapshot */
unsigned ec_obj_freq(const struct ec_obj *o);            /* S3-FIFO 0..3 */

/* Live objects and chunks in the process (leak checks in tests). */
size_t ec_obj_live(void);
size_t ec_chunk_live(void);

/* --- chunks ---------------------------------------------------------------- */

const void *ec_chunk_data(const struct ec_chunk *c);
size_t ec_chunk_len(const struct ec_chunk *c);      /* bytes published (acquire) */
uint64_t ec_chunk_offset(const struct ec_chunk *c); /* body offset of data[0] */
void ec_chunk_ref(struct ec_chunk *c);
/* Drops *cp and clears it; the last reference frees the chunk. Any thread. */
void ec_chunk_unref(struct ec_chunk **cp);

/*
 * Has the signature of libevent's evbuffer_ref_cleanup_cb, so that, on a hit:
 *   ec_chunk_ref(c);
 *   evbuffer_add_reference(out, ec_chunk_data(c), ec_chunk_len(c),
 *                          ec_chunk_release_cb, c);
 * drops that reference when libevent is done with the bytes, on whatever
 * thread that happens. `arg` is the chunk (magic-checked).
 */
void ec_chunk_release_cb(const void *data, size_t len, void *arg);

#endif /* EC_OBJECT_H */
