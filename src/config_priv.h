/*
 * config_priv.h — shared between config.c (the schema and the YAML loader)
 * and config_groups.c (the `groups:` section). Not for other modules.
 *
 * The YAML document is first turned into a tree of ynodes (config.c); the
 * schema walkers read the tree. Errors are "NAME:LINE: KEY: problem".
 */
#ifndef EC_CONFIG_PRIV_H
#define EC_CONFIG_PRIV_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

enum ynode_type {
	YN_INVALID = 0,
	YN_SCALAR,
	YN_SEQ,
	YN_MAP, /* kids alternate key, value */
};

struct ynode {
	enum ynode_type type;
	unsigned line; /* 1-based */
	bool plain;    /* an unquoted scalar (for null) */
	char *str;     /* scalar text, NUL-terminated copy */
	size_t len;    /* scalar length (may hold NULs from escapes) */
	struct ynode **kids;
	size_t nkids, cap;
};

struct yload {
	struct ec_config *c;
	const char *name;
	const char *buf;
	size_t len;
	char *err;
	size_t errlen;
};

/* The text of scalar n for `key`, or NULL with the error set (config.c scalar_text). */
const char *ec_config__scalar(struct yload *y, const struct ynode *n, const char *key,
                              const char *what, bool allow_empty);
/* Checks the i-th key of `map` (a plain string, no duplicate); writes prefix.key to path. */
int ec_config__map_key(struct yload *y, const struct ynode *map, size_t i, const char *prefix,
                       char *path, size_t pathlen);
/* Records that `key` was set at `line` of the file. */
void ec_config__note(struct ec_config *c, const char *key, unsigned line);
/* The candidate closest to a mistyped word, or NULL. */
const char *ec_config__suggest(const char *word, const char *const *cands, size_t n);

/* Whether origin.LEAF is a struct ec_conf_lb key; applying one to a group's lb. */
bool ec_config__is_lb_key(const char *leaf);
int ec_config__apply_lb(struct ec_config *c, struct ec_conf_lb *lb, const char *leaf, const char *v,
                        char *err, size_t errlen);
/* Fills lb with the origin.* keys' defaults. */
void ec_config__lb_defaults(struct ec_config *c, struct ec_conf_lb *lb);

/* The `groups:` value `v` (key node kn): replaces c->groups and c->gbackends. */
int ec_config__yaml_groups(struct yload *y, const struct ynode *kn, const struct ynode *v);

#endif /* EC_CONFIG_PRIV_H */
