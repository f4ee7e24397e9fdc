/*
 * ec_http.h — HTTP vocabulary shared by the daemon (src/), the store
 * (storage/) and the policy code (policy/): header fields as string views,
 * methods, and header-list lookups.
 *
 * A header list is an array of `struct ec_hdr` whose views point into memory
 * owned by the caller (the connection's read buffer, a stored header block).
 * Field names keep the case they arrived in; lookups are case-insensitive.
 * Repeated fields stay as separate entries in arrival order.
 */
#ifndef EC_HTTP_H
#define EC_HTTP_H

#include "ec_util.h"

struct ec_hdr {
	struct ec_str name;
	struct ec_str value; /* OWS already trimmed on both sides */
};

#define EC_METHOD_TABLE(X)                                                                         \
	X(GET, "GET", 1, 1)                                                                        \
	X(HEAD, "HEAD", 1, 1)                                                                      \
	X(POST, "POST", 0, 0)                                                                      \
	X(PUT, "PUT", 0, 1)                                                                        \
	X(DELETE, "DELETE", 0, 1)                                                                  \
	X(CONNECT, "CONNECT", 0, 0)                                                                \
	X(OPTIONS, "OPTIONS", 1, 1)                                                                \
	X(TRACE, "TRACE", 1, 1)                                                                    \
	X(PATCH, "PATCH", 0, 0)                                                                    \
	X(PURGE, "PURGE", 0, 1)

/* EC_M_OTHER: a syntactically valid method we do not know (forwarded as is). */
enum ec_method {
	EC_M_INVALID = 0,
#define X(sym, str, safe, idem) EC_M_##sym,
	EC_METHOD_TABLE(X)
#undef X
	EC_M_OTHER,
};

/* Maps a method token to its enum (case-sensitive, RFC 9110 §9.1). */
enum ec_method ec_method_from_str(struct ec_str s);
/* Safe (RFC 9110 §9.2.1) and idempotent (§9.2.2) methods. */
bool ec_method_is_safe(enum ec_method m);
bool ec_method_is_idempotent(enum ec_method m);

/* First field with this name, or NULL. */
const struct ec_hdr *ec_hdr_find_str(const struct ec_hdr *h, size_t n, struct ec_str name);
/* The same for a C string; inline so a literal's length is folded. */
static inline const struct ec_hdr *ec_hdr_find(const struct ec_hdr *h, size_t n, const char *name)
{
	return ec_hdr_find_str(h, n, ec_str_cstr(name));
}
/* The next field with the same name after `prev` (which is in h[0..n)). */
const struct ec_hdr *ec_hdr_find_next(const struct ec_hdr *h, size_t n,
				      const struct ec_hdr *prev);
/* Number of fields with this name. */
size_t ec_hdr_count(const struct ec_hdr *h, size_t n, const char *name);

/*
 * Iterates over the comma-separated list elements of every field named
 * `name` (RFC 9110 §5.6.1), skipping empty elements and OWS, and honouring
 * quoted strings (a comma inside quotes does not split). Usage:
 *
 *	struct ec_hdr_iter it = {0};
 *	struct ec_str elem;
 *	while (ec_hdr_list_next(h, n, "Cache-Control", &it, &elem)) ...
 */
struct ec_hdr_iter {
	const struct ec_hdr *field; /* current field, NULL before the first */
	size_t off;                 /* offset in field->value */
};
bool ec_hdr_list_next_str(const struct ec_hdr *h, size_t n, struct ec_str name,
			  struct ec_hdr_iter *it, struct ec_str *elem);
static inline bool ec_hdr_list_next(const struct ec_hdr *h, size_t n, const char *name,
				    struct ec_hdr_iter *it, struct ec_str *elem)
{
	return ec_hdr_list_next_str(h, n, ec_str_cstr(name), it, elem);
}

/* Whether a comma-separated field list contains `token` (case-insensitive). */
bool ec_hdr_has_token(const struct ec_hdr *h, size_t n, const char *name, const char *token);

/* RFC 9110 §5.6.2 tchar. */
extern const unsigned char ec_tchar[256];
static inline bool ec_is_tchar(unsigned char c)
{
	return ec_tchar[c] != 0;
}

/* Reason phrase for a status code ("OK", "Not Found"); "Unknown" when none. */
const char *ec_http_reason(int status);

/*
 * HTTP dates (RFC 9110 §5.6.7): parses IMF-fixdate, the obsolete RFC 850
 * and asctime forms. Returns false when the value is not a valid date.
 * Formats IMF-fixdate into out (at least 30 bytes), returns its length (29).
 */
bool ec_http_date_parse(struct ec_str s, int64_t *t);
size_t ec_http_date_format(int64_t t, char *out);

#endif /* EC_HTTP_H */
