/*
 * storage/hdrcodec.c — the header codec (format and contract in
 * ec_hdrcodec.h; the choices are measured in docs/storage.md).
 *
 * Owns: the registered dictionaries, each as a zstd CDict (built once at the
 * codec's level) and DDict, both read-only and shared by every thread. The
 * compression and decompression contexts are per thread, kept under one
 * process-wide pthread key and freed by its destructor when a thread exits;
 * a context is not tied to a dictionary (each call references the one it
 * needs), so any codec can use them.
 */
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_c_format / ZSTD_d_format (magicless frames) */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "ec_util.h"
#include "storage/ec_hdrcodec.h"

#define DEFAULT_LEVEL 9
#define ZDICT_MAGIC   0xEC30A437u

struct dict {
	uint32_t id;
	void *bytes;
	size_t len;
	ZSTD_CDict *cdict;
	ZSTD_DDict *ddict;
};

struct ec_hdrcodec {
	int level;
	unsigned ndicts;
	int encode_idx; /* -1: no dictionary for encoding */
	struct dict dicts[EC_HDRCODEC_MAX_DICTS];
};

const char *ec_hdrcodec_rc_str(enum ec_hdrcodec_rc rc)
{
	switch (rc) {
#define X(sym, str)                                                                                \
	case EC_HDRC_##sym:                                                                        \
		return str;
		EC_HDRCODEC_RC_TABLE(X)
#undef X
	default:
		return "invalid";
	}
}

/* --- per-thread contexts ------------------------------------------------- */

struct tctx {
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
};

static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;

static void tctx_free(void *p)
{
	struct tctx *t = p;
	ZSTD_freeCCtx(t->cctx);
	ZSTD_freeDCtx(t->dctx);
	free(t);
}

static void tls_init(void)
{
	EC_AZ(pthread_key_create(&tls_key, tctx_free));
}

static struct tctx *tctx_get(void)
{
	pthread_once(&tls_once, tls_init);
	struct tctx *t = pthread_getspecific(tls_key);
	if (t != NULL)
		return t;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	if (pthread_setspecific(tls_key, t) != 0) {
		free(t);
		return NULL;
	}
	return t;
}

static ZSTD_CCtx *cctx_get(void)
{
	struct tctx *t = tctx_get();
	if (t == NULL)
		return NULL;
	if (t->cctx == NULL)
		t->cctx = ZSTD_createCCtx();
	return t->cctx;
}

static ZSTD_DCtx *dctx_get(void)
{
	struct tctx *t = tctx_get();
	if (t == NULL)
		return NULL;
	if (t->dctx == NULL)
		t->dctx = ZSTD_createDCtx();
	return t->dctx;
}

/* --- the codec ------------------------------------------------------------- */

struct ec_hdrcodec *ec_hdrcodec_new(int level)
{
	struct ec_hdrcodec *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	if (level <= 0)
		level = DEFAULT_LEVEL;
	c->level = EC_MIN(level, ZSTD_maxCLevel());
	c->encode_idx = -1;
	return c;
}

void ec_hdrcodec_free(struct ec_hdrcodec **cp)
{
	struct ec_hdrcodec *c = *cp;
	*cp = NULL;
	if (c == NULL)
		return;
	for (unsigned i = 0; i < c->ndicts; i++) {
		ZSTD_freeCDict(c->dicts[i].cdict);
		ZSTD_freeDDict(c->dicts[i].ddict);
		free(c->dicts[i].bytes);
	}
	free(c);
}

static const struct dict *find_dict(const struct ec_hdrcodec *c, uint32_t id)
{
	for (unsigned i = 0; i < c->ndicts; i++)
		if (c->dicts[i].id == id)
			return &c->dicts[i];
	return NULL;
}

int ec_hdrcodec_add_dict(struct ec_hdrcodec *c, const void *dict, size_t len, bool encode,
                         uint32_t *id, const char **reason)
{
	const unsigned char *b = dict;
	if (len < 8 ||
	    (uint32_t)(b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24) != ZDICT_MAGIC) {
		*reason = "not a zstd dictionary (bad magic)";
		return -1;
	}
	uint32_t did = (uint32_t)ZSTD_getDictID_fromDict(dict, len);
	if (did == 0) {
		*reason = "dictionary id 0 (a raw-content dictionary cannot be named in a block)";
		return -1;
	}
	for (unsigned i = 0; i < c->ndicts; i++) {
		if (c->dicts[i].id != did)
			continue;
		if (c->dicts[i].len != len || memcmp(c->dicts[i].bytes, dict, len) != 0) {
			*reason = "another dictionary with the same id is already loaded";
			return -1;
		}
		if (encode)
			c->encode_idx = (int)i;
		*id = did;
		return 0;
	}
	if (c->ndicts == EC_HDRCODEC_MAX_DICTS) {
		*reason = "too many dictionaries";
		return -1;
	}
	struct dict *d = &c->dicts[c->ndicts];
	d->bytes = malloc(len);
	if (d->bytes == NULL) {
		*reason = "out of memory";
		return -1;
	}
	memcpy(d->bytes, dict, len);
	d->len = len;
	d->id = did;
	d->cdict = ZSTD_createCDict(d->bytes, len, c->level);
	d->ddict = ZSTD_createDDict(d->bytes, len);
	if (d->cdict == NULL || d->ddict == NULL) {
		ZSTD_freeCDict(d->cdict);
		ZSTD_freeDDict(d->ddict);
		free(d->bytes);
		memset(d, 0, sizeof(*d));
		*reason = "zstd refused the dictionary (corrupt, or out of memory)";
		return -1;
	}
	if (encode)
		c->encode_idx = (int)c->ndicts;
	c->ndicts++;
	*id = did;
	return 0;
}

uint32_t ec_hdrcodec_encode_dict(const struct ec_hdrcodec *c)
{
	return c->encode_idx < 0 ? 0 : c->dicts[c->encode_idx].id;
}

bool ec_hdrcodec_has_dict(const struct ec_hdrcodec *c, uint32_t id)
{
	return find_dict(c, id) != NULL;
}

/* kind + dict id + varint (at most 4 bytes for 16 MiB) */
#define FRAMING_MAX 9

size_t ec_hdrcodec_bound(size_t raw_len)
{
	return FRAMING_MAX + EC_MAX(ZSTD_compressBound(raw_len), raw_len);
}

static size_t put_varint(unsigned char *p, size_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (unsigned char)v;
	return n;
}

enum ec_hdrcodec_rc ec_hdrcodec_encode(const struct ec_hdrcodec *c, const void *raw, size_t len,
                                       void *out, size_t cap, size_t *outlen)
{
	unsigned char *o = out;
	unsigned char head[FRAMING_MAX];
	size_t hl = 0;
	if (len > EC_HDRCODEC_MAX_RAW)
		return EC_HDRC_TOO_BIG;
	const struct dict *d = c->encode_idx < 0 ? NULL : &c->dicts[c->encode_idx];
	head[hl++] = d ? EC_HDRC_KIND_ZSTD_DICT : EC_HDRC_KIND_ZSTD;
	if (d != NULL) {
		for (int i = 0; i < 4; i++)
			head[hl++] = (unsigned char)(d->id >> (8 * i));
	}
	hl += put_varint(head + hl, len);

	size_t zn = 0;
	if (len > 0 && cap > hl) {
		ZSTD_CCtx *cc = cctx_get();
		if (cc == NULL)
			return EC_HDRC_NOMEM;
		ZSTD_CCtx_reset(cc, ZSTD_reset_session_and_parameters);
		ZSTD_CCtx_setParameter(cc, ZSTD_c_format, ZSTD_f_zstd1_magicless);
		ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 0);
		ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 0);
		ZSTD_CCtx_setParameter(cc, ZSTD_c_dictIDFlag, 0);
		if (d != NULL)
			ZSTD_CCtx_refCDict(cc, d->cdict);
		else
			ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, c->level);
		zn = ZSTD_compress2(cc, o + hl, cap - hl, raw, len);
		if (ZSTD_isError(zn))
			zn = 0; /* no room for the frame: a raw block may still fit */
	}
	if (zn == 0 || zn >= len) {
		/* Compression did not help (or the input is empty): store it raw. */
		unsigned char rh[FRAMING_MAX];
		size_t rl = 0;
		rh[rl++] = EC_HDRC_KIND_RAW;
		rl += put_varint(rh + rl, len);
		if (cap < rl + len)
			return EC_HDRC_NOSPACE;
		memcpy(o, rh, rl);
		if (len)
			memcpy(o + rl, raw, len);
		*outlen = rl + len;
		return EC_HDRC_OK;
	}
	memcpy(o, head, hl);
	*outlen = hl + zn;
	return EC_HDRC_OK;
}

/* Parses the framing; *hl gets its length. */
static enum ec_hdrcodec_rc parse_framing(const unsigned char *p, size_t len, unsigned *kind,
                                         uint32_t *did, size_t *raw_len, size_t *hl)
{
	size_t i = 0;
	if (len < 2)
		return EC_HDRC_CORRUPT;
	*kind = p[i++];
	*did = 0;
	if (*kind > EC_HDRC_KIND_ZSTD_DICT)
		return EC_HDRC_CORRUPT;
	if (*kind == EC_HDRC_KIND_ZSTD_DICT) {
		if (len < 6)
			return EC_HDRC_CORRUPT;
		*did = (uint32_t)p[1] | (uint32_t)p[2] << 8 | (uint32_t)p[3] << 16 |
		       (uint32_t)p[4] << 24;
		i += 4;
	}
	size_t v = 0;
	for (unsigned shift = 0;; shift += 7) {
		if (i == len || shift > 28)
			return EC_HDRC_CORRUPT;
		unsigned char b = p[i++];
		v |= (size_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			break;
	}
	if (v > EC_HDRCODEC_MAX_RAW)
		return EC_HDRC_CORRUPT;
	if (*kind == EC_HDRC_KIND_RAW && len - i != v)
		return EC_HDRC_CORRUPT;
	if (*kind != EC_HDRC_KIND_RAW && (v == 0 || len == i))
		return EC_HDRC_CORRUPT;
	*raw_len = v;
	*hl = i;
	return EC_HDRC_OK;
}

enum ec_hdrcodec_rc ec_hdrcodec_peek(const void *in, size_t len, size_t *raw_len, uint32_t *dict_id)
{
	unsigned kind;
	size_t hl;
	return parse_framing(in, len, &kind, dict_id, raw_len, &hl);
}

enum ec_hdrcodec_rc ec_hdrcodec_decode(const struct ec_hdrcodec *c, const void *in, size_t len,
                                       void *out, size_t cap, size_t *outlen)
{
	const unsigned char *p = in;
	unsigned kind;
	uint32_t did;
	size_t raw_len, hl;
	enum ec_hdrcodec_rc rc = parse_framing(p, len, &kind, &did, &raw_len, &hl);
	if (rc != EC_HDRC_OK)
		return rc;
	const struct dict *d = NULL;
	if (kind == EC_HDRC_KIND_ZSTD_DICT && (d = find_dict(c, did)) == NULL)
		return EC_HDRC_UNKNOWN_DICT;
	if (cap < raw_len)
		return EC_HDRC_NOSPACE;
	if (kind == EC_HDRC_KIND_RAW) {
		if (raw_len)
			memcpy(out, p + hl, raw_len);
		*outlen = raw_len;
		return EC_HDRC_OK;
	}
	ZSTD_DCtx *dc = dctx_get();
	if (dc == NULL)
		return EC_HDRC_NOMEM;
	ZSTD_DCtx_reset(dc, ZSTD_reset_session_and_parameters);
	ZSTD_DCtx_setParameter(dc, ZSTD_d_format, ZSTD_f_zstd1_magicless);
	if (d != NULL)
		ZSTD_DCtx_refDDict(dc, d->ddict);
	/* Exactly raw_len bytes of room: a frame that would decode to more fails. */
	size_t n = ZSTD_decompressDCtx(dc, out, raw_len, p + hl, len - hl);
	if (ZSTD_isError(n) || n != raw_len)
		return EC_HDRC_CORRUPT;
	*outlen = n;
	return EC_HDRC_OK;
}
