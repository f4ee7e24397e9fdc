/*
 * acl.h — client address ranges ("127.0.0.1/32, 10.0.0.0/8, ::1"): who may
 * send PURGE on the proxy listener (config key purge_allow).
 *
 * A list is comma- or space-separated; each entry is a numeric IPv4 or
 * IPv6 address with an optional /prefix-length (none = the host alone).
 * IPv4-mapped IPv6 clients (::ffff:a.b.c.d) match IPv4 ranges.
 * Pure functions, no allocation; any thread.
 */
#ifndef EC_ACL_H
#define EC_ACL_H

#include <stdbool.h>
#include <stddef.h>

/* Checks a list; false with a message naming the bad entry in err. */
bool ec_acl_valid(const char *list, char *err, size_t errlen);

/* Whether the numeric address `ip` (as in ec_req.client_ip) is in the list. */
bool ec_acl_match(const char *list, const char *ip);

#endif /* EC_ACL_H */
