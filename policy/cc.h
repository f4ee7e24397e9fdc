/*
 * policy/cc.h — Cache-Control (RFC 9111 §5.2) and targeted cache-control
 * fields (RFC 9213: CDN-Cache-Control, Surrogate-Control) parsed into one
 * plain struct.
 *
 * Parsing never fails: what cannot be understood is ignored (§5.2.3) or,
 * when it concerns freshness, recorded in `invalid` so that policy/fresh.c
 * treats the response as stale (§4.2.1). Field-name lists of qualified
 * no-cache / private are kept as views into the caller's header values:
 * the struct is valid only while those header values are.
 *
 * Pure functions; no allocation, no state, no locks.
 */
#ifndef EC_POLICY_CC_H
#define EC_POLICY_CC_H

#include "ec_http.h"
#include "tbl/cc_directive.h"

/* One value per directive of policy/tbl/cc_directive.h. */
/* X-macro expansion: keep clang-format away */
/* clang-format off */
enum ec_cc_dir {
	EC_CC_INVALID = 0,
#define X(sym, name, arg, side, loose, ref) EC_CC_##sym,
	EC_CC_DIRECTIVE_TABLE(X)
#undef X
	EC_CC__COUNT,
};
/* clang-format on */

#define EC_CC_BIT(d) (1u << (d))

/* delta-seconds greater than this become this (RFC 9111 §1.2.2). */
#define EC_DELTA_MAX 2147483648LL
/* secs[EC_CC_MAX_STALE] for a max-stale without a value: any staleness. */
#define EC_CC_STALE_ANY INT64_MAX
/* Distinct qualified lists kept per directive; more degrade to unqualified. */
#define EC_CC_FIELDS_MAX 4

/*
 * A qualified no-cache or private: `list[i]` are the raw arguments (the
 * content of the quoted string, or the token) of each occurrence, each a
 * comma-separated field-name list. `all` is set by an unqualified
 * occurrence, an unusable argument (empty, escaped, or one list too many):
 * the restrictive reading, which then overrides the lists.
 */
struct ec_cc_fields {
	struct ec_str list[EC_CC_FIELDS_MAX];
	uint8_t n;
	bool all;
};

struct ec_cc {
	uint32_t present;             /* EC_CC_BIT(d): directive in force */
	uint32_t invalid;             /* EC_CC_BIT(d): bad or conflicting argument */
	int64_t secs[EC_CC__COUNT];   /* SECONDS / SECONDS_OPT values, when present */
	struct ec_cc_fields no_cache; /* meaningful when NO_CACHE is present */
	struct ec_cc_fields priv;     /* meaningful when PRIVATE is present */
};

/* Which side of the exchange a field list came from (table column `side`). */
enum ec_cc_side {
	EC_CC_SIDE_INVALID = 0,
	EC_CC_REQUEST,
	EC_CC_RESPONSE,
};

/* Field syntax: Cache-Control's (§5.2) or a Structured Fields Dictionary. */
enum ec_cc_syntax {
	EC_CC_SYNTAX_INVALID = 0,
	EC_CC_SYNTAX_CC, /* token [ "=" ( token / quoted-string ) ], RFC 9111 §5.2 */
	EC_CC_SYNTAX_SF, /* sf-dictionary, RFC 9213 §2.1 */
};

enum ec_cc_rc {
	EC_CC_RC_INVALID = 0,
	EC_CC_ABSENT, /* no field line with that name */
	EC_CC_EMPTY,  /* field present, no directive in it (blank) */
	EC_CC_OK,     /* parsed (unknown directives ignored) */
	EC_CC_SYNTAX, /* SF syntax only: unparsable, whole field ignored (RFC 9213 §2.1) */
};

/*
 * Parses every field line named `field` in h[0..n) as one Cache-Control
 * value (field lines combine as a list, RFC 9110 §5.3), for `side`,
 * writing `out` (always fully initialised, even on failure).
 *
 * Cache-Control syntax (RFC 9111 §5.2):
 *  - names are case-insensitive; arguments are a token or a quoted-string,
 *    accepted for every directive (delta-seconds included, as §5.2 asks);
 *    OWS around "=" is tolerated;
 *  - delta-seconds: digits only; greater than 2^31 becomes 2^31 (§1.2.2);
 *    anything else (empty, sign, letters, missing) sets `invalid`;
 *  - a repeated directive with a different argument sets `invalid` (the
 *    first value stays in `secs`); a repeated flag is harmless; qualified
 *    lists of repeated no-cache / private are collected;
 *  - a directive whose side is not `side`, and unknown ones, are ignored;
 *  - an argument on a directive that takes none sets `invalid`, and the
 *    directive still counts unless it loosens caching (table column loose).
 * SF syntax (RFC 9213 §2.1): a strict sf-dictionary; max-age etc. must be
 * non-negative Integers, no-cache/private Boolean true or a String list,
 * other directives Boolean (?0 means absent); parameters are ignored; a
 * later duplicate overrides an earlier one (RFC 8941 §3.2); a value of the
 * wrong type sets `invalid` as above.
 *
 * Returns how the field was found; see enum ec_cc_rc.
 */
enum ec_cc_rc ec_cc_parse(const struct ec_hdr *h, size_t n, const char *field,
                          enum ec_cc_syntax syntax, enum ec_cc_side side, struct ec_cc *out);

/* Whether directive `d` is in force. */
static inline bool ec_cc_has(const struct ec_cc *cc, enum ec_cc_dir d)
{
	return (cc->present & EC_CC_BIT(d)) != 0;
}

/* Whether directive `d` had a bad or conflicting argument. */
static inline bool ec_cc_invalid(const struct ec_cc *cc, enum ec_cc_dir d)
{
	return (cc->invalid & EC_CC_BIT(d)) != 0;
}

/*
 * The delta-seconds value of a SECONDS / SECONDS_OPT directive, or -1 when
 * it is absent or its argument is invalid or conflicting.
 */
static inline int64_t ec_cc_secs(const struct ec_cc *cc, enum ec_cc_dir d)
{
	if (!ec_cc_has(cc, d) || ec_cc_invalid(cc, d))
		return -1;
	return cc->secs[d];
}

/* Iterates over the field names of a qualified no-cache / private. */
struct ec_cc_fields_iter {
	size_t list, off;
};
bool ec_cc_fields_next(const struct ec_cc_fields *f, struct ec_cc_fields_iter *it,
                       struct ec_str *name);
/* Whether `name` (case-insensitive) is listed; false when f->all. */
bool ec_cc_fields_has(const struct ec_cc_fields *f, struct ec_str name);

/* Name of directive `d` ("max-age"), or NULL for an out-of-range value. */
const char *ec_cc_dir_name(enum ec_cc_dir d);

/*
 * Targeted cache-control (RFC 9213 §2.2): the ordered target list of this
 * cache. `strip` removes the field from responses sent downstream (RFC 9213
 * §3 encourages forwarding CDN-Cache-Control; edgecache strips by default
 * so that a CDN's directives do not reach browsers, configurable per field).
 */
struct ec_cc_target {
	const char *name;
	enum ec_cc_syntax syntax;
	bool strip;
};

/* {"CDN-Cache-Control", SF, strip}, {"Surrogate-Control", CC, strip}. */
#define EC_CC_DEFAULT_TARGETS 2
extern const struct ec_cc_target ec_cc_default_targets[EC_CC_DEFAULT_TARGETS];

/*
 * The directives that govern this cache for a response (RFC 9213 §2.2):
 * the first field of t[0..nt) that is present, parses and is non-empty
 * replaces Cache-Control (and Expires: see policy/fresh.h) entirely; when
 * none qualifies, Cache-Control applies.
 *
 * Returns the index in t of the field used, or -1 for Cache-Control
 * (present or not). `out` is always written.
 */
int ec_cc_parse_response(const struct ec_hdr *h, size_t n, const struct ec_cc_target *t, size_t nt,
                         struct ec_cc *out);

/*
 * Whether a response field named `name` is a target with `strip` set, and
 * must therefore not be forwarded downstream.
 */
bool ec_cc_strip_field(struct ec_str name, const struct ec_cc_target *t, size_t nt);

#endif /* EC_POLICY_CC_H */
