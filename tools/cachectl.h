/*
 * cachectl.h — what tools/cachectl.c (the command line, the admin API client,
 * the views) and tools/cachectl_db.c (--db: a stopped daemon's disk tier,
 * read-only) share. Single-threaded tool; nothing here locks.
 */
#ifndef EC_CACHECTL_H
#define EC_CACHECTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ec_util.h"

#define EXIT_FAIL  1
#define EXIT_USAGE 2

struct ctl_globals {
	const char *admin;
	const char *token_file;
	const char *db;
	bool json;
	bool color;
	char token[512];
};
extern struct ctl_globals G;

/* An escape sequence when colour is on, "" otherwise. */
const char *ctl_color(const char *code);
#define BOLD   ctl_color("\033[1m")
#define DIM    ctl_color("\033[2m")
#define RED    ctl_color("\033[31m")
#define YELLOW ctl_color("\033[33m")
#define GREEN  ctl_color("\033[32m")
#define RESET  ctl_color("\033[0m")

/* "cachectl: MESSAGE" on stderr. */
void die_msg(const char *fmt, ...) EC_PRINTF(1, 2);
/* 1536 -> "1.5 KiB"; seconds -> "45s", "12m", "3h", "2d" (negative: "-45s"). */
void human_size(uint64_t b, char *out, size_t cap);
void human_age(long long s, char *out, size_t cap);
/* One "  label   value" line of a key/value view. */
void row(const char *label, const char *fmt, ...) EC_PRINTF(2, 3);
void print_json(json_t *j);

/* One listed key (ls, top, --db ls). */
struct obj {
	char *key;
	const char *tier;
	long long size, age, ttl, hits, variants;
	bool stale;
};
struct ctl_objs {
	struct obj *o;
	size_t n, cap;
};
/* The table of ls and top: the first `limit` rows, then "... N more". */
void print_objects(struct obj *o, size_t n, size_t limit);

/* --db (cachectl_db.c): each opens the tier read-only and closes it again. */
int ctl_db_stats(void);                                  /* 0 or EXIT_FAIL, after printing */
int ctl_db_list(const char *prefix, struct ctl_objs *l); /* 0 or -1 (message printed) */
json_t *ctl_db_inspect(const char *url, long long now);  /* NULL: message printed */

#endif /* EC_CACHECTL_H */
