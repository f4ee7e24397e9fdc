/*
 * fuzz_config.c — libFuzzer harness for the configuration loader. Any bytes
 * go through ec_config_load_buffer and, when they load, ec_config_finish;
 * then each of the first lines goes through the value parsers and, when it
 * holds '=', through ec_config_set as KEY=VALUE. Nothing may crash or leak,
 * every error must be one NUL-terminated line that names the file (for the
 * loader), and what loads must hold only values the parsers allow.
 *
 * Built as fuzz_config (clang -fsanitize=fuzzer, --enable-fuzz) and as
 * replay_config (with tests/fuzz/replay.c) for `make check`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec_util.h"
#include "src/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_err(const char *err, size_t cap, const char *prefix)
{
	EC_ASSERT(memchr(err, '\0', cap) != NULL);
	EC_ASSERT(err[0] != '\0');
	EC_ASSERT(strchr(err, '\n') == NULL);
	if (prefix != NULL)
		EC_ASSERT(strncmp(err, prefix, strlen(prefix)) == 0);
}

static void check_loaded(const struct ec_config *c)
{
	EC_ASSERT(c->nlisten <= EC_CONF_MAX_LISTEN && c->ntls_listen <= EC_CONF_MAX_LISTEN);
	EC_ASSERT(c->norigins <= EC_CONF_MAX_ORIGINS && c->ncerts <= EC_CONF_MAX_CERTS);
	EC_ASSERT(c->nsources <= EC_CONF_MAX_SOURCES);
	for (unsigned i = 0; i < c->nlisten; i++)
		EC_ASSERT(c->listen[i].port <= 65535 && c->listen[i].host[0] != '\0');
	for (unsigned i = 0; i < c->norigins; i++) {
		const struct ec_conf_origin *o = &c->origins[i];
		EC_ASSERT(o->port >= 1 && o->port <= 65535);
		EC_ASSERT(o->weight >= 1 && o->weight <= 1000);
		EC_ASSERT(o->host[0] != '\0' && o->authority[0] != '\0');
		EC_ASSERT(strcmp(o->scheme, "http") == 0 || strcmp(o->scheme, "https") == 0);
	}
	EC_ASSERT(c->workers <= 256);
	EC_ASSERT(c->max_fields >= 1 && c->max_fields <= 10000);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ec_config c; /* ~170 KB: keep it off the stack */
	char err[512];

	ec_config_defaults(&c);
	memset(err, 0, sizeof(err));
	if (ec_config_load_buffer(&c, "fuzz.yaml", (const char *)data, size, err, sizeof(err)) ==
	    0) {
		check_loaded(&c);
		if (ec_config_finish(&c, err, sizeof(err)) == 0) {
			EC_ASSERT(c.nlisten + c.ntls_listen > 0 && c.norigins > 0);
			EC_ASSERT(c.workers >= 1 && c.workers <= 256);
		} else {
			check_err(err, sizeof(err), NULL);
		}
	} else {
		check_err(err, sizeof(err), "fuzz.yaml:");
	}

	/* the value parsers, one line at a time */
	const char *p = (const char *)data, *end = p + size;
	for (int n = 0; n < 16 && p < end; n++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl ? nl : end) - p);
		char line[700];
		if (len >= sizeof(line))
			len = sizeof(line) - 1;
		memcpy(line, p, len);
		line[len] = '\0';
		p = nl ? nl + 1 : end;

		uint64_t sz;
		double d;
		struct ec_conf_listen l;
		struct ec_conf_origin o;
		if (ec_config_parse_duration(line, &d))
			EC_ASSERT(d >= 0 && d <= 1e9);
		(void)ec_config_parse_size(line, &sz);
		if (ec_config_parse_listen(line, &l))
			EC_ASSERT(l.port <= 65535 && strcmp(l.text, line) == 0);
		if (ec_config_parse_origin(line, &o, err, sizeof(err)))
			EC_ASSERT(o.port >= 1 && o.port <= 65535 && o.authority[0] != '\0');
		else
			check_err(err, sizeof(err), NULL);
		char *eq = strchr(line, '=');
		if (eq != NULL) {
			*eq = '\0';
			if (ec_config_set(&c, line, eq + 1, err, sizeof(err)) != 0)
				check_err(err, sizeof(err), NULL);
		}
	}
	return 0;
}
