/*
 * tools/ec_codecbench.c — ec-codecbench: what the header codec
 * (storage/hdrcodec.c) makes of a corpus of HTTP/1.1 response heads, with
 * and without the dictionary. A benchmark to run by hand, not a test:
 *
 *   ec-codecbench [-d DICT] [-l LEVEL] [-r ROUNDS] CORPUS...
 *
 * For each head it encodes and decodes two shapes and checks the round trip:
 *   head    the whole HTTP/1.1 wire head (status line, fields, empty line):
 *           the raw wire size the bar (1/4 or better) is measured on;
 *   stored  the header block the daemon keeps in an object (fields without
 *           framing, hop-by-hop or Age; tools/corpus.h), which is what the
 *           disk tier compresses (the status and the body length are in the
 *           record's fixed fields).
 * Sizes count the codec's whole output (its framing included). Times are
 * per block, the best of ROUNDS passes over the corpus, one thread.
 * Train on one seed and measure on another: ec-headercorpus --seed 2.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ec_util.h"
#include "storage/ec_hdrcodec.h"
#include "tools/corpus.h"

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

struct shape {
	size_t n;
	char **raw;
	size_t *len;
};

struct result {
	uint64_t raw, enc;
	double enc_ns, dec_ns;
};

static int run(struct ec_hdrcodec *codec, const struct shape *s, int rounds, struct result *r)
{
	size_t cap = 0;
	for (size_t i = 0; i < s->n; i++)
		cap = EC_MAX(cap, ec_hdrcodec_bound(s->len[i]));
	unsigned char *enc = malloc(cap * s->n), *dec = malloc(cap);
	size_t *elen = malloc(s->n * sizeof(size_t));
	if (enc == NULL || dec == NULL || elen == NULL)
		return -1;
	memset(r, 0, sizeof(*r));
	r->enc_ns = r->dec_ns = 1e30;
	for (int round = 0; round < rounds; round++) {
		double t0 = now_ns();
		for (size_t i = 0; i < s->n; i++) {
			if (ec_hdrcodec_encode(codec, s->raw[i], s->len[i], enc + i * cap, cap,
			                       &elen[i]) != EC_HDRC_OK) {
				fprintf(stderr, "encode failed\n");
				return -1;
			}
		}
		double t1 = now_ns();
		for (size_t i = 0; i < s->n; i++) {
			size_t dl;
			enum ec_hdrcodec_rc rc =
			        ec_hdrcodec_decode(codec, enc + i * cap, elen[i], dec, cap, &dl);
			if (rc != EC_HDRC_OK || dl != s->len[i] ||
			    memcmp(dec, s->raw[i], dl) != 0) {
				fprintf(stderr, "round trip failed on block %zu: %s\n", i,
				        ec_hdrcodec_rc_str(rc));
				return -1;
			}
		}
		double t2 = now_ns();
		r->enc_ns = EC_MIN(r->enc_ns, (t1 - t0) / (double)s->n);
		r->dec_ns = EC_MIN(r->dec_ns, (t2 - t1) / (double)s->n);
	}
	for (size_t i = 0; i < s->n; i++) {
		r->raw += s->len[i];
		r->enc += elen[i];
	}
	free(enc);
	free(dec);
	free(elen);
	return 0;
}

static void print(const char *shape, const char *dict, const struct result *r, uint64_t wire,
                  size_t n)
{
	printf("| %-6s | %-10s | %9.1f | %9.1f | %6.3f | 1/%-5.2f | %8.2f | %8.2f |\n", shape, dict,
	       (double)r->raw / (double)n, (double)r->enc / (double)n,
	       (double)r->enc / (double)wire, (double)wire / (double)r->enc, r->enc_ns / 1000,
	       r->dec_ns / 1000);
}

int main(int argc, char **argv)
{
	const char *dict_path = NULL;
	int level = 0, rounds = 3, ch;
	while ((ch = getopt(argc, argv, "d:l:r:h")) != -1) {
		switch (ch) {
		case 'd':
			dict_path = optarg;
			break;
		case 'l':
			level = atoi(optarg);
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		default:
			fputs("usage: ec-codecbench [-d DICT] [-l LEVEL] [-r ROUNDS] CORPUS...\n",
			      ch == 'h' ? stdout : stderr);
			return ch == 'h' ? 0 : 2;
		}
	}
	if (optind == argc || rounds < 1) {
		fputs("usage: ec-codecbench [-d DICT] [-l LEVEL] [-r ROUNDS] CORPUS...\n", stderr);
		return 2;
	}
	struct corpus c = {0};
	for (int i = optind; i < argc; i++)
		if (corpus_read(&c, argv[i]) != 0)
			return 1;
	if (corpus_split(&c) != 0) {
		fprintf(stderr, "ec-codecbench: no response heads in the corpus\n");
		return 1;
	}
	struct shape heads = {c.n, malloc(c.n * sizeof(char *)), malloc(c.n * sizeof(size_t))};
	struct shape blocks = {c.n, malloc(c.n * sizeof(char *)), malloc(c.n * sizeof(size_t))};
	char *bbuf = malloc(c.len);
	size_t bl = 0;
	uint64_t wire = 0;
	for (size_t i = 0; i < c.n; i++) {
		heads.raw[i] = c.data + c.off[i];
		heads.len[i] = c.size[i];
		wire += c.size[i];
		blocks.raw[i] = bbuf + bl;
		blocks.len[i] = corpus_stored_block(&c, i, bbuf + bl);
		bl += blocks.len[i];
	}

	struct ec_hdrcodec *plain = ec_hdrcodec_new(level), *withd = ec_hdrcodec_new(level);
	if (dict_path != NULL) {
		struct corpus d = {0};
		uint32_t id;
		const char *why;
		if (corpus_read(&d, dict_path) != 0)
			return 1;
		if (ec_hdrcodec_add_dict(withd, d.data, d.len, true, &id, &why) != 0) {
			fprintf(stderr, "ec-codecbench: %s: %s\n", dict_path, why);
			return 1;
		}
		printf("dictionary %s: %zu bytes, id %u\n", dict_path, d.len, id);
		corpus_free(&d);
	}
	printf("corpus: %zu heads, %llu bytes of HTTP/1.1 wire heads (%.1f a head); zstd level "
	       "%d; best of %d\n\n",
	       c.n, (unsigned long long)wire, (double)wire / (double)c.n, level ? level : 9,
	       rounds);
	printf("| shape  | dictionary | raw B/blk | enc B/blk | / wire | ratio   | enc us   | dec "
	       "us "
	       "  |\n|---|---|--:|--:|--:|--:|--:|--:|\n");
	struct result r;
	if (run(plain, &heads, rounds, &r) != 0)
		return 1;
	print("head", "none", &r, wire, c.n);
	if (dict_path) {
		if (run(withd, &heads, rounds, &r) != 0)
			return 1;
		print("head", "yes", &r, wire, c.n);
	}
	if (run(plain, &blocks, rounds, &r) != 0)
		return 1;
	print("stored", "none", &r, wire, c.n);
	if (dict_path) {
		if (run(withd, &blocks, rounds, &r) != 0)
			return 1;
		print("stored", "yes", &r, wire, c.n);
	}
	printf("\n/ wire: encoded bytes over the raw wire head bytes (the bar is 0.25).\n");
	ec_hdrcodec_free(&plain);
	ec_hdrcodec_free(&withd);
	free(heads.raw);
	free(heads.len);
	free(blocks.raw);
	free(blocks.len);
	free(bbuf);
	corpus_free(&c);
	return 0;
}
