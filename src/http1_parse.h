/*
 * http1_parse.h — edgecache's own HTTP/1.1 parser (RFC 9112), for client
 * requests and origin responses.
 *
 * Why our own: strictness against request smuggling is a core security
 * property of a proxy (DESIGN.md). The parser refuses, with a status and a
 * reason string, everything that two implementations could frame
 * differently.
 *
 * Model. Header blocks are parsed from one contiguous buffer (the caller
 * pulls the first bytes of its read buffer up). Parsing is incremental: on
 * partial input the call returns 0 ("need more") and records in the parser
 * state how far it has scanned, so the next call with more bytes resumes
 * the search for the end of the block instead of starting over; limits are
 * enforced on partial input too (an 8 KiB request line with no CRLF yet is
 * already a 414). Once the block is complete it is parsed in one pass into
 * zero-copy `struct ec_str` views that point into the caller's buffer: they
 * stay valid as long as those bytes do.
 *
 * Bodies are framed separately: the head parse says which framing applies
 * (none, Content-Length, chunked, close-delimited) and the chunked decoder
 * below is a byte-level state machine that resumes on any boundary.
 *
 * Return convention of the parse functions: <0 error (one of enum
 * ec_h1_err; `*reason` is set to a static string), 0 need more input,
 * >0 done (the number of bytes of the head, including its final CRLF).
 *
 * Thread safety: none needed; every state object belongs to one connection.
 * Nothing here allocates or blocks.
 *
 * Choices made where RFC 9112 leaves one (all on the strict side: a proxy
 * must never frame a message differently from the next hop):
 *  - Line ends are CRLF only. A bare LF anywhere in a head (or a chunk line)
 *    is an error, found while scanning for the end of the head, so a client
 *    that sends LF-only heads gets a 400 at once instead of a timeout.
 *  - Exactly one SP between the parts of the request and status lines.
 *  - HTTP/1.2 .. HTTP/1.9 are read as HTTP/1.1 (minor = 1; RFC 9110 §6.2:
 *    same major version, process as the highest minor we implement);
 *    HTTP/0.x and HTTP/2..9.x → EC_H1_E_VERSION (505); anything that is not
 *    "HTTP/" DIGIT "." DIGIT → EC_H1_E_BAD.
 *  - Empty lines before a request line are skipped (RFC 9112 §2.2) and
 *    count toward max_head; an empty line before a status line is an error.
 *  - max_request_line also bounds a response's status line.
 *  - A request target may carry obs-text (bytes >= 0x80, sent raw by some
 *    clients) but no CTL, SP, DEL or "#" (a fragment is never sent).
 *  - Absolute-form: scheme http or https only, no userinfo, a non-empty
 *    authority. An empty path is reported as "/" (a static string, the one
 *    view that does not point into the caller's buffer); an empty path
 *    followed by a query ("http://h?q", valid per RFC 3986) gives the view
 *    "?q": the one path that does not begin with "/". Whoever forwards or
 *    keys on it puts "/" in front (RFC 9112 §3.2.1: an empty path is "/").
 *  - Host: reg-name (unreserved / pct-encoded / sub-delims; IPv4 is a
 *    reg-name), or "[" hex digits, ":" and "." "]" (no IPvFuture, no zone
 *    id), then optionally ":" and 1 to 5 digits <= 65535 (an empty port is
 *    rejected). Empty Host: 400 on HTTP/1.1, accepted (host empty) on
 *    HTTP/1.0. Two Host fields: 400 on any version.
 *  - Transfer-Encoding elements must be bare tokens (no parameters, no
 *    empty list elements); "chunked" compares case-insensitively.
 *  - Content-Length: 1 to 19 digits (leading zeros allowed); a list or
 *    repeated fields must all carry the same value.
 *  - Responses follow the same rules: a response with both Content-Length
 *    and Transfer-Encoding, or a Transfer-Encoding not ending in chunked,
 *    is rejected rather than read as close-delimited.
 *  - Connection elements must be tokens.
 */
#ifndef EC_HTTP1_PARSE_H
#define EC_HTTP1_PARSE_H

#include <stdint.h>
#include <sys/types.h>

#include "ec_http.h"

enum ec_h1_err {
	EC_H1_OK = 0,
	EC_H1_E_BAD = -1,           /* malformed: 400 */
	EC_H1_E_LINE_TOO_LONG = -2, /* request line over the limit: 414 */
	EC_H1_E_HEAD_TOO_BIG = -3,  /* header block or field count over the limit: 431 */
	EC_H1_E_VERSION = -4,       /* HTTP/2.0, HTTP/3.x...: 505 */
	EC_H1_E_NOT_IMPL = -5,      /* Transfer-Encoding we do not implement: 501 */
	EC_H1_E_BODY_TOO_BIG = -6,  /* Content-Length over the limit: 413 */
};

/*
 * The HTTP status to answer a client for a request parse error: 400, 414,
 * 431, 505, 501 or 413; 500 for EC_H1_OK or a value outside the enum. (A
 * response parse error is the origin's fault: the caller answers 502.)
 */
int ec_h1_err_status(enum ec_h1_err e);

enum ec_h1_framing {
	EC_H1_BODY_INVALID = 0,
	EC_H1_BODY_NONE,    /* no body at all */
	EC_H1_BODY_LENGTH,  /* Content-Length: content_length bytes (may be 0) */
	EC_H1_BODY_CHUNKED, /* Transfer-Encoding: chunked */
	EC_H1_BODY_CLOSE,   /* responses only: until the connection closes */
};

/*
 * Limits; all counted in bytes of the input as sent. A request (or status)
 * line of exactly max_request_line bytes (without its CRLF) passes, one
 * more is 414; a head of exactly max_head bytes (leading empty lines and the
 * final CRLF included) passes, one more is 431; so for max_fields. The
 * limits are checked on partial input too. max_request_line and max_head
 * must not be 0.
 */
struct ec_h1_limits {
	size_t max_request_line; /* default 8192: longer → 414 */
	size_t max_head;         /* default 32768: whole header block; longer → 431 */
	unsigned max_fields;     /* default 100: more → 431 */
	uint64_t max_body;       /* request bodies only; 0 = unlimited; larger CL → 413 */
};

/* {8192, 32768, 100, 0}; the parse functions use it when given limits == NULL. */
extern const struct ec_h1_limits ec_h1_limits_default;

/*
 * Every reason string the parser and the chunked decoder can return, once,
 * for logs, per-reason counters and docs. The parse functions return
 * exactly these pointers, so a caller may also compare them.
 */
#define EC_H1_REASON_TABLE(X)                                                                      \
	/* scanning for the end of the head */                                                     \
	X(BARE_LF, "bare LF")                                                                      \
	X(REQ_LINE_TOO_LONG, "request line too long")                                              \
	X(STATUS_LINE_TOO_LONG, "status line too long")                                            \
	X(HEAD_TOO_BIG, "header block too big")                                                    \
	X(TOO_MANY_FIELDS, "too many header fields")                                               \
	X(EMPTY_BEFORE_STATUS, "empty line before status line")                                    \
	/* start lines */                                                                          \
	X(BARE_CR, "bare CR")                                                                      \
	X(BAD_METHOD, "invalid method")                                                            \
	X(BAD_REQ_LINE, "malformed request line")                                                  \
	X(BAD_TARGET, "invalid request target")                                                    \
	X(FRAGMENT, "fragment in request target")                                                  \
	X(ASTERISK_NOT_OPTIONS, "asterisk-form target without OPTIONS")                            \
	X(CONNECT_FORM, "CONNECT without authority-form target")                                   \
	X(BAD_SCHEME, "unsupported scheme in target")                                              \
	X(USERINFO, "userinfo in target")                                                          \
	X(BAD_AUTHORITY, "invalid authority in target")                                            \
	X(BAD_VERSION, "invalid HTTP version")                                                     \
	X(VERSION, "unsupported HTTP version")                                                     \
	X(BAD_STATUS_LINE, "malformed status line")                                                \
	X(BAD_STATUS, "invalid status code")                                                       \
	X(BAD_REASON_PHRASE, "invalid reason phrase")                                              \
	/* field lines */                                                                          \
	X(WS_AFTER_START, "whitespace before first field")                                         \
	X(OBS_FOLD, "obs-fold")                                                                    \
	X(EMPTY_NAME, "empty field name")                                                          \
	X(WS_BEFORE_COLON, "whitespace before colon")                                              \
	X(BAD_NAME, "invalid field name")                                                          \
	X(NO_COLON, "field line without colon")                                                    \
	X(NUL_IN_VALUE, "NUL in field value")                                                      \
	X(CR_IN_VALUE, "CR in field value")                                                        \
	X(CTL_IN_VALUE, "control character in field value")                                        \
	/* Host */                                                                                 \
	X(MISSING_HOST, "missing Host")                                                            \
	X(DUP_HOST, "duplicate Host")                                                              \
	X(EMPTY_HOST, "empty Host")                                                                \
	X(BAD_HOST, "invalid Host")                                                                \
	/* framing and connection */                                                               \
	X(CL_TE, "both Content-Length and Transfer-Encoding")                                      \
	X(BAD_CL, "invalid Content-Length")                                                        \
	X(CL_DIFFER, "differing Content-Length values")                                            \
	X(TE_HTTP10, "Transfer-Encoding on HTTP/1.0")                                              \
	X(BAD_TE, "invalid Transfer-Encoding")                                                     \
	X(TE_CHUNKED_TWICE, "chunked applied twice")                                               \
	X(TE_NOT_CHUNKED, "chunked not the final transfer coding")                                 \
	X(TE_UNSUPPORTED, "unsupported transfer coding")                                           \
	X(BODY_TOO_BIG, "Content-Length over limit")                                               \
	X(BAD_CONNECTION, "invalid Connection")                                                    \
	/* chunked bodies */                                                                       \
	X(CHUNK_NO_SIZE, "missing chunk size")                                                     \
	X(CHUNK_BAD_SIZE, "invalid chunk size")                                                    \
	X(CHUNK_SIZE_DIGITS, "chunk size too long")                                                \
	X(CHUNK_OVERFLOW, "chunk size overflow")                                                   \
	X(CHUNK_JUNK, "junk after chunk size")                                                     \
	X(CHUNK_BAD_EXT, "invalid chunk extension")                                                \
	X(CHUNK_EXT_TOO_LONG, "chunk extension too long")                                          \
	X(CHUNK_NO_CRLF, "missing CRLF after chunk data")                                          \
	X(CHUNK_BARE_LF, "bare LF in chunked body")                                                \
	X(CHUNK_BARE_CR, "bare CR in chunked body")                                                \
	X(BAD_TRAILER, "invalid trailer field")                                                    \
	X(TRAILER_TOO_BIG, "trailer section too big")

enum ec_h1_reason {
	EC_H1_R_INVALID = 0,
#define X(sym, str) EC_H1_R_##sym,
	EC_H1_REASON_TABLE(X)
#undef X
	        EC_H1_R_COUNT,
};

/* The reason strings indexed by enum ec_h1_reason (NULL at EC_H1_R_INVALID). */
extern const char *const ec_h1_reason_str[EC_H1_R_COUNT];

/*
 * Incremental state for one header block. Zero it (or call _reset) before
 * each head; the parse functions also reset it when they return > 0. All
 * positions are offsets, so the caller may move (realloc) its buffer
 * between calls as long as the bytes already passed stay the same.
 */
struct ec_h1_parser {
	size_t scanned;    /* bytes already searched for the end of the head */
	size_t line_start; /* offset of the line being scanned */
	size_t start;      /* offset of the start line (after skipped empty lines) */
	unsigned nfields;  /* complete field lines seen so far */
	bool past_start;   /* the start line has ended */
};

static inline void ec_h1_parser_reset(struct ec_h1_parser *p)
{
	memset(p, 0, sizeof(*p));
}

struct ec_h1_req {
	/* request line */
	struct ec_str method;
	enum ec_method meth;
	struct ec_str target; /* as sent: origin-form, absolute-form, authority-form or "*" */
	/*
	 * Path and query ("/a?b"): the whole origin-form target; the part after
	 * the authority of an absolute-form target ("/" — a static string — when
	 * that part is empty; "?q" for "http://h?q": prepend "/"); "*" for
	 * asterisk-form; empty for CONNECT.
	 */
	struct ec_str path;
	struct ec_str
	        scheme; /* "http"/"https" (as sent) from an absolute-form target, else empty */
	struct ec_str authority; /* host[:port] from an absolute-form or authority-form target */
	unsigned minor;          /* HTTP/1.minor: 0 or 1 (1.2 .. 1.9 are read as 1) */

	/* fields, in the caller's array */
	struct ec_hdr *hdrs;
	unsigned nhdrs;

	/*
	 * The host the request is for: the absolute-form authority if there is
	 * one (RFC 9112 §3.2.2), else the Host field. Validated: exactly one Host
	 * field on HTTP/1.1 (missing or repeated → 400), reg-name / IPv4 /
	 * [IPv6] with an optional numeric port. Includes the port as sent.
	 * Empty on HTTP/1.0 without a Host field (or with an empty one); a Host
	 * field that is present is validated even when the absolute-form
	 * authority overrides it.
	 */
	struct ec_str host;

	enum ec_h1_framing framing; /* NONE, LENGTH or CHUNKED for requests */
	uint64_t content_length;    /* when LENGTH; else 0 */
	bool keepalive;             /* after this exchange, per version and Connection */
	/*
	 * Expect: 100-continue (other expectations → 417 by caller). Both are
	 * false on HTTP/1.0, which must ignore Expect (RFC 9110 §10.1.1).
	 */
	bool expect_continue;
	bool expect_other; /* an Expect value other than 100-continue */
	bool upgrade;      /* HTTP/1.1, Connection: upgrade and an Upgrade field */
	size_t head_len;   /* bytes of leading empty lines + request line + fields + final CRLF */
};

struct ec_h1_resp {
	unsigned minor;
	int status; /* 100..999 */
	struct ec_str reason;
	struct ec_hdr *hdrs;
	unsigned nhdrs;
	enum ec_h1_framing framing; /* NONE, LENGTH, CHUNKED or CLOSE */
	/*
	 * The Content-Length value whenever one was sent (also on a HEAD or
	 * 304 response, where it describes the selected representation but the
	 * framing is NONE); else 0.
	 */
	uint64_t content_length;
	bool keepalive; /* the origin allows reusing the connection (false with CLOSE framing) */
	size_t head_len;
};

/*
 * Parses a request head from buf[0..len). `hdrs`/`max_hdrs` is the caller's
 * field array (max_hdrs must be >= limits->max_fields). Leading empty lines
 * before the request line (RFC 9112 §2.2) are skipped and counted in
 * head_len. Returns <0 (enum ec_h1_err, *reason set), 0 (need more: call
 * again with the same buffer grown; `p` remembers the scan position) or the
 * head length. On success `out` views point into buf (but see `path`);
 * on error `out` is unspecified. Never reads buf[len] or beyond, nor past
 * the end of the head. The outcome does not depend on how the input was
 * split across calls: an error is reported for the first offending byte.
 * `limits` may be NULL (ec_h1_limits_default).
 *
 * Rejected (EC_H1_E_BAD unless said): both Content-Length and
 * Transfer-Encoding; differing or repeated-and-differing Content-Length
 * values (a list of equal values is accepted as one); a Content-Length with a
 * sign, spaces inside, or a non-digit; Transfer-Encoding other than a final
 * "chunked" (unknown codings → EC_H1_E_NOT_IMPL; chunked not last, chunked
 * twice → BAD); Transfer-Encoding on HTTP/1.0; obs-fold; whitespace between a
 * field name and the colon; bare CR, or bare LF as a line end; NUL or other
 * CTLs (but HTAB) in values; non-tchar in the method or a field name; an
 * empty field name; a request target with CTL or SP; an HTTP version other
 * than HTTP/1.0 or HTTP/1.1 (HTTP/2+ → EC_H1_E_VERSION); a missing or
 * repeated Host on HTTP/1.1 or an invalid Host value; a Content-Length over
 * limits->max_body (EC_H1_E_BODY_TOO_BIG). The request line over
 * max_request_line → EC_H1_E_LINE_TOO_LONG; the head over max_head or more
 * than max_fields fields → EC_H1_E_HEAD_TOO_BIG. For a chunked request body
 * max_body is the caller's to enforce while it streams.
 */
int ec_h1_parse_request(struct ec_h1_parser *p, const char *buf, size_t len,
                        const struct ec_h1_limits *limits, struct ec_hdr *hdrs, unsigned max_hdrs,
                        struct ec_h1_req *out, const char **reason);

/*
 * Parses a response head from an origin. `req_method` decides bodiless
 * responses (HEAD; 2xx to CONNECT), as do 1xx, 204 and 304. Framing: as
 * above, plus: neither Content-Length nor chunked → EC_H1_BODY_CLOSE (and
 * keepalive false). Responses get the same smuggling checks as requests
 * (an ambiguous response must never be cached or relayed), and a status
 * line longer than max_request_line is EC_H1_E_LINE_TOO_LONG. The status is
 * 3 digits, 100..999; the SP after it may be left out when the reason
 * phrase is empty. On a bodiless response (HEAD, 1xx, 204, 304, 2xx to
 * CONNECT) Content-Length and Transfer-Encoding are still validated but do
 * not frame anything. limits->max_body is not applied. Same return
 * convention and guarantees as ec_h1_parse_request().
 */
int ec_h1_parse_response(struct ec_h1_parser *p, const char *buf, size_t len,
                         const struct ec_h1_limits *limits, enum ec_method req_method,
                         struct ec_hdr *hdrs, unsigned max_hdrs, struct ec_h1_resp *out,
                         const char **reason);

/*
 * Chunked body decoder (RFC 9112 §7.1). A byte-level state machine: feed it
 * any slice of the body; it consumes what it can and reports data spans.
 *
 * Rejected: a chunk size with no digits, a non-hex digit, more than 16 hex
 * digits or a value over 2^62 (overflow); junk after the size that is not a
 * chunk extension (";" ext-name ["=" ext-value] with BWS); chunk extensions
 * longer than 4 KiB in total per chunk; a missing CRLF after the data; bare
 * LF or CR; trailer fields that are not valid fields, or a trailer section
 * longer than 32 KiB. Trailer fields are validated and discarded (RFC 9110
 * §6.5.1 lets a recipient drop them).
 *
 * Strict choices: whitespace after the size must lead to a ";" (no trailing
 * whitespace on a chunk line); leading zeros count toward the 16 digits;
 * the extension length counts every byte between the last size digit and
 * the CR; the trailer length counts the field lines with their CRLFs, not
 * the final empty line. After an error the decoder stays failed and
 * returns the same reason again.
 */
struct ec_h1_chunked {
	unsigned state;     /* internal; 0 is the start of a chunk-size line */
	uint64_t remaining; /* data bytes left in the current chunk (the size while it is read) */
	unsigned digits;    /* hex digits seen in the current size */
	size_t ext_len;     /* extension bytes in the current chunk line */
	size_t trailer_len; /* bytes of the trailer section so far */
	size_t line_len;    /* bytes in the current trailer line */
	const char *err;    /* the reason of the first error, returned again after it */
};

static inline void ec_h1_chunked_init(struct ec_h1_chunked *c)
{
	memset(c, 0, sizeof(*c));
}

enum ec_h1_chunk_ret {
	EC_H1_CHUNK_ERROR = -1, /* malformed; *reason set */
	EC_H1_CHUNK_MORE = 0,   /* consumed all of the input; no data in it */
	EC_H1_CHUNK_DATA = 1,   /* *data is a span of body bytes inside in[0..*consumed) */
	EC_H1_CHUNK_DONE = 2,   /* last-chunk and trailers consumed: the body is complete */
};

/*
 * Consumes bytes from in[0..len). Sets *consumed to the bytes used (all
 * of them on MORE; up to and including the data span on DATA; up to the end
 * of the final CRLF on DONE, so anything after it is the next message; up
 * to the offending byte on ERROR). Call repeatedly until MORE or DONE. Once
 * DONE, further calls return DONE and consume nothing. *data points into
 * `in`; the decoder keeps no pointer to it.
 */
enum ec_h1_chunk_ret ec_h1_chunked_step(struct ec_h1_chunked *c, const char *in, size_t len,
                                        size_t *consumed, struct ec_str *data, const char **reason);

/*
 * Hop-by-hop fields (RFC 9110 §7.6.1): Connection, the fields Connection
 * names, Keep-Alive, TE, Trailer, Transfer-Encoding, Upgrade,
 * Proxy-Connection, Proxy-Authenticate, Proxy-Authorization. Returns true
 * when hdrs[i] (i < n) must not be forwarded. Content-Length is end-to-end but the
 * forwarder rewrites it, so it is not reported here.
 */
bool ec_h1_is_hop_by_hop(const struct ec_hdr *hdrs, unsigned n, unsigned i);
/* The same, for a caller that looked up the first Connection field (or
 * NULL) once for all its fields. */
bool ec_h1_is_hop_by_hop_conn(const struct ec_hdr *hdrs, unsigned n, unsigned i,
			      const struct ec_hdr *conn);

#endif /* EC_HTTP1_PARSE_H */
