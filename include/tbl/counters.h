/*
 * tbl/counters.h — every per-worker counter, defined once.
 *
 * X(name, kind, help): kind is `counter` (monotonic), `gauge` (summed over
 * workers) or `gmax` (a gauge whose workers' maximum is reported). Expanded
 * into struct ec_stats (src/stats.h), the JSON /stats output and the
 * Prometheus /metrics output (prefixed `edgecache_`), so the names in code,
 * stats and docs cannot drift apart.
 */
/* clang-format off */
X(client_conns_accepted,   counter, "client connections accepted")
X(client_conns_open,       gauge,   "client connections open")
X(client_conns_refused,    counter, "client connections closed at once: over limits.max_connections")
X(client_requests,         counter, "client requests received")
X(client_bad_requests,     counter, "malformed client requests answered 4xx/5xx and closed")
X(client_timeouts,         counter, "client connections closed by header/idle/send timeouts")
X(client_aborts,           counter, "requests whose client went away before the response ended")
X(resp_1xx,                counter, "responses with status 1xx (final status only)")
X(resp_2xx,                counter, "responses with status 2xx")
X(resp_3xx,                counter, "responses with status 3xx")
X(resp_4xx,                counter, "responses with status 4xx")
X(resp_5xx,                counter, "responses with status 5xx")
X(resp_bytes,              counter, "response body bytes sent to clients")
X(origin_requests,         counter, "requests sent to origins")
X(origin_conns_opened,     counter, "origin connections opened")
X(origin_conns_reused,     counter, "origin requests sent on a pooled keep-alive connection")
X(origin_conns_idle,       gauge,   "idle pooled origin connections")
X(origin_connect_errors,   counter, "origin connection attempts that failed or timed out")
X(origin_timeouts,         counter, "origin first-byte or between-bytes timeouts")
X(origin_errors,           counter, "origin responses that were malformed or cut short")
X(origin_retries,          counter, "origin requests retried on a fresh connection")
X(origin_bytes,            counter, "response body bytes received from origins")
X(cache_fills,             counter, "origin fetches that fill the cache for coalesced requests")
X(cache_coalesced,         counter, "requests that waited on another request's fetch")
X(cache_swr_served,        counter, "stale responses served while a background refresh ran")
X(stale_error_served,      counter, "origin failures answered with a stale response")
X(cache_refresh_ahead,     counter, "background refreshes of hot objects about to expire")
X(cache_req_hit,           counter, "requests answered from the memory tier")
X(cache_req_hit_disk,      counter, "requests answered from the disk tier")
X(cache_req_miss,          counter, "requests that missed (stored or not)")
X(cache_req_expired,       counter, "requests whose stored response was stale and fetched again")
X(cache_req_revalidated,   counter, "requests answered after a 304 freshened the stored response")
X(cache_req_stale,         counter, "requests answered stale (stale-while-revalidate, stale-if-error)")
X(cache_req_collapsed,     counter, "requests that waited on another request's fetch and got its response")
X(cache_req_pass,          counter, "requests the cache did not handle (method, bypass, request directives)")
X(cache_req_other,         counter, "requests answered before the cache step (errors)")
X(bytes_hit_memory,        counter, "body bytes sent from memory-tier hits")
X(bytes_hit_disk,          counter, "body bytes sent from disk-tier hits")
X(bytes_from_origin,       counter, "body bytes sent to clients from origin responses")
X(cache_banned,            counter, "objects found banned at lookup and dropped")
X(purge_requests,          counter, "PURGE requests on the proxy listener (allowed ones)")
X(loop_lag_us,             gmax,    "how late the worker's once-a-second timer last fired, microseconds")
X(tls_handshakes,          counter, "TLS handshakes completed")
X(tls_handshake_errors,    counter, "TLS handshakes that failed or timed out")
X(h2_conns,                counter, "client connections that speak HTTP/2 (ALPN h2 or h2c)")
X(h2_streams,              counter, "HTTP/2 request streams received")
X(h2_abuse_closed,         counter, "HTTP/2 connections closed with GOAWAY for abuse (floods, resets)")
/* clang-format on */
