/*
 * config.c — the configuration schema and everything that fills a struct
 * ec_config from text: the key table, the value parsers (sizes, durations,
 * addresses, origin URLs), the YAML loader, ec_config_set (`-p KEY=VALUE`),
 * and snapshot refcounting. The command line (getopt_long, --help) and
 * whole-config validation (ec_config_finish) are in config_args.c, which
 * reaches the schema only through ec_config__set / ec_config__list_add.
 *
 * The schema is one table, `keys` below: every key's dotted path, type,
 * field, default (as text, parsed by the same parser as the file, so the
 * documented default and the real one cannot drift), the flag that also sets
 * it, and a line of documentation. conf/edgecache.yaml documents the same
 * keys; a unit test checks that it mentions every one.
 *
 * YAML goes through libyaml's event API into a small tree of our own (type,
 * line, text) before the schema walks it: the event API lets us refuse
 * aliases and deep nesting before libyaml's composer spends quadratic time
 * on them, and the tree lets the walker see a whole mapping (duplicates) or
 * accept "a list or a single string".
 *
 * Threads: a struct ec_config is built by one thread (main) and is immutable
 * once published; only refcnt_ changes afterwards, atomically. Nothing here
 * keeps global state.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <yaml.h>

#include "ec_util.h"
#include "config.h"
#include "config_priv.h"

/* ---- the schema ---------------------------------------------------------- */

enum ktype {
	KT_INVALID = 0,
	KT_SECTION,  /* a mapping of further keys ("limits") */
	KT_STR,      /* char[]: a path or free text, no control characters */
	KT_TOKEN,    /* char[]: an HTTP token (the Via pseudonym) */
	KT_HOST,     /* char[]: "" or host[:port] for a Host field */
	KT_UINT,     /* unsigned, in [min, max] */
	KT_SIZE,     /* uint64_t or size_t by field size: digits + K/M/G/T */
	KT_DURATION, /* double seconds */
	KT_BOOL,     /* bool */
	KT_ADMIN,    /* char[]: ADDR:PORT, "off" or a unix socket path */
	KT_DISK,     /* DIR[:SIZE] into disk_dir and disk_size */
	KT_LISTEN,   /* list of struct ec_conf_listen */
	KT_ORIGINS,  /* list of struct ec_conf_origin */
	KT_CERTS,    /* list of struct ec_conf_cert */
	KT_CHOICE,   /* char[]: one of the words of `choices` */
	KT_GROUPS,   /* origin groups: config_groups.c */
};

#define KF_POSITIVE 1u /* ec_config_finish: must be > 0 */

struct key {
	const char *name; /* dotted path */
	enum ktype type;
	size_t off, size;  /* the field (the array, for lists) */
	size_t cnt_off;    /* lists: the count field */
	unsigned cap;      /* lists: the array's capacity */
	uint64_t min, max; /* KT_UINT range */
	unsigned flags;    /* KF_* */
	const char *deflt; /* text parsed by ec_config_defaults; NULL: empty/none */
	const char *flag;  /* the command-line flag that also sets it, or NULL */
	const char *doc;   /* one line, for --help */
	const char *choices; /* KT_CHOICE: "a|b|c" */
};

#define FLD(f)        .off = offsetof(struct ec_config, f), .size = sizeof(((struct ec_config *)NULL)->f)
#define LIST(f, n, c) FLD(f), .cnt_off = offsetof(struct ec_config, n), .cap = (c)

static const struct key keys[] = {
        {"listen", KT_LISTEN, LIST(listen, nlisten, EC_CONF_MAX_LISTEN), .flag = "-l",
         .doc = "plain HTTP listeners; 127.0.0.1:8080 if none"},
        {"tls_listen", KT_LISTEN, LIST(tls_listen, ntls_listen, EC_CONF_MAX_LISTEN),
         .flag = "--tls-listen", .doc = "TLS listeners (ALPN h2, http/1.1); need certs"},
        {"certs", KT_CERTS, LIST(certs, ncerts, EC_CONF_MAX_CERTS), .flag = "--cert",
         .doc = "{cert: FILE, key: FILE} pairs; SNI picks by name"},
        {"backlog", KT_UINT, FLD(backlog), .min = 1, .max = INT_MAX, .deflt = "4096",
         .doc = "listen(2) backlog"},
        {"origins", KT_ORIGINS, LIST(origins, norigins, EC_CONF_MAX_ORIGINS), .flag = "-o",
         .doc = "backends: URL or {url: URL, weight: N}; required"},
        {"origin_host", KT_HOST, FLD(origin_host), .deflt = "",
         .doc = "Host sent to origins; \"\" passes the client's"},
        {"memory", KT_SIZE, FLD(memory_size), .flags = KF_POSITIVE, .deflt = "256M", .flag = "-m",
         .doc = "memory tier size"},
        {"disk", KT_DISK, FLD(disk_dir), .deflt = "", .flag = "-d",
         .doc = "LMDB tier DIR[:SIZE] (1G); \"\" = memory only"},
        {"disk_sync", KT_STR, FLD(disk_sync), .deflt = "commit",
         .doc = "commit (durable at each commit) or periodic"},
        {"disk_sync_interval", KT_DURATION, FLD(disk_sync_interval), .flags = KF_POSITIVE,
         .deflt = "1s", .doc = "periodic: most a system crash may lose"},
        {"disk_high_watermark", KT_UINT, FLD(disk_high_watermark), .min = 2, .max = 100,
         .deflt = "85", .doc = "% of the disk size where eviction starts"},
        {"disk_low_watermark", KT_UINT, FLD(disk_low_watermark), .min = 1, .max = 99,
         .deflt = "70", .doc = "% of the disk size eviction goes down to"},
        {"disk_batch_delay", KT_DURATION, FLD(disk_batch_delay), .deflt = "2ms",
         .doc = "how long the disk writer gathers a batch"},
        {"admin", KT_ADMIN, FLD(admin), .deflt = "127.0.0.1:9090", .flag = "--admin",
         .doc = "admin API: ADDR:PORT, off, or /unix/socket/path"},
        {"admin_token_file", KT_STR, FLD(admin_token_file), .deflt = "",
         .flag = "--admin-token-file", .doc = "admin bearer token file (or EDGECACHE_ADMIN_TOKEN)"},
        {"purge_allow", KT_STR, FLD(purge_allow), .deflt = "",
         .doc = "address ranges allowed to send PURGE; \"\" = none"},
        {"workers", KT_UINT, FLD(workers), .min = 0, .max = 256, .deflt = "0", .flag = "-w",
         .doc = "worker threads; 0 = online CPUs (at most 256)"},
        {"access_log", KT_STR, FLD(access_log), .deflt = "", .flag = "--access-log",
         .doc = "access log path; - = stdout; \"\" = off"},
        {"error_log", KT_STR, FLD(error_log), .deflt = "", .doc = "error log path; \"\" = stderr"},
        {"drain_timeout", KT_DURATION, FLD(drain_timeout), .deflt = "10s",
         .doc = "SIGTERM waits this long for requests in flight"},
        {"busy_poll", KT_DURATION, FLD(busy_poll), .deflt = "0",
         .doc = "busy worker polls before sleeping; 0 = off"},
        {"h2_max_streams", KT_UINT, FLD(h2_streams), .min = 1, .max = 10000, .deflt = "128",
         .doc = "concurrent HTTP/2 streams per connection; 1..10000"},
        {"tls_ticket_keys", KT_STR, FLD(tls_ticket_keys), .deflt = "",
         .doc = "TLS ticket key files (80 bytes), first encrypts"},

        {"limits", KT_SECTION, .doc = "client-side limits"},
        {"limits.request_line", KT_SIZE, FLD(max_request_line), .deflt = "8K",
         .doc = "longest request line (414); at least 256"},
        {"limits.header_block", KT_SIZE, FLD(max_head), .deflt = "32K",
         .doc = "largest request head (431); >= request_line"},
        {"limits.header_fields", KT_UINT, FLD(max_fields), .min = 1, .max = 10000, .deflt = "100",
         .doc = "most header fields in a request (431); 1..10000"},
        {"limits.body", KT_SIZE, FLD(max_body), .deflt = "0",
         .doc = "largest request body (413); 0 = unlimited"},
        {"limits.header_timeout", KT_DURATION, FLD(header_timeout), .flags = KF_POSITIVE,
         .deflt = "10s", .doc = "time to receive a request head (408)"},
        {"limits.idle_timeout", KT_DURATION, FLD(idle_timeout), .flags = KF_POSITIVE,
         .deflt = "60s", .doc = "keep-alive idle time before closing"},
        {"limits.send_timeout", KT_DURATION, FLD(send_timeout), .flags = KF_POSITIVE,
         .deflt = "60s", .doc = "time without progress writing to a client"},
        {"limits.max_connections", KT_UINT, FLD(max_conns), .min = 0, .max = UINT_MAX, .deflt = "0",
         .doc = "client connections per worker; 0 = unlimited"},

        {"origin", KT_SECTION, .doc = "origin connector"},
        {"origin.connect_timeout", KT_DURATION, FLD(connect_timeout), .flags = KF_POSITIVE,
         .deflt = "3s", .doc = "TCP connect to a backend (502)"},
        {"origin.first_byte_timeout", KT_DURATION, FLD(first_byte_timeout), .flags = KF_POSITIVE,
         .deflt = "30s", .doc = "wait for the response head (504)"},
        {"origin.between_bytes_timeout", KT_DURATION, FLD(between_bytes_timeout),
         .flags = KF_POSITIVE, .deflt = "30s", .doc = "silence within a response body (504)"},
        {"origin.pool_max_idle", KT_UINT, FLD(pool_max_idle), .min = 0, .max = UINT_MAX,
         .deflt = "64", .doc = "idle connections kept per backend per worker"},
        {"origin.pool_idle_timeout", KT_DURATION, FLD(pool_idle_timeout), .flags = KF_POSITIVE,
         .deflt = "60s", .doc = "close pooled connections idle this long"},
        {"origin.pool_max_requests", KT_UINT, FLD(pool_max_requests), .min = 0, .max = UINT_MAX,
         .deflt = "0", .doc = "requests per origin connection; 0 = unlimited"},
        {"origin.dns_interval", KT_DURATION, FLD(dns_interval), .deflt = "30s",
         .doc = "re-resolve backend names this often; 0 = never"},
        {"origin.dns_resolv_conf", KT_STR, FLD(dns_resolv_conf), .deflt = "/etc/resolv.conf",
         .doc = "nameservers for backend names (and /etc/hosts)"},
        /* origin.algorithm ... origin.tls_key: struct ec_conf_lb, also per group */
        {"origin.algorithm", KT_CHOICE, FLD(lb.algorithm), .deflt = "wrr",
         .choices = "wrr|least_conn|ketama|p2c", .doc = "backend selection"},
        {"origin.protocol", KT_CHOICE, FLD(lb.protocol), .deflt = "h1",
         .choices = "h1|h2c|h2", .doc = "to the backends: h1, h2c (prior knowledge), h2 (TLS)"},
        {"origin.retries", KT_UINT, FLD(lb.retries), .min = 0, .max = 16, .deflt = "2",
         .doc = "other backends tried when a connect fails"},
        {"origin.health_check", KT_CHOICE, FLD(lb.health_check), .deflt = "none",
         .choices = "none|tcp|http", .doc = "active health check"},
        {"origin.health_path", KT_STR, FLD(lb.health_path), .deflt = "/",
         .doc = "http check: path to GET"},
        {"origin.health_status", KT_UINT, FLD(lb.health_status), .min = 100, .max = 599,
         .deflt = "200", .doc = "http check: expected status"},
        {"origin.health_interval", KT_DURATION, FLD(lb.health_interval), .flags = KF_POSITIVE,
         .deflt = "2s", .doc = "time between active checks"},
        {"origin.health_timeout", KT_DURATION, FLD(lb.health_timeout), .flags = KF_POSITIVE,
         .deflt = "1s", .doc = "an active check slower than this fails"},
        {"origin.health_rise", KT_UINT, FLD(lb.health_rise), .min = 1, .max = 100, .deflt = "2",
         .doc = "passed checks that bring a backend up"},
        {"origin.health_fall", KT_UINT, FLD(lb.health_fall), .min = 1, .max = 100, .deflt = "3",
         .doc = "failed checks that take a backend down"},
        {"origin.fail_max", KT_UINT, FLD(lb.fail_max), .min = 0, .max = 1000, .deflt = "3",
         .doc = "passive: failures taking a backend down; 0 = off"},
        {"origin.fail_window", KT_DURATION, FLD(lb.fail_window), .flags = KF_POSITIVE,
         .deflt = "10s", .doc = "passive: failures count within this window"},
        {"origin.fail_timeout", KT_DURATION, FLD(lb.fail_timeout), .flags = KF_POSITIVE,
         .deflt = "5s", .doc = "passive: a down backend is probed after this"},
        {"origin.tls_verify", KT_BOOL, FLD(lb.tls_verify), .deflt = "true",
         .doc = "https backends: verify certificate and name"},
        {"origin.tls_ca", KT_STR, FLD(lb.tls_ca), .deflt = "",
         .doc = "CA file for https backends; \"\" = system store"},
        {"origin.tls_sni", KT_STR, FLD(lb.tls_sni), .deflt = "",
         .doc = "name sent (SNI) and verified; \"\" = backend host"},
        {"origin.tls_cert", KT_STR, FLD(lb.tls_cert), .deflt = "",
         .doc = "client certificate for https backends"},
        {"origin.tls_key", KT_STR, FLD(lb.tls_key), .deflt = "",
         .doc = "the client certificate's key"},
        {"groups", KT_GROUPS, .doc = "origin groups by Host and path; docs/origin.md"},

        {"forwarding", KT_SECTION, .doc = "headers added to forwarded requests"},
        {"forwarding.via", KT_TOKEN, FLD(via_name), .deflt = "edgecache",
         .doc = "pseudonym in Via (an HTTP token)"},
        {"forwarding.x_forwarded_for", KT_BOOL, FLD(xff), .deflt = "true",
         .doc = "add X-Forwarded-For and X-Forwarded-Proto"},

        {"cache", KT_SECTION, .doc = "cache policy"},
        {"cache.max_object_size", KT_SIZE, FLD(max_object_size), .flags = KF_POSITIVE,
         .deflt = "64M", .doc = "larger responses are passed, not stored"},
        {"cache.default_ttl", KT_DURATION, FLD(default_ttl), .deflt = "0",
         .doc = "freshness when a response gives none; 0 = none"},
        {"cache.heuristic_max", KT_DURATION, FLD(heuristic_max), .deflt = "1d",
         .doc = "cap on heuristic freshness (RFC 9111 4.2.2)"},
        {"cache.eviction", KT_STR, FLD(eviction), .deflt = "s3fifo",
         .doc = "memory tier policy: s3fifo (TinyLFU admission) or lru"},
        {"cache.key_scheme", KT_BOOL, FLD(key_scheme), .deflt = "true",
         .doc = "the scheme is part of the cache key"},
        {"cache.key_host", KT_BOOL, FLD(key_host), .deflt = "true",
         .doc = "the host is part of the cache key"},
        {"cache.key_query", KT_STR, FLD(key_query), .deflt = "keep",
         .doc = "query in the key: keep, sort (parameters), ignore"},
        {"cache.key_ignore_params", KT_STR, FLD(key_ignore_params), .deflt = "",
         .doc = "comma-separated query parameters left out of the key"},
        {"cache.lock_timeout", KT_DURATION, FLD(lock_timeout), .flags = KF_POSITIVE,
         .deflt = "10s", .doc = "a fetch holding a key longer stops coalescing"},
        {"cache.wait_timeout", KT_DURATION, FLD(wait_timeout), .flags = KF_POSITIVE,
         .deflt = "10s", .doc = "waiting on another request's fetch, at most"},
        {"cache.grace", KT_DURATION, FLD(grace), .deflt = "0",
         .doc = "stale served on origin errors without stale-if-error"},
        {"cache.hit_for_miss_ttl", KT_DURATION, FLD(hit_for_miss_ttl), .flags = KF_POSITIVE,
         .deflt = "2m", .doc = "how long an uncacheable key skips coalescing"},
        {"cache.learn_freshness", KT_BOOL, FLD(learn_freshness), .deflt = "false",
         .doc = "learn lifetimes where the origin gives none"},
        {"cache.learn_min", KT_DURATION, FLD(learn_min), .deflt = "0",
         .doc = "shortest learned lifetime"},
        {"cache.learn_max", KT_DURATION, FLD(learn_max), .deflt = "1h",
         .doc = "longest learned lifetime"},
        {"cache.refresh_ahead_pct", KT_UINT, FLD(refresh_ahead_pct), .min = 0, .max = 99,
         .deflt = "0", .doc = "refresh hot objects in the last N % of life; 0 = off"},
        {"cache.refresh_ahead_hits", KT_UINT, FLD(refresh_ahead_hits), .min = 1, .max = UINT_MAX,
         .deflt = "2", .doc = "hits that make an object hot for refresh-ahead"},
        {"cache.targeted", KT_STR, FLD(targeted), .deflt = "CDN-Cache-Control,Surrogate-Control",
         .doc = "RFC 9213 targeted fields"},
};

static const struct key *find_key(const char *name)
{
	for (size_t i = 0; i < EC_ARRAY_LEN(keys); i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static bool is_list(const struct key *k)
{
	return k->type == KT_LISTEN || k->type == KT_ORIGINS || k->type == KT_CERTS ||
	       k->type == KT_GROUPS;
}

const char *ec_config_key_name(size_t i)
{
	for (size_t j = 0; j < EC_ARRAY_LEN(keys); j++) {
		if (keys[j].type == KT_SECTION)
			continue;
		if (i-- == 0)
			return keys[j].name;
	}
	return NULL;
}

/* For config_args.c's --help: the i-th key with its default and doc. */
bool ec_config__key_doc(size_t i, const char **name, const char **deflt, const char **doc)
{
	for (size_t j = 0; j < EC_ARRAY_LEN(keys); j++) {
		if (keys[j].type == KT_SECTION)
			continue;
		if (i-- == 0) {
			*name = keys[j].name;
			*deflt = keys[j].deflt;
			*doc = keys[j].doc;
			return true;
		}
	}
	return false;
}

/* ---- messages ------------------------------------------------------------ */

/*
 * A printable, bounded copy of untrusted text for messages: control bytes
 * become '?', and more than 60 bytes end in "...".
 */
struct shown {
	char text[72];
};

static struct shown show(const char *s)
{
	struct shown o;
	size_t i = 0;
	for (; s[i] != '\0' && i < 60; i++)
		o.text[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	if (s[i] != '\0') {
		memcpy(o.text + i, "...", 3);
		i += 3;
	}
	o.text[i] = '\0';
	return o;
}

#define SHOW(str) (show(str).text)

/* Formats a message into err[0..errlen); returns -1 (fail) or false (bfail). */
static int EC_PRINTF(3, 4) fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (errlen > 0)
		vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static bool EC_PRINTF(3, 4) bfail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (errlen > 0)
		vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return false;
}

/* ---- value parsers ------------------------------------------------------- */

bool ec_config_parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;
	for (; s[i] >= '0' && s[i] <= '9'; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (i == 0)
		return false;
	unsigned shift = 0;
	switch (s[i]) {
	case '\0':
		break;
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	case 't':
	case 'T':
		shift = 40;
		break;
	default:
		return false;
	}
	if (shift != 0 && s[++i] != '\0')
		return false;
	if (v > (UINT64_MAX >> shift))
		return false;
	*out = v << shift;
	return true;
}

#define EC_CONF_MAX_DURATION 1e9 /* seconds, about 31 years */

bool ec_config_parse_duration(const char *s, double *out)
{
	uint64_t ip = 0;
	size_t i = 0;
	for (; s[i] >= '0' && s[i] <= '9'; i++) {
		if (i == 15)
			return false;
		ip = ip * 10 + (uint64_t)(s[i] - '0');
	}
	if (i == 0)
		return false;
	double v = (double)ip;
	if (s[i] == '.') {
		double scale = 0.1;
		size_t start = ++i;
		for (; s[i] >= '0' && s[i] <= '9'; i++, scale /= 10)
			v += (s[i] - '0') * scale;
		if (i == start)
			return false;
	}
	const char *u = s + i;
	double mult;
	if (*u == '\0' || strcmp(u, "s") == 0)
		mult = 1;
	else if (strcmp(u, "ms") == 0)
		mult = 0.001;
	else if (strcmp(u, "us") == 0)
		mult = 0.000001;
	else if (strcmp(u, "m") == 0)
		mult = 60;
	else if (strcmp(u, "h") == 0)
		mult = 3600;
	else if (strcmp(u, "d") == 0)
		mult = 86400;
	else
		return false;
	v *= mult;
	if (!(v <= EC_CONF_MAX_DURATION))
		return false;
	*out = v;
	return true;
}

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return n > 0;
}

/* Port text [p, p+n): 1 to 5 digits, at most 65535. */
static bool parse_port(const char *p, size_t n, unsigned *out)
{
	uint64_t v;
	if (n > 5 || !all_digits(p, n) || !ec_str_to_u64(ec_str_make(p, n), &v) || v > 65535)
		return false;
	*out = (unsigned)v;
	return true;
}

static bool parse_listen_why(const char *s, struct ec_conf_listen *out, char *err, size_t errlen)
{
	struct ec_conf_listen l;
	memset(&l, 0, sizeof(l));
	size_t n = strlen(s);
	if (n >= sizeof(l.text))
		return bfail(err, errlen, "address '%s' too long", SHOW(s));
	const char *port;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL)
			return bfail(err, errlen, "missing ']' in '%s'", SHOW(s));
		size_t hl = (size_t)(close - s - 1);
		if (hl >= sizeof(l.host))
			return bfail(err, errlen, "'%s' is not a numeric IPv6 address", SHOW(s));
		memcpy(l.host, s + 1, hl);
		unsigned char a6[16];
		if (inet_pton(AF_INET6, l.host, a6) != 1)
			return bfail(err, errlen, "'%s' is not a numeric IPv6 address",
			             SHOW(l.host));
		if (close[1] != ':')
			return bfail(err, errlen,
			             "missing port in '%s' (use ADDR:PORT, e.g. [::1]:8080)",
			             SHOW(s));
		port = close + 2;
	} else {
		const char *colon = strrchr(s, ':');
		if (colon == NULL)
			return bfail(err, errlen,
			             "missing port in '%s' (use ADDR:PORT, e.g. 127.0.0.1:8080)",
			             SHOW(s));
		size_t hl = (size_t)(colon - s);
		if (memchr(s, ':', hl) != NULL)
			return bfail(err, errlen,
			             "IPv6 addresses need brackets: '[ADDR]:PORT', not '%s'",
			             SHOW(s));
		if (hl == 0)
			return bfail(
			        err, errlen,
			        "missing address in '%s' (use 0.0.0.0:PORT or [::]:PORT for all)",
			        SHOW(s));
		if (hl >= sizeof(l.host))
			return bfail(err, errlen, "'%s' is not a numeric IPv4 address", SHOW(s));
		memcpy(l.host, s, hl);
		unsigned char a4[4];
		if (inet_pton(AF_INET, l.host, a4) != 1)
			return bfail(err, errlen,
			             "'%s' is not a numeric IPv4 address (names are not resolved)",
			             SHOW(l.host));
		port = colon + 1;
	}
	if (!parse_port(port, strlen(port), &l.port))
		return bfail(err, errlen, "invalid port '%s' in '%s' (0 to 65535)", SHOW(port),
		             SHOW(s));
	memcpy(l.text, s, n + 1);
	*out = l;
	return true;
}

bool ec_config_parse_listen(const char *s, struct ec_conf_listen *out)
{
	char err[8];
	return parse_listen_why(s, out, err, sizeof(err));
}

static bool host_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '-' || ch == '.' || ch == '_';
}

bool ec_config_parse_origin(const char *s, struct ec_conf_origin *out, char *err, size_t errlen)
{
	struct ec_conf_origin o;
	memset(&o, 0, sizeof(o));
	o.weight = 1;
	size_t n = strlen(s);
	if (n >= sizeof(o.url))
		return bfail(err, errlen, "URL too long (at most %zu bytes)", sizeof(o.url) - 1);
	memcpy(o.url, s, n + 1);

	const char *sep = strstr(s, "://");
	if (sep == NULL)
		return bfail(err, errlen, "'%s' is not a URL (use http://HOST[:PORT])", SHOW(s));
	size_t sl = (size_t)(sep - s);
	unsigned defport;
	if (ec_str_caseeq_lit(ec_str_make(s, sl), "http")) {
		strcpy(o.scheme, "http");
		defport = 80;
	} else if (ec_str_caseeq_lit(ec_str_make(s, sl), "https")) {
		strcpy(o.scheme, "https");
		defport = 443;
	} else {
		return bfail(err, errlen, "unsupported scheme in '%s' (use http:// or https://)",
		             SHOW(s));
	}

	const char *a = sep + 3;
	size_t al = strcspn(a, "/?#");
	const char *rest = a + al;
	if (rest[0] != '\0' && strcmp(rest, "/") != 0)
		return bfail(err, errlen,
		             "a path is not allowed in an origin URL ('%s' in '%s'): the client's "
		             "path is forwarded as is",
		             SHOW(rest), SHOW(s));
	if (al == 0)
		return bfail(err, errlen, "missing host in '%s'", SHOW(s));
	if (memchr(a, '@', al) != NULL)
		return bfail(err, errlen, "credentials in an origin URL are not supported ('%s')",
		             SHOW(s));

	const char *port = NULL;
	size_t pl = 0;
	bool v6 = false;
	if (a[0] == '[') {
		const char *close = memchr(a, ']', al);
		if (close == NULL)
			return bfail(err, errlen, "missing ']' in '%s'", SHOW(s));
		size_t hl = (size_t)(close - a - 1);
		if (hl == 0 || hl >= 64)
			return bfail(err, errlen, "'%s' has no valid IPv6 address", SHOW(s));
		memcpy(o.host, a + 1, hl);
		unsigned char a6[16];
		if (inet_pton(AF_INET6, o.host, a6) != 1)
			return bfail(err, errlen, "'%s' is not an IPv6 address in '%s'",
			             SHOW(o.host), SHOW(s));
		v6 = true;
		const char *after = close + 1;
		if (after < a + al) {
			if (*after != ':')
				return bfail(err, errlen, "unexpected text after ']' in '%s'",
				             SHOW(s));
			port = after + 1;
			pl = (size_t)(a + al - port);
		}
	} else {
		const char *colon = memchr(a, ':', al);
		size_t hl = al;
		if (colon != NULL) {
			hl = (size_t)(colon - a);
			port = colon + 1;
			pl = (size_t)(a + al - port);
			if (memchr(port, ':', pl) != NULL)
				return bfail(err, errlen,
				             "IPv6 addresses need brackets in a URL "
				             "(http://[ADDR]:PORT), not '%s'",
				             SHOW(s));
		}
		if (hl == 0)
			return bfail(err, errlen, "missing host in '%s'", SHOW(s));
		if (hl > 253)
			return bfail(err, errlen, "host name too long in '%s'", SHOW(s));
		bool numeric = true;
		for (size_t i = 0; i < hl; i++) {
			if (!host_char(a[i]))
				return bfail(err, errlen, "invalid character in the host of '%s'",
				             SHOW(s));
			if (!(a[i] == '.' || (a[i] >= '0' && a[i] <= '9')))
				numeric = false;
		}
		memcpy(o.host, a, hl);
		unsigned char a4[4];
		if (numeric && inet_pton(AF_INET, o.host, a4) != 1)
			return bfail(err, errlen, "'%s' is not a valid IPv4 address", SHOW(o.host));
	}
	if (port != NULL) {
		char ptext[8];
		if (!parse_port(port, pl, &o.port) || o.port == 0) {
			snprintf(ptext, sizeof(ptext), "%.*s", (int)EC_MIN(pl, (size_t)6), port);
			return bfail(err, errlen, "invalid port '%s' in '%s' (1 to 65535)",
			             SHOW(ptext), SHOW(s));
		}
	} else {
		o.port = defport;
	}
	int w;
	if (o.port == defport)
		w = snprintf(o.authority, sizeof(o.authority), v6 ? "[%s]" : "%s", o.host);
	else
		w = snprintf(o.authority, sizeof(o.authority), v6 ? "[%s]:%u" : "%s:%u", o.host,
		             o.port);
	EC_ASSERT(w > 0 && (size_t)w < sizeof(o.authority));
	*out = o;
	return true;
}

static bool token_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* ---- sources ------------------------------------------------------------- */

static struct ec_conf_source *find_source(struct ec_config *c, const char *key)
{
	for (unsigned i = 0; i < c->nsources; i++)
		if (strcmp(c->sources[i].key, key) == 0)
			return &c->sources[i];
	return NULL;
}

const struct ec_conf_source *ec_config_source(const struct ec_config *c, const char *key)
{
	return find_source((struct ec_config *)c, key);
}

static void note_source(struct ec_config *c, const char *key, unsigned line, const char *flag)
{
	EC_ASSERT(strlen(key) < sizeof(c->sources[0].key));
	struct ec_conf_source *s = find_source(c, key);
	if (s == NULL) {
		/* bounded: every scalar key plus every list entry and its subkeys */
		EC_ASSERT(c->nsources < EC_CONF_MAX_SOURCES);
		s = &c->sources[c->nsources++];
		strcpy(s->key, key);
	}
	s->line = line;
	s->flag = flag;
}

/* Forgets the sources of a list's entries ("origins[3]", "origins[3].url"). */
static void drop_list_sources(struct ec_config *c, const char *list)
{
	size_t n = strlen(list);
	unsigned j = 0;
	for (unsigned i = 0; i < c->nsources; i++) {
		const char *k = c->sources[i].key;
		if (strncmp(k, list, n) == 0 && k[n] == '[')
			continue;
		c->sources[j++] = c->sources[i];
	}
	c->nsources = j;
}

/* ---- setting values ------------------------------------------------------ */

static void *field(struct ec_config *c, const struct key *k)
{
	return (char *)c + k->off;
}

static int set_string(char *dst, size_t cap, const char *v, char *err, size_t errlen)
{
	size_t n = strlen(v);
	if (n >= cap)
		return fail(err, errlen, "too long (at most %zu bytes)", cap - 1);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return fail(err, errlen, "control characters are not allowed");
	memcpy(dst, v, n + 1);
	return 0;
}

static bool parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on"};
	static const char *const no[] = {"false", "no", "off"};
	for (size_t i = 0; i < EC_ARRAY_LEN(yes); i++) {
		if (strcasecmp(v, yes[i]) == 0 || strcasecmp(v, no[i]) == 0) {
			*out = strcasecmp(v, yes[i]) == 0;
			return true;
		}
	}
	return false;
}

static int set_disk(struct ec_config *c, const char *v, char *err, size_t errlen)
{
	char dir[sizeof(c->disk_dir)];
	uint64_t size = 1ull << 30;
	const char *colon = strrchr(v, ':');
	size_t dl = colon ? (size_t)(colon - v) : strlen(v);
	if (dl >= sizeof(dir))
		return fail(err, errlen, "directory too long (at most %zu bytes)", sizeof(dir) - 1);
	if (colon != NULL) {
		if (!ec_config_parse_size(colon + 1, &size) || size == 0)
			return fail(err, errlen,
			            "invalid size '%s' in '%s' (use DIR or DIR:SIZE, e.g. "
			            "/var/cache/edgecache:4G)",
			            SHOW(colon + 1), SHOW(v));
		if (dl == 0)
			return fail(err, errlen, "missing directory in '%s' (use DIR or DIR:SIZE)",
			            SHOW(v));
	}
	memcpy(dir, v, dl);
	dir[dl] = '\0';
	if (set_string(c->disk_dir, sizeof(c->disk_dir), dir, err, errlen) != 0)
		return -1;
	c->disk_size = size;
	return 0;
}

static int set_admin(char *dst, size_t cap, const char *v, char *err, size_t errlen)
{
	struct ec_conf_listen l;
	char why[160];
	if (strcmp(v, "off") == 0) {
		/* fine */
	} else if (v[0] == '/') {
		size_t max = sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1;
		if (strlen(v) > max)
			return fail(err, errlen, "unix socket path too long (at most %zu bytes)",
			            max);
	} else if (!parse_listen_why(v, &l, why, sizeof(why))) {
		return fail(err, errlen, "%s; use ADDR:PORT, off, or /path/to/socket", why);
	}
	return set_string(dst, cap, v, err, errlen);
}

/* Parses text `v` for scalar key `k` into `c`; bare problem in err. */
static int apply_scalar_at(struct ec_config *c, void *f, const struct key *k, const char *v,
                           char *err, size_t errlen);

static int apply_scalar(struct ec_config *c, const struct key *k, const char *v, char *err,
                        size_t errlen)
{
	return apply_scalar_at(c, field(c, k), k, v, err, errlen);
}

static bool is_choice(const char *choices, const char *v)
{
	size_t n = strlen(v);
	for (const char *p = choices; *p;) {
		const char *e = strchr(p, '|');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == n && n > 0 && memcmp(p, v, n) == 0)
			return true;
		p += l + (e != NULL);
	}
	return false;
}

/* As apply_scalar, into field `f` (which may lie outside `c`: group settings). */
static int apply_scalar_at(struct ec_config *c, void *f, const struct key *k, const char *v,
                           char *err, size_t errlen)
{
	uint64_t u;
	double d;
	switch (k->type) {
	case KT_STR:
		return set_string(f, k->size, v, err, errlen);
	case KT_TOKEN:
		if (v[0] == '\0')
			return fail(err, errlen, "must not be empty");
		for (const char *p = v; *p; p++)
			if (!token_char(*p))
				return fail(err, errlen,
				            "'%s' is not an HTTP token (letters, digits, "
				            "!#$%%&'*+-.^_`|~)",
				            SHOW(v));
		return set_string(f, k->size, v, err, errlen);
	case KT_HOST:
		for (const char *p = v; *p; p++)
			if (!host_char(*p) && *p != ':' && *p != '[' && *p != ']')
				return fail(err, errlen, "'%s' is not a host[:port]", SHOW(v));
		return set_string(f, k->size, v, err, errlen);
	case KT_UINT:
		if (!all_digits(v, strlen(v)) || !ec_str_to_u64(ec_str_cstr(v), &u))
			return fail(err, errlen, "expected a whole number, got '%s'", SHOW(v));
		if (u < k->min || u > k->max)
			return fail(err, errlen, "must be between %llu and %llu (got %s)",
			            (unsigned long long)k->min, (unsigned long long)k->max,
			            SHOW(v));
		*(unsigned *)f = (unsigned)u;
		return 0;
	case KT_SIZE:
		if (!ec_config_parse_size(v, &u))
			return fail(err, errlen, "invalid size '%s' (use 256M, 4G...)", SHOW(v));
		if (k->size == sizeof(uint64_t)) {
			*(uint64_t *)f = u;
		} else {
			EC_ASSERT(k->size == sizeof(size_t));
			if (u > SIZE_MAX)
				return fail(err, errlen, "'%s' is too large here", SHOW(v));
			*(size_t *)f = (size_t)u;
		}
		return 0;
	case KT_DURATION:
		if (!ec_config_parse_duration(v, &d))
			return fail(err, errlen,
			            "invalid duration '%s' (use 250ms, 10s, 2m, 1h, 1d)", SHOW(v));
		*(double *)f = d;
		return 0;
	case KT_BOOL:
		if (!parse_bool(v, f))
			return fail(err, errlen, "expected true or false, got '%s'", SHOW(v));
		return 0;
	case KT_ADMIN:
		return set_admin(f, k->size, v, err, errlen);
	case KT_DISK:
		return set_disk(c, v, err, errlen);
	case KT_CHOICE:
		if (!is_choice(k->choices, v))
			return fail(err, errlen, "'%s' is not one of %s", SHOW(v), k->choices);
		return set_string(f, k->size, v, err, errlen);
	default:
		EC_WRONG("not a scalar key");
	}
}

/* The flag that sets a list, for "is a list; use -l". */
static const char *list_hint(const struct key *k)
{
	return k->flag ? k->flag : "the config file";
}

static const char *suggest_key(const char *word, const char *parent);

int ec_config__set(struct ec_config *c, const char *key, const char *value, const char *flag,
                   char *err, size_t errlen)
{
	const struct key *k = find_key(key);
	if (k == NULL) {
		const char *s = suggest_key(key, NULL);
		if (s != NULL)
			return fail(err, errlen, "unknown key (did you mean '%s'?)", s);
		return fail(err, errlen, "unknown key");
	}
	if (k->type == KT_SECTION)
		return fail(err, errlen, "a section, not a value: set one of its keys (%s.KEY)",
		            k->name);
	if (is_list(k))
		return fail(err, errlen, "a list: use %s", list_hint(k));
	if (apply_scalar(c, k, value, err, errlen) != 0)
		return -1;
	note_source(c, k->name, 0, flag);
	return 0;
}

int ec_config_set(struct ec_config *c, const char *key, const char *value, char *err, size_t errlen)
{
	char why[300];
	if (ec_config__set(c, key, value, "-p", why, sizeof(why)) == 0)
		return 0;
	return fail(err, errlen, "%s: %s", SHOW(key), why);
}

static unsigned *list_count(struct ec_config *c, const struct key *k)
{
	return (unsigned *)((char *)c + k->cnt_off);
}

static int split_cert(const char *v, struct ec_conf_cert *out, char *err, size_t errlen)
{
	const char *comma = strrchr(v, ',');
	if (comma == NULL || comma == v || comma[1] == '\0')
		return fail(err, errlen, "expected CERT.pem,KEY.pem, got '%s'", SHOW(v));
	size_t cl = (size_t)(comma - v);
	if (cl >= sizeof(out->cert))
		return fail(err, errlen, "certificate path too long (at most %zu bytes)",
		            sizeof(out->cert) - 1);
	char cert[sizeof(out->cert)];
	memcpy(cert, v, cl);
	cert[cl] = '\0';
	if (set_string(out->cert, sizeof(out->cert), cert, err, errlen) != 0)
		return -1;
	return set_string(out->key, sizeof(out->key), comma + 1, err, errlen);
}

int ec_config__list_add(struct ec_config *c, const char *list, const char *value, bool clear,
                        const char *flag, char *err, size_t errlen)
{
	const struct key *k = find_key(list);
	EC_ASSERT(k != NULL && is_list(k));
	unsigned *n = list_count(c, k);
	if (clear) {
		*n = 0;
		drop_list_sources(c, k->name);
	}
	if (*n >= k->cap)
		return fail(err, errlen, "too many entries (at most %u)", k->cap);
	bool ok;
	switch (k->type) {
	case KT_LISTEN:
		ok = parse_listen_why(value, (struct ec_conf_listen *)field(c, k) + *n, err,
		                      errlen);
		break;
	case KT_ORIGINS:
		ok = ec_config_parse_origin(value, (struct ec_conf_origin *)field(c, k) + *n, err,
		                            errlen);
		break;
	case KT_CERTS:
		ok = split_cert(value, (struct ec_conf_cert *)field(c, k) + *n, err, errlen) == 0;
		break;
	default:
		EC_WRONG("not a list");
	}
	if (!ok)
		return -1;
	char sk[40];
	snprintf(sk, sizeof(sk), "%s[%u]", k->name, *n);
	note_source(c, sk, 0, flag);
	note_source(c, k->name, 0, flag);
	(*n)++;
	return 0;
}

/* ---- suggestions for unknown keys ---------------------------------------- */

/* Optimal string alignment distance (a transposition costs 1); 99 if too long. */
static unsigned edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 48 || lb > 48)
		return 99;
	unsigned d[49][49];
	for (size_t i = 0; i <= la; i++)
		d[i][0] = (unsigned)i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			unsigned cost = a[i - 1] != b[j - 1];
			unsigned v = EC_MIN(d[i - 1][j] + 1, d[i][j - 1] + 1);
			v = EC_MIN(v, d[i - 1][j - 1] + cost);
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
				v = EC_MIN(v, d[i - 2][j - 2] + 1);
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

/* How far a typo may be from `cand` to be suggested. */
static unsigned max_typo(const char *cand)
{
	size_t n = strlen(cand);
	return n <= 4 ? 1 : n <= 10 ? 2 : 3;
}

/* The closest of cands[0..n), or NULL when none is close. */
static const char *suggest_from(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	unsigned bestd = 99;
	for (size_t i = 0; i < n; i++) {
		unsigned d = edit_distance(word, cands[i]);
		if (d <= max_typo(cands[i]) && d < bestd) {
			best = cands[i];
			bestd = d;
		}
	}
	return best;
}

static const char *leaf(const char *name)
{
	const char *dot = strrchr(name, '.');
	return dot ? dot + 1 : name;
}

/* Whether `name` is a direct child of `parent` ("" = the top level). */
static bool child_of(const char *name, const char *parent)
{
	size_t pl = strlen(parent);
	if (pl == 0)
		return strchr(name, '.') == NULL;
	return strncmp(name, parent, pl) == 0 && name[pl] == '.' &&
	       strchr(name + pl + 1, '.') == NULL;
}

/*
 * A key to suggest for the unknown `word`. With `parent` (a mapping being
 * read: "" or "limits"), `word` is a bare name and the answer is a sibling's
 * bare name, or, at the top level, the full path of a key of that name in a
 * section ("header_timeout" → "limits.header_timeout"). Without parent
 * (`-p`), `word` and the answer are full dotted paths.
 */
static const char *suggest_key(const char *word, const char *parent)
{
	const char *cands[EC_ARRAY_LEN(keys)];
	size_t n = 0;
	for (size_t i = 0; i < EC_ARRAY_LEN(keys); i++) {
		if (parent == NULL && keys[i].type != KT_SECTION)
			cands[n++] = keys[i].name;
		else if (parent != NULL && child_of(keys[i].name, parent))
			cands[n++] = leaf(keys[i].name);
	}
	const char *s = suggest_from(word, cands, n);
	if (s != NULL || (parent != NULL && parent[0] != '\0'))
		return s;
	/* the right name in the wrong place */
	const char *w = parent ? word : leaf(word);
	for (size_t i = 0; i < EC_ARRAY_LEN(keys); i++)
		if (keys[i].type != KT_SECTION && strcmp(leaf(keys[i].name), w) == 0 &&
		    strcmp(keys[i].name, word) != 0)
			return keys[i].name;
	return NULL;
}

/* ---- YAML: events to a tree ---------------------------------------------- */

#define YAML_MAX_DEPTH 16



static void ynode_free(struct ynode *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->nkids; i++)
		ynode_free(n->kids[i]);
	free(n->kids);
	free(n->str);
	free(n);
}

static bool ynode_add(struct ynode *parent, struct ynode *kid)
{
	if (parent->nkids == parent->cap) {
		size_t cap = parent->cap ? parent->cap * 2 : 8;
		struct ynode **nk = realloc(parent->kids, cap * sizeof(*nk));
		if (nk == NULL)
			return false;
		parent->kids = nk;
		parent->cap = cap;
	}
	parent->kids[parent->nkids++] = kid;
	return true;
}



/* "NAME:LINE: KEY: problem", or "NAME:LINE: problem" without a key. */
static int EC_PRINTF(4, 5)
        yfail(struct yload *y, unsigned line, const char *key, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (key != NULL)
		return fail(y->err, y->errlen, "%s:%u: %s: %s", y->name, line, key, msg);
	return fail(y->err, y->errlen, "%s:%u: %s", y->name, line, msg);
}

static unsigned line_of_offset(const struct yload *y, size_t off)
{
	unsigned line = 1;
	for (size_t i = 0; i < off && i < y->len; i++)
		line += y->buf[i] == '\n';
	return line;
}

static int syntax_error(struct yload *y, yaml_parser_t *p)
{
	const char *problem = p->problem ? p->problem : "unknown error";
	unsigned line;
	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return fail(y->err, y->errlen, "%s: out of memory", y->name);
	case YAML_READER_ERROR:
		line = line_of_offset(y, p->problem_offset);
		return yfail(y, line, NULL, "syntax error: %s", problem);
	default:
		line = (unsigned)p->problem_mark.line + 1;
		if (p->context != NULL)
			return yfail(y, line, NULL, "syntax error: %s (%s at line %u)", problem,
			             p->context, (unsigned)p->context_mark.line + 1);
		return yfail(y, line, NULL, "syntax error: %s", problem);
	}
}

/* Builds the tree of the single document in y->buf; *root NULL when empty. */
static int yaml_tree(struct yload *y, struct ynode **root)
{
	yaml_parser_t p;
	yaml_event_t ev;
	struct ynode *stack[YAML_MAX_DEPTH];
	unsigned depth = 0, docs = 0;
	int rc = 0;

	*root = NULL;
	if (!yaml_parser_initialize(&p))
		return fail(y->err, y->errlen, "%s: out of memory", y->name);
	yaml_parser_set_input_string(&p, (const unsigned char *)y->buf, y->len);
	for (bool done = false; !done && rc == 0;) {
		if (!yaml_parser_parse(&p, &ev)) {
			rc = syntax_error(y, &p);
			break;
		}
		unsigned line = (unsigned)ev.start_mark.line + 1;
		struct ynode *n = NULL;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1)
				rc = yfail(y, line, NULL, "only one YAML document is allowed");
			break;
		case YAML_ALIAS_EVENT:
			rc = yfail(y, line, NULL, "YAML aliases (*%s) are not supported",
			           SHOW((const char *)ev.data.alias.anchor));
			break;
		case YAML_SCALAR_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			n = calloc(1, sizeof(*n));
			if (n == NULL) {
				rc = fail(y->err, y->errlen, "%s: out of memory", y->name);
				break;
			}
			n->line = line;
			if (ev.type == YAML_SCALAR_EVENT) {
				n->type = YN_SCALAR;
				n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
				n->len = ev.data.scalar.length;
				n->str = malloc(n->len + 1);
				if (n->str == NULL) {
					free(n);
					rc = fail(y->err, y->errlen, "%s: out of memory", y->name);
					break;
				}
				memcpy(n->str, ev.data.scalar.value, n->len);
				n->str[n->len] = '\0';
			} else {
				n->type = ev.type == YAML_SEQUENCE_START_EVENT ? YN_SEQ : YN_MAP;
			}
			if (depth == 0) {
				ynode_free(*root);
				*root = n;
			} else if (!ynode_add(stack[depth - 1], n)) {
				ynode_free(n);
				rc = fail(y->err, y->errlen, "%s: out of memory", y->name);
				break;
			}
			if (n->type != YN_SCALAR) {
				if (depth == YAML_MAX_DEPTH) {
					rc = yfail(y, line, NULL, "nested deeper than %d levels",
					           YAML_MAX_DEPTH);
					break;
				}
				stack[depth++] = n;
			}
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			EC_ASSERT(depth > 0);
			depth--;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	if (rc != 0) {
		ynode_free(*root);
		*root = NULL;
	}
	return rc;
}

/* ---- YAML: the tree against the schema ----------------------------------- */

static bool is_null(const struct ynode *n)
{
	return n->type == YN_SCALAR && n->plain &&
	       (n->len == 0 || strcmp(n->str, "~") == 0 || strcmp(n->str, "null") == 0 ||
	        strcmp(n->str, "Null") == 0 || strcmp(n->str, "NULL") == 0);
}

static const char *ntype(const struct ynode *n)
{
	if (n->type == YN_MAP)
		return "a mapping";
	if (n->type == YN_SEQ)
		return "a list";
	return "a string";
}

static const char *kt_what(enum ktype t)
{
	switch (t) {
	case KT_UINT:
		return "a number";
	case KT_SIZE:
		return "a size";
	case KT_DURATION:
		return "a duration";
	case KT_BOOL:
		return "true or false";
	case KT_ADMIN:
		return "an address";
	default:
		return "a string";
	}
}

/*
 * The text of scalar `n` for key `key`, or NULL after an error. A null is ""
 * where a string may be empty (and `allow_empty`), an error elsewhere.
 */
static const char *scalar_text(struct yload *y, const struct ynode *n, const char *key,
                               const char *what, bool allow_empty)
{
	if (n->type != YN_SCALAR) {
		yfail(y, n->line, key, "expected %s, found %s", what, ntype(n));
		return NULL;
	}
	if (strlen(n->str) != n->len) {
		yfail(y, n->line, key, "NUL bytes are not allowed");
		return NULL;
	}
	if (is_null(n)) {
		if (!allow_empty) {
			yfail(y, n->line, key, "missing value (expected %s)", what);
			return NULL;
		}
		return "";
	}
	return n->str;
}

/*
 * Checks mapping key `k` (the i-th pair of `map`): a scalar, not a repeat of
 * an earlier key. Writes the dotted path into path[]. 0 or -1.
 */
static int map_key(struct yload *y, const struct ynode *map, size_t i, const char *prefix,
                   char *path, size_t pathlen)
{
	const struct ynode *k = map->kids[2 * i];
	if (k->type != YN_SCALAR || strlen(k->str) != k->len) {
		if (prefix[0] != '\0')
			return yfail(y, k->line, prefix, "keys must be plain strings, found %s",
			             ntype(k));
		return yfail(y, k->line, NULL, "keys must be plain strings, found %s", ntype(k));
	}
	snprintf(path, pathlen, "%s%s%s", prefix, prefix[0] ? "." : "", SHOW(k->str));
	for (size_t j = 0; j < i; j++) {
		const struct ynode *o = map->kids[2 * j];
		if (o->type == YN_SCALAR && o->len == k->len && memcmp(o->str, k->str, k->len) == 0)
			return yfail(y, k->line, path, "duplicate key (first at line %u)", o->line);
	}
	return 0;
}

static int unknown_key(struct yload *y, const struct ynode *k, const char *path,
                       const char *suggestion)
{
	if (suggestion != NULL)
		return yfail(y, k->line, path, "unknown key (did you mean '%s'?)", suggestion);
	return yfail(y, k->line, path, "unknown key");
}

/* One origin: a URL, or {url: URL, weight: N}. */
static int yaml_origin(struct yload *y, const struct ynode *n, const char *ekey,
                       struct ec_conf_origin *o)
{
	static const char *const subkeys[] = {"url", "weight"};
	char why[300], path[128], upath[48], wpath[48];
	const char *url = NULL;
	const struct ynode *urln = n, *wn = NULL;
	snprintf(upath, sizeof(upath), "%s.url", ekey);
	snprintf(wpath, sizeof(wpath), "%s.weight", ekey);
	if (n->type == YN_SCALAR) {
		url = scalar_text(y, n, ekey, "a URL", false);
		if (url == NULL)
			return -1;
	} else if (n->type == YN_MAP) {
		for (size_t i = 0; i < n->nkids / 2; i++) {
			if (map_key(y, n, i, ekey, path, sizeof(path)) != 0)
				return -1;
			const struct ynode *k = n->kids[2 * i], *v = n->kids[2 * i + 1];
			if (strcmp(k->str, "url") == 0) {
				url = scalar_text(y, v, upath, "a URL", false);
				if (url == NULL)
					return -1;
				urln = v;
			} else if (strcmp(k->str, "weight") == 0) {
				wn = v;
			} else {
				return unknown_key(
				        y, k, path,
				        suggest_from(k->str, subkeys, EC_ARRAY_LEN(subkeys)));
			}
		}
		if (url == NULL)
			return yfail(y, n->line, ekey, "missing key 'url'");
	} else {
		return yfail(y, n->line, ekey,
		             "expected a URL or a mapping {url: URL, weight: N}, found %s",
		             ntype(n));
	}
	if (!ec_config_parse_origin(url, o, why, sizeof(why)))
		return yfail(y, urln->line, n == urln ? ekey : upath, "%s", why);
	if (n != urln)
		note_source(y->c, upath, urln->line, NULL);
	if (wn != NULL) {
		const char *w = scalar_text(y, wn, wpath, "a number", false);
		uint64_t v;
		if (w == NULL)
			return -1;
		if (!all_digits(w, strlen(w)) || !ec_str_to_u64(ec_str_cstr(w), &v))
			return yfail(y, wn->line, wpath, "expected a whole number, got '%s'",
			             SHOW(w));
		if (v < 1 || v > 1000)
			return yfail(y, wn->line, wpath, "must be between 1 and 1000 (got %s)",
			             SHOW(w));
		o->weight = (unsigned)v;
		note_source(y->c, wpath, wn->line, NULL);
	}
	return 0;
}

/* One certificate: {cert: FILE, key: FILE}. */
static int yaml_cert(struct yload *y, const struct ynode *n, const char *ekey,
                     struct ec_conf_cert *cert)
{
	static const char *const subkeys[] = {"cert", "key"};
	char why[300], path[128];
	bool have[2] = {false, false};
	if (n->type != YN_MAP)
		return yfail(y, n->line, ekey,
		             "expected a mapping {cert: FILE, key: FILE}, found %s", ntype(n));
	for (size_t i = 0; i < n->nkids / 2; i++) {
		if (map_key(y, n, i, ekey, path, sizeof(path)) != 0)
			return -1;
		const struct ynode *k = n->kids[2 * i], *v = n->kids[2 * i + 1];
		int which = strcmp(k->str, "cert") == 0 ? 0 : strcmp(k->str, "key") == 0 ? 1 : -1;
		if (which < 0)
			return unknown_key(y, k, path,
			                   suggest_from(k->str, subkeys, EC_ARRAY_LEN(subkeys)));
		const char *t = scalar_text(y, v, path, "a file name", false);
		if (t == NULL)
			return -1;
		char *dst = which == 0 ? cert->cert : cert->key;
		if (set_string(dst, sizeof(cert->cert), t, why, sizeof(why)) != 0)
			return yfail(y, v->line, path, "%s", why);
		have[which] = true;
		note_source(y->c, path, v->line, NULL);
	}
	for (int i = 0; i < 2; i++)
		if (!have[i])
			return yfail(y, n->line, ekey, "missing key '%s'", subkeys[i]);
	return 0;
}

/* A list key: a list, a single entry, or null (empty). Replaces the list. */
static int yaml_list(struct yload *y, const struct key *k, const struct ynode *kn,
                     const struct ynode *v)
{
	struct ec_config *c = y->c;
	unsigned *cnt = list_count(c, k);
	*cnt = 0;
	drop_list_sources(c, k->name);
	note_source(c, k->name, kn->line, NULL);
	if (is_null(v))
		return 0;

	const struct ynode *single = NULL;
	if (v->type == YN_SCALAR || (v->type == YN_MAP && k->type != KT_LISTEN))
		single = v;
	else if (v->type != YN_SEQ)
		return yfail(y, v->line, k->name, "expected a list or %s, found %s",
		             k->type == KT_CERTS ? "a mapping" : "a string", ntype(v));
	size_t n = single ? 1 : v->nkids;
	for (size_t i = 0; i < n; i++) {
		const struct ynode *e = single ? single : v->kids[i];
		char ekey[40], why[300];
		snprintf(ekey, sizeof(ekey), "%s[%zu]", k->name, i);
		/* messages name a lone string "listen", list entries "listen[1]" */
		const char *mkey = single && e->type == YN_SCALAR ? k->name : ekey;
		if (i >= k->cap)
			return yfail(y, e->line, k->name, "too many entries (at most %u)", k->cap);
		int rc = 0;
		if (k->type == KT_LISTEN) {
			const char *t = scalar_text(y, e, mkey, "ADDR:PORT", false);
			if (t == NULL)
				return -1;
			if (!parse_listen_why(t, (struct ec_conf_listen *)field(c, k) + i, why,
			                      sizeof(why)))
				return yfail(y, e->line, mkey, "%s", why);
		} else if (k->type == KT_ORIGINS) {
			rc = yaml_origin(y, e, mkey, (struct ec_conf_origin *)field(c, k) + i);
		} else {
			rc = yaml_cert(y, e, ekey, (struct ec_conf_cert *)field(c, k) + i);
		}
		if (rc != 0)
			return -1;
		note_source(c, ekey, e->line, NULL);
		*cnt = (unsigned)i + 1;
	}
	return 0;
}

static int yaml_map(struct yload *y, const struct ynode *map, const char *prefix)
{
	char path[128], why[300];
	for (size_t i = 0; i < map->nkids / 2; i++) {
		if (map_key(y, map, i, prefix, path, sizeof(path)) != 0)
			return -1;
		const struct ynode *kn = map->kids[2 * i], *v = map->kids[2 * i + 1];
		const struct key *k = find_key(path);
		if (k == NULL)
			return unknown_key(y, kn, path, suggest_key(kn->str, prefix));
		if (k->type == KT_SECTION) {
			if (is_null(v))
				continue;
			if (v->type != YN_MAP)
				return yfail(y, v->line, path,
				             "expected a mapping of keys, found %s", ntype(v));
			if (yaml_map(y, v, k->name) != 0)
				return -1;
			continue;
		}
		if (k->type == KT_GROUPS) {
			if (ec_config__yaml_groups(y, kn, v) != 0)
				return -1;
			continue;
		}
		if (is_list(k)) {
			if (yaml_list(y, k, kn, v) != 0)
				return -1;
			continue;
		}
		bool empty_ok = k->type == KT_STR || k->type == KT_HOST || k->type == KT_DISK;
		const char *t = scalar_text(y, v, path, kt_what(k->type), empty_ok);
		if (t == NULL)
			return -1;
		if (apply_scalar(y->c, k, t, why, sizeof(why)) != 0)
			return yfail(y, v->line, path, "%s", why);
		note_source(y->c, k->name, kn->line, NULL);
	}
	return 0;
}

int ec_config_load_buffer(struct ec_config *c, const char *name, const char *buf, size_t len,
                          char *err, size_t errlen)
{
	struct yload y = {c, name, buf, len, err, errlen};
	struct ynode *root;
	if (yaml_tree(&y, &root) != 0)
		return -1;
	snprintf(c->path, sizeof(c->path), "%s", name);
	int rc = 0;
	if (root == NULL || is_null(root))
		rc = 0;
	else if (root->type != YN_MAP)
		rc = yfail(&y, root->line, NULL,
		           "expected a mapping of keys at the top level, found %s", ntype(root));
	else
		rc = yaml_map(&y, root, "");
	ynode_free(root);
	return rc;
}

int ec_config_load_file(struct ec_config *c, const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(err, errlen, "%s: cannot open: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(err, errlen, "%s: not a regular file", path);
	}
	if (st.st_size > (off_t)EC_CONF_MAX_FILE) {
		close(fd);
		return fail(err, errlen, "%s: larger than %u bytes", path, EC_CONF_MAX_FILE);
	}
	size_t cap = (size_t)st.st_size + 1, len = 0;
	char *buf = malloc(cap);
	if (buf == NULL) {
		close(fd);
		return fail(err, errlen, "%s: out of memory", path);
	}
	for (;;) {
		if (len == cap) {
			close(fd);
			free(buf);
			return fail(err, errlen, "%s: larger than %u bytes (growing)", path,
			            EC_CONF_MAX_FILE);
		}
		ssize_t r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			close(fd);
			free(buf);
			return fail(err, errlen, "%s: cannot read: %s", path, strerror(e));
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	int rc = ec_config_load_buffer(c, path, buf, len, err, errlen);
	free(buf);
	return rc;
}

/* ---- defaults and snapshots ---------------------------------------------- */

void ec_config_defaults(struct ec_config *c)
{
	char err[200];
	memset(c, 0, sizeof(*c));
	c->refcnt_ = 1;
	c->action = EC_CONFIG_RUN;
	for (size_t i = 0; i < EC_ARRAY_LEN(keys); i++)
		if (keys[i].deflt != NULL)
			EC_AZ(apply_scalar(c, &keys[i], keys[i].deflt, err, sizeof(err)));
}

struct ec_config *ec_config_new(void)
{
	struct ec_config *c = malloc(sizeof(*c));
	if (c != NULL)
		ec_config_defaults(c);
	return c;
}

struct ec_config *ec_config_ref(struct ec_config *c)
{
	EC_AN(c);
	unsigned old = __atomic_fetch_add(&c->refcnt_, 1, __ATOMIC_RELAXED);
	EC_ASSERT(old > 0);
	return c;
}

void ec_config_unref(struct ec_config **cp)
{
	EC_AN(cp);
	struct ec_config *c = *cp;
	*cp = NULL;
	if (c == NULL)
		return;
	unsigned old = __atomic_fetch_sub(&c->refcnt_, 1, __ATOMIC_ACQ_REL);
	EC_ASSERT(old > 0);
	if (old == 1)
		free(c);
}

/* ---- for config_groups.c (config_priv.h) ---------------------------------- */

const char *ec_config__scalar(struct yload *y, const struct ynode *n, const char *key,
                              const char *what, bool allow_empty)
{
	return scalar_text(y, n, key, what, allow_empty);
}

int ec_config__map_key(struct yload *y, const struct ynode *map, size_t i, const char *prefix,
                       char *path, size_t pathlen)
{
	return map_key(y, map, i, prefix, path, pathlen);
}

void ec_config__note(struct ec_config *c, const char *key, unsigned line)
{
	note_source(c, key, line, NULL);
}

const char *ec_config__suggest(const char *word, const char *const *cands, size_t n)
{
	return suggest_from(word, cands, n);
}

/* The origin.LEAF key that lives in struct ec_conf_lb, or NULL. */
static const struct key *lb_key(const char *leaf)
{
	char name[64];
	snprintf(name, sizeof(name), "origin.%s", leaf);
	const struct key *k = find_key(name);
	size_t lo = offsetof(struct ec_config, lb), hi = lo + sizeof(struct ec_conf_lb);
	if (k == NULL || k->type == KT_SECTION || k->off < lo || k->off + k->size > hi)
		return NULL;
	return k;
}

int ec_config__apply_lb(struct ec_config *c, struct ec_conf_lb *lb, const char *leaf,
                        const char *v, char *err, size_t errlen)
{
	const struct key *k = lb_key(leaf);
	EC_AN(k);
	void *f = (char *)lb + (k->off - offsetof(struct ec_config, lb));
	if (apply_scalar_at(c, f, k, v, err, errlen) != 0)
		return -1;
	if ((k->flags & KF_POSITIVE) && k->type == KT_DURATION && *(double *)f <= 0)
		return fail(err, errlen, "must be more than 0");
	return 0;
}

bool ec_config__is_lb_key(const char *leaf)
{
	return lb_key(leaf) != NULL;
}

void ec_config__lb_defaults(struct ec_config *c, struct ec_conf_lb *lb)
{
	char err[200];
	size_t lo = offsetof(struct ec_config, lb), hi = lo + sizeof(struct ec_conf_lb);
	memset(lb, 0, sizeof(*lb));
	for (size_t i = 0; i < EC_ARRAY_LEN(keys); i++)
		if (keys[i].deflt != NULL && keys[i].off >= lo && keys[i].off < hi &&
		    keys[i].type != KT_SECTION)
			EC_AZ(apply_scalar_at(c, (char *)lb + (keys[i].off - lo), &keys[i],
			                      keys[i].deflt, err, sizeof(err)));
}
