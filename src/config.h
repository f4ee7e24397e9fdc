/*
 * config.h — edgecache's configuration: one immutable snapshot built from a
 * YAML file (conf/edgecache.yaml documents every key) overlaid with command
 * line flags (flags win), validated as a whole.
 *
 * Ownership and threads. A snapshot is built by the main thread, then
 * published to the workers; it is never modified afterwards. Workers and
 * requests hold references (ec_config_ref/unref, atomic), so a SIGHUP reload
 * swaps in a new snapshot while requests in flight keep the old one.
 *
 * Errors name the file, the line and the key:
 *     edgecache.yaml:12: limits.header_timeout: invalid duration 'soon' (use 250ms, 10s, 2m, 1h,
 * 1d) and flags name the flag: -m: invalid size 'abc' (use 256M, 4G...)
 *
 * Every key is defined once, in the table in config.c (type, field, default,
 * one line of documentation); the YAML loader, `-p KEY=VALUE`,
 * ec_config_set(), the --help text and the unit test that checks
 * conf/edgecache.yaml all use that table.
 */
#ifndef EC_CONFIG_H
#define EC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EC_CONF_MAX_LISTEN 16
#define EC_CONF_MAX_ORIGINS 64
#define EC_CONF_MAX_CERTS 32
#define EC_CONF_MAX_SOURCES 512        /* ec_config.sources: scalar keys + list entries */
#define EC_CONF_MAX_FILE    (1u << 20) /* ec_config_load_file refuses larger files */

/* An address to listen on: numeric IPv4 or [IPv6] and a port. */
struct ec_conf_listen {
	char host[64]; /* numeric address as given, without brackets */
	unsigned port;
	char text[80]; /* as written, for logs */
};

/* One backend of the default origin group, from `-o URL` or `origins:`. */
struct ec_conf_origin {
	char url[512];    /* as written */
	char scheme[8];   /* "http" (or "https", for the TLS connector issue) */
	char host[256];   /* name or numeric address, without brackets */
	unsigned port;    /* explicit or the scheme's default */
	char authority[300]; /* host[:port] as it would appear in a Host field */
	unsigned weight;  /* default 1 */
	bool backup;      /* groups: used only when every primary is down */
};

#define EC_CONF_MAX_GROUPS 16
#define EC_CONF_MAX_GBACKENDS 64
#define EC_CONF_MAX_MATCH 8

/*
 * Balancing, health and retry settings of one origin group. The default group
 * (the `origins:` / -o backends) takes them from the `origin.*` keys; a group
 * under `groups:` starts from the keys' defaults and sets its own with the
 * same leaf names (`algorithm: ketama`). See docs/origin.md.
 */
struct ec_conf_lb {
	char algorithm[16];    /* wrr (default), least_conn, ketama, p2c */
	char protocol[8];      /* h1 (default), h2c (HTTP/2, prior knowledge), h2 (over TLS) */
	unsigned retries;      /* other backends tried after a connect failure; 2 */
	char health_check[8];  /* none (default), tcp, http */
	char health_path[256]; /* http: the path to GET; "/" */
	unsigned health_status; /* http: the expected status; 200 */
	double health_interval; /* 2s */
	double health_timeout;  /* 1s */
	unsigned health_rise;   /* consecutive passes that bring a backend up; 2 */
	unsigned health_fall;   /* consecutive failures that take it down; 3 */
	unsigned fail_max;      /* passive: failures (connect, 5xx) that take it down; 3; 0 off */
	double fail_window;     /* passive: ... within this long; 10s */
	double fail_timeout;    /* passive: a downed backend gets a probe request after this; 5s */
	/* upstream TLS, for https:// backends */
	bool tls_verify;       /* verify the certificate and the name; true */
	char tls_ca[256];      /* CA file (PEM); "" = the system store */
	char tls_sni[256];     /* name sent and verified; "" = the backend's host */
	char tls_cert[256];    /* client certificate (PEM); "" = none */
	char tls_key[256];     /* its key */
};

/* One origin group from `groups:`. Its backends are gbackends[first..first+n). */
struct ec_conf_group {
	char name[64];
	char hosts[EC_CONF_MAX_MATCH][128]; /* Host values it serves ("*.x.org" = subdomains) */
	unsigned nhosts;                    /* 0 = any host */
	char paths[EC_CONF_MAX_MATCH][128]; /* path prefixes it serves */
	unsigned npaths;                    /* 0 = any path */
	char host[256];                     /* Host field to send; "" = the client's */
	struct ec_conf_lb lb;
	unsigned first, n;
	unsigned line; /* where it starts in the file, for messages */
};

struct ec_conf_cert {
	char cert[512];
	char key[512];
};

/*
 * Where a key's current value came from, so that errors found later (in
 * ec_config_finish, or by the daemon when it binds a listener) can point at
 * it: "edgecache.yaml:7: admin: ..." or "--admin: admin: ...".
 */
struct ec_conf_source {
	char key[40];     /* dotted path: "limits.body", "origins[2]", "certs[0].key" */
	unsigned line;    /* 1-based line in ec_config.path; 0 when a flag set it */
	const char *flag; /* static string naming the flag ("-o", "-p"), NULL for the file */
};

/* What the command line asks main() to do (ec_config_from_args). */
enum ec_config_action {
	EC_CONFIG_ACTION_INVALID = 0,
	EC_CONFIG_RUN,     /* serve (the default) */
	EC_CONFIG_CHECK,   /* --check: validate (ec_config_finish) and exit 0 or 1 */
	EC_CONFIG_HELP,    /* -h/--help: print ec_config_usage() and exit 0 */
	EC_CONFIG_VERSION, /* -V/--version: print the version and exit 0 */
};

struct ec_config {
	unsigned refcnt_; /* atomic; use ec_config_ref/unref */
	char path[512];   /* the file it came from, "" when flags only */

	/* listeners */
	struct ec_conf_listen listen[EC_CONF_MAX_LISTEN];
	unsigned nlisten; /* default: one, 127.0.0.1:8080 when none given */
	struct ec_conf_listen tls_listen[EC_CONF_MAX_LISTEN];
	unsigned ntls_listen;
	struct ec_conf_cert certs[EC_CONF_MAX_CERTS];
	unsigned ncerts;
	unsigned backlog; /* listen(2) backlog, default 4096 */

	/* origins (the default group) */
	struct ec_conf_origin origins[EC_CONF_MAX_ORIGINS];
	unsigned norigins; /* at least one is required */
	char origin_host[256]; /* Host field to send; "" = pass the client's through */
	struct ec_conf_lb lb;  /* the default group's balancing (origin.* keys) */

	/* further origin groups, routed by Host and path prefix (config_groups.c) */
	struct ec_conf_group groups[EC_CONF_MAX_GROUPS];
	unsigned ngroups;
	struct ec_conf_origin gbackends[EC_CONF_MAX_GBACKENDS];
	unsigned ngbackends;

	/* storage */
	uint64_t memory_size; /* -m, bytes; default 256M */
	char disk_dir[512];   /* -d DIR[:SIZE]; "" = memory only */
	uint64_t disk_size;   /* default 1G when a dir is given without size */
	char disk_sync[16];   /* "commit" (default) or "periodic" */
	double disk_sync_interval;     /* periodic: seconds between syncs; default 1 */
	unsigned disk_high_watermark;  /* % of disk_size; default 85 */
	unsigned disk_low_watermark;   /* % of disk_size; default 70; < high */
	double disk_batch_delay;       /* seconds the writer gathers a batch; default 0.002 */

	/* admin */
	char admin[128]; /* "127.0.0.1:9090" default, "off", or a unix socket path */
	char admin_token_file[512];
	char purge_allow[512]; /* CIDR list allowed to send PURGE (src/acl.h); "" = none */
	char tls_ticket_keys[1024]; /* ticket key files, space-separated; "" = in-memory keys */

	/* process */
	unsigned workers; /* -w; 0 = number of online CPUs, resolved at load */
	char access_log[512]; /* path, "-" for stdout, "" for none */
	char error_log[512];  /* path, "" for stderr */
	double drain_timeout; /* seconds SIGTERM waits for in-flight requests; default 10 */
	double busy_poll;     /* a busy worker polls this long before sleeping; default 0 = off */

	/* client-side limits (RFC 9112 parser + timeouts) */
	size_t max_request_line; /* default 8K → 414 */
	size_t max_head;         /* default 32K → 431 */
	unsigned max_fields;     /* default 100 → 431 */
	uint64_t max_body;       /* default 0 = unlimited → 413 */
	double header_timeout;   /* seconds to receive a whole request head; default 10 → 408 */
	double idle_timeout;     /* keep-alive idle; default 60 */
	double send_timeout;     /* no progress writing to a client; default 60 */
	unsigned max_conns;      /* per worker; default 0 = unlimited */
	unsigned h2_streams;     /* SETTINGS_MAX_CONCURRENT_STREAMS; default 128 */

	/* origin connector */
	double connect_timeout;       /* default 3 → 502 */
	double first_byte_timeout;    /* default 30 → 504 */
	double between_bytes_timeout; /* default 30 → 504 (or a broken body) */
	unsigned pool_max_idle;       /* idle keep-alive connections per backend per worker; 64 */
	double pool_idle_timeout;     /* default 60 */
	unsigned pool_max_requests;   /* per connection; default 0 = unlimited */
	double dns_interval;          /* re-resolve backend names this often; 30s; 0 = never */
	char dns_resolv_conf[256];    /* the resolver's configuration; /etc/resolv.conf */

	/* forwarding */
	char via_name[64];  /* pseudonym in Via; default "edgecache" */
	bool xff;           /* add X-Forwarded-For / -Proto; default true */

	/* cache (the cache issue uses these) */
	uint64_t max_object_size; /* default 64M */
	double default_ttl;       /* seconds for responses without freshness; default 0 */
	double heuristic_max;     /* cap on heuristic freshness; default 86400 */
	char eviction[16];        /* "s3fifo" (TinyLFU + S3-FIFO, default) or "lru" */
	bool key_scheme;          /* the scheme is part of the cache key; default true */
	bool key_host;            /* the host is part of the cache key; default true */
	char key_query[16];       /* "keep" (default), "sort" the parameters, "ignore" the query */
	char key_ignore_params[512]; /* comma-separated query parameters left out of the key */
	double lock_timeout;      /* a fill holding a key longer stops coalescing; default 10 */
	double wait_timeout;      /* a request waits this long on a fill's head; default 10 */
	double grace;             /* stale served on origin errors without stale-if-error; 0 */
	double hit_for_miss_ttl;  /* how long an uncacheable verdict is remembered; 120 */
	bool learn_freshness;     /* learned heuristic lifetimes (policy/learn.h); false */
	double learn_min;         /* bounds of a learned lifetime; 0 and 3600 */
	double learn_max;
	unsigned refresh_ahead_pct;  /* refresh hot objects in the last N % of life; 0 = off */
	unsigned refresh_ahead_hits; /* hits that make an object hot; default 2 */
	char targeted[256];       /* comma-separated targeted cache-control fields (RFC 9213),
				     most specific first; default "CDN-Cache-Control,Surrogate-Control" */

	/* set by ec_config_from_args; EC_CONFIG_RUN by default */
	enum ec_config_action action;

/*
	 * Where each key set from the file or a flag came from (defaults have no
	 * entry); a later setting of the same key replaces its entry, and
	 * replacing a list drops its entries. Use ec_config_source().
 */
	struct ec_conf_source sources[EC_CONF_MAX_SOURCES];
	unsigned nsources;
};

/*
 * Fills `c` with the defaults above (refcount 1). Cannot fail.
 */
void ec_config_defaults(struct ec_config *c);

/*
 * Loads a YAML file into `c` (which holds defaults or earlier values; keys in
 * the file replace them). Returns 0, or -1 with a message "FILE:LINE: KEY:
 * problem" in err[0..errlen). Unknown keys are errors (a typo must not be
 * silently ignored). Does not validate cross-key constraints.
 * Reads the whole file (blocking; at most EC_CONF_MAX_FILE bytes) and hands
 * it to ec_config_load_buffer; an unreadable file gives "FILE: problem".
 */
int ec_config_load_file(struct ec_config *c, const char *path, char *err, size_t errlen);

/*
 * Loads YAML text buf[0..len) (need not be NUL-terminated) as if it were the
 * file `name`: records `name` in c->path and the line of every key it sets in
 * c->sources. Returns 0, or -1 with err set to one of
 *     NAME:LINE: KEY: problem          (schema: unknown key, duplicate key,
 *                                       wrong type, invalid value)
 *     NAME:LINE: syntax error: PROBLEM (libyaml's text, and its context)
 *     NAME:LINE: problem               (a second document, an alias, nesting)
 * On error `c` may hold some of the file's keys: discard it. One document
 * only; anchors are ignored and aliases refused; nesting deeper than 16
 * levels is refused (the schema needs 3). Never blocks; any bytes are safe.
 */
int ec_config_load_buffer(struct ec_config *c, const char *name, const char *buf, size_t len,
                          char *err, size_t errlen);

/*
 * Sets one scalar key by its dotted path, as `-p KEY=VALUE` does, with the
 * same parser as the file ("limits.header_timeout", "2s"). Lists (listen,
 * tls_listen, origins, certs) and sections are refused. Returns 0, or -1 with
 * "KEY: problem" in err. Records the key's source as flag "-p".
 */
int ec_config_set(struct ec_config *c, const char *key, const char *value, char *err,
			size_t errlen);

/*
 * The dotted path of the i-th key of the schema ("listen", ...,
 * "limits.request_line", ...), sections excluded; NULL when i is past the
 * end. For tests and tools that enumerate the schema.
 */
const char *ec_config_key_name(size_t i);

/*
 * Where `key` ("admin", "origins[1]", "certs[0].key") was set, or NULL when it
 * holds its default. The pointer is into `c` and lives as long as it.
 */
const struct ec_conf_source *ec_config_source(const struct ec_config *c, const char *key);

/*
 * Parses the command line (DESIGN.md "Interfaces") into `c`: first finds -c
 * FILE and loads it, then applies the flags on top. Also returns
 * *check_only for --check, and *help / *version. Returns 0 or -1 with a
 * message naming the flag in err.
 *
 * Precisely: `c` holds defaults (ec_config_defaults); the -c file is loaded
 * first wherever -c appears, then the flags apply in command-line order. The
 * first -l, -o, --tls-listen or --cert clears the list the file gave, later
 * ones append. -h/--help and -V/--version stop at once (no file is read) and
 * set c->action to EC_CONFIG_HELP / EC_CONFIG_VERSION; --check sets
 * *check_only (check_only may be NULL) and c->action = EC_CONFIG_CHECK;
 * otherwise c->action = EC_CONFIG_RUN. Errors look like
 *     -m: invalid size 'abc' (use 256M, 4G...)
 *     -p: limits.header_timout: unknown key (did you mean 'limits.header_timeout'?)
 *     FILE:LINE: KEY: problem                   (from the -c file)
 * Uses getopt_long (global state): main thread only. Reads the -c file
 * (blocking).
 */
int ec_config_from_args(struct ec_config *c, int argc, char **argv, bool *check_only, char *err,
			size_t errlen);

/*
 * Whole-config validation (at least one origin, sane limits, admin on a
 * non-loopback address needs a token, ...) and resolution of derived values
 * (workers = CPUs when 0, listen default). Returns 0 or -1 with err set.
 *
 * Precisely: listen gets 127.0.0.1:8080 when neither listen nor tls_listen
 * has an entry; workers 0 becomes the number of online CPUs, at most 256.
 * Checks: an origin exists; limits.request_line >= 256, header_block >=
 * request_line, header_fields 1..10000; every timeout > 0; memory > 0; no
 * address listed twice (port 0 excepted); tls_listen needs a cert; every
 * cert and key file, and admin_token_file, readable (access(2), blocking);
 * an admin listener on a non-loopback TCP address needs admin_token_file or
 * a non-empty EDGECACHE_ADMIN_TOKEN. Errors name the key and its source:
 *     FILE:LINE: KEY: problem    (set by the file)
 *     FLAG: KEY: problem         (set by a flag, e.g. "--admin: admin: ...")
 *     KEY: problem               (a default)
 *     no origin: give -o URL or origins: in the config
 */
int ec_config_finish(struct ec_config *c, char *err, size_t errlen);

/*
 * Value parsers shared with the admin API and tools; true on success.
 * Sizes: digits with an optional K, M, G or T suffix (either case, binary:
 * 1K = 1024). Durations: a decimal number with an optional unit ms, s, m, h
 * or d (none = seconds), non-negative. Listen: IPV4:PORT or [IPV6]:PORT,
 * numeric, port 0..65535 (0 = any, tests use it). Origin: http:// or https://
 * HOST[:PORT] with an optional "/" (any other path is refused, err says why);
 * fills every field, weight 1.
 */
bool ec_config_parse_size(const char *s, uint64_t *out);      /* "256M", "4G", "1024" */
bool ec_config_parse_duration(const char *s, double *out);    /* "10s", "250ms", "2m", "1h", "5" */
bool ec_config_parse_listen(const char *s, struct ec_conf_listen *out);
bool ec_config_parse_origin(const char *s, struct ec_conf_origin *out, char *err, size_t errlen);

/* Heap snapshot management for reloads. */
struct ec_config *ec_config_new(void); /* defaults, refcount 1; NULL if out of memory */
struct ec_config *ec_config_ref(struct ec_config *c);
void ec_config_unref(struct ec_config **cp); /* frees at zero, clears *cp */

/*
 * Usage text for --help: the synopsis, one line per option, then every -p
 * key with its default. A static string built on first use (main thread).
 */
const char *ec_config_usage(void);

/*
 * Internal to src/config.c and src/config_args.c (the command line), not for
 * other modules. Both write a bare problem ("invalid size 'x' (...)") to err
 * and record `flag` as the source.
 *   ec_config__set:  one scalar key by dotted path.
 *   ec_config__list_add: appends VALUE to list "listen", "tls_listen",
 *                    "origins" (a URL) or "certs" ("CERT.pem,KEY.pem");
 *                    clear=true empties the list first.
 */
int ec_config__set(struct ec_config *c, const char *key, const char *value, const char *flag,
                   char *err, size_t errlen);
int ec_config__list_add(struct ec_config *c, const char *list, const char *value, bool clear,
                        const char *flag, char *err, size_t errlen);
/* The i-th non-section key's path, default text (NULL: none) and doc; false past the end. */
bool ec_config__key_doc(size_t i, const char **name, const char **deflt, const char **doc);

#endif /* EC_CONFIG_H */
