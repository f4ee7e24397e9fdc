/*
 * config_groups.c — the `groups:` section of the configuration: origin groups
 * with their backends, routing (Host and path prefix), the Host field to
 * send, and their balancing, health and retry settings (the origin.* leaf
 * names). The -o / origins: backends form the default group; see
 * docs/origin.md for the schema and routing rules.
 *
 *     groups:
 *       - name: api
 *         hosts: [api.example.com, "*.api.example.com"]
 *         paths: [/v1/, /v2/]
 *         host: api.internal
 *         algorithm: ketama
 *         backends:
 *           - 10.0.0.1:8080
 *           - {url: http://10.0.0.2:8080, weight: 2}
 *           - {url: 10.0.0.3:8080, backup: true}
 *
 * Threads: main only, while a config is being built (see config.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ec_util.h"
#include "config_priv.h"

static int EC_PRINTF(4, 5)
        gfail(struct yload *y, unsigned line, const char *key, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (y->errlen > 0)
		snprintf(y->err, y->errlen, "%s:%u: %s: %s", y->name, line, key, msg);
	return -1;
}

static bool null_node(const struct ynode *n)
{
	return n->type == YN_SCALAR && n->plain &&
	       (n->len == 0 || strcmp(n->str, "~") == 0 || strcasecmp(n->str, "null") == 0);
}

static const char *what(const struct ynode *n)
{
	return n->type == YN_MAP ? "a mapping" : n->type == YN_SEQ ? "a list" : "a string";
}

static bool parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	unsigned long v = 0;
	if (*s == '\0')
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 100000)
			return false;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	if (v < lo || v > hi)
		return false;
	*out = (unsigned)v;
	return true;
}

/* A backend URL, or HOST:PORT taken as http://HOST:PORT. */
static bool backend_url(const char *t, struct ec_conf_origin *o, char *why, size_t whylen)
{
	char url[600];
	if (strstr(t, "://") == NULL) {
		snprintf(url, sizeof(url), "http://%s", t);
		t = url;
	}
	return ec_config_parse_origin(t, o, why, whylen);
}

/* One backend: a string, or {url: U, weight: N, backup: BOOL}. */
static int yaml_backend(struct yload *y, const struct ynode *n, const char *ekey,
                        struct ec_conf_origin *o)
{
	static const char *const subkeys[] = {"url", "weight", "backup"};
	char why[300], path[160];
	if (n->type == YN_SCALAR) {
		const char *t = ec_config__scalar(y, n, ekey, "HOST:PORT or a URL", false);
		if (t == NULL)
			return -1;
		if (!backend_url(t, o, why, sizeof(why)))
			return gfail(y, n->line, ekey, "%s", why);
		return 0;
	}
	if (n->type != YN_MAP)
		return gfail(y, n->line, ekey,
		             "expected HOST:PORT, a URL or {url: URL, weight: N, backup: true}, "
		             "found %s",
		             what(n));
	bool have_url = false, backup = false;
	unsigned weight = 1;
	for (size_t i = 0; i < n->nkids / 2; i++) {
		if (ec_config__map_key(y, n, i, ekey, path, sizeof(path)) != 0)
			return -1;
		const struct ynode *k = n->kids[2 * i], *v = n->kids[2 * i + 1];
		const char *t;
		if (strcmp(k->str, "url") == 0) {
			if ((t = ec_config__scalar(y, v, path, "a URL", false)) == NULL)
				return -1;
			if (!backend_url(t, o, why, sizeof(why)))
				return gfail(y, v->line, path, "%s", why);
			have_url = true;
		} else if (strcmp(k->str, "weight") == 0) {
			if ((t = ec_config__scalar(y, v, path, "a number", false)) == NULL)
				return -1;
			if (!parse_uint(t, 1, 1000, &weight))
				return gfail(y, v->line, path,
				             "expected a whole number between 1 and 1000, got '%s'",
				             t);
		} else if (strcmp(k->str, "backup") == 0) {
			if ((t = ec_config__scalar(y, v, path, "true or false", false)) == NULL)
				return -1;
			if (strcmp(t, "true") == 0 || strcmp(t, "yes") == 0)
				backup = true;
			else if (strcmp(t, "false") == 0 || strcmp(t, "no") == 0)
				backup = false;
			else
				return gfail(y, v->line, path, "expected true or false, got '%s'",
				             t);
		} else {
			const char *s = ec_config__suggest(k->str, subkeys, EC_ARRAY_LEN(subkeys));
			if (s != NULL)
				return gfail(y, k->line, path, "unknown key (did you mean '%s'?)",
				             s);
			return gfail(y, k->line, path, "unknown key");
		}
	}
	if (!have_url)
		return gfail(y, n->line, ekey, "missing key 'url'");
	o->weight = weight;
	o->backup = backup;
	return 0;
}

/* hosts: / paths: — a string or a list of strings. */
static int yaml_match(struct yload *y, const struct ynode *v, const char *key, bool is_path,
                      char (*dst)[128], unsigned *n)
{
	*n = 0;
	if (null_node(v))
		return 0;
	size_t cnt = v->type == YN_SEQ ? v->nkids : 1;
	if (v->type == YN_MAP)
		return gfail(y, v->line, key, "expected a string or a list, found a mapping");
	if (cnt > EC_CONF_MAX_MATCH)
		return gfail(y, v->line, key, "too many entries (at most %d)", EC_CONF_MAX_MATCH);
	for (size_t i = 0; i < cnt; i++) {
		const struct ynode *e = v->type == YN_SEQ ? v->kids[i] : v;
		char ekey[200];
		snprintf(ekey, sizeof(ekey), "%s[%zu]", key, i);
		const char *t = ec_config__scalar(y, e, ekey, is_path ? "a path" : "a host", false);
		if (t == NULL)
			return -1;
		if (strlen(t) >= 128)
			return gfail(y, e->line, ekey, "too long (at most 127 bytes)");
		if (is_path && t[0] != '/')
			return gfail(y, e->line, ekey, "a path prefix starts with '/' (got '%s')",
			             t);
		for (const char *p = t; *p; p++)
			if ((unsigned char)*p <= 0x20 || *p == 0x7f)
				return gfail(y, e->line, ekey,
				             "spaces and control characters are not allowed");
		snprintf(dst[i], 128, "%s", t);
	}
	*n = (unsigned)cnt;
	return 0;
}

static int yaml_group(struct yload *y, const struct ynode *n, const char *gkey, unsigned gi)
{
	static const char *const subkeys[] = {
	        "name",         "backends",      "hosts",           "paths",
	        "host",         "algorithm",     "retries",         "health_check",
	        "health_path",  "health_status", "health_interval", "health_timeout",
	        "health_rise",  "health_fall",   "fail_max",        "fail_window",
	        "fail_timeout",  "tls_verify",      "tls_ca",        "tls_sni",
	        "tls_cert",      "tls_key",         "protocol",
	};
	struct ec_config *c = y->c;
	struct ec_conf_group *g = &c->groups[gi];
	char path[160], why[300];
	const struct ynode *backends = NULL;
	if (n->type != YN_MAP)
		return gfail(y, n->line, gkey,
		             "expected a mapping {name: ..., backends: [...]}, found %s", what(n));
	memset(g, 0, sizeof(*g));
	g->line = n->line;
	ec_config__lb_defaults(c, &g->lb);
	for (size_t i = 0; i < n->nkids / 2; i++) {
		if (ec_config__map_key(y, n, i, gkey, path, sizeof(path)) != 0)
			return -1;
		const struct ynode *k = n->kids[2 * i], *v = n->kids[2 * i + 1];
		const char *t;
		if (strcmp(k->str, "name") == 0) {
			if ((t = ec_config__scalar(y, v, path, "a name", false)) == NULL)
				return -1;
			if (strlen(t) >= sizeof(g->name))
				return gfail(y, v->line, path, "too long (at most %zu bytes)",
				             sizeof(g->name) - 1);
			for (const char *p = t; *p; p++)
				if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
				      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
				      *p == '.'))
					return gfail(y, v->line, path,
					             "'%s': use letters, digits, '-', '_' and '.'",
					             t);
			snprintf(g->name, sizeof(g->name), "%s", t);
		} else if (strcmp(k->str, "backends") == 0) {
			backends = v;
		} else if (strcmp(k->str, "hosts") == 0) {
			if (yaml_match(y, v, path, false, g->hosts, &g->nhosts) != 0)
				return -1;
		} else if (strcmp(k->str, "paths") == 0) {
			if (yaml_match(y, v, path, true, g->paths, &g->npaths) != 0)
				return -1;
		} else if (strcmp(k->str, "host") == 0) {
			if ((t = ec_config__scalar(y, v, path, "a host", true)) == NULL)
				return -1;
			if (strlen(t) >= sizeof(g->host))
				return gfail(y, v->line, path, "too long");
			for (const char *p = t; *p; p++)
				if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == ',')
					return gfail(y, v->line, path, "'%s' is not a host[:port]",
					             t);
			snprintf(g->host, sizeof(g->host), "%s", t);
		} else if (ec_config__is_lb_key(k->str)) {
			if ((t = ec_config__scalar(y, v, path, "a value", false)) == NULL)
				return -1;
			if (ec_config__apply_lb(c, &g->lb, k->str, t, why, sizeof(why)) != 0)
				return gfail(y, v->line, path, "%s", why);
		} else {
			const char *s = ec_config__suggest(k->str, subkeys, EC_ARRAY_LEN(subkeys));
			if (s != NULL)
				return gfail(y, k->line, path, "unknown key (did you mean '%s'?)",
				             s);
			return gfail(y, k->line, path, "unknown key");
		}
		ec_config__note(c, path, k->line);
	}
	if (g->name[0] == '\0')
		return gfail(y, n->line, gkey, "missing key 'name'");
	for (unsigned j = 0; j < gi; j++)
		if (strcmp(c->groups[j].name, g->name) == 0)
			return gfail(y, n->line, gkey,
			             "group name '%s' used twice (first at line %u)", g->name,
			             c->groups[j].line);
	if (strcmp(g->name, "default") == 0)
		return gfail(y, n->line, gkey,
		             "'default' names the group of origins: / -o; pick another name");
	snprintf(path, sizeof(path), "%s.backends", gkey);
	if (backends == NULL || null_node(backends))
		return gfail(y, n->line, path, "missing: a group needs at least one backend");
	size_t nb = backends->type == YN_SEQ ? backends->nkids : 1;
	g->first = c->ngbackends;
	unsigned primaries = 0;
	for (size_t i = 0; i < nb; i++) {
		const struct ynode *e = backends->type == YN_SEQ ? backends->kids[i] : backends;
		char ekey[200];
		snprintf(ekey, sizeof(ekey), "%s[%zu]", path, i);
		if (c->ngbackends >= EC_CONF_MAX_GBACKENDS)
			return gfail(y, e->line, ekey,
			             "too many backends in all groups (at most %d)",
			             EC_CONF_MAX_GBACKENDS);
		struct ec_conf_origin *o = &c->gbackends[c->ngbackends];
		memset(o, 0, sizeof(*o));
		if (yaml_backend(y, e, ekey, o) != 0)
			return -1;
		primaries += !o->backup;
		c->ngbackends++;
	}
	g->n = c->ngbackends - g->first;
	if (primaries == 0)
		return gfail(y, backends->line, path,
		             "every backend is a backup: mark one primary");
	return 0;
}

int ec_config__yaml_groups(struct yload *y, const struct ynode *kn, const struct ynode *v)
{
	struct ec_config *c = y->c;
	c->ngroups = 0;
	c->ngbackends = 0;
	ec_config__note(c, "groups", kn->line);
	if (null_node(v))
		return 0;
	if (v->type != YN_SEQ)
		return gfail(y, v->line, "groups", "expected a list of groups, found %s", what(v));
	if (v->nkids > EC_CONF_MAX_GROUPS)
		return gfail(y, v->line, "groups", "too many groups (at most %d)",
		             EC_CONF_MAX_GROUPS);
	for (size_t i = 0; i < v->nkids; i++) {
		char gkey[32];
		snprintf(gkey, sizeof(gkey), "groups[%zu]", i);
		if (yaml_group(y, v->kids[i], gkey, (unsigned)i) != 0)
			return -1;
		c->ngroups = (unsigned)i + 1;
	}
	return 0;
}
