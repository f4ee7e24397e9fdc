/*
 * origin_tls.h — TLS to https:// backends (OpenSSL), for origin.c.
 *
 * One SSL_CTX per origin group that has https backends, built with the site
 * (main thread) from the group's tls_* settings and shared read-only by the
 * workers; one SSL per origin connection, on the connection's worker. The
 * socket stays non-blocking and owned by origin.c: these helpers only turn
 * SSL's WANT_READ/WANT_WRITE into "try again when the socket is ready".
 *
 * Verification (tls_verify, default on): the chain against tls_ca or the
 * system store, and the name: tls_sni or the backend's host (DNS names via
 * SNI and the certificate's DNS entries; an IP literal against its IP
 * entries, without SNI, as RFC 6066 wants).
 */
#ifndef EC_ORIGIN_TLS_H
#define EC_ORIGIN_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

struct evbuffer;
struct ec_conf_lb;

/* The client context for a group's settings, or NULL with a reason naming
 * the failing file in err (main thread; reads files). */
SSL_CTX *ec_otls_ctx_new(const struct ec_conf_lb *c, char *err, size_t errlen);

/* A client SSL on `fd` for server name `name` (SNI unless an IP literal;
 * verified when the context verifies). With a `resume_key` (the backend's
 * name) it offers the newest session the context kept for that key, and
 * keeps the sessions this connection receives. NULL when out of memory. */
SSL *ec_otls_new(SSL_CTX *ctx, int fd, const char *name, const char *resume_key);

/* Drives the handshake: 1 done; 0 again when the socket is readable
 * (*want_write false) or writable (true); -1 failed, the reason in why
 * ("certificate verify failed: self-signed certificate in certificate chain"). */
int ec_otls_handshake(SSL *ssl, bool *want_write, char *why, size_t whylen);

/* As ec_netio_read: decrypted bytes into `in` (about `want`, and every byte
 * SSL already holds); >0 bytes, 0 the peer closed, -1 with errno (EAGAIN:
 * nothing yet; ECONNRESET: a TLS or socket error). */
int ec_otls_read(SSL *ssl, struct evbuffer *in, size_t want);

/* Writes go through ec_tls_write (tls.h): the same for both directions. */

/* Whether the handshake's ALPN selected "h2". */
bool ec_otls_alpn_is_h2(SSL *ssl);

/* An idle pooled connection became readable: true when it was only TLS
 * housekeeping (a session ticket) and the connection stays usable. */
bool ec_otls_idle_ok(SSL *ssl);

#endif /* EC_ORIGIN_TLS_H */
