/*
 * policy/ban.c — ban expressions (see ban.h).
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/ban.h"

enum field { F_INVALID = 0, F_URL, F_HOST, F_HDR, F_STATUS };
enum op { OP_INVALID = 0, OP_MATCH, OP_NOMATCH, OP_EQ, OP_NE };

struct cond {
	enum field field;
	enum op op;
	char name[64]; /* F_HDR */
	char *value;
	pcre2_code *re;
};

struct ec_ban_expr {
	char *text;
	unsigned n;
	struct cond c[EC_BAN_MAX_CONDS];
};

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/* A quoted or bare value into a new string; NULL with *why on error. */
static char *parse_value(const char **pp, const char **why)
{
	const char *p = *pp;
	size_t cap = strlen(p) + 1, o = 0;
	char *v = malloc(cap);
	if (v == NULL) {
		*why = "out of memory";
		return NULL;
	}
	if (*p == '"') {
		for (p++; *p != '"'; p++) {
			if (*p == '\0') {
				free(v);
				*why = "unterminated string";
				return NULL;
			}
			if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
				p++;
			v[o++] = *p;
		}
		p++;
	} else {
		while (*p != '\0' && *p != ' ' && *p != '\t' && !(p[0] == '&' && p[1] == '&'))
			v[o++] = *p++;
		if (o == 0) {
			free(v);
			*why = "missing value";
			return NULL;
		}
	}
	v[o] = '\0';
	*pp = p;
	return v;
}

static bool parse_field(const char **pp, struct cond *c)
{
	const char *p = *pp;
	size_t n = strcspn(p, " \t~!=");
	char f[128];
	if (n == 0 || n >= sizeof(f))
		return false;
	memcpy(f, p, n);
	f[n] = '\0';
	*pp = p + n;
	if (!strcmp(f, "req.url") || !strcmp(f, "obj.url") || !strcmp(f, "url"))
		c->field = F_URL;
	else if (!strcmp(f, "req.host") || !strcmp(f, "obj.host") || !strcmp(f, "host"))
		c->field = F_HOST;
	else if (!strcmp(f, "obj.status") || !strcmp(f, "status"))
		c->field = F_STATUS;
	else {
		const char *name = !strncmp(f, "obj.http.", 9) ? f + 9
		                   : !strncmp(f, "http.", 5)   ? f + 5
		                                               : NULL;
		if (name == NULL || *name == '\0' || strlen(name) >= sizeof(c->name))
			return false;
		for (const char *q = name; *q; q++)
			if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
			      (*q >= '0' && *q <= '9') || *q == '-' || *q == '_'))
				return false;
		c->field = F_HDR;
		snprintf(c->name, sizeof(c->name), "%s", name);
	}
	return true;
}

struct ec_ban_expr *ec_ban_parse(const char *expr, char *err, size_t errlen)
{
	struct ec_ban_expr *e = calloc(1, sizeof(*e));
	if (e == NULL || (e->text = strdup(expr)) == NULL) {
		free(e);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	const char *p = skip_ws(expr);
	if (*p == '\0') {
		snprintf(err, errlen, "empty expression");
		ec_ban_free(&e);
		return NULL;
	}
	for (;;) {
		if (e->n == EC_BAN_MAX_CONDS) {
			snprintf(err, errlen, "more than %d conditions", EC_BAN_MAX_CONDS);
			goto fail;
		}
		struct cond *c = &e->c[e->n++];
		const char *start = p;
		if (!parse_field(&p, c)) {
			int n = (int)strcspn(start, " \t~!=");
			snprintf(err, errlen,
			         "condition %u: unknown field '%.*s' (use req.url, req.host, "
			         "obj.status or obj.http.NAME)",
			         e->n, n, start);
			goto fail;
		}
		p = skip_ws(p);
		if (!strncmp(p, "!~", 2))
			c->op = OP_NOMATCH, p += 2;
		else if (*p == '~')
			c->op = OP_MATCH, p += 1;
		else if (!strncmp(p, "==", 2))
			c->op = OP_EQ, p += 2;
		else if (!strncmp(p, "!=", 2))
			c->op = OP_NE, p += 2;
		else {
			snprintf(err, errlen, "condition %u: expected ~, !~, == or !=", e->n);
			goto fail;
		}
		p = skip_ws(p);
		const char *why = NULL;
		c->value = parse_value(&p, &why);
		if (c->value == NULL) {
			snprintf(err, errlen, "condition %u: %s", e->n, why);
			goto fail;
		}
		if (c->op == OP_MATCH || c->op == OP_NOMATCH) {
			int ec;
			PCRE2_SIZE off;
			c->re = pcre2_compile((PCRE2_SPTR)c->value, PCRE2_ZERO_TERMINATED, 0, &ec,
			                      &off, NULL);
			if (c->re == NULL) {
				char msg[160];
				pcre2_get_error_message(ec, (PCRE2_UCHAR *)msg, sizeof(msg));
				snprintf(err, errlen, "condition %u: regex: %s at %zu", e->n, msg,
				         (size_t)off);
				goto fail;
			}
		}
		p = skip_ws(p);
		if (*p == '\0')
			break;
		if (strncmp(p, "&&", 2) != 0) {
			snprintf(err, errlen, "condition %u: expected && or the end, got '%.20s'",
			         e->n, p);
			goto fail;
		}
		p = skip_ws(p + 2);
	}
	return e;
fail:
	ec_ban_free(&e);
	return NULL;
}

void ec_ban_free(struct ec_ban_expr **ep)
{
	struct ec_ban_expr *e = *ep;
	if (e == NULL)
		return;
	*ep = NULL;
	for (unsigned i = 0; i < e->n; i++) {
		free(e->c[i].value);
		if (e->c[i].re)
			pcre2_code_free(e->c[i].re);
	}
	free(e->text);
	free(e);
}

bool ec_ban_needs_object(const struct ec_ban_expr *e)
{
	for (unsigned i = 0; i < e->n; i++)
		if (e->c[i].field == F_HDR || e->c[i].field == F_STATUS)
			return true;
	return false;
}

const char *ec_ban_text(const struct ec_ban_expr *e)
{
	return e->text;
}

static bool test(const struct cond *c, struct ec_str v)
{
	if (c->re != NULL) {
		pcre2_match_data *md = pcre2_match_data_create_from_pattern(c->re, NULL);
		if (md == NULL)
			return false; /* out of memory: the ban does not apply now; the lurker
			                 retries */
		int rc = pcre2_match(c->re, (PCRE2_SPTR)(v.p ? v.p : ""), v.len, 0, 0, md, NULL);
		pcre2_match_data_free(md);
		return rc >= 0;
	}
	return ec_str_eq(v, ec_str_cstr(c->value));
}

static bool cond_holds(const struct cond *c, struct ec_str key, const struct ec_hdr *hdrs, size_t n,
                       int status)
{
	bool positive = c->op == OP_MATCH || c->op == OP_EQ;
	struct ec_str host = EC_STR_NULL, url = key;
	const char *sep = memchr(key.p, ':', key.len);
	if (key.len && key.p[0] != '/' && sep != NULL && (size_t)(sep - key.p) + 3 <= key.len &&
	    sep[1] == '/' && sep[2] == '/') {
		const char *h = sep + 3, *end = key.p + key.len;
		const char *slash = memchr(h, '/', (size_t)(end - h));
		host = ec_str_make(h, slash ? (size_t)(slash - h) : (size_t)(end - h));
		url = slash ? ec_str_make(slash, (size_t)(end - slash)) : EC_STR("/");
	} else if (key.len && key.p[0] != '/') {
		/* host without scheme: "host/path" */
		const char *slash = memchr(key.p, '/', key.len);
		host = ec_str_make(key.p, slash ? (size_t)(slash - key.p) : key.len);
		url = slash ? ec_str_make(slash, key.len - host.len) : EC_STR("/");
	}
	switch (c->field) {
	case F_URL:
		return test(c, url) == positive;
	case F_HOST:
		return test(c, host) == positive;
	case F_STATUS: {
		char b[16];
		int l = snprintf(b, sizeof(b), "%d", status);
		return test(c, ec_str_make(b, (size_t)l)) == positive;
	}
	case F_HDR: {
		bool any = false;
		for (size_t i = 0; i < n; i++)
			if (ec_str_caseeq_lit(hdrs[i].name, c->name) && test(c, hdrs[i].value)) {
				any = true;
				break;
			}
		return any == positive;
	}
	default:
		return false;
	}
}

bool ec_ban_match(const struct ec_ban_expr *e, struct ec_str key, const struct ec_hdr *hdrs,
                  size_t n, int status)
{
	for (unsigned i = 0; i < e->n; i++)
		if (!cond_holds(&e->c[i], key, hdrs, n, status))
			return false;
	return e->n > 0;
}
