/*
 * health_check.c — the active health checker thread (see health_check.h).
 *
 * Each checked backend has one `struct probe`: a timer that starts a check
 * every interval, and while a check runs its socket, read/write event and a
 * timeout. The HTTP check sends one request with Connection: close and reads
 * only the status line. For groups that speak HTTP/2 to their backends
 * (protocol h2c, or h2 with ALPN), the check is an HTTP/2 exchange through an
 * nghttp2 client session: the preface, SETTINGS and one GET stream out, then
 * frames in until the response's :status. Everything here belongs to the
 * checker thread; the main thread only sets `stop` (atomically) and joins.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>

#include "health_check.h"
#include "log.h"
#include "origin_stats.h"
#include "origin_tls.h"
#include "site.h"
#include "worker.h"

#define PROBE_MAGIC 0x48434b31u

struct ec_hc;

struct probe {
	unsigned magic;
	struct ec_hc *hc;
	const struct ec_backend *b;
	const struct ec_conf_lb *c;
	bool http;
	int fd;
	struct event *ev_io, *ev_timeout, *ev_next;
	char req[600];
	size_t req_len, req_off;
	char resp[256];
	size_t resp_len;
	bool connected;
	SSL_CTX *tls_ctx; /* http checks of https backends: the group's context */
	SSL *ssl;
	bool handshaking;
	bool h2;                /* the group speaks HTTP/2 to its backends */
	nghttp2_session *sess;  /* while an HTTP/2 check runs */
	int h2_status;          /* the :status seen, 0 before */
};

struct ec_hc {
	struct ec_site *site;
	struct event_base *base;
	struct event *ev_stop_poll;
	struct probe *probes;
	unsigned nprobes;
	pthread_t thread;
	int stop;
};

static void probe_start(evutil_socket_t fd, short what, void *arg);

static void probe_end(struct probe *p, bool ok, const char *why)
{
	if (p->sess != NULL) {
		nghttp2_session_del(p->sess);
		p->sess = NULL;
	}
	if (p->ssl != NULL) {
		SSL_free(p->ssl);
		p->ssl = NULL;
	}
	p->handshaking = false;
	if (p->fd >= 0) {
		event_del(p->ev_io);
		event_free(p->ev_io);
		p->ev_io = NULL;
		close(p->fd);
		p->fd = -1;
	}
	event_del(p->ev_timeout);
	ec_backend_check_result(p->b, p->c, ok, why, ec_time_now());
	struct timeval tv = {
	        (time_t)p->c->health_interval,
	        (suseconds_t)((p->c->health_interval - (time_t)p->c->health_interval) * 1e6)};
	event_add(p->ev_next, &tv);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct probe *p = arg;
	EC_CHECK_MAGIC(p, PROBE_MAGIC);
	probe_end(p, false, "timeout");
}

/* The status line is in: "HTTP/1.x NNN ...". */
static void check_status(struct probe *p)
{
	char why[96];
	unsigned st = 0;
	if (p->resp_len < 12 || memcmp(p->resp, "HTTP/1.", 7) != 0 || p->resp[8] != ' ' ||
	    sscanf(p->resp + 9, "%3u", &st) != 1) {
		probe_end(p, false, "invalid response");
		return;
	}
	if (st != p->c->health_status) {
		snprintf(why, sizeof(why), "status %u, expected %u", st, p->c->health_status);
		probe_end(p, false, why);
		return;
	}
	snprintf(why, sizeof(why), "status %u", st);
	probe_end(p, true, why);
}

static void on_io(evutil_socket_t fd, short what, void *arg);

/* Waits for the socket to become readable or writable. */
static void io_wait(struct probe *p, short what)
{
	event_del(p->ev_io);
	event_assign(p->ev_io, p->hc->base, p->fd, what | EV_PERSIST, on_io, p);
	event_add(p->ev_io, NULL);
}

/* TLS: the handshake's next step; true when it is done. */
static bool tls_step(struct probe *p)
{
	char why[300], msg[320];
	bool want_write = false;
	int rc = ec_otls_handshake(p->ssl, &want_write, why, sizeof(why));
	if (rc == 0) {
		io_wait(p, want_write ? EV_WRITE : EV_READ);
		return false;
	}
	if (rc < 0) {
		snprintf(msg, sizeof(msg), "TLS: %s", why);
		probe_end(p, false, msg);
		return false;
	}
	p->handshaking = false;
	io_wait(p, EV_WRITE);
	return true;
}

/* send(2) or SSL_write: bytes, or -1 with errno EAGAIN (wait for `*wait`) or another. */
static ssize_t p_send(struct probe *p, const char *buf, size_t n, short *wait)
{
	*wait = EV_WRITE;
	if (p->ssl == NULL)
		return send(p->fd, buf, n, MSG_NOSIGNAL);
	int r = SSL_write(p->ssl, buf, (int)n);
	if (r > 0)
		return r;
	int e = SSL_get_error(p->ssl, r);
	ERR_clear_error();
	errno = e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ ? EAGAIN : EPIPE;
	if (e == SSL_ERROR_WANT_READ)
		*wait = EV_READ;
	return -1;
}

/* recv(2) or SSL_read: bytes, 0 closed, -1 with errno. */
static ssize_t p_recv(struct probe *p, char *buf, size_t n)
{
	if (p->ssl == NULL)
		return recv(p->fd, buf, n, 0);
	int r = SSL_read(p->ssl, buf, (int)n);
	if (r > 0)
		return r;
	int e = SSL_get_error(p->ssl, r);
	ERR_clear_error();
	if (e == SSL_ERROR_ZERO_RETURN)
		return 0;
	errno = e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? EAGAIN : ECONNRESET;
	return -1;
}

/* --- the HTTP/2 check -------------------------------------------------------------- */

static int h2_on_header(nghttp2_session *sess, const nghttp2_frame *frame, const uint8_t *name,
			size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
			void *arg)
{
	struct probe *p = arg;
	if (frame->hd.type == NGHTTP2_HEADERS && frame->hd.stream_id == 1 && namelen == 7 &&
	    memcmp(name, ":status", 7) == 0 && valuelen == 3) {
		int st = 0;
		for (size_t i = 0; i < 3; i++)
			st = st * 10 + (value[i] >= '0' && value[i] <= '9' ? value[i] - '0' : 0);
		if (st >= 200) /* 1xx: an interim response, the final one follows */
			p->h2_status = st;
	}
	return 0;
}

/* The client session with one GET stream queued; its bytes go to p->req. */
static bool h2_begin(struct probe *p, char *why, size_t whylen)
{
	nghttp2_session_callbacks *cb;
	if (nghttp2_session_callbacks_new(&cb) != 0) {
		snprintf(why, whylen, "out of memory");
		return false;
	}
	nghttp2_session_callbacks_set_on_header_callback(cb, h2_on_header);
	int rc = nghttp2_session_client_new(&p->sess, cb, p);
	nghttp2_session_callbacks_del(cb);
	if (rc != 0) {
		p->sess = NULL;
		snprintf(why, whylen, "out of memory");
		return false;
	}
	const char *host = p->b->send_host[0] ? p->b->send_host : p->b->host_field;
	const char *scheme = p->b->tls ? "https" : "http";
	const char *path = p->c->health_path;
#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE}
	const nghttp2_nv nva[] = {NV(":method", "GET"), NV(":scheme", scheme),
				  NV(":authority", host), NV(":path", path),
				  NV("user-agent", "edgecache-health")};
#undef NV
	p->h2_status = 0;
	if (nghttp2_submit_settings(p->sess, NGHTTP2_FLAG_NONE, NULL, 0) != 0 ||
	    nghttp2_submit_request(p->sess, NULL, nva, EC_ARRAY_LEN(nva), NULL, p) != 1) {
		snprintf(why, whylen, "cannot build the HTTP/2 request");
		return false;
	}
	p->req_len = 0;
	for (;;) {
		const uint8_t *data;
		ssize_t n = nghttp2_session_mem_send(p->sess, &data);
		if (n < 0 || (size_t)n > sizeof(p->req) - p->req_len) {
			snprintf(why, whylen, "cannot build the HTTP/2 request");
			return false;
		}
		if (n == 0)
			break;
		memcpy(p->req + p->req_len, data, (size_t)n);
		p->req_len += (size_t)n;
	}
	return true;
}

/* Bytes from the backend: into the session; the check ends at the :status. */
static void h2_input(struct probe *p, const char *buf, size_t n)
{
	char why[96];
	ssize_t rc = nghttp2_session_mem_recv(p->sess, (const uint8_t *)buf, n);
	if (rc < 0) {
		snprintf(why, sizeof(why), "HTTP/2: %s", nghttp2_strerror((int)rc));
		probe_end(p, false, why);
		return;
	}
	if (p->h2_status == 0)
		return;
	if ((unsigned)p->h2_status != p->c->health_status) {
		snprintf(why, sizeof(why), "status %d, expected %u", p->h2_status,
			 p->c->health_status);
		probe_end(p, false, why);
		return;
	}
	snprintf(why, sizeof(why), "status %d (HTTP/2)", p->h2_status);
	probe_end(p, true, why);
}

static void on_io(evutil_socket_t fd, short what, void *arg)
{
	struct probe *p = arg;
	EC_CHECK_MAGIC(p, PROBE_MAGIC);
	char why[128];
	if (!p->connected) {
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err != 0) {
			snprintf(why, sizeof(why), "connect: %s", strerror(err));
			probe_end(p, false, why);
			return;
		}
		p->connected = true;
		if (!p->http) {
			probe_end(p, true, "connected");
			return;
		}
		if (p->tls_ctx != NULL) {
			p->ssl = ec_otls_new(p->tls_ctx, fd, p->b->tls_name, NULL);
			if (p->ssl == NULL ||
			    (p->h2 &&
			     SSL_set_alpn_protos(p->ssl, (const unsigned char *)"\x02h2", 3) != 0)) {
				probe_end(p, false, "out of memory");
				return;
			}
			p->handshaking = true;
		}
	}
	if (p->handshaking && !tls_step(p))
		return;
	if (p->h2 && p->sess == NULL) {
		if (p->ssl != NULL && !ec_otls_alpn_is_h2(p->ssl)) {
			probe_end(p, false, "the backend did not agree to h2 (ALPN)");
			return;
		}
		if (!h2_begin(p, why, sizeof(why))) {
			probe_end(p, false, why);
			return;
		}
	}
	if (p->req_off < p->req_len) {
		short wait;
		ssize_t n = p_send(p, p->req + p->req_off, p->req_len - p->req_off, &wait);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			io_wait(p, wait);
			return;
		}
		if (n < 0) {
			snprintf(why, sizeof(why), "send: %s", strerror(errno));
			probe_end(p, false, why);
			return;
		}
		if (n > 0)
			p->req_off += (size_t)n;
		if (p->req_off == p->req_len)
			io_wait(p, EV_READ);
		return;
	}
	ssize_t n = p_recv(p, p->resp + p->resp_len, sizeof(p->resp) - 1 - p->resp_len);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		snprintf(why, sizeof(why), "recv: %s", strerror(errno));
		probe_end(p, false, why);
		return;
	}
	if (p->h2) {
		if (n == 0)
			probe_end(p, false, "closed without a response");
		else
			h2_input(p, p->resp, (size_t)n);
		return;
	}
	p->resp_len += (size_t)n;
	p->resp[p->resp_len] = '\0';
	if (strstr(p->resp, "\r\n") != NULL || p->resp_len == sizeof(p->resp) - 1 || n == 0) {
		if (n == 0 && strstr(p->resp, "\r\n") == NULL && p->resp_len < 12) {
			probe_end(p, false, "closed without a response");
			return;
		}
		check_status(p);
	}
}

static void probe_start(evutil_socket_t unused, short what, void *arg)
{
	struct probe *p = arg;
	EC_CHECK_MAGIC(p, PROBE_MAGIC);
	char why[128];
	p->connected = false;
	p->req_off = 0;
	p->resp_len = 0;
	struct timeval tv = {
	        (time_t)p->c->health_timeout,
	        (suseconds_t)((p->c->health_timeout - (time_t)p->c->health_timeout) * 1e6)};
	event_add(p->ev_timeout, &tv);
	int fd = socket(p->b->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(why, sizeof(why), "socket: %s", strerror(errno));
		probe_end(p, false, why);
		return;
	}
	if (connect(fd, (const struct sockaddr *)&p->b->addr, p->b->addrlen) < 0 &&
	    errno != EINPROGRESS) {
		snprintf(why, sizeof(why), "connect: %s", strerror(errno));
		close(fd);
		probe_end(p, false, why);
		return;
	}
	p->fd = fd;
	p->ev_io = event_new(p->hc->base, fd, EV_WRITE | EV_PERSIST, on_io, p);
	if (p->ev_io == NULL) {
		close(fd);
		p->fd = -1;
		probe_end(p, false, "out of memory");
		return;
	}
	event_add(p->ev_io, NULL);
}

static void on_stop_poll(evutil_socket_t fd, short what, void *arg)
{
	struct ec_hc *hc = arg;
	if (__atomic_load_n(&hc->stop, __ATOMIC_ACQUIRE))
		event_base_loopbreak(hc->base);
}

static void *hc_main(void *arg)
{
	struct ec_hc *hc = arg;
	event_base_dispatch(hc->base);
	return NULL;
}

static void hc_free(struct ec_hc *hc)
{
	for (unsigned i = 0; i < hc->nprobes; i++) {
		struct probe *p = &hc->probes[i];
		if (p->sess != NULL)
			nghttp2_session_del(p->sess);
		if (p->ssl != NULL)
			SSL_free(p->ssl);
		if (p->fd >= 0)
			close(p->fd);
		if (p->ev_io)
			event_free(p->ev_io);
		if (p->ev_timeout)
			event_free(p->ev_timeout);
		if (p->ev_next)
			event_free(p->ev_next);
	}
	free(hc->probes);
	if (hc->ev_stop_poll)
		event_free(hc->ev_stop_poll);
	if (hc->base)
		event_base_free(hc->base);
	ec_site_unref(&hc->site);
	free(hc);
}

struct ec_hc *ec_hc_start(struct ec_site *s)
{
	unsigned n = 0;
	for (unsigned g = 0; g < s->ngroups; g++)
		if (strcmp(s->groups[g].lbc->health_check, "none") != 0)
			n += s->groups[g].n;
	if (n == 0)
		return NULL;
	struct ec_hc *hc = calloc(1, sizeof(*hc));
	if (hc == NULL)
		return NULL;
	hc->site = ec_site_ref(s);
	hc->base = event_base_new();
	hc->probes = calloc(n, sizeof(*hc->probes));
	hc->ev_stop_poll = hc->base ? event_new(hc->base, -1, EV_PERSIST, on_stop_poll, hc) : NULL;
	if (hc->base == NULL || hc->probes == NULL || hc->ev_stop_poll == NULL)
		goto fail;
	for (unsigned g = 0; g < s->ngroups; g++) {
		const struct ec_group *gr = &s->groups[g];
		if (strcmp(gr->lbc->health_check, "none") == 0)
			continue;
		for (unsigned i = 0; i < gr->n; i++) {
			struct probe *p = &hc->probes[hc->nprobes++];
			p->magic = PROBE_MAGIC;
			p->hc = hc;
			p->b = &s->backends[gr->first + i];
			p->c = gr->lbc;
			p->fd = -1;
			p->http = strcmp(gr->lbc->health_check, "http") == 0;
			p->tls_ctx = p->http && p->b->tls ? gr->tls : NULL;
			p->h2 = p->http && gr->h2;
			const char *host = p->b->send_host[0] ? p->b->send_host : p->b->host_field;
			int len = snprintf(
			        p->req, sizeof(p->req),
			        "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: edgecache-health\r\n"
			        "Connection: close\r\n\r\n",
			        gr->lbc->health_path, host);
			if (len < 0 || (size_t)len >= sizeof(p->req))
				goto fail;
			p->req_len = (size_t)len;
			p->ev_timeout = evtimer_new(hc->base, on_timeout, p);
			p->ev_next = evtimer_new(hc->base, probe_start, p);
			if (p->ev_timeout == NULL || p->ev_next == NULL)
				goto fail;
			/* the first check at once: a dead backend is found before traffic piles on
			 */
			struct timeval now = {0, 0};
			event_add(p->ev_next, &now);
		}
	}
	struct timeval tv = {0, 50000};
	event_add(hc->ev_stop_poll, &tv);
	if (pthread_create(&hc->thread, NULL, hc_main, hc) != 0) {
		ec_log_err("health checks: cannot start the thread");
		goto fail;
	}
	ec_log_info("health checks: %u backends", n);
	return hc;
fail:
	hc_free(hc);
	return NULL;
}

void ec_hc_stop(struct ec_hc **hp)
{
	struct ec_hc *hc = *hp;
	*hp = NULL;
	if (hc == NULL)
		return;
	__atomic_store_n(&hc->stop, 1, __ATOMIC_RELEASE);
	pthread_join(hc->thread, NULL);
	hc_free(hc);
}
