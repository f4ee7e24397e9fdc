/*
 * cache_key.c — building cache keys (see cache_key.h).
 */
#include <stdlib.h>

#include "arena.h"
#include "cache_key.h"
#include "config.h"

/* Whether parameter `p` ("name" or "name=value") is listed in the comma list. */
static bool param_ignored(const char *list, struct ec_str p)
{
	const char *eq = memchr(p.p, '=', p.len);
	struct ec_str name = ec_str_make(p.p, eq ? (size_t)(eq - p.p) : p.len);
	for (const char *s = list; *s;) {
		while (*s == ',' || *s == ' ')
			s++;
		const char *e = s;
		while (*e && *e != ',' && *e != ' ')
			e++;
		if (e > s && ec_str_eq(name, ec_str_make(s, (size_t)(e - s))))
			return true;
		s = e;
	}
	return false;
}

static int cmp_param(const void *a, const void *b)
{
	const struct ec_str *x = a, *y = b;
	size_t n = EC_MIN(x->len, y->len);
	int c = memcmp(x->p, y->p, n);
	if (c)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

struct ec_str ec_cache_key_build(struct ec_arena *a, const struct ec_config *cf,
				 struct ec_str scheme, struct ec_str host, struct ec_str path)
{
	struct ec_str pth = path, query = EC_STR_NULL;
	const char *q = memchr(path.p, '?', path.len);
	if (q) {
		pth = ec_str_make(path.p, (size_t)(q - path.p));
		query = ec_str_make(q + 1, path.len - pth.len - 1);
	}
	bool ignore_query = strcmp(cf->key_query, "ignore") == 0;
	size_t cap = scheme.len + 3 + host.len + pth.len + 2 + (ignore_query ? 0 : query.len + 1);
	char *out = ec_arena_alloc(a, cap);
	if (out == NULL)
		return EC_STR_NULL;
	char *p = out;
	if (cf->key_scheme) {
		for (size_t i = 0; i < scheme.len; i++)
			*p++ = ec_lower(scheme.p[i]);
		memcpy(p, "://", 3);
		p += 3;
	}
	if (cf->key_host) {
		struct ec_str h = host;
		/* drop the scheme's default port: http://h:80/ and http://h/ are one */
		bool https = scheme.len == 5;
		const char *dflt = https ? ":443" : ":80";
		size_t dl = strlen(dflt);
		if (h.len > dl && memcmp(h.p + h.len - dl, dflt, dl) == 0 && h.p[h.len - dl - 1] != ':')
			h.len -= dl;
		for (size_t i = 0; i < h.len; i++)
			*p++ = ec_lower(h.p[i]);
	}
	if (pth.len == 0)
		*p++ = '/';
	memcpy(p, pth.p, pth.len);
	p += pth.len;
	if (ignore_query || query.p == NULL)
		return ec_str_make(out, (size_t)(p - out));

	bool sort = strcmp(cf->key_query, "sort") == 0;
	bool filter = cf->key_ignore_params[0] != '\0';
	if (!sort && !filter) {
		*p++ = '?';
		memcpy(p, query.p, query.len);
		p += query.len;
		return ec_str_make(out, (size_t)(p - out));
	}
	/* split into parameters, drop the ignored ones, maybe sort, rejoin */
	size_t nparams = 1;
	for (size_t i = 0; i < query.len; i++)
		nparams += query.p[i] == '&';
	struct ec_str *params = ec_arena_alloc(a, nparams * sizeof(*params));
	if (params == NULL)
		return EC_STR_NULL;
	size_t n = 0;
	for (size_t i = 0, start = 0; i <= query.len; i++) {
		if (i < query.len && query.p[i] != '&')
			continue;
		struct ec_str prm = ec_str_make(query.p + start, i - start);
		start = i + 1;
		if (prm.len == 0 || (filter && param_ignored(cf->key_ignore_params, prm)))
			continue;
		params[n++] = prm;
	}
	if (sort && n > 1)
		qsort(params, n, sizeof(*params), cmp_param);
	for (size_t i = 0; i < n; i++) {
		*p++ = i == 0 ? '?' : '&';
		memcpy(p, params[i].p, params[i].len);
		p += params[i].len;
	}
	return ec_str_make(out, (size_t)(p - out));
}
