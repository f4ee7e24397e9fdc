/*
 * admin.c — the admin API's listener, connections, authentication and
 * routing (see admin.h; the handlers are in admin_ops.c and admin_stats.c).
 *
 * One request per connection: the answer carries "Connection: close" and
 * the connection ends once it is written. Admin traffic is a few calls a
 * second at most; keeping this simple keeps it obviously correct. Requests
 * are read with our HTTP/1.1 parser (http1_parse.h) with its default
 * limits; a body needs a Content-Length (411 otherwise) of at most 1 MiB.
 *
 * Thread: everything here runs on the admin thread (its own event_base),
 * except ec_admin_new / _start / _free (main thread) and ec_admin_set_site.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "admin_priv.h"
#include "config.h"
#include "http1_parse.h"
#include "json.h"
#include "log.h"
#include "site.h"

#define ACONN_MAGIC 0x41434f4eu
#define MAX_FIELDS  100

struct aconn {
	unsigned magic;
	struct ec_admin *a;
	struct bufferevent *bev;
	struct ec_h1_parser parser;
	char peer[64];
	bool answered;
	struct aconn *next, *prev; /* ec_admin.conns, freed at exit if still open */
};

/* --- helpers for the handlers ---------------------------------------------- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = ec_lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

bool ec_admin_param(const struct ec_admin_req *r, const char *name, unsigned nth, char *buf,
                    size_t cap)
{
	size_t nl = strlen(name);
	const char *p = r->query.p, *end = p + r->query.len;
	while (p != NULL && p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *e = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(e - p));
		const char *ke = eq ? eq : e;
		if ((size_t)(ke - p) == nl && memcmp(p, name, nl) == 0 && nth-- == 0) {
			size_t o = 0;
			for (const char *v = eq ? eq + 1 : e; v < e; v++) {
				char c = *v;
				if (c == '+')
					c = ' ';
				else if (c == '%' && e - v >= 3 && hexval(v[1]) >= 0 &&
				         hexval(v[2]) >= 0) {
					c = (char)(hexval(v[1]) * 16 + hexval(v[2]));
					v += 2;
				}
				if (o + 1 >= cap)
					return false;
				buf[o++] = c;
			}
			buf[o] = '\0';
			return true;
		}
		p = amp ? amp + 1 : end;
	}
	return false;
}

bool ec_admin_fail(struct ec_admin_req *r, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->status = status;
	evbuffer_drain(r->out, evbuffer_get_length(r->out));
	evbuffer_add_printf(r->out, "{\"error\": ");
	ec_json_cstr(r->out, msg);
	evbuffer_add_printf(r->out, "}\n");
	return false;
}

struct ec_site *ec_admin_site(struct ec_admin *a)
{
	pthread_mutex_lock(&a->site_lock);
	struct ec_site *s = ec_site_ref(a->site);
	pthread_mutex_unlock(&a->site_lock);
	return s;
}

void ec_admin_set_site(struct ec_admin *a, struct ec_site *site)
{
	if (a == NULL)
		return;
	struct ec_site *s = ec_site_ref(site);
	pthread_mutex_lock(&a->site_lock);
	struct ec_site *old = a->site;
	a->site = s;
	pthread_mutex_unlock(&a->site_lock);
	ec_site_unref(&old);
}

/* --- auth -------------------------------------------------------------------- */

/* Constant-time in the token's length: every byte of the longer is looked at. */
static bool token_ok(const struct ec_admin *a, struct ec_str given)
{
	size_t n = EC_MAX(given.len, a->token_len);
	unsigned char diff = (unsigned char)(given.len != a->token_len);
	for (size_t i = 0; i < n; i++) {
		unsigned char x = i < given.len ? (unsigned char)given.p[i] : 0;
		unsigned char y = i < a->token_len ? (unsigned char)a->token[i] : 0;
		diff |= (unsigned char)(x ^ y);
	}
	return diff == 0;
}

static bool authorized(struct ec_admin *a, const struct ec_h1_req *h)
{
	pthread_mutex_lock(&a->token_lock);
	bool ok = a->token_len == 0;
	const struct ec_hdr *f = ok ? NULL : ec_hdr_find(h->hdrs, h->nhdrs, "authorization");
	if (f != NULL) {
		struct ec_str v = ec_str_trim(f->value);
		if (v.len >= 7 && ec_str_caseeq(ec_str_make(v.p, 7), EC_STR("Bearer ")))
			ok = token_ok(a, ec_str_trim(ec_str_make(v.p + 7, v.len - 7)));
	}
	pthread_mutex_unlock(&a->token_lock);
	return ok;
}

/* --- connections --------------------------------------------------------------- */

static const char *status_text(int st)
{
	switch (st) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 411:
		return "Length Required";
	case 413:
		return "Content Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	default:
		return st < 400 ? "OK" : "Error";
	}
}

static void aconn_free(struct aconn *c)
{
	EC_CHECK_MAGIC(c, ACONN_MAGIC);
	if (c->prev)
		c->prev->next = c->next;
	else
		c->a->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	bufferevent_free(c->bev);
	c->magic = 0;
	free(c);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct aconn *c = arg;
	EC_CHECK_MAGIC(c, ACONN_MAGIC);
	if (c->answered && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		aconn_free(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct aconn *c = arg;
	EC_CHECK_MAGIC(c, ACONN_MAGIC);
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		aconn_free(c);
}

static void answer(struct aconn *c, int status, const char *ctype, struct evbuffer *body,
                   bool head_only)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	size_t len = body ? evbuffer_get_length(body) : 0;
	evbuffer_add_printf(out,
	                    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	                    "Cache-Control: no-store\r\n%sConnection: close\r\n\r\n",
	                    status, status_text(status), ctype, len,
	                    status == 401 ? "WWW-Authenticate: Bearer realm=\"edgecache\"\r\n"
	                                  : "");
	if (body != NULL && !head_only)
		evbuffer_add_buffer(out, body);
	c->answered = true;
	bufferevent_disable(c->bev, EV_READ);
}

static void simple(struct aconn *c, int status, const char *msg)
{
	struct evbuffer *b = evbuffer_new();
	if (b == NULL) {
		aconn_free(c);
		return;
	}
	evbuffer_add_printf(b, "{\"error\": ");
	ec_json_cstr(b, msg);
	evbuffer_add_printf(b, "}\n");
	answer(c, status, "application/json", b, false);
	evbuffer_free(b);
}

/* The routing table: path, methods allowed, handler, whether it needs the token. */
struct route {
	const char *path;
	unsigned methods; /* 1 << enum ec_method */
	void (*fn)(struct ec_admin_req *r);
	bool open;
};

static void health(struct ec_admin_req *r)
{
	evbuffer_add_printf(r->out, "{\"status\": \"ok\"}\n");
}

static void backends(struct ec_admin_req *r);

#define M(m) (1u << (m))
static const struct route routes[] = {
        {"/health", M(EC_M_GET) | M(EC_M_HEAD), health, true},
        {"/stats", M(EC_M_GET) | M(EC_M_HEAD), ec_admin_stats_json, false},
        {"/metrics", M(EC_M_GET) | M(EC_M_HEAD), ec_admin_metrics, false},
        {"/purge", M(EC_M_POST), ec_admin_purge, false},
        {"/ban", M(EC_M_POST) | M(EC_M_GET) | M(EC_M_HEAD), ec_admin_ban, false},
        {"/objects", M(EC_M_GET) | M(EC_M_HEAD), ec_admin_objects, false},
        {"/object", M(EC_M_GET) | M(EC_M_HEAD), ec_admin_object, false},
        {"/backends", M(EC_M_GET) | M(EC_M_HEAD), backends, false},
};
#undef M

#include "origin.h"
static void backends(struct ec_admin_req *r)
{
	(void)r;
	ec_origin_backends_json(r->out);
}

static void dispatch(struct aconn *c, const struct ec_h1_req *h, struct ec_str body)
{
	struct ec_admin *a = c->a;
	struct ec_str path = h->path, query = EC_STR_NULL;
	const char *q = memchr(path.p, '?', path.len);
	if (q != NULL) {
		query = ec_str_make(q + 1, path.len - (size_t)(q + 1 - path.p));
		path.len = (size_t)(q - path.p);
	}
	const struct route *rt = NULL;
	for (size_t i = 0; i < EC_ARRAY_LEN(routes); i++)
		if (ec_str_eq(path, ec_str_cstr(routes[i].path)))
			rt = &routes[i];
	bool open = rt != NULL && rt->open && (h->meth == EC_M_GET || h->meth == EC_M_HEAD);
	if (!open && !authorized(a, h)) {
		bool sent = ec_hdr_find(h->hdrs, h->nhdrs, "authorization") != NULL;
		ec_log_warn("admin: " EC_STR_FMT " " EC_STR_FMT " from %s: %s token: 401",
		            EC_STR_ARG(h->method), EC_STR_ARG(path), c->peer,
		            sent ? "wrong" : "no");
		simple(c, 401, sent ? "bad token" : "missing token (Authorization: Bearer TOKEN)");
		return;
	}
	if (rt == NULL) {
		simple(c, 404, "no such call");
		return;
	}
	if (((1u << h->meth) & rt->methods) == 0) {
		simple(c, 405, "method not allowed");
		return;
	}
	struct ec_admin_req r = {
	        .a = a,
	        .meth = h->meth,
	        .path = path,
	        .query = query,
	        .body = body,
	        .out = evbuffer_new(),
	        .status = 200,
	        .ctype = "application/json",
	};
	if (r.out == NULL) {
		aconn_free(c);
		return;
	}
	rt->fn(&r);
	answer(c, r.status, r.ctype, r.out, h->meth == EC_M_HEAD);
	evbuffer_free(r.out);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct aconn *c = arg;
	EC_CHECK_MAGIC(c, ACONN_MAGIC);
	if (c->answered)
		return;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len = evbuffer_get_length(in);
	const char *buf = (const char *)evbuffer_pullup(in, -1);
	struct ec_hdr hdrs[MAX_FIELDS];
	struct ec_h1_req h;
	const char *why = NULL;
	struct ec_h1_parser p = c->parser;
	int rc = ec_h1_parse_request(&p, buf, len, NULL, hdrs, MAX_FIELDS, &h, &why);
	if (rc == 0) {
		c->parser = p;
		return;
	}
	if (rc < 0) {
		ec_log_warn("admin: bad request from %s: %s", c->peer, why);
		simple(c, ec_h1_err_status(rc), why);
		return;
	}
	if (h.framing == EC_H1_BODY_CHUNKED) {
		simple(c, 411, "send a Content-Length");
		return;
	}
	if (h.content_length > EC_ADMIN_MAX_BODY) {
		simple(c, 413, "body over 1 MiB");
		return;
	}
	if (len < (size_t)rc + h.content_length)
		return; /* the head parses again once the body is in: cheap, and simple */
	dispatch(c, &h, ec_str_make(buf + rc, (size_t)h.content_length));
}

static void on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct ec_admin *a = arg;
	EC_CHECK_MAGIC(a, EC_ADMIN_MAGIC);
	for (int i = 0; i < 16; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int cfd = accept4(fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0)
			return;
		struct aconn *c = calloc(1, sizeof(*c));
		struct bufferevent *bev =
		        c ? bufferevent_socket_new(a->base, cfd, BEV_OPT_CLOSE_ON_FREE) : NULL;
		if (bev == NULL) {
			free(c);
			close(cfd);
			continue;
		}
		c->magic = ACONN_MAGIC;
		c->a = a;
		c->bev = bev;
		c->next = a->conns;
		if (a->conns)
			a->conns->prev = c;
		a->conns = c;
		if (ss.ss_family == AF_UNIX)
			snprintf(c->peer, sizeof(c->peer), "unix");
		else if (getnameinfo((struct sockaddr *)&ss, sl, c->peer, sizeof(c->peer), NULL, 0,
		                     NI_NUMERICHOST) != 0)
			snprintf(c->peer, sizeof(c->peer), "?");
		struct timeval tv = {10, 0};
		bufferevent_set_timeouts(bev, &tv, &tv);
		bufferevent_setcb(bev, on_read, on_write, on_event, c);
		bufferevent_enable(bev, EV_READ | EV_WRITE);
	}
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
	struct ec_admin *a = arg;
	event_base_loopbreak(a->base);
}

static void on_lurk(evutil_socket_t fd, short what, void *arg)
{
	struct ec_admin *a = arg;
	EC_CHECK_MAGIC(a, EC_ADMIN_MAGIC);
	ec_admin_lurk(a);
}

/* --- setup ----------------------------------------------------------------------- */

/* The token from `file`, else EDGECACHE_ADMIN_TOKEN, trailing whitespace cut. */
static int read_token(const char *file, char *tok, size_t cap, size_t *len, char *err,
                      size_t errlen)
{
	const char *env = getenv("EDGECACHE_ADMIN_TOKEN");
	tok[0] = '\0';
	if (file[0] != '\0') {
		FILE *f = fopen(file, "r");
		if (f == NULL) {
			snprintf(err, errlen, "admin_token_file %s: %s", file, strerror(errno));
			return -1;
		}
		size_t n = fread(tok, 1, cap - 1, f);
		fclose(f);
		tok[n] = '\0';
	} else if (env != NULL) {
		snprintf(tok, cap, "%s", env);
	}
	size_t n = strlen(tok);
	while (n > 0 && (tok[n - 1] == '\n' || tok[n - 1] == '\r' || tok[n - 1] == ' ' ||
	                 tok[n - 1] == '\t'))
		tok[--n] = '\0';
	*len = n;
	if (file[0] != '\0' && n == 0) {
		snprintf(err, errlen, "admin_token_file %s: empty", file);
		return -1;
	}
	return 0;
}

int ec_admin_reload_token(struct ec_admin *a, const char *file, char *err, size_t errlen)
{
	if (a == NULL)
		return 0;
	char tok[sizeof(a->token)];
	size_t n;
	if (read_token(file, tok, sizeof(tok), &n, err, errlen) != 0)
		return -1;
	pthread_mutex_lock(&a->token_lock);
	bool changed = n != a->token_len || memcmp(tok, a->token, n) != 0;
	memcpy(a->token, tok, n + 1);
	a->token_len = n;
	pthread_mutex_unlock(&a->token_lock);
	explicit_bzero(tok, sizeof(tok));
	if (changed)
		ec_log_info("admin: token %s", n ? "replaced" : "removed: every call is allowed");
	return 0;
}

static int bind_admin(struct ec_admin *a, const char *addr, unsigned backlog, char *err,
                      size_t errlen)
{
	if (addr[0] == '/') {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};
		if (strlen(addr) >= sizeof(sun.sun_path)) {
			snprintf(err, errlen, "admin: socket path too long: %s", addr);
			return -1;
		}
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", addr);
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		struct stat st;
		if (lstat(addr, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(addr); /* a stale socket from an earlier run */
		if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
		    chmod(addr, 0660) != 0 || listen(fd, (int)backlog) != 0) {
			snprintf(err, errlen, "admin: listen %s: %s", addr, strerror(errno));
			if (fd >= 0)
				close(fd);
			return -1;
		}
		snprintf(a->unix_path, sizeof(a->unix_path), "%s", addr);
		a->fd = fd;
		fprintf(stderr, "edgecache: admin listening on unix:%s\n", addr);
		return 0;
	}
	struct ec_conf_listen l;
	if (!ec_config_parse_listen(addr, &l)) {
		snprintf(err, errlen, "admin: invalid address '%s'", addr);
		return -1;
	}
	struct addrinfo hints = {0}, *res = NULL;
	char ps[16];
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	snprintf(ps, sizeof(ps), "%u", l.port);
	int rc = getaddrinfo(l.host, ps, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "admin: listen %s: %s", addr, gai_strerror(rc));
		return -1;
	}
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) != 0 ||
	    listen(fd, (int)backlog) != 0) {
		snprintf(err, errlen, "admin: listen %s: %s", addr, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	unsigned port = l.port;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
		                                     : ((struct sockaddr_in6 *)&ss)->sin6_port);
	a->fd = fd;
	fprintf(stderr,
	        strchr(l.host, ':') ? "edgecache: listening on [%s]:%u (admin)\n"
	                            : "edgecache: listening on %s:%u (admin)\n",
	        l.host, port);
	return 0;
}

struct ec_admin *ec_admin_new(const struct ec_admin_env *env, struct ec_site *site, char *err,
                              size_t errlen)
{
	const struct ec_config *c = site->conf;
	err[0] = '\0';
	if (strcmp(c->admin, "off") == 0)
		return NULL;
	struct ec_admin *a = calloc(1, sizeof(*a));
	if (a == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->magic = EC_ADMIN_MAGIC;
	a->env = *env;
	a->fd = -1;
	a->stop_fds[0] = a->stop_fds[1] = -1;
	pthread_mutex_init(&a->site_lock, NULL);
	pthread_mutex_init(&a->token_lock, NULL);
	a->site = ec_site_ref(site);
	if (read_token(c->admin_token_file, a->token, sizeof(a->token), &a->token_len, err,
	               errlen) != 0 ||
	    bind_admin(a, c->admin, 128, err, errlen) != 0) {
		ec_admin_free(&a);
		return NULL;
	}
	if (a->token_len == 0)
		ec_log_warn("admin: no token (admin_token_file, EDGECACHE_ADMIN_TOKEN): every "
		            "call on %s is allowed",
		            c->admin);
	a->base = event_base_new();
	if (a->base == NULL || pipe2(a->stop_fds, O_CLOEXEC | O_NONBLOCK) != 0) {
		snprintf(err, errlen, "admin: out of resources");
		ec_admin_free(&a);
		return NULL;
	}
	a->ev_accept = event_new(a->base, a->fd, EV_READ | EV_PERSIST, on_accept, a);
	a->ev_stop = event_new(a->base, a->stop_fds[0], EV_READ, on_stop, a);
	a->ev_lurk = event_new(a->base, -1, EV_PERSIST, on_lurk, a);
	struct timeval sec = {1, 0};
	if (a->ev_accept == NULL || a->ev_stop == NULL || a->ev_lurk == NULL ||
	    event_add(a->ev_accept, NULL) != 0 || event_add(a->ev_stop, NULL) != 0 ||
	    event_add(a->ev_lurk, &sec) != 0) {
		snprintf(err, errlen, "admin: out of resources");
		ec_admin_free(&a);
		return NULL;
	}
	return a;
}

static void *admin_main(void *arg)
{
	struct ec_admin *a = arg;
	event_base_dispatch(a->base);
	return NULL;
}

int ec_admin_start(struct ec_admin *a)
{
	if (pthread_create(&a->thread, NULL, admin_main, a) != 0)
		return -1;
	a->started = true;
	return 0;
}

void ec_admin_free(struct ec_admin **ap)
{
	struct ec_admin *a = *ap;
	if (a == NULL)
		return;
	*ap = NULL;
	if (a->started) {
		char b = 1;
		ssize_t w = write(a->stop_fds[1], &b, 1);
		(void)w;
		pthread_join(a->thread, NULL);
	}
	while (a->conns != NULL) /* the thread has stopped: nothing else touches them */
		aconn_free(a->conns);
	if (a->ev_accept)
		event_free(a->ev_accept);
	if (a->ev_stop)
		event_free(a->ev_stop);
	if (a->ev_lurk)
		event_free(a->ev_lurk);
	if (a->base)
		event_base_free(a->base);
	for (int i = 0; i < 2; i++)
		if (a->stop_fds[i] >= 0)
			close(a->stop_fds[i]);
	if (a->fd >= 0)
		close(a->fd);
	if (a->unix_path[0])
		unlink(a->unix_path);
	ec_site_unref(&a->site);
	pthread_mutex_destroy(&a->site_lock);
	pthread_mutex_destroy(&a->token_lock);
	a->magic = 0;
	free(a);
}
