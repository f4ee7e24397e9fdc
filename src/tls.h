/*
 * tls.h — TLS termination: server contexts built from the configured
 * certificate/key pairs, and the non-blocking record I/O that a client
 * connection (h1_conn.c) runs over instead of plain read/write.
 *
 * A `struct ec_tls_ctx` is built by the main thread at start and at every
 * SIGHUP (blocking file reads), hung off the site (site.h) and so published
 * to the workers with it. A connection's SSL object holds a reference to the
 * SSL_CTX it was created from, so a reload never touches a connection that
 * is already open: new certificates apply to new connections.
 *
 * What the context does:
 *   - one SSL_CTX per certificate; SNI picks the exact name, then a wildcard
 *     (*.example.com matches one label), then the first certificate;
 *   - ALPN: h2, then http/1.1 (the client's order decides among these);
 *   - TLS 1.2 and 1.3 only, ECDHE + AEAD suites, server preference;
 *   - session tickets whose keys are process-wide (every worker, every
 *     reload): a key encrypts for EC_TLS_TICKET_ROTATE seconds, then a new
 *     one takes over and the old one still decrypts for as long again; or,
 *     with tls_ticket_keys, keys from files (shared by several instances,
 *     kept across restarts; the first encrypts, rotated by the operator);
 *   - OCSP stapling of CERT.pem.ocsp (DER), when that file exists.
 *
 * Thread: a context is immutable once built and shared by all workers
 * (reference counted); the ticket keys are under one mutex.
 */
#ifndef EC_TLS_H
#define EC_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct evbuffer;
struct ssl_st;

/* How long one ticket key encrypts (seconds). */
#define EC_TLS_TICKET_ROTATE 3600
/* tls_ticket_keys: at most this many files of exactly this many bytes. */
#define EC_TLS_TICKET_FILES   4
#define EC_TLS_TICKET_KEY_LEN 80

/* Reads one ticket key file (80 bytes, nginx's layout). 0, or -1 with a
 * message naming the file in err. Blocking; for config checks too. */
int ec_tls_ticket_key_read(const char *path, unsigned char out[EC_TLS_TICKET_KEY_LEN], char *err,
                           size_t errlen);

struct ec_tls_ctx;

/*
 * Builds the contexts for conf->certs (reads the files: blocking). Returns
 * NULL with a message naming the file and key in err when a certificate or
 * key cannot be loaded or do not match. Returns NULL with err empty when
 * there is no certificate (no TLS listener).
 */
struct ec_tls_ctx *ec_tls_ctx_new(const struct ec_config *conf, char *err, size_t errlen);
struct ec_tls_ctx *ec_tls_ctx_ref(struct ec_tls_ctx *t);
/* Drops a reference (any thread), frees at zero, clears *tp. */
void ec_tls_ctx_unref(struct ec_tls_ctx **tp);

/*
 * Does the certificate name `pattern` (lower case, as collected from a
 * certificate: "a.example.com" or "*.example.com") cover the SNI `host`
 * (hlen bytes, any case)? A wildcard covers exactly one non-empty label.
 * Pure; exposed for the unit tests.
 */
bool ec_tls_name_matches(const char *pattern, const char *host, size_t hlen);

/* A server-side SSL object for an accepted socket, or NULL (resources). */
struct ssl_st *ec_tls_conn_new(struct ec_tls_ctx *t, int fd);

/*
 * Drives the handshake. Returns 1 done, 0 in progress (errno EAGAIN; *want_write
 * says whether to wait for writability rather than readability), -1 failed
 * (a reason string in *why, for the log).
 */
int ec_tls_handshake(struct ssl_st *ssl, bool *want_write, const char **why);

/* After the handshake: did ALPN pick h2? */
bool ec_tls_is_h2(struct ssl_st *ssl);

/*
 * Reads decrypted bytes into buf, at most `max`. Returns the count, 0 at
 * the end of the stream (close_notify or TCP FIN), or -1 with errno: EAGAIN
 * (nothing now; *want_write set when TLS must write first), else failure.
 */
int ec_tls_read(struct ssl_st *ssl, struct evbuffer *buf, size_t max, bool *want_write);

/* Decrypted bytes already inside the SSL object (no socket event will come for them). */
bool ec_tls_pending(struct ssl_st *ssl);

/*
 * Encrypts and sends from the front of buf, draining what was sent. Returns
 * bytes sent, or -1 with errno (EAGAIN: the socket is full; EPIPE: a TLS or
 * socket error). For client and origin connections alike.
 */
int ec_tls_write(struct ssl_st *ssl, struct evbuffer *buf);

/* Sends close_notify (best effort, non-blocking) and frees the object. */
void ec_tls_conn_free(struct ssl_st **sslp);

#endif /* EC_TLS_H */
