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
 *     edgecache.yaml:12: limits.header_timeout: expected a duration like 10s
 */
#ifndef EC_CONFIG_H
#define EC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EC_CONF_MAX_LISTEN 16
#define EC_CONF_MAX_ORIGINS 64
#define EC_CONF_MAX_CERTS 32

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
};

struct ec_conf_cert {
	char cert[512];
	char key[512];
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

	/* storage */
	uint64_t memory_size; /* -m, bytes; default 256M */
	char disk_dir[512];   /* -d DIR[:SIZE]; "" = memory only */
	uint64_t disk_size;   /* default 1G when a dir is given without size */

	/* admin */
	char admin[128]; /* "127.0.0.1:9090" default, "off", or a unix socket path */
	char admin_token_file[512];

	/* process */
	unsigned workers; /* -w; 0 = number of online CPUs, resolved at load */
	char access_log[512]; /* path, "-" for stdout, "" for none */
	char error_log[512];  /* path, "" for stderr */
	double drain_timeout; /* seconds SIGTERM waits for in-flight requests; default 10 */

	/* client-side limits (RFC 9112 parser + timeouts) */
	size_t max_request_line; /* default 8K → 414 */
	size_t max_head;         /* default 32K → 431 */
	unsigned max_fields;     /* default 100 → 431 */
	uint64_t max_body;       /* default 0 = unlimited → 413 */
	double header_timeout;   /* seconds to receive a whole request head; default 10 → 408 */
	double idle_timeout;     /* keep-alive idle; default 60 */
	double send_timeout;     /* no progress writing to a client; default 60 */
	unsigned max_conns;      /* per worker; default 0 = unlimited */

	/* origin connector */
	double connect_timeout;       /* default 3 → 502 */
	double first_byte_timeout;    /* default 30 → 504 */
	double between_bytes_timeout; /* default 30 → 504 (or a broken body) */
	unsigned pool_max_idle;       /* idle keep-alive connections per backend per worker; 64 */
	double pool_idle_timeout;     /* default 60 */
	unsigned pool_max_requests;   /* per connection; default 0 = unlimited */

	/* forwarding */
	char via_name[64];  /* pseudonym in Via; default "edgecache" */
	bool xff;           /* add X-Forwarded-For / -Proto; default true */

	/* cache (the cache issue uses these) */
	uint64_t max_object_size; /* default 64M */
	double default_ttl;       /* seconds for responses without freshness; default 0 */
	double heuristic_max;     /* cap on heuristic freshness; default 86400 */
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
 */
int ec_config_load_file(struct ec_config *c, const char *path, char *err, size_t errlen);

/*
 * Parses the command line (DESIGN.md "Interfaces") into `c`: first finds -c
 * FILE and loads it, then applies the flags on top. Also returns
 * *check_only for --check, and *help / *version. Returns 0 or -1 with a
 * message naming the flag in err.
 */
int ec_config_from_args(struct ec_config *c, int argc, char **argv, bool *check_only, char *err,
			size_t errlen);

/*
 * Whole-config validation (at least one origin, sane limits, admin on a
 * non-loopback address needs a token, ...) and resolution of derived values
 * (workers = CPUs when 0, listen default). Returns 0 or -1 with err set.
 */
int ec_config_finish(struct ec_config *c, char *err, size_t errlen);

/* Value parsers shared with the admin API and tools; true on success. */
bool ec_config_parse_size(const char *s, uint64_t *out);      /* "256M", "4G", "1024" */
bool ec_config_parse_duration(const char *s, double *out);    /* "10s", "250ms", "2m", "1h", "5" */
bool ec_config_parse_listen(const char *s, struct ec_conf_listen *out);
bool ec_config_parse_origin(const char *s, struct ec_conf_origin *out, char *err, size_t errlen);

/* Heap snapshot management for reloads. */
struct ec_config *ec_config_new(void);        /* defaults, refcount 1 */
struct ec_config *ec_config_ref(struct ec_config *c);
void ec_config_unref(struct ec_config **cp); /* frees at zero, clears *cp */

/* Usage text for --help. */
const char *ec_config_usage(void);

#endif /* EC_CONFIG_H */
