/*
 * ec_util.h — the few things every edgecache module shares: always-on
 * assertions, magic-number checks, string views and small helpers.
 *
 * Three classes of error (STYLE.md): bugs are asserted here and abort with
 * file, line and expression; exhausted resources degrade; peer input is
 * answered with a code and a reason string and is never asserted on.
 *
 * Header-only, no state, no locks; usable from src/, storage/ and policy/.
 */
#ifndef EC_UTIL_H
#define EC_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define EC_LIKELY(x)   __builtin_expect(!!(x), 1)
#define EC_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define EC_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define EC_MIN(a, b) ((a) < (b) ? (a) : (b))
#define EC_MAX(a, b) ((a) > (b) ? (a) : (b))
#define EC_CACHELINE 64
#define EC_UNUSED __attribute__((unused))
#define EC_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* Aborts the process after printing where and what; never returns. */
void ec_assert_fail(const char *file, int line, const char *func, const char *expr)
	__attribute__((noreturn, cold));

#define EC_ASSERT(e)                                                                               \
	do {                                                                                       \
		if (EC_UNLIKELY(!(e)))                                                             \
			ec_assert_fail(__FILE__, __LINE__, __func__, #e);                          \
	} while (0)
#define EC_AN(p) EC_ASSERT((p) != NULL)
#define EC_AZ(x) EC_ASSERT((x) == 0)
#define EC_WRONG(why) ec_assert_fail(__FILE__, __LINE__, __func__, why)

/* Heap structs that travel through void * callbacks carry `unsigned magic`. */
#define EC_CHECK_MAGIC(p, m)                                                                       \
	do {                                                                                       \
		EC_AN(p);                                                                          \
		EC_ASSERT((p)->magic == (m));                                                      \
	} while (0)

/*
 * A string view: {ptr, len} into memory someone else owns (a read buffer,
 * a stored header block, a literal). Never NUL-terminated by contract.
 */
struct ec_str {
	const char *p;
	size_t len;
};

#define EC_STR(lit) ((struct ec_str){(lit), sizeof(lit) - 1})
#define EC_STR_NULL ((struct ec_str){NULL, 0})
#define EC_STR_FMT "%.*s"
#define EC_STR_ARG(s) (int)(s).len, (s).p

static inline struct ec_str ec_str_make(const char *p, size_t len)
{
	struct ec_str s = {p, len};
	return s;
}

static inline struct ec_str ec_str_cstr(const char *p)
{
	struct ec_str s = {p, p ? strlen(p) : 0};
	return s;
}

static inline bool ec_str_eq(struct ec_str a, struct ec_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static inline char ec_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

/* ASCII case-insensitive equality (field names, tokens). */
static inline bool ec_str_caseeq(struct ec_str a, struct ec_str b)
{
	if (a.len != b.len)
		return false;
	for (size_t i = 0; i < a.len; i++)
		if (ec_lower(a.p[i]) != ec_lower(b.p[i]))
			return false;
	return true;
}

static inline bool ec_str_caseeq_lit(struct ec_str a, const char *lit)
{
	return ec_str_caseeq(a, ec_str_cstr(lit));
}

static inline bool ec_str_has_prefix(struct ec_str s, struct ec_str prefix)
{
	return s.len >= prefix.len && (prefix.len == 0 || memcmp(s.p, prefix.p, prefix.len) == 0);
}

static inline bool ec_is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Strips optional whitespace (SP / HTAB) from both ends. */
static inline struct ec_str ec_str_trim(struct ec_str s)
{
	while (s.len && ec_is_ows(s.p[0])) {
		s.p++;
		s.len--;
	}
	while (s.len && ec_is_ows(s.p[s.len - 1]))
		s.len--;
	return s;
}

/*
 * Parses an unsigned decimal made of digits only (no sign, no space).
 * Returns false on an empty string, a non-digit or overflow of UINT64_MAX.
 */
static inline bool ec_str_to_u64(struct ec_str s, uint64_t *out)
{
	uint64_t v = 0;
	if (s.len == 0)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		unsigned d = (unsigned char)s.p[i] - '0';
		if (d > 9)
			return false;
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* Writes v in decimal at p (no NUL); returns the end. At most 20 bytes. */
static inline char *ec_put_u64(char *p, uint64_t v)
{
	char tmp[20];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

#endif /* EC_UTIL_H */
