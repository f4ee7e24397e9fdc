/*
 * policy/sf.h — the part of Structured Field Values (RFC 8941) that policy/
 * needs: parsing a Dictionary (targeted cache-control fields, RFC 9213
 * §2.1) and serialising Tokens and Strings (Cache-Status, RFC 9211).
 *
 * Pure functions over caller-owned memory; no allocation, no state.
 */
#ifndef EC_POLICY_SF_H
#define EC_POLICY_SF_H

#include "ec_http.h"

/* RFC 8941 §3.3.1: integers have at most 15 digits. */
#define EC_SF_INTEGER_MAX 999999999999999LL

enum ec_sf_type {
	EC_SF_INVALID = 0,
	EC_SF_INTEGER,    /* .integer */
	EC_SF_DECIMAL,    /* .raw is the text, e.g. "1.5" */
	EC_SF_STRING,     /* .raw is the content between the quotes, escapes kept */
	EC_SF_TOKEN,      /* .raw */
	EC_SF_BINARY,     /* .raw is the base64 text between the colons */
	EC_SF_BOOLEAN,    /* .integer is 0 or 1; a bare key is Boolean true */
	EC_SF_INNER_LIST, /* .raw is the whole "( ... )" */
};

/* One Dictionary member; its parameters are checked and skipped. */
struct ec_sf_member {
	struct ec_str key;
	enum ec_sf_type type;
	int64_t integer;
	struct ec_str raw;
	bool escaped; /* STRING: raw contains backslash escapes */
};

typedef void ec_sf_member_f(const struct ec_sf_member *m, void *arg);

/*
 * Parses `s` as an sf-dictionary (RFC 8941 §4.2.2), strictly: lowercase
 * keys, at most 15-digit integers, no trailing comma. Calls `cb` (may be
 * NULL: validate only) for each member in order; a later duplicate key is
 * reported again and, per §3.2, overrides the earlier one. An empty or
 * all-blank `s` is a valid empty dictionary.
 *
 * Returns the number of members (>= 0), or -1 on a syntax error, in which
 * case `cb` may already have been called: validate first (cb == NULL) when
 * the whole field must be discarded on failure.
 */
int ec_sf_dict_parse(struct ec_str s, ec_sf_member_f *cb, void *arg);

/* Whether `s` is a valid sf-token (RFC 8941 §3.3.4): (ALPHA / "*") *(tchar / ":" / "/"). */
bool ec_sf_is_token(struct ec_str s);

/*
 * Serialises `s` as an sf-string (RFC 8941 §4.1.6): DQUOTE, `"` and `\`
 * escaped, DQUOTE. Bytes outside %x20-7E cannot be represented and are
 * written as '?'. snprintf convention: returns the length of the full
 * output and writes at most cap - 1 bytes of it plus a NUL (buf may be
 * NULL when cap is 0); the output is complete when the result < cap.
 */
size_t ec_sf_write_string(char *buf, size_t cap, struct ec_str s);

/* As ec_sf_write_string, but as a token when `s` is one, else a string. */
size_t ec_sf_write_token_or_string(char *buf, size_t cap, struct ec_str s);

#endif /* EC_POLICY_SF_H */
