/*
 * policy/cond.c — conditional requests (RFC 9110 §8.8, §13) as a cache
 * answers them from stored responses, and revalidation with the origin
 * (RFC 9111 §3.2, §4.3).
 *
 * Pure functions over caller-owned header lists; no allocation, no state.
 */
#include "policy/cond.h"
#include "policy/fresh.h"

/* etagc = %x21 / %x23-7E / obs-text */
static bool is_etagc(unsigned char c)
{
	return c == 0x21 || (c >= 0x23 && c <= 0x7e) || c >= 0x80;
}

/* Parses an entity-tag at s[*i]; advances *i past it. */
static bool etag_at(struct ec_str s, size_t *i, struct ec_etag *out)
{
	size_t p = *i;
	bool weak = false;
	if (p + 1 < s.len && s.p[p] == 'W' && s.p[p + 1] == '/') {
		weak = true; /* %s"W/": case-sensitive */
		p += 2;
	}
	if (p >= s.len || s.p[p] != '"')
		return false;
	size_t start = p++;
	while (p < s.len && is_etagc((unsigned char)s.p[p]))
		p++;
	if (p >= s.len || s.p[p] != '"')
		return false;
	p++;
	out->weak = weak;
	out->opaque = ec_str_make(s.p + start, p - start);
	*i = p;
	return true;
}

bool ec_cond_etag_parse(struct ec_str s, struct ec_etag *out)
{
	s = ec_str_trim(s);
	size_t i = 0;
	return etag_at(s, &i, out) && i == s.len;
}

int ec_cond_etag_list_next(struct ec_str *rest, struct ec_etag *out)
{
	struct ec_str s = *rest;
	size_t i = 0;
	while (i < s.len && (ec_is_ows(s.p[i]) || s.p[i] == ','))
		i++;
	if (i == s.len) {
		*rest = ec_str_make(s.p + s.len, 0);
		return 0;
	}
	int rc;
	if (s.p[i] == '*') {
		i++;
		rc = 2;
	} else {
		rc = etag_at(s, &i, out) ? 1 : -1;
	}
	while (i < s.len && ec_is_ows(s.p[i]))
		i++;
	if (i < s.len && s.p[i] != ',') {
		rc = -1;
		while (i < s.len && s.p[i] != ',')
			i++;
	}
	*rest = ec_str_make(s.p + i, s.len - i);
	return rc;
}

bool ec_cond_etag_strong_eq(const struct ec_etag *a, const struct ec_etag *b)
{
	return !a->weak && !b->weak && ec_str_eq(a->opaque, b->opaque);
}

bool ec_cond_etag_weak_eq(const struct ec_etag *a, const struct ec_etag *b)
{
	return ec_str_eq(a->opaque, b->opaque);
}

/* A singleton date field: exactly one line holding a valid HTTP-date. */
static bool one_date(const struct ec_hdr *h, size_t n, const char *name, int64_t *t)
{
	const struct ec_hdr *f = ec_hdr_find(h, n, name);
	return f != NULL && ec_hdr_find_next(h, n, f) == NULL && ec_http_date_parse(f->value, t);
}

void ec_cond_validators(int status, const struct ec_hdr *h, size_t n, int64_t received,
                        struct ec_validators *out)
{
	*out = (struct ec_validators){.status = status, .received = received};
	const struct ec_hdr *f = ec_hdr_find(h, n, "ETag");
	if (f != NULL && ec_hdr_find_next(h, n, f) == NULL)
		out->has_etag = ec_cond_etag_parse(f->value, &out->etag);
	out->has_lm = one_date(h, n, "Last-Modified", &out->last_modified);
	out->has_date = one_date(h, n, "Date", &out->date);
}

bool ec_cond_lm_strong(const struct ec_validators *v)
{
	/* RFC 9110 §8.8.2.2: at least one second before the Date. */
	return v->has_lm && v->has_date && v->date - v->last_modified >= 1;
}

/*
 * Evaluates an If-Match / If-None-Match list over all its lines: whether
 * "*" or a tag matching the stored ETag (strongly or weakly) is listed.
 */
static bool list_matches(const struct ec_hdr *h, size_t n, const char *name,
                         const struct ec_validators *v, bool strong)
{
	for (const struct ec_hdr *f = ec_hdr_find(h, n, name); f; f = ec_hdr_find_next(h, n, f)) {
		struct ec_str rest = f->value;
		struct ec_etag t;
		int rc;
		while ((rc = ec_cond_etag_list_next(&rest, &t)) != 0) {
			if (rc == 2)
				return true; /* "*": a current representation exists */
			if (rc == 1 && v->has_etag &&
			    (strong ? ec_cond_etag_strong_eq(&t, &v->etag)
			            : ec_cond_etag_weak_eq(&t, &v->etag)))
				return true;
		}
	}
	return false;
}

enum ec_cond_result ec_cond_evaluate(enum ec_method m, const struct ec_hdr *req, size_t nreq,
                                     const struct ec_validators *v, int64_t now)
{
	bool get_head = m == EC_M_GET || m == EC_M_HEAD;
	int64_t t;

	/* RFC 9110 §13.2.1: only for responses that would be 2xx. */
	if (v->status < 200 || v->status > 299)
		return EC_COND_PROCEED;

	/* Step 1: If-Match, §13.1.1, strong comparison. */
	if (ec_hdr_find(req, nreq, "If-Match") != NULL) {
		if (!list_matches(req, nreq, "If-Match", v, true))
			return EC_COND_PRECONDITION_FAILED;
	} else if (v->has_lm && one_date(req, nreq, "If-Unmodified-Since", &t)) {
		/* Step 2: If-Unmodified-Since, §13.1.4. */
		if (v->last_modified > t)
			return EC_COND_PRECONDITION_FAILED;
	}

	/* Step 3: If-None-Match, §13.1.2, weak comparison. */
	if (ec_hdr_find(req, nreq, "If-None-Match") != NULL) {
		if (list_matches(req, nreq, "If-None-Match", v, false))
			return get_head ? EC_COND_NOT_MODIFIED : EC_COND_PRECONDITION_FAILED;
		return EC_COND_PROCEED;
	}

	/* Step 4: If-Modified-Since, §13.1.3, with RFC 9111 §4.3.2's fallbacks. */
	if (get_head && one_date(req, nreq, "If-Modified-Since", &t) && t <= now) {
		int64_t ref;
		bool have = true;
		if (v->has_lm)
			ref = v->last_modified;
		else if (v->has_date)
			ref = v->date;
		else if (v->received > 0)
			ref = v->received;
		else
			have = false;
		if (have && ref <= t)
			return EC_COND_NOT_MODIFIED;
	}
	return EC_COND_PROCEED;
}

bool ec_cond_if_range(const struct ec_hdr *req, size_t nreq, const struct ec_validators *v)
{
	const struct ec_hdr *f = ec_hdr_find(req, nreq, "If-Range");
	if (f == NULL)
		return true;
	if (ec_hdr_find_next(req, nreq, f) != NULL)
		return false;
	struct ec_str s = ec_str_trim(f->value);
	/* an HTTP-date may start with 'W' ("Wed, ..."); an entity-tag with "W/" */
	if (s.len && (s.p[0] == '"' || (s.len > 1 && s.p[0] == 'W' && s.p[1] == '/'))) {
		struct ec_etag t;
		/* §13.1.5: a strong match; a weak tag can never be one. */
		return ec_cond_etag_parse(s, &t) && v->has_etag &&
		       ec_cond_etag_strong_eq(&t, &v->etag);
	}
	int64_t d;
	/* §13.1.5: an exact match with a strong Last-Modified (§8.8.2.2). */
	return ec_http_date_parse(s, &d) && ec_cond_lm_strong(v) && v->last_modified == d;
}

static const char *const fields_304[] = {
        "Cache-Control", "Content-Location",  "Date",
        "ETag",          "Expires",           "Vary",
        "Last-Modified", "CDN-Cache-Control", "Surrogate-Control",
};

bool ec_cond_304_field(struct ec_str name)
{
	for (size_t i = 0; i < EC_ARRAY_LEN(fields_304); i++)
		if (ec_str_caseeq_lit(name, fields_304[i]))
			return true;
	return false;
}

size_t ec_cond_revalidation(const struct ec_hdr *stored, size_t n, struct ec_hdr out[2])
{
	size_t k = 0;
	int64_t t;
	struct ec_etag e;
	const struct ec_hdr *etag = ec_hdr_find(stored, n, "ETag");
	bool has_etag = etag != NULL && ec_cond_etag_parse(etag->value, &e);
	if (has_etag)
		out[k++] = (struct ec_hdr){EC_STR("If-None-Match"), ec_str_trim(etag->value)};
	const struct ec_hdr *lm = ec_hdr_find(stored, n, "Last-Modified");
	if (lm != NULL && ec_http_date_parse(lm->value, &t)) {
		out[k++] = (struct ec_hdr){EC_STR("If-Modified-Since"), ec_str_trim(lm->value)};
	} else if (!has_etag) {
		const struct ec_hdr *date = ec_hdr_find(stored, n, "Date");
		if (date != NULL && ec_http_date_parse(date->value, &t))
			out[k++] = (struct ec_hdr){EC_STR("If-Modified-Since"),
			                           ec_str_trim(date->value)};
	}
	return k;
}

size_t ec_cond_freshen_select(const struct ec_hdr *r304, size_t n304, const struct ec_validators *s,
                              size_t ns, bool *sel)
{
	struct ec_validators v;
	size_t count = 0;
	ec_cond_validators(304, r304, n304, 0, &v);
	for (size_t i = 0; i < ns; i++)
		sel[i] = false;

	/* §4.3.4 bullet 1: a strong validator selects every stored match. */
	bool strong_tag = v.has_etag && !v.etag.weak;
	if (strong_tag || ec_cond_lm_strong(&v)) {
		for (size_t i = 0; i < ns; i++) {
			bool match = strong_tag
			                     ? s[i].has_etag &&
			                               ec_cond_etag_strong_eq(&v.etag, &s[i].etag)
			                     : ec_cond_lm_strong(&s[i]) &&
			                               s[i].last_modified == v.last_modified;
			if (match) {
				sel[i] = true;
				count++;
			}
		}
		return count;
	}
	/* Bullet 2: a weak validator selects the most recent match. */
	if (v.has_etag || v.has_lm) {
		size_t best = ns;
		for (size_t i = 0; i < ns; i++) {
			bool match =
			        v.has_etag
			                ? s[i].has_etag && ec_cond_etag_weak_eq(&v.etag, &s[i].etag)
			                : s[i].has_lm && s[i].last_modified == v.last_modified;
			if (match && (best == ns || (s[i].has_date && (!s[best].has_date ||
			                                               s[i].date > s[best].date))))
				best = i;
		}
		if (best == ns)
			return 0;
		sel[best] = true;
		return 1;
	}
	/* Bullet 3: no validator, one stored response without one either. */
	if (ns == 1 && !s[0].has_etag && !s[0].has_lm) {
		sel[0] = true;
		return 1;
	}
	return 0;
}

/* Fields a 304 / HEAD response never updates (RFC 9111 §3.1, §3.2). */
static bool updatable(const struct ec_hdr *upd, size_t nu, struct ec_str name)
{
	if (ec_str_caseeq_lit(name, "Content-Length") || ec_str_caseeq_lit(name, "Content-Range") ||
	    ec_str_caseeq_lit(name, "Content-Encoding"))
		return false;
	return ec_fresh_keep_field(NULL, upd, nu, name);
}

int ec_cond_merge(const struct ec_hdr *stored, size_t ns, const struct ec_hdr *upd, size_t nu,
                  struct ec_hdr *out, size_t cap, size_t *nout)
{
	size_t k = 0;
	for (size_t i = 0; i < ns; i++) {
		bool replaced = false;
		for (size_t j = 0; j < nu && !replaced; j++)
			replaced = ec_str_caseeq(upd[j].name, stored[i].name) &&
			           updatable(upd, nu, upd[j].name);
		if (!replaced) {
			if (k < cap)
				out[k] = stored[i];
			k++;
		}
	}
	for (size_t j = 0; j < nu; j++) {
		if (!updatable(upd, nu, upd[j].name))
			continue;
		if (k < cap)
			out[k] = upd[j];
		k++;
	}
	*nout = k;
	return k <= cap ? 0 : -1;
}

enum ec_head_update ec_cond_head_check(const struct ec_hdr *stored, size_t ns,
                                       const struct ec_hdr *head, size_t nh)
{
	struct ec_validators s, h;
	ec_cond_validators(200, stored, ns, 0, &s);
	ec_cond_validators(200, head, nh, 0, &h);
	if (ec_hdr_find(head, nh, "ETag") != NULL &&
	    !(h.has_etag && s.has_etag && h.etag.weak == s.etag.weak &&
	      ec_str_eq(h.etag.opaque, s.etag.opaque)))
		return EC_HEAD_STALE;
	if (ec_hdr_find(head, nh, "Last-Modified") != NULL &&
	    !(h.has_lm && s.has_lm && h.last_modified == s.last_modified))
		return EC_HEAD_STALE;
	const struct ec_hdr *hcl = ec_hdr_find(head, nh, "Content-Length");
	if (hcl != NULL) {
		const struct ec_hdr *scl = ec_hdr_find(stored, ns, "Content-Length");
		uint64_t a, b;
		if (scl == NULL || !ec_str_to_u64(ec_str_trim(hcl->value), &a) ||
		    !ec_str_to_u64(ec_str_trim(scl->value), &b) || a != b)
			return EC_HEAD_STALE;
	}
	return EC_HEAD_UPDATE;
}
