/*
 * log.h — the error log and the access log.
 *
 * Error log: one line per event, `TIME edgecache[PID]: LEVEL: message`, to
 * stderr or to the configured file. Each line is written with one write(2),
 * so lines from several threads never interleave. Callable from any thread.
 *
 * Access log: one line per request (format below), buffered per worker
 * thread and flushed when the buffer is nearly full or at least once a
 * second by the worker's timer, so logging costs no system call per request.
 * The file descriptor is process-wide; SIGUSR1 makes the main thread reopen
 * the path and dup2() the new file over the old descriptor, so workers never
 * see a closed descriptor and need no lock.
 *
 *   TIME CLIENT "METHOD TARGET PROTO" STATUS BYTES DURATION CACHE BACKEND ORIGIN_TIME REASON
 *
 * TIME is ISO 8601 UTC with milliseconds; BYTES the body bytes sent;
 * DURATION and ORIGIN_TIME seconds with 6 decimals (`-` without an origin);
 * CACHE the cache outcome; BACKEND host:port or `-`; REASON `-` or a token
 * naming why the request ended as it did (origin-connect-failed, ...).
 */
#ifndef EC_LOG_H
#define EC_LOG_H

#include <stdarg.h>
#include <stddef.h>

#include "ec_util.h"

enum ec_log_level {
	EC_LOG_INVALID = 0,
	EC_LOG_ERR,
	EC_LOG_WARN,
	EC_LOG_INFO,
	EC_LOG_DEBUG,
};

/* Opens the error log file ("" = stderr). Returns 0 or -1 with errno. */
int ec_log_open(const char *path);
/* Reopens the error and access logs after rotation (main thread). */
void ec_log_reopen(void);
void ec_log_set_level(enum ec_log_level lvl);

void ec_log(enum ec_log_level lvl, const char *fmt, ...) EC_PRINTF(2, 3);
#define ec_log_err(...) ec_log(EC_LOG_ERR, __VA_ARGS__)
#define ec_log_warn(...) ec_log(EC_LOG_WARN, __VA_ARGS__)
#define ec_log_info(...) ec_log(EC_LOG_INFO, __VA_ARGS__)

/* Opens the access log: a path, "-" for stdout, "" for none. 0 or -1. */
int ec_alog_open(const char *path);
/* Whether an access log is configured (workers skip formatting if not). */
bool ec_alog_enabled(void);

/* A worker's access-log buffer. */
#define EC_ALOG_BUF 65536
struct ec_alog_buf {
	size_t len;
	char data[EC_ALOG_BUF];
};

/* One access-log record; views may be empty (printed as `-`). */
struct ec_alog_rec {
	double t_start; /* wall clock, seconds */
	double duration;
	struct ec_str client;
	struct ec_str method, target;
	unsigned minor; /* HTTP/1.minor; 20 for HTTP/2 */
	int status;
	uint64_t bytes;
	struct ec_str cache;
	struct ec_str backend;
	double origin_time; /* < 0: no origin */
	const char *reason; /* NULL: `-` */
};

/* Appends a record to the buffer, flushing first when it is nearly full. */
void ec_alog_write(struct ec_alog_buf *b, const struct ec_alog_rec *r);
/* Writes out the buffer (one write(2)). */
void ec_alog_flush(struct ec_alog_buf *b);

#endif /* EC_LOG_H */
