/*
 * health.c — the backend health state machine (rules in health.h).
 */
#include <string.h>

#include "config.h"
#include "health.h"

void ec_health_init(struct ec_health *h, bool active)
{
	memset(h, 0, sizeof(*h));
	h->active = active;
}

static void set_down(struct ec_health *h, bool down, const struct ec_conf_lb *c, double now)
{
	__atomic_store_n(&h->down, down ? 1 : 0, __ATOMIC_RELAXED);
	h->pfails = 0;
	h->ok_streak = h->fail_streak = 0;
	h->probing = false;
	if (down) {
		h->downs++;
		h->probe_at = now + c->fail_timeout;
	} else {
		h->ups++;
	}
}

bool ec_health_event(struct ec_health *h, const struct ec_conf_lb *c, enum ec_health_ev ev,
                     double now)
{
	bool down = h->down != 0;
	switch (ev) {
	case EC_HEALTH_EV_OK:
		if (down && !h->active && h->probing) {
			set_down(h, false, c, now);
			return true;
		}
		h->pfails = 0;
		return false;
	case EC_HEALTH_EV_FAIL:
		if (down) {
			if (h->probing) {
				h->probing = false;
				h->probe_at = now + c->fail_timeout;
			}
			return false;
		}
		if (c->fail_max == 0)
			return false;
		if (h->pfails == 0 || now - h->pfail_start > c->fail_window) {
			h->pfails = 0;
			h->pfail_start = now;
		}
		if (++h->pfails >= c->fail_max) {
			set_down(h, true, c, now);
			return true;
		}
		return false;
	case EC_HEALTH_EV_CHECK_OK:
		h->fail_streak = 0;
		h->ok_streak++;
		if (down && h->ok_streak >= c->health_rise) {
			set_down(h, false, c, now);
			return true;
		}
		return false;
	case EC_HEALTH_EV_CHECK_FAIL:
		h->ok_streak = 0;
		h->fail_streak++;
		if (!down && h->fail_streak >= c->health_fall) {
			set_down(h, true, c, now);
			return true;
		}
		return false;
	case EC_HEALTH_EV_INVALID:
		break;
	}
	return false;
}

bool ec_health_usable(struct ec_health *h, const struct ec_conf_lb *c, double now, bool claim,
                      bool *probe)
{
	*probe = false;
	if (h->down == 0)
		return true;
	if (h->active || now < h->probe_at)
		return false;
	if (!claim)
		return true;
	/* one probe per fail_timeout: a probe that never reports back (its
	 * request was cancelled) does not block the next one */
	h->probing = true;
	h->probe_at = now + c->fail_timeout;
	*probe = true;
	return true;
}
