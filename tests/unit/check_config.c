/*
 * check_config.c — unit tests for src/config.c and src/config_args.c: every
 * key from YAML and from -p, the defaults, value syntax (sizes, durations,
 * addresses, origin URLs), the exact text and line of every kind of error,
 * the command line (flags over the file, list flags replacing lists, --check,
 * -h, -V), ec_config_finish's rules, refcounting, and conf/edgecache.yaml
 * itself (it loads, and documents every key with its true default).
 *
 * YAML inputs are written one line per string literal so that the line
 * numbers asserted in error messages can be counted in the source.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ec_util.h"
#include "src/config.h"

#ifndef EC_CONF_EXAMPLE
#error "EC_CONF_EXAMPLE must name conf/edgecache.yaml (tests/unit/config.am)"
#endif

static struct ec_config *cfg;
static char err[1024];
static char tmpdir[256];

static void setup(void)
{
	cfg = ec_config_new();
	ck_assert_ptr_nonnull(cfg);
	err[0] = '\0';
	const char *t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/check_config.XXXXXX", t && *t ? t : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	unsetenv("EDGECACHE_ADMIN_TOKEN");
}

static void teardown(void)
{
	char cmd[300];
	ec_config_unref(&cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static int load(const char *yaml)
{
	return ec_config_load_buffer(cfg, "t.yaml", yaml, strlen(yaml), err, sizeof(err));
}

#define LOAD_OK(y) ck_assert_msg(load(y) == 0, "load failed: %s", err)
#define LOAD_ERR(y, msg)                                                                           \
	do {                                                                                       \
		ck_assert_int_eq(load(y), -1);                                                     \
		ck_assert_str_eq(err, msg);                                                        \
	} while (0)

/* Writes `text` to TMPDIR/name; returns the path (static buffer per call). */
static const char *write_file(const char *name, const char *text)
{
	static char paths[4][300];
	static int next;
	char *p = paths[next++ % 4];
	snprintf(p, 300, "%s/%s", tmpdir, name);
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	return p;
}

/* Runs ec_config_from_args over a NULL-terminated list (argv[0] added). */
static int run_args(bool *check, ...)
{
	char *argv[64];
	int argc = 0;
	va_list ap;
	argv[argc++] = (char *)"edgecache";
	va_start(ap, check);
	for (char *a; (a = va_arg(ap, char *)) != NULL;)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	return ec_config_from_args(cfg, argc, argv, check, err, sizeof(err));
}

#define ARGS(...) run_args(NULL, __VA_ARGS__, (char *)NULL)
#define ARGS_ERR(msg, ...)                                                                         \
	do {                                                                                       \
		ck_assert_int_eq(ARGS(__VA_ARGS__), -1);                                           \
		ck_assert_str_eq(err, msg);                                                        \
	} while (0)

static int finish(void)
{
	return ec_config_finish(cfg, err, sizeof(err));
}

#define FINISH_ERR(msg)                                                                            \
	do {                                                                                       \
		ck_assert_int_eq(finish(), -1);                                                    \
		ck_assert_str_eq(err, msg);                                                        \
	} while (0)

/* ---- defaults ------------------------------------------------------------ */

START_TEST(test_defaults)
{
	struct ec_config *c = cfg;
	ck_assert_uint_eq(c->refcnt_, 1);
	ck_assert_str_eq(c->path, "");
	ck_assert_uint_eq(c->nlisten, 0);
	ck_assert_uint_eq(c->ntls_listen, 0);
	ck_assert_uint_eq(c->ncerts, 0);
	ck_assert_uint_eq(c->backlog, 4096);
	ck_assert_uint_eq(c->norigins, 0);
	ck_assert_str_eq(c->origin_host, "");
	ck_assert_uint_eq(c->memory_size, 256ull << 20);
	ck_assert_str_eq(c->disk_dir, "");
	ck_assert_uint_eq(c->disk_size, 1ull << 30);
	ck_assert_str_eq(c->admin, "127.0.0.1:9090");
	ck_assert_str_eq(c->admin_token_file, "");
	ck_assert_uint_eq(c->workers, 0);
	ck_assert_str_eq(c->access_log, "");
	ck_assert_str_eq(c->error_log, "");
	ck_assert_double_eq(c->drain_timeout, 10);
	ck_assert_uint_eq(c->max_request_line, 8192);
	ck_assert_uint_eq(c->max_head, 32768);
	ck_assert_uint_eq(c->max_fields, 100);
	ck_assert_uint_eq(c->max_body, 0);
	ck_assert_double_eq(c->header_timeout, 10);
	ck_assert_double_eq(c->idle_timeout, 60);
	ck_assert_double_eq(c->send_timeout, 60);
	ck_assert_uint_eq(c->max_conns, 0);
	ck_assert_double_eq(c->connect_timeout, 3);
	ck_assert_double_eq(c->first_byte_timeout, 30);
	ck_assert_double_eq(c->between_bytes_timeout, 30);
	ck_assert_uint_eq(c->pool_max_idle, 64);
	ck_assert_double_eq(c->pool_idle_timeout, 60);
	ck_assert_uint_eq(c->pool_max_requests, 0);
	ck_assert_str_eq(c->via_name, "edgecache");
	ck_assert(c->xff);
	ck_assert_uint_eq(c->max_object_size, 64ull << 20);
	ck_assert_double_eq(c->default_ttl, 0);
	ck_assert_double_eq(c->heuristic_max, 86400);
	ck_assert_int_eq(c->action, EC_CONFIG_RUN);
	ck_assert_uint_eq(c->nsources, 0);
	ck_assert_ptr_null(ec_config_source(c, "memory"));
}
END_TEST

/* ---- every key from YAML ------------------------------------------------- */

static const char *all_keys_yaml = "listen: ['127.0.0.1:81', '[::1]:82']\n"      /* 1 */
                                   "tls_listen: 0.0.0.0:443\n"                   /* 2 */
                                   "certs:\n"                                    /* 3 */
                                   "  - cert: /c.pem\n"                          /* 4 */
                                   "    key: /k.pem\n"                           /* 5 */
                                   "backlog: 128\n"                              /* 6 */
                                   "origins:\n"                                  /* 7 */
                                   "  - http://10.0.0.1:8080\n"                  /* 8 */
                                   "  - {url: 'https://o.example', weight: 7}\n" /* 9 */
                                   "origin_host: www.example.com\n"              /* 10 */
                                   "memory: 1G\n"                                /* 11 */
                                   "disk: /var/cache/ec:4G\n"                    /* 12 */
                                   "admin: off\n"                                /* 13 */
                                   "admin_token_file: /etc/tok\n"                /* 14 */
                                   "workers: 3\n"                                /* 15 */
                                   "access_log: '-'\n"                           /* 16 */
                                   "error_log: /var/log/e.log\n"                 /* 17 */
                                   "drain_timeout: 250ms\n"                      /* 18 */
                                   "limits:\n"                                   /* 19 */
                                   "  request_line: 4K\n"                        /* 20 */
                                   "  header_block: 16K\n"                       /* 21 */
                                   "  header_fields: 50\n"                       /* 22 */
                                   "  body: 10M\n"                               /* 23 */
                                   "  header_timeout: 2s\n"                      /* 24 */
                                   "  idle_timeout: 2m\n"                        /* 25 */
                                   "  send_timeout: 1h\n"                        /* 26 */
                                   "  max_connections: 1000\n"                   /* 27 */
                                   "origin:\n"                                   /* 28 */
                                   "  connect_timeout: 1.5\n"                    /* 29 */
                                   "  first_byte_timeout: 5s\n"                  /* 30 */
                                   "  between_bytes_timeout: 6s\n"               /* 31 */
                                   "  pool_max_idle: 0\n"                        /* 32 */
                                   "  pool_idle_timeout: 7s\n"                   /* 33 */
                                   "  pool_max_requests: 100\n"                  /* 34 */
                                   "forwarding:\n"                               /* 35 */
                                   "  via: my-cdn\n"                             /* 36 */
                                   "  x_forwarded_for: false\n"                  /* 37 */
                                   "cache:\n"                                    /* 38 */
                                   "  max_object_size: 1M\n"                     /* 39 */
                                   "  default_ttl: 1d\n"                         /* 40 */
                                   "  heuristic_max: 2h\n"                       /* 41 */
                                   "  eviction: lru\n"                           /* 42 */
                                   "  key_scheme: false\n"                       /* 43 */
                                   "  key_host: no\n"                            /* 44 */
                                   "  key_query: sort\n"                         /* 45 */
                                   "  key_ignore_params: utm_source,fbclid\n"    /* 46 */
                                   "  targeted: CDN-Cache-Control\n"             /* 47 */
                                   "  lock_timeout: 3s\n"                        /* 48 */
                                   "  wait_timeout: 4s\n"                        /* 49 */
                                   "  grace: 1m\n"                               /* 50 */
                                   "  hit_for_miss_ttl: 30s\n"                   /* 51 */
                                   "  learn_freshness: yes\n"                    /* 52 */
                                   "  learn_min: 5s\n"                           /* 53 */
                                   "  learn_max: 2h\n"                           /* 54 */
                                   "  refresh_ahead_pct: 10\n"                   /* 55 */
                                   "  refresh_ahead_hits: 3\n"                   /* 56 */
                                   "busy_poll: 50ms\n"                           /* 57 */
                                   "disk_sync: periodic\n"                       /* 58 */
                                   "disk_sync_interval: 5s\n"                    /* 59 */
                                   "disk_high_watermark: 90\n"                   /* 60 */
                                   "disk_low_watermark: 60\n"                    /* 61 */
                                   "disk_batch_delay: 10ms\n"                    /* 62 */
                                   "origin.algorithm: p2c\n"                     /* 63 */
                                   "origin.retries: 4\n"                         /* 64 */
                                   "origin.health_check: http\n"                 /* 65 */
                                   "origin.health_path: /healthz\n"              /* 66 */
                                   "origin.health_status: 204\n"                 /* 67 */
                                   "origin.health_interval: 3s\n"                /* 68 */
                                   "origin.health_timeout: 500ms\n"              /* 69 */
                                   "origin.health_rise: 4\n"                     /* 70 */
                                   "origin.health_fall: 5\n"                     /* 71 */
                                   "origin.fail_max: 6\n"                        /* 72 */
                                   "origin.fail_window: 20s\n"                   /* 73 */
                                   "origin.fail_timeout: 7s\n"                   /* 74 */
                                   "groups:\n"                                   /* 75 */
                                   "  - {name: g, backends: [127.0.0.1:1]}\n"    /* 76 */
                                   "origin.tls_verify: false\n"                  /* 77 */
                                   "origin.tls_ca: /ca.pem\n"                    /* 78 */
                                   "origin.tls_sni: o.example\n"                 /* 79 */
                                   "origin.tls_cert: /c.pem\n"                   /* 80 */
                                   "origin.tls_key: /k.pem\n"                    /* 81 */
                                   "origin.dns_interval: 5s\n"                   /* 82 */
                                   "origin.dns_resolv_conf: /r.conf\n"           /* 83 */
                                   "origin.protocol: h2c\n"                      /* 84 */
                                   "purge_allow: '127.0.0.1/32, ::1'\n"           /* 85 */
                                   "h2_max_streams: 64\n"                        /* 86 */
                                   "tls_ticket_keys: ''\n";                      /* 87 */

START_TEST(test_yaml_every_key)
{
	struct ec_config *c = cfg;
	LOAD_OK(all_keys_yaml);
	ck_assert_str_eq(c->path, "t.yaml");
	ck_assert_uint_eq(c->nlisten, 2);
	ck_assert_str_eq(c->listen[0].host, "127.0.0.1");
	ck_assert_uint_eq(c->listen[0].port, 81);
	ck_assert_str_eq(c->listen[0].text, "127.0.0.1:81");
	ck_assert_str_eq(c->listen[1].host, "::1");
	ck_assert_uint_eq(c->listen[1].port, 82);
	ck_assert_str_eq(c->listen[1].text, "[::1]:82");
	ck_assert_uint_eq(c->ntls_listen, 1);
	ck_assert_str_eq(c->tls_listen[0].host, "0.0.0.0");
	ck_assert_uint_eq(c->tls_listen[0].port, 443);
	ck_assert_uint_eq(c->ncerts, 1);
	ck_assert_str_eq(c->certs[0].cert, "/c.pem");
	ck_assert_str_eq(c->certs[0].key, "/k.pem");
	ck_assert_uint_eq(c->backlog, 128);
	ck_assert_uint_eq(c->norigins, 2);
	ck_assert_str_eq(c->origins[0].url, "http://10.0.0.1:8080");
	ck_assert_str_eq(c->origins[0].scheme, "http");
	ck_assert_str_eq(c->origins[0].host, "10.0.0.1");
	ck_assert_uint_eq(c->origins[0].port, 8080);
	ck_assert_str_eq(c->origins[0].authority, "10.0.0.1:8080");
	ck_assert_uint_eq(c->origins[0].weight, 1);
	ck_assert_str_eq(c->origins[1].scheme, "https");
	ck_assert_str_eq(c->origins[1].host, "o.example");
	ck_assert_uint_eq(c->origins[1].port, 443);
	ck_assert_str_eq(c->origins[1].authority, "o.example");
	ck_assert_uint_eq(c->origins[1].weight, 7);
	ck_assert_str_eq(c->origin_host, "www.example.com");
	ck_assert_uint_eq(c->memory_size, 1ull << 30);
	ck_assert_str_eq(c->disk_dir, "/var/cache/ec");
	ck_assert_uint_eq(c->disk_size, 4ull << 30);
	ck_assert_str_eq(c->disk_sync, "periodic");
	ck_assert_double_eq(c->disk_sync_interval, 5);
	ck_assert_uint_eq(c->disk_high_watermark, 90);
	ck_assert_uint_eq(c->disk_low_watermark, 60);
	ck_assert_double_eq(c->disk_batch_delay, 0.01);
	ck_assert_str_eq(c->admin, "off");
	ck_assert_str_eq(c->admin_token_file, "/etc/tok");
	ck_assert_str_eq(c->purge_allow, "127.0.0.1/32, ::1");
	ck_assert_uint_eq(c->workers, 3);
	ck_assert_str_eq(c->access_log, "-");
	ck_assert_str_eq(c->error_log, "/var/log/e.log");
	ck_assert_double_eq(c->drain_timeout, 0.25);
	ck_assert_uint_eq(c->max_request_line, 4096);
	ck_assert_uint_eq(c->max_head, 16384);
	ck_assert_uint_eq(c->max_fields, 50);
	ck_assert_uint_eq(c->max_body, 10ull << 20);
	ck_assert_double_eq(c->header_timeout, 2);
	ck_assert_double_eq(c->idle_timeout, 120);
	ck_assert_double_eq(c->send_timeout, 3600);
	ck_assert_uint_eq(c->max_conns, 1000);
	ck_assert_double_eq(c->connect_timeout, 1.5);
	ck_assert_double_eq(c->first_byte_timeout, 5);
	ck_assert_double_eq(c->between_bytes_timeout, 6);
	ck_assert_uint_eq(c->pool_max_idle, 0);
	ck_assert_double_eq(c->pool_idle_timeout, 7);
	ck_assert_uint_eq(c->pool_max_requests, 100);
	ck_assert_str_eq(c->via_name, "my-cdn");
	ck_assert(!c->xff);
	ck_assert_uint_eq(c->max_object_size, 1ull << 20);
	ck_assert_double_eq(c->default_ttl, 86400);
	ck_assert_double_eq(c->heuristic_max, 7200);
	ck_assert_str_eq(c->eviction, "lru");
	ck_assert(!c->key_scheme);
	ck_assert(!c->key_host);
	ck_assert_str_eq(c->key_query, "sort");
	ck_assert_str_eq(c->key_ignore_params, "utm_source,fbclid");
	ck_assert_str_eq(c->targeted, "CDN-Cache-Control");
	ck_assert_double_eq(c->lock_timeout, 3);
	ck_assert_double_eq(c->wait_timeout, 4);
	ck_assert_double_eq(c->grace, 60);
	ck_assert_double_eq(c->hit_for_miss_ttl, 30);
	ck_assert(c->learn_freshness);
	ck_assert_double_eq(c->learn_min, 5);
	ck_assert_double_eq(c->learn_max, 7200);
	ck_assert_uint_eq(c->refresh_ahead_pct, 10);
	ck_assert_uint_eq(c->refresh_ahead_hits, 3);
	ck_assert_double_eq(c->busy_poll, 0.05);
	ck_assert_str_eq(c->lb.algorithm, "p2c");
	ck_assert_uint_eq(c->lb.retries, 4);
	ck_assert_str_eq(c->lb.health_check, "http");
	ck_assert_str_eq(c->lb.health_path, "/healthz");
	ck_assert_uint_eq(c->lb.health_status, 204);
	ck_assert_double_eq(c->lb.health_interval, 3);
	ck_assert_double_eq(c->lb.health_timeout, 0.5);
	ck_assert_uint_eq(c->lb.health_rise, 4);
	ck_assert_uint_eq(c->lb.health_fall, 5);
	ck_assert_uint_eq(c->lb.fail_max, 6);
	ck_assert_double_eq(c->lb.fail_window, 20);
	ck_assert_double_eq(c->lb.fail_timeout, 7);
	ck_assert_uint_eq(c->ngroups, 1);
	ck_assert_str_eq(c->groups[0].name, "g");
	ck_assert(!c->lb.tls_verify);
	ck_assert_str_eq(c->lb.tls_ca, "/ca.pem");
	ck_assert_str_eq(c->lb.tls_sni, "o.example");
	ck_assert_str_eq(c->lb.tls_cert, "/c.pem");
	ck_assert_str_eq(c->lb.tls_key, "/k.pem");
	ck_assert_double_eq(c->dns_interval, 5);
	ck_assert_str_eq(c->dns_resolv_conf, "/r.conf");
	ck_assert_str_eq(c->lb.protocol, "h2c");
	ck_assert_uint_eq(c->h2_streams, 64);

	/* every key has its line */
	static const struct {
		const char *key;
		unsigned line;
	} lines[] = {{"listen", 1},
	             {"listen[1]", 1},
	             {"tls_listen", 2},
	             {"tls_listen[0]", 2},
	             {"certs", 3},
	             {"certs[0]", 4},
	             {"certs[0].cert", 4},
	             {"certs[0].key", 5},
	             {"origins[0]", 8},
	             {"origins[1]", 9},
	             {"origins[1].url", 9},
	             {"origins[1].weight", 9},
	             {"memory", 11},
	             {"limits.request_line", 20},
	             {"limits.max_connections", 27},
	             {"origin.pool_max_requests", 34},
	             {"forwarding.x_forwarded_for", 37},
	             {"cache.heuristic_max", 41},
	             {"cache.targeted", 47}};
	for (size_t i = 0; i < EC_ARRAY_LEN(lines); i++) {
		const struct ec_conf_source *s = ec_config_source(c, lines[i].key);
		ck_assert_msg(s != NULL, "no source for %s", lines[i].key);
		ck_assert_uint_eq(s->line, lines[i].line);
		ck_assert_ptr_null(s->flag);
	}
	ck_assert_ptr_null(ec_config_source(c, "origins[2]"));
	for (size_t i = 0; ec_config_key_name(i) != NULL; i++)
		ck_assert_msg(ec_config_source(c, ec_config_key_name(i)) != NULL, "%s not loaded",
		              ec_config_key_name(i));
}
END_TEST

/* ---- every scalar key via -p --------------------------------------------- */

START_TEST(test_p_every_key)
{
	struct ec_config *c = cfg;
	ck_assert_int_eq(ARGS("-p", "backlog=10", "-p", "origin_host=h:8080", "-p", "memory=2M",
	                      "-p", "disk=/d", "-p", "admin=[::1]:99", "-p", "admin_token_file=/t",
	                      "-p", "workers=2", "-p", "access_log=/a", "-p", "error_log=/e", "-p",
	                      "drain_timeout=1m", "-p", "limits.request_line=1K", "-p",
	                      "limits.header_block=2K", "-p", "limits.header_fields=9", "-p",
	                      "limits.body=3K", "-p", "limits.header_timeout=2s", "-p",
	                      "limits.idle_timeout=3s", "-p", "limits.send_timeout=4s", "-p",
	                      "limits.max_connections=5", "-p", "origin.connect_timeout=6s", "-p",
	                      "origin.first_byte_timeout=7s", "-p",
	                      "origin.between_bytes_timeout=8s", "-p", "origin.pool_max_idle=0",
	                      "-p", "origin.pool_idle_timeout=9s", "-p",
	                      "origin.pool_max_requests=10", "-p", "forwarding.via=v", "-p",
	                      "forwarding.x_forwarded_for=off", "-p", "cache.max_object_size=5M",
	                      "-p", "cache.default_ttl=30", "-p", "cache.heuristic_max=1h"),
	                 0);
	ck_assert_uint_eq(c->backlog, 10);
	ck_assert_str_eq(c->origin_host, "h:8080");
	ck_assert_uint_eq(c->memory_size, 2ull << 20);
	ck_assert_str_eq(c->disk_dir, "/d");
	ck_assert_uint_eq(c->disk_size, 1ull << 30);
	ck_assert_str_eq(c->admin, "[::1]:99");
	ck_assert_str_eq(c->admin_token_file, "/t");
	ck_assert_uint_eq(c->workers, 2);
	ck_assert_str_eq(c->access_log, "/a");
	ck_assert_str_eq(c->error_log, "/e");
	ck_assert_double_eq(c->drain_timeout, 60);
	ck_assert_uint_eq(c->max_request_line, 1024);
	ck_assert_uint_eq(c->max_head, 2048);
	ck_assert_uint_eq(c->max_fields, 9);
	ck_assert_uint_eq(c->max_body, 3072);
	ck_assert_double_eq(c->header_timeout, 2);
	ck_assert_double_eq(c->idle_timeout, 3);
	ck_assert_double_eq(c->send_timeout, 4);
	ck_assert_uint_eq(c->max_conns, 5);
	ck_assert_double_eq(c->connect_timeout, 6);
	ck_assert_double_eq(c->first_byte_timeout, 7);
	ck_assert_double_eq(c->between_bytes_timeout, 8);
	ck_assert_uint_eq(c->pool_max_idle, 0);
	ck_assert_double_eq(c->pool_idle_timeout, 9);
	ck_assert_uint_eq(c->pool_max_requests, 10);
	ck_assert_str_eq(c->via_name, "v");
	ck_assert(!c->xff);
	ck_assert_uint_eq(c->max_object_size, 5ull << 20);
	ck_assert_double_eq(c->default_ttl, 30);
	ck_assert_double_eq(c->heuristic_max, 3600);
	const struct ec_conf_source *s = ec_config_source(c, "limits.body");
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s->flag, "-p");
	ck_assert_uint_eq(s->line, 0);

	/* every key is known to -p (the lists are refused as lists) */
	for (size_t i = 0; ec_config_key_name(i) != NULL; i++) {
		const char *k = ec_config_key_name(i);
		err[0] = '\0';
		(void)ec_config_set(c, k, "!", err, sizeof(err));
		ck_assert_msg(strstr(err, "unknown key") == NULL, "%s: %s", k, err);
	}
	ck_assert_int_eq(ec_config_set(c, "listen", "1.2.3.4:5", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "listen: a list: use -l");
	ck_assert_int_eq(ec_config_set(c, "certs", "a,b", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "certs: a list: use --cert");
	ck_assert_int_eq(ec_config_set(c, "limits", "1", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "limits: a section, not a value: set one of its keys (limits.KEY)");
	ck_assert_int_eq(ec_config_set(c, "forwarding.via", "a b", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "forwarding.via: 'a b' is not an HTTP token (letters, digits, "
	                      "!#$%&'*+-.^_`|~)");
	ck_assert_int_eq(ec_config_set(c, "origin_host", "a/b", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "origin_host: 'a/b' is not a host[:port]");
	ck_assert_int_eq(ec_config_set(c, "error_log", "a\nb", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "error_log: control characters are not allowed");
	ck_assert_int_eq(ec_config_set(c, "forwarding.x_forwarded_for", "YES", err, sizeof(err)),
	                 0);
	ck_assert(c->xff);
}
END_TEST

/* ---- sizes and durations ------------------------------------------------- */

START_TEST(test_sizes)
{
	static const struct {
		const char *s;
		uint64_t v;
	} ok[] = {{"0", 0},
	          {"1024", 1024},
	          {"8K", 8192},
	          {"8k", 8192},
	          {"256M", 256ull << 20},
	          {"4G", 4ull << 30},
	          {"2t", 2ull << 40},
	          {"18446744073709551615", UINT64_MAX},
	          {"16777215T", 16777215ull << 40}};
	static const char *const bad[] = {
	        "",          "abc",  "K",   "1.5M", "-1",
	        "1KB",       " 1",   "1 K", "1M ",  "18446744073709551616",
	        "16777216T", "0x10", "1P"};
	for (size_t i = 0; i < EC_ARRAY_LEN(ok); i++) {
		uint64_t v = 1;
		ck_assert_msg(ec_config_parse_size(ok[i].s, &v), "%s", ok[i].s);
		ck_assert_uint_eq(v, ok[i].v);
	}
	for (size_t i = 0; i < EC_ARRAY_LEN(bad); i++) {
		uint64_t v = 77;
		ck_assert_msg(!ec_config_parse_size(bad[i], &v), "'%s' accepted", bad[i]);
		ck_assert_uint_eq(v, 77);
	}
	LOAD_ERR("# sizes\n"
	         "limits:\n"
	         "  body: 12X\n",
	         "t.yaml:3: limits.body: invalid size '12X' (use 256M, 4G...)");
	LOAD_ERR("memory: 1.5G\n", "t.yaml:1: memory: invalid size '1.5G' (use 256M, 4G...)");
	LOAD_ERR("memory:\n", "t.yaml:1: memory: missing value (expected a size)");
	ARGS_ERR("-m: invalid size 'abc' (use 256M, 4G...)", "-m", "abc");
	ARGS_ERR("--memory: invalid size '' (use 256M, 4G...)", "--memory", "");
	ARGS_ERR("-p: limits.request_line: invalid size '8Q' (use 256M, 4G...)", "-p",
	         "limits.request_line=8Q");
}
END_TEST

START_TEST(test_durations)
{
	static const struct {
		const char *s;
		double v;
	} ok[] = {{"250ms", 0.25},
	          {"10s", 10},
	          {"2m", 120},
	          {"1h", 3600},
	          {"1d", 86400},
	          {"5", 5},
	          {"1.5", 1.5},
	          {"0", 0},
	          {"0.5s", 0.5},
	          {"1000000000", 1e9},
	          {"11574d", 11574.0 * 86400}};
	static const char *const bad[] = {"",
	                                  "s",
	                                  "10x",
	                                  "-1",
	                                  "1.",
	                                  ".5",
	                                  "1e3",
	                                  "10 s",
	                                  "1S",
	                                  "1w",
	                                  "inf",
	                                  "nan",
	                                  "10sec",
	                                  "0x10",
	                                  "1000000001",
	                                  "11575d",
	                                  "9999999999999999"};
	for (size_t i = 0; i < EC_ARRAY_LEN(ok); i++) {
		double v = -1;
		ck_assert_msg(ec_config_parse_duration(ok[i].s, &v), "%s", ok[i].s);
		ck_assert_double_eq_tol(v, ok[i].v, 1e-9);
	}
	for (size_t i = 0; i < EC_ARRAY_LEN(bad); i++) {
		double v = 77;
		ck_assert_msg(!ec_config_parse_duration(bad[i], &v), "'%s' accepted", bad[i]);
		ck_assert_double_eq(v, 77);
	}
	LOAD_ERR("\n"
	         "origin:\n"
	         "  connect_timeout: 3 s\n",
	         "t.yaml:3: origin.connect_timeout: invalid duration '3 s' (use 250ms, 10s, 2m, "
	         "1h, 1d)");
	LOAD_ERR("drain_timeout: -1\n",
	         "t.yaml:1: drain_timeout: invalid duration '-1' (use 250ms, 10s, 2m, 1h, 1d)");
	ARGS_ERR("-p: limits.idle_timeout: invalid duration 'soon' (use 250ms, 10s, 2m, 1h, 1d)",
	         "-p", "limits.idle_timeout=soon");
}
END_TEST

START_TEST(test_numbers_and_bools)
{
	LOAD_ERR("workers: -1\n", "t.yaml:1: workers: expected a whole number, got '-1'");
	LOAD_ERR("workers: 257\n", "t.yaml:1: workers: must be between 0 and 256 (got 257)");
	LOAD_ERR("backlog: 0\n", "t.yaml:1: backlog: must be between 1 and 2147483647 (got 0)");
	LOAD_ERR("limits:\n"
	         "  header_fields: 10001\n",
	         "t.yaml:2: limits.header_fields: must be between 1 and 10000 (got 10001)");
	LOAD_ERR("limits: {max_connections: 99999999999}\n",
	         "t.yaml:1: limits.max_connections: must be between 0 and 4294967295 (got "
	         "99999999999)");
	LOAD_ERR("forwarding:\n"
	         "\n"
	         "  x_forwarded_for: maybe\n",
	         "t.yaml:3: forwarding.x_forwarded_for: expected true or false, got 'maybe'");
	LOAD_OK("forwarding: {x_forwarded_for: no}\n");
	ck_assert(!cfg->xff);
	LOAD_OK("forwarding: {x_forwarded_for: 'True'}\n");
	ck_assert(cfg->xff);
	ARGS_ERR("-w: must be between 0 and 256 (got 1000)", "-w", "1000");
	ARGS_ERR("--workers: expected a whole number, got '2x'", "--workers", "2x");
}
END_TEST

/* ---- errors: unknown, duplicate, types, syntax --------------------------- */

START_TEST(test_unknown_keys)
{
	LOAD_ERR("memory: 1M\n"
	         "limits:\n"
	         "  request_line: 1K\n"
	         "  header_timout: 5s\n",
	         "t.yaml:4: limits.header_timout: unknown key (did you mean 'header_timeout'?)");
	LOAD_ERR("lisen: 127.0.0.1:80\n", "t.yaml:1: lisen: unknown key (did you mean 'listen'?)");
	LOAD_ERR("\n"
	         "header_timeout: 1s\n",
	         "t.yaml:2: header_timeout: unknown key (did you mean 'limits.header_timeout'?)");
	LOAD_ERR("colour: blue\n", "t.yaml:1: colour: unknown key");
	LOAD_ERR("cache:\n"
	         "  max_objetc_size: 1M\n",
	         "t.yaml:2: cache.max_objetc_size: unknown key (did you mean 'max_object_size'?)");
	LOAD_ERR("origins:\n"
	         "  - http://a\n"
	         "  - {url: http://b, wieght: 2}\n",
	         "t.yaml:3: origins[1].wieght: unknown key (did you mean 'weight'?)");
	LOAD_ERR("certs:\n"
	         "  - {cert: /a, kye: /b}\n",
	         "t.yaml:2: certs[0].kye: unknown key (did you mean 'key'?)");
	ARGS_ERR("-p: limits.header_timout: unknown key (did you mean 'limits.header_timeout'?)",
	         "-p", "limits.header_timout=2s");
	ARGS_ERR("-p: header_timeout: unknown key (did you mean 'limits.header_timeout'?)", "-p",
	         "header_timeout=2s");
	ARGS_ERR("-p: nothing: unknown key", "-p", "nothing=1");
}
END_TEST

START_TEST(test_duplicate_keys)
{
	LOAD_ERR("memory: 1M\n"
	         "backlog: 5\n"
	         "memory: 2M\n",
	         "t.yaml:3: memory: duplicate key (first at line 1)");
	LOAD_ERR("limits:\n"
	         "  body: 1K\n"
	         "  header_fields: 5\n"
	         "  body: 2K\n",
	         "t.yaml:4: limits.body: duplicate key (first at line 2)");
	LOAD_ERR("origins:\n"
	         "  - {url: http://a, url: http://b}\n",
	         "t.yaml:2: origins[0].url: duplicate key (first at line 2)");
}
END_TEST

START_TEST(test_wrong_types)
{
	LOAD_ERR("memory: [1, 2]\n", "t.yaml:1: memory: expected a size, found a list");
	LOAD_ERR("admin: {a: 1}\n", "t.yaml:1: admin: expected an address, found a mapping");
	LOAD_ERR("limits: 5\n", "t.yaml:1: limits: expected a mapping of keys, found a string");
	LOAD_ERR("listen: {a: b}\n",
	         "t.yaml:1: listen: expected a list or a string, found a mapping");
	LOAD_ERR("certs: /a.pem\n",
	         "t.yaml:1: certs[0]: expected a mapping {cert: FILE, key: FILE}, found a string");
	LOAD_ERR("listen:\n"
	         "  - 127.0.0.1:80\n"
	         "  - [1, 2]\n",
	         "t.yaml:3: listen[1]: expected ADDR:PORT, found a list");
	LOAD_ERR("origins:\n"
	         "  - [http://a]\n",
	         "t.yaml:2: origins[0]: expected a URL or a mapping {url: URL, weight: N}, found a "
	         "list");
	LOAD_ERR("origins: [{weight: 2}]\n", "t.yaml:1: origins[0]: missing key 'url'");
	LOAD_ERR("origins: [{url: http://a, weight: many}]\n",
	         "t.yaml:1: origins[0].weight: expected a whole number, got 'many'");
	LOAD_ERR("certs:\n"
	         "  - cert: /a\n",
	         "t.yaml:2: certs[0]: missing key 'key'");
	LOAD_ERR("forwarding:\n"
	         "  via: [a]\n",
	         "t.yaml:2: forwarding.via: expected a string, found a list");
	LOAD_ERR("- a\n"
	         "- b\n",
	         "t.yaml:1: expected a mapping of keys at the top level, found a list");
	LOAD_ERR("just text\n", "t.yaml:1: expected a mapping of keys at the top level, found a "
	                        "string");
	LOAD_ERR("? [a]\n"
	         ": b\n",
	         "t.yaml:1: keys must be plain strings, found a list");
	LOAD_ERR("forwarding:\n"
	         "  via: \"a\\0b\"\n",
	         "t.yaml:2: forwarding.via: NUL bytes are not allowed");
}
END_TEST

START_TEST(test_nulls_and_empty)
{
	LOAD_OK("");
	LOAD_OK("# only a comment\n");
	LOAD_OK("---\n...\n");
	LOAD_OK("~\n");
	LOAD_OK("listen: [127.0.0.1:1]\n"
	        "tls_listen:\n"
	        "origin_host:\n"
	        "limits:\n"
	        "cache: ~\n");
	ck_assert_uint_eq(cfg->nlisten, 1);
	ck_assert_uint_eq(cfg->ntls_listen, 0);
	ck_assert_str_eq(cfg->origin_host, "");
	ck_assert_uint_eq(cfg->max_head, 32768);
	LOAD_OK("listen:\n");
	ck_assert_uint_eq(cfg->nlisten, 0);
	LOAD_ERR("listen: [~]\n", "t.yaml:1: listen[0]: missing value (expected ADDR:PORT)");
	LOAD_ERR("admin:\n", "t.yaml:1: admin: missing value (expected an address)");
}
END_TEST

START_TEST(test_syntax_errors)
{
	/* " bad" is neither in limits (indent 2) nor at the top (indent 0) */
	LOAD_ERR("memory: 1M\n"
	         "limits:\n"
	         "  body: 1K\n"
	         " bad: 2\n",
	         "t.yaml:4: syntax error: did not find expected key (while parsing a block "
	         "mapping at line 1)");
	LOAD_ERR("memory: 1M\n"
	         "admin: a: b\n",
	         "t.yaml:2: syntax error: mapping values are not allowed in this context");
	LOAD_ERR("listen: [127.0.0.1:80\n"
	         "memory: 1M\n",
	         "t.yaml:2: syntax error: did not find expected ',' or ']' (while parsing a flow "
	         "sequence at line 1)");
	LOAD_ERR("memory: 1M\n"
	         "via: \"abc\n",
	         "t.yaml:3: syntax error: found unexpected end of stream (while scanning a quoted "
	         "scalar at line 2)");
	LOAD_ERR("memory: 1M\n"
	         "\tbacklog: 1\n",
	         "t.yaml:2: syntax error: found a tab character that violates indentation "
	         "(while scanning a plain scalar at line 1)");
	LOAD_ERR("memory: 1M\n"
	         "---\n"
	         "memory: 2M\n",
	         "t.yaml:2: only one YAML document is allowed");
	LOAD_ERR("memory: &m 1M\n"
	         "disk: *m\n",
	         "t.yaml:2: YAML aliases (*m) are not supported");
	/* invalid UTF-8: libyaml's reader error, line from the byte offset */
	LOAD_ERR("memory: 1M\n"
	         "backlog: 1\n"
	         "via: \xff\n",
	         "t.yaml:3: syntax error: invalid leading UTF-8 octet");
	/* deep nesting is refused before libyaml's quadratic composer sees it */
	char deep[20001];
	memset(deep, '[', 10000);
	memset(deep + 10000, ']', 10000);
	deep[20000] = '\0';
	LOAD_ERR(deep, "t.yaml:1: nested deeper than 16 levels");
}
END_TEST

/* ---- origins and listeners ----------------------------------------------- */

START_TEST(test_origins)
{
	static const struct {
		const char *url, *scheme, *host, *authority;
		unsigned port;
	} ok[] = {
	        {"http://[::1]:8080", "http", "::1", "[::1]:8080", 8080},
	        {"http://[2001:db8::1]", "http", "2001:db8::1", "[2001:db8::1]", 80},
	        {"http://[2001:db8::1]:80/", "http", "2001:db8::1", "[2001:db8::1]", 80},
	        {"https://example.com", "https", "example.com", "example.com", 443},
	        {"https://example.com:443/", "https", "example.com", "example.com", 443},
	        {"https://example.com:80", "https", "example.com", "example.com:80", 80},
	        {"HTTP://Example.COM:8080", "http", "Example.COM", "Example.COM:8080", 8080},
	        {"http://10.0.0.1:80", "http", "10.0.0.1", "10.0.0.1", 80},
	        {"http://origin_1.internal:65535", "http", "origin_1.internal",
	         "origin_1.internal:65535", 65535},
	};
	for (size_t i = 0; i < EC_ARRAY_LEN(ok); i++) {
		struct ec_conf_origin o;
		ck_assert_msg(ec_config_parse_origin(ok[i].url, &o, err, sizeof(err)), "%s: %s",
		              ok[i].url, err);
		ck_assert_str_eq(o.url, ok[i].url);
		ck_assert_str_eq(o.scheme, ok[i].scheme);
		ck_assert_str_eq(o.host, ok[i].host);
		ck_assert_str_eq(o.authority, ok[i].authority);
		ck_assert_uint_eq(o.port, ok[i].port);
		ck_assert_uint_eq(o.weight, 1);
	}
	static const struct {
		const char *url, *msg;
	} bad[] = {
	        {"http://a.example/api",
	         "a path is not allowed in an origin URL ('/api' in 'http://a.example/api'): the "
	         "client's path is forwarded as is"},
	        {"http://a.example?x=1",
	         "a path is not allowed in an origin URL ('?x=1' in "
	         "'http://a.example?x=1'): the client's path is forwarded as "
	         "is"},
	        {"ftp://a.example",
	         "unsupported scheme in 'ftp://a.example' (use http:// or https://)"},
	        {"a.example:80", "'a.example:80' is not a URL (use http://HOST[:PORT])"},
	        {"http://", "missing host in 'http://'"},
	        {"http://:80", "missing host in 'http://:80'"},
	        {"http://a:0", "invalid port '0' in 'http://a:0' (1 to 65535)"},
	        {"http://a:65536", "invalid port '65536' in 'http://a:65536' (1 to 65535)"},
	        {"http://a:", "invalid port '' in 'http://a:' (1 to 65535)"},
	        {"http://user:pw@a",
	         "credentials in an origin URL are not supported ('http://user:pw@a')"},
	        {"http://::1:80",
	         "IPv6 addresses need brackets in a URL (http://[ADDR]:PORT), not 'http://::1:80'"},
	        {"http://[::1", "missing ']' in 'http://[::1'"},
	        {"http://[nope]:80", "'nope' is not an IPv6 address in 'http://[nope]:80'"},
	        {"http://[::1]x", "unexpected text after ']' in 'http://[::1]x'"},
	        {"http://300.1.1.1", "'300.1.1.1' is not a valid IPv4 address"},
	        {"http://a b", "invalid character in the host of 'http://a b'"},
	};
	for (size_t i = 0; i < EC_ARRAY_LEN(bad); i++) {
		struct ec_conf_origin o;
		ck_assert_msg(!ec_config_parse_origin(bad[i].url, &o, err, sizeof(err)), "%s",
		              bad[i].url);
		ck_assert_str_eq(err, bad[i].msg);
	}

	LOAD_OK("origins: http://[::1]:9000\n");
	ck_assert_uint_eq(cfg->norigins, 1);
	ck_assert_str_eq(cfg->origins[0].authority, "[::1]:9000");
	LOAD_OK("origins: {url: 'http://b', weight: 1000}\n");
	ck_assert_uint_eq(cfg->norigins, 1);
	ck_assert_uint_eq(cfg->origins[0].weight, 1000);
	LOAD_ERR("origins:\n"
	         "  - http://a\n"
	         "  - url: http://b\n"
	         "    weight: 0\n",
	         "t.yaml:4: origins[1].weight: must be between 1 and 1000 (got 0)");
	LOAD_ERR("origins:\n"
	         "  - http://a\n"
	         "  - http://b/x\n",
	         "t.yaml:3: origins[1]: a path is not allowed in an origin URL ('/x' in "
	         "'http://b/x'): the client's path is forwarded as is");
	LOAD_ERR("origins:\n"
	         "  - url: http://b/x\n",
	         "t.yaml:2: origins[0].url: a path is not allowed in an origin URL ('/x' in "
	         "'http://b/x'): the client's path is forwarded as is");
	LOAD_ERR("origins: http://b/x\n", "t.yaml:1: origins: a path is not allowed in an origin "
	                                  "URL ('/x' in 'http://b/x'): the client's path is "
	                                  "forwarded as is");
	ARGS_ERR("-o: unsupported scheme in 'gopher://x' (use http:// or https://)", "-o",
	         "gopher://x");
}
END_TEST

START_TEST(test_listen)
{
	static const struct {
		const char *s, *host;
		unsigned port;
	} ok[] = {{"[::1]:80", "::1", 80},
	          {"127.0.0.1:0", "127.0.0.1", 0},
	          {"0.0.0.0:8080", "0.0.0.0", 8080},
	          {"[::]:65535", "::", 65535},
	          {"[fe80::1:2:3:4]:1", "fe80::1:2:3:4", 1}};
	for (size_t i = 0; i < EC_ARRAY_LEN(ok); i++) {
		struct ec_conf_listen l;
		ck_assert_msg(ec_config_parse_listen(ok[i].s, &l), "%s", ok[i].s);
		ck_assert_str_eq(l.host, ok[i].host);
		ck_assert_uint_eq(l.port, ok[i].port);
		ck_assert_str_eq(l.text, ok[i].s);
	}
	static const char *const bad[] = {"127.0.0.1",  "[::1]",    "localhost:80",  "::1:80",
	                                  ":80",        "1.2.3.4:", "1.2.3.4:99999", "1.2.3.4:x",
	                                  "[::1:80",    "[::1]80",  "1.2.3:80",      "",
	                                  "1.2.3.4:+80"};
	for (size_t i = 0; i < EC_ARRAY_LEN(bad); i++) {
		struct ec_conf_listen l;
		ck_assert_msg(!ec_config_parse_listen(bad[i], &l), "'%s' accepted", bad[i]);
	}
	LOAD_ERR("listen: 127.0.0.1\n", "t.yaml:1: listen: missing port in '127.0.0.1' (use "
	                                "ADDR:PORT, e.g. 127.0.0.1:8080)");
	LOAD_ERR("listen:\n"
	         "  - 127.0.0.1:80\n"
	         "  - '[::1]'\n",
	         "t.yaml:3: listen[1]: missing port in '[::1]' (use ADDR:PORT, e.g. [::1]:8080)");
	LOAD_ERR(
	        "tls_listen: [localhost:443]\n",
	        "t.yaml:1: tls_listen[0]: 'localhost' is not a numeric IPv4 address (names are not "
	        "resolved)");
	LOAD_ERR("listen: ['::1:80']\n",
	         "t.yaml:1: listen[0]: IPv6 addresses need brackets: '[ADDR]:PORT', not '::1:80'");
	LOAD_ERR("listen: ['1.2.3.4:99999']\n",
	         "t.yaml:1: listen[0]: invalid port '99999' in '1.2.3.4:99999' (0 to 65535)");
	LOAD_ERR("listen: [':80']\n", "t.yaml:1: listen[0]: missing address in ':80' (use "
	                              "0.0.0.0:PORT or [::]:PORT for all)");
	/* 17 listeners: one too many */
	char y[1024] = "listen:\n";
	for (int i = 0; i < 17; i++)
		snprintf(y + strlen(y), sizeof(y) - strlen(y), "  - 127.0.0.1:%d\n", 1000 + i);
	LOAD_ERR(y, "t.yaml:18: listen: too many entries (at most 16)");
	ARGS_ERR("-l: missing port in '1.2.3.4' (use ADDR:PORT, e.g. 127.0.0.1:8080)", "-l",
	         "1.2.3.4");
}
END_TEST

START_TEST(test_disk_admin_certs)
{
	LOAD_OK("disk: /var/cache/ec\n");
	ck_assert_str_eq(cfg->disk_dir, "/var/cache/ec");
	ck_assert_uint_eq(cfg->disk_size, 1ull << 30);
	LOAD_OK("disk: 'rel/dir:512M'\n");
	ck_assert_str_eq(cfg->disk_dir, "rel/dir");
	ck_assert_uint_eq(cfg->disk_size, 512ull << 20);
	LOAD_OK("disk: ''\n");
	ck_assert_str_eq(cfg->disk_dir, "");
	LOAD_ERR("disk: /x:abc\n", "t.yaml:1: disk: invalid size 'abc' in '/x:abc' (use DIR or "
	                           "DIR:SIZE, e.g. /var/cache/edgecache:4G)");
	LOAD_ERR("disk: /x:0\n", "t.yaml:1: disk: invalid size '0' in '/x:0' (use DIR or "
	                         "DIR:SIZE, e.g. /var/cache/edgecache:4G)");
	LOAD_ERR("disk: ':4G'\n",
	         "t.yaml:1: disk: missing directory in ':4G' (use DIR or DIR:SIZE)");
	ck_assert_int_eq(ARGS("-d", "/srv/ec:2G"), 0);
	ck_assert_str_eq(cfg->disk_dir, "/srv/ec");
	ck_assert_uint_eq(cfg->disk_size, 2ull << 30);

	LOAD_OK("admin: /run/edgecache/admin.sock\n");
	ck_assert_str_eq(cfg->admin, "/run/edgecache/admin.sock");
	LOAD_OK("admin: '[::1]:9091'\n");
	ck_assert_str_eq(cfg->admin, "[::1]:9091");
	LOAD_ERR("admin: localhost\n", "t.yaml:1: admin: missing port in 'localhost' (use "
	                               "ADDR:PORT, e.g. 127.0.0.1:8080); use ADDR:PORT, off, or "
	                               "/path/to/socket");
	ARGS_ERR("--admin: unix socket path too long (at most 107 bytes)", "--admin",
	         "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");

	ck_assert_int_eq(ARGS("--cert", "/a.pem,/a.key", "--cert", "/b,c.pem,/b.key"), 0);
	ck_assert_uint_eq(cfg->ncerts, 2);
	ck_assert_str_eq(cfg->certs[0].cert, "/a.pem");
	ck_assert_str_eq(cfg->certs[0].key, "/a.key");
	ck_assert_str_eq(cfg->certs[1].cert, "/b,c.pem");
	ck_assert_str_eq(cfg->certs[1].key, "/b.key");
	ARGS_ERR("--cert: expected CERT.pem,KEY.pem, got 'only.pem'", "--cert", "only.pem");
	ARGS_ERR("--cert: expected CERT.pem,KEY.pem, got 'a,'", "--cert", "a,");
}
END_TEST

/* ---- the command line ---------------------------------------------------- */

START_TEST(test_flags_override_file)
{
	const char *f = write_file("a.yaml", "listen: ['127.0.0.1:1', '127.0.0.1:2']\n"
	                                     "origins: [http://a, http://b]\n"
	                                     "memory: 1G\n"
	                                     "workers: 4\n"
	                                     "tls_listen: [127.0.0.1:3]\n");
	/* -c anywhere is read first; flags apply in order over it */
	ck_assert_int_eq(
	        ARGS("-m", "2G", "-l", "127.0.0.1:81", "-m", "3G", "-l", "[::1]:82", "-c", f), 0);
	ck_assert_str_eq(cfg->path, f);
	ck_assert_uint_eq(cfg->memory_size, 3ull << 30);
	ck_assert_uint_eq(cfg->workers, 4);
	ck_assert_uint_eq(cfg->nlisten, 2);
	ck_assert_str_eq(cfg->listen[0].text, "127.0.0.1:81");
	ck_assert_str_eq(cfg->listen[1].text, "[::1]:82");
	ck_assert_uint_eq(cfg->norigins, 2); /* untouched by flags */
	ck_assert_uint_eq(cfg->ntls_listen, 1);
	ck_assert_int_eq(cfg->action, EC_CONFIG_RUN);
	const struct ec_conf_source *s = ec_config_source(cfg, "listen[1]");
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s->flag, "-l");
	s = ec_config_source(cfg, "workers");
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_null(s->flag);
	ck_assert_uint_eq(s->line, 4);
	s = ec_config_source(cfg, "memory");
	ck_assert_str_eq(s->flag, "-m");

	/* -o replaces the file's origins, long options too */
	ec_config_defaults(cfg);
	ck_assert_int_eq(ARGS("-c", f, "--origin", "http://c:81", "-o", "http://d", "--tls-listen",
	                      "127.0.0.1:4", "--listen", "127.0.0.1:5", "--admin", "off",
	                      "--admin-token-file", "/tok", "--access-log", "-", "--workers", "8",
	                      "--disk", "/d:3G", "--memory", "5M", "--param", "backlog=7"),
	                 0);
	ck_assert_uint_eq(cfg->norigins, 2);
	ck_assert_str_eq(cfg->origins[0].authority, "c:81");
	ck_assert_str_eq(cfg->origins[1].authority, "d");
	ck_assert_uint_eq(cfg->ntls_listen, 1);
	ck_assert_uint_eq(cfg->tls_listen[0].port, 4);
	ck_assert_uint_eq(cfg->nlisten, 1);
	ck_assert_str_eq(cfg->admin, "off");
	ck_assert_str_eq(cfg->admin_token_file, "/tok");
	ck_assert_str_eq(cfg->access_log, "-");
	ck_assert_uint_eq(cfg->workers, 8);
	ck_assert_uint_eq(cfg->disk_size, 3ull << 30);
	ck_assert_uint_eq(cfg->memory_size, 5ull << 20);
	ck_assert_uint_eq(cfg->backlog, 7);
	ck_assert_ptr_null(ec_config_source(cfg, "origins[2]"));

	/* without flags, the file's lists stay */
	ec_config_defaults(cfg);
	ck_assert_int_eq(ARGS("-c", f), 0);
	ck_assert_uint_eq(cfg->nlisten, 2);
	ck_assert_uint_eq(cfg->norigins, 2);
}
END_TEST

START_TEST(test_command_line_actions)
{
	bool check = false;
	ck_assert_int_eq(run_args(&check, "-o", "http://a", "--check", (char *)NULL), 0);
	ck_assert(check);
	ck_assert_int_eq(cfg->action, EC_CONFIG_CHECK);
	ck_assert_int_eq(run_args(&check, "-o", "http://a", (char *)NULL), 0);
	ck_assert(!check);
	ck_assert_int_eq(cfg->action, EC_CONFIG_RUN);
	/* -h and -V read no file and apply no flag */
	ck_assert_int_eq(ARGS("-c", "/nonexistent/x.yaml", "-m", "bad", "-h"), 0);
	ck_assert_int_eq(cfg->action, EC_CONFIG_HELP);
	ck_assert_uint_eq(cfg->memory_size, 256ull << 20);
	ck_assert_int_eq(ARGS("--help"), 0);
	ck_assert_int_eq(cfg->action, EC_CONFIG_HELP);
	ck_assert_int_eq(ARGS("-V"), 0);
	ck_assert_int_eq(cfg->action, EC_CONFIG_VERSION);
	ck_assert_int_eq(ARGS("--version", "--help"), 0);
	ck_assert_int_eq(cfg->action, EC_CONFIG_HELP);
	ck_assert_int_eq(run_args(NULL, (char *)NULL), 0);
	ck_assert_int_eq(cfg->action, EC_CONFIG_RUN);
}
END_TEST

START_TEST(test_command_line_errors)
{
	ARGS_ERR("unknown option '--bogus' (see --help)", "--bogus");
	ARGS_ERR("unknown option '-x' (see --help)", "-x");
	ARGS_ERR("-m: needs an argument (SIZE)", "-m");
	ARGS_ERR("--cert: needs an argument (CERT.pem,KEY.pem)", "--cert");
	ARGS_ERR("unexpected argument 'extra' (see --help)", "-m", "1M", "extra");
	ARGS_ERR("-c: only one config file may be given", "-c", "a", "-c", "b");
	ARGS_ERR("/nonexistent/x.yaml: cannot open: No such file or directory", "-c",
	         "/nonexistent/x.yaml");
	ARGS_ERR("-p: expected KEY=VALUE, got 'memory'", "-p", "memory");
	ARGS_ERR("-p: expected KEY=VALUE, got '=1'", "-p", "=1");
	ARGS_ERR("-p: listen: a list: use -l", "-p", "listen=127.0.0.1:80");
	ARGS_ERR("-p: origins: a list: use -o", "-p", "origins=http://a");
	ARGS_ERR("-p: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: "
	         "unknown key",
	         "-p", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=1");
	char *many[40];
	int n = 0;
	many[n++] = (char *)"edgecache";
	for (int i = 0; i < 17; i++) {
		many[n++] = (char *)"-o";
		many[n++] = (char *)"http://a";
	}
	many[n++] = (char *)"-l";
	many[n] = NULL;
	ck_assert_int_eq(ec_config_from_args(cfg, n, many, NULL, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "-l: needs an argument (ADDR:PORT)");
	static char ls[17][24];
	n = 1;
	for (int i = 0; i < 17; i++) {
		snprintf(ls[i], sizeof(ls[i]), "127.0.0.1:%d", 100 + i);
		many[n++] = (char *)"-l";
		many[n++] = ls[i];
	}
	many[n] = NULL;
	ck_assert_int_eq(ec_config_from_args(cfg, n, many, NULL, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "-l: too many entries (at most 16)");
	const char *f = write_file("bad.yaml", "memory: 1M\n"
	                                       "limits:\n"
	                                       "  body: lots\n");
	char want[600];
	snprintf(want, sizeof(want), "%s:3: limits.body: invalid size 'lots' (use 256M, 4G...)", f);
	ARGS_ERR(want, "-c", f);
	/* a repeat of the same call works (getopt is reset) */
	ARGS_ERR(want, "-c", f);
	const char *d = write_file("dir.yaml", "");
	char dir[300];
	snprintf(dir, sizeof(dir), "%s", d);
	*strrchr(dir, '/') = '\0';
	snprintf(want, sizeof(want), "%s: not a regular file", dir);
	ARGS_ERR(want, "-c", dir);
}
END_TEST

START_TEST(test_usage)
{
	const char *u = ec_config_usage();
	ck_assert_ptr_eq(u, ec_config_usage());
	static const char *const opts[] = {"-c, --config FILE",
	                                   "-l, --listen ADDR:PORT",
	                                   "-o, --origin URL",
	                                   "-m, --memory SIZE",
	                                   "-d, --disk DIR[:SIZE]",
	                                   "--tls-listen ADDR:PORT",
	                                   "--cert CERT.pem,KEY.pem",
	                                   "--admin ADDR:PORT|off|PATH",
	                                   "--admin-token-file FILE",
	                                   "-w, --workers N",
	                                   "--access-log FILE|-",
	                                   "-p, --param KEY=VALUE",
	                                   "--check",
	                                   "-h, --help",
	                                   "-V, --version"};
	for (size_t i = 0; i < EC_ARRAY_LEN(opts); i++)
		ck_assert_msg(strstr(u, opts[i]) != NULL, "usage lacks %s", opts[i]);
	for (size_t i = 0; ec_config_key_name(i) != NULL; i++) {
		char line[80];
		snprintf(line, sizeof(line), "\n  %s ", ec_config_key_name(i));
		ck_assert_msg(strstr(u, line) != NULL, "usage lacks key %s", ec_config_key_name(i));
	}
	ck_assert(
	        strstr(u,
	               "\n  limits.header_timeout        10s             time to receive a request "
	               "head (408)\n") != NULL);
	ck_assert(strstr(u, "\n  origins                      -               backends: ") != NULL);
	ck_assert(strstr(u, "\n  disk                         \"\"              LMDB tier") !=
	          NULL);
	/* 100 columns at most */
	for (const char *p = u, *nl; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		ck_assert_ptr_nonnull(nl);
		ck_assert_msg(nl - p <= 100, "usage line too long: %.*s", (int)(nl - p), p);
	}
}
END_TEST

/* ---- ec_config_finish ---------------------------------------------------- */

START_TEST(test_finish_resolves)
{
	FINISH_ERR("no origin: give -o URL or origins: in the config");
	ck_assert_int_eq(ARGS("-o", "http://127.0.0.1:9000"), 0);
	ck_assert_int_eq(finish(), 0);
	ck_assert_uint_eq(cfg->nlisten, 1);
	ck_assert_str_eq(cfg->listen[0].text, "127.0.0.1:8080");
	ck_assert_uint_eq(cfg->listen[0].port, 8080);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	ck_assert_uint_eq(cfg->workers, n < 1 ? 1 : n > 256 ? 256 : (unsigned)n);

	/* explicit workers stay; a TLS-only config gets no plain listener */
	ec_config_defaults(cfg);
	const char *cert = write_file("c.pem", "cert");
	const char *key = write_file("k.pem", "key");
	char pair[700];
	snprintf(pair, sizeof(pair), "%s,%s", cert, key);
	ck_assert_int_eq(
	        ARGS("-o", "http://a", "-w", "3", "--tls-listen", "[::1]:0", "--cert", pair), 0);
	ck_assert_int_eq(finish(), 0);
	ck_assert_uint_eq(cfg->workers, 3);
	ck_assert_uint_eq(cfg->nlisten, 0);
	ck_assert_uint_eq(cfg->ntls_listen, 1);
}
END_TEST

START_TEST(test_finish_disk)
{
	LOAD_OK("origins: [http://a]\n"
	        "disk_sync: sometimes\n");
	FINISH_ERR("t.yaml:2: disk_sync: must be commit or periodic (got 'sometimes')");
	ec_config_defaults(cfg);
	LOAD_OK("origins: [http://a]\n"
	        "disk_high_watermark: 70\n"
	        "disk_low_watermark: 70\n");
	FINISH_ERR("t.yaml:3: disk_low_watermark: must be below disk_high_watermark (70%, got 70%)");
	ec_config_defaults(cfg);
	LOAD_OK("origins: [http://a]\n"
	        "disk: /x:512K\n");
	FINISH_ERR("t.yaml:2: disk: size must be at least 1M");
	ec_config_defaults(cfg);
	LOAD_OK("origins: [http://a]\n"
	        "disk_sync_interval: 0\n");
	FINISH_ERR("t.yaml:2: disk_sync_interval: must be more than 0");
	ec_config_defaults(cfg);
	LOAD_OK("origins: [http://a]\n"
	        "disk_batch_delay: 2s\n");
	FINISH_ERR("t.yaml:2: disk_batch_delay: must be at most 1s");
	ec_config_defaults(cfg);
	ck_assert_str_eq(cfg->disk_sync, "commit");
	ck_assert_double_eq(cfg->disk_sync_interval, 1);
	ck_assert_uint_eq(cfg->disk_high_watermark, 85);
	ck_assert_uint_eq(cfg->disk_low_watermark, 70);
	ck_assert_double_eq_tol(cfg->disk_batch_delay, 0.002, 1e-9);
}
END_TEST

START_TEST(test_finish_limits)
{
	LOAD_OK("origins: [http://a]\n"
	        "limits:\n"
	        "  request_line: 100\n");
	FINISH_ERR("t.yaml:3: limits.request_line: must be at least 256 (got 100)");

	ec_config_defaults(cfg);
	ck_assert_int_eq(ARGS("-o", "http://a", "-p", "limits.request_line=255"), 0);
	FINISH_ERR("-p: limits.request_line: must be at least 256 (got 255)");

	/* A header block below the request-line limit is fine: it bounds both. */
	ec_config_defaults(cfg);
	LOAD_OK("origins: [http://a]\n"
	        "limits:\n"
	        "  request_line: 16K\n"
	        "  header_block: 8K\n");
	ck_assert_int_eq(ec_config_finish(cfg, err, sizeof(err)), 0);

	ec_config_defaults(cfg);
	LOAD_OK("origins: [http://a]\n"
	        "limits:\n"
	        "  header_block: 255\n");
	FINISH_ERR("t.yaml:3: limits.header_block: must be at least 256 (got 255)");

	ec_config_defaults(cfg);
	LOAD_OK("origins: [http://a]\n"
	        "\n"
	        "limits: {header_timeout: 0}\n");
	FINISH_ERR("t.yaml:3: limits.header_timeout: must be more than 0");

	ec_config_defaults(cfg);
	ck_assert_int_eq(ARGS("-o", "http://a", "-p", "origin.pool_idle_timeout=0ms"), 0);
	FINISH_ERR("-p: origin.pool_idle_timeout: must be more than 0");

	ec_config_defaults(cfg);
	ck_assert_int_eq(ARGS("-o", "http://a", "-m", "0"), 0);
	FINISH_ERR("-m: memory: must be more than 0");

	/* zero is fine where it means "none" or "unlimited" */
	ec_config_defaults(cfg);
	ck_assert_int_eq(ARGS("-o", "http://a", "-p", "drain_timeout=0", "-p", "limits.body=0",
	                      "-p", "origin.pool_max_idle=0", "-p", "cache.default_ttl=0"),
	                 0);
	ck_assert_int_eq(finish(), 0);

	/* values set by code, not parsed, are checked too */
	ec_config_defaults(cfg);
	ck_assert_int_eq(ARGS("-o", "http://a"), 0);
	cfg->max_fields = 0;
	FINISH_ERR("limits.header_fields: must be between 1 and 10000 (got 0)");
	cfg->max_fields = 100;
	cfg->workers = 300;
	FINISH_ERR("workers: must be between 0 and 256 (got 300)");
	cfg->workers = 0;
	cfg->heuristic_max = -1;
	FINISH_ERR("cache.heuristic_max: must not be negative");
	cfg->heuristic_max = 0;
	cfg->origins[0].weight = 0;
	FINISH_ERR("origins[0].weight: must be between 1 and 1000 (got 0)");
}
END_TEST

START_TEST(test_finish_listeners_and_certs)
{
	LOAD_OK("origins: [http://a]\n"
	        "listen:\n"
	        "  - 127.0.0.1:80\n"
	        "  - 127.0.0.1:0\n"
	        "  - 127.0.0.1:0\n"
	        "tls_listen: ['127.0.0.1:80']\n"
	        "certs: [{cert: /nonexistent/c.pem, key: /nonexistent/k.pem}]\n");
	FINISH_ERR("t.yaml:6: tls_listen[0]: 127.0.0.1:80 is already used by listen[0]");

	ec_config_defaults(cfg);
	LOAD_OK("origins: [http://a]\n"
	        "tls_listen: ['[::]:443']\n");
	FINISH_ERR("t.yaml:2: tls_listen: needs at least one certificate (certs: or --cert)");

	ec_config_defaults(cfg);
	LOAD_OK("origins: [http://a]\n"
	        "tls_listen: ['[::]:443']\n"
	        "certs:\n"
	        "  - cert: /nonexistent/c.pem\n"
	        "    key: /nonexistent/k.pem\n");
	FINISH_ERR("t.yaml:4: certs[0].cert: cannot read '/nonexistent/c.pem': No such file or "
	           "directory");

	ec_config_defaults(cfg);
	const char *cert = write_file("c.pem", "x");
	char y[800];
	snprintf(y, sizeof(y),
	         "origins: [http://a]\n"
	         "certs:\n"
	         "  - {cert: '%s',\n"
	         "     key: /nonexistent/k.pem}\n",
	         cert);
	LOAD_OK(y);
	FINISH_ERR("t.yaml:4: certs[0].key: cannot read '/nonexistent/k.pem': No such file or "
	           "directory");

	ec_config_defaults(cfg);
	ck_assert_int_eq(ARGS("-o", "http://a", "--cert", "/nonexistent/a,/nonexistent/b"), 0);
	FINISH_ERR("--cert: certs[0]: cannot read '/nonexistent/a': No such file or directory");

	ec_config_defaults(cfg);
	ck_assert_int_eq(ARGS("-o", "http://a", "--admin-token-file", "/nonexistent/tok"), 0);
	FINISH_ERR("--admin-token-file: admin_token_file: cannot read '/nonexistent/tok': No such "
	           "file or directory");
}
END_TEST

START_TEST(test_admin_token_rule)
{
	const char *want = "--admin: admin: refusing an admin listener on 0.0.0.0:9090 without a "
	                   "token (set admin_token_file or EDGECACHE_ADMIN_TOKEN)";
	ck_assert_int_eq(ARGS("-o", "http://a", "--admin", "0.0.0.0:9090"), 0);
	FINISH_ERR(want);
	setenv("EDGECACHE_ADMIN_TOKEN", "", 1);
	FINISH_ERR(want);
	setenv("EDGECACHE_ADMIN_TOKEN", "s3cret", 1);
	ck_assert_int_eq(finish(), 0);
	unsetenv("EDGECACHE_ADMIN_TOKEN");

	ec_config_defaults(cfg);
	const char *tok = write_file("token", "s3cret\n");
	ck_assert_int_eq(
	        ARGS("-o", "http://a", "--admin", "[2001:db8::1]:9090", "--admin-token-file", tok),
	        0);
	ck_assert_int_eq(finish(), 0);

	ec_config_defaults(cfg);
	LOAD_OK("origins: [http://a]\n"
	        "\n"
	        "admin: '[::]:9090'\n");
	FINISH_ERR("t.yaml:3: admin: refusing an admin listener on [::]:9090 without a token (set "
	           "admin_token_file or EDGECACHE_ADMIN_TOKEN)");

	static const char *const fine[] = {
	        "127.0.0.1:9090",          "127.1.2.3:1", "[::1]:9090",
	        "[::ffff:127.0.0.1]:9090", "off",         "/run/ec.sock"};
	for (size_t i = 0; i < EC_ARRAY_LEN(fine); i++) {
		ec_config_defaults(cfg);
		ck_assert_int_eq(ARGS("-o", "http://a", "--admin", fine[i]), 0);
		ck_assert_msg(finish() == 0, "%s: %s", fine[i], err);
	}
}
END_TEST

/* ---- refcounting --------------------------------------------------------- */

START_TEST(test_refcount)
{
	struct ec_config *a = ec_config_new();
	ck_assert_ptr_nonnull(a);
	struct ec_config *b = ec_config_ref(a);
	ck_assert_ptr_eq(a, b);
	ck_assert_uint_eq(a->refcnt_, 2);
	ec_config_unref(&b);
	ck_assert_ptr_null(b);
	ck_assert_uint_eq(a->refcnt_, 1);
	ec_config_unref(&a); /* frees (ASan checks) */
	ck_assert_ptr_null(a);
	ec_config_unref(&a); /* NULL is a no-op */
}
END_TEST

/* ---- conf/edgecache.yaml ------------------------------------------------- */

START_TEST(test_example_config)
{
	ck_assert_msg(ec_config_load_file(cfg, EC_CONF_EXAMPLE, err, sizeof(err)) == 0, "%s", err);
	/* it sets every key of the schema, so it documents every key */
	for (size_t i = 0; ec_config_key_name(i) != NULL; i++) {
		const struct ec_conf_source *s = ec_config_source(cfg, ec_config_key_name(i));
		ck_assert_msg(s != NULL && s->line > 0, "conf/edgecache.yaml lacks %s",
		              ec_config_key_name(i));
	}
	ck_assert_int_eq(finish(), 0);

	/* and with its values, which are the defaults (origins aside) */
	struct ec_config *d = ec_config_new();
	d->norigins = cfg->norigins;
	memcpy(d->origins, cfg->origins, sizeof(d->origins));
	ck_assert_int_eq(ec_config_finish(d, err, sizeof(err)), 0);
	memcpy(d->path, cfg->path, sizeof(d->path));
	memcpy(d->sources, cfg->sources, sizeof(d->sources));
	d->nsources = cfg->nsources;
	ck_assert_msg(memcmp(d, cfg, sizeof(*d)) == 0,
	              "conf/edgecache.yaml sets a value that is not the default");
	ec_config_unref(&d);

	/* and so does `edgecache -c conf/edgecache.yaml --check` */
	ec_config_defaults(cfg);
	bool check;
	ck_assert_int_eq(run_args(&check, "-c", EC_CONF_EXAMPLE, "--check", (char *)NULL), 0);
	ck_assert(check);
	ck_assert_int_eq(finish(), 0);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_yaml_every_key);
	tcase_add_test(tc, test_p_every_key);
	tcase_add_test(tc, test_finish_disk);
	tcase_add_test(tc, test_sizes);
	tcase_add_test(tc, test_durations);
	tcase_add_test(tc, test_numbers_and_bools);
	tcase_add_test(tc, test_unknown_keys);
	tcase_add_test(tc, test_duplicate_keys);
	tcase_add_test(tc, test_wrong_types);
	tcase_add_test(tc, test_nulls_and_empty);
	tcase_add_test(tc, test_syntax_errors);
	tcase_add_test(tc, test_origins);
	tcase_add_test(tc, test_listen);
	tcase_add_test(tc, test_disk_admin_certs);
	tcase_add_test(tc, test_flags_override_file);
	tcase_add_test(tc, test_command_line_actions);
	tcase_add_test(tc, test_command_line_errors);
	tcase_add_test(tc, test_usage);
	tcase_add_test(tc, test_finish_resolves);
	tcase_add_test(tc, test_finish_limits);
	tcase_add_test(tc, test_finish_listeners_and_certs);
	tcase_add_test(tc, test_admin_token_rule);
	tcase_add_test(tc, test_refcount);
	tcase_add_test(tc, test_example_config);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(config_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
