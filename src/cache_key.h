/*
 * cache_key.h — the cache key of a request: [scheme "://"] [host] path
 * ["?" query], shaped by the configuration (cache.key_scheme, key_host,
 * key_query keep|sort|ignore, key_ignore_params).
 *
 * Normalisation that never changes meaning: the host is lower-cased and a
 * default port (:80 for http, :443 for https) dropped; an empty path is "/".
 * Paths are not percent-decoded (two spellings of one resource stay two
 * keys, never one key for two resources).
 */
#ifndef EC_CACHE_KEY_H
#define EC_CACHE_KEY_H

#include "ec_util.h"

struct ec_arena;
struct ec_config;

/*
 * Builds the key for `path` (origin-form path and query, as in ec_req.path)
 * on `host` reached by `scheme`, into the arena. Returns an empty view when
 * the arena is exhausted.
 */
struct ec_str ec_cache_key_build(struct ec_arena *a, const struct ec_config *cf,
				 struct ec_str scheme, struct ec_str host, struct ec_str path);

#endif /* EC_CACHE_KEY_H */
