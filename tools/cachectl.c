/*
 * cachectl — edgecache's admin API from the shell (DESIGN.md "Interfaces",
 * docs/admin.md, man page tools/cachectl.1).
 *
 *   cachectl [--admin URL] [--token-file F] [--json] COMMAND [ARGS]
 *   cachectl --db DIR ls|inspect|stats ...
 *
 * Online, each command is one or two HTTP/1.1 calls to the admin API over
 * TCP or a Unix socket (one request per connection, as the daemon answers
 * them); answers are JSON, read with jansson. Human output is aligned
 * tables with sizes and ages in human units, coloured only on a terminal
 * (and never with NO_COLOR set); --json prints the API's JSON as it came.
 * Offline (--db), the LMDB disk tier of a stopped daemon is opened read-only
 * by linking storage/ (the daemon must not be running: its lock is taken
 * shared).
 *
 * Exit status: 0 success; 1 failure (admin API unreachable, token refused,
 * an error answer, nothing found); 2 usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cachectl.h"

struct ctl_globals G;

/* --- output helpers ------------------------------------------------------------- */

const char *ctl_color(const char *code)
{
	return G.color ? code : "";
}

void EC_PRINTF(1, 2) die_msg(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%scachectl:%s ", G.color ? "\033[31m" : "", G.color ? "\033[0m" : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void human_size(uint64_t b, char *out, size_t cap)
{
	const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)b;
	size_t i = 0;
	while (v >= 1024 && i + 1 < EC_ARRAY_LEN(u)) {
		v /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(out, cap, "%llu B", (unsigned long long)b);
	else
		snprintf(out, cap, "%.1f %s", v, u[i]);
}

/* Seconds as "45s", "12m", "3h", "2d"; negative as "-" prefixed (expired). */
void human_age(long long s, char *out, size_t cap)
{
	const char *neg = s < 0 ? "-" : "";
	long long a = s < 0 ? -s : s;
	if (a < 120)
		snprintf(out, cap, "%s%llds", neg, a);
	else if (a < 7200)
		snprintf(out, cap, "%s%lldm", neg, a / 60);
	else if (a < 172800)
		snprintf(out, cap, "%s%lldh", neg, a / 3600);
	else
		snprintf(out, cap, "%s%lldd", neg, a / 86400);
}

static long long jint(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_integer(v) ? (long long)json_integer_value(v)
	       : json_is_real(v)  ? (long long)json_real_value(v)
	                          : 0;
}

static double jnum(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_number(v) ? json_number_value(v) : 0.0;
}

static const char *jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : "";
}

/* --- HTTP to the admin API ------------------------------------------------------------- */

struct reply {
	int status;
	char *body;
	size_t len;
};

static int connect_admin(char *where, size_t wcap)
{
	const char *a = G.admin;
	if (strncmp(a, "unix:", 5) == 0 || a[0] == '/') {
		const char *path = a[0] == '/' ? a : a + 5;
		snprintf(where, wcap, "unix:%s", path);
		struct sockaddr_un sun = {.sun_family = AF_UNIX};
		if (strlen(path) >= sizeof(sun.sun_path)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
			int e = errno;
			if (fd >= 0)
				close(fd);
			errno = e;
			return -1;
		}
		return fd;
	}
	if (strncmp(a, "http://", 7) == 0)
		a += 7;
	char host[256], port[16] = "9090";
	const char *end = a + strcspn(a, "/");
	if (*a == '[') {
		const char *rb = memchr(a, ']', (size_t)(end - a));
		if (rb == NULL) {
			errno = EINVAL;
			return -1;
		}
		snprintf(host, sizeof(host), "%.*s", (int)(rb - a - 1), a + 1);
		if (rb[1] == ':')
			snprintf(port, sizeof(port), "%.*s", (int)(end - rb - 2), rb + 2);
	} else {
		const char *colon = memchr(a, ':', (size_t)(end - a));
		snprintf(host, sizeof(host), "%.*s", (int)((colon ? colon : end) - a), a);
		if (colon)
			snprintf(port, sizeof(port), "%.*s", (int)(end - colon - 1), colon + 1);
	}
	snprintf(where, wcap, "%s:%s", host, port);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	int rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		errno = EHOSTUNREACH;
		return -1;
	}
	int fd = -1;
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (fd >= 0) {
			int e = errno;
			close(fd);
			errno = e;
		}
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static bool write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/*
 * One call. Returns 0 with the reply (status >= 200), or -1 after printing
 * why (unreachable, broken answer). A 401 is reported here too, as -1.
 */
static int call(const char *method, const char *target, const char *body, struct reply *r)
{
	char where[300];
	memset(r, 0, sizeof(*r));
	int fd = connect_admin(where, sizeof(where));
	if (fd < 0) {
		die_msg("cannot reach the admin API at %s: %s (is edgecache running? set --admin "
		        "URL or EDGECACHE_ADMIN)",
		        where[0] ? where : G.admin, strerror(errno));
		return -1;
	}
	struct timeval tv = {30, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	size_t blen = body ? strlen(body) : 0;
	size_t cap = strlen(target) + sizeof(G.token) + 256;
	char *head = malloc(cap);
	if (head == NULL) {
		close(fd);
		die_msg("out of memory");
		return -1;
	}
	int hl = snprintf(head, cap,
	                  "%s %s HTTP/1.1\r\nHost: edgecache-admin\r\nUser-Agent: cachectl\r\n"
	                  "%s%s%sContent-Length: %zu\r\nConnection: close\r\n\r\n",
	                  method, target, G.token[0] ? "Authorization: Bearer " : "", G.token,
	                  G.token[0] ? "\r\n" : "", blen);
	bool ok = write_all(fd, head, (size_t)hl) && (blen == 0 || write_all(fd, body, blen));
	free(head);
	if (!ok) {
		die_msg("the admin API at %s closed the connection: %s", where, strerror(errno));
		close(fd);
		return -1;
	}
	size_t len = 0, bcap = 65536;
	char *buf = malloc(bcap + 1);
	for (;;) {
		if (buf == NULL) {
			close(fd);
			die_msg("out of memory");
			return -1;
		}
		if (len == bcap) {
			char *nb = realloc(buf, bcap * 2 + 1);
			if (nb == NULL) {
				free(buf);
				buf = NULL;
				continue;
			}
			buf = nb;
			bcap *= 2;
		}
		ssize_t n = read(fd, buf + len, bcap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			die_msg("reading from the admin API at %s: %s", where, strerror(errno));
			free(buf);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	int st = 0;
	char *eoh = strstr(buf, "\r\n\r\n");
	if (sscanf(buf, "HTTP/1.%*d %d", &st) != 1 || eoh == NULL) {
		die_msg("the admin API at %s sent no HTTP answer", where);
		free(buf);
		return -1;
	}
	r->status = st;
	r->len = len - (size_t)(eoh + 4 - buf);
	r->body = malloc(r->len + 1);
	if (r->body == NULL) {
		free(buf);
		die_msg("out of memory");
		return -1;
	}
	memcpy(r->body, eoh + 4, r->len);
	r->body[r->len] = '\0';
	free(buf);
	if (st == 401) {
		die_msg("the admin API at %s refused the %s (401): give --token-file FILE or set "
		        "EDGECACHE_ADMIN_TOKEN",
		        where, G.token[0] ? "token" : "call without a token");
		free(r->body);
		r->body = NULL;
		return -1;
	}
	return 0;
}

/* The reply's JSON, or NULL after printing the API's error (status >= 300). */
static json_t *call_json(const char *method, const char *target, const char *body, int *status)
{
	struct reply r;
	if (call(method, target, body, &r) != 0)
		return NULL;
	*status = r.status;
	json_error_t je;
	json_t *j = json_loadb(r.body, r.len, 0, &je);
	if (r.status >= 300) {
		const char *msg = j ? jstr(j, "error") : "";
		die_msg("%s %s: %d %s", method, target, r.status, msg[0] ? msg : r.body);
		json_decref(j);
		free(r.body);
		return NULL;
	}
	if (j == NULL)
		die_msg("%s %s: the answer is not JSON: %s", method, target, je.text);
	free(r.body);
	return j;
}

static void urlenc(const char *s, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (; *s && o + 4 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~' || c == '/' || c == ':') {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
}

void print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (s) {
		puts(s);
		free(s);
	}
}

/* --- help ------------------------------------------------------------------------------- */

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *synopsis;
	const char *help;
	bool offline; /* works with --db */
};

static const struct cmd *find_cmd(const char *name);
static const struct cmd cmds[];

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: cachectl [--admin URL] [--token-file F] [--json] COMMAND [ARGS]\n"
	        "       cachectl --db DIR ls|inspect|stats [ARGS]\n\n"
	        "Options:\n"
	        "  --admin URL       the admin API: http://HOST:PORT, HOST:PORT or a Unix socket\n"
	        "                    path (unix:/path or /path); default $EDGECACHE_ADMIN or\n"
	        "                    127.0.0.1:9090\n"
	        "  --token-file F    the bearer token's file; default $EDGECACHE_ADMIN_TOKEN\n"
	        "  --json            print the API's JSON instead of tables\n"
	        "  --db DIR          read a stopped daemon's disk tier (read-only)\n"
	        "  -h, --help        this text; cachectl COMMAND --help for one command\n\n"
	        "Commands:\n");
	for (const struct cmd *c = cmds; c->name; c++)
		fprintf(f, "  %s\n", c->synopsis);
	fprintf(f, "\nExit status: 0 success, 1 failure, 2 usage error.\n");
}

static bool wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
	return false;
}

static int cmd_usage(const char *name, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "cachectl %s: ", name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	const struct cmd *c = find_cmd(name);
	fprintf(stderr, "\nusage: cachectl %s\n", c ? c->synopsis : name);
	return EXIT_USAGE;
}

/* --- stats ------------------------------------------------------------------------------- */

void row(const char *label, const char *fmt, ...)
{
	va_list ap;
	printf("  %s%-18s%s ", BOLD, label, RESET);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static int stats_online(void)
{
	int st;
	json_t *j = call_json("GET", "/stats", NULL, &st);
	if (j == NULL)
		return EXIT_FAIL;
	if (G.json) {
		print_json(j);
		json_decref(j);
		return 0;
	}
	json_t *rq = json_object_get(j, "requests"), *by = json_object_get(j, "bytes");
	json_t *ct = json_object_get(j, "counters"), *mem = json_object_get(j, "memory");
	json_t *dk = json_object_get(j, "disk");
	char a[32], b[32], c[32];
	long long total = 0;
	const char *k;
	json_t *v;
	json_object_foreach(rq, k, v) total += json_integer_value(v);
	printf("%sedgecache%s  %lld workers\n", BOLD, RESET, jint(j, "workers"));
	row("requests",
	    "%lld  (hit %lld, hit-disk %lld, miss %lld, expired %lld, revalidated "
	    "%lld, stale %lld, collapsed %lld, pass %lld, other %lld)",
	    total, jint(rq, "hit"), jint(rq, "hit_disk"), jint(rq, "miss"), jint(rq, "expired"),
	    jint(rq, "revalidated"), jint(rq, "stale"), jint(rq, "collapsed"), jint(rq, "pass"),
	    jint(rq, "other"));
	row("hit ratio", "%s%.1f%%%s", GREEN, 100.0 * jnum(j, "hit_ratio"), RESET);
	human_size((uint64_t)jint(by, "memory"), a, sizeof(a));
	human_size((uint64_t)jint(by, "disk"), b, sizeof(b));
	human_size((uint64_t)jint(by, "origin"), c, sizeof(c));
	row("bytes served", "memory %s, disk %s, origin %s", a, b, c);
	human_size((uint64_t)jint(mem, "bytes"), a, sizeof(a));
	human_size((uint64_t)jint(mem, "capacity"), b, sizeof(b));
	row("memory tier", "%lld objects, %s of %s, %lld evictions, %lld refused by admission",
	    jint(mem, "objects"), a, b, jint(mem, "evictions"), jint(mem, "rejected_admission"));
	if (json_is_object(dk)) {
		human_size((uint64_t)jint(dk, "used_bytes"), a, sizeof(a));
		human_size((uint64_t)jint(dk, "map_size"), b, sizeof(b));
		row("disk tier", "%lld objects, %s of %s, %lld evictions%s", jint(dk, "objects"), a,
		    b, jint(dk, "evictions"),
		    jint(dk, "state") == 0   ? ""
		    : jint(dk, "state") == 1 ? " (READ-ONLY)"
		                             : " (OFF)");
	} else {
		row("disk tier", "%snone%s", DIM, RESET);
	}
	row("origin", "%lld requests, %lld errors, %lld timeouts, %lld connect errors",
	    jint(ct, "origin_requests"), jint(ct, "origin_errors"), jint(ct, "origin_timeouts"),
	    jint(ct, "origin_connect_errors"));
	row("origin pool", "%lld opened, %lld reused, %lld idle", jint(ct, "origin_conns_opened"),
	    jint(ct, "origin_conns_reused"), jint(ct, "origin_conns_idle"));
	row("clients", "%lld open, %lld accepted, %lld requests", jint(ct, "client_conns_open"),
	    jint(ct, "client_conns_accepted"), jint(ct, "client_requests"));
	row("coalesced waits", "%lld", jint(ct, "cache_coalesced"));
	row("stale served", "%lld (while revalidating %lld, on origin error %lld)",
	    jint(ct, "cache_swr_served") + jint(ct, "stale_error_served"),
	    jint(ct, "cache_swr_served"), jint(ct, "stale_error_served"));
	row("worker loop lag", "%.1f ms", (double)jint(ct, "loop_lag_us") / 1000.0);
	json_decref(j);
	return 0;
}

/* --- ls ----------------------------------------------------------------------------------- */

static int sort_by; /* 0 key, 1 hits, 2 size, 3 age */

static int obj_cmp(const void *x, const void *y)
{
	const struct obj *a = x, *b = y;
	long long d = 0;
	if (sort_by == 1)
		d = b->hits - a->hits;
	else if (sort_by == 2)
		d = b->size - a->size;
	else if (sort_by == 3)
		d = b->age - a->age;
	if (d != 0)
		return d < 0 ? -1 : 1;
	return strcmp(a->key, b->key);
}

void print_objects(struct obj *o, size_t n, size_t limit)
{
	size_t kw = 3;
	for (size_t i = 0; i < n && i < limit; i++)
		kw = EC_MAX(kw, strlen(o[i].key));
	kw = EC_MIN(kw, (size_t)90);
	printf("%s%-*s  %-11s %4s %10s %6s %7s %7s%s\n", BOLD, (int)kw, "KEY", "TIER", "VAR",
	       "SIZE", "AGE", "TTL", "HITS", RESET);
	for (size_t i = 0; i < n && i < limit; i++) {
		char sz[32], age[32], ttl[32];
		human_size((uint64_t)o[i].size, sz, sizeof(sz));
		human_age(o[i].age, age, sizeof(age));
		human_age(o[i].ttl, ttl, sizeof(ttl));
		printf("%-*s  %-11s %4lld %10s %6s %s%7s%s %7lld%s\n", (int)kw, o[i].key, o[i].tier,
		       o[i].variants, sz, age, o[i].stale || o[i].ttl < 0 ? YELLOW : "", ttl, RESET,
		       o[i].hits, o[i].stale ? "  stale" : "");
	}
	if (n > limit)
		printf("%s... %zu more (--limit)%s\n", DIM, n - limit, RESET);
}

static int cmd_ls(int argc, char **argv)
{
	const char *prefix = "";
	size_t limit = 100;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--prefix") == 0 && i + 1 < argc)
			prefix = argv[++i];
		else if (strcmp(argv[i], "--sort") == 0 && i + 1 < argc) {
			const char *s = argv[++i];
			sort_by = !strcmp(s, "hits")   ? 1
			          : !strcmp(s, "size") ? 2
			          : !strcmp(s, "age")  ? 3
			                               : -1;
			if (sort_by < 0)
				return cmd_usage("ls", "--sort takes hits, size or age, not '%s'",
				                 s);
		} else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
			char *end;
			limit = strtoul(argv[++i], &end, 10);
			if (*end || limit == 0)
				return cmd_usage("ls", "--limit takes a positive number");
		} else
			return cmd_usage("ls", "unexpected argument '%s'", argv[i]);
	}
	struct ctl_objs l = {0};
	if (G.db != NULL) {
		if (ctl_db_list(prefix, &l) != 0)
			return EXIT_FAIL;
		if (G.json) {
			json_t *arr = json_array();
			for (size_t i = 0; i < l.n; i++)
				json_array_append_new(
				        arr,
				        json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:b}", "key",
				                  l.o[i].key, "tier", "disk", "variants",
				                  (json_int_t)l.o[i].variants, "size",
				                  (json_int_t)l.o[i].size, "age",
				                  (json_int_t)l.o[i].age, "ttl",
				                  (json_int_t)l.o[i].ttl, "stale", l.o[i].stale));
			json_t *j =
			        json_pack("{s:o, s:I}", "objects", arr, "count", (json_int_t)l.n);
			print_json(j);
			json_decref(j);
		}
	} else {
		char *enc = malloc(strlen(prefix) * 3 + 1), *tgt = malloc(strlen(prefix) * 3 + 128);
		if (enc == NULL || tgt == NULL) {
			die_msg("out of memory");
			return EXIT_FAIL;
		}
		urlenc(prefix, enc, strlen(prefix) * 3 + 1);
		/* sorting needs every key; the listing order alone needs `limit` */
		snprintf(tgt, strlen(prefix) * 3 + 128, "/objects?prefix=%s&limit=%zu", enc,
		         sort_by ? (size_t)100000 : limit);
		free(enc);
		int st;
		json_t *j = call_json("GET", tgt, NULL, &st);
		free(tgt);
		if (j == NULL)
			return EXIT_FAIL;
		if (G.json && !sort_by) {
			print_json(j);
			json_decref(j);
			return 0;
		}
		json_t *arr = json_object_get(j, "objects"), *v;
		size_t i;
		l.o = calloc(json_array_size(arr) + 1, sizeof(*l.o));
		json_array_foreach(arr, i, v)
		{
			struct obj *o = &l.o[l.n++];
			o->key = strdup(jstr(v, "key"));
			o->tier = strcmp(jstr(v, "tier"), "memory+disk") == 0 ? "memory+disk"
			          : strcmp(jstr(v, "tier"), "disk") == 0      ? "disk"
			                                                      : "memory";
			o->size = jint(v, "size");
			o->age = jint(v, "age");
			o->ttl = jint(v, "ttl");
			o->hits = jint(v, "hits");
			o->variants = jint(v, "variants");
			o->stale = json_is_true(json_object_get(v, "stale"));
		}
		if (G.json) { /* sorted */
			qsort(l.o, l.n, sizeof(*l.o), obj_cmp);
			json_t *out = json_array();
			for (size_t k = 0; k < l.n && k < limit; k++) {
				json_array_foreach(arr, i,
				                   v) if (strcmp(jstr(v, "key"), l.o[k].key) == 0)
				{
					json_array_append(out, v);
					break;
				}
			}
			json_t *o = json_pack("{s:o}", "objects", out);
			print_json(o);
			json_decref(o);
		}
		json_decref(j);
	}
	if (!G.json) {
		qsort(l.o, l.n, sizeof(*l.o), obj_cmp);
		print_objects(l.o, l.n, limit);
	}
	for (size_t i = 0; i < l.n; i++)
		free(l.o[i].key);
	free(l.o);
	return 0;
}

/* --- inspect ------------------------------------------------------------------------------ */

static void print_variant(json_t *v, long long now)
{
	char sz[32], age[32], ttl[32];
	if (json_is_integer(json_object_get(v, "size")))
		human_size((uint64_t)jint(v, "size"), sz, sizeof(sz));
	else
		snprintf(sz, sizeof(sz), "-"); /* a disk variant other than the newest */
	human_age(now - jint(v, "stored_at"), age, sizeof(age));
	human_age(jint(v, "expires") - now, ttl, sizeof(ttl));
	bool stale = json_is_true(json_object_get(v, "stale"));
	printf("\n%svariant%s  tier %s%s%s\n", BOLD, RESET, jstr(v, "tier"), stale ? "  " : "",
	       stale ? "(soft-purged: stale)" : "");
	const char *vk = jstr(v, "vary_key");
	/* the secondary key: "name=value" lines, shown on one line */
	char vkl[512];
	size_t o = 0;
	for (const char *p = vk; *p && o + 3 < sizeof(vkl); p++) {
		if (*p == '\n') {
			if (p[1] != '\0') {
				vkl[o++] = ';';
				vkl[o++] = ' ';
			}
		} else if ((unsigned char)*p >= 0x20) {
			vkl[o++] = *p;
		}
	}
	vkl[o] = '\0';
	row("vary key", "%s", o ? vkl : "(none)");
	row("status", "%lld", jint(v, "status"));
	row("size", "%s", sz);
	row("hits", "%lld", jint(v, "hits"));
	time_t t = (time_t)jint(v, "stored_at");
	char when[64];
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime(&t));
	row("stored", "%s (%s ago)", when, age);
	row("lifetime", "%llds", jint(v, "lifetime"));
	row("ttl left", "%s%s%s", jint(v, "expires") < now ? YELLOW : "", ttl, RESET);
	json_t *tags = json_object_get(v, "tags"), *x;
	size_t i;
	printf("  %s%-18s%s", BOLD, "tags", RESET);
	if (json_array_size(tags) == 0)
		printf(" (none)");
	json_array_foreach(tags, i, x) printf(" %s", json_string_value(x));
	printf("\n  %sheaders%s\n", BOLD, RESET);
	json_array_foreach(json_object_get(v, "headers"), i, x)
	{
		printf("    %s%s:%s %s\n", DIM, json_string_value(json_array_get(x, 0)), RESET,
		       json_string_value(json_array_get(x, 1)));
	}
}

static int cmd_inspect(int argc, char **argv)
{
	if (argc != 2)
		return cmd_usage("inspect", "give one URL");
	long long now = (long long)time(NULL);
	json_t *j;
	if (G.db != NULL) {
		j = ctl_db_inspect(argv[1], now);
	} else {
		size_t cap = strlen(argv[1]) * 3 + 32;
		char *tgt = malloc(cap), *enc = malloc(cap);
		if (tgt == NULL || enc == NULL)
			return EXIT_FAIL;
		urlenc(argv[1], enc, cap);
		snprintf(tgt, cap, "/object?url=%s", enc);
		int st;
		j = call_json("GET", tgt, NULL, &st);
		free(tgt);
		free(enc);
	}
	if (j == NULL)
		return EXIT_FAIL;
	if (G.json) {
		print_json(j);
	} else {
		printf("%s%s%s\n", BOLD, jstr(j, "key"), RESET);
		json_t *v;
		size_t i;
		json_array_foreach(json_object_get(j, "variants"), i, v) print_variant(v, now);
	}
	json_decref(j);
	return 0;
}

/* --- purge, ban ------------------------------------------------------------------------ */

static int cmd_purge(int argc, char **argv)
{
	const char *kind = "url";
	bool soft = false;
	size_t cap = 64;
	for (int i = 1; i < argc; i++)
		cap += strlen(argv[i]) * 3 + 16;
	char *q = malloc(cap), *enc = malloc(cap);
	if (q == NULL || enc == NULL)
		return EXIT_FAIL;
	strcpy(q, "/purge?");
	int n = 0;
	for (int i = 1; i < argc; i++) {
		const char *val = argv[i];
		if (strcmp(argv[i], "--soft") == 0) {
			soft = true;
			continue;
		}
		if (strcmp(argv[i], "--prefix") == 0 || strcmp(argv[i], "--tag") == 0) {
			const char *k = argv[i] + 2;
			if (n > 0 && strcmp(kind, k) != 0) {
				free(q);
				free(enc);
				return cmd_usage("purge",
				                 "give URLs, --prefix P or --tag T..., not a mix");
			}
			if (i + 1 >= argc) {
				free(q);
				free(enc);
				return cmd_usage("purge", "%s needs a value", argv[i]);
			}
			kind = k;
			val = argv[++i];
		} else if (argv[i][0] == '-') {
			free(q);
			free(enc);
			return cmd_usage("purge", "unknown option '%s'", argv[i]);
		} else if (n > 0 && strcmp(kind, "url") != 0) {
			free(q);
			free(enc);
			return cmd_usage("purge", "give URLs, --prefix P or --tag T..., not a mix");
		}
		urlenc(val, enc, cap);
		size_t l = strlen(q);
		snprintf(q + l, cap - l, "%s%s=%s", n ? "&" : "", kind, enc);
		n++;
	}
	free(enc);
	if (n == 0) {
		free(q);
		return cmd_usage("purge", "give what to purge");
	}
	if (strcmp(kind, "prefix") == 0 && n > 1) {
		free(q);
		return cmd_usage("purge", "one --prefix at a time");
	}
	if (soft)
		strcat(q, "&soft=1");
	int st;
	json_t *j = call_json("POST", q, NULL, &st);
	free(q);
	if (j == NULL)
		return EXIT_FAIL;
	if (G.json)
		print_json(j);
	else
		printf("%s%lld%s object%s %s (memory %lld, disk %lld)\n", BOLD, jint(j, "purged"),
		       RESET, jint(j, "purged") == 1 ? "" : "s", soft ? "marked stale" : "purged",
		       jint(j, "memory"), jint(j, "disk"));
	json_decref(j);
	return 0;
}

static int cmd_ban(int argc, char **argv)
{
	if (argc < 2)
		return cmd_usage("ban", "give an expression, e.g. 'req.url ~ \"^/img/\"'");
	/* the words of the expression, joined: `cachectl ban req.url '~' ^/a` works too */
	size_t cap = 1;
	for (int i = 1; i < argc; i++)
		cap += strlen(argv[i]) + 1;
	char *expr = calloc(1, cap);
	if (expr == NULL)
		return EXIT_FAIL;
	for (int i = 1; i < argc; i++) {
		if (i > 1)
			strcat(expr, " ");
		strcat(expr, argv[i]);
	}
	int st;
	json_t *j = call_json("POST", "/ban", expr, &st);
	free(expr);
	if (j == NULL)
		return EXIT_FAIL;
	if (G.json) {
		print_json(j);
	} else {
		printf("ban added: %s%lld%s object%s removed now; %zu ban%s active\n", BOLD,
		       jint(j, "purged"), RESET, jint(j, "purged") == 1 ? "" : "s",
		       json_array_size(json_object_get(j, "bans")),
		       json_array_size(json_object_get(j, "bans")) == 1 ? "" : "s");
	}
	json_decref(j);
	return 0;
}

static int cmd_bans(int argc, char **argv)
{
	if (argc > 1)
		return cmd_usage("bans", "takes no arguments");
	int st;
	json_t *j = call_json("GET", "/ban", NULL, &st);
	if (j == NULL)
		return EXIT_FAIL;
	json_t *bans = json_object_get(j, "bans");
	if (G.json) {
		print_json(j);
	} else if (json_array_size(bans) == 0) {
		printf("no bans listed\n");
	} else {
		time_t now = time(NULL);
		printf("%s%8s  %s%s\n", BOLD, "AGE", "EXPRESSION", RESET);
		size_t i;
		json_t *b;
		json_array_foreach(bans, i, b)
		{
			long long age = (long long)now - jint(b, "time");
			printf("%7llds  %s\n", age < 0 ? 0 : age, jstr(b, "expr"));
		}
	}
	json_decref(j);
	return 0;
}

/* --- backends ------------------------------------------------------------------------- */

static int cmd_backends(int argc, char **argv)
{
	if (argc != 1)
		return cmd_usage("backends", "takes no arguments");
	int st;
	json_t *j = call_json("GET", "/backends", NULL, &st);
	if (j == NULL)
		return EXIT_FAIL;
	if (G.json) {
		print_json(j);
		json_decref(j);
		return 0;
	}
	json_t *g, *b;
	size_t i, k;
	size_t nw = 7;
	json_array_foreach(json_object_get(j, "groups"), i, g)
	        json_array_foreach(json_object_get(g, "backends"), k, b) nw =
	                EC_MAX(nw, strlen(jstr(b, "name")));
	printf("%s%-10s %-*s %6s %6s %-7s %8s %6s %5s %5s %6s %7s %8s %8s %8s%s\n", BOLD, "GROUP",
	       (int)nw, "BACKEND", "WEIGHT", "BACKUP", "HEALTH", "REQS", "ERRS", "INFL", "IDLE",
	       "NEW", "REUSED", "P50", "P90", "P99", RESET);
	json_array_foreach(json_object_get(j, "groups"), i, g)
	{
		json_array_foreach(json_object_get(g, "backends"), k, b)
		{
			const char *h = jstr(b, "health");
			json_t *lat = json_object_get(b, "latency_ms");
			printf("%-10s %-*s %6lld %6s %s%-7s%s %8lld %6lld %5lld %5lld %6lld %7lld "
			       "%6.1fms %6.1fms %6.1fms\n",
			       k == 0 ? jstr(g, "name") : "", (int)nw, jstr(b, "name"),
			       jint(b, "weight"),
			       json_is_true(json_object_get(b, "backup")) ? "yes" : "no",
			       strcmp(h, "up") == 0 ? GREEN : RED, h, RESET, jint(b, "requests"),
			       jint(b, "errors"), jint(b, "inflight"), jint(b, "pool_idle"),
			       jint(b, "pool_new"), jint(b, "pool_reused"), jnum(lat, "p50"),
			       jnum(lat, "p90"), jnum(lat, "p99"));
		}
		printf("%s%-10s algorithm %s%s\n", DIM, "", jstr(g, "algorithm"), RESET);
	}
	json_decref(j);
	return 0;
}

/* --- top ----------------------------------------------------------------------------------- */

static volatile sig_atomic_t stop_top;

static void on_sigint(int sig)
{
	(void)sig;
	stop_top = 1;
}

static int cmd_top(int argc, char **argv)
{
	double interval = 2.0;
	long count = isatty(STDOUT_FILENO) ? 0 : 1;
	size_t rows = 20;
	for (int i = 1; i < argc; i++) {
		char *end = NULL;
		if (strcmp(argv[i], "--interval") == 0 && i + 1 < argc) {
			interval = strtod(argv[++i], &end);
			if (*end || interval < 0.1)
				return cmd_usage("top", "--interval takes seconds (>= 0.1)");
		} else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
			count = strtol(argv[++i], &end, 10);
			if (*end || count < 0)
				return cmd_usage("top",
				                 "--count takes a number (0 = until Ctrl-C)");
		} else if (strcmp(argv[i], "--rows") == 0 && i + 1 < argc) {
			rows = strtoul(argv[++i], &end, 10);
			if (*end || rows == 0)
				return cmd_usage("top", "--rows takes a positive number");
		} else
			return cmd_usage("top", "unexpected argument '%s'", argv[i]);
	}
	signal(SIGINT, on_sigint);
	long long prev_hits = -1, prev_lookups = 0;
	for (long round = 0; !stop_top && (count == 0 || round < count); round++) {
		if (round > 0) {
			struct timespec ts = {(time_t)interval,
			                      (long)((interval - (double)(time_t)interval) * 1e9)};
			nanosleep(&ts, NULL);
			if (stop_top)
				break;
		}
		int st;
		json_t *s = call_json("GET", "/stats", NULL, &st);
		json_t *o = s ? call_json("GET", "/objects?limit=100000", NULL, &st) : NULL;
		if (o == NULL) {
			json_decref(s);
			return EXIT_FAIL;
		}
		json_t *rq = json_object_get(s, "requests");
		long long hits = jint(rq, "hit") + jint(rq, "hit_disk") + jint(rq, "stale");
		long long lookups = hits + jint(rq, "miss") + jint(rq, "expired") +
		                    jint(rq, "revalidated") + jint(rq, "collapsed");
		json_t *arr = json_object_get(o, "objects"), *v;
		size_t i, n = 0;
		struct obj *ob = calloc(json_array_size(arr) + 1, sizeof(*ob));
		json_array_foreach(arr, i, v)
		{
			ob[n].key = (char *)jstr(v, "key");
			ob[n].tier = jstr(v, "tier");
			ob[n].size = jint(v, "size");
			ob[n].age = jint(v, "age");
			ob[n].ttl = jint(v, "ttl");
			ob[n].hits = jint(v, "hits");
			ob[n].variants = jint(v, "variants");
			ob[n].stale = json_is_true(json_object_get(v, "stale"));
			n++;
		}
		sort_by = 1;
		qsort(ob, n, sizeof(*ob), obj_cmp);
		if (G.json) {
			printf("{\"hit_ratio\": %.4f, \"top\": [", jnum(s, "hit_ratio"));
			for (size_t k = 0; k < n && k < rows; k++)
				printf("%s{\"key\": \"%s\", \"hits\": %lld}", k ? ", " : "",
				       ob[k].key, ob[k].hits);
			printf("]}\n");
		} else {
			if (isatty(STDOUT_FILENO))
				printf("\033[H\033[2J");
			time_t t = time(NULL);
			char when[32];
			strftime(when, sizeof(when), "%H:%M:%S", localtime(&t));
			double recent = -1;
			if (prev_hits >= 0 && lookups > prev_lookups)
				recent = 100.0 * (double)(hits - prev_hits) /
				         (double)(lookups - prev_lookups);
			printf("%sedgecache top%s  %s   hit ratio %s%.1f%%%s since start", BOLD,
			       RESET, when, GREEN, 100.0 * jnum(s, "hit_ratio"), RESET);
			if (recent >= 0)
				printf(", %.1f%% last %.0fs", recent, interval);
			printf("   %zu objects\n\n", n);
			print_objects(ob, n, rows);
		}
		fflush(stdout);
		prev_hits = hits;
		prev_lookups = lookups;
		free(ob);
		json_decref(o);
		json_decref(s);
	}
	return 0;
}

static int cmd_stats(int argc, char **argv)
{
	if (argc != 1)
		return cmd_usage("stats", "takes no arguments");
	return G.db ? ctl_db_stats() : stats_online();
}

static const struct cmd cmds[] = {
        {"stats", cmd_stats, "stats",
         "Counters and gauges: requests by cache outcome, hit "
         "ratio, bytes by tier, objects and bytes per tier, evictions, origin and pool "
         "figures, coalesced waits, stale served, loop lag. With --db: the disk tier's "
         "objects and space.",
         true},
        {"purge", cmd_purge,
         "purge [--soft] URL... | purge [--soft] --prefix P | purge [--soft] --tag T...",
         "Removes every variant of each URL (or every object whose key starts with the "
         "prefix, or every object tagged by Surrogate-Key / Cache-Tag) from both tiers and "
         "prints how many. --soft marks them stale instead: served under "
         "stale-while-revalidate / stale-if-error, revalidated before they are fresh again.",
         false},
        {"ban", cmd_ban, "ban EXPR",
         "Bans every object stored before now that matches "
         "EXPR, e.g. 'req.url ~ \"^/img/\" && obj.http.content-type == \"image/png\"' "
         "(fields req.url, req.host, obj.status, obj.http.NAME; operators ~ !~ == !=).",
         false},
        {"bans", cmd_bans, "bans",
         "The bans still listed (each for 60 s after it was added, while "
         "lookups may still meet objects it matches), newest first, with their age.",
         false},
        {"inspect", cmd_inspect, "inspect URL",
         "One cached URL: every variant with its tier, "
         "status, size, hits, times, TTL left, tags and stored headers. With --db: from the "
         "disk tier (default key rules).",
         true},
        {"ls", cmd_ls, "ls [--prefix P] [--sort hits|size|age] [--limit N]",
         "Lists cached "
         "keys with tier, variants, size, age, TTL left and hits (default: key order, 100 "
         "rows). With --db: the disk tier's keys.",
         true},
        {"top", cmd_top, "top [--interval S] [--count N] [--rows N]",
         "A live view of the "
         "hottest objects and the hit ratio, refreshed every S seconds (2); on a terminal "
         "until Ctrl-C, otherwise N rounds (1).",
         false},
        {"backends", cmd_backends, "backends",
         "Origin groups and backends: weight, health, "
         "requests, errors, in flight, pool figures and latency.",
         false},
        {NULL, NULL, NULL, NULL, false},
};

static const struct cmd *find_cmd(const char *name)
{
	for (const struct cmd *c = cmds; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

static int read_token(void)
{
	G.token[0] = '\0';
	if (G.token_file != NULL) {
		FILE *f = fopen(G.token_file, "r");
		if (f == NULL) {
			die_msg("--token-file %s: %s", G.token_file, strerror(errno));
			return -1;
		}
		size_t n = fread(G.token, 1, sizeof(G.token) - 1, f);
		fclose(f);
		G.token[n] = '\0';
	} else if (getenv("EDGECACHE_ADMIN_TOKEN") != NULL) {
		snprintf(G.token, sizeof(G.token), "%s", getenv("EDGECACHE_ADMIN_TOKEN"));
	}
	size_t n = strlen(G.token);
	while (n > 0 && strchr(" \t\r\n", G.token[n - 1]))
		G.token[--n] = '\0';
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)G.token[i] < 0x20) {
			die_msg("the token holds a control character");
			return -1;
		}
	return 0;
}

int main(int argc, char **argv)
{
	G.admin = getenv("EDGECACHE_ADMIN") ? getenv("EDGECACHE_ADMIN") : "127.0.0.1:9090";
	G.color = isatty(STDOUT_FILENO) && isatty(STDERR_FILENO) && getenv("NO_COLOR") == NULL;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--json") == 0)
			G.json = true;
		else if (strcmp(a, "--no-color") == 0)
			G.color = false;
		else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else if ((strcmp(a, "--admin") == 0 || strcmp(a, "--token-file") == 0 ||
		            strcmp(a, "--db") == 0)) {
			if (i + 1 >= argc) {
				fprintf(stderr, "cachectl: %s needs a value\n", a);
				usage(stderr);
				return EXIT_USAGE;
			}
			const char **dst = a[2] == 'a'   ? &G.admin
			                   : a[2] == 't' ? &G.token_file
			                                 : &G.db;
			*dst = argv[++i];
		} else {
			fprintf(stderr, "cachectl: unknown option '%s'\n", a);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "cachectl: give a command\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[i], "help") == 0) {
		const struct cmd *c = i + 1 < argc ? find_cmd(argv[i + 1]) : NULL;
		if (c == NULL) {
			usage(stdout);
			return 0;
		}
		printf("usage: cachectl %s\n\n%s\n", c->synopsis, c->help);
		return 0;
	}
	const struct cmd *c = find_cmd(argv[i]);
	if (c == NULL) {
		fprintf(stderr, "cachectl: unknown command '%s'\n", argv[i]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (wants_help(argc - i, argv + i)) {
		printf("usage: cachectl %s\n\n%s\n", c->synopsis, c->help);
		return 0;
	}
	if (G.db != NULL && !c->offline) {
		fprintf(stderr, "cachectl: --db works with ls, inspect and stats, not %s\n",
		        c->name);
		return EXIT_USAGE;
	}
	if (G.db == NULL && read_token() != 0)
		return EXIT_FAIL;
	return c->fn(argc - i, argv + i);
}
