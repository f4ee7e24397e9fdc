/*
 * config_args.c — the daemon's front door to its configuration: the command
 * line (ec_config_from_args, getopt_long), the --help text, and whole-config
 * validation (ec_config_finish), which runs after the file and the flags
 * have been applied.
 *
 * The flags are one table, `flags` below, which drives getopt_long's option
 * array, the short option string and the --help text. Scalar flags set a key
 * of config.c's schema (ec_config__set), list flags append to a list
 * (ec_config__list_add); both record the flag as the key's source so that
 * ec_config_finish can name it in its errors.
 *
 * Threads: main thread only (getopt keeps global state; the usage text is
 * built once into a static buffer).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ec_util.h"
#include "acl.h"
#include "config.h"
#include "ec_http.h"
#include "tls.h"

enum {
	OPT_INVALID = 0,
	OPT_TLS_LISTEN = 256,
	OPT_CERT,
	OPT_ADMIN,
	OPT_ADMIN_TOKEN_FILE,
	OPT_ACCESS_LOG,
	OPT_CHECK,
};

static const struct flag {
	int val;               /* getopt_long's answer */
	const char *shortname; /* "-l", or NULL */
	const char *longname;  /* "--listen" */
	const char *arg;       /* the argument's name, NULL when none */
	const char *key;       /* the schema key or list it sets, NULL for the others */
	bool list;             /* repeatable: the first replaces the file's list */
	const char *help;
} flags[] = {
        {'c', "-c", "--config", "FILE", NULL, false, "YAML config file (conf/edgecache.yaml)"},
        {'l', "-l", "--listen", "ADDR:PORT", "listen", true,
         "plain HTTP listener, IPv4 or [IPv6] (repeat; 127.0.0.1:8080)"},
        {'o', "-o", "--origin", "URL", "origins", true,
         "origin http://HOST[:PORT] (repeat for a balanced group)"},
        {'m', "-m", "--memory", "SIZE", "memory", false, "memory tier size (default 256M)"},
        {'d', "-d", "--disk", "DIR[:SIZE]", "disk", false,
         "LMDB disk tier and its size (default size 1G; none: memory only)"},
        {OPT_TLS_LISTEN, NULL, "--tls-listen", "ADDR:PORT", "tls_listen", true,
         "TLS listener, ALPN h2 and http/1.1 (repeat; needs --cert)"},
        {OPT_CERT, NULL, "--cert", "CERT.pem,KEY.pem", "certs", true,
         "certificate and key files (repeat; SNI picks by name)"},
        {OPT_ADMIN, NULL, "--admin", "ADDR:PORT|off|PATH", "admin", false,
         "admin API listener (default 127.0.0.1:9090)"},
        {OPT_ADMIN_TOKEN_FILE, NULL, "--admin-token-file", "FILE", "admin_token_file", false,
         "admin bearer token file (or env EDGECACHE_ADMIN_TOKEN)"},
        {'w', "-w", "--workers", "N", "workers", false, "worker threads (default 0 = CPUs)"},
        {OPT_ACCESS_LOG, NULL, "--access-log", "FILE|-", "access_log", false,
         "access log file, - for stdout (default off)"},
        {'p', "-p", "--param", "KEY=VALUE", NULL, false,
         "set any key below, e.g. -p limits.header_timeout=2s (repeat)"},
        {OPT_CHECK, NULL, "--check", NULL, NULL, false, "validate the configuration and exit"},
        {'h', "-h", "--help", NULL, NULL, false, "print this help and exit"},
        {'V', "-V", "--version", NULL, NULL, false, "print the version and exit"},
};

#define NFLAGS EC_ARRAY_LEN(flags)

static int EC_PRINTF(3, 4) fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (errlen > 0)
		vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* getopt_long's inputs, derived from `flags`. */
static void build_opts(struct option *lo, char *shortopts, size_t n)
{
	size_t j = 0;
	/* '+': stop at the first non-option (no argv permutation); ':': report a
	 * missing argument as ':' */
	shortopts[j++] = '+';
	shortopts[j++] = ':';
	for (size_t i = 0; i < NFLAGS; i++) {
		lo[i].name = flags[i].longname + 2;
		lo[i].has_arg = flags[i].arg ? required_argument : no_argument;
		lo[i].flag = NULL;
		lo[i].val = flags[i].val;
		if (flags[i].shortname != NULL) {
			shortopts[j++] = flags[i].shortname[1];
			if (flags[i].arg != NULL)
				shortopts[j++] = ':';
		}
	}
	memset(&lo[NFLAGS], 0, sizeof(lo[NFLAGS]));
	EC_ASSERT(j < n);
	shortopts[j] = '\0';
}

static const struct flag *flag_of(int val)
{
	for (size_t i = 0; i < NFLAGS; i++)
		if (flags[i].val == val)
			return &flags[i];
	return NULL;
}

/*
 * One getopt_long step. Returns the option's flag (with *name: the spelling
 * used), NULL at the end, or NULL with *rc = -1 and err set on a bad option.
 */
static const struct flag *next_flag(int argc, char **argv, const struct option *lo,
                                    const char *shortopts, const char **name, int *rc, char *err,
                                    size_t errlen)
{
	int li = -1;
	int o = getopt_long(argc, argv, shortopts, lo, &li);
	*rc = 0;
	if (o == -1) {
		if (optind < argc)
			*rc = fail(err, errlen, "unexpected argument '%s' (see --help)",
			           argv[optind]);
		return NULL;
	}
	if (o == '?') {
		if (optopt != 0)
			*rc = fail(err, errlen, "unknown option '-%c' (see --help)", optopt);
		else
			*rc = fail(err, errlen, "unknown option '%s' (see --help)",
			           argv[optind - 1]);
		return NULL;
	}
	if (o == ':') {
		const struct flag *f = flag_of(optopt);
		*rc = fail(err, errlen, "%s: needs an argument (%s)",
		           f && li < 0 && f->shortname ? f->shortname : argv[optind - 1],
		           f ? f->arg : "?");
		return NULL;
	}
	const struct flag *f = flag_of(o);
	EC_AN(f);
	*name = li >= 0 || f->shortname == NULL ? f->longname : f->shortname;
	return f;
}

int ec_config_from_args(struct ec_config *c, int argc, char **argv, bool *check_only, char *err,
                        size_t errlen)
{
	struct option lo[NFLAGS + 1];
	char shortopts[2 + 2 * NFLAGS + 1];
	const struct flag *f;
	const char *name = NULL, *file = NULL;
	bool help = false, version = false, check = false;
	int rc;

	build_opts(lo, shortopts, sizeof(shortopts));
	if (check_only != NULL)
		*check_only = false;

	/* pass 1: -c, -h, -V, and every syntax error */
	opterr = 0;
	optind = 0; /* glibc: a full reset, for repeated calls (reloads, tests) */
	while ((f = next_flag(argc, argv, lo, shortopts, &name, &rc, err, errlen)) != NULL) {
		if (f->val == 'c') {
			if (file != NULL)
				return fail(err, errlen, "%s: only one config file may be given",
				            name);
			file = optarg;
		}
		help |= f->val == 'h';
		version |= f->val == 'V';
	}
	if (rc != 0)
		return -1;
	if (help || version) {
		c->action = help ? EC_CONFIG_HELP : EC_CONFIG_VERSION;
		return 0;
	}
	if (file != NULL && ec_config_load_file(c, file, err, errlen) != 0)
		return -1;

	/* pass 2: the other flags in order, over the file */
	bool replaced[NFLAGS] = {false};
	char why[400];
	optind = 0;
	while ((f = next_flag(argc, argv, lo, shortopts, &name, &rc, err, errlen)) != NULL) {
		if (f->val == OPT_CHECK) {
			check = true;
		} else if (f->val == 'p') {
			char key[64];
			const char *eq = strchr(optarg, '=');
			if (eq == NULL || eq == optarg)
				return fail(err, errlen, "%s: expected KEY=VALUE, got '%s'", name,
				            optarg);
			if ((size_t)(eq - optarg) >= sizeof(key))
				return fail(err, errlen, "%s: %.*s: unknown key", name,
				            (int)(eq - optarg), optarg);
			memcpy(key, optarg, (size_t)(eq - optarg));
			key[eq - optarg] = '\0';
			if (ec_config__set(c, key, eq + 1, "-p", why, sizeof(why)) != 0)
				return fail(err, errlen, "%s: %s: %s", name, key, why);
		} else if (f->list) {
			size_t i = (size_t)(f - flags);
			if (ec_config__list_add(c, f->key, optarg, !replaced[i],
			                        f->shortname ? f->shortname : f->longname, why,
			                        sizeof(why)) != 0)
				return fail(err, errlen, "%s: %s", name, why);
			replaced[i] = true;
		} else if (f->key != NULL) {
			if (ec_config__set(c, f->key, optarg,
			                   f->shortname ? f->shortname : f->longname, why,
			                   sizeof(why)) != 0)
				return fail(err, errlen, "%s: %s", name, why);
		}
	}
	if (rc != 0)
		return -1;
	c->action = check ? EC_CONFIG_CHECK : EC_CONFIG_RUN;
	if (check_only != NULL)
		*check_only = check;
	return 0;
}

/* ---- --help -------------------------------------------------------------- */

static char usage[12288];

static void add(size_t *at, const char *fmt, ...) EC_PRINTF(2, 3);

static void add(size_t *at, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(usage + *at, sizeof(usage) - *at, fmt, ap);
	va_end(ap);
	EC_ASSERT(n >= 0 && (size_t)n < sizeof(usage) - *at);
	*at += (size_t)n;
}

const char *ec_config_usage(void)
{
	size_t at = 0;
	if (usage[0] != '\0')
		return usage;
	add(&at, "Usage: edgecache [-c FILE] [-l ADDR:PORT]... [-o URL]... [-m SIZE] "
	         "[-d DIR[:SIZE]]\n"
	         "                 [--tls-listen ADDR:PORT]... [--cert CERT.pem,KEY.pem]...\n"
	         "                 [--admin ADDR:PORT|off|PATH] [--admin-token-file FILE] "
	         "[-w N]\n"
	         "                 [--access-log FILE|-] [-p KEY=VALUE]... [--check] "
	         "[-h|--help] [-V|--version]\n\n"
	         "A caching HTTP accelerator. Settings come from the defaults, then the -c file,\n"
	         "then the flags in order; the first -l, -o, --tls-listen or --cert replaces the\n"
	         "file's list. SIZE: 256M, 4G (K, M, G, T; 1K = 1024). DURATION: 250ms, 10s, 2m,\n"
	         "1h, 1d or seconds.\n\nOptions:\n");
	for (size_t i = 0; i < NFLAGS; i++) {
		char left[64];
		snprintf(left, sizeof(left), "%s%s%s%s%s",
		         flags[i].shortname ? flags[i].shortname : "",
		         flags[i].shortname ? ", " : "    ", flags[i].longname,
		         flags[i].arg ? " " : "", flags[i].arg ? flags[i].arg : "");
		if (strlen(left) > 30)
			add(&at, "  %s\n  %-30s %s\n", left, "", flags[i].help);
		else
			add(&at, "  %-30s %s\n", left, flags[i].help);
	}
	add(&at,
	    "\nKeys of the config file; -p KEY=VALUE sets the scalar ones:\n"
	    "  %-28s %-15s %s\n",
	    "KEY", "DEFAULT", "MEANING");
	const char *name, *deflt, *doc;
	for (size_t i = 0; ec_config__key_doc(i, &name, &deflt, &doc); i++)
		add(&at, "  %-28s %-15s %s\n", name,
		    deflt == NULL      ? "-"
		    : deflt[0] == '\0' ? "\"\""
		                       : deflt,
		    doc);
	return usage;
}

/* ---- ec_config_finish ---------------------------------------------------- */

/* An error about `key`, prefixed by where it was set. */
static int EC_PRINTF(5, 6) kfail(const struct ec_config *c, char *err, size_t errlen,
                                 const char *key, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	const struct ec_conf_source *s = ec_config_source(c, key);
	if (s != NULL && s->flag != NULL)
		return fail(err, errlen, "%s: %s: %s", s->flag, key, msg);
	if (s != NULL)
		return fail(err, errlen, "%s:%u: %s: %s", c->path, s->line, key, msg);
	return fail(err, errlen, "%s: %s", key, msg);
}

/* Both numeric, same address family, address and port (port 0 never clashes). */
static bool same_listen(const struct ec_conf_listen *a, const struct ec_conf_listen *b)
{
	unsigned char x[16], z[16];
	if (a->port != b->port || a->port == 0)
		return false;
	int fa = strchr(a->host, ':') ? AF_INET6 : AF_INET;
	int fb = strchr(b->host, ':') ? AF_INET6 : AF_INET;
	if (fa != fb || inet_pton(fa, a->host, x) != 1 || inet_pton(fb, b->host, z) != 1)
		return false;
	return memcmp(x, z, fa == AF_INET6 ? 16 : 4) == 0;
}

static bool is_loopback(const struct ec_conf_listen *l)
{
	unsigned char a[16];
	if (inet_pton(AF_INET, l->host, a) == 1)
		return a[0] == 127;
	if (inet_pton(AF_INET6, l->host, a) != 1)
		return false;
	static const unsigned char lo[16] = {[15] = 1};
	static const unsigned char mapped[12] = {[10] = 0xff, [11] = 0xff};
	return memcmp(a, lo, 16) == 0 || (memcmp(a, mapped, 12) == 0 && a[12] == 127);
}

static int check_listeners(const struct ec_config *c, char *err, size_t errlen)
{
	const struct {
		const char *name;
		const struct ec_conf_listen *v;
		unsigned n;
	} lists[2] = {{"listen", c->listen, c->nlisten},
	              {"tls_listen", c->tls_listen, c->ntls_listen}};
	for (unsigned a = 0; a < 2; a++) {
		for (unsigned i = 0; i < lists[a].n; i++) {
			for (unsigned b = 0; b <= a; b++) {
				unsigned end = b == a ? i : lists[b].n;
				for (unsigned j = 0; j < end; j++) {
					if (!same_listen(&lists[a].v[i], &lists[b].v[j]))
						continue;
					char k1[40], k2[40];
					snprintf(k1, sizeof(k1), "%s[%u]", lists[a].name, i);
					snprintf(k2, sizeof(k2), "%s[%u]", lists[b].name, j);
					return kfail(c, err, errlen, k1, "%s is already used by %s",
					             lists[a].v[i].text, k2);
				}
			}
		}
	}
	return 0;
}

static int check_readable(const struct ec_config *c, char *err, size_t errlen, const char *key,
                          const char *path)
{
	if (access(path, R_OK) != 0) {
		int e = errno;
		return kfail(c, err, errlen, key, "cannot read '%s': %s", path, strerror(e));
	}
	return 0;
}

/* tls_ticket_keys: every file readable and exactly EC_TLS_TICKET_KEY_LEN bytes. */
static int check_ticket_keys(const struct ec_config *c, char *err, size_t errlen)
{
	unsigned n = 0;
	char path[1024];
	for (const char *p = c->tls_ticket_keys; *p;) {
		p += strspn(p, " \t");
		size_t len = strcspn(p, " \t");
		if (len == 0)
			break;
		if (++n > EC_TLS_TICKET_FILES)
			return kfail(c, err, errlen, "tls_ticket_keys", "at most %d files",
			             EC_TLS_TICKET_FILES);
		if (len >= sizeof(path))
			return kfail(c, err, errlen, "tls_ticket_keys", "a path is too long");
		memcpy(path, p, len);
		path[len] = '\0';
		p += len;
		struct stat st;
		if (check_readable(c, err, errlen, "tls_ticket_keys", path) != 0)
			return -1;
		if (stat(path, &st) != 0 || st.st_size != EC_TLS_TICKET_KEY_LEN)
			return kfail(c, err, errlen, "tls_ticket_keys",
			             "'%s' has %lld bytes; a ticket key file holds exactly %d "
			             "(openssl rand %d > FILE)",
			             path, (long long)st.st_size, EC_TLS_TICKET_KEY_LEN,
			             EC_TLS_TICKET_KEY_LEN);
	}
	return 0;
}

/* certs[i].cert (or .key) when the file named it, else certs[i] (a flag). */
static const char *cert_key(const struct ec_config *c, unsigned i, const char *part, char *buf,
                            size_t len)
{
	snprintf(buf, len, "certs[%u].%s", i, part);
	if (ec_config_source(c, buf) == NULL)
		snprintf(buf, len, "certs[%u]", i);
	return buf;
}

int ec_config_finish(struct ec_config *c, char *err, size_t errlen)
{
	char k[40];
	if (c->norigins == 0 && c->ngroups == 0)
		return fail(err, errlen, "no origin: give -o URL or origins: in the config");
	for (unsigned i = 0; i < c->norigins; i++) {
		snprintf(k, sizeof(k), "origins[%u].weight", i);
		if (c->origins[i].weight < 1 || c->origins[i].weight > 1000)
			return kfail(c, err, errlen, k, "must be between 1 and 1000 (got %u)",
			             c->origins[i].weight);
	}
	if (c->nlisten == 0 && c->ntls_listen == 0) {
		bool ok = ec_config_parse_listen("127.0.0.1:8080", &c->listen[0]);
		EC_ASSERT(ok);
		c->nlisten = 1;
	}

	if (c->backlog < 1 || c->backlog > INT_MAX)
		return kfail(c, err, errlen, "backlog", "must be between 1 and %d (got %u)",
		             INT_MAX, c->backlog);
	if (c->workers > 256)
		return kfail(c, err, errlen, "workers", "must be between 0 and 256 (got %u)",
		             c->workers);
	if (c->memory_size == 0)
		return kfail(c, err, errlen, "memory", "must be more than 0");
	if (c->max_request_line < 256)
		return kfail(c, err, errlen, "limits.request_line",
		             "must be at least 256 (got %zu)", c->max_request_line);
	/* A header block smaller than the request-line limit is allowed: it
	 * then bounds the request line too (nginx's large_client_header_buffers
	 * works the same way). */
	if (c->max_head < 256)
		return kfail(c, err, errlen, "limits.header_block",
		             "must be at least 256 (got %zu)", c->max_head);
	if (c->max_fields < 1 || c->max_fields > 10000)
		return kfail(c, err, errlen, "limits.header_fields",
		             "must be between 1 and 10000 (got %u)", c->max_fields);
	const struct {
		const char *key;
		double v;
		bool positive;
	} durations[] = {
	        {"limits.header_timeout", c->header_timeout, true},
	        {"limits.idle_timeout", c->idle_timeout, true},
	        {"limits.send_timeout", c->send_timeout, true},
	        {"origin.connect_timeout", c->connect_timeout, true},
	        {"origin.first_byte_timeout", c->first_byte_timeout, true},
	        {"origin.between_bytes_timeout", c->between_bytes_timeout, true},
	        {"origin.pool_idle_timeout", c->pool_idle_timeout, true},
	        {"drain_timeout", c->drain_timeout, false},
	        {"cache.default_ttl", c->default_ttl, false},
	        {"cache.heuristic_max", c->heuristic_max, false},
	        {"cache.lock_timeout", c->lock_timeout, true},
	        {"cache.wait_timeout", c->wait_timeout, true},
	        {"cache.grace", c->grace, false},
	        {"cache.hit_for_miss_ttl", c->hit_for_miss_ttl, true},
	        {"cache.learn_min", c->learn_min, false},
	        {"cache.learn_max", c->learn_max, false},
	        {"disk_sync_interval", c->disk_sync_interval, true},
	        {"disk_batch_delay", c->disk_batch_delay, false},
	};
	for (size_t i = 0; i < EC_ARRAY_LEN(durations); i++) {
		if (durations[i].positive && !(durations[i].v > 0))
			return kfail(c, err, errlen, durations[i].key, "must be more than 0");
		if (!(durations[i].v >= 0))
			return kfail(c, err, errlen, durations[i].key, "must not be negative");
	}
	if (c->max_object_size == 0)
		return kfail(c, err, errlen, "cache.max_object_size", "must be more than 0");
	if (strcmp(c->disk_sync, "commit") != 0 && strcmp(c->disk_sync, "periodic") != 0)
		return kfail(c, err, errlen, "disk_sync", "must be commit or periodic (got '%s')",
		             c->disk_sync);
	if (c->disk_low_watermark >= c->disk_high_watermark)
		return kfail(c, err, errlen, "disk_low_watermark",
		             "must be below disk_high_watermark (%u%%, got %u%%)",
		             c->disk_high_watermark, c->disk_low_watermark);
	if (c->disk_batch_delay > 1)
		return kfail(c, err, errlen, "disk_batch_delay", "must be at most 1s");
	if (c->disk_dir[0] != '\0' && c->disk_size < (1u << 20))
		return kfail(c, err, errlen, "disk", "size must be at least 1M");
	if (c->via_name[0] == '\0')
		return kfail(c, err, errlen, "forwarding.via", "must not be empty");
	if (strcmp(c->eviction, "s3fifo") != 0 && strcmp(c->eviction, "lru") != 0)
		return kfail(c, err, errlen, "cache.eviction", "must be s3fifo or lru (got '%s')",
		             c->eviction);
	if (strcmp(c->key_query, "keep") != 0 && strcmp(c->key_query, "sort") != 0 &&
	    strcmp(c->key_query, "ignore") != 0)
		return kfail(c, err, errlen, "cache.key_query",
		             "must be keep, sort or ignore (got '%s')", c->key_query);
	for (const char *p = c->targeted; *p; p++)
		if (*p != ',' && *p != ' ' && !ec_is_tchar((unsigned char)*p))
			return kfail(c, err, errlen, "cache.targeted",
			             "must be comma-separated field names (got '%s')", c->targeted);

	if (c->workers == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		c->workers = n < 1 ? 1 : n > 256 ? 256 : (unsigned)n;
	}

	if (check_listeners(c, err, errlen) != 0)
		return -1;
	if (c->ntls_listen > 0 && c->ncerts == 0)
		return kfail(c, err, errlen, "tls_listen",
		             "needs at least one certificate (certs: or --cert)");
	for (unsigned i = 0; i < c->ncerts; i++) {
		if (check_readable(c, err, errlen, cert_key(c, i, "cert", k, sizeof(k)),
		                   c->certs[i].cert) != 0 ||
		    check_readable(c, err, errlen, cert_key(c, i, "key", k, sizeof(k)),
		                   c->certs[i].key) != 0)
			return -1;
	}
	if (c->admin_token_file[0] != '\0' &&
	    check_readable(c, err, errlen, "admin_token_file", c->admin_token_file) != 0)
		return -1;

	if (check_ticket_keys(c, err, errlen) != 0)
		return -1;

	char aclerr[160];
	if (!ec_acl_valid(c->purge_allow, aclerr, sizeof(aclerr)))
		return kfail(c, err, errlen, "purge_allow", "%s", aclerr);

	if (strcmp(c->admin, "off") != 0 && c->admin[0] != '/') {
		struct ec_conf_listen l;
		if (!ec_config_parse_listen(c->admin, &l))
			return kfail(c, err, errlen, "admin", "invalid address '%s'", c->admin);
		const char *env = getenv("EDGECACHE_ADMIN_TOKEN");
		bool token = c->admin_token_file[0] != '\0' || (env != NULL && env[0] != '\0');
		if (!is_loopback(&l) && !token)
			return kfail(c, err, errlen, "admin",
			             "refusing an admin listener on %s without a token (set "
			             "admin_token_file or EDGECACHE_ADMIN_TOKEN)",
			             c->admin);
	}
	return 0;
}
