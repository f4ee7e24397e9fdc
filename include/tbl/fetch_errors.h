/*
 * tbl/fetch_errors.h — how an origin exchange can fail, defined once:
 * X(sym, status, token, text): the status the client gets when no byte of
 * the response has been sent yet, the access-log/Cache-Status token, and the
 * human text for the error body and the error log.
 */
/* clang-format off */
X(CONNECT,         502, "origin-connect-failed",  "cannot connect to the origin")
X(CONNECT_TIMEOUT, 504, "origin-connect-timeout", "timed out connecting to the origin")
X(TIMEOUT,         504, "origin-timeout",         "the origin did not answer in time")
X(BAD_RESPONSE,    502, "origin-bad-response",    "the origin sent an invalid response")
X(CLOSED,          502, "origin-closed",          "the origin closed the connection without answering")
X(TRUNCATED,       502, "origin-body-truncated",  "the origin response ended early")
X(BODY_TIMEOUT,    504, "origin-body-timeout",    "the origin stalled in the middle of the body")
X(CLIENT_BODY,     400, "bad-request-body",       "the request body was malformed or cut short")
X(RESOURCES,       503, "no-resources",           "out of resources")
X(TLS,             502, "origin-tls-failed",      "the TLS handshake with the origin failed")
/* clang-format on */
