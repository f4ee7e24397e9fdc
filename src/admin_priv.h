/*
 * admin_priv.h — inside the admin API: the state shared by admin.c (the
 * listener, connections, auth, routing) and the handlers in admin_ops.c
 * (stats, metrics, purge, ban, objects) and admin_stats.c.
 *
 * Everything here runs on the admin thread, except ec_admin.site, which the
 * main thread swaps under site_lock on reload.
 */
#ifndef EC_ADMIN_PRIV_H
#define EC_ADMIN_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "admin.h"
#include "ec_http.h"

struct evbuffer;
struct event_base;
struct event;
struct aconn;

#define EC_ADMIN_MAGIC    0x41444d4eu
#define EC_ADMIN_MAX_BODY (1u << 20)

struct ec_admin {
	unsigned magic;
	struct ec_admin_env env;
	pthread_mutex_t site_lock;
	struct ec_site *site; /* reference held; swap under site_lock */
	pthread_mutex_t token_lock; /* token and token_len: replaced on SIGHUP */
	char token[512];      /* "" = no token: every call allowed (loopback or Unix only) */
	size_t token_len;
	int fd;              /* listening socket */
	char unix_path[128]; /* "" for TCP */
	struct event_base *base;
	struct event *ev_accept;
	struct event *ev_stop;
	struct event *ev_lurk;
	int stop_fds[2];
	pthread_t thread;
	bool started;
	struct aconn *conns; /* open connections (admin thread) */
};

/* One call: what the handler reads and what it writes. */
struct ec_admin_req {
	struct ec_admin *a;
	enum ec_method meth;
	struct ec_str path;  /* without the query */
	struct ec_str query; /* after '?', raw */
	struct ec_str body;
	struct evbuffer *out; /* the answer's body */
	int status;           /* 200 unless the handler says otherwise */
	const char *ctype;    /* "application/json" unless the handler says otherwise */
};

/*
 * The decoded value of query parameter `name` (percent-decoding and '+' as
 * space) into buf[0..cap); the n-th occurrence (0-based) for repeated
 * parameters. false when absent or longer than cap - 1.
 */
bool ec_admin_param(const struct ec_admin_req *r, const char *name, unsigned nth, char *buf,
                    size_t cap);

/* Sets status and a {"error": MSG} body. Returns false (for `return fail(...)`). */
bool ec_admin_fail(struct ec_admin_req *r, int status, const char *fmt, ...) EC_PRINTF(3, 4);

/* The current site with a reference the caller drops (ec_site_unref). */
struct ec_site *ec_admin_site(struct ec_admin *a);

/* Handlers (admin_ops.c, admin_stats.c): fill r->out, set r->status. */
void ec_admin_stats_json(struct ec_admin_req *r);
void ec_admin_metrics(struct ec_admin_req *r);
void ec_admin_purge(struct ec_admin_req *r);
void ec_admin_ban(struct ec_admin_req *r);
void ec_admin_objects(struct ec_admin_req *r);
void ec_admin_object(struct ec_admin_req *r);

/* The ban lurker's pass (admin_ops.c), once a second on the admin thread. */
void ec_admin_lurk(struct ec_admin *a);

#endif /* EC_ADMIN_PRIV_H */
