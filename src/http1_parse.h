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
 */
#ifndef EC_HTTP1_PARSE_H
#define EC_HTTP1_PARSE_H

#include <stdint.h>
#include <sys/types.h>

#include "ec_http.h"

enum ec_h1_err {
	EC_H1_OK = 0,
	EC_H1_E_BAD = -1,          /* malformed: 400 */
	EC_H1_E_LINE_TOO_LONG = -2, /* request line over the limit: 414 */
	EC_H1_E_HEAD_TOO_BIG = -3,  /* header block or field count over the limit: 431 */
	EC_H1_E_VERSION = -4,       /* HTTP/2.0, HTTP/3.x...: 505 */
	EC_H1_E_NOT_IMPL = -5,      /* Transfer-Encoding we do not implement: 501 */
	EC_H1_E_BODY_TOO_BIG = -6,  /* Content-Length over the limit: 413 */
};

/* The HTTP status to answer a client for a request parse error. */
int ec_h1_err_status(enum ec_h1_err e);

enum ec_h1_framing {
	EC_H1_BODY_INVALID = 0,
	EC_H1_BODY_NONE,    /* no body at all */
	EC_H1_BODY_LENGTH,  /* Content-Length: content_length bytes (may be 0) */
	EC_H1_BODY_CHUNKED, /* Transfer-Encoding: chunked */
	EC_H1_BODY_CLOSE,   /* responses only: until the connection closes */
};

struct ec_h1_limits {
	size_t max_request_line; /* default 8192: longer → 414 */
	size_t max_head;         /* default 32768: whole header block; longer → 431 */
	unsigned max_fields;     /* default 100: more → 431 */
	uint64_t max_body;       /* request bodies only; 0 = unlimited; larger CL → 413 */
};

/* Incremental state for one header block. Zero it (or call _reset) before each head. */
struct ec_h1_parser {
	size_t scanned; /* bytes already searched for the end of the head */
};

static inline void ec_h1_parser_reset(struct ec_h1_parser *p)
{
	p->scanned = 0;
}

struct ec_h1_req {
	/* request line */
	struct ec_str method;
	enum ec_method meth;
	struct ec_str target; /* as sent: origin-form, absolute-form, authority-form or "*" */
	struct ec_str path;   /* path and query ("/a?b"); "*" for asterisk-form; empty for CONNECT */
	struct ec_str scheme; /* "http"/"https" from an absolute-form target, else empty */
	struct ec_str authority; /* host[:port] from an absolute-form or authority-form target */
	unsigned minor;          /* HTTP/1.minor: 0 or 1 */

	/* fields, in the caller's array */
	struct ec_hdr *hdrs;
	unsigned nhdrs;

	/*
	 * The host the request is for: the absolute-form authority if there is
	 * one (RFC 9112 §3.2.2), else the Host field. Validated: exactly one Host
	 * field on HTTP/1.1 (missing or repeated → 400), reg-name / IPv4 /
	 * [IPv6] with an optional numeric port.
	 */
	struct ec_str host;

	enum ec_h1_framing framing; /* NONE, LENGTH or CHUNKED for requests */
	uint64_t content_length;    /* when LENGTH */
	bool keepalive;             /* after this exchange, per version and Connection */
	bool expect_continue;       /* Expect: 100-continue (other expectations → 417 by caller) */
	bool expect_other;          /* an Expect value other than 100-continue */
	bool upgrade;               /* Connection: upgrade with an Upgrade field */
	size_t head_len;            /* bytes of the request line + fields + final CRLF */
};

struct ec_h1_resp {
	unsigned minor;
	int status;          /* 100..999 */
	struct ec_str reason;
	struct ec_hdr *hdrs;
	unsigned nhdrs;
	enum ec_h1_framing framing; /* NONE, LENGTH, CHUNKED or CLOSE */
	uint64_t content_length;
	bool keepalive; /* the origin allows reusing the connection */
	size_t head_len;
};

/*
 * Parses a request head from buf[0..len). `hdrs`/`max_hdrs` is the caller's
 * field array (max_hdrs must be >= limits->max_fields). Leading empty lines
 * before the request line (RFC 9112 §2.2) are skipped and counted in
 * head_len. Returns <0 (enum ec_h1_err, *reason set), 0 (need more: call
 * again with the same buffer grown; `p` remembers the scan position) or the
 * head length. On success `out` views point into buf.
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
 * limits->max_body (EC_H1_E_BODY_TOO_BIG).
 */
int ec_h1_parse_request(struct ec_h1_parser *p, const char *buf, size_t len,
			const struct ec_h1_limits *limits, struct ec_hdr *hdrs, unsigned max_hdrs,
			struct ec_h1_req *out, const char **reason);

/*
 * Parses a response head from an origin. `req_method` decides bodiless
 * responses (HEAD; 2xx to CONNECT), as do 1xx, 204 and 304. Framing: as
 * above, plus: neither Content-Length nor chunked → EC_H1_BODY_CLOSE (and
 * keepalive false). Responses get the same smuggling checks as requests
 * (an ambiguous response must never be cached or relayed). Same return
 * convention.
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
 */
struct ec_h1_chunked {
	unsigned state;     /* internal */
	uint64_t remaining; /* data bytes left in the current chunk */
	unsigned digits;    /* hex digits seen in the current size */
	size_t ext_len;     /* extension bytes in the current chunk line */
	size_t trailer_len; /* bytes of the trailer section so far */
	size_t line_len;    /* bytes in the current trailer line */
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
 * of the final CRLF on DONE, so anything after it is the next message).
 * Call repeatedly until MORE or DONE.
 */
enum ec_h1_chunk_ret ec_h1_chunked_step(struct ec_h1_chunked *c, const char *in, size_t len,
					size_t *consumed, struct ec_str *data, const char **reason);

/*
 * Hop-by-hop fields (RFC 9110 §7.6.1): Connection, the fields Connection
 * names, Keep-Alive, TE, Trailer, Transfer-Encoding, Upgrade,
 * Proxy-Connection, Proxy-Authenticate, Proxy-Authorization. Returns true
 * when hdrs[i] must not be forwarded. Content-Length is end-to-end but the
 * forwarder rewrites it, so it is not reported here.
 */
bool ec_h1_is_hop_by_hop(const struct ec_hdr *hdrs, unsigned n, unsigned i);

#endif /* EC_HTTP1_PARSE_H */
