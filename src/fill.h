/*
 * fill.h — request coalescing: one origin fetch per cache key, however many
 * requests want it, on whatever threads they run, with read-while-write.
 *
 * A fill is the origin exchange that fills one object for one primary key.
 * The first request that misses creates it (the writer) and the fetch runs
 * on its worker (the fill's home). Later requests for the same key, on any
 * worker, join it as readers instead of going to the origin. As soon as the
 * origin's head is in and the response is storable, every reader streams
 * the object as its body arrives (a late joiner starts from the first byte);
 * each reader paces itself, so a slow or vanished client never holds the
 * others or the store back. A response that is not storable releases the
 * waiters at once to fetch for themselves (and the predictor remembers the
 * key); a fill that fails releases them too, and the first to come back
 * becomes the new writer. A 304 to a revalidation freshens the stored
 * object and every reader is served from it; an origin failure within
 * stale-if-error serves the stale object instead.
 *
 * Waiting is event-driven: the fill wakes each reader on its own worker
 * (a per-worker wake list and eventfd; no polling). Two timeouts bound it:
 * cache.lock_timeout (how long a writer may hold a key before new requests
 * stop waiting on it) and cache.wait_timeout (how long one request waits
 * for a head before going to the origin itself).
 *
 * Locks: the coalescing table is sharded, one mutex per shard; each fill
 * has its own mutex for its state and reader list; order: table shard, then
 * fill, then a worker's wake lock. Nothing is held across a call into a
 * transport or the pipeline.
 */
#ifndef EC_FILL_H
#define EC_FILL_H

#include <stdbool.h>

struct ec_req;
struct ec_obj;
struct ec_worker;
struct ec_fill;

/* One request reading from (or waiting on) a fill; embedded in the request. */
struct ec_reader {
	struct ec_fill *fill; /* reference held while attached; NULL when not */
	struct ec_worker *wrk;
	struct ec_req *req;
	struct ec_reader *next, *prev; /* fill's list (fill lock) */
	struct ec_reader *wnext;       /* worker's wake list (worker wake lock) */
	bool queued;                   /* on the worker's wake list (worker wake lock) */
	bool writer;                   /* created the fill */
	bool direct;                   /* the fill relays the origin to it itself */
	bool head_sent;
	bool whole;     /* needs the complete object (Range, preconditions) */
	bool congested; /* the client's buffer is full: wait for resp_drained */
	unsigned retries;
	unsigned long long sent; /* body bytes handed to the client */
	struct event *ev_timer;  /* cache.wait_timeout */
};

/* Process-wide setup (main thread, before the workers start). */
int ec_fill_init(void);
void ec_fill_fini(void);

enum ec_fill_join {
	EC_FILL_JOIN_INVALID = 0,
	EC_FILL_JOINED, /* the request reads from a fill (new or existing) */
	EC_FILL_BYPASS, /* do not coalesce (a dangling fill): fetch directly */
};

/*
 * Joins the fill for req->cache.key, creating and starting it (with
 * req->cache.stale as the revalidation candidate, reference taken) when
 * there is none. Called from the cache step on the request's worker.
 */
enum ec_fill_join ec_fill_join(struct ec_req *req);

/*
 * Starts a background refresh (stale-while-revalidate) for the request's
 * key with `stale` as the candidate, unless a fill for the key is running.
 * The request itself is not attached.
 */
void ec_fill_refresh(struct ec_req *req, struct ec_obj *stale);

/* The request's client can take more (after resp_body returned false). */
void ec_fill_reader_drained(struct ec_req *req);

/* The request ends (finished or client gone): detach from the fill. */
void ec_fill_reader_detach(struct ec_req *req);

/* Worker hooks: pump the readers queued for this worker; fail home fills at exit. */
void ec_fill__worker_wake(struct ec_worker *w);
void ec_fill__worker_exit(struct ec_worker *w);

#endif /* EC_FILL_H */
