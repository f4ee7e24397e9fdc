/*
 * fuzz_cc.c — libFuzzer harness for Cache-Control parsing (policy/cc.c,
 * policy/sf.c) and the freshness code that consumes it (policy/fresh.c).
 *
 * Input: field lines separated by '\n'. A line starting "C:" becomes a
 * CDN-Cache-Control line, "S:" Surrogate-Control, "A:" Age, "E:"
 * Expires, "D:" Date, "L:" Last-Modified, "P:" Pragma; any other line is a
 * Cache-Control line. Every parse must keep the invariants checked below;
 * a violation aborts (a bug, not bad input).
 */
#include <stdint.h>
#include <stdlib.h>

#include "policy/cc.h"
#include "policy/fresh.h"
#include "policy/sf.h"

#define MAX_LINES 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct {
	char tag;
	const char *name;
} tags[] = {
        {'C', "CDN-Cache-Control"},
        {'S', "Surrogate-Control"},
        {'A', "Age"},
        {'E', "Expires"},
        {'D', "Date"},
        {'L', "Last-Modified"},
        {'P', "Pragma"},
};

static bool inside(struct ec_str s, const uint8_t *data, size_t size)
{
	return s.len == 0 ||
	       ((const uint8_t *)s.p >= data && (const uint8_t *)s.p + s.len <= data + size);
}

static void check_fields(const struct ec_cc_fields *f, const uint8_t *data, size_t size)
{
	EC_ASSERT(f->n <= EC_CC_FIELDS_MAX);
	struct ec_cc_fields_iter it = {0};
	struct ec_str name;
	while (ec_cc_fields_next(f, &it, &name)) {
		EC_ASSERT(name.len > 0 && inside(name, data, size));
		EC_ASSERT(!ec_is_ows(name.p[0]) && !ec_is_ows(name.p[name.len - 1]));
		EC_ASSERT(memchr(name.p, ',', name.len) == NULL);
		EC_ASSERT(f->all || ec_cc_fields_has(f, name));
	}
}

static void check_cc(const struct ec_cc *cc, const uint8_t *data, size_t size)
{
	uint32_t all = (1u << EC_CC__COUNT) - 2; /* bits 1 .. COUNT-1 */
	EC_ASSERT((cc->present & ~all) == 0);
	EC_ASSERT((cc->invalid & ~all) == 0);
	for (int d = EC_CC_INVALID + 1; d < EC_CC__COUNT; d++) {
		int64_t v = ec_cc_secs(cc, (enum ec_cc_dir)d);
		EC_ASSERT(v == -1 || (v >= 0 && v <= EC_DELTA_MAX) ||
		          (d == EC_CC_MAX_STALE && v == EC_CC_STALE_ANY));
		if (!ec_cc_has(cc, (enum ec_cc_dir)d))
			EC_ASSERT(v == -1);
	}
	check_fields(&cc->no_cache, data, size);
	check_fields(&cc->priv, data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ec_hdr h[MAX_LINES];
	size_t n = 0, start = 0;
	for (size_t i = 0; i <= size && n < MAX_LINES; i++) {
		if (i < size && data[i] != '\n')
			continue;
		struct ec_str line = ec_str_make((const char *)data + start, i - start);
		const char *name = "Cache-Control";
		for (size_t t = 0; line.len >= 2 && line.p[1] == ':' && t < EC_ARRAY_LEN(tags); t++)
			if (line.p[0] == tags[t].tag) {
				name = tags[t].name;
				line = ec_str_make(line.p + 2, line.len - 2);
				break;
			}
		h[n].name = ec_str_cstr(name);
		h[n].value = ec_str_trim(line);
		n++;
		start = i + 1;
	}

	struct ec_cc cc;
	ec_cc_parse(h, n, "Cache-Control", EC_CC_SYNTAX_CC, EC_CC_REQUEST, &cc);
	check_cc(&cc, data, size);
	ec_cc_parse(h, n, "Cache-Control", EC_CC_SYNTAX_CC, EC_CC_RESPONSE, &cc);
	check_cc(&cc, data, size);
	enum ec_cc_rc rc =
	        ec_cc_parse(h, n, "CDN-Cache-Control", EC_CC_SYNTAX_SF, EC_CC_RESPONSE, &cc);
	check_cc(&cc, data, size);
	if (rc == EC_CC_SYNTAX || rc == EC_CC_ABSENT || rc == EC_CC_EMPTY)
		EC_ASSERT(cc.present == 0 && cc.invalid == 0);
	int t = ec_cc_parse_response(h, n, ec_cc_default_targets, EC_CC_DEFAULT_TARGETS, &cc);
	EC_ASSERT(t >= -1 && t < EC_CC_DEFAULT_TARGETS);
	check_cc(&cc, data, size);
	for (size_t i = 0; i < n; i++) {
		int k = ec_sf_dict_parse(h[i].value, NULL, NULL);
		EC_ASSERT(k >= -1);
	}

	/* the consumers: lifetime, age and decisions stay in range */
	struct ec_fresh_conf conf;
	struct ec_fresh_req rq;
	struct ec_fresh_resp rs;
	struct ec_fresh_meta m;
	ec_fresh_conf_init(&conf);
	conf.default_ttl = 60;
	const int64_t now = 1700000000;
	ec_fresh_req_parse(EC_M_GET, h, n, &rq);
	for (int status = 199; status <= 501; status += 101) {
		ec_fresh_resp_parse(status, h, n, &conf, &rs);
		struct ec_lifetime l = ec_fresh_lifetime(&rs, now, &conf);
		EC_ASSERT(l.secs >= 0 && l.secs <= EC_DELTA_MAX);
		EC_ASSERT(l.src > EC_FSRC_INVALID && l.src <= EC_FSRC_CONFLICT);
		struct ec_store_decision sd = ec_fresh_storable(&rq, &rs, now, &conf);
		EC_ASSERT(sd.verdict == EC_STORE_YES || sd.verdict == EC_STORE_NO);
		EC_ASSERT(sd.reason != NULL &&
		          (sd.verdict == EC_STORE_NO) == (sd.reason[0] != '\0'));
		ec_fresh_meta_make(&rs, now - 1, now, &conf, &m);
		EC_ASSERT(m.initial_age >= 0 && m.initial_age <= EC_DELTA_MAX);
		EC_ASSERT(m.swr >= 0 && m.sie >= 0);
		for (int64_t dt = 0; dt < 4000000000LL; dt = dt * 7 + 1) {
			struct ec_fresh_decision d = ec_fresh_decide(&m, &rq, now + dt, &conf);
			EC_ASSERT(d.use > EC_USE_INVALID && d.use <= EC_USE_GATEWAY_TIMEOUT);
			EC_ASSERT(d.age >= 0 && d.age <= EC_DELTA_MAX);
			EC_ASSERT(d.ttl == m.lifetime - d.age);
			EC_ASSERT(ec_fresh_age_value(&m, now + dt) == d.age);
			if (d.use == EC_USE_FRESH)
				EC_ASSERT(d.ttl > 0);
		}
		for (size_t i = 0; i < n; i++)
			(void)ec_fresh_keep_field(&rs, h, n, h[i].name);
	}
	return 0;
}
