/*
 * ban.h — the ban list: expressions (policy/ban.h) that invalidate every
 * object stored before them that they match, as Varnish's bans do.
 *
 * Three places apply a ban:
 *   - at once, when it is added: the admin thread sweeps both tiers
 *     (the memory tier by iteration, the disk tier through its ordered key
 *     index, reading each record's headers when the expression needs them);
 *   - lazily, at lookup: ec_ban_check() on a hit, against bans newer than
 *     the object (objects that came into view while the sweep ran, e.g. a
 *     disk record copied into memory mid-sweep);
 *   - by the lurker: once a second the admin thread sweeps the memory tier
 *     again for the bans still listed.
 * A ban stays listed for EC_BAN_KEEP seconds after its sweep, then is
 * dropped: every object it could match has been removed by then.
 *
 * "Older than the ban" compares the object's stored_at (whole seconds)
 * with the ban's time: the sweep at add time takes objects stored up to the
 * ban's second (it runs after the ban, so they are older); the lazy check
 * and the lurker take objects stored strictly before it, so an object
 * fetched again in the ban's own second is not banned a second time.
 *
 * Threads: the list is guarded by a rwlock; ec_ban_check (workers) takes
 * it for reading only when bans exist (an atomic count is read first, so a
 * cache with no bans pays one relaxed load per hit).
 */
#ifndef EC_BAN_H
#define EC_BAN_H

#include <stdbool.h>
#include <stdint.h>

#include "storage/ec_object.h"

struct evbuffer;
struct ec_store;
struct ec_disk;

#define EC_BAN_KEEP 60 /* seconds a ban stays listed after its sweep */
#define EC_BAN_MAX  1024

/*
 * Adds a ban (parsed from `expr`) at time `now` and sweeps both tiers.
 * Returns the number of objects the sweep removed, or -1 with err set (a
 * bad expression, or EC_BAN_MAX bans listed). Admin thread (blocks on the
 * disk writer).
 */
long ec_ban_add(struct ec_store *st, struct ec_disk *d, const char *expr, int64_t now, char *err,
                size_t errlen);

/* true when a listed ban newer than the object matches it. Any thread. */
bool ec_ban_check(const struct ec_obj *obj);

/* The lurker: sweeps the memory tier for the listed bans and drops bans older than EC_BAN_KEEP. */
void ec_ban_lurk(struct ec_store *st, int64_t now);

/* The listed bans as a JSON array of {"expr", "time"}. */
void ec_ban_list_json(struct evbuffer *out);

/* Frees every listed ban (exit). */
void ec_ban_fini(void);

#endif /* EC_BAN_H */
