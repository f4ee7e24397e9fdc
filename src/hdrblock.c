/*
 * hdrblock.c — the stored header block format (see hdrblock.h).
 */
#include "hdrblock.h"

size_t ec_hdrblock_size(const struct ec_hdr *h, size_t n)
{
	size_t len = 0;
	for (size_t i = 0; i < n; i++)
		len += h[i].name.len + h[i].value.len + 4;
	return len;
}

size_t ec_hdrblock_write(const struct ec_hdr *h, size_t n, char *out)
{
	char *p = out;
	for (size_t i = 0; i < n; i++) {
		memcpy(p, h[i].name.p, h[i].name.len);
		p += h[i].name.len;
		*p++ = ':';
		*p++ = ' ';
		if (h[i].value.len)
			memcpy(p, h[i].value.p, h[i].value.len);
		p += h[i].value.len;
		*p++ = '\r';
		*p++ = '\n';
	}
	return (size_t)(p - out);
}

size_t ec_hdrblock_count(struct ec_str block)
{
	size_t n = 0;
	for (size_t i = 0; i < block.len; i++)
		n += block.p[i] == '\n';
	return n;
}

int ec_hdrblock_parse(struct ec_str block, struct ec_hdr *out, size_t cap)
{
	size_t n = 0;
	const char *p = block.p, *end = block.p + block.len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL || nl == p || nl[-1] != '\r' || n == cap)
			return -1;
		const char *colon = memchr(p, ':', (size_t)(nl - p));
		if (colon == NULL || colon == p || colon + 1 >= nl || colon[1] != ' ')
			return -1;
		out[n].name = ec_str_make(p, (size_t)(colon - p));
		out[n].value = ec_str_make(colon + 2, (size_t)(nl - 1 - (colon + 2)));
		n++;
		p = nl + 1;
	}
	return (int)n;
}
