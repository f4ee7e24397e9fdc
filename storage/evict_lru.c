/*
 * storage/evict_lru.c — plain LRU, the baseline S3-FIFO is measured against.
 *
 * One doubly linked list under the eviction lock: a hit moves the object to
 * the head (so, unlike S3-FIFO, every hit takes the global eviction lock,
 * after the shard lock has been released), eviction takes the tail.
 */
#include "storage/store_priv.h"

static int lru_init(struct ec_evict *ev)
{
	(void)ev;
	return 0;
}

static void lru_fini(struct ec_evict *ev)
{
	(void)ev;
}

static void lru_touch(struct ec_evict *ev, struct ec_obj *o)
{
	/* Removed or evicted since the lookup dropped the shard lock: nothing to do. */
	if (atomic_load_explicit(&o->queue, memory_order_relaxed) != EC_OQ_LRU)
		return;
	if (ev->q[EC_OQ_LRU].head == o)
		return;
	ec_evict__q_unlink(ev, o);
	ec_evict__q_push_head(ev, EC_OQ_LRU, o);
}

static void lru_push(struct ec_evict *ev, struct ec_obj *o)
{
	ec_evict__q_push_head(ev, EC_OQ_LRU, o);
}

static struct ec_obj *lru_victim(struct ec_evict *ev, enum ec_obj_queue *from)
{
	if (ev->q[EC_OQ_LRU].count == 0)
		return NULL;
	*from = EC_OQ_LRU;
	return ec_evict__q_pop_tail(ev, EC_OQ_LRU);
}

static void lru_restore(struct ec_evict *ev, struct ec_obj *o, enum ec_obj_queue from)
{
	EC_ASSERT(from == EC_OQ_LRU);
	ec_evict__q_push_tail(ev, EC_OQ_LRU, o);
}

static void lru_evicted(struct ec_evict *ev, struct ec_obj *o, enum ec_obj_queue from)
{
	(void)ev;
	(void)o;
	(void)from;
}

const struct ec_evict_ops ec_evict_lru = {
        .name = "lru",
        .init = lru_init,
        .fini = lru_fini,
        .hit = NULL,
        .touch = lru_touch,
        .push = lru_push,
        .victim = lru_victim,
        .restore = lru_restore,
        .evicted = lru_evicted,
};
