/*
 * tiers.c — the memory and disk tiers behind one interface (see tiers.h),
 * and the disk tier's setup from the configuration.
 *
 * The disk tier stores each object's meta area as opaque bytes: the layout
 * of struct ec_cmeta (cache.h) is versioned here, and records written with
 * another layout are ignored (a miss) and deleted by the tier.
 */
#include <stdio.h>
#include <string.h>

#include "cache.h"
#include "config.h"
#include "hdrblock.h"
#include "log.h"
#include "storage/ec_disk.h"
#include "tiers.h"
#include "worker.h"

#define CMETA_DISK_VERSION EC_TIERS_META_VERSION
_Static_assert(sizeof(struct ec_cmeta) == 56 && sizeof(struct ec_fresh_meta) == 48,
               "struct ec_cmeta changed: bump CMETA_DISK_VERSION and fix this assertion");

#define TOUCH_EVERY 64 /* memory hits per disk touch */
#define MAX_TAGS    32

enum ec_lookup_rc ec_tiers_lookup(struct ec_worker *w, const struct ec_lookup *lk,
                                  struct ec_obj **objp, bool *from_disk)
{
	*from_disk = false;
	enum ec_lookup_rc rc = ec_store_lookup(w->store, lk, objp);
	if (rc == EC_LOOKUP_HIT || w->disk == NULL)
		return rc;
	struct ec_obj *o = NULL;
	enum ec_lookup_rc drc = ec_disk_lookup(w->disk, lk, &o);
	if (drc != EC_LOOKUP_HIT)
		return rc == EC_LOOKUP_VARY_MISS || drc == EC_LOOKUP_VARY_MISS ? EC_LOOKUP_VARY_MISS
		                                                               : EC_LOOKUP_MISS;
	/* The memory lookup that missed has counted the access in the sketch:
	 * admission compares it with the victims'. */
	ec_store_insert(w->store, o);
	*objp = o;
	*from_disk = true;
	return EC_LOOKUP_HIT;
}

void ec_tiers_hit(struct ec_worker *w, const struct ec_obj *obj, int64_t now)
{
	if (w->disk != NULL && ec_obj_hits(obj) % TOUCH_EVERY == 1)
		ec_disk_touch(w->disk, obj, now);
}

/* Surrogate-Key (space-separated) and Cache-Tag (comma-separated) values. */
size_t ec_tiers_tags(const struct ec_obj *obj, struct ec_str *tags, size_t cap)
{
	struct ec_str blk = ec_obj_headers(obj);
	struct ec_hdr h[128];
	int n = ec_hdrblock_parse(blk, h, EC_ARRAY_LEN(h));
	size_t k = 0;
	for (int i = 0; i < n && k < cap; i++) {
		char sep;
		if (ec_str_caseeq_lit(h[i].name, "surrogate-key"))
			sep = ' ';
		else if (ec_str_caseeq_lit(h[i].name, "cache-tag"))
			sep = ',';
		else
			continue;
		const char *p = h[i].value.p, *end = p + h[i].value.len;
		while (p < end && k < cap) {
			const char *q = memchr(p, sep, (size_t)(end - p));
			if (q == NULL)
				q = end;
			struct ec_str t = ec_str_trim(ec_str_make(p, (size_t)(q - p)));
			if (t.len)
				tags[k++] = t;
			p = q + 1;
		}
	}
	return k;
}

enum ec_insert_rc ec_tiers_insert(struct ec_worker *w, struct ec_obj *obj, int64_t now)
{
	enum ec_insert_rc rc = ec_store_insert(w->store, obj);
	if (w->disk != NULL) {
		struct ec_str tags[MAX_TAGS];
		size_t n = ec_tiers_tags(obj, tags, EC_ARRAY_LEN(tags));
		ec_disk_put(w->disk, obj, tags, n, now);
	}
	return rc;
}

void ec_tiers_remove(struct ec_worker *w, struct ec_obj *obj)
{
	ec_store_remove(w->store, obj);
	if (w->disk != NULL)
		ec_disk_remove(w->disk, obj);
}

void ec_tiers_purge(struct ec_worker *w, const struct ec_key *key, unsigned flags)
{
	ec_store_purge(w->store, key, flags);
	if (w->disk != NULL)
		ec_disk_purge(w->disk, key, flags);
}

/* --- setup ------------------------------------------------------------------ */

static void disk_log(void *arg, enum ec_disk_log_level lvl, const char *msg)
{
	switch (lvl) {
	case EC_DISK_LOG_ERR:
		ec_log_err("%s", msg);
		break;
	case EC_DISK_LOG_WARN:
		ec_log_warn("%s", msg);
		break;
	default:
		ec_log_info("%s", msg);
		break;
	}
}

struct ec_disk *ec_tiers_open_disk(const struct ec_config *c, struct ec_hdrcodec **codecp)
{
	*codecp = NULL;
	if (c->disk_dir[0] == '\0')
		return NULL;
	struct ec_hdrcodec *codec = ec_hdrcodec_new(0);
	uint32_t id;
	const char *why = "out of memory";
	if (codec == NULL ||
	    ec_hdrcodec_add_dict(codec, ec_hdrcodec_default_dict, ec_hdrcodec_default_dict_len,
	                         true, &id, &why) != 0) {
		ec_log_err("disk: the header dictionary: %s; the disk tier is OFF, running "
		           "memory-only",
		           why);
		ec_hdrcodec_free(&codec);
		return NULL;
	}
	struct ec_disk_config dc;
	ec_disk_config_default(&dc, c->disk_dir, c->disk_size);
	dc.sync =
	        strcmp(c->disk_sync, "periodic") == 0 ? EC_DISK_SYNC_PERIODIC : EC_DISK_SYNC_COMMIT;
	dc.sync_interval = c->disk_sync_interval;
	dc.high_pct = c->disk_high_watermark;
	dc.low_pct = c->disk_low_watermark;
	dc.batch_delay = c->disk_batch_delay;
	dc.max_obj_size = c->max_object_size;
	dc.meta_version = CMETA_DISK_VERSION;
	dc.codec = codec;
	dc.log = disk_log;
	char err[1024];
	struct ec_disk *d = ec_disk_open(&dc, err, sizeof(err));
	if (d == NULL) {
		ec_log_err("disk: %s; the disk tier is OFF, running memory-only", err);
		ec_hdrcodec_free(&codec);
		return NULL;
	}
	*codecp = codec;
	return d;
}
