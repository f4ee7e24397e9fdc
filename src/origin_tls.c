/*
 * origin_tls.c — TLS client for origin connections (see origin_tls.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "ec_util.h"
#include "origin_tls.h"

#define TLS_READ_STEP 16384

static void ssl_reason(char *why, size_t whylen, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256];
	if (e != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(why, whylen, "%s: %s", what, buf);
	} else {
		snprintf(why, whylen, "%s", what);
	}
	ERR_clear_error();
}

/* --- session resumption ---------------------------------------------------------- */

/*
 * Each group's context keeps the newest session per backend (a few slots,
 * shared by the workers under a mutex): a new connection to that backend
 * offers it, so the origin can resume instead of a full handshake (one
 * round trip and the certificate work saved). OpenSSL falls back to a full
 * handshake by itself when the origin declines.
 */
#define SESS_SLOTS 64

struct sess_cache {
	pthread_mutex_t lock;
	unsigned next; /* the slot to reuse when the key is new */
	struct {
		char key[256];
		SSL_SESSION *sess;
	} slot[SESS_SLOTS];
};

static int ctx_idx = -1, ssl_idx = -1;
static pthread_once_t idx_once = PTHREAD_ONCE_INIT;

static void cache_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
		       void *argp)
{
	struct sess_cache *sc = ptr;
	if (sc == NULL)
		return;
	for (unsigned i = 0; i < SESS_SLOTS; i++)
		SSL_SESSION_free(sc->slot[i].sess);
	pthread_mutex_destroy(&sc->lock);
	free(sc);
}

static void key_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	free(ptr);
}

static void idx_init(void)
{
	ctx_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, cache_free);
	ssl_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, key_free);
}

/* Called with the lock held: the slot holding `key`, or -1. */
static int slot_of(const struct sess_cache *sc, const char *key)
{
	for (unsigned i = 0; i < SESS_SLOTS; i++)
		if (sc->slot[i].sess != NULL && strcmp(sc->slot[i].key, key) == 0)
			return (int)i;
	return -1;
}

/*
 * OpenSSL hands over a new session (TLS 1.3: each ticket): keep a copy of
 * the newest. A copy, because the connection's own session object is marked
 * not resumable when the connection is freed without a TLS shutdown (an
 * origin that closes after its response), and a marked session is never
 * offered again.
 */
static int on_new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct sess_cache *sc = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctx_idx);
	const char *key = SSL_get_ex_data(ssl, ssl_idx);
	if (sc == NULL || key == NULL || !SSL_SESSION_is_resumable(sess))
		return 0;
	SSL_SESSION *copy = SSL_SESSION_dup(sess);
	if (copy == NULL)
		return 0;
	pthread_mutex_lock(&sc->lock);
	int i = slot_of(sc, key);
	if (i < 0) {
		i = (int)(sc->next++ % SESS_SLOTS);
		snprintf(sc->slot[i].key, sizeof(sc->slot[i].key), "%s", key);
	}
	SSL_SESSION_free(sc->slot[i].sess);
	sc->slot[i].sess = copy;
	pthread_mutex_unlock(&sc->lock);
	return 0; /* OpenSSL keeps (and frees) the original */
}

SSL_CTX *ec_otls_ctx_new(const struct ec_conf_lb *c, char *err, size_t errlen)
{
	pthread_once(&idx_once, idx_init);
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		ssl_reason(err, errlen, "cannot create a TLS context");
		return NULL;
	}
	struct sess_cache *sc = calloc(1, sizeof(*sc));
	if (sc == NULL || ctx_idx < 0 || ssl_idx < 0 || SSL_CTX_set_ex_data(ctx, ctx_idx, sc) != 1) {
		free(sc);
		SSL_CTX_free(ctx);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&sc->lock, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, on_new_session);
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (c->tls_verify) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		int ok = c->tls_ca[0] ? SSL_CTX_load_verify_locations(ctx, c->tls_ca, NULL)
		                      : SSL_CTX_set_default_verify_paths(ctx);
		if (ok != 1) {
			char what[400];
			snprintf(what, sizeof(what), "cannot load the CA file %s",
			         c->tls_ca[0] ? c->tls_ca : "(system store)");
			ssl_reason(err, errlen, what);
			SSL_CTX_free(ctx);
			return NULL;
		}
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
	if (c->tls_cert[0]) {
		char what[400];
		if (SSL_CTX_use_certificate_chain_file(ctx, c->tls_cert) != 1) {
			snprintf(what, sizeof(what), "cannot load the client certificate %s",
			         c->tls_cert);
			ssl_reason(err, errlen, what);
			SSL_CTX_free(ctx);
			return NULL;
		}
		const char *key = c->tls_key[0] ? c->tls_key : c->tls_cert;
		if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(ctx) != 1) {
			snprintf(what, sizeof(what), "cannot use the client key %s", key);
			ssl_reason(err, errlen, what);
			SSL_CTX_free(ctx);
			return NULL;
		}
	}
	return ctx;
}

SSL *ec_otls_new(SSL_CTX *ctx, int fd, const char *name, const char *resume_key)
{
	SSL *ssl = SSL_new(ctx);
	if (ssl == NULL)
		return NULL;
	struct sess_cache *sc = SSL_CTX_get_ex_data(ctx, ctx_idx);
	if (resume_key != NULL && sc != NULL) {
		char *k = strdup(resume_key);
		if (k == NULL || SSL_set_ex_data(ssl, ssl_idx, k) != 1) {
			free(k);
			SSL_free(ssl);
			return NULL;
		}
		pthread_mutex_lock(&sc->lock);
		int i = slot_of(sc, resume_key);
		if (i >= 0)
			SSL_set_session(ssl, sc->slot[i].sess); /* takes its own reference */
		pthread_mutex_unlock(&sc->lock);
	}
	unsigned char addr[16];
	bool is_ip = inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1;
	bool ok = SSL_set_fd(ssl, fd) == 1;
	if (is_ip) {
		ok = ok && X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) == 1;
	} else {
		ok = ok && SSL_set_tlsext_host_name(ssl, name) == 1;
		ok = ok && SSL_set1_host(ssl, name) == 1;
	}
	if (!ok) {
		ERR_clear_error();
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_connect_state(ssl);
	return ssl;
}

int ec_otls_handshake(SSL *ssl, bool *want_write, char *why, size_t whylen)
{
	ERR_clear_error();
	int rc = SSL_do_handshake(ssl);
	if (rc == 1)
		return 1;
	int e = SSL_get_error(ssl, rc);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		*want_write = e == SSL_ERROR_WANT_WRITE;
		return 0;
	}
	long vr = SSL_get_verify_result(ssl);
	if (vr != X509_V_OK) {
		snprintf(why, whylen, "certificate verify failed: %s",
		         X509_verify_cert_error_string(vr));
		ERR_clear_error();
	} else if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
		snprintf(why, whylen, "handshake: %s",
		         errno ? strerror(errno) : "the origin closed the connection");
	} else {
		ssl_reason(why, whylen, "handshake failed");
	}
	return -1;
}

int ec_otls_read(SSL *ssl, struct evbuffer *in, size_t want)
{
	size_t total = 0;
	for (;;) {
		struct evbuffer_iovec v;
		if (evbuffer_reserve_space(in, TLS_READ_STEP, &v, 1) < 1) {
			errno = ENOMEM;
			return -1;
		}
		ERR_clear_error();
		int n = SSL_read(ssl, v.iov_base, (int)EC_MIN(v.iov_len, (size_t)TLS_READ_STEP));
		if (n > 0) {
			v.iov_len = (size_t)n;
			evbuffer_commit_space(in, &v, 1);
			total += (size_t)n;
			/* stop only with nothing left inside SSL: no socket event
			 * would tell us about bytes it already decrypted */
			if (total >= want && SSL_pending(ssl) == 0)
				break;
			continue;
		}
		int e = SSL_get_error(ssl, n);
		if (total > 0)
			break; /* report the bytes; the condition comes back next time */
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			errno = EAGAIN;
			return -1;
		}
		if (e == SSL_ERROR_ZERO_RETURN)
			return 0;
		ERR_clear_error();
		errno = ECONNRESET;
		return -1;
	}
	return (int)total;
}

bool ec_otls_alpn_is_h2(SSL *ssl)
{
	const unsigned char *alpn = NULL;
	unsigned len = 0;
	SSL_get0_alpn_selected(ssl, &alpn, &len);
	return len == 2 && memcmp(alpn, "h2", 2) == 0;
}

bool ec_otls_idle_ok(SSL *ssl)
{
	char b;
	ERR_clear_error();
	int n = SSL_read(ssl, &b, 1);
	if (n > 0)
		return false; /* stray application data */
	int e = SSL_get_error(ssl, n);
	if (e == SSL_ERROR_WANT_READ)
		return true;
	ERR_clear_error();
	return false;
}
