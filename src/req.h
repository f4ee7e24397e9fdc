/*
 * req.h — one client request travelling through the pipeline, and the
 * transport interface the pipeline answers through.
 *
 * A request is decoded by a transport (HTTP/1.1 today: h1_conn.c; HTTP/2
 * streams later) into a `struct ec_req`, which the transport owns and
 * embeds (no allocation per request). The pipeline (pipeline.c) then runs
 * route → cache → fetch → respond and talks back only through the
 * transport's `struct ec_client_ops`, so it never knows which protocol the
 * client speaks. Everything the request allocates comes from its arena and
 * dies when the transport calls ec_pipeline_finish().
 *
 * Thread: a request lives and dies on the worker thread that accepted its
 * connection.
 */
#ifndef EC_REQ_H
#define EC_REQ_H

#include <stdint.h>

#include "ec_http.h"

struct evbuffer;
struct ec_req;
struct ec_worker;
struct ec_site;
struct ec_arena;
struct ec_fetch;
struct ec_backend;

/* The response head the pipeline hands to a transport. */
struct ec_resp {
	int status;
	/* End-to-end fields to send as they are: the pipeline has already
	 * removed hop-by-hop fields, Content-Length and Transfer-Encoding. */
	const struct ec_hdr *hdrs;
	unsigned nhdrs;
	bool has_length; /* the body length is known in advance */
	uint64_t length;
	bool no_body; /* HEAD, 1xx, 204, 304: send no body bytes (length still announced for HEAD) */
	bool close;   /* close the connection after this response */
};

/*
 * Transport operations. Return conventions per function below. None may
 * call back into the pipeline synchronously except where noted.
 */
struct ec_client_ops {
	/* Queues the response head. Called at most once per request. */
	void (*resp_head)(struct ec_req *req, const struct ec_resp *resp);
	/*
	 * Queues body bytes, moving all of `data` (which ends up empty).
	 * Returns true when the client can take more now, false when its send
	 * buffer is over the high-water mark: the caller stops producing until
	 * the transport calls ec_pipeline_resp_drained().
	 */
	bool (*resp_body)(struct ec_req *req, struct evbuffer *data);
	/* The response is complete. The transport flushes, then calls
	 * ec_pipeline_finish() (possibly synchronously). */
	void (*resp_end)(struct ec_req *req);
	/* The response cannot be completed (origin failed mid-body): end the
	 * exchange so the client sees a broken response, never a complete-looking
	 * one. The transport then calls ec_pipeline_finish(). */
	void (*resp_abort)(struct ec_req *req);
	/*
	 * Moves up to `max` request-body bytes (decoded) into `dst`. Returns the
	 * bytes moved (0 when none is buffered yet: the transport will call
	 * ec_pipeline_body_ready() when more arrives), or -1 when the client's
	 * body is malformed or the client went away. Sets *done when the body
	 * is complete. The first call also answers `Expect: 100-continue`.
	 */
	long (*body_read)(struct ec_req *req, struct evbuffer *dst, size_t max, bool *done);
};

#define EC_REQ_MAGIC 0x52455131u

enum ec_proto {
	EC_PROTO_INVALID = 0,
	EC_PROTO_HTTP10,
	EC_PROTO_HTTP11,
	EC_PROTO_HTTP2,
};

struct ec_req {
	unsigned magic;
	const struct ec_client_ops *ops;
	void *transport; /* the transport's connection or stream */
	struct ec_worker *wrk;
	struct ec_site *site; /* reference held for the request's life */
	struct ec_arena *arena;

	/* The request, views into arena memory. */
	enum ec_proto proto;
	enum ec_method meth;
	struct ec_str method;
	struct ec_str target; /* as received, for logs */
	struct ec_str path;   /* origin-form path and query */
	struct ec_str host;   /* authority the request is for */
	struct ec_str scheme; /* "http" or "https": how the client reached us */
	struct ec_hdr *hdrs;
	unsigned nhdrs;
	bool has_body;       /* a request body follows (Content-Length > 0 or chunked) */
	bool body_length_known;
	uint64_t content_length; /* when body_length_known */
	bool body_done;          /* the whole body has been read from the client */
	uint64_t body_read;      /* request-body bytes read so far */
	int body_error;          /* status for a body the transport refused (400, 413) */
	char client_ip[48];

	/* Timing (wall clock, seconds). */
	double t_start;

	/* Progress, for logs and stats. */
	int status;         /* final status sent, 0 before the head */
	uint64_t bytes_out; /* body bytes handed to the transport */
	const char *reason; /* log token for how it ended, NULL = normal */
	bool resp_started;  /* head handed to the transport */
	bool resp_done;     /* resp_end or resp_abort called */
	bool client_gone;

	/* Origin exchange. */
	struct ec_fetch *fetch;
	const struct ec_backend *backend;
	double t_origin; /* when the fetch started; origin_time = head time - t_origin */
	double origin_time;
	char cache_status[128]; /* the Cache-Status field value, "" before the cache decides */
	const char *cache_log; /* short cache outcome for the access log, NULL = "-" */
};

#endif /* EC_REQ_H */
