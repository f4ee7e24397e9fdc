/*
 * json.h — writing JSON into an evbuffer (the admin API's answers and the
 * origin's backend figures). Strings are escaped per RFC 8259: quote,
 * backslash and every control byte; other bytes pass through (keys and
 * header values are ASCII or UTF-8 as sent; bytes >= 0x80 that are not
 * valid UTF-8 are written as \u00XX so the output always parses).
 *
 * Pure helpers, no state; any thread.
 */
#ifndef EC_JSON_H
#define EC_JSON_H

#include <stddef.h>

#include "ec_util.h"

struct evbuffer;

/* Writes s[0..len) as a quoted, escaped JSON string. */
void ec_json_str(struct evbuffer *out, const char *s, size_t len);
static inline void ec_json_cstr(struct evbuffer *out, const char *s)
{
	ec_json_str(out, s, strlen(s));
}
static inline void ec_json_view(struct evbuffer *out, struct ec_str s)
{
	ec_json_str(out, s.p, s.len);
}
/* Writes a finite double with up to 6 significant decimals (NaN/inf → 0). */
void ec_json_double(struct evbuffer *out, double v);

#endif /* EC_JSON_H */
