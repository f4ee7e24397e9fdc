/*
 * http1_parse.c — edgecache's HTTP/1.1 parser (RFC 9112): request and
 * response heads, chunked bodies, hop-by-hop fields.
 *
 * A head is handled in two phases.
 *
 *  1. Scan (scan_head). From where the previous call stopped, memchr() for
 *     each LF; check that a CR precedes it, count field lines, and find the
 *     empty line that ends the head. The position is kept as offsets in
 *     struct ec_h1_parser, so however the head trickles in, each byte is
 *     searched once. The limits are checked here, on partial input too.
 *
 *  2. Parse (parse_request / parse_response). Once the head is complete, one
 *     pass over it with byte-class tables splits the start line, fills the
 *     caller's field array with views into its buffer, and applies the
 *     semantic checks: Host, Content-Length, Transfer-Encoding, Connection,
 *     Expect. Nothing is copied, nothing allocated.
 *
 * Split independence. Phase 1 decides only from bytes it has seen, and a
 * limit is reported at the first prefix where it can no longer be met (the
 * earliest of the request-line and head limits when both are broken); the
 * checks at a line end are the same checks a partial call makes. Phase 2
 * runs only on a complete head. So a head fed in any number of growing
 * calls gets the same answer as the whole, which tests and fuzzers assert.
 *
 * Bounds. Phase 1 reads buf[0..min(len, max_head)). Phase 2 reads only the
 * head, and every loop in it stops at CR at the latest: the head ends in
 * CRLF CRLF and each LF in it follows a CR (phase 1 checked), so a CR is
 * always followed by one more byte of the head.
 *
 * The chunked decoder is a separate byte-level state machine; data bytes
 * are handed out as spans of its input without being looked at.
 *
 * No global state except constant tables; every state object belongs to one
 * connection (one thread). Nothing blocks.
 */

#include <limits.h>

#include "http1_parse.h"

const struct ec_h1_limits ec_h1_limits_default = {
        .max_request_line = 8192,
        .max_head = 32768,
        .max_fields = 100,
        .max_body = 0,
};

const char *const ec_h1_reason_str[EC_H1_R_COUNT] = {
#define X(sym, str) [EC_H1_R_##sym] = str,
        EC_H1_REASON_TABLE(X)
#undef X
};

#define R(sym) (ec_h1_reason_str[EC_H1_R_##sym])

/* Sets *reason and returns the error code: `return fail(reason, E, R(X));` */
static inline int fail(const char **reason, int err, const char *why)
{
	*reason = why;
	return err;
}

/* field-value bytes (RFC 9110 §5.5): VCHAR, obs-text, SP, HTAB. Also reason-phrase. */
static const unsigned char value_ok[256] = {
        ['\t'] = 1,
        [0x20 ... 0x7e] = 1,
        [0x80 ... 0xff] = 1,
};

/* request-target bytes we take: VCHAR but "#", and obs-text (see the header). */
static const unsigned char target_ok[256] = {
        [0x21 ... 0x22] = 1,
        [0x24 ... 0x7e] = 1,
        [0x80 ... 0xff] = 1,
};

/* reg-name (RFC 3986 §3.2.2): unreserved / sub-delims, and "%" for pct-encoded. */
static const unsigned char regname_ok[256] = {
        ['a' ... 'z'] = 1, ['A' ... 'Z'] = 1, ['0' ... '9'] = 1, ['-'] = 1, ['.'] = 1,
        ['_'] = 1,         ['~'] = 1,         ['!'] = 1,         ['$'] = 1, ['&'] = 1,
        ['\''] = 1,        ['('] = 1,         [')'] = 1,         ['*'] = 1, ['+'] = 1,
        [','] = 1,         [';'] = 1,         ['='] = 1,         ['%'] = 1,
};

/* Inside "[...]": IPv6 hex digits, colons and dots (IPv4 tail). */
static const unsigned char ipv6_ok[256] = {
        ['a' ... 'f'] = 1, ['A' ... 'F'] = 1, ['0' ... '9'] = 1, [':'] = 1, ['.'] = 1,
};

/*
 * Word-at-a-time skipping (SWAR, portable): the byte-class loops below first
 * step 8 bytes at a time while no byte can end the run, then finish with the
 * exact table. has_less() is exact about existence for n <= 128 (Bit
 * Twiddling Hacks, "determine if a word has a byte less than n").
 */
#define ONES  UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

static inline uint64_t load64(const char *p)
{
	uint64_t x;
	memcpy(&x, p, sizeof(x));
	return x;
}

static inline uint64_t has_less(uint64_t x, unsigned n)
{
	return (x - ONES * n) & ~x & HIGHS;
}

static inline uint64_t has_byte(uint64_t x, unsigned char b)
{
	return has_less(x ^ (ONES * b), 1);
}

/* Skips field-value (and reason-phrase) bytes from q; end bounds the fast path. */
static inline const char *skip_value(const char *q, const char *end)
{
	while (end - q >= 8) {
		uint64_t x = load64(q);
		if (has_less(x, 0x20) | has_byte(x, 0x7f)) /* a CTL (or HTAB) or DEL */
			break;
		q += 8;
	}
	while (value_ok[(unsigned char)*q])
		q++;
	return q;
}

/* Skips request-target bytes from q; end bounds the fast path. */
static inline const char *skip_target(const char *q, const char *end)
{
	while (end - q >= 8) {
		uint64_t x = load64(q);
		if (has_less(x, 0x21) | has_byte(x, 0x7f) | has_byte(x, '#'))
			break;
		q += 8;
	}
	while (target_ok[(unsigned char)*q])
		q++;
	return q;
}

static inline bool is_digit(char c)
{
	return (unsigned char)(c - '0') <= 9;
}

static inline bool is_alpha(char c)
{
	return (unsigned char)(ec_lower(c) - 'a') <= 'z' - 'a';
}

static inline int hex_val(char c)
{
	if (is_digit(c))
		return c - '0';
	c = ec_lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static inline bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Case-insensitive comparison with a lower-case literal of the same length. */
static inline bool name_is(struct ec_str n, const char *lc, size_t len)
{
	if (n.len != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (ec_lower(n.p[i]) != lc[i])
			return false;
	return true;
}
#define NAME_IS(n, lit) name_is((n), lit, sizeof(lit) - 1)

/* ---- phase 1: the end of the head ------------------------------------- */

/*
 * The limits, checked at prefix k of the input when buf[line_start..k)
 * holds no LF. The start line is too long once its content must exceed
 * max_request_line: at line_start + max + 1 bytes unless the last of them is
 * the CR of a line of exactly max, then one byte later. The head is too big
 * once max_head bytes hold no end. When both hold, the one that became true
 * first is reported, so the answer does not depend on where k falls.
 */
static int scan_limits(const struct ec_h1_parser *p, const char *buf, size_t k,
                       const struct ec_h1_limits *lim, bool is_req, const char **reason)
{
	size_t fire_line = SIZE_MAX, fire_head = SIZE_MAX;
	if (!p->past_start && k - p->line_start > lim->max_request_line) {
		size_t p0 = p->line_start + lim->max_request_line + 1; /* <= k */
		if (buf[p0 - 1] != '\r')
			fire_line = p0;
		else if (p0 < k)
			fire_line = p0 + 1;
	}
	if (k >= lim->max_head)
		fire_head = lim->max_head;
	if (fire_line == SIZE_MAX && fire_head == SIZE_MAX)
		return 0;
	if (fire_line <= fire_head)
		return fail(reason, EC_H1_E_LINE_TOO_LONG,
		            is_req ? R(REQ_LINE_TOO_LONG) : R(STATUS_LINE_TOO_LONG));
	return fail(reason, EC_H1_E_HEAD_TOO_BIG, R(HEAD_TOO_BIG));
}

/*
 * Resumes the search for the end of the head. Returns the head length (> 0)
 * and leaves p->start at the start line, 0 for more input, or an error.
 * Only buf[0..min(len, max_head)) is looked at: a LF at max_head or later
 * could only end a head that is already too big.
 */
static int scan_head(struct ec_h1_parser *p, const char *buf, size_t len,
                     const struct ec_h1_limits *lim, bool is_req, const char **reason)
{
	EC_ASSERT(len >= p->scanned);
	const size_t end = EC_MIN(len, lim->max_head);
	size_t pos = p->scanned;
	for (;;) {
		const char *nl = pos < end ? memchr(buf + pos, '\n', end - pos) : NULL;
		if (nl == NULL) {
			int rc = scan_limits(p, buf, end, lim, is_req, reason);
			if (rc != 0)
				return rc;
			p->scanned = end; /* == len: end < len means k >= max_head fired */
			return 0;
		}
		const size_t i = (size_t)(nl - buf), ls = p->line_start;
		int rc = scan_limits(p, buf, i, lim, is_req, reason);
		if (rc != 0)
			return rc;
		if (EC_UNLIKELY(i == ls || buf[i - 1] != '\r'))
			return fail(reason, EC_H1_E_BAD, R(BARE_LF));
		pos = i + 1;
		if (i - ls == 1) { /* an empty line */
			if (p->past_start)
				return (int)pos; /* i < max_head, so pos <= max_head */
			if (!is_req)
				return fail(reason, EC_H1_E_BAD, R(EMPTY_BEFORE_STATUS));
			p->start = pos; /* RFC 9112 §2.2: skip empty lines before the request */
		} else if (p->past_start) {
			if (++p->nfields > lim->max_fields)
				return fail(reason, EC_H1_E_HEAD_TOO_BIG, R(TOO_MANY_FIELDS));
		} else {
			p->past_start = true;
		}
		p->line_start = pos;
	}
}

/* ---- phase 2: fields ---------------------------------------------------- */

/* What the fields said, gathered during the pass. */
struct fstate {
	unsigned nhost;
	struct ec_str host;
	bool cl_seen;
	uint64_t cl;
	bool te_seen, te_chunked, te_last_chunked, te_other;
	bool conn_close, conn_keepalive, conn_upgrade;
	bool upgrade_field;
	bool expect_continue, expect_other;
};

/* Content-Length = 1*DIGIT, or a list of equal ones (RFC 9112 §6.3 item 5). */
static int on_content_length(struct fstate *fs, struct ec_str v, const char **reason)
{
	size_t i = 0;
	for (;;) {
		const size_t s = i;
		uint64_t n = 0;
		for (; i < v.len && is_digit(v.p[i]); i++) {
			if (i - s == 19) /* 19 digits cannot overflow uint64_t */
				return fail(reason, EC_H1_E_BAD, R(BAD_CL));
			n = n * 10 + (uint64_t)(v.p[i] - '0');
		}
		if (i == s)
			return fail(reason, EC_H1_E_BAD, R(BAD_CL));
		if (fs->cl_seen && fs->cl != n)
			return fail(reason, EC_H1_E_BAD, R(CL_DIFFER));
		fs->cl_seen = true;
		fs->cl = n;
		while (i < v.len && is_ows(v.p[i]))
			i++;
		if (i == v.len)
			return 0;
		if (v.p[i] != ',')
			return fail(reason, EC_H1_E_BAD, R(BAD_CL));
		i++;
		while (i < v.len && is_ows(v.p[i]))
			i++;
	}
}

/*
 * Transfer-Encoding: a list of bare tokens across all its fields, in order.
 * What the list means is decided once all fields are in (finish_framing).
 */
static int on_transfer_encoding(struct fstate *fs, struct ec_str v, const char **reason)
{
	size_t i = 0;
	fs->te_seen = true;
	for (;;) {
		const size_t s = i;
		while (i < v.len && ec_tchar[(unsigned char)v.p[i]])
			i++;
		if (i == s)
			return fail(reason, EC_H1_E_BAD, R(BAD_TE));
		if (NAME_IS(ec_str_make(v.p + s, i - s), "chunked")) {
			if (fs->te_chunked)
				return fail(reason, EC_H1_E_BAD, R(TE_CHUNKED_TWICE));
			fs->te_chunked = fs->te_last_chunked = true;
		} else {
			fs->te_other = true;
			fs->te_last_chunked = false;
		}
		while (i < v.len && is_ows(v.p[i]))
			i++;
		if (i == v.len)
			return 0;
		if (v.p[i] != ',')
			return fail(reason, EC_H1_E_BAD, R(BAD_TE));
		i++;
		while (i < v.len && is_ows(v.p[i]))
			i++;
	}
}

/* Connection: tokens; empty list elements are allowed (RFC 9110 §5.6.1). */
static int on_connection(struct fstate *fs, struct ec_str v, const char **reason)
{
	size_t i = 0;
	while (i < v.len) {
		if (v.p[i] == ',' || is_ows(v.p[i])) {
			i++;
			continue;
		}
		const size_t s = i;
		while (i < v.len && ec_tchar[(unsigned char)v.p[i]])
			i++;
		struct ec_str tok = ec_str_make(v.p + s, i - s);
		while (i < v.len && is_ows(v.p[i]))
			i++;
		if (tok.len == 0 || (i < v.len && v.p[i] != ','))
			return fail(reason, EC_H1_E_BAD, R(BAD_CONNECTION));
		if (NAME_IS(tok, "close"))
			fs->conn_close = true;
		else if (NAME_IS(tok, "keep-alive"))
			fs->conn_keepalive = true;
		else if (NAME_IS(tok, "upgrade"))
			fs->conn_upgrade = true;
	}
	return 0;
}

/* Expect: any element but 100-continue is "other" (the caller answers 417). */
static void on_expect(struct fstate *fs, struct ec_str v)
{
	size_t i = 0;
	while (i < v.len) {
		size_t s = i;
		while (i < v.len && v.p[i] != ',')
			i++;
		struct ec_str e = ec_str_trim(ec_str_make(v.p + s, i - s));
		if (NAME_IS(e, "100-continue"))
			fs->expect_continue = true;
		else if (e.len != 0)
			fs->expect_other = true;
		i++;
	}
}

/* The fields that matter to framing and connection handling, by name length. */
static int on_field(struct fstate *fs, const struct ec_hdr *h, const char **reason)
{
	switch (h->name.len) {
	case 4:
		if (NAME_IS(h->name, "host")) {
			if (++fs->nhost > 1)
				return fail(reason, EC_H1_E_BAD, R(DUP_HOST));
			fs->host = h->value;
		}
		break;
	case 6:
		if (NAME_IS(h->name, "expect"))
			on_expect(fs, h->value);
		break;
	case 7:
		if (NAME_IS(h->name, "upgrade"))
			fs->upgrade_field = true;
		break;
	case 10:
		if (NAME_IS(h->name, "connection"))
			return on_connection(fs, h->value, reason);
		break;
	case 14:
		if (NAME_IS(h->name, "content-length"))
			return on_content_length(fs, h->value, reason);
		break;
	case 17:
		if (NAME_IS(h->name, "transfer-encoding"))
			return on_transfer_encoding(fs, h->value, reason);
		break;
	}
	return 0;
}

/* Why a field line whose name ran from ns to q (not a ':') is wrong. */
static int field_name_err(const char *ns, const char *q, unsigned n, const char **reason)
{
	if (q == ns) {
		if (is_ows(*q))
			return fail(reason, EC_H1_E_BAD, n == 0 ? R(WS_AFTER_START) : R(OBS_FOLD));
		if (*q == ':')
			return fail(reason, EC_H1_E_BAD, R(EMPTY_NAME));
		if (*q == '\r') /* not the final empty line: so a bare CR */
			return fail(reason, EC_H1_E_BAD, R(BARE_CR));
		return fail(reason, EC_H1_E_BAD, R(BAD_NAME));
	}
	if (is_ows(*q)) {
		while (is_ows(*q))
			q++;
		return fail(reason, EC_H1_E_BAD, *q == ':' ? R(WS_BEFORE_COLON) : R(BAD_NAME));
	}
	if (*q == '\r')
		return fail(reason, EC_H1_E_BAD, q[1] == '\n' ? R(NO_COLON) : R(BARE_CR));
	return fail(reason, EC_H1_E_BAD, R(BAD_NAME));
}

/*
 * Parses the field lines from q to the final CRLF at end - 2 into hdrs.
 * Phase 1 counted them: at most max_fields, which fits max_hdrs.
 */
static int parse_fields(const char *q, const char *end, struct ec_hdr *hdrs, unsigned max_hdrs,
                        unsigned *nhdrs, struct fstate *fs, const char **reason)
{
	const char *const last = end - 2;
	unsigned n = 0;
	while (q < last) {
		const char *ns = q;
		while (ec_tchar[(unsigned char)*q])
			q++;
		if (EC_UNLIKELY(*q != ':' || q == ns))
			return field_name_err(ns, q, n, reason);
		const char *ne = q++;
		while (is_ows(*q))
			q++;
		const char *vs = q;
		q = skip_value(q, end);
		if (EC_UNLIKELY(*q != '\r' || q[1] != '\n')) {
			if (*q == '\r')
				return fail(reason, EC_H1_E_BAD, R(CR_IN_VALUE));
			return fail(reason, EC_H1_E_BAD,
			            *q == '\0' ? R(NUL_IN_VALUE) : R(CTL_IN_VALUE));
		}
		const char *ve = q;
		while (ve > vs && is_ows(ve[-1]))
			ve--;
		q += 2;
		EC_ASSERT(n < max_hdrs);
		hdrs[n].name = ec_str_make(ns, (size_t)(ne - ns));
		hdrs[n].value = ec_str_make(vs, (size_t)(ve - vs));
		int rc = on_field(fs, &hdrs[n], reason);
		if (rc != 0)
			return rc;
		n++;
	}
	*nhdrs = n;
	return 0;
}

/*
 * Transfer-Encoding against RFC 9112 §6.1 and §6.3, for requests and
 * responses alike. Content-Length with it is refused rather than
 * overridden: a proxy must not pass on a message another hop may frame
 * by the other field.
 */
static int check_te(const struct fstate *fs, unsigned minor, const char **reason)
{
	if (minor == 0)
		return fail(reason, EC_H1_E_BAD, R(TE_HTTP10));
	if (fs->cl_seen)
		return fail(reason, EC_H1_E_BAD, R(CL_TE));
	if (!fs->te_last_chunked)
		return fail(reason, EC_H1_E_BAD, R(TE_NOT_CHUNKED));
	if (fs->te_other)
		return fail(reason, EC_H1_E_NOT_IMPL, R(TE_UNSUPPORTED));
	return 0;
}

static bool keepalive_of(const struct fstate *fs, unsigned minor)
{
	if (fs->conn_close)
		return false;
	return minor >= 1 || fs->conn_keepalive;
}

/* ---- phase 2: start lines ------------------------------------------------ */

/*
 * "HTTP/" DIGIT "." DIGIT at v; the caller made sure 8 bytes of the head
 * follow. 1.0 → 0; 1.1 to 1.9 → 1 (RFC 9110 §6.2); other majors → 505.
 */
static int parse_version(const char *v, unsigned *minor, const char **reason)
{
	if (memcmp(v, "HTTP/", 5) != 0 || !is_digit(v[5]) || v[6] != '.' || !is_digit(v[7]))
		return fail(reason, EC_H1_E_BAD, R(BAD_VERSION));
	if (v[5] != '1')
		return fail(reason, EC_H1_E_VERSION, R(VERSION));
	*minor = v[7] == '0' ? 0 : 1;
	return 0;
}

/*
 * host [":" port] as in Host (RFC 9110 §7.2) and in an authority without
 * userinfo. The host must not be empty; the port, when its ":" is there,
 * is 1 to 5 digits <= 65535, and required if need_port (CONNECT).
 */
static bool host_valid(struct ec_str s, bool need_port)
{
	size_t i = 0;
	if (s.len != 0 && s.p[0] == '[') {
		bool colon = false;
		for (i = 1; i < s.len && ipv6_ok[(unsigned char)s.p[i]]; i++)
			colon |= s.p[i] == ':';
		if (!colon || i == s.len || s.p[i] != ']')
			return false;
		i++;
	} else {
		while (i < s.len && regname_ok[(unsigned char)s.p[i]]) {
			if (s.p[i] == '%') {
				if (s.len - i < 3 || hex_val(s.p[i + 1]) < 0 ||
				    hex_val(s.p[i + 2]) < 0)
					return false;
				i += 2;
			}
			i++;
		}
		if (i == 0)
			return false;
	}
	if (i == s.len)
		return !need_port;
	if (s.p[i] != ':')
		return false;
	size_t digits = s.len - ++i;
	if (digits == 0 || digits > 5)
		return false;
	unsigned port = 0;
	for (; i < s.len; i++) {
		if (!is_digit(s.p[i]))
			return false;
		port = port * 10 + (unsigned)(s.p[i] - '0');
	}
	return port <= 65535;
}

/* Splits the target into path / scheme / authority by its form (RFC 9112 §3.2). */
static int parse_target(struct ec_h1_req *out, const char **reason)
{
	const struct ec_str t = out->target;
	if (out->meth == EC_M_CONNECT) {
		if (t.p[0] == '/' || t.p[0] == '*' || !host_valid(t, true))
			return fail(reason, EC_H1_E_BAD, R(CONNECT_FORM));
		out->authority = t;
		return 0;
	}
	if (t.p[0] == '/') {
		out->path = t;
		return 0;
	}
	if (t.p[0] == '*' && t.len == 1) {
		if (out->meth != EC_M_OPTIONS)
			return fail(reason, EC_H1_E_BAD, R(ASTERISK_NOT_OPTIONS));
		out->path = t;
		return 0;
	}
	/* absolute-form: scheme "://" authority [path-abempty] ["?" query] */
	size_t i = 0;
	while (i < t.len && (is_alpha(t.p[i]) || (i > 0 && (is_digit(t.p[i]) || t.p[i] == '+' ||
	                                                    t.p[i] == '-' || t.p[i] == '.'))))
		i++;
	if (i == 0 || t.len - i < 3 || memcmp(t.p + i, "://", 3) != 0)
		return fail(reason, EC_H1_E_BAD, R(BAD_TARGET));
	struct ec_str scheme = ec_str_make(t.p, i);
	if (!NAME_IS(scheme, "http") && !NAME_IS(scheme, "https"))
		return fail(reason, EC_H1_E_BAD, R(BAD_SCHEME));
	i += 3;
	const size_t as = i;
	bool at = false;
	for (; i < t.len && t.p[i] != '/' && t.p[i] != '?'; i++)
		at |= t.p[i] == '@';
	if (at)
		return fail(reason, EC_H1_E_BAD, R(USERINFO));
	struct ec_str auth = ec_str_make(t.p + as, i - as);
	if (!host_valid(auth, false))
		return fail(reason, EC_H1_E_BAD, R(BAD_AUTHORITY));
	if (i == t.len)
		out->path = EC_STR("/");
	else /* "/..." or, for an empty path with a query, "?..." (see the header) */
		out->path = ec_str_make(t.p + i, t.len - i);
	out->scheme = scheme;
	out->authority = auth;
	return 0;
}

/* A start line stopped at q, which is not what it should be: why. */
static int line_err(const char *q, int err, const char *why, const char **reason)
{
	if (*q == '\r' && q[1] != '\n')
		return fail(reason, EC_H1_E_BAD, R(BARE_CR));
	return fail(reason, err, why);
}

/* method SP request-target SP HTTP-version CRLF; returns the first field line. */
static int parse_request_line(const char *s, const char *end, struct ec_h1_req *out,
                              const char **fields, const char **reason)
{
	const char *q = s;
	while (ec_tchar[(unsigned char)*q])
		q++;
	if (*q != ' ' || q == s) {
		if (is_ows(*q) || *q == '\r') /* empty method, or no target */
			return line_err(q, EC_H1_E_BAD, R(BAD_REQ_LINE), reason);
		return fail(reason, EC_H1_E_BAD, R(BAD_METHOD));
	}
	out->method = ec_str_make(s, (size_t)(q - s));
	out->meth = ec_method_from_str(out->method);
	EC_ASSERT(out->meth != EC_M_INVALID);

	const char *t = ++q;
	q = skip_target(q, end);
	if (*q != ' ' || q == t) {
		if (*q == '#')
			return fail(reason, EC_H1_E_BAD, R(FRAGMENT));
		if (*q == ' ' || *q == '\r') /* empty target, or no version */
			return line_err(q, EC_H1_E_BAD, R(BAD_REQ_LINE), reason);
		return fail(reason, EC_H1_E_BAD, R(BAD_TARGET));
	}
	out->target = ec_str_make(t, (size_t)(q - t));

	const char *v = ++q;
	if (end - v < 10) /* "HTTP/1.1" CRLF, and the head's final CRLF after it */
		return line_err(v, EC_H1_E_BAD, R(BAD_VERSION), reason);
	int rc = parse_version(v, &out->minor, reason);
	if (rc != 0)
		return rc;
	if (v[8] != '\r' || v[9] != '\n')
		return line_err(v + 8, EC_H1_E_BAD, R(BAD_VERSION), reason);
	*fields = v + 10;
	return parse_target(out, reason);
}

static int parse_request(const char *buf, size_t start, size_t head_len,
                         const struct ec_h1_limits *lim, struct ec_hdr *hdrs, unsigned max_hdrs,
                         struct ec_h1_req *out, const char **reason)
{
	const char *const end = buf + head_len;
	const char *fields = NULL;
	struct fstate fs = {0};
	int rc;

	*out = (struct ec_h1_req){0};
	if ((rc = parse_request_line(buf + start, end, out, &fields, reason)) != 0)
		return rc;
	if ((rc = parse_fields(fields, end, hdrs, max_hdrs, &out->nhdrs, &fs, reason)) != 0)
		return rc;
	out->hdrs = hdrs;

	/* RFC 9112 §3.2: exactly one valid Host; empty allowed on 1.0 only (our choice). */
	if (fs.nhost == 0) {
		if (out->minor >= 1)
			return fail(reason, EC_H1_E_BAD, R(MISSING_HOST));
	} else if (fs.host.len == 0) {
		if (out->minor >= 1)
			return fail(reason, EC_H1_E_BAD, R(EMPTY_HOST));
	} else if (!host_valid(fs.host, false)) {
		return fail(reason, EC_H1_E_BAD, R(BAD_HOST));
	}
	out->host = out->scheme.len != 0 ? out->authority : fs.host;

	if (fs.te_seen) {
		if ((rc = check_te(&fs, out->minor, reason)) != 0)
			return rc;
		out->framing = EC_H1_BODY_CHUNKED;
	} else if (fs.cl_seen) {
		out->framing = EC_H1_BODY_LENGTH;
		out->content_length = fs.cl;
		if (lim->max_body != 0 && fs.cl > lim->max_body)
			return fail(reason, EC_H1_E_BODY_TOO_BIG, R(BODY_TOO_BIG));
	} else {
		out->framing = EC_H1_BODY_NONE;
	}
	out->keepalive = keepalive_of(&fs, out->minor);
	if (out->minor >= 1) {
		out->expect_continue = fs.expect_continue;
		out->expect_other = fs.expect_other;
		out->upgrade = fs.conn_upgrade && fs.upgrade_field;
	}
	out->head_len = head_len;
	return (int)head_len;
}

/* HTTP-version SP 3DIGIT SP reason-phrase CRLF (the last SP optional if no reason). */
static int parse_status_line(const char *s, const char *end, struct ec_h1_resp *out,
                             const char **fields, const char **reason)
{
	if (end - s < 14) /* "HTTP/1.1 200" CRLF CRLF */
		return line_err(s, EC_H1_E_BAD, R(BAD_STATUS_LINE), reason);
	int rc = parse_version(s, &out->minor, reason);
	if (rc != 0)
		return rc;
	if (s[8] != ' ')
		return line_err(s + 8, EC_H1_E_BAD, R(BAD_STATUS_LINE), reason);
	if (!is_digit(s[9]) || !is_digit(s[10]) || !is_digit(s[11]) || s[9] == '0' ||
	    is_digit(s[12]))
		return fail(reason, EC_H1_E_BAD, R(BAD_STATUS));
	out->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	const char *q = s + 12;
	if (*q == ' ') {
		const char *rs = ++q;
		q = skip_value(q, end);
		out->reason = ec_str_make(rs, (size_t)(q - rs));
		if (*q != '\r')
			return fail(reason, EC_H1_E_BAD, R(BAD_REASON_PHRASE));
	} else {
		out->reason = ec_str_make(q, 0);
		if (*q != '\r')
			return fail(reason, EC_H1_E_BAD, R(BAD_STATUS_LINE));
	}
	if (q[1] != '\n')
		return fail(reason, EC_H1_E_BAD, R(BARE_CR));
	*fields = q + 2;
	return 0;
}

static int parse_response(const char *buf, size_t start, size_t head_len, enum ec_method req_method,
                          struct ec_hdr *hdrs, unsigned max_hdrs, struct ec_h1_resp *out,
                          const char **reason)
{
	const char *const end = buf + head_len;
	const char *fields = NULL;
	struct fstate fs = {0};
	int rc;

	*out = (struct ec_h1_resp){0};
	if ((rc = parse_status_line(buf + start, end, out, &fields, reason)) != 0)
		return rc;
	if ((rc = parse_fields(fields, end, hdrs, max_hdrs, &out->nhdrs, &fs, reason)) != 0)
		return rc;
	out->hdrs = hdrs;
	if (fs.te_seen && (rc = check_te(&fs, out->minor, reason)) != 0)
		return rc;
	out->content_length = fs.cl_seen ? fs.cl : 0;
	out->keepalive = keepalive_of(&fs, out->minor);

	/* RFC 9112 §6.3, in its order. */
	const int st = out->status;
	if (req_method == EC_M_HEAD || st < 200 || st == 204 || st == 304 ||
	    (req_method == EC_M_CONNECT && st / 100 == 2)) {
		out->framing = EC_H1_BODY_NONE;
	} else if (fs.te_seen) {
		out->framing = EC_H1_BODY_CHUNKED;
	} else if (fs.cl_seen) {
		out->framing = EC_H1_BODY_LENGTH;
	} else {
		out->framing = EC_H1_BODY_CLOSE;
		out->keepalive = false;
	}
	out->head_len = head_len;
	return (int)head_len;
}

static const struct ec_h1_limits *limits_of(const struct ec_h1_limits *limits, unsigned max_hdrs)
{
	const struct ec_h1_limits *lim = limits ? limits : &ec_h1_limits_default;
	EC_ASSERT(lim->max_request_line > 0 && lim->max_head > 0);
	EC_ASSERT(lim->max_head <= INT_MAX); /* the head length is returned as an int */
	EC_ASSERT(max_hdrs >= lim->max_fields);
	return lim;
}

int ec_h1_parse_request(struct ec_h1_parser *p, const char *buf, size_t len,
                        const struct ec_h1_limits *limits, struct ec_hdr *hdrs, unsigned max_hdrs,
                        struct ec_h1_req *out, const char **reason)
{
	const struct ec_h1_limits *lim = limits_of(limits, max_hdrs);
	int rc = scan_head(p, buf, len, lim, true, reason);
	if (rc <= 0)
		return rc;
	size_t start = p->start;
	ec_h1_parser_reset(p);
	return parse_request(buf, start, (size_t)rc, lim, hdrs, max_hdrs, out, reason);
}

int ec_h1_parse_response(struct ec_h1_parser *p, const char *buf, size_t len,
                         const struct ec_h1_limits *limits, enum ec_method req_method,
                         struct ec_hdr *hdrs, unsigned max_hdrs, struct ec_h1_resp *out,
                         const char **reason)
{
	const struct ec_h1_limits *lim = limits_of(limits, max_hdrs);
	int rc = scan_head(p, buf, len, lim, false, reason);
	if (rc <= 0)
		return rc;
	size_t start = p->start;
	ec_h1_parser_reset(p);
	return parse_response(buf, start, (size_t)rc, req_method, hdrs, max_hdrs, out, reason);
}

int ec_h1_err_status(enum ec_h1_err e)
{
	switch (e) {
	case EC_H1_E_BAD:
		return 400;
	case EC_H1_E_LINE_TOO_LONG:
		return 414;
	case EC_H1_E_HEAD_TOO_BIG:
		return 431;
	case EC_H1_E_VERSION:
		return 505;
	case EC_H1_E_NOT_IMPL:
		return 501;
	case EC_H1_E_BODY_TOO_BIG:
		return 413;
	case EC_H1_OK:
		break;
	}
	return 500;
}

/* ---- chunked bodies ------------------------------------------------------ */

#define CHUNK_EXT_MAX     4096
#define CHUNK_TRAILER_MAX 32768
#define CHUNK_SIZE_MAX    (UINT64_C(1) << 62)

/*
 * Decoder states. Zero is the start of a chunk-size line, because
 * ec_h1_chunked_init() zeroes the struct (so no INVALID zero here).
 */
enum cstate {
	CS_SIZE = 0,     /* size digits */
	CS_SIZE_BWS,     /* whitespace after the size: only ";" may follow */
	CS_EXT_NAME0,    /* after ";" and BWS: the extension name starts */
	CS_EXT_NAME,     /* in the name */
	CS_EXT_NAME_BWS, /* whitespace after the name: "=" or ";" */
	CS_EXT_VAL0,     /* after "=" and BWS: token or quoted-string starts */
	CS_EXT_TOKEN,    /* in a token value */
	CS_EXT_QS,       /* in a quoted-string value */
	CS_EXT_QP,       /* after a backslash in it */
	CS_EXT_QEND,     /* after the closing quote */
	CS_EXT_VAL_BWS,  /* whitespace after a value: only ";" may follow */
	CS_SIZE_LF,      /* CR of the chunk line seen */
	CS_DATA,         /* `remaining` data bytes */
	CS_DATA_CR,      /* CRLF after the data */
	CS_DATA_LF,
	CS_TR_START, /* start of a trailer line, or the final CRLF */
	CS_TR_NAME,
	CS_TR_VALUE,
	CS_TR_LF,
	CS_FINAL_LF,
	CS_DONE,
	CS_ERROR,
};

/* qdtext (RFC 9110 §5.6.4): HTAB, SP, VCHAR but DQUOTE and "\\", obs-text. */
static const unsigned char qdtext_ok[256] = {
        ['\t'] = 1,          [' '] = 1,           ['!'] = 1,
        [0x23 ... 0x5b] = 1, [0x5d ... 0x7e] = 1, [0x80 ... 0xff] = 1,
};

/*
 * States that loop over a run of one byte class, counting it against a
 * limit: the decoder skips such runs in one go rather than a byte a time
 * through the switch (long extensions and trailers are attacker-sized).
 */
static const unsigned char *run_class(unsigned st)
{
	switch (st) {
	case CS_EXT_NAME:
	case CS_EXT_TOKEN:
	case CS_TR_NAME:
		return ec_tchar;
	case CS_EXT_QS:
		return qdtext_ok;
	case CS_TR_VALUE:
		return value_ok;
	}
	return NULL;
}

static enum ec_h1_chunk_ret chunk_fail(struct ec_h1_chunked *c, size_t at, size_t *consumed,
                                       const char *why, const char **reason)
{
	c->state = CS_ERROR;
	c->err = why;
	*consumed = at;
	*reason = why;
	return EC_H1_CHUNK_ERROR;
}

enum ec_h1_chunk_ret ec_h1_chunked_step(struct ec_h1_chunked *c, const char *in, size_t len,
                                        size_t *consumed, struct ec_str *data, const char **reason)
{
	if (c->state == CS_ERROR) {
		*consumed = 0;
		*reason = c->err;
		return EC_H1_CHUNK_ERROR;
	}
	if (c->state == CS_DONE) {
		*consumed = 0;
		return EC_H1_CHUNK_DONE;
	}
#define FAIL(sym) return chunk_fail(c, i, consumed, R(sym), reason)
/* one more byte of chunk extension */
#define EXT_BYTE()                                                                                 \
	do {                                                                                       \
		if (++c->ext_len > CHUNK_EXT_MAX)                                                  \
			FAIL(CHUNK_EXT_TOO_LONG);                                                  \
	} while (0)
/* one more byte of trailer section */
#define TRAILER_BYTE()                                                                             \
	do {                                                                                       \
		c->line_len++;                                                                     \
		if (++c->trailer_len > CHUNK_TRAILER_MAX)                                          \
			FAIL(TRAILER_TOO_BIG);                                                     \
	} while (0)

	for (size_t i = 0; i < len; i++) {
		const unsigned char *cls = run_class(c->state);
		if (cls != NULL && cls[(unsigned char)in[i]]) {
			const bool tr = c->state == CS_TR_NAME || c->state == CS_TR_VALUE;
			size_t *count = tr ? &c->trailer_len : &c->ext_len;
			const size_t max = tr ? CHUNK_TRAILER_MAX : CHUNK_EXT_MAX;
			size_t j = i;
			while (j < len && cls[(unsigned char)in[j]])
				j++;
			if (j - i > max - *count) { /* the byte that passes the limit */
				i += max - *count;
				if (tr)
					FAIL(TRAILER_TOO_BIG);
				FAIL(CHUNK_EXT_TOO_LONG);
			}
			*count += j - i;
			if (tr)
				c->line_len += j - i;
			i = j;
			if (i == len)
				break;
		}
		const char ch = in[i];
		switch ((enum cstate)c->state) {
		case CS_DATA: {
			size_t n = len - i;
			if (n > c->remaining)
				n = (size_t)c->remaining;
			*data = ec_str_make(in + i, n);
			c->remaining -= n;
			if (c->remaining == 0)
				c->state = CS_DATA_CR;
			*consumed = i + n;
			return EC_H1_CHUNK_DATA;
		}
		case CS_SIZE: {
			int d = hex_val(ch);
			if (d >= 0) {
				if (c->digits == 16)
					FAIL(CHUNK_SIZE_DIGITS);
				if (c->remaining > (CHUNK_SIZE_MAX - (uint64_t)d) >> 4)
					FAIL(CHUNK_OVERFLOW);
				c->remaining = c->remaining * 16 + (uint64_t)d;
				c->digits++;
			} else if (ch == '\n') {
				FAIL(CHUNK_BARE_LF);
			} else if (c->digits == 0) {
				if (ch == '\r' || ch == ';' || is_ows(ch))
					FAIL(CHUNK_NO_SIZE);
				FAIL(CHUNK_BAD_SIZE);
			} else if (ch == '\r') {
				c->state = CS_SIZE_LF;
			} else if (ch == ';') {
				c->state = CS_EXT_NAME0;
				EXT_BYTE();
			} else if (is_ows(ch)) {
				c->state = CS_SIZE_BWS;
				EXT_BYTE();
			} else {
				FAIL(CHUNK_BAD_SIZE);
			}
			break;
		}
		case CS_SIZE_BWS:
			if (ch == ';')
				c->state = CS_EXT_NAME0;
			else if (ch == '\n')
				FAIL(CHUNK_BARE_LF);
			else if (!is_ows(ch))
				FAIL(CHUNK_JUNK);
			EXT_BYTE();
			break;
		case CS_EXT_NAME0:
		case CS_EXT_NAME:
		case CS_EXT_NAME_BWS:
		case CS_EXT_VAL0:
		case CS_EXT_TOKEN:
		case CS_EXT_QS:
		case CS_EXT_QP:
		case CS_EXT_QEND:
		case CS_EXT_VAL_BWS: {
			const enum cstate st = (enum cstate)c->state;
			const bool tch = ec_tchar[(unsigned char)ch];
			if (ch == '\n')
				FAIL(CHUNK_BARE_LF);
			if (ch == '\r' &&
			    (st == CS_EXT_NAME || st == CS_EXT_TOKEN || st == CS_EXT_QEND)) {
				c->state = CS_SIZE_LF;
				break;
			}
			EXT_BYTE();
			switch (st) {
			case CS_EXT_NAME0:
				if (tch)
					c->state = CS_EXT_NAME;
				else if (!is_ows(ch))
					FAIL(CHUNK_BAD_EXT);
				break;
			case CS_EXT_NAME:
				if (ch == '=')
					c->state = CS_EXT_VAL0;
				else if (ch == ';')
					c->state = CS_EXT_NAME0;
				else if (is_ows(ch))
					c->state = CS_EXT_NAME_BWS;
				else if (!tch)
					FAIL(CHUNK_BAD_EXT);
				break;
			case CS_EXT_NAME_BWS:
				if (ch == '=')
					c->state = CS_EXT_VAL0;
				else if (ch == ';')
					c->state = CS_EXT_NAME0;
				else if (!is_ows(ch))
					FAIL(CHUNK_BAD_EXT);
				break;
			case CS_EXT_VAL0:
				if (ch == '"')
					c->state = CS_EXT_QS;
				else if (tch)
					c->state = CS_EXT_TOKEN;
				else if (!is_ows(ch))
					FAIL(CHUNK_BAD_EXT);
				break;
			case CS_EXT_TOKEN:
				if (ch == ';')
					c->state = CS_EXT_NAME0;
				else if (is_ows(ch))
					c->state = CS_EXT_VAL_BWS;
				else if (!tch)
					FAIL(CHUNK_BAD_EXT);
				break;
			case CS_EXT_QS: /* qdtext = HTAB / SP / VCHAR but DQUOTE and "\" / obs-text
			                 */
				if (ch == '"')
					c->state = CS_EXT_QEND;
				else if (ch == '\\')
					c->state = CS_EXT_QP;
				else if (!value_ok[(unsigned char)ch])
					FAIL(CHUNK_BAD_EXT);
				break;
			case CS_EXT_QP:
				if (!value_ok[(unsigned char)ch])
					FAIL(CHUNK_BAD_EXT);
				c->state = CS_EXT_QS;
				break;
			case CS_EXT_QEND:
				if (ch == ';')
					c->state = CS_EXT_NAME0;
				else if (is_ows(ch))
					c->state = CS_EXT_VAL_BWS;
				else
					FAIL(CHUNK_BAD_EXT);
				break;
			case CS_EXT_VAL_BWS:
				if (ch == ';')
					c->state = CS_EXT_NAME0;
				else if (!is_ows(ch))
					FAIL(CHUNK_BAD_EXT);
				break;
			default:
				EC_WRONG("chunked: not an extension state");
			}
			break;
		}
		case CS_SIZE_LF:
			if (ch != '\n')
				FAIL(CHUNK_BARE_CR);
			c->state = c->remaining != 0 ? CS_DATA : CS_TR_START;
			c->digits = 0;
			c->ext_len = 0;
			break;
		case CS_DATA_CR:
			if (ch != '\r')
				FAIL(CHUNK_NO_CRLF);
			c->state = CS_DATA_LF;
			break;
		case CS_DATA_LF:
			if (ch != '\n')
				FAIL(CHUNK_NO_CRLF);
			c->state = CS_SIZE;
			break;
		case CS_TR_START:
			c->line_len = 0;
			if (ch == '\r') {
				c->state = CS_FINAL_LF;
				break;
			}
			TRAILER_BYTE();
			if (ch == '\n')
				FAIL(CHUNK_BARE_LF);
			if (!ec_tchar[(unsigned char)ch]) /* ":" (no name), obs-fold, ... */
				FAIL(BAD_TRAILER);
			c->state = CS_TR_NAME;
			break;
		case CS_TR_NAME:
			TRAILER_BYTE();
			if (ch == ':')
				c->state = CS_TR_VALUE;
			else if (ch == '\n')
				FAIL(CHUNK_BARE_LF);
			else if (!ec_tchar[(unsigned char)ch])
				FAIL(BAD_TRAILER);
			break;
		case CS_TR_VALUE:
			TRAILER_BYTE();
			if (ch == '\r')
				c->state = CS_TR_LF;
			else if (ch == '\n')
				FAIL(CHUNK_BARE_LF);
			else if (!value_ok[(unsigned char)ch])
				FAIL(BAD_TRAILER);
			break;
		case CS_TR_LF:
			TRAILER_BYTE();
			if (ch != '\n')
				FAIL(CHUNK_BARE_CR);
			c->state = CS_TR_START;
			break;
		case CS_FINAL_LF:
			if (ch != '\n')
				FAIL(CHUNK_BARE_CR);
			c->state = CS_DONE;
			*consumed = i + 1;
			return EC_H1_CHUNK_DONE;
		case CS_DONE:
		case CS_ERROR:
			EC_WRONG("chunked: terminal state inside the loop");
		}
	}
#undef FAIL
#undef EXT_BYTE
#undef TRAILER_BYTE
	*consumed = len;
	return EC_H1_CHUNK_MORE;
}

/* ---- hop-by-hop fields --------------------------------------------------- */

bool ec_h1_is_hop_by_hop(const struct ec_hdr *hdrs, unsigned n, unsigned i)
{
	return ec_h1_is_hop_by_hop_conn(hdrs, n, i, ec_hdr_find(hdrs, n, "connection"));
}

bool ec_h1_is_hop_by_hop_conn(const struct ec_hdr *hdrs, unsigned n, unsigned i,
			      const struct ec_hdr *conn)
{
	static const struct ec_str fixed[] = {
	        EC_STR("Connection"),
	        EC_STR("Keep-Alive"),
	        EC_STR("TE"),
	        EC_STR("Trailer"),
	        EC_STR("Transfer-Encoding"),
	        EC_STR("Upgrade"),
	        EC_STR("Proxy-Connection"),
	        EC_STR("Proxy-Authenticate"),
	        EC_STR("Proxy-Authorization"),
	};
	EC_ASSERT(i < n);
	const struct ec_str name = hdrs[i].name;
	for (size_t k = 0; k < EC_ARRAY_LEN(fixed); k++)
		if (ec_str_caseeq(name, fixed[k]))
			return true;
	if (conn == NULL)
		return false;
	struct ec_hdr_iter it = {conn, 0};
	struct ec_str e;
	while (ec_hdr_list_next_str(hdrs, n, conn->name, &it, &e))
		if (ec_str_caseeq(e, name))
			return true;
	return false;
}
