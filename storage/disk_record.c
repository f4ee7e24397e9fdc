/*
 * storage/disk_record.c — the disk tier's stored formats (version 1), in
 * explicit little-endian fields, never struct dumps, so a later version can
 * read and migrate them. docs/storage.md ("Record formats") has the same
 * tables; keep the two in step.
 *
 * Object record (sub-database "objects", key = object key):
 *
 *   off  size  field
 *     0     1  version (EC_DISK_REC_V1)
 *     1     1  flags: 0x01 stale (soft-purged), 0x02 inline body
 *     2     2  meta_version (the daemon's meta-area layout)
 *     4     4  atime: last access the writer recorded, unix seconds
 *     8     8  object id: the chunk keys' prefix (0 when inline)
 *    16     8  body length
 *    24     4  number of chunks (0 when inline)
 *    28     4  key length           32  4  secondary key length
 *    36     4  meta length          40  4  encoded header block length
 *    44     4  number of tags       48  4  status (signed)
 *    52     4  reserved, 0
 *    56  6x8   request_time, response_time, date, expires, lifetime,
 *              stored_at (signed)
 *   104        key, secondary key, meta, tags (u16 length + bytes each),
 *              header block (header codec output), inline body
 *   end-8   8  XXH3-64 of every byte before it
 *
 * Chunk record (sub-database "chunks", key = [id BE 8][index BE 4]):
 * [XXH3-64 of the data, 8][data, EC_DISK_CHUNK_DATA bytes except the last].
 *
 * Pure functions; no allocation, no locks. Decoding never trusts a length.
 */
#include <string.h>

#include <xxhash.h>

#include "storage/disk_priv.h"

static void put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint16_t get16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void put_be64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (56 - 8 * i));
}

uint64_t ec_disk__be64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

size_t ec_disk__rec_size(const struct ec_disk_rec *r, const struct ec_str *tags, size_t ntags)
{
	size_t n = EC_DISK_REC_FIXED + r->key.len + r->vkey.len + r->meta.len + r->hdr.len + 8;
	for (size_t i = 0; i < ntags; i++)
		n += 2 + tags[i].len;
	if (r->flags & EC_DISK_RECF_INLINE)
		n += r->body_len;
	return n;
}

static unsigned char *put_bytes(unsigned char *p, struct ec_str s)
{
	if (s.len)
		memcpy(p, s.p, s.len);
	return p + s.len;
}

size_t ec_disk__rec_encode(const struct ec_disk_rec *r, const struct ec_str *tags, size_t ntags,
                           void *out)
{
	unsigned char *b = out, *p;
	EC_ASSERT(!(r->flags & EC_DISK_RECF_INLINE) || r->body.len == r->body_len);
	memset(b, 0, EC_DISK_REC_FIXED);
	b[0] = EC_DISK_REC_V1;
	b[1] = (unsigned char)r->flags;
	put16(b + 2, r->meta_version);
	put32(b + 4, r->atime);
	put64(b + 8, r->id);
	put64(b + 16, r->body_len);
	put32(b + 24, r->nchunks);
	put32(b + 28, (uint32_t)r->key.len);
	put32(b + 32, (uint32_t)r->vkey.len);
	put32(b + 36, (uint32_t)r->meta.len);
	put32(b + 40, (uint32_t)r->hdr.len);
	put32(b + 44, (uint32_t)ntags);
	put32(b + 48, (uint32_t)r->attr.status);
	put64(b + 56, (uint64_t)r->attr.request_time);
	put64(b + 64, (uint64_t)r->attr.response_time);
	put64(b + 72, (uint64_t)r->attr.date);
	put64(b + 80, (uint64_t)r->attr.expires);
	put64(b + 88, (uint64_t)r->attr.lifetime);
	put64(b + 96, (uint64_t)r->attr.stored_at);
	p = b + EC_DISK_REC_FIXED;
	p = put_bytes(p, r->key);
	p = put_bytes(p, r->vkey);
	p = put_bytes(p, r->meta);
	for (size_t i = 0; i < ntags; i++) {
		EC_ASSERT(tags[i].len <= UINT16_MAX);
		put16(p, (uint16_t)tags[i].len);
		p = put_bytes(p + 2, tags[i]);
	}
	p = put_bytes(p, r->hdr);
	if (r->flags & EC_DISK_RECF_INLINE)
		p = put_bytes(p, r->body);
	put64(p, XXH3_64bits(b, (size_t)(p - b)));
	return (size_t)(p - b) + 8;
}

/* Takes n bytes at *pos of p[0..end) as a view; false when they are not there. */
static bool take(const unsigned char *p, size_t end, size_t *pos, uint64_t n, struct ec_str *out)
{
	if (n > end - *pos)
		return false;
	*out = ec_str_make((const char *)p + *pos, (size_t)n);
	*pos += (size_t)n;
	return true;
}

int ec_disk__rec_decode(const void *buf, size_t len, struct ec_disk_rec *r, const char **why)
{
	const unsigned char *b = buf;
	memset(r, 0, sizeof(*r));
	if (len < EC_DISK_REC_FIXED + 8) {
		*why = "record shorter than its fixed part";
		return -1;
	}
	if (b[0] != EC_DISK_REC_V1) {
		*why = "unknown record version";
		return -1;
	}
	size_t end = len - 8;
	if (get64(b + end) != XXH3_64bits(b, end)) {
		*why = "record checksum mismatch";
		return -1;
	}
	r->flags = b[1];
	if (r->flags & ~EC_DISK_RECF_KNOWN) {
		*why = "unknown record flags";
		return -1;
	}
	r->meta_version = get16(b + 2);
	r->atime = get32(b + 4);
	r->id = get64(b + 8);
	r->body_len = get64(b + 16);
	r->nchunks = get32(b + 24);
	r->ntags = get32(b + 44);
	r->attr.status = (int)get32(b + 48);
	r->attr.request_time = (int64_t)get64(b + 56);
	r->attr.response_time = (int64_t)get64(b + 64);
	r->attr.date = (int64_t)get64(b + 72);
	r->attr.expires = (int64_t)get64(b + 80);
	r->attr.lifetime = (int64_t)get64(b + 88);
	r->attr.stored_at = (int64_t)get64(b + 96);
	size_t pos = EC_DISK_REC_FIXED;
	if (!take(b, end, &pos, get32(b + 28), &r->key) || r->key.len == 0 ||
	    !take(b, end, &pos, get32(b + 32), &r->vkey) ||
	    !take(b, end, &pos, get32(b + 36), &r->meta)) {
		*why = "record lengths overrun";
		return -1;
	}
	size_t tags_start = pos;
	for (uint32_t i = 0; i < r->ntags; i++) {
		struct ec_str t;
		size_t n = end - pos >= 2 ? get16(b + pos) : 0;
		if (end - pos < 2 || (pos += 2, !take(b, end, &pos, n, &t))) {
			*why = "record tags overrun";
			return -1;
		}
	}
	r->tags = ec_str_make((const char *)b + tags_start, pos - tags_start);
	if (!take(b, end, &pos, get32(b + 40), &r->hdr)) {
		*why = "record lengths overrun";
		return -1;
	}
	if (r->flags & EC_DISK_RECF_INLINE) {
		if (r->nchunks != 0 || r->id != 0 || !take(b, end, &pos, r->body_len, &r->body)) {
			*why = "inline body overruns the record";
			return -1;
		}
	} else {
		uint64_t want = (r->body_len + EC_DISK_CHUNK_DATA - 1) / EC_DISK_CHUNK_DATA;
		if (r->nchunks != want || r->id == 0) {
			*why = "chunk count does not match the body length";
			return -1;
		}
	}
	if (pos != end) {
		*why = "trailing bytes in the record";
		return -1;
	}
	return 0;
}

bool ec_disk__rec_tag_next(const struct ec_disk_rec *r, size_t *pos, struct ec_str *tag)
{
	const unsigned char *p = (const unsigned char *)r->tags.p;
	if (*pos + 2 > r->tags.len)
		return false;
	size_t n = get16(p + *pos);
	*tag = ec_str_make(r->tags.p + *pos + 2, n);
	*pos += 2 + n;
	return true;
}

void ec_disk__rec_patch(void *buf, size_t len, uint32_t atime, unsigned flags)
{
	unsigned char *b = buf;
	EC_ASSERT(len >= EC_DISK_REC_FIXED + 8);
	b[1] = (unsigned char)flags;
	put32(b + 4, atime);
	put64(b + len - 8, XXH3_64bits(b, len - 8));
}

size_t ec_disk__chunk_encode(const void *data, size_t len, void *out)
{
	unsigned char *o = out;
	put64(o, XXH3_64bits(data, len));
	memcpy(o + 8, data, len);
	return len + 8;
}

void ec_disk__chunk_seal(void *p, size_t len)
{
	unsigned char *b = p;
	put64(b, XXH3_64bits(b + 8, len));
}

int ec_disk__chunk_decode(const void *p, size_t len, const void **data, size_t *dlen)
{
	const unsigned char *b = p;
	if (len < 8 || len - 8 > EC_DISK_CHUNK_DATA)
		return -1;
	if (get64(b) != XXH3_64bits(b + 8, len - 8))
		return -1;
	*data = b + 8;
	*dlen = len - 8;
	return 0;
}

void ec_disk__okey(struct ec_hash128 h, uint64_t vid, unsigned char out[EC_DISK_OKEY])
{
	put_be64(out, h.hi);
	put_be64(out + 8, h.lo);
	put_be64(out + 16, vid);
}

void ec_disk__ckey(uint64_t id, uint32_t idx, unsigned char out[EC_DISK_CKEY])
{
	put_be64(out, id);
	for (int i = 0; i < 4; i++)
		out[8 + i] = (unsigned char)(idx >> (24 - 8 * i));
}

void ec_disk__akey(uint32_t atime, const unsigned char okey[EC_DISK_OKEY],
                   unsigned char out[EC_DISK_AKEY])
{
	for (int i = 0; i < 4; i++)
		out[i] = (unsigned char)(atime >> (24 - 8 * i));
	memcpy(out + 4, okey, EC_DISK_OKEY);
}

struct ec_hash128 ec_disk__okey_hash(const unsigned char okey[EC_DISK_OKEY])
{
	struct ec_hash128 h = {.hi = ec_disk__be64(okey), .lo = ec_disk__be64(okey + 8)};
	return h;
}

uint64_t ec_disk__vid(struct ec_str vkey)
{
	return vkey.len ? XXH3_64bits(vkey.p, vkey.len) : 0;
}
