/*
 * origin_priv.h — the fetch as origin.c and origin_h2.c share it. Not for
 * other modules: they see struct ec_fetch only through origin.h.
 *
 * Thread: the worker that started the fetch.
 */
#ifndef EC_ORIGIN_PRIV_H
#define EC_ORIGIN_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "h1_body.h"
#include "http1_parse.h"
#include "origin.h"

struct ec_oconn;
struct ec_bstate;
struct ec_h2s;

enum fstate {
	FS_INVALID = 0,
	FS_CONNECTING,
	FS_HANDSHAKE, /* TLS, under the connect timeout */
	FS_SENDING,   /* the request is being written */
	FS_WAIT_HEAD, /* the request is written; waiting for the head */
	FS_BODY,      /* streaming the response body */
};

struct ec_fetch {
	unsigned magic;
	struct ec_worker *wrk;
	struct ec_site *site;
	unsigned backend;      /* index into site->backends */
	unsigned group;        /* site->groups */
	uint64_t tried;        /* the group's backends tried (bit index - first) */
	unsigned retries_left; /* other backends still allowed after a connect failure */
	bool retried_reuse;
	struct ec_bstate *inflight_st; /* the backend counting this try in flight */
	double t_attempt;
	const struct ec_fetch_ops *ops;
	void *owner;
	struct ec_fetch_req r;
	char *head;
	size_t head_cap;
	struct ec_fetch *next_spare; /* in w->spare_fetches */

	struct ec_oconn *oc;
	enum fstate state;
	bool reused;      /* oc came from the pool */
	bool resp_byte;   /* a byte of response arrived */
	bool body_pulled; /* a request-body byte was consumed from the owner */
	bool req_body_done;
	bool req_sent;
	bool head_seen;
	bool paused;
	bool resp_keepalive;
	bool in_start; /* inside ec_fetch_start: errors are deferred */
	struct ec_h1_parser parser;
	struct ec_h1_body body;
	struct evbuffer *tmp;
	struct event *ev_defer;
	enum ec_fetch_err deferred;
	struct ec_h2s *h2s; /* the HTTP/2 stream of this try (origin_h2.c), or NULL */
};

/* For origin_h2.c: the response head arrived (stats, health, the owner's
 * head callback); body bytes (false: the owner is congested); the exchange
 * ended cleanly; it failed (retries as for HTTP/1). done and fail free f. */
void ec_fetch__head(struct ec_fetch *f, const struct ec_h1_resp *resp);
bool ec_fetch__body(struct ec_fetch *f, struct evbuffer *data);
void ec_fetch__done(struct ec_fetch *f);
void ec_fetch__fail(struct ec_fetch *f, enum ec_fetch_err err);
const struct ec_backend *ec_fetch__backend(const struct ec_fetch *f);

#endif /* EC_ORIGIN_PRIV_H */
