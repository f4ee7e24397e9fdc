/*
 * hdrblock.h — the stored header block: how a cached response's header
 * fields are kept in an object (storage/ treats the block as opaque bytes).
 *
 * Format: HTTP/1.1 field lines, "Name: value\r\n" each, in order, exactly
 * as they will be sent — so an HTTP/1.1 hit could write the block as it is,
 * and decoding is one pass over bytes we wrote ourselves. Values never hold
 * CR or LF (the parser refuses them), so a line end is unambiguous.
 *
 * Pure functions, no allocation; views point into the caller's memory.
 */
#ifndef EC_HDRBLOCK_H
#define EC_HDRBLOCK_H

#include "ec_http.h"

/* Bytes ec_hdrblock_write needs for h[0..n). */
size_t ec_hdrblock_size(const struct ec_hdr *h, size_t n);
/* Writes h[0..n) into out (ec_hdrblock_size bytes); returns the length. */
size_t ec_hdrblock_write(const struct ec_hdr *h, size_t n, char *out);
/* Number of fields in a block. */
size_t ec_hdrblock_count(struct ec_str block);
/*
 * Decodes a block into out[0..cap) as views into the block. Returns the
 * number of fields, or -1 when the block is malformed or cap too small.
 */
int ec_hdrblock_parse(struct ec_str block, struct ec_hdr *out, size_t cap);

#endif /* EC_HDRBLOCK_H */
