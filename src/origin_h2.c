/*
 * origin_h2.c — HTTP/2 (h2c, prior knowledge) streams to origins; see
 * origin_h2.h for the contract.
 *
 * Ownership: a connection (`struct ec_h2c`) belongs to its worker's list
 * (thread-local); a stream (`struct ec_h2s`) belongs to its fetch (f->h2s)
 * and is linked into its connection. nghttp2 holds the stream as stream
 * user data; ec_h2_release clears that before the stream is freed, so a
 * late nghttp2 callback finds NULL. A connection is freed only outside its
 * own callbacks (`busy`), when no stream is left and it is dead or idle too
 * long.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <nghttp2/nghttp2.h>

#include "log.h"
#include "netio.h"
#include "origin_h2.h"
#include "origin_priv.h"
#include "origin_stats.h"
#include "origin_tls.h"
#include "site.h"
#include "tls.h"
#include "worker.h"

#define H2C_MAGIC   0x48324331u
#define H2S_MAGIC   0x48325331u
#define H2_WINDOW   (256 * 1024)
#define H2_OUT_HIGH (64 * 1024)
#define H2_MAX_HDRS 128

struct ec_h2s;

struct ec_h2c {
	unsigned magic;
	struct ec_h2c *next;
	struct ec_worker *w;
	uint64_t id;
	char name[300];
	int fd;
	bool connecting, dead, writing;
	SSL_CTX *tls_ctx; /* h2 over TLS: the group's context, NULL for h2c */
	char tls_name[256];
	SSL *ssl;
	bool handshaking;
	struct evbuffer *in; /* TLS: decrypted bytes for nghttp2 */
	unsigned busy;       /* inside our callbacks: do not free */
	nghttp2_session *sess;
	struct event *ev_read, *ev_write, *ev_timer;
	struct evbuffer *out;
	struct ec_h2s *streams; /* doubly linked */
	unsigned nstreams;
};

struct ec_h2s {
	unsigned magic;
	struct ec_h2s *next, *prev;
	struct ec_fetch *f;
	struct ec_h2c *c;
	int32_t sid;
	struct event *timer;
	struct evbuffer *in;      /* response body not yet handed over */
	struct evbuffer *reqbody; /* request body pulled, not yet framed */
	size_t unconsumed;        /* handed over while the owner was congested */
	bool paused, eof, head_done, req_done, deferred, body_err;
	int status;
	char *hbuf;
	size_t hlen, hcap;
	struct {
		size_t no, nl, vo, vl;
	} h[H2_MAX_HDRS];
	unsigned nh;
	bool has_cl;
	uint64_t cl;
};

static __thread struct ec_h2c *conns;

static void c_flush(struct ec_h2c *c);
static void c_fatal(struct ec_h2c *c, enum ec_fetch_err err);
static void s_deliver(struct ec_h2s *s);

/* --- streams ----------------------------------------------------------------- */

static struct ec_h2s *s_of(nghttp2_session *sess, int32_t sid)
{
	struct ec_h2s *s = nghttp2_session_get_stream_user_data(sess, sid);
	if (s != NULL)
		EC_CHECK_MAGIC(s, H2S_MAGIC);
	return s;
}

static void s_unlink(struct ec_h2s *s)
{
	struct ec_h2c *c = s->c;
	if (c == NULL)
		return;
	if (s->prev)
		s->prev->next = s->next;
	else
		c->streams = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
	c->nstreams--;
	if (s->sid > 0)
		nghttp2_session_set_stream_user_data(c->sess, s->sid, NULL);
	s->c = NULL;
	if (c->nstreams == 0 && !c->dead)
		event_add(c->ev_timer, c->w->tv_pool_idle);
}

static void s_free(struct ec_h2s *s)
{
	s_unlink(s);
	if (s->timer)
		event_free(s->timer);
	if (s->in)
		evbuffer_free(s->in);
	if (s->reqbody)
		evbuffer_free(s->reqbody);
	free(s->hbuf);
	s->magic = 0;
	free(s);
}

/* Ends the fetch's try with err (the stream is gone or must go). */
static void s_fail(struct ec_h2s *s, enum ec_fetch_err err)
{
	struct ec_fetch *f = s->f;
	ec_fetch__fail(f, err); /* releases (frees) s through ec_h2_release */
}

static void s_timer_arm(struct ec_h2s *s)
{
	struct ec_worker *w = s->f->wrk;
	if (s->paused)
		event_del(s->timer);
	else
		event_add(s->timer, s->head_done ? w->tv_between : w->tv_first_byte);
}

static void s_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct ec_h2s *s = arg;
	EC_CHECK_MAGIC(s, H2S_MAGIC);
	struct ec_h2c *c = s->c;
	if (c != NULL)
		c->busy++;
	s_fail(s, s->head_done ? EC_FETCH_E_BODY_TIMEOUT : EC_FETCH_E_TIMEOUT);
	if (c != NULL) {
		c->busy--;
		c_flush(c);
	}
}

static bool hstore(struct ec_h2s *s, const uint8_t *p, size_t n, size_t *off)
{
	if (s->hlen + n + 1 > s->hcap) {
		size_t cap = s->hcap ? s->hcap * 2 : 1024;
		while (cap < s->hlen + n + 1)
			cap *= 2;
		char *nb = realloc(s->hbuf, cap);
		if (nb == NULL)
			return false;
		s->hbuf = nb;
		s->hcap = cap;
	}
	*off = s->hlen;
	memcpy(s->hbuf + s->hlen, p, n);
	s->hlen += n;
	s->hbuf[s->hlen++] = '\0';
	return true;
}

/* The final response head is in: hand it over. */
static void s_head(struct ec_h2s *s)
{
	struct ec_fetch *f = s->f;
	struct ec_hdr hdrs[H2_MAX_HDRS];
	for (unsigned i = 0; i < s->nh; i++) {
		hdrs[i].name = (struct ec_str){s->hbuf + s->h[i].no, s->h[i].nl};
		hdrs[i].value = (struct ec_str){s->hbuf + s->h[i].vo, s->h[i].vl};
	}
	struct ec_h1_resp resp;
	memset(&resp, 0, sizeof(resp));
	resp.minor = 1;
	resp.status = s->status;
	resp.reason = EC_STR_NULL;
	resp.hdrs = hdrs;
	resp.nhdrs = s->nh;
	resp.content_length = s->has_cl ? s->cl : 0;
	if (f->r.meth == EC_M_HEAD || s->status == 204 || s->status == 304)
		resp.framing = EC_H1_BODY_NONE;
	else if (s->has_cl)
		resp.framing = EC_H1_BODY_LENGTH;
	else
		resp.framing = EC_H1_BODY_CLOSE; /* the stream's end ends it */
	s->head_done = true;
	f->resp_byte = true;
	s_timer_arm(s);
	ec_fetch__head(f, &resp);
}

/* Hands buffered body bytes to the owner while it takes them; finishes the
 * fetch at the stream's end. May free s (and the fetch). */
static void s_deliver(struct ec_h2s *s)
{
	struct ec_h2c *c = s->c;
	while (!s->paused && evbuffer_get_length(s->in) > 0) {
		size_t n = evbuffer_get_length(s->in);
		bool more = ec_fetch__body(s->f, s->in);
		size_t taken = n - evbuffer_get_length(s->in);
		if (more) {
			if (c != NULL && taken > 0 &&
			    nghttp2_session_consume(c->sess, s->sid, taken) != 0)
				nghttp2_session_consume_connection(c->sess, taken);
		} else {
			s->unconsumed += taken;
			s->paused = true;
			s_timer_arm(s);
		}
		if (taken == 0)
			break;
	}
	if (s->eof && evbuffer_get_length(s->in) == 0)
		ec_fetch__done(s->f); /* frees s */
}

/* --- nghttp2 callbacks --------------------------------------------------------- */

static int cb_header(nghttp2_session *sess, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user)
{
	if (frame->hd.type != NGHTTP2_HEADERS)
		return 0;
	struct ec_h2s *s = s_of(sess, frame->hd.stream_id);
	if (s == NULL || s->head_done)
		return 0; /* trailers are not relayed */
	if (namelen == 7 && memcmp(name, ":status", 7) == 0) {
		int st = 0;
		for (size_t i = 0; i < valuelen && valuelen == 3; i++)
			st = st * 10 + (value[i] - '0');
		s->status = st;
		return 0;
	}
	if (namelen > 0 && name[0] == ':')
		return 0;
	if (s->nh >= H2_MAX_HDRS)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	if (namelen == 14 && memcmp(name, "content-length", 14) == 0) {
		uint64_t v = 0;
		bool ok = valuelen > 0 && valuelen < 20;
		for (size_t i = 0; ok && i < valuelen; i++) {
			ok = value[i] >= '0' && value[i] <= '9';
			v = v * 10 + (uint64_t)(value[i] - '0');
		}
		if (ok) {
			s->has_cl = true;
			s->cl = v;
		}
	}
	size_t no, vo;
	if (!hstore(s, name, namelen, &no) || !hstore(s, value, valuelen, &vo))
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	s->h[s->nh].no = no;
	s->h[s->nh].nl = namelen;
	s->h[s->nh].vo = vo;
	s->h[s->nh].vl = valuelen;
	s->nh++;
	return 0;
}

static int cb_frame_recv(nghttp2_session *sess, const nghttp2_frame *frame, void *user)
{
	struct ec_h2c *c = user;
	if (frame->hd.type == NGHTTP2_GOAWAY) {
		c->dead = true; /* no new streams; nghttp2 refuses those above last_stream_id */
		return 0;
	}
	if (frame->hd.type != NGHTTP2_HEADERS)
		return 0;
	struct ec_h2s *s = s_of(sess, frame->hd.stream_id);
	if (s == NULL || s->head_done)
		return 0;
	if (s->status >= 100 && s->status < 200) {
		s->nh = 0; /* interim: forget its fields */
		s->hlen = 0;
		s->has_cl = false;
		s->status = 0;
		return 0;
	}
	if (s->status < 200 || s->status > 999) {
		nghttp2_submit_rst_stream(sess, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
		                          NGHTTP2_PROTOCOL_ERROR);
		return 0;
	}
	s_head(s);
	return 0;
}

static int cb_data(nghttp2_session *sess, uint8_t flags, int32_t sid, const uint8_t *data,
                   size_t len, void *user)
{
	struct ec_h2s *s = s_of(sess, sid);
	if (s == NULL) {
		nghttp2_session_consume_connection(sess, len);
		return 0;
	}
	evbuffer_add(s->in, data, len);
	if (!s->paused) {
		s_timer_arm(s);
		s_deliver(s);
	}
	return 0;
}

static int cb_stream_close(nghttp2_session *sess, int32_t sid, uint32_t error, void *user)
{
	struct ec_h2s *s = s_of(sess, sid);
	if (s == NULL)
		return 0;
	nghttp2_session_set_stream_user_data(sess, sid, NULL);
	s->sid = -s->sid; /* closed: s_unlink must not touch it */
	if (s->body_err) {
		s_fail(s, EC_FETCH_E_CLIENT_BODY);
	} else if (error == NGHTTP2_NO_ERROR && s->head_done) {
		s->eof = true;
		s_deliver(s);
	} else if (s->head_done) {
		s_fail(s, EC_FETCH_E_TRUNCATED);
	} else {
		if (error != NGHTTP2_NO_ERROR && error != NGHTTP2_REFUSED_STREAM)
			ec_log_warn("origin %s: stream reset (%s)", s->c->name,
			            nghttp2_http2_strerror(error));
		s_fail(s, error == NGHTTP2_NO_ERROR ? EC_FETCH_E_BAD_RESPONSE : EC_FETCH_E_CLOSED);
	}
	return 0;
}

static ssize_t read_body(nghttp2_session *sess, int32_t sid, uint8_t *buf, size_t length,
                         uint32_t *flags, nghttp2_data_source *src, void *user)
{
	struct ec_h2s *s = src->ptr;
	if (s == NULL || s->magic != H2S_MAGIC)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	struct ec_fetch *f = s->f;
	if (evbuffer_get_length(s->reqbody) == 0 && !s->req_done) {
		bool done = false;
		long n = f->ops->body_pull(f->owner, s->reqbody, length, &done);
		if (n < 0) {
			s->body_err = true;
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
		}
		if (n > 0)
			f->body_pulled = true;
		if (done)
			s->req_done = true;
	}
	int n = evbuffer_remove(s->reqbody, buf, length);
	if (n < 0)
		n = 0;
	if (s->req_done && evbuffer_get_length(s->reqbody) == 0) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		f->req_sent = true;
		f->req_body_done = true;
	} else if (n == 0) {
		s->deferred = true;
		return NGHTTP2_ERR_DEFERRED;
	}
	return n;
}

/* --- connections ----------------------------------------------------------------- */

static void c_free(struct ec_h2c *c)
{
	EC_ASSERT(c->nstreams == 0);
	for (struct ec_h2c **pp = &conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	nghttp2_session_del(c->sess);
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	if (c->in != NULL)
		evbuffer_free(c->in);
	event_free(c->ev_read);
	event_free(c->ev_write);
	event_free(c->ev_timer);
	evbuffer_free(c->out);
	if (c->fd >= 0)
		close(c->fd);
	c->magic = 0;
	free(c);
}

static void c_maybe_free(struct ec_h2c *c)
{
	if (c->busy == 0 && c->nstreams == 0 && c->dead)
		c_free(c);
}

/* The connection is broken: every stream on it fails with err (a stream that
 * already has its head: truncated). */
static void c_fatal(struct ec_h2c *c, enum ec_fetch_err err)
{
	if (!c->dead)
		ec_log_warn("origin %s: HTTP/2 connection lost", c->name);
	c->dead = true;
	event_del(c->ev_read);
	event_del(c->ev_write);
	c->busy++;
	while (c->streams != NULL) {
		struct ec_h2s *s = c->streams;
		s_unlink(s); /* the session is unusable: forget the stream there */
		s_fail(s, s->head_done ? EC_FETCH_E_TRUNCATED : err);
	}
	c->busy--;
}

static void c_set_writing(struct ec_h2c *c, bool on)
{
	if (on == c->writing)
		return;
	if (on)
		event_add(c->ev_write, NULL);
	else
		event_del(c->ev_write);
	c->writing = on;
}

/* Frames nghttp2 has to send, onto the socket. */
static void c_flush(struct ec_h2c *c)
{
	if (c->connecting || c->handshaking || c->fd < 0 ||
	    (c->dead && c->nstreams == 0 && c->busy == 0))
		return;
	for (;;) {
		while (evbuffer_get_length(c->out) < H2_OUT_HIGH) {
			const uint8_t *data;
			ssize_t n = nghttp2_session_mem_send(c->sess, &data);
			if (n < 0) {
				c_fatal(c, EC_FETCH_E_CLOSED);
				return;
			}
			if (n == 0)
				break;
			evbuffer_add(c->out, data, (size_t)n);
		}
		if (evbuffer_get_length(c->out) == 0)
			break;
		int n = c->ssl ? ec_tls_write(c->ssl, c->out) : ec_netio_write(c->out, c->fd);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			c_fatal(c, EC_FETCH_E_CLOSED);
			return;
		}
		if (evbuffer_get_length(c->out) > 0)
			break; /* the socket is full */
	}
	c_set_writing(c, evbuffer_get_length(c->out) > 0);
}

/* TLS handshake steps, ALPN must say h2; then the preface goes out. */
static void c_handshake(struct ec_h2c *c)
{
	bool want_write = false;
	char why[320];
	int rc = ec_otls_handshake(c->ssl, &want_write, why, sizeof(why));
	if (rc == 0) {
		c_set_writing(c, want_write);
		return;
	}
	if (rc == 1 && !ec_otls_alpn_is_h2(c->ssl)) {
		snprintf(why, sizeof(why), "the origin did not agree to h2 (ALPN)");
		rc = -1;
	}
	if (rc < 0) {
		ec_log_warn("origin %s: TLS with %s: %s", c->name, c->tls_name, why);
		c_fatal(c, EC_FETCH_E_TLS);
		return;
	}
	c->handshaking = false;
	EC_STAT_INC(&c->w->stats, origin_tls_handshakes);
	if (SSL_session_reused(c->ssl))
		EC_STAT_INC(&c->w->stats, origin_tls_resumed);
	event_del(c->ev_timer);
	c_set_writing(c, false);
	c_flush(c);
}

/* TLS: decrypts what the socket has into c->in and feeds nghttp2. */
static void c_read_tls(struct ec_h2c *c)
{
	for (;;) {
		int n = ec_otls_read(c->ssl, c->in, 65536);
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			c_fatal(c, EC_FETCH_E_CLOSED);
			return;
		}
		size_t len = evbuffer_get_length(c->in);
		ssize_t rv = nghttp2_session_mem_recv(c->sess, evbuffer_pullup(c->in, -1), len);
		evbuffer_drain(c->in, len);
		if (rv < 0) {
			ec_log_warn("origin %s: HTTP/2: %s", c->name, nghttp2_strerror((int)rv));
			c_fatal(c, EC_FETCH_E_BAD_RESPONSE);
			return;
		}
		if (c->dead)
			return;
	}
}

/* h2c: reads what the socket has and feeds nghttp2. */
static void c_read_plain(struct ec_h2c *c, int fd)
{
	uint8_t buf[16384];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			break;
		if (n <= 0) {
			c_fatal(c, EC_FETCH_E_CLOSED);
			break;
		}
		ssize_t rv = nghttp2_session_mem_recv(c->sess, buf, (size_t)n);
		if (rv < 0) {
			ec_log_warn("origin %s: HTTP/2: %s", c->name, nghttp2_strerror((int)rv));
			c_fatal(c, EC_FETCH_E_BAD_RESPONSE);
			break;
		}
		if ((size_t)n < sizeof(buf))
			break;
	}
}

static void c_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct ec_h2c *c = arg;
	EC_CHECK_MAGIC(c, H2C_MAGIC);
	c->busy++;
	c->w->activity++;
	if (c->handshaking) {
		c_handshake(c);
		c->busy--;
		c_maybe_free(c);
		return;
	}
	if (c->ssl != NULL)
		c_read_tls(c);
	else
		c_read_plain(c, fd);
	c_flush(c);
	if (!nghttp2_session_want_read(c->sess) && !nghttp2_session_want_write(c->sess))
		c->dead = true;
	c->busy--;
	c_maybe_free(c);
}

static void c_on_write(evutil_socket_t fd, short what, void *arg)
{
	struct ec_h2c *c = arg;
	EC_CHECK_MAGIC(c, H2C_MAGIC);
	c->busy++;
	if (c->connecting) {
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err != 0) {
			ec_log_warn("origin %s: connect: %s", c->name, strerror(err));
			c_fatal(c, EC_FETCH_E_CONNECT);
			c->busy--;
			c_maybe_free(c);
			return;
		}
		c->connecting = false;
		event_add(c->ev_read, NULL);
		if (c->tls_ctx != NULL) {
			c->ssl = ec_otls_new(c->tls_ctx, fd, c->tls_name, c->name);
			if (c->ssl == NULL ||
			    SSL_set_alpn_protos(c->ssl, (const unsigned char *)"\x02h2", 3) != 0) {
				c_fatal(c, EC_FETCH_E_RESOURCES);
				c->busy--;
				c_maybe_free(c);
				return;
			}
			c->handshaking = true; /* under the connect timer still */
		} else {
			event_del(c->ev_timer);
		}
	}
	if (c->handshaking) {
		c_handshake(c);
		c->busy--;
		c_maybe_free(c);
		return;
	}
	c_flush(c);
	c->busy--;
	c_maybe_free(c);
}

static void c_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct ec_h2c *c = arg;
	EC_CHECK_MAGIC(c, H2C_MAGIC);
	if (c->connecting || c->handshaking) {
		ec_log_warn("origin %s: %s", c->name,
		            ec_fetch_err_text(EC_FETCH_E_CONNECT_TIMEOUT));
		c->busy++;
		c_fatal(c, EC_FETCH_E_CONNECT_TIMEOUT);
		c->busy--;
	} else if (c->nstreams == 0) {
		c->dead = true; /* idle too long */
	}
	c_maybe_free(c);
}

static struct ec_h2c *c_new(struct ec_worker *w, const struct ec_backend *b, SSL_CTX *tls)
{
	struct ec_h2c *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	if (b->tls) {
		c->tls_ctx = tls;
		snprintf(c->tls_name, sizeof(c->tls_name), "%s", b->tls_name);
		if ((c->in = evbuffer_new()) == NULL) {
			free(c);
			return NULL;
		}
	}
	c->magic = H2C_MAGIC;
	c->w = w;
	c->id = b->id;
	snprintf(c->name, sizeof(c->name), "%s", b->name);
	c->fd = socket(b->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	nghttp2_session_callbacks *cbs = NULL;
	nghttp2_option *opt = NULL;
	if (c->fd < 0 || nghttp2_session_callbacks_new(&cbs) != 0 || nghttp2_option_new(&opt) != 0)
		goto fail;
	nghttp2_session_callbacks_set_on_header_callback(cbs, cb_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, cb_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, cb_data);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs, cb_stream_close);
	nghttp2_option_set_no_auto_window_update(opt, 1);
	int rv = nghttp2_session_client_new2(&c->sess, cbs, c, opt);
	nghttp2_session_callbacks_del(cbs);
	nghttp2_option_del(opt);
	cbs = NULL;
	opt = NULL;
	if (rv != 0)
		goto fail;
	nghttp2_settings_entry iv[] = {
	        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
	        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2_WINDOW},
	};
	nghttp2_submit_settings(c->sess, NGHTTP2_FLAG_NONE, iv, EC_ARRAY_LEN(iv));
	c->out = evbuffer_new();
	c->ev_read = event_new(w->base, c->fd, EV_READ | EV_PERSIST, c_on_read, c);
	c->ev_write = event_new(w->base, c->fd, EV_WRITE | EV_PERSIST, c_on_write, c);
	c->ev_timer = evtimer_new(w->base, c_on_timer, c);
	if (!c->out || !c->ev_read || !c->ev_write || !c->ev_timer)
		goto fail;
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->next = conns;
	conns = c;
	EC_STAT_INC(&w->stats, origin_conns_opened);
	EC_BSTAT_ADD(b->st, pool_new, 1);
	if (connect(c->fd, (const struct sockaddr *)&b->addr, b->addrlen) < 0 &&
	    errno != EINPROGRESS) {
		ec_log_warn("origin %s: connect: %s", c->name, strerror(errno));
		c->dead = true; /* the caller fails the stream it attaches (CONNECT) */
		return c;
	}
	c->connecting = true;
	c_set_writing(c, true);
	event_add(c->ev_timer, w->tv_connect);
	return c;
fail:
	if (cbs)
		nghttp2_session_callbacks_del(cbs);
	if (opt)
		nghttp2_option_del(opt);
	if (c->sess)
		nghttp2_session_del(c->sess);
	if (c->out)
		evbuffer_free(c->out);
	if (c->ev_read)
		event_free(c->ev_read);
	if (c->ev_write)
		event_free(c->ev_write);
	if (c->ev_timer)
		event_free(c->ev_timer);
	if (c->fd >= 0)
		close(c->fd);
	if (c->in)
		evbuffer_free(c->in);
	free(c);
	return NULL;
}

/* --- the request ------------------------------------------------------------------ */

static bool skip_field(const char *n, size_t l)
{
	static const char *const hop[] = {
	        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade",
	        "host",       "te"};
	for (size_t i = 0; i < EC_ARRAY_LEN(hop); i++)
		if (strlen(hop[i]) == l && strncasecmp(hop[i], n, l) == 0)
			return true;
	return false;
}

#define NV(n, nl, v, vl)                                                                           \
	((nghttp2_nv){(uint8_t *)(n), (uint8_t *)(v), (nl), (vl), NGHTTP2_NV_FLAG_NONE})

/* Turns the HTTP/1 head into fields and submits the stream. */
static int32_t submit(struct ec_h2c *c, struct ec_h2s *s, struct ec_fetch *f)
{
	const char *h = f->r.head, *end = h + f->r.head_len;
	nghttp2_nv nv[H2_MAX_HDRS + 4];
	char lower[8192];
	size_t lo = 0, nnv = 0;
	const char *sp1 = memchr(h, ' ', (size_t)(end - h));
	const char *eol = memchr(h, '\r', (size_t)(end - h));
	if (sp1 == NULL || eol == NULL || sp1 > eol)
		return -1;
	const char *sp2 = sp1 + 1;
	while (sp2 < eol && *sp2 != ' ')
		sp2++;
	nv[nnv++] = NV(":method", 7, h, (size_t)(sp1 - h));
	nv[nnv++] = NV(":scheme", 7, "http", 4);
	nv[nnv++] = NV(":path", 5, sp1 + 1, (size_t)(sp2 - sp1 - 1));
	size_t authority_at = nnv++;
	nv[authority_at] = NV(":authority", 10, ec_fetch__backend(f)->host_field,
	                      strlen(ec_fetch__backend(f)->host_field));
	for (const char *p = eol + 2; p < end && *p != '\r';) {
		const char *le = memchr(p, '\r', (size_t)(end - p));
		const char *colon = memchr(p, ':', (size_t)(le ? le - p : end - p));
		if (le == NULL || colon == NULL)
			break;
		size_t nl = (size_t)(colon - p);
		const char *v = colon + 1;
		while (v < le && (*v == ' ' || *v == '\t'))
			v++;
		if (nl == 4 && strncasecmp(p, "host", 4) == 0) {
			nv[authority_at] = NV(":authority", 10, v, (size_t)(le - v));
		} else if (!skip_field(p, nl) && nnv < EC_ARRAY_LEN(nv) &&
		           lo + nl <= sizeof(lower)) {
			for (size_t i = 0; i < nl; i++)
				lower[lo + i] =
				        (char)((p[i] >= 'A' && p[i] <= 'Z') ? p[i] + 32 : p[i]);
			nv[nnv++] = NV(lower + lo, nl, v, (size_t)(le - v));
			lo += nl;
		}
		p = le + 2;
	}
	nghttp2_data_provider prd = {.source.ptr = s, .read_callback = read_body};
	return nghttp2_submit_request(c->sess, NULL, nv, nnv, f->r.has_body ? &prd : NULL, s);
}

void ec_h2_attempt(struct ec_fetch *f)
{
	const struct ec_backend *b = ec_fetch__backend(f);
	struct ec_worker *w = f->wrk;
	struct ec_h2c *c = NULL;
	for (struct ec_h2c *x = conns; x; x = x->next)
		if (x->id == b->id && x->w == w && !x->dead) {
			c = x;
			break;
		}
	bool fresh = c == NULL;
	if (fresh && (c = c_new(w, b, f->site->groups[f->group].tls)) == NULL) {
		ec_fetch__fail(f, EC_FETCH_E_RESOURCES);
		return;
	}
	struct ec_h2s *s = calloc(1, sizeof(*s));
	if (s == NULL || (s->in = evbuffer_new()) == NULL ||
	    (s->reqbody = evbuffer_new()) == NULL ||
	    (s->timer = evtimer_new(w->base, s_on_timer, s)) == NULL) {
		if (s != NULL) {
			s->magic = H2S_MAGIC;
			s_free(s);
		}
		c_maybe_free(c);
		ec_fetch__fail(f, EC_FETCH_E_RESOURCES);
		return;
	}
	s->magic = H2S_MAGIC;
	s->f = f;
	f->h2s = s;
	f->reused = !fresh;
	if (!fresh) {
		EC_STAT_INC(&w->stats, origin_conns_reused);
		EC_BSTAT_ADD(b->st, pool_reused, 1);
	}
	if (c->dead) { /* the connect failed at once */
		ec_fetch__fail(f, EC_FETCH_E_CONNECT);
		c_maybe_free(c);
		return;
	}
	s->c = c;
	s->next = c->streams;
	if (c->streams)
		c->streams->prev = s;
	c->streams = s;
	c->nstreams++;
	event_del(c->ev_timer);
	if (c->connecting)
		event_add(c->ev_timer, w->tv_connect);
	int32_t sid = submit(c, s, f);
	if (sid < 0) {
		ec_fetch__fail(f, EC_FETCH_E_RESOURCES);
		return;
	}
	s->sid = sid;
	if (!f->r.has_body) {
		f->req_sent = true;
		f->req_body_done = true;
	}
	s_timer_arm(s);
	c->busy++;
	c_flush(c);
	c->busy--;
}

void ec_h2_release(struct ec_fetch *f)
{
	struct ec_h2s *s = f->h2s;
	f->h2s = NULL;
	if (s == NULL)
		return;
	EC_CHECK_MAGIC(s, H2S_MAGIC);
	struct ec_h2c *c = s->c;
	if (c != NULL && s->sid > 0 && !c->dead) {
		/* still open on the session: reset it, and give back its window */
		nghttp2_submit_rst_stream(c->sess, NGHTTP2_FLAG_NONE, s->sid, NGHTTP2_CANCEL);
		size_t held = s->unconsumed + evbuffer_get_length(s->in);
		if (held > 0)
			nghttp2_session_consume_connection(c->sess, held);
	} else if (c != NULL && s->unconsumed + evbuffer_get_length(s->in) > 0 && !c->dead) {
		nghttp2_session_consume_connection(c->sess,
		                                   s->unconsumed + evbuffer_get_length(s->in));
	}
	s_free(s);
	if (c != NULL && c->busy == 0) {
		c->busy++;
		c_flush(c);
		c->busy--;
		c_maybe_free(c);
	}
}

void ec_h2_resume(struct ec_fetch *f)
{
	struct ec_h2s *s = f->h2s;
	if (s == NULL || !s->paused)
		return;
	struct ec_h2c *c = s->c;
	s->paused = false;
	if (c != NULL) {
		c->busy++;
		if (s->unconsumed > 0) {
			if (s->sid <= 0 ||
			    nghttp2_session_consume(c->sess, s->sid, s->unconsumed) != 0)
				nghttp2_session_consume_connection(c->sess, s->unconsumed);
			s->unconsumed = 0;
		}
	}
	s_timer_arm(s);
	s_deliver(s); /* may free s and f */
	if (c != NULL) {
		c_flush(c);
		c->busy--;
		c_maybe_free(c);
	}
}

void ec_h2_body_ready(struct ec_fetch *f)
{
	struct ec_h2s *s = f->h2s;
	if (s == NULL || !s->deferred || s->c == NULL || s->sid <= 0)
		return;
	struct ec_h2c *c = s->c;
	s->deferred = false;
	nghttp2_session_resume_data(c->sess, s->sid);
	c->busy++;
	c_flush(c);
	c->busy--;
	c_maybe_free(c);
}

void ec_h2_free_worker(struct ec_worker *w)
{
	for (struct ec_h2c *c = conns, *next; c; c = next) {
		next = c->next;
		if (c->w != w)
			continue;
		c->busy++;
		c_fatal(c, EC_FETCH_E_CLOSED);
		c->busy--;
		c_free(c);
	}
}
