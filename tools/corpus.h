/*
 * tools/corpus.h — reading a header corpus (tools/ec-headercorpus output:
 * HTTP/1.1 response heads, each ending with an empty line, concatenated) for
 * ec-dicttrain and ec-codecbench. Header-only: static functions, one tool
 * per process, main thread only.
 */
#ifndef EC_TOOLS_CORPUS_H
#define EC_TOOLS_CORPUS_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct corpus {
	char *data; /* every file, concatenated */
	size_t len;
	size_t n;     /* heads */
	size_t *off;  /* start of head i */
	size_t *size; /* bytes of head i, final empty line included */
};

/* Appends a file's bytes. 0, or -1 with a message on stderr. */
static int corpus_read(struct corpus *c, const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		char *p = realloc(c->data, c->len + n);
		if (p == NULL) {
			fprintf(stderr, "out of memory\n");
			return -1;
		}
		c->data = p;
		memcpy(c->data + c->len, buf, n);
		c->len += n;
	}
	if (f != stdin)
		fclose(f);
	return 0;
}

/* Splits the data into heads at each "\r\n\r\n". 0, or -1 (none found). */
static int corpus_split(struct corpus *c)
{
	size_t cap = 1024, start = 0;
	c->off = malloc(cap * sizeof(size_t));
	c->size = malloc(cap * sizeof(size_t));
	if (c->off == NULL || c->size == NULL)
		return -1;
	for (size_t i = 0; i + 4 <= c->len; i++) {
		if (memcmp(c->data + i, "\r\n\r\n", 4) != 0)
			continue;
		if (c->n == cap) {
			cap *= 2;
			size_t *o = realloc(c->off, cap * sizeof(size_t));
			size_t *s = realloc(c->size, cap * sizeof(size_t));
			if (o == NULL || s == NULL)
				return -1;
			c->off = o;
			c->size = s;
		}
		c->off[c->n] = start;
		c->size[c->n] = i + 4 - start;
		c->n++;
		start = i + 4;
		i += 3;
	}
	return c->n ? 0 : -1;
}

/*
 * The header block the daemon would store for head i (src/cache.c): the
 * field lines without the status line, the final empty line and the fields
 * it never stores (framing, hop-by-hop, Age). Writes into out (at least the
 * head's size); returns its length.
 */
static size_t corpus_stored_block(const struct corpus *c, size_t i, char *out)
{
	static const char *const skip[] = {"content-length:",
	                                   "transfer-encoding:",
	                                   "connection:",
	                                   "keep-alive:",
	                                   "age:",
	                                   "te:",
	                                   "trailer:",
	                                   "upgrade:",
	                                   "proxy-authenticate:",
	                                   "proxy-authorization:"};
	const char *p = c->data + c->off[i], *end = p + c->size[i] - 2;
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	size_t n = 0;
	for (p = nl + 1; p < end;) {
		nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = (size_t)(nl - p) + 1;
		int keep = 1;
		for (size_t k = 0; k < sizeof(skip) / sizeof(skip[0]); k++)
			if (strncasecmp(p, skip[k], strlen(skip[k])) == 0)
				keep = 0;
		if (keep) {
			memcpy(out + n, p, ll);
			n += ll;
		}
		p = nl + 1;
	}
	return n;
}

static void corpus_free(struct corpus *c)
{
	free(c->data);
	free(c->off);
	free(c->size);
	memset(c, 0, sizeof(*c));
}

#endif /* EC_TOOLS_CORPUS_H */
