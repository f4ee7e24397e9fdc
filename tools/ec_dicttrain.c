/*
 * tools/ec_dicttrain.c — ec-dicttrain: trains the header codec's zstd
 * dictionary (conf/headers.dict) from a corpus of HTTP/1.1 response heads
 * (tools/ec-headercorpus output, or heads captured elsewhere in the same
 * shape: each head ends with an empty line).
 *
 *   ec-dicttrain [-s SIZE] [--blocks] [--id N] -o OUT CORPUS...
 *
 * Samples are the whole heads, status line included (what ec-codecbench's
 * headline figure compresses), plus, for each head, the header block the
 * daemon stores (no status line, no framing or hop-by-hop fields; see
 * tools/corpus.h), so the dictionary serves both shapes; --blocks trains on
 * the stored blocks only. ZDICT_trainFromBuffer (fastCover, single-threaded)
 * is deterministic, so the same corpus gives the same dictionary: `make
 * dict` rebuilds conf/headers.dict bit for bit. The dictionary id is derived
 * from the content unless --id gives one (32768 .. 2^31-1: ids below 32768
 * are reserved by zstd's format for registered dictionaries).
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zdict.h>

#include "tools/corpus.h"

static void usage(FILE *f)
{
	fputs("usage: ec-dicttrain [-s SIZE] [--blocks] [--id N] -o OUT CORPUS...\n"
	      "  -s, --size SIZE   dictionary size in bytes (default 65536)\n"
	      "      --blocks      train on the stored header blocks only\n"
	      "      --id N        dictionary id (default: derived from the content)\n"
	      "  -o, --output OUT  where to write the dictionary\n",
	      f);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"size", required_argument, NULL, 's'}, {"blocks", no_argument, NULL, 'b'},
	        {"id", required_argument, NULL, 'i'},   {"output", required_argument, NULL, 'o'},
	        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
	};
	size_t dict_size = 65536;
	unsigned long id = 0;
	int blocks_only = 0, ch;
	const char *out = NULL;
	while ((ch = getopt_long(argc, argv, "s:o:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			dict_size = strtoul(optarg, NULL, 10);
			break;
		case 'b':
			blocks_only = 1;
			break;
		case 'i':
			id = strtoul(optarg, NULL, 10);
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (out == NULL || optind == argc || dict_size < 1024 ||
	    (id != 0 && (id < 32768 || id > 0x7fffffffUL))) {
		usage(stderr);
		return 2;
	}
	struct corpus c = {0};
	for (int i = optind; i < argc; i++)
		if (corpus_read(&c, argv[i]) != 0)
			return 1;
	if (corpus_split(&c) != 0) {
		fprintf(stderr, "ec-dicttrain: no response heads in the corpus\n");
		return 1;
	}
	/* Samples: heads (unless --blocks), then stored blocks, back to back. */
	size_t nsamples = blocks_only ? c.n : 2 * c.n;
	char *buf = malloc(2 * c.len);
	size_t *sizes = malloc(nsamples * sizeof(size_t));
	if (buf == NULL || sizes == NULL) {
		fprintf(stderr, "ec-dicttrain: out of memory\n");
		return 1;
	}
	size_t len = 0, k = 0;
	for (size_t i = 0; i < c.n; i++) {
		if (!blocks_only) {
			memcpy(buf + len, c.data + c.off[i], c.size[i]);
			len += c.size[i];
			sizes[k++] = c.size[i];
		}
		size_t bl = corpus_stored_block(&c, i, buf + len);
		len += bl;
		sizes[k++] = bl;
	}
	void *dict = malloc(dict_size);
	if (dict == NULL) {
		fprintf(stderr, "ec-dicttrain: out of memory\n");
		return 1;
	}
	size_t n = ZDICT_trainFromBuffer(dict, dict_size, buf, sizes, (unsigned)k);
	if (ZDICT_isError(n)) {
		fprintf(stderr, "ec-dicttrain: training failed: %s\n", ZDICT_getErrorName(n));
		return 1;
	}
	if (id != 0) {
		/* The id sits right after the 4-byte magic (zstd's dictionary format). */
		unsigned char *d = dict;
		for (int i = 0; i < 4; i++)
			d[4 + i] = (unsigned char)(id >> (8 * i));
	}
	FILE *f = fopen(out, "wb");
	if (f == NULL || fwrite(dict, 1, n, f) != n || fclose(f) != 0) {
		fprintf(stderr, "ec-dicttrain: %s: %s\n", out, strerror(errno));
		return 1;
	}
	fprintf(stderr, "ec-dicttrain: %zu samples (%zu bytes) -> %s: %zu bytes, id %u\n", k, len,
	        out, n, ZDICT_getDictID(dict, n));
	free(dict);
	free(buf);
	free(sizes);
	corpus_free(&c);
	return 0;
}
