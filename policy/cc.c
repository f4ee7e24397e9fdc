/*
 * policy/cc.c — Cache-Control parsing (RFC 9111 §5.2) and targeted
 * cache-control selection (RFC 9213 §2.2).
 *
 * Both syntaxes (the classic token/quoted-string one and the Structured
 * Fields Dictionary of targeted fields) reduce each directive to a `struct
 * val` and go through apply(), so the rules for repeated, malformed and
 * misplaced directives live in one place, driven by the directive table of
 * policy/tbl/cc_directive.h.
 *
 * Pure functions over caller-owned header lists; no allocation, no state.
 */
#include "policy/cc.h"
#include "policy/sf.h"

enum arg_kind { ARG_NONE = 1, ARG_SECONDS, ARG_SECONDS_OPT, ARG_FIELDS_OPT };
enum side_mask { SIDE_REQ = 1, SIDE_RESP = 2, SIDE_BOTH = 3 };

static const struct dir_info {
	const char *name;
	size_t len;
	enum ec_cc_dir d;
	enum arg_kind arg;
	unsigned side;
	bool loose;
} dirs[] = {
/* clang-format off */
#define X(sym, nm, arg, side, loose, ref)                                                          \
	{nm, sizeof(nm) - 1, EC_CC_##sym, ARG_##arg, SIDE_##side, loose},
	EC_CC_DIRECTIVE_TABLE(X)
#undef X
};
/* clang-format on */

const struct ec_cc_target ec_cc_default_targets[EC_CC_DEFAULT_TARGETS] = {
        {"CDN-Cache-Control", EC_CC_SYNTAX_SF, true}, /* RFC 9213 §3 */
        {"Surrogate-Control", EC_CC_SYNTAX_CC, true}, /* W3C Edge Architecture 1.0 */
};

const char *ec_cc_dir_name(enum ec_cc_dir d)
{
	for (size_t i = 0; i < EC_ARRAY_LEN(dirs); i++)
		if (dirs[i].d == d)
			return dirs[i].name;
	return NULL;
}

static const struct dir_info *lookup(struct ec_str name)
{
	for (size_t i = 0; i < EC_ARRAY_LEN(dirs); i++)
		if (name.len == dirs[i].len &&
		    ec_str_caseeq(name, ec_str_make(dirs[i].name, dirs[i].len)))
			return &dirs[i];
	return NULL;
}

/* A directive's argument, whichever syntax it came in. */
enum val_kind {
	V_NONE = 1, /* no argument (CC) */
	V_TEXT,     /* token, or quoted-string / sf-string content without escapes */
	V_ESCAPED,  /* quoted-string / sf-string content with backslash escapes */
	V_BAD,      /* malformed argument (CC) */
	V_INT,      /* sf-integer */
	V_TRUE,     /* sf-boolean ?1 (a bare SF key) */
	V_FALSE,    /* sf-boolean ?0 */
	V_OTHER,    /* any other SF type */
};

struct val {
	enum val_kind k;
	struct ec_str text;
	int64_t num;
};

/* delta-seconds = 1*DIGIT (RFC 9111 §1.2.2), saturating at 2^31. */
static bool delta_seconds(struct ec_str s, int64_t *out)
{
	int64_t v = 0;
	if (s.len == 0)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		unsigned d = (unsigned char)s.p[i] - '0';
		if (d > 9)
			return false;
		v = v * 10 + d;
		if (v > EC_DELTA_MAX)
			v = EC_DELTA_MAX;
	}
	*out = v;
	return true;
}

/* The seconds an argument carries, or false when it is not delta-seconds. */
static bool val_seconds(const struct val *v, bool sf, int64_t *out)
{
	if (v->k == V_INT && v->num >= 0) {
		*out = EC_MIN(v->num, EC_DELTA_MAX);
		return true;
	}
	/* RFC 9213 §2.1: SF values of the wrong type are not coerced. */
	if (v->k == V_TEXT && !sf)
		return delta_seconds(v->text, out);
	return false;
}

static void set_seconds(struct ec_cc *cc, enum ec_cc_dir d, bool ok, int64_t secs)
{
	uint32_t bit = EC_CC_BIT(d);
	if (!(cc->present & bit)) {
		cc->present |= bit;
		if (ok)
			cc->secs[d] = secs;
		else
			cc->invalid |= bit;
		return;
	}
	/* §4.2.1: a repeated directive with another value is conflicting. */
	if (!ok || (cc->invalid & bit) || cc->secs[d] != secs)
		cc->invalid |= bit;
}

static void add_fields(struct ec_cc_fields *f, const struct val *v, uint32_t *invalid, uint32_t bit)
{
	switch (v->k) {
	case V_NONE:
	case V_TRUE:
		f->all = true;
		return;
	case V_TEXT:
		if (ec_str_trim(v->text).len == 0)
			break;
		if (f->n == EC_CC_FIELDS_MAX) {
			f->all = true; /* degrade to the restrictive, unqualified form */
			return;
		}
		f->list[f->n++] = v->text;
		return;
	default:
		break;
	}
	/* Empty, escaped or mistyped list: the unqualified (restrictive) form. */
	f->all = true;
	*invalid |= bit;
}

/*
 * Applies one directive. `sf` selects Structured Fields rules: a later
 * duplicate overrides the earlier one instead of conflicting with it.
 */
static void apply(struct ec_cc *cc, const struct dir_info *di, const struct val *v, bool sf,
                  enum ec_cc_side side)
{
	enum ec_cc_dir d = di->d;
	uint32_t bit = EC_CC_BIT(d);
	int64_t secs = 0;
	bool ok;

	if (!(di->side & (side == EC_CC_REQUEST ? SIDE_REQ : SIDE_RESP)))
		return; /* §5.2.3: meaningless on this side, ignored like an extension */
	if (sf) {
		cc->present &= ~bit;
		cc->invalid &= ~bit;
		if (d == EC_CC_NO_CACHE)
			cc->no_cache = (struct ec_cc_fields){0};
		if (d == EC_CC_PRIVATE)
			cc->priv = (struct ec_cc_fields){0};
	}
	if (v->k == V_FALSE)
		return; /* SF ?0: the directive is off */

	switch (di->arg) {
	case ARG_NONE:
		if (v->k != V_NONE && v->k != V_TRUE) {
			cc->invalid |= bit;
			if (di->loose)
				return;
		}
		cc->present |= bit;
		return;
	case ARG_SECONDS:
		ok = val_seconds(v, sf, &secs);
		set_seconds(cc, d, ok, secs);
		return;
	case ARG_SECONDS_OPT:
		if (v->k == V_NONE || v->k == V_TRUE) {
			set_seconds(cc, d, true, EC_CC_STALE_ANY);
		} else {
			ok = val_seconds(v, sf, &secs);
			set_seconds(cc, d, ok, secs);
		}
		return;
	case ARG_FIELDS_OPT:
		cc->present |= bit;
		if (side == EC_CC_REQUEST) {
			/* §5.2.1.4: the request form takes no argument; ignore one. */
			cc->no_cache.all = true;
			return;
		}
		add_fields(d == EC_CC_NO_CACHE ? &cc->no_cache : &cc->priv, v, &cc->invalid, bit);
		return;
	}
}

/* cache-directive = token [ "=" ( token / quoted-string ) ] (RFC 9111 §5.2). */
static void parse_cc_element(struct ec_cc *cc, struct ec_str e, enum ec_cc_side side)
{
	size_t eq = 0;
	while (eq < e.len && e.p[eq] != '=')
		eq++;
	struct ec_str name = ec_str_trim(ec_str_make(e.p, eq));
	if (name.len == 0)
		return;
	for (size_t i = 0; i < name.len; i++)
		if (!ec_is_tchar((unsigned char)name.p[i]))
			return;
	const struct dir_info *di = lookup(name);
	if (di == NULL)
		return; /* §5.2.3: unknown directives are ignored */

	struct val v = {.k = V_NONE};
	if (eq < e.len) {
		struct ec_str a = ec_str_trim(ec_str_make(e.p + eq + 1, e.len - eq - 1));
		v.k = V_BAD;
		if (a.len >= 2 && a.p[0] == '"') {
			bool esc = false;
			size_t i = 1;
			for (; i < a.len; i++) {
				if (a.p[i] == '\\' && i + 1 < a.len) {
					esc = true;
					i++;
				} else if (a.p[i] == '"') {
					break;
				}
			}
			if (i == a.len - 1) {
				v.k = esc ? V_ESCAPED : V_TEXT;
				v.text = ec_str_make(a.p + 1, a.len - 2);
			}
		} else if (a.len > 0) {
			size_t i = 0;
			while (i < a.len && ec_is_tchar((unsigned char)a.p[i]))
				i++;
			if (i == a.len) {
				v.k = V_TEXT;
				v.text = a;
			}
		}
	}
	apply(cc, di, &v, false, side);
}

struct sf_ctx {
	struct ec_cc *cc;
	enum ec_cc_side side;
};

static void sf_member(const struct ec_sf_member *m, void *arg)
{
	struct sf_ctx *ctx = arg;
	const struct dir_info *di = lookup(m->key);
	if (di == NULL)
		return; /* RFC 9213 §2.1: unrecognised members are ignored */
	struct val v = {.k = V_OTHER};
	switch (m->type) {
	case EC_SF_BOOLEAN:
		v.k = m->integer ? V_TRUE : V_FALSE;
		break;
	case EC_SF_INTEGER:
		v.k = V_INT;
		v.num = m->integer;
		break;
	case EC_SF_STRING:
		v.k = m->escaped ? V_ESCAPED : V_TEXT;
		v.text = m->raw;
		break;
	default:
		break;
	}
	apply(ctx->cc, di, &v, true, ctx->side);
}

enum ec_cc_rc ec_cc_parse(const struct ec_hdr *h, size_t n, const char *field,
                          enum ec_cc_syntax syntax, enum ec_cc_side side, struct ec_cc *out)
{
	*out = (struct ec_cc){0};
	const struct ec_hdr *first = ec_hdr_find_str(h, n, ec_str_cstr(field));
	if (first == NULL)
		return EC_CC_ABSENT;

	if (syntax == EC_CC_SYNTAX_SF) {
		/* RFC 9213 §2.1: a parsing error discards the whole field. */
		int members = 0;
		for (const struct ec_hdr *f = first; f; f = ec_hdr_find_next(h, n, f)) {
			int r = ec_sf_dict_parse(f->value, NULL, NULL);
			if (r < 0)
				return EC_CC_SYNTAX;
			members += r;
		}
		if (members == 0)
			return EC_CC_EMPTY;
		struct sf_ctx ctx = {out, side};
		for (const struct ec_hdr *f = first; f; f = ec_hdr_find_next(h, n, f))
			ec_sf_dict_parse(f->value, sf_member, &ctx);
		return EC_CC_OK;
	}

	EC_ASSERT(syntax == EC_CC_SYNTAX_CC);
	struct ec_hdr_iter it = {first, 0}; /* start at the field found above */
	struct ec_str e;
	bool any = false;
	while (ec_hdr_list_next_str(h, n, first->name, &it, &e)) {
		any = true;
		parse_cc_element(out, e, side);
	}
	return any ? EC_CC_OK : EC_CC_EMPTY;
}

bool ec_cc_fields_next(const struct ec_cc_fields *f, struct ec_cc_fields_iter *it,
                       struct ec_str *name)
{
	while (it->list < f->n) {
		struct ec_str l = f->list[it->list];
		while (it->off < l.len) {
			size_t start = it->off, end = start;
			while (end < l.len && l.p[end] != ',')
				end++;
			it->off = end + 1;
			struct ec_str e = ec_str_trim(ec_str_make(l.p + start, end - start));
			if (e.len) {
				*name = e;
				return true;
			}
		}
		it->list++;
		it->off = 0;
	}
	return false;
}

bool ec_cc_fields_has(const struct ec_cc_fields *f, struct ec_str name)
{
	struct ec_cc_fields_iter it = {0};
	struct ec_str e;
	if (f->all)
		return false;
	while (ec_cc_fields_next(f, &it, &e))
		if (ec_str_caseeq(e, name))
			return true;
	return false;
}

int ec_cc_parse_response(const struct ec_hdr *h, size_t n, const struct ec_cc_target *t, size_t nt,
                         struct ec_cc *out)
{
	for (size_t i = 0; i < nt; i++) {
		/* RFC 9213 §2.2: the first present, valid and non-empty target wins. */
		if (ec_cc_parse(h, n, t[i].name, t[i].syntax, EC_CC_RESPONSE, out) == EC_CC_OK)
			return (int)i;
	}
	ec_cc_parse(h, n, "Cache-Control", EC_CC_SYNTAX_CC, EC_CC_RESPONSE, out);
	return -1;
}

bool ec_cc_strip_field(struct ec_str name, const struct ec_cc_target *t, size_t nt)
{
	for (size_t i = 0; i < nt; i++)
		if (t[i].strip && ec_str_caseeq_lit(name, t[i].name))
			return true;
	return false;
}
