/*
 * storage/ec_hdrcodec.h — the header codec: stored response header blocks
 * compressed with zstd and a dictionary trained on HTTP response headers
 * (conf/headers.dict, built by tools/ec-dicttrain; docs/storage.md, "Header
 * codec").
 *
 * An encoded block says which dictionary it needs, so a retrained dictionary
 * can be rolled out while blocks written with the old one stay readable:
 * register every dictionary still in use for decoding, and the new one for
 * encoding. Format (little-endian):
 *
 *   byte 0       kind: 0 raw (stored as is: compression did not help),
 *                      1 zstd without a dictionary, 2 zstd with a dictionary
 *   bytes 1..4   kind 2 only: the dictionary id (zstd's, ZDICT_getDictID)
 *   varint       raw length (LEB128, at most EC_HDRCODEC_MAX_RAW)
 *   payload      the raw bytes, or one magicless zstd frame without checksum,
 *                content size or dictionary id (the fields above say them)
 *
 * Threads: a codec is built (dictionaries added) by one thread, then shared
 * read-only; encode and decode are thread-safe and use per-thread zstd
 * contexts created on first use (freed when the thread exits). They never
 * block. Decoding returns a code, never asserts: blocks come from disk.
 */
#ifndef EC_HDRCODEC_H
#define EC_HDRCODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EC_HDRCODEC_MAX_DICTS 16
#define EC_HDRCODEC_MAX_RAW   (16u << 20) /* ec_obj_set_headers' limit */

enum ec_hdrcodec_kind {
	EC_HDRC_KIND_RAW = 0,
	EC_HDRC_KIND_ZSTD = 1,
	EC_HDRC_KIND_ZSTD_DICT = 2,
};

#define EC_HDRCODEC_RC_TABLE(X)                                                                    \
	X(OK, "ok")                                                                                \
	X(NOSPACE, "output buffer too small")                                                      \
	X(UNKNOWN_DICT, "block needs a dictionary that is not loaded")                             \
	X(CORRUPT, "malformed or corrupt block")                                                   \
	X(TOO_BIG, "block larger than the codec's limit")                                          \
	X(NOMEM, "out of memory")

enum ec_hdrcodec_rc {
	EC_HDRC_INVALID = 0,
#define X(sym, str) EC_HDRC_##sym,
	EC_HDRCODEC_RC_TABLE(X)
#undef X
};

const char *ec_hdrcodec_rc_str(enum ec_hdrcodec_rc rc);

struct ec_hdrcodec;

/*
 * A codec compressing at zstd `level` (1..22; 0 = the default, 9: see docs/storage.md), with no
 * dictionary yet: it encodes kind 1 (or 0) blocks until a dictionary is
 * added for encoding. NULL when out of memory.
 */
struct ec_hdrcodec *ec_hdrcodec_new(int level);

/* Frees the codec and its dictionaries; no thread may use it any more. */
void ec_hdrcodec_free(struct ec_hdrcodec **cp);

/*
 * Registers a zstd dictionary (the bytes are copied). It must be a real
 * zstd dictionary (magic and a nonzero id, as ZDICT builds them); a raw
 * content dictionary has no id to store and is refused. `encode` makes it
 * the dictionary new blocks use (the last one added so wins). Adding an id
 * already registered with the same bytes only updates `encode`. Returns 0
 * with *id set, or -1 with *reason (a static string): not a dictionary,
 * id 0, an id registered with other bytes, too many dictionaries, out of
 * memory. Not thread-safe: call before the codec is shared.
 */
int ec_hdrcodec_add_dict(struct ec_hdrcodec *c, const void *dict, size_t len, bool encode,
                         uint32_t *id, const char **reason);

/* The id of the dictionary new blocks use; 0 when none. */
uint32_t ec_hdrcodec_encode_dict(const struct ec_hdrcodec *c);

/* Whether a dictionary with this id is registered. */
bool ec_hdrcodec_has_dict(const struct ec_hdrcodec *c, uint32_t id);

/*
 * The default dictionary: conf/headers.dict compiled in (storage/
 * hdrdict_default.c is generated from it by make), so the daemon needs no
 * file at run time. `make dict` retrains conf/headers.dict.
 */
extern const unsigned char ec_hdrcodec_default_dict[];
extern const size_t ec_hdrcodec_default_dict_len;

/* Worst-case encoded size of a raw block of raw_len bytes. */
size_t ec_hdrcodec_bound(size_t raw_len);

/*
 * Encodes raw[0..len) into out[0..cap): with the encoding dictionary when
 * there is one, and as a raw block when compression would not make it
 * smaller. *outlen gets the encoded size. EC_HDRC_OK, NOSPACE (cap <
 * ec_hdrcodec_bound(len) is enough to risk it), TOO_BIG (len >
 * EC_HDRCODEC_MAX_RAW) or NOMEM.
 */
enum ec_hdrcodec_rc ec_hdrcodec_encode(const struct ec_hdrcodec *c, const void *raw, size_t len,
                                       void *out, size_t cap, size_t *outlen);

/*
 * Reads an encoded block's framing: its raw length and the dictionary it
 * needs (0: none). EC_HDRC_OK or CORRUPT (truncated framing, unknown kind,
 * a raw length over the limit, a raw block whose payload length differs).
 */
enum ec_hdrcodec_rc ec_hdrcodec_peek(const void *in, size_t len, size_t *raw_len,
                                     uint32_t *dict_id);

/*
 * Decodes in[0..len) into out[0..cap); *outlen gets the raw length.
 * EC_HDRC_OK; UNKNOWN_DICT when the block's dictionary is not registered;
 * CORRUPT when the framing or the zstd frame is bad or does not decode to
 * exactly the stated length; NOSPACE when cap is below the raw length;
 * NOMEM. Never reads outside in[0..len) nor writes outside out[0..cap).
 */
enum ec_hdrcodec_rc ec_hdrcodec_decode(const struct ec_hdrcodec *c, const void *in, size_t len,
                                       void *out, size_t cap, size_t *outlen);

#endif /* EC_HDRCODEC_H */
