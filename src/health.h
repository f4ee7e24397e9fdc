/*
 * health.h — a backend's health state machine, shared by passive detection
 * (results of real requests) and active checks (health_check.c). Pure: the
 * caller supplies the time and holds the lock that guards the struct
 * (origin_stats.c: one mutex per backend, taken only on failures and state
 * changes; readers use ec_health_is_down's relaxed atomic load).
 *
 * Rules (docs/origin.md):
 *  - Passive: a connect failure, a timeout or a 5xx is a failure. fail_max
 *    failures in a row, the streak begun within fail_window, take an up
 *    backend down. A success resets the streak. 0 = off.
 *  - Down by passive detection, without active checks: after fail_timeout
 *    one request is let through as a probe (ec_health_usable claims it);
 *    its success brings the backend up, its failure waits another
 *    fail_timeout.
 *  - Active: `fall` failed checks in a row take an up backend down, `rise`
 *    passed checks in a row bring a down one up (whatever took it down).
 *    With active checks on, passive probes are not used: the checker
 *    decides when a backend comes back.
 */
#ifndef EC_HEALTH_H
#define EC_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

struct ec_conf_lb;

enum ec_health_ev {
	EC_HEALTH_EV_INVALID = 0,
	EC_HEALTH_EV_OK,         /* a request succeeded */
	EC_HEALTH_EV_FAIL,       /* a request failed (connect, timeout, 5xx) */
	EC_HEALTH_EV_CHECK_OK,   /* an active check passed */
	EC_HEALTH_EV_CHECK_FAIL, /* an active check failed */
};

struct ec_health {
	int down;                        /* 0 up, 1 down; atomic for readers without the lock */
	unsigned pfails;                 /* passive failure streak */
	double pfail_start;              /* when the streak began */
	unsigned ok_streak, fail_streak; /* active */
	double probe_at;                 /* passive down: the next probe may go at this time */
	bool probing;                    /* a probe request is out */
	bool active;                     /* active checks run for this backend */
	uint64_t downs, ups;             /* transitions */
};

void ec_health_init(struct ec_health *h, bool active);

/* Applies an event at time `now`. Returns true when the state changed
 * (then h->down tells which way). Caller holds the lock. */
bool ec_health_event(struct ec_health *h, const struct ec_conf_lb *c, enum ec_health_ev ev,
                     double now);

/* Whether a pick may use the backend now: up, or passively down with its
 * probe time come. With `claim`, a probe-due backend's probe is taken (the
 * next one is due fail_timeout later; *probe set): claim only for the
 * backend actually picked. Caller holds the lock when ec_health_is_down(). */
bool ec_health_usable(struct ec_health *h, const struct ec_conf_lb *c, double now, bool claim,
                      bool *probe);

/* Relaxed read, no lock. */
static inline bool ec_health_is_down(const struct ec_health *h)
{
	return __atomic_load_n(&h->down, __ATOMIC_RELAXED) != 0;
}

#endif /* EC_HEALTH_H */
