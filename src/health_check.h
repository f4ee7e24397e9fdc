/*
 * health_check.h — active health checks, off the request path: one thread
 * with its own event_base probes every backend of the groups whose
 * health_check is tcp (a connect) or http (GET health_path, expecting
 * health_status), every health_interval, each probe bounded by
 * health_timeout. Results go to the backend's state machine
 * (ec_backend_check_result): `fall` failures take it down, `rise` passes
 * bring it up; changes are logged.
 *
 * Owned by the main thread: started for a site, stopped (joined) before
 * the next site's checker starts on a reload and at exit.
 */
#ifndef EC_HEALTH_CHECK_H
#define EC_HEALTH_CHECK_H

struct ec_site;
struct ec_hc;

/* Starts checking `s` (holds a reference). NULL when no group asks for
 * checks, or when the thread cannot start (logged). */
struct ec_hc *ec_hc_start(struct ec_site *s);
/* Stops and joins the thread, drops the site; clears *hp. NULL is fine. */
void ec_hc_stop(struct ec_hc **hp);

#endif /* EC_HEALTH_CHECK_H */
