/*
 * arena.h — a per-request bump allocator.
 *
 * Everything that dies with a request (the copied request head, rebuilt
 * header lists, formatted fields) is carved from its connection's arena,
 * which is reset when the request ends. The first block lives inside the
 * arena struct, so a typical request allocates nothing from the heap;
 * larger demands chain extra blocks that the reset frees.
 *
 * Single-threaded: an arena belongs to one connection on one worker.
 */
#ifndef EC_ARENA_H
#define EC_ARENA_H

#include <stddef.h>

#include "ec_util.h"

#define EC_ARENA_INLINE 8192

struct ec_arena_block;

struct ec_arena {
	char *cur;                     /* next free byte in the current block */
	char *end;                     /* end of the current block */
	struct ec_arena_block *blocks; /* heap blocks, newest first */
	size_t heap_bytes;             /* bytes in heap blocks, for stats */
	char inline_block[EC_ARENA_INLINE] __attribute__((aligned(16)));
};

void ec_arena_init(struct ec_arena *a);

/*
 * Returns `n` bytes aligned to 16, or NULL when memory is exhausted (the
 * caller degrades: 503 or a closed connection). Never blocks.
 */
void *ec_arena_alloc(struct ec_arena *a, size_t n);

/* Copies s into the arena; returns a view of the copy (len 0 view on failure). */
struct ec_str ec_arena_strdup(struct ec_arena *a, struct ec_str s);

/* Frees the heap blocks and makes the whole inline block available again. */
void ec_arena_reset(struct ec_arena *a);

/* Same as reset; named for the end of the owner's life. */
void ec_arena_fini(struct ec_arena *a);

#endif /* EC_ARENA_H */
