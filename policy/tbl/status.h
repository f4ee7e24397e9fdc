/*
 * policy/tbl/status.h — what the cache knows about each final status code,
 * defined once (X-macro) and expanded by policy/fresh.c and docs/policy.md.
 *
 * Columns:
 *   code   the status code
 *   und    understood: we recognise it and implement all its caching-related
 *          behaviour (RFC 9111 §3, "understood"); matters for must-understand
 *          (§5.2.2.3). Codes absent from the table are not understood.
 *   heur   heuristically cacheable (RFC 9110 §15.1; 451 by RFC 7725 §3):
 *          storable without explicit freshness, heuristic lifetime allowed
 *          (RFC 9111 §4.2.2)
 *   store  0 when edgecache never stores it: 206 (no partial storage, RFC
 *          9111 §3.3 lets a cache decline) and 304 (not a complete response;
 *          handled by revalidation, §4.3.4)
 *   ref    where the code is defined
 */
#ifndef EC_TBL_STATUS_H
#define EC_TBL_STATUS_H

#define EC_STATUS_TABLE(X)                                                                         \
	X(200, 1, 1, 1, "RFC 9110 §15.3.1")                                                        \
	X(201, 1, 0, 1, "RFC 9110 §15.3.2")                                                        \
	X(202, 1, 0, 1, "RFC 9110 §15.3.3")                                                        \
	X(203, 1, 1, 1, "RFC 9110 §15.3.4")                                                        \
	X(204, 1, 1, 1, "RFC 9110 §15.3.5")                                                        \
	X(205, 1, 0, 1, "RFC 9110 §15.3.6")                                                        \
	X(206, 1, 1, 0, "RFC 9110 §15.3.7")                                                        \
	X(300, 1, 1, 1, "RFC 9110 §15.4.1")                                                        \
	X(301, 1, 1, 1, "RFC 9110 §15.4.2")                                                        \
	X(302, 1, 0, 1, "RFC 9110 §15.4.3")                                                        \
	X(303, 1, 0, 1, "RFC 9110 §15.4.4")                                                        \
	X(304, 1, 0, 0, "RFC 9110 §15.4.5")                                                        \
	X(307, 1, 0, 1, "RFC 9110 §15.4.8")                                                        \
	X(308, 1, 1, 1, "RFC 9110 §15.4.9")                                                        \
	X(400, 1, 0, 1, "RFC 9110 §15.5.1")                                                        \
	X(401, 1, 0, 1, "RFC 9110 §15.5.2")                                                        \
	X(403, 1, 0, 1, "RFC 9110 §15.5.4")                                                        \
	X(404, 1, 1, 1, "RFC 9110 §15.5.5")                                                        \
	X(405, 1, 1, 1, "RFC 9110 §15.5.6")                                                        \
	X(406, 1, 0, 1, "RFC 9110 §15.5.7")                                                        \
	X(408, 1, 0, 1, "RFC 9110 §15.5.9")                                                        \
	X(409, 1, 0, 1, "RFC 9110 §15.5.10")                                                       \
	X(410, 1, 1, 1, "RFC 9110 §15.5.11")                                                       \
	X(411, 1, 0, 1, "RFC 9110 §15.5.12")                                                       \
	X(412, 1, 0, 1, "RFC 9110 §15.5.13")                                                       \
	X(413, 1, 0, 1, "RFC 9110 §15.5.14")                                                       \
	X(414, 1, 1, 1, "RFC 9110 §15.5.15")                                                       \
	X(415, 1, 0, 1, "RFC 9110 §15.5.16")                                                       \
	X(416, 1, 0, 1, "RFC 9110 §15.5.17")                                                       \
	X(417, 1, 0, 1, "RFC 9110 §15.5.18")                                                       \
	X(421, 1, 0, 1, "RFC 9110 §15.5.20")                                                       \
	X(422, 1, 0, 1, "RFC 9110 §15.5.21")                                                       \
	X(426, 1, 0, 1, "RFC 9110 §15.5.22")                                                       \
	X(428, 1, 0, 1, "RFC 6585 §3")                                                             \
	X(429, 1, 0, 1, "RFC 6585 §4")                                                             \
	X(431, 1, 0, 1, "RFC 6585 §5")                                                             \
	X(451, 1, 1, 1, "RFC 7725 §3")                                                             \
	X(500, 1, 0, 1, "RFC 9110 §15.6.1")                                                        \
	X(501, 1, 1, 1, "RFC 9110 §15.6.2")                                                        \
	X(502, 1, 0, 1, "RFC 9110 §15.6.3")                                                        \
	X(503, 1, 0, 1, "RFC 9110 §15.6.4")                                                        \
	X(504, 1, 0, 1, "RFC 9110 §15.6.5")                                                        \
	X(505, 1, 0, 1, "RFC 9110 §15.6.6")

#endif /* EC_TBL_STATUS_H */
