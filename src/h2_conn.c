/*
 * h2_conn.c — HTTP/2 sessions toward clients (see h2_conn.h).
 *
 * The session lives in c->h2 while the connection is in state EC_CS_H2.
 * ec_h2_process is the only place nghttp2 reads or writes: it feeds c->in to
 * nghttp2_session_mem_recv, delivers the notifications that callbacks only
 * recorded (body bytes arrived, send queue drained), then moves frames with
 * nghttp2_session_mem_send into c->out until the connection's output is
 * over its high-water mark, and repeats while any of that made progress.
 *
 * Streams: one heap `struct h2_stream` per request stream, created on its
 * first HEADERS, linked into the session's list, freed in the stream-close
 * callback after its request has been finished (ec_pipeline_finish).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <nghttp2/nghttp2.h>

#include "h1_conn.h"
#include "h2_conn.h"
#include "pipeline.h"
#include "site.h"
#include "worker.h"

#define H2_SESS_MAGIC   0x48325353u
#define H2_STREAM_MAGIC 0x48325354u
#define CONN_OUT_HIGH   (256 * 1024) /* stop making frames above this much unsent output */
#define STREAM_HIGH     (256 * 1024) /* a stream's queued body: tell the pipeline to pause */
#define STREAM_LOW      (64 * 1024)  /* ... and to resume below this */
#define LOCAL_WINDOW    (1 << 20)    /* what a client may send us before we take it */

struct h2_stream {
	unsigned magic;
	int32_t id;
	struct ec_h2_sess *s;
	struct h2_stream *next, *prev;

	struct ec_req req;
	struct ec_arena arena;
	bool req_active;

	/* the request head as it arrives */
	struct ec_hdr *hdrs;
	unsigned nhdrs, cap;
	size_t hdr_bytes;
	struct ec_str method, path, authority;
	bool has_cl;
	uint64_t cl;

	/* the response */
	struct evbuffer *out;
	bool out_eof;
	bool deferred;  /* the data provider returned DEFERRED: resume on new bytes */
	bool congested; /* resp_body returned false */
	bool notify_drained;
	bool no_body;

	/* the request body */
	struct evbuffer *in;
	bool in_eof;
	bool body_wanted;
	bool notify_body;
};

struct ec_h2_sess {
	unsigned magic;
	struct ec_conn *c;
	nghttp2_session *ng;
	struct h2_stream *streams;
	unsigned nstreams;
	bool notify; /* a stream has a notification to deliver */
	bool abuse;  /* a budget was exceeded: GOAWAY queued, closing */
	bool draining;
	const char *abuse_why;

	/* abuse budgets, per EC_H2_BUDGET_WINDOW */
	double win_start;
	unsigned n_rst, n_ping, n_settings;
	unsigned n_cont; /* CONTINUATION frames in the current header block */
};

static const struct ec_client_ops h2_ops;

static struct ec_worker *wrk_of(struct ec_h2_sess *s)
{
	return s->c->wrk;
}

/* --- streams ------------------------------------------------------------------ */

static struct h2_stream *stream_new(struct ec_h2_sess *s, int32_t id)
{
	struct h2_stream *st = calloc(1, sizeof(*st));
	if (st == NULL)
		return NULL;
	st->out = evbuffer_new();
	st->in = evbuffer_new();
	if (st->out == NULL || st->in == NULL) {
		if (st->out)
			evbuffer_free(st->out);
		if (st->in)
			evbuffer_free(st->in);
		free(st);
		return NULL;
	}
	st->magic = H2_STREAM_MAGIC;
	st->id = id;
	st->s = s;
	ec_arena_init(&st->arena);
	st->next = s->streams;
	if (s->streams)
		s->streams->prev = st;
	s->streams = st;
	s->nstreams++;
	return st;
}

/* Ends a stream: finishes its request (as client-gone when the response did
 * not complete) and frees it. */
static void stream_end(struct h2_stream *st, const char *gone_reason)
{
	struct ec_h2_sess *s = st->s;
	if (st->req_active) {
		struct ec_req *r = &st->req;
		if (!r->resp_done) {
			r->client_gone = true;
			if (r->reason == NULL)
				r->reason = gone_reason;
			EC_STAT_INC(&wrk_of(s)->stats, client_aborts);
			ec_pipeline_client_gone(r);
		}
		st->req_active = false;
		ec_pipeline_finish(r);
	}
	size_t unread = evbuffer_get_length(st->in);
	if (unread > 0 && s->ng != NULL) /* give the connection window back */
		nghttp2_session_consume_connection(s->ng, unread);
	if (st->prev)
		st->prev->next = st->next;
	else
		s->streams = st->next;
	if (st->next)
		st->next->prev = st->prev;
	s->nstreams--;
	evbuffer_free(st->out);
	evbuffer_free(st->in);
	ec_arena_fini(&st->arena);
	st->magic = 0;
	free(st);
}

static struct h2_stream *stream_get(struct ec_h2_sess *s, int32_t id)
{
	struct h2_stream *st = nghttp2_session_get_stream_user_data(s->ng, id);
	if (st != NULL)
		EC_CHECK_MAGIC(st, H2_STREAM_MAGIC);
	return st;
}

/* --- abuse budgets ------------------------------------------------------------- */

/* Records a frame against its budget. Returns false when the connection
 * must end (GOAWAY ENHANCE_YOUR_CALM queued). */
static bool budget_frame(struct ec_h2_sess *s, uint8_t type)
{
	double now = ec_worker_now(wrk_of(s));
	if (now - s->win_start > EC_H2_BUDGET_WINDOW) {
		s->win_start = now;
		s->n_rst = s->n_ping = s->n_settings = 0;
	}
	const char *why = NULL;
	switch (type) {
	case NGHTTP2_RST_STREAM:
		if (++s->n_rst > EC_H2_RESET_BUDGET)
			why = "rapid reset (RST_STREAM flood)";
		break;
	case NGHTTP2_PING:
		if (++s->n_ping > EC_H2_PING_BUDGET)
			why = "PING flood";
		break;
	case NGHTTP2_SETTINGS:
		if (++s->n_settings > EC_H2_SETTINGS_BUDGET)
			why = "SETTINGS flood";
		break;
	case NGHTTP2_HEADERS:
		s->n_cont = 0;
		break;
	case NGHTTP2_CONTINUATION:
		if (++s->n_cont > EC_H2_CONTINUATION_MAX)
			why = "CONTINUATION flood";
		break;
	default:
		break;
	}
	if (why == NULL)
		return true;
	s->abuse = true;
	s->abuse_why = why;
	nghttp2_session_terminate_session(s->ng, NGHTTP2_ENHANCE_YOUR_CALM);
	return false;
}

/* --- nghttp2 callbacks ----------------------------------------------------------- */

static int on_begin_frame(nghttp2_session *ng, const nghttp2_frame_hd *hd, void *arg)
{
	struct ec_h2_sess *s = arg;
	EC_CHECK_MAGIC(s, H2_SESS_MAGIC);
	return budget_frame(s, hd->type) ? 0 : NGHTTP2_ERR_CALLBACK_FAILURE;
}

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *f, void *arg)
{
	struct ec_h2_sess *s = arg;
	EC_CHECK_MAGIC(s, H2_SESS_MAGIC);
	if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	struct h2_stream *st = stream_new(s, f->hd.stream_id);
	if (st == NULL)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* resets the stream */
	nghttp2_session_set_stream_user_data(ng, f->hd.stream_id, st);
	return 0;
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *f, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *arg)
{
	struct ec_h2_sess *s = arg;
	EC_CHECK_MAGIC(s, H2_SESS_MAGIC);
	struct h2_stream *st = stream_get(s, f->hd.stream_id);
	if (st == NULL)
		return 0;
	const struct ec_config *cf = wrk_of(s)->site->conf;
	/* RFC 9113 6.5.2's accounting, over the head and any trailers */
	st->hdr_bytes += namelen + valuelen + 32;
	if (st->hdr_bytes > cf->max_head) {
		/* Over the SETTINGS_MAX_HEADER_LIST_SIZE we announced: a client
		 * that ignores it (or an HPACK bomb, small on the wire and huge
		 * decoded) loses the connection. */
		s->abuse = true;
		s->abuse_why = "header list over limits.header_block (HPACK bomb?)";
		nghttp2_session_terminate_session(ng, NGHTTP2_ENHANCE_YOUR_CALM);
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	}
	if (st->req_active)
		return 0; /* trailers: counted, not kept */
	struct ec_str v = ec_arena_strdup(&st->arena, ec_str_make((const char *)value, valuelen));
	if (valuelen && v.p == NULL)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	if (namelen > 0 && name[0] == ':') {
		struct ec_str n = ec_str_make((const char *)name, namelen);
		if (ec_str_eq(n, EC_STR(":method")))
			st->method = v;
		else if (ec_str_eq(n, EC_STR(":path")))
			st->path = v;
		else if (ec_str_eq(n, EC_STR(":authority")))
			st->authority = v;
		return 0; /* :scheme: the transport says how the client came */
	}
	if (st->nhdrs >= cf->max_fields)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	if (st->nhdrs == st->cap) {
		unsigned ncap = st->cap ? st->cap * 2 : 16;
		struct ec_hdr *h = ec_arena_alloc(&st->arena, ncap * sizeof(*h));
		if (h == NULL)
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
		if (st->nhdrs)
			memcpy(h, st->hdrs, st->nhdrs * sizeof(*h));
		st->hdrs = h;
		st->cap = ncap;
	}
	struct ec_str n = ec_arena_strdup(&st->arena, ec_str_make((const char *)name, namelen));
	if (n.p == NULL)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	st->hdrs[st->nhdrs].name = n;
	st->hdrs[st->nhdrs].value = v;
	st->nhdrs++;
	if (ec_str_eq(n, EC_STR("content-length"))) {
		st->has_cl = ec_str_to_u64(v, &st->cl);
	} else if (st->authority.len == 0 && ec_str_eq(n, EC_STR("host"))) {
		st->authority = v;
	}
	(void)flags;
	return 0;
}

/* HTTP/2 may split Cookie into one field per crumb (RFC 9113 8.2.3); an
 * HTTP/1.1 origin must get one field: join them with "; " into the first. */
static void join_cookies(struct h2_stream *st)
{
	unsigned first = st->nhdrs, n = 0;
	size_t len = 0;
	for (unsigned i = 0; i < st->nhdrs; i++)
		if (ec_str_eq(st->hdrs[i].name, EC_STR("cookie"))) {
			if (n++ == 0)
				first = i;
			len += st->hdrs[i].value.len + 2;
		}
	if (n < 2)
		return;
	char *p = ec_arena_alloc(&st->arena, len);
	if (p == NULL)
		return;
	size_t off = 0;
	unsigned out = 0;
	for (unsigned i = 0; i < st->nhdrs; i++) {
		if (ec_str_eq(st->hdrs[i].name, EC_STR("cookie"))) {
			if (off)
				memcpy(p + off, "; ", 2), off += 2;
			memcpy(p + off, st->hdrs[i].value.p, st->hdrs[i].value.len);
			off += st->hdrs[i].value.len;
			if (i != first)
				continue;
		}
		st->hdrs[out++] = st->hdrs[i];
	}
	for (unsigned i = 0; i < out; i++)
		if (ec_str_eq(st->hdrs[i].name, EC_STR("cookie")))
			st->hdrs[i].value = ec_str_make(p, off);
	st->nhdrs = out;
}

/* The request head is complete: the stream's request enters the pipeline. */
static void stream_start(struct ec_h2_sess *s, struct h2_stream *st, bool end_stream)
{
	struct ec_conn *c = s->c;
	struct ec_req *r = &st->req;
	memset(r, 0, sizeof(*r));
	r->magic = EC_REQ_MAGIC;
	r->ops = &h2_ops;
	r->transport = st;
	r->wrk = c->wrk;
	r->site = ec_site_ref(c->wrk->site);
	r->arena = &st->arena;
	r->t_start = ec_time_now();
	r->origin_time = -1;
	r->scheme = c->ssl != NULL ? EC_STR("https") : EC_STR("http");
	r->proto = EC_PROTO_HTTP2;
	memcpy(r->client_ip, c->peer, sizeof(r->client_ip));
	r->method = st->method;
	r->meth = ec_method_from_str(st->method);
	r->target = st->path;
	r->path = st->path;
	r->host = st->authority;
	join_cookies(st);
	r->hdrs = st->hdrs;
	r->nhdrs = st->nhdrs;
	r->has_body = !end_stream;
	r->body_length_known = st->has_cl;
	r->content_length = st->cl;
	r->body_done = end_stream;
	st->in_eof = end_stream;
	st->req_active = true;
	EC_STAT_INC(&c->wrk->stats, client_requests);
	EC_STAT_INC(&c->wrk->stats, h2_streams);
	const struct ec_config *cf = c->wrk->site->conf;
	if (st->authority.len == 0) {
		ec_pipeline_reject(r, 400, "bad-request", "no :authority or host");
		return;
	}
	if (cf->max_body && st->has_cl && st->cl > cf->max_body) {
		ec_pipeline_reject(r, 413, "body-too-large", "request body over limits.body");
		return;
	}
	ec_pipeline_start(r);
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *f, void *arg)
{
	struct ec_h2_sess *s = arg;
	EC_CHECK_MAGIC(s, H2_SESS_MAGIC);
	bool end = (f->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
	struct h2_stream *st;
	switch (f->hd.type) {
	case NGHTTP2_HEADERS:
		st = stream_get(s, f->hd.stream_id);
		if (st == NULL)
			break;
		if (!st->req_active && f->headers.cat == NGHTTP2_HCAT_REQUEST) {
			stream_start(s, st, end);
		} else if (end && !st->in_eof) { /* trailers end the body */
			st->in_eof = true;
			st->notify_body = st->body_wanted;
			s->notify |= st->body_wanted;
		}
		break;
	case NGHTTP2_DATA:
		st = stream_get(s, f->hd.stream_id);
		if (st != NULL && end) {
			st->in_eof = true;
			st->notify_body = st->body_wanted;
			s->notify |= st->body_wanted;
		}
		break;
	default:
		break;
	}
	(void)ng;
	return 0;
}

static int on_data_chunk(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data,
                         size_t len, void *arg)
{
	struct ec_h2_sess *s = arg;
	EC_CHECK_MAGIC(s, H2_SESS_MAGIC);
	struct h2_stream *st = stream_get(s, id);
	if (st == NULL || !st->req_active || st->req.resp_done) {
		nghttp2_session_consume(ng, id, len); /* nobody will read these */
		return 0;
	}
	if (evbuffer_add(st->in, data, len) != 0)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	if (st->body_wanted) {
		st->notify_body = true;
		s->notify = true;
	}
	(void)ng;
	(void)flags;
	return 0;
}

static int on_stream_close(nghttp2_session *ng, int32_t id, uint32_t code, void *arg)
{
	struct ec_h2_sess *s = arg;
	EC_CHECK_MAGIC(s, H2_SESS_MAGIC);
	struct h2_stream *st = stream_get(s, id);
	if (st == NULL)
		return 0;
	nghttp2_session_set_stream_user_data(ng, id, NULL);
	stream_end(st, code == NGHTTP2_NO_ERROR ? "client-closed" : "client-reset");
	return 0;
}

static ssize_t data_read(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                         nghttp2_data_source *src, void *arg)
{
	struct h2_stream *st = src->ptr;
	EC_CHECK_MAGIC(st, H2_STREAM_MAGIC);
	int n = evbuffer_remove(st->out, buf, len);
	if (n < 0)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	size_t left = evbuffer_get_length(st->out);
	if (left == 0 && st->out_eof) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		/* The response is complete but the client is still sending a body
		 * nobody will read: end its side too (RFC 9113 8.1), so the stream
		 * does not hold a concurrency slot and window forever. */
		if (!st->in_eof)
			nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, id, NGHTTP2_NO_ERROR);
	} else if (n == 0) {
		st->deferred = true;
		return NGHTTP2_ERR_DEFERRED;
	}
	if (st->congested && left < STREAM_LOW) {
		st->congested = false;
		st->notify_drained = true;
		st->s->notify = true;
	}
	(void)ng;
	(void)id;
	(void)arg;
	return n;
}

/* --- client ops (the pipeline answers through these) ---------------------------- */

static struct h2_stream *stream_of(struct ec_req *r)
{
	struct h2_stream *st = r->transport;
	EC_CHECK_MAGIC(st, H2_STREAM_MAGIC);
	return st;
}

static bool hop_by_hop(struct ec_str n)
{
	return ec_str_caseeq_lit(n, "connection") || ec_str_caseeq_lit(n, "keep-alive") ||
	       ec_str_caseeq_lit(n, "transfer-encoding") || ec_str_caseeq_lit(n, "upgrade") ||
	       ec_str_caseeq_lit(n, "proxy-connection") || ec_str_caseeq_lit(n, "content-length");
}

static void h2_resp_head(struct ec_req *r, const struct ec_resp *resp)
{
	struct h2_stream *st = stream_of(r);
	struct ec_h2_sess *s = st->s;
	EC_ASSERT(!r->resp_started);
	r->resp_started = true;
	r->status = resp->status;
	st->no_body = resp->no_body;
	nghttp2_nv *nv = ec_arena_alloc(&st->arena, (resp->nhdrs + 2) * sizeof(*nv));
	char *num = ec_arena_alloc(&st->arena, 32);
	if (nv == NULL || num == NULL) {
		nghttp2_submit_rst_stream(s->ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
		ec_conn__kick(s->c);
		return;
	}
	size_t n = 0;
	int sl = snprintf(num, 32, "%d", resp->status);
	nv[n++] = (nghttp2_nv){(uint8_t *)":status", (uint8_t *)num, 7, (size_t)sl,
	                       NGHTTP2_NV_FLAG_NONE};
	for (unsigned i = 0; i < resp->nhdrs; i++) {
		const struct ec_hdr *h = &resp->hdrs[i];
		if (hop_by_hop(h->name))
			continue;
		/* HTTP/2 field names are lower case */
		uint8_t *lname = ec_arena_alloc(&st->arena, h->name.len ? h->name.len : 1);
		if (lname == NULL)
			continue;
		for (size_t k = 0; k < h->name.len; k++) {
			char ch = h->name.p[k];
			lname[k] = (uint8_t)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
		}
		nv[n++] = (nghttp2_nv){lname, (uint8_t *)h->value.p, h->name.len, h->value.len,
		                       NGHTTP2_NV_FLAG_NONE};
	}
	bool bodiless = resp->status < 200 || resp->status == 204 || resp->status == 304;
	if (resp->has_length && !bodiless) {
		char *cl = num + 8;
		int cn = snprintf(cl, 24, "%llu", (unsigned long long)resp->length);
		nv[n++] = (nghttp2_nv){(uint8_t *)"content-length", (uint8_t *)cl, 14, (size_t)cn,
		                       NGHTTP2_NV_FLAG_NONE};
	}
	/* Always a data provider, even for no body: it ends the stream (an
	 * empty DATA frame with END_STREAM) once resp_end has been called. */
	nghttp2_data_provider prd = {.source.ptr = st, .read_callback = data_read};
	if (nghttp2_submit_response(s->ng, st->id, nv, n, &prd) != 0)
		nghttp2_submit_rst_stream(s->ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
	ec_conn__kick(s->c);
}

static void resume(struct h2_stream *st)
{
	if (st->deferred) {
		st->deferred = false;
		nghttp2_session_resume_data(st->s->ng, st->id);
	}
	ec_conn__kick(st->s->c);
}

static bool h2_resp_body(struct ec_req *r, struct evbuffer *data)
{
	struct h2_stream *st = stream_of(r);
	size_t n = evbuffer_get_length(data);
	if (st->no_body || st->s->c->broken) {
		evbuffer_drain(data, n);
		return true;
	}
	r->bytes_out += n;
	evbuffer_add_buffer(st->out, data);
	resume(st);
	if (evbuffer_get_length(st->out) > STREAM_HIGH) {
		st->congested = true;
		return false;
	}
	return true;
}

static void h2_resp_end(struct ec_req *r)
{
	struct h2_stream *st = stream_of(r);
	EC_ASSERT(!r->resp_done);
	r->resp_done = true;
	st->out_eof = true;
	resume(st);
}

static void h2_resp_abort(struct ec_req *r)
{
	struct h2_stream *st = stream_of(r);
	r->resp_done = true;
	/* The client sees a reset stream, never a complete-looking response. */
	nghttp2_submit_rst_stream(st->s->ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
	ec_conn__kick(st->s->c);
}

static long h2_body_read(struct ec_req *r, struct evbuffer *dst, size_t max, bool *done)
{
	struct h2_stream *st = stream_of(r);
	*done = false;
	if (st->s->c->broken)
		return -1;
	size_t have = evbuffer_get_length(st->in);
	size_t n = EC_MIN(have, max);
	if (n > 0 && evbuffer_remove_buffer(st->in, dst, n) != (int)n)
		return -1;
	if (n > 0) {
		nghttp2_session_consume(st->s->ng, st->id, n); /* reopen the windows */
		ec_conn__kick(st->s->c);
	}
	r->body_read += n;
	uint64_t max_body = wrk_of(st->s)->site->conf->max_body;
	if (max_body && r->body_read > max_body) {
		r->reason = "body-too-large";
		r->body_error = 413;
		return -1;
	}
	if (st->in_eof && evbuffer_get_length(st->in) == 0) {
		*done = true;
		r->body_done = true;
	} else if (n == 0) {
		st->body_wanted = true;
	}
	return (long)n;
}

static const struct ec_client_ops h2_ops = {
        .resp_head = h2_resp_head,
        .resp_body = h2_resp_body,
        .resp_end = h2_resp_end,
        .resp_abort = h2_resp_abort,
        .body_read = h2_body_read,
};

/* --- the session ------------------------------------------------------------------ */

int ec_h2_start(struct ec_conn *c)
{
	struct ec_h2_sess *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -1;
	s->magic = H2_SESS_MAGIC;
	s->c = c;
	s->win_start = ec_worker_now(c->wrk);
	nghttp2_session_callbacks *cb;
	nghttp2_option *opt;
	if (nghttp2_session_callbacks_new(&cb) != 0) {
		free(s);
		return -1;
	}
	if (nghttp2_option_new(&opt) != 0) {
		nghttp2_session_callbacks_del(cb);
		free(s);
		return -1;
	}
	nghttp2_session_callbacks_set_on_begin_frame_callback(cb, on_begin_frame);
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
	const struct ec_config *cf = c->wrk->site->conf;
	nghttp2_option_set_max_deflate_dynamic_table_size(opt, 4096);
	/* Request bodies: the windows reopen as the pipeline takes the bytes
	 * (h2_body_read), so a client cannot push more than the windows into
	 * memory: 1 MiB a stream, 4 MiB a connection. */
	nghttp2_option_set_no_auto_window_update(opt, 1);
	int rc = nghttp2_session_server_new2(&s->ng, cb, s, opt);
	nghttp2_session_callbacks_del(cb);
	nghttp2_option_del(opt);
	if (rc != 0) {
		free(s);
		return -1;
	}
	nghttp2_settings_entry iv[] = {
	        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, cf->h2_streams},
	        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, LOCAL_WINDOW},
	        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)cf->max_head},
	};
	if (nghttp2_submit_settings(s->ng, NGHTTP2_FLAG_NONE, iv, EC_ARRAY_LEN(iv)) != 0 ||
	    nghttp2_session_set_local_window_size(s->ng, NGHTTP2_FLAG_NONE, 0, 4 * LOCAL_WINDOW) !=
	            0) {
		nghttp2_session_del(s->ng);
		free(s);
		return -1;
	}
	c->h2 = s;
	EC_STAT_INC(&c->wrk->stats, h2_conns);
	ec_conn__kick(c);
	return 0;
}

/* Delivers what the callbacks recorded. Returns whether anything was delivered. */
static bool deliver(struct ec_h2_sess *s)
{
	if (!s->notify)
		return false;
	s->notify = false;
	bool any = false;
	for (struct h2_stream *st = s->streams; st != NULL; st = st->next) {
		if (st->notify_body) {
			st->notify_body = false;
			st->body_wanted = false;
			any = true;
			if (st->req_active)
				ec_pipeline_body_ready(&st->req);
		}
		if (st->notify_drained) {
			st->notify_drained = false;
			any = true;
			if (st->req_active && !st->req.resp_done)
				ec_pipeline_resp_drained(&st->req);
		}
	}
	return any;
}

/* Feeds c->in to nghttp2. Returns 0, or -1 when the session must end. */
static int receive(struct ec_h2_sess *s)
{
	struct ec_conn *c = s->c;
	while (evbuffer_get_length(c->in) > 0) {
		struct evbuffer_iovec v;
		if (evbuffer_peek(c->in, -1, NULL, &v, 1) < 1)
			break;
		ssize_t rv = nghttp2_session_mem_recv(s->ng, v.iov_base, v.iov_len);
		if (rv < 0) {
			evbuffer_drain(c->in, evbuffer_get_length(c->in));
			if (!s->abuse && (rv == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS ||
			                  rv == NGHTTP2_ERR_FLOODED)) {
				/* nghttp2's own flood guards (it keeps 8 CONTINUATIONs a
				 * block, bounded queues of PING/SETTINGS acks) end the
				 * session without a GOAWAY: say why, like ours do. */
				s->abuse = true;
				s->abuse_why = rv == NGHTTP2_ERR_FLOODED
				                       ? "flood (frames we must answer)"
				                       : "CONTINUATION flood";
				nghttp2_session_terminate_session(s->ng, NGHTTP2_ENHANCE_YOUR_CALM);
			} else if (!s->abuse) {
				nghttp2_session_terminate_session(s->ng, NGHTTP2_PROTOCOL_ERROR);
			}
			if (s->abuse) {
				EC_STAT_INC(&c->wrk->stats, h2_abuse_closed);
				ec_log_warn("h2 from %s: %s: GOAWAY, closing", c->peer,
				            s->abuse_why);
			} else {
				ec_log_info("h2 from %s: %s: closing", c->peer,
				            nghttp2_strerror((int)rv));
			}
			return -1;
		}
		evbuffer_drain(c->in, (size_t)rv);
	}
	return 0;
}

/* Moves frames into c->out. Returns bytes produced, or -1 on a fatal error. */
static long produce(struct ec_h2_sess *s)
{
	struct ec_conn *c = s->c;
	long total = 0;
	while (evbuffer_get_length(c->out) < CONN_OUT_HIGH) {
		const uint8_t *data;
		ssize_t n = nghttp2_session_mem_send(s->ng, &data);
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		if (evbuffer_add(c->out, data, (size_t)n) != 0)
			return -1;
		total += n;
	}
	return total;
}

void ec_h2_process(struct ec_conn *c)
{
	struct ec_h2_sess *s = c->h2;
	EC_CHECK_MAGIC(s, H2_SESS_MAGIC);
	bool fatal = false, full = false;
	if (receive(s) != 0)
		fatal = true;
	for (unsigned guard = 0; !fatal; guard++) {
		bool moved = deliver(s);
		long n = produce(s);
		if (n < 0) {
			fatal = true;
			break;
		}
		if (evbuffer_get_length(c->out) >= CONN_OUT_HIGH) {
			/* Full (now, or already when we came in: produce made nothing
			 * then): write now. When the socket takes it all no EV_WRITE
			 * will come, so go on producing here (or, after many rounds,
			 * from the loop, to let other connections run). */
			ec_conn__flush(c);
			if (c->dead || c->broken)
				return;
			if (evbuffer_get_length(c->out) > 0) {
				full = true; /* EV_WRITE is armed: on_write comes back here */
				break;
			}
			if (guard >= 16) {
				ec_conn__kick_later(c);
				break;
			}
			continue;
		}
		if (!moved && n == 0 && !s->notify)
			break;
	}
	if (fatal) {
		/* What nghttp2 queued (GOAWAY) goes out, then the connection closes
		 * as an HTTP/1.1 one does: flush, shut the write side, linger. The
		 * session stays until then, taking no more input. */
		(void)produce(s);
		c->state = EC_CS_CLOSING;
		ec_conn__set_idle(c, false);
		return;
	}
	ec_conn__flush(c);
	if (c->dead || c->broken)
		return;
	bool out_empty = evbuffer_get_length(c->out) == 0;
	if (full && out_empty) {
		/* The socket took the rest after all, so flushing disarmed the
		 * EV_WRITE that was to bring us back: come back from the loop. */
		ec_conn__kick_later(c);
	}
	if (c->eof || (!nghttp2_session_want_read(s->ng) && !nghttp2_session_want_write(s->ng) &&
	               out_empty)) {
		ec_conn__close(c);
		return;
	}
	ec_conn__set_reading(c, true);
	ec_conn__set_idle(c, s->nstreams == 0 && out_empty);
}

void ec_h2_drain(struct ec_conn *c)
{
	struct ec_h2_sess *s = c->h2;
	EC_CHECK_MAGIC(s, H2_SESS_MAGIC);
	if (s->draining)
		return;
	s->draining = true;
	nghttp2_submit_goaway(s->ng, NGHTTP2_FLAG_NONE,
	                      nghttp2_session_get_last_proc_stream_id(s->ng), NGHTTP2_NO_ERROR,
	                      NULL, 0);
	ec_conn__kick(c);
}

void ec_h2_free(struct ec_conn *c)
{
	struct ec_h2_sess *s = c->h2;
	EC_CHECK_MAGIC(s, H2_SESS_MAGIC);
	c->h2 = NULL;
	while (s->streams != NULL) {
		struct h2_stream *st = s->streams;
		nghttp2_session_set_stream_user_data(s->ng, st->id, NULL);
		stream_end(st, "client-closed");
	}
	nghttp2_session_del(s->ng);
	s->magic = 0;
	free(s);
}
