/*
 * retry.h — whether a failed origin try goes again, and where: the rules of
 * docs/origin.md "Retries" as one pure function (origin.c applies it; the
 * unit test checks it).
 *
 *  - never once a byte of the response arrived;
 *  - a connect failure or connect timeout (nothing was sent): another
 *    backend, any method, while retries are left;
 *  - the connection closed before any response byte (the request may have
 *    reached the origin): only an idempotent request whose body was not
 *    consumed; on a pooled connection first once more on a fresh connection
 *    to the same backend (unless it is down), else another backend while
 *    retries are left;
 *  - nothing else (timeouts after sending, invalid responses, TLS failures,
 *    a broken client body).
 */
#ifndef EC_RETRY_H
#define EC_RETRY_H

#include <stdbool.h>

#include "origin.h"

enum ec_retry {
	EC_RETRY_INVALID = 0,
	EC_RETRY_NONE,       /* report the error */
	EC_RETRY_SAME_FRESH, /* same backend, a new connection */
	EC_RETRY_OTHER,      /* another backend of the group */
};

struct ec_retry_in {
	enum ec_fetch_err err;
	bool resp_byte;     /* a byte of response arrived */
	bool idempotent;    /* the method is */
	bool body_pulled;   /* a request-body byte was consumed from the client */
	bool reused;        /* the try ran on a pooled (or shared HTTP/2) connection */
	bool retried_reuse; /* the fresh-connection retry was already used */
	bool backend_down;  /* the backend is marked down now */
	unsigned retries_left;
};

enum ec_retry ec_retry_decide(const struct ec_retry_in *in);

#endif /* EC_RETRY_H */
