/*
 * tls.c — TLS server contexts and record I/O (see tls.h).
 *
 * One SSL_CTX per configured certificate. The first is the one the
 * handshake starts on; the client-hello callback switches the SSL object
 * to the context whose names match the SNI (exact, then wildcard) before
 * any certificate is chosen. Every context shares the same ALPN, protocol,
 * cipher and ticket settings.
 *
 * Ticket keys live in a process-wide ring guarded by `tk_lock`: index 0
 * encrypts, the others only decrypt. Rotation is lazy: the first ticket
 * issued after EC_TLS_TICKET_ROTATE seconds makes a new key.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <event2/buffer.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "ec_util.h"
#include "log.h"
#include "tls.h"

#define TLS_MAGIC 0x544c5343u
#define MAX_NAMES 64
#define OCSP_MAX  (64 * 1024)

/* TLS 1.2 suites: forward secrecy and AEAD only. TLS 1.3 keeps OpenSSL's
 * default list (all AEAD). */
#define CIPHERS_12                                                                                 \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                               \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                               \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

struct tls_cert {
	SSL_CTX *ctx;
	unsigned nnames;
	char *names[MAX_NAMES]; /* lower case; "*.example.com" for wildcards */
	unsigned char *ocsp;    /* DER OCSP response to staple, or NULL */
	size_t ocsp_len;
};

struct ec_tls_ctx {
	unsigned magic;
	unsigned refcnt;
	unsigned ncerts;
	struct tls_cert *certs;
};

/* --- ticket keys (process-wide) -------------------------------------------- */

struct ticket_key {
	unsigned char name[16];
	unsigned char aes[32];
	unsigned char hmac[32];
	time_t born;
	bool set;
};

static pthread_mutex_t tk_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ticket_key tk_ring[2]; /* [0] encrypts; [1] the previous one, decrypt only */
/* tls_ticket_keys: keys from files, [0] encrypts, the others decrypt only;
 * while there are any, the in-memory ring is not used (nor rotated). */
static struct ticket_key tk_files[EC_TLS_TICKET_FILES];
static unsigned ntk_files;

int ec_tls_ticket_key_read(const char *path, unsigned char out[EC_TLS_TICKET_KEY_LEN], char *err,
                           size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	unsigned char buf[EC_TLS_TICKET_KEY_LEN + 1];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (n != EC_TLS_TICKET_KEY_LEN) {
		snprintf(err, errlen, "%s: %s bytes, a ticket key file holds exactly %d (openssl rand %d)",
		         path, n > EC_TLS_TICKET_KEY_LEN ? "more than 80" : n == 0 ? "0" : "fewer than 80",
		         EC_TLS_TICKET_KEY_LEN, EC_TLS_TICKET_KEY_LEN);
		OPENSSL_cleanse(buf, sizeof(buf));
		return -1;
	}
	memcpy(out, buf, EC_TLS_TICKET_KEY_LEN);
	OPENSSL_cleanse(buf, sizeof(buf));
	return 0;
}

/* Reads every file of the space-separated list (nginx's 80-byte layout:
 * name 16, HMAC secret 32, AES-256 key 32) and installs them. */
static int ticket_files_install(const char *list, char *err, size_t errlen)
{
	struct ticket_key k[EC_TLS_TICKET_FILES];
	unsigned n = 0;
	char path[1024];
	for (const char *p = list; *p;) {
		while (*p == ' ' || *p == '\t')
			p++;
		size_t len = strcspn(p, " \t");
		if (len == 0)
			break;
		if (n == EC_TLS_TICKET_FILES || len >= sizeof(path)) {
			snprintf(err, errlen, "tls_ticket_keys: at most %d files", EC_TLS_TICKET_FILES);
			OPENSSL_cleanse(k, sizeof(k));
			return -1;
		}
		memcpy(path, p, len);
		path[len] = '\0';
		p += len;
		unsigned char raw[EC_TLS_TICKET_KEY_LEN];
		char why[1200];
		if (ec_tls_ticket_key_read(path, raw, why, sizeof(why)) != 0) {
			snprintf(err, errlen, "tls_ticket_keys: %s", why);
			OPENSSL_cleanse(k, sizeof(k));
			return -1;
		}
		memcpy(k[n].name, raw, 16);
		memcpy(k[n].hmac, raw + 16, 32);
		memcpy(k[n].aes, raw + 48, 32);
		k[n].born = 0;
		k[n].set = true;
		n++;
		OPENSSL_cleanse(raw, sizeof(raw));
	}
	pthread_mutex_lock(&tk_lock);
	OPENSSL_cleanse(tk_files, sizeof(tk_files));
	memcpy(tk_files, k, n * sizeof(k[0]));
	ntk_files = n;
	pthread_mutex_unlock(&tk_lock);
	OPENSSL_cleanse(k, sizeof(k));
	return 0;
}

static int ticket_key_new(struct ticket_key *k, time_t now)
{
	if (RAND_bytes(k->name, sizeof(k->name)) != 1 || RAND_bytes(k->aes, sizeof(k->aes)) != 1 ||
	    RAND_bytes(k->hmac, sizeof(k->hmac)) != 1)
		return -1;
	k->born = now;
	k->set = true;
	return 0;
}

/* Copies out the key to use: for enc the current one (rotating first when
 * due), else the one named. Returns 1 found, 2 found but not current (the
 * client should get a fresh ticket), 0 unknown, -1 error. */
static int ticket_key_get(bool enc, const unsigned char *name, struct ticket_key *out)
{
	int rc = 0;
	time_t now = time(NULL);
	pthread_mutex_lock(&tk_lock);
	if (ntk_files > 0) {
		if (enc) {
			*out = tk_files[0];
			rc = 1;
		} else {
			for (unsigned i = 0; i < ntk_files; i++)
				if (memcmp(tk_files[i].name, name, 16) == 0) {
					*out = tk_files[i];
					rc = i == 0 ? 1 : 2;
					break;
				}
		}
		pthread_mutex_unlock(&tk_lock);
		return rc;
	}
	if (!tk_ring[0].set || now - tk_ring[0].born >= EC_TLS_TICKET_ROTATE) {
		struct ticket_key fresh;
		if (ticket_key_new(&fresh, now) == 0) {
			tk_ring[1] = tk_ring[0];
			tk_ring[0] = fresh;
		}
	}
	if (enc) {
		*out = tk_ring[0];
		rc = tk_ring[0].set ? 1 : -1;
	} else {
		for (unsigned i = 0; i < EC_ARRAY_LEN(tk_ring); i++)
			if (tk_ring[i].set && memcmp(tk_ring[i].name, name, 16) == 0 &&
			    now - tk_ring[i].born < 2 * EC_TLS_TICKET_ROTATE) {
				*out = tk_ring[i];
				rc = i == 0 ? 1 : 2;
				break;
			}
	}
	pthread_mutex_unlock(&tk_lock);
	return rc;
}

static int ticket_cb(SSL *s, unsigned char key_name[16], unsigned char *iv, EVP_CIPHER_CTX *cctx,
                     EVP_MAC_CTX *hctx, int enc)
{
	struct ticket_key k;
	int rc = ticket_key_get(enc != 0, key_name, &k);
	if (rc <= 0)
		return rc < 0 ? -1 : 0;
	OSSL_PARAM params[] = {
	        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, k.hmac, sizeof(k.hmac)),
	        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"sha256", 0),
	        OSSL_PARAM_construct_end(),
	};
	if (enc) {
		memcpy(key_name, k.name, 16);
		if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(EVP_aes_256_cbc())) != 1 ||
		    EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k.aes, iv) != 1 ||
		    EVP_MAC_CTX_set_params(hctx, params) != 1)
			rc = -1;
	} else if (EVP_MAC_CTX_set_params(hctx, params) != 1 ||
	           EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k.aes, iv) != 1) {
		rc = -1;
	}
	OPENSSL_cleanse(&k, sizeof(k));
	return rc;
}

/* --- SNI and ALPN ----------------------------------------------------------- */

bool ec_tls_name_matches(const char *pat, const char *host, size_t hlen)
{
	if (pat[0] == '*' && pat[1] == '.') {
		/* one label: "a.example.com" matches "*.example.com", "example.com" does not */
		const char *dot = memchr(host, '.', hlen);
		if (dot == NULL || dot == host)
			return false;
		size_t rest = hlen - (size_t)(dot - host);
		return strlen(pat + 1) == rest && strncasecmp(pat + 1, dot, rest) == 0;
	}
	return strlen(pat) == hlen && strncasecmp(pat, host, hlen) == 0;
}

static struct tls_cert *pick_cert(struct ec_tls_ctx *t, const char *host, size_t hlen)
{
	for (int pass = 0; pass < 2; pass++)
		for (unsigned i = 0; i < t->ncerts; i++)
			for (unsigned j = 0; j < t->certs[i].nnames; j++) {
				const char *n = t->certs[i].names[j];
				if ((n[0] == '*') == (pass == 1) && ec_tls_name_matches(n, host, hlen))
					return &t->certs[i];
			}
	return &t->certs[0];
}

/* The SNI from the raw ClientHello extension (server_name list, host_name entry). */
static bool client_hello_sni(SSL *s, const char **host, size_t *hlen)
{
	const unsigned char *p;
	size_t len;
	if (!SSL_client_hello_get0_ext(s, TLSEXT_TYPE_server_name, &p, &len) || len < 5)
		return false;
	size_t list = ((size_t)p[0] << 8) | p[1];
	if (list + 2 != len || p[2] != TLSEXT_NAMETYPE_host_name)
		return false;
	size_t n = ((size_t)p[3] << 8) | p[4];
	if (n + 5 > len || n == 0)
		return false;
	*host = (const char *)p + 5;
	*hlen = n;
	return true;
}

static int client_hello_cb(SSL *s, int *al, void *arg)
{
	struct ec_tls_ctx *t = arg;
	EC_CHECK_MAGIC(t, TLS_MAGIC);
	const char *host;
	size_t hlen;
	if (!client_hello_sni(s, &host, &hlen))
		return SSL_CLIENT_HELLO_SUCCESS; /* no SNI: the default certificate */
	struct tls_cert *c = pick_cert(t, host, hlen);
	if (c->ctx != SSL_get_SSL_CTX(s))
		SSL_set_SSL_CTX(s, c->ctx);
	(void)al;
	return SSL_CLIENT_HELLO_SUCCESS;
}

static int alpn_cb(SSL *s, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char ours[] = "\x02h2\x08http/1.1";
	unsigned char *sel;
	if (SSL_select_next_proto(&sel, outlen, ours, sizeof(ours) - 1, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK; /* no overlap: speak HTTP/1.1 without ALPN */
	*out = sel;
	(void)s;
	(void)arg;
	return SSL_TLSEXT_ERR_OK;
}

static int ocsp_cb(SSL *s, void *arg)
{
	struct tls_cert *c = arg;
	if (c->ocsp == NULL)
		return SSL_TLSEXT_ERR_NOACK;
	unsigned char *copy = OPENSSL_malloc(c->ocsp_len);
	if (copy == NULL)
		return SSL_TLSEXT_ERR_NOACK;
	memcpy(copy, c->ocsp, c->ocsp_len);
	SSL_set_tlsext_status_ocsp_resp(s, copy, (long)c->ocsp_len); /* takes copy */
	return SSL_TLSEXT_ERR_OK;
}

/* --- building ---------------------------------------------------------------- */

static const char *ssl_err(char *buf, size_t len)
{
	unsigned long e = ERR_get_error();
	ERR_clear_error();
	if (e == 0)
		return "unknown error";
	ERR_error_string_n(e, buf, len);
	return buf;
}

static void add_name(struct tls_cert *c, const char *n, size_t len)
{
	if (c->nnames >= MAX_NAMES || len == 0)
		return;
	char *s = strndup(n, len);
	if (s == NULL)
		return;
	for (char *p = s; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	c->names[c->nnames++] = s;
}

/* The names a certificate serves: its DNS subjectAltNames, else its CN. */
static void collect_names(struct tls_cert *c, X509 *x)
{
	GENERAL_NAMES *sans = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
		if (g->type == GEN_DNS)
			add_name(c, (const char *)ASN1_STRING_get0_data(g->d.dNSName),
			         (size_t)ASN1_STRING_length(g->d.dNSName));
	}
	GENERAL_NAMES_free(sans);
	if (c->nnames == 0) {
		char cn[256];
		int n = X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn,
		                                  sizeof(cn));
		if (n > 0)
			add_name(c, cn, (size_t)n);
	}
}

/* Reads CERT.ocsp when it exists. 0, or -1 with a message. */
static int load_ocsp(struct tls_cert *c, const char *cert_path, char *err, size_t errlen)
{
	char path[600];
	snprintf(path, sizeof(path), "%s.ocsp", cert_path);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return errno == ENOENT
		               ? 0
		               : (snprintf(err, errlen, "%s: %s", path, strerror(errno)), -1);
	c->ocsp = malloc(OCSP_MAX);
	size_t n = c->ocsp ? fread(c->ocsp, 1, OCSP_MAX, f) : 0;
	fclose(f);
	const unsigned char *p = c->ocsp;
	OCSP_RESPONSE *r = n > 0 && n < OCSP_MAX ? d2i_OCSP_RESPONSE(NULL, &p, (long)n) : NULL;
	if (r == NULL) {
		snprintf(err, errlen, "%s: not a DER OCSP response (at most %d bytes)", path,
		         OCSP_MAX);
		return -1;
	}
	OCSP_RESPONSE_free(r);
	c->ocsp_len = n;
	return 0;
}

static SSL_CTX *ctx_new(struct ec_tls_ctx *t, struct tls_cert *c, const struct ec_conf_cert *cc,
                        unsigned i, char *err, size_t errlen)
{
	char eb[256];
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		snprintf(err, errlen, "certs[%u]: %s", i, ssl_err(eb, sizeof(eb)));
		return NULL;
	}
	c->ctx = ctx;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
	                                 SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
	                              SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_set_cipher_list(ctx, CIPHERS_12) != 1) {
		snprintf(err, errlen, "certs[%u]: cipher list: %s", i, ssl_err(eb, sizeof(eb)));
		return NULL;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cc->cert) != 1) {
		snprintf(err, errlen, "certs[%u].cert: %s: %s", i, cc->cert,
		         ssl_err(eb, sizeof(eb)));
		return NULL;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, cc->key, SSL_FILETYPE_PEM) != 1) {
		snprintf(err, errlen, "certs[%u].key: %s: %s", i, cc->key, ssl_err(eb, sizeof(eb)));
		return NULL;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "certs[%u]: %s does not match the key in %s", i, cc->cert,
		         cc->key);
		ERR_clear_error();
		return NULL;
	}
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF); /* tickets only: no shared cache */
	SSL_CTX_set_num_tickets(ctx, 1);
	SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb);
	SSL_CTX_set_client_hello_cb(ctx, client_hello_cb, t);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, NULL);
	if (load_ocsp(c, cc->cert, err, errlen) != 0)
		return NULL;
	SSL_CTX_set_tlsext_status_cb(ctx, ocsp_cb);
	SSL_CTX_set_tlsext_status_arg(ctx, c);
	/* the session id context ties resumed sessions to this service */
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"edgecache", 9);
	collect_names(c, SSL_CTX_get0_certificate(ctx));
	return ctx;
}

static void ctx_free(struct ec_tls_ctx *t)
{
	for (unsigned i = 0; i < t->ncerts; i++) {
		struct tls_cert *c = &t->certs[i];
		SSL_CTX_free(c->ctx);
		for (unsigned j = 0; j < c->nnames; j++)
			free(c->names[j]);
		free(c->ocsp);
	}
	free(t->certs);
	t->magic = 0;
	free(t);
}

struct ec_tls_ctx *ec_tls_ctx_new(const struct ec_config *conf, char *err, size_t errlen)
{
	err[0] = '\0';
	if (conf->ncerts == 0)
		return NULL;
	struct ec_tls_ctx *t = calloc(1, sizeof(*t));
	if (t == NULL || (t->certs = calloc(conf->ncerts, sizeof(*t->certs))) == NULL) {
		free(t);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->magic = TLS_MAGIC;
	t->refcnt = 1;
	for (unsigned i = 0; i < conf->ncerts; i++) {
		t->ncerts = i + 1;
		if (ctx_new(t, &t->certs[i], &conf->certs[i], i, err, errlen) == NULL) {
			ctx_free(t);
			return NULL;
		}
	}
	/* Last: the keys are process-wide, so they change only with a context
	 * that is otherwise good (a reload installs it right after). */
	if (ticket_files_install(conf->tls_ticket_keys, err, errlen) != 0) {
		ctx_free(t);
		return NULL;
	}
	return t;
}

struct ec_tls_ctx *ec_tls_ctx_ref(struct ec_tls_ctx *t)
{
	__atomic_add_fetch(&t->refcnt, 1, __ATOMIC_RELAXED);
	return t;
}

void ec_tls_ctx_unref(struct ec_tls_ctx **tp)
{
	struct ec_tls_ctx *t = *tp;
	*tp = NULL;
	if (t == NULL)
		return;
	EC_CHECK_MAGIC(t, TLS_MAGIC);
	if (__atomic_sub_fetch(&t->refcnt, 1, __ATOMIC_ACQ_REL) == 0)
		ctx_free(t);
}

/* --- connections ------------------------------------------------------------- */

SSL *ec_tls_conn_new(struct ec_tls_ctx *t, int fd)
{
	EC_CHECK_MAGIC(t, TLS_MAGIC);
	SSL *s = SSL_new(t->certs[0].ctx);
	if (s == NULL)
		return NULL;
	if (SSL_set_fd(s, fd) != 1) {
		SSL_free(s);
		return NULL;
	}
	SSL_set_accept_state(s);
	return s;
}

int ec_tls_handshake(SSL *ssl, bool *want_write, const char **why)
{
	*want_write = false;
	ERR_clear_error();
	int rc = SSL_do_handshake(ssl);
	if (rc == 1)
		return 1;
	int e = SSL_get_error(ssl, rc);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		*want_write = e == SSL_ERROR_WANT_WRITE;
		errno = EAGAIN;
		return 0;
	}
	unsigned long le = ERR_peek_error();
	*why = le                       ? ERR_reason_error_string(le)
	       : e == SSL_ERROR_SYSCALL ? "connection closed"
	                                : "handshake failed";
	if (*why == NULL)
		*why = "handshake failed";
	ERR_clear_error();
	return -1;
}

bool ec_tls_is_h2(SSL *ssl)
{
	const unsigned char *p;
	unsigned len;
	SSL_get0_alpn_selected(ssl, &p, &len);
	return len == 2 && memcmp(p, "h2", 2) == 0;
}

int ec_tls_read(SSL *ssl, struct evbuffer *buf, size_t max, bool *want_write)
{
	*want_write = false;
	struct evbuffer_iovec v;
	if (evbuffer_reserve_space(buf, (ssize_t)max, &v, 1) < 1) {
		errno = ENOMEM;
		return -1;
	}
	size_t room = EC_MIN(v.iov_len, max), got = 0;
	int e = SSL_ERROR_NONE;
	ERR_clear_error();
	while (got < room) {
		size_t n = 0;
		int rc = SSL_read_ex(ssl, (char *)v.iov_base + got, room - got, &n);
		if (rc != 1) {
			e = SSL_get_error(ssl, rc);
			break;
		}
		got += n;
	}
	v.iov_len = got;
	evbuffer_commit_space(buf, &v, 1);
	if (got > 0)
		return (int)got;
	switch (e) {
	case SSL_ERROR_WANT_WRITE:
		*want_write = true;
		/* fall through */
	case SSL_ERROR_WANT_READ:
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0 && errno == 0)
			return 0; /* FIN without close_notify: an end all the same */
		                  /* fall through */
	default:
		ERR_clear_error();
		errno = ECONNRESET;
		return -1;
	}
}

bool ec_tls_pending(SSL *ssl)
{
	return SSL_pending(ssl) > 0;
}

int ec_tls_write(SSL *ssl, struct evbuffer *buf)
{
	size_t total = 0;
	ERR_clear_error();
	for (;;) {
		size_t len = evbuffer_get_length(buf);
		if (len == 0)
			break;
		/* Records of up to 16 KiB: small pieces (h2 frames) are joined. */
		size_t want = EC_MIN(len, (size_t)16384);
		unsigned char *p = evbuffer_pullup(buf, (ssize_t)want);
		size_t n = 0;
		if (p == NULL) {
			errno = ENOMEM;
			return -1;
		}
		int rc = SSL_write_ex(ssl, p, want, &n);
		if (rc != 1) {
			int e = SSL_get_error(ssl, rc);
			if (total > 0)
				break;
			if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
				errno = EAGAIN;
				return -1;
			}
			ERR_clear_error();
			errno = EPIPE;
			return -1;
		}
		evbuffer_drain(buf, n);
		total += n;
	}
	return (int)total;
}

void ec_tls_conn_free(SSL **sslp)
{
	SSL *s = *sslp;
	*sslp = NULL;
	if (s == NULL)
		return;
	if (SSL_is_init_finished(s))
		SSL_shutdown(s); /* one attempt: close_notify if the socket takes it */
	ERR_clear_error();
	SSL_free(s);
}
