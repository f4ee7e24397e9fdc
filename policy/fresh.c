/*
 * policy/fresh.c — RFC 9111's expiration model for a shared cache:
 * storability (§3, §3.1, §3.5), freshness lifetime (§4.2.1, §4.2.2), age
 * (§4.2.3, §5.1) and the reuse decision (§4, §4.2.4, §5.2.1, §5.4,
 * RFC 5861). Status code properties come from tbl/status.h.
 *
 * Pure functions; time is a parameter; no allocation, no state, no locks.
 */
#include "policy/fresh.h"
#include "tbl/status.h"

static const struct status_info {
	int code;
	bool understood, heuristic, store;
} statuses[] = {
/* clang-format off */
#define X(code, und, heur, store, ref) {code, und, heur, store},
	EC_STATUS_TABLE(X)
#undef X
};
/* clang-format on */

static const struct status_info *status_info(int status)
{
	for (size_t i = 0; i < EC_ARRAY_LEN(statuses); i++)
		if (statuses[i].code == status)
			return &statuses[i];
	return NULL;
}

bool ec_fresh_status_understood(int status)
{
	const struct status_info *si = status_info(status);
	return si != NULL && si->understood;
}

bool ec_fresh_status_heuristic(int status)
{
	const struct status_info *si = status_info(status);
	return si != NULL && si->heuristic;
}

void ec_fresh_conf_init(struct ec_fresh_conf *c)
{
	*c = (struct ec_fresh_conf){
	        .targets = ec_cc_default_targets,
	        .ntargets = EC_CC_DEFAULT_TARGETS,
	        .heuristic_pct = 10,
	        .heuristic_max = 86400,
	        .default_ttl = 0,
	        .stale_on_error = 0,
	};
}

static int64_t sat_add(int64_t a, int64_t b)
{
	int64_t r = a + b;
	return r > EC_DELTA_MAX ? EC_DELTA_MAX : r;
}

static int64_t clamp_delta(int64_t v)
{
	return v < 0 ? 0 : (v > EC_DELTA_MAX ? EC_DELTA_MAX : v);
}

void ec_fresh_req_parse(enum ec_method m, const struct ec_hdr *h, size_t n,
                        struct ec_fresh_req *out)
{
	*out = (struct ec_fresh_req){.method = m};
	enum ec_cc_rc rc =
	        ec_cc_parse(h, n, "Cache-Control", EC_CC_SYNTAX_CC, EC_CC_REQUEST, &out->cc);
	out->has_cc = rc != EC_CC_ABSENT;
	out->no_cache = ec_cc_has(&out->cc, EC_CC_NO_CACHE);
	/* §5.4: Pragma: no-cache counts only when Cache-Control is absent. */
	if (!out->has_cc && ec_hdr_has_token(h, n, "Pragma", "no-cache"))
		out->no_cache = true;
	out->authorization = ec_hdr_find(h, n, "Authorization") != NULL;
}

/* A singleton date field: every line must parse and agree. */
static enum ec_fresh_datef date_field(const struct ec_hdr *h, size_t n, const char *name,
                                      int64_t *out)
{
	const struct ec_hdr *f = ec_hdr_find(h, n, name);
	if (f == NULL)
		return EC_DATEF_ABSENT;
	if (!ec_http_date_parse(f->value, out))
		return EC_DATEF_BAD;
	for (f = ec_hdr_find_next(h, n, f); f; f = ec_hdr_find_next(h, n, f)) {
		int64_t t;
		if (!ec_http_date_parse(f->value, &t) || t != *out)
			return EC_DATEF_CONFLICT;
	}
	return EC_DATEF_VALID;
}

static void resp_parse_cc(int status, const struct ec_hdr *h, size_t n,
                          const struct ec_fresh_conf *conf, struct ec_fresh_resp *out);
static void resp_parse_rest(const struct ec_hdr *h, size_t n, struct ec_fresh_resp *out);

void ec_fresh_resp_parse(int status, const struct ec_hdr *h, size_t n,
                         const struct ec_fresh_conf *conf, struct ec_fresh_resp *out)
{
	resp_parse_cc(status, h, n, conf, out);
	resp_parse_rest(h, n, out);
}

/* The status and the cache directives (the targeted field's, if any). */
static void resp_parse_cc(int status, const struct ec_hdr *h, size_t n,
                          const struct ec_fresh_conf *conf, struct ec_fresh_resp *out)
{
	*out = (struct ec_fresh_resp){.status = status};
	out->target = ec_cc_parse_response(h, n, conf ? conf->targets : NULL,
	                                   conf ? conf->ntargets : 0, &out->cc);
}

/* Everything else: the dates, Age, ETag and Vary. */
static void resp_parse_rest(const struct ec_hdr *h, size_t n, struct ec_fresh_resp *out)
{
	out->date_st = date_field(h, n, "Date", &out->date);
	out->expires_st = date_field(h, n, "Expires", &out->expires);
	/* RFC 9213 §2.2: a targeted field overrides Expires as well. */
	if (out->target >= 0)
		out->expires_st = EC_DATEF_ABSENT;
	out->lm_st = date_field(h, n, "Last-Modified", &out->last_modified);

	/* §5.1: use the first member; ignore it when it is not delta-seconds. */
	struct ec_hdr_iter it = {0};
	struct ec_str e;
	if (ec_hdr_list_next(h, n, "Age", &it, &e)) {
		int64_t v = 0;
		size_t i = 0;
		for (; i < e.len && e.p[i] >= '0' && e.p[i] <= '9'; i++)
			v = EC_MIN(v * 10 + (e.p[i] - '0'), EC_DELTA_MAX);
		if (i == e.len) {
			out->has_age = true;
			out->age = v;
		}
	}
	out->has_etag = ec_hdr_find(h, n, "ETag") != NULL;
	out->vary_star = ec_hdr_has_token(h, n, "Vary", "*");
}

/* date_value: the Date field, or the receive time (RFC 9110 §6.6.1). */
static int64_t date_value(const struct ec_fresh_resp *r, int64_t response_time)
{
	return r->date_st == EC_DATEF_VALID ? r->date : response_time;
}

static bool has_explicit(const struct ec_fresh_resp *r)
{
	return ec_cc_has(&r->cc, EC_CC_S_MAXAGE) || ec_cc_has(&r->cc, EC_CC_MAX_AGE) ||
	       r->expires_st != EC_DATEF_ABSENT;
}

struct ec_lifetime ec_fresh_lifetime(const struct ec_fresh_resp *r, int64_t response_time,
                                     const struct ec_fresh_conf *c)
{
	const struct ec_cc *cc = &r->cc;
	struct ec_lifetime l = {0, EC_FSRC_NONE};

	/* §4.2.1 first match; §4.2.1 last paragraph: invalid/conflicting → stale. */
	if (ec_cc_has(cc, EC_CC_S_MAXAGE)) {
		int64_t v = ec_cc_secs(cc, EC_CC_S_MAXAGE);
		return v < 0 ? (struct ec_lifetime){0, EC_FSRC_CONFLICT}
		             : (struct ec_lifetime){v, EC_FSRC_S_MAXAGE};
	}
	if (ec_cc_has(cc, EC_CC_MAX_AGE)) {
		int64_t v = ec_cc_secs(cc, EC_CC_MAX_AGE);
		return v < 0 ? (struct ec_lifetime){0, EC_FSRC_CONFLICT}
		             : (struct ec_lifetime){v, EC_FSRC_MAX_AGE};
	}
	switch (r->expires_st) {
	case EC_DATEF_VALID:
		/* §5.3 with §4.2.1: Expires minus Date. */
		l.secs = clamp_delta(r->expires - date_value(r, response_time));
		l.src = EC_FSRC_EXPIRES;
		return l;
	case EC_DATEF_BAD:
		/* §5.3: invalid dates, especially "0", are in the past. */
		return (struct ec_lifetime){0, EC_FSRC_EXPIRES};
	case EC_DATEF_CONFLICT:
		return (struct ec_lifetime){0, EC_FSRC_CONFLICT};
	default:
		break;
	}
	/* §4.2.2: heuristics only for heuristically cacheable or public responses. */
	if (!ec_fresh_status_heuristic(r->status) && !ec_cc_has(cc, EC_CC_PUBLIC))
		return l;
	if (c == NULL)
		return l;
	int64_t date = date_value(r, response_time);
	if (r->lm_st == EC_DATEF_VALID && r->last_modified <= date) {
		int64_t v = (date - r->last_modified) / 100 * c->heuristic_pct +
		            (date - r->last_modified) % 100 * c->heuristic_pct / 100;
		if (v > c->heuristic_max)
			v = c->heuristic_max;
		if (v > 0)
			return (struct ec_lifetime){clamp_delta(v), EC_FSRC_HEURISTIC};
	}
	if (c->default_ttl > 0)
		return (struct ec_lifetime){clamp_delta(c->default_ttl), EC_FSRC_DEFAULT};
	return l;
}

int64_t ec_fresh_initial_age(const struct ec_fresh_resp *r, int64_t request_time,
                             int64_t response_time)
{
	int64_t apparent_age = EC_MAX(0, response_time - date_value(r, response_time));
	int64_t response_delay = EC_MAX(0, response_time - request_time);
	int64_t corrected_age_value = sat_add(r->has_age ? r->age : 0, response_delay);
	return clamp_delta(EC_MAX(apparent_age, corrected_age_value));
}

int64_t ec_fresh_current_age(int64_t initial_age, int64_t response_time, int64_t now)
{
	int64_t resident_time = EC_MAX(0, now - response_time);
	return clamp_delta(sat_add(clamp_delta(initial_age), clamp_delta(resident_time)));
}

static struct ec_store_decision no(enum ec_cs_detail why)
{
	return (struct ec_store_decision){
	        .verdict = EC_STORE_NO, .why = why, .reason = ec_cs_detail_str(why)};
}

/*
 * The refusals that need only the method, the status and the directives,
 * in §3's order. They come first, so a refused response (no-store, the
 * pass-through case) is judged without parsing its dates.
 */
static enum ec_cs_detail early_refusal(const struct ec_fresh_req *rq,
                                       const struct ec_fresh_resp *rs)
{
	const struct ec_cc *cc = &rs->cc;
	const struct status_info *si = status_info(rs->status);

	if (rq->method != EC_M_GET)
		return EC_CS_DETAIL_METHOD;
	if (rs->status < 200 || rs->status > 999)
		return EC_CS_DETAIL_STATUS;
	bool understood = si != NULL && si->understood;
	if (ec_cc_has(cc, EC_CC_MUST_UNDERSTAND) && !understood)
		return EC_CS_DETAIL_MUST_UNDERSTAND;
	if (rs->status == 206)
		return EC_CS_DETAIL_PARTIAL;
	if (si != NULL && !si->store)
		return EC_CS_DETAIL_STATUS;
	/* §5.2.2.3: an understood must-understand overrides no-store. */
	if (ec_cc_has(cc, EC_CC_NO_STORE) && !ec_cc_has(cc, EC_CC_MUST_UNDERSTAND))
		return EC_CS_DETAIL_NO_STORE;
	if (ec_cc_has(&rq->cc, EC_CC_NO_STORE))
		return EC_CS_DETAIL_REQ_NO_STORE;
	if (ec_cc_has(cc, EC_CC_PRIVATE) && cc->priv.all)
		return EC_CS_DETAIL_PRIVATE;
	if (rq->authorization && !ec_cc_has(cc, EC_CC_PUBLIC) && !ec_cc_has(cc, EC_CC_S_MAXAGE) &&
	    !ec_cc_has(cc, EC_CC_MUST_REVALIDATE))
		return EC_CS_DETAIL_AUTHORIZATION;
	return EC_CS_DETAIL_NONE;
}

/* The rest of §3: what needs the dates, validators and Vary. */
static struct ec_store_decision verdict_rest(const struct ec_fresh_resp *rs,
                                             int64_t response_time,
                                             const struct ec_fresh_conf *c)
{
	const struct ec_cc *cc = &rs->cc;
	if (rs->vary_star)
		return no(EC_CS_DETAIL_VARY_STAR);
	if (!ec_cc_has(cc, EC_CC_PUBLIC) && !has_explicit(rs) &&
	    !ec_fresh_status_heuristic(rs->status))
		return no(EC_CS_DETAIL_NO_FRESHNESS);

	struct ec_lifetime life = ec_fresh_lifetime(rs, response_time, c);
	bool validator = rs->has_etag || rs->lm_st == EC_DATEF_VALID;
	bool no_cache = ec_cc_has(cc, EC_CC_NO_CACHE) && cc->no_cache.all;
	bool windows = ec_cc_secs(cc, EC_CC_STALE_WHILE_REVALIDATE) > 0 ||
	               ec_cc_secs(cc, EC_CC_STALE_IF_ERROR) > 0;
	if (!validator && (no_cache || (life.secs == 0 && !windows)))
		return no(EC_CS_DETAIL_NO_FRESHNESS);

	return (struct ec_store_decision){
	        .verdict = EC_STORE_YES,
	        .why = EC_CS_DETAIL_NONE,
	        .reason = ec_cs_detail_str(EC_CS_DETAIL_NONE),
	        .strip = (ec_cc_has(cc, EC_CC_PRIVATE) && cc->priv.n > 0) ||
	                 (ec_cc_has(cc, EC_CC_NO_CACHE) && !cc->no_cache.all && cc->no_cache.n > 0),
	        .life = life,
	};
}

struct ec_store_decision ec_fresh_storable(const struct ec_fresh_req *rq,
                                           const struct ec_fresh_resp *rs, int64_t response_time,
                                           const struct ec_fresh_conf *c)
{
	enum ec_cs_detail why = early_refusal(rq, rs);
	if (why != EC_CS_DETAIL_NONE)
		return no(why);
	return verdict_rest(rs, response_time, c);
}

struct ec_store_decision ec_fresh_store_check(const struct ec_fresh_req *rq, int status,
                                              const struct ec_hdr *h, size_t n,
                                              int64_t response_time,
                                              const struct ec_fresh_conf *c,
                                              struct ec_fresh_resp *out)
{
	resp_parse_cc(status, h, n, c, out);
	enum ec_cs_detail why = early_refusal(rq, out);
	if (why != EC_CS_DETAIL_NONE)
		return no(why);
	resp_parse_rest(h, n, out);
	return verdict_rest(out, response_time, c);
}

/* §3.1 and RFC 9110 §7.6.1: never stored. */
static const char *const unstored[] = {
        "Connection",
        "Keep-Alive",
        "Proxy-Connection",
        "TE",
        "Transfer-Encoding",
        "Upgrade",
        "Trailer",
        "Proxy-Authenticate",
        "Proxy-Authentication-Info",
        "Proxy-Authorization",
};

bool ec_fresh_keep_field(const struct ec_fresh_resp *rs, const struct ec_hdr *h, size_t n,
                         struct ec_str name)
{
	for (size_t i = 0; i < EC_ARRAY_LEN(unstored); i++)
		if (ec_str_caseeq_lit(name, unstored[i]))
			return false;
	/* RFC 9110 §7.6.1: fields named by Connection are hop-by-hop. */
	struct ec_hdr_iter it = {0};
	struct ec_str e;
	while (ec_hdr_list_next(h, n, "Connection", &it, &e))
		if (ec_str_caseeq(e, name))
			return false;
	if (rs != NULL) {
		const struct ec_cc *cc = &rs->cc;
		if (ec_cc_has(cc, EC_CC_PRIVATE) && ec_cc_fields_has(&cc->priv, name))
			return false;
		if (ec_cc_has(cc, EC_CC_NO_CACHE) && ec_cc_fields_has(&cc->no_cache, name))
			return false;
	}
	return true;
}

void ec_fresh_meta_make(const struct ec_fresh_resp *r, int64_t request_time, int64_t response_time,
                        const struct ec_fresh_conf *c, struct ec_fresh_meta *out)
{
	const struct ec_cc *cc = &r->cc;
	struct ec_lifetime life = ec_fresh_lifetime(r, response_time, c);
	*out = (struct ec_fresh_meta){
	        .response_time = response_time,
	        .initial_age = ec_fresh_initial_age(r, request_time, response_time),
	        .lifetime = life.secs,
	        .swr = EC_MAX(0, ec_cc_secs(cc, EC_CC_STALE_WHILE_REVALIDATE)),
	        .sie = EC_MAX(0, ec_cc_secs(cc, EC_CC_STALE_IF_ERROR)),
	        .source = life.src,
	};
	if (ec_cc_has(cc, EC_CC_NO_CACHE) && cc->no_cache.all)
		out->flags |= EC_FMETA_NO_CACHE;
	/* §4.2.4, §5.2.2.2, §5.2.2.8, §5.2.2.10: no stale reuse. */
	if (ec_cc_has(cc, EC_CC_MUST_REVALIDATE) || ec_cc_has(cc, EC_CC_PROXY_REVALIDATE) ||
	    ec_cc_has(cc, EC_CC_S_MAXAGE))
		out->flags |= EC_FMETA_NO_STALE;
	if (ec_cc_has(cc, EC_CC_IMMUTABLE))
		out->flags |= EC_FMETA_IMMUTABLE;
	if (r->has_etag || r->lm_st == EC_DATEF_VALID)
		out->flags |= EC_FMETA_VALIDATOR;
}

int64_t ec_fresh_meta_age(const struct ec_fresh_meta *m, int64_t now)
{
	return ec_fresh_current_age(m->initial_age, m->response_time, now);
}

int64_t ec_fresh_age_value(const struct ec_fresh_meta *m, int64_t now)
{
	return clamp_delta(ec_fresh_meta_age(m, now));
}

int64_t ec_fresh_ttl(const struct ec_fresh_meta *m, int64_t now)
{
	return m->lifetime - ec_fresh_meta_age(m, now);
}

static struct ec_fresh_decision decision(enum ec_fresh_use use, enum ec_cs_detail why, int64_t age,
                                         int64_t ttl)
{
	return (struct ec_fresh_decision){.use = use, .why = why, .age = age, .ttl = ttl};
}

struct ec_fresh_decision ec_fresh_decide(const struct ec_fresh_meta *m,
                                         const struct ec_fresh_req *rq, int64_t now,
                                         const struct ec_fresh_conf *c)
{
	const struct ec_cc *q = &rq->cc;
	bool only_if_cached = ec_cc_has(q, EC_CC_ONLY_IF_CACHED);

	if (rq->method != EC_M_GET && rq->method != EC_M_HEAD)
		return decision(EC_USE_BYPASS, EC_CS_DETAIL_METHOD, 0, 0);
	if (m == NULL)
		return only_if_cached
		               ? decision(EC_USE_GATEWAY_TIMEOUT, EC_CS_DETAIL_ONLY_IF_CACHED, 0, 0)
		               : decision(EC_USE_MISS, EC_CS_DETAIL_NONE, 0, 0);

	int64_t age = ec_fresh_meta_age(m, now);
	int64_t ttl = m->lifetime - age;
	int64_t staleness = -ttl;
	bool fresh = ttl > 0; /* §4.2: freshness_lifetime > current_age */
	bool no_stale = (m->flags & (EC_FMETA_NO_STALE | EC_FMETA_NO_CACHE)) != 0;
	struct ec_fresh_decision d;

	/* serve_on_error: §4.2.4 and RFC 5861 §4 (request's stale-if-error first). */
	int64_t sie = m->sie;
	if (ec_cc_has(q, EC_CC_STALE_IF_ERROR))
		sie = EC_MAX(0, ec_cc_secs(q, EC_CC_STALE_IF_ERROR));
	if (c != NULL && c->stale_on_error > sie)
		sie = c->stale_on_error;
	bool on_error = !(m->flags & EC_FMETA_NO_CACHE) &&
	                (fresh || (!no_stale && sie > 0 && staleness <= sie));

	int64_t max_age =
	        ec_cc_has(q, EC_CC_MAX_AGE) ? EC_MAX(0, ec_cc_secs(q, EC_CC_MAX_AGE)) : -1;
	int64_t min_fresh = ec_cc_has(q, EC_CC_MIN_FRESH) ? ec_cc_secs(q, EC_CC_MIN_FRESH) : -1;
	bool min_fresh_bad = ec_cc_has(q, EC_CC_MIN_FRESH) && min_fresh < 0;
	int64_t max_stale = ec_cc_secs(q, EC_CC_MAX_STALE);

	if (m->flags & EC_FMETA_NO_CACHE)
		d = decision(EC_USE_REVALIDATE, EC_CS_DETAIL_NO_CACHE, age, ttl);
	else if (rq->no_cache)
		d = decision(EC_USE_REVALIDATE, EC_CS_DETAIL_REQ_NO_CACHE, age, ttl);
	else if (max_age >= 0 && age > max_age)
		d = decision(EC_USE_REVALIDATE, EC_CS_DETAIL_REQ_MAX_AGE, age, ttl);
	else if (fresh && (min_fresh_bad || (min_fresh >= 0 && ttl < min_fresh)))
		d = decision(EC_USE_REVALIDATE, EC_CS_DETAIL_REQ_MIN_FRESH, age, ttl);
	else if (fresh)
		d = decision(EC_USE_FRESH, EC_CS_DETAIL_FRESH, age, ttl);
	else if (no_stale)
		d = decision(EC_USE_REVALIDATE, EC_CS_DETAIL_MUST_REVALIDATE, age, ttl);
	else if (ec_cc_has(q, EC_CC_MIN_FRESH))
		d = decision(EC_USE_REVALIDATE, EC_CS_DETAIL_REQ_MIN_FRESH, age, ttl);
	else if (max_stale >= 0 && staleness <= max_stale)
		d = decision(EC_USE_STALE, EC_CS_DETAIL_MAX_STALE, age, ttl);
	else if (m->swr > 0 && staleness <= m->swr)
		d = decision(EC_USE_STALE_REVALIDATE, EC_CS_DETAIL_STALE_WHILE_REVALIDATE, age,
		             ttl);
	else
		d = decision(EC_USE_REVALIDATE, EC_CS_DETAIL_STALE, age, ttl);

	d.serve_on_error = on_error;
	/* §5.2.1.7: nothing forwarded for only-if-cached. */
	if (only_if_cached && d.use == EC_USE_REVALIDATE) {
		d.use = EC_USE_GATEWAY_TIMEOUT;
		d.why = EC_CS_DETAIL_ONLY_IF_CACHED;
		d.serve_on_error = false;
	}
	return d;
}
