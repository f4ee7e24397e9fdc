/*
 * arena.c — the per-request bump allocator (see arena.h).
 */
#include <stdint.h>
#include <stdlib.h>

#include "arena.h"

struct ec_arena_block {
	struct ec_arena_block *next;
	size_t size;
	char data[] __attribute__((aligned(16)));
};

void ec_arena_init(struct ec_arena *a)
{
	a->blocks = NULL;
	a->heap_bytes = 0;
	a->cur = a->inline_block;
	a->end = a->inline_block + sizeof(a->inline_block);
}

void *ec_arena_alloc(struct ec_arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if (EC_LIKELY((size_t)(a->end - a->cur) >= n)) {
		void *p = a->cur;
		a->cur += n;
		return p;
	}
	size_t size = n > 16384 ? n : 16384;
	struct ec_arena_block *b = malloc(sizeof(*b) + size);
	if (b == NULL)
		return NULL;
	b->size = size;
	b->next = a->blocks;
	a->blocks = b;
	a->heap_bytes += size;
	a->cur = b->data + n;
	a->end = b->data + size;
	return b->data;
}

struct ec_str ec_arena_strdup(struct ec_arena *a, struct ec_str s)
{
	char *p = ec_arena_alloc(a, s.len ? s.len : 1);
	if (p == NULL)
		return ec_str_make(NULL, 0);
	if (s.len)
		memcpy(p, s.p, s.len);
	return ec_str_make(p, s.len);
}

void ec_arena_reset(struct ec_arena *a)
{
	struct ec_arena_block *b = a->blocks, *next;
	for (; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	ec_arena_init(a);
}

void ec_arena_fini(struct ec_arena *a)
{
	ec_arena_reset(a);
}
