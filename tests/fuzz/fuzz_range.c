/*
 * fuzz_range.c — libFuzzer harness for Range parsing and framing
 * (policy/range.c, with If-Range from policy/cond.c).
 *
 * Input: a Range field value; after an optional '\n', an If-Range value.
 * For several representation lengths, every result must keep these
 * invariants (a violation aborts): OK has 1..EC_RANGE_MAX ranges, each
 * with first <= last < len, none touching another; every other result has
 * no ranges; the multipart length equals the bytes actually framed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "policy/range.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint64_t lengths[] = {0, 1, 2, 100, 10000, 1ULL << 40, UINT64_MAX};

static void check(enum ec_range_rc rc, const struct ec_range *r, size_t n, uint64_t len)
{
	EC_ASSERT(rc == EC_RANGE_NONE || rc == EC_RANGE_IGNORE || rc == EC_RANGE_OK ||
	          rc == EC_RANGE_UNSATISFIABLE);
	if (rc != EC_RANGE_OK) {
		EC_ASSERT(n == 0);
		return;
	}
	EC_ASSERT(n >= 1 && n <= EC_RANGE_MAX);
	for (size_t i = 0; i < n; i++) {
		EC_ASSERT(r[i].first <= r[i].last && r[i].last < len);
		for (size_t j = 0; j < i; j++)
			EC_ASSERT(r[i].last + 1 < r[j].first || r[j].last + 1 < r[i].first);
	}
	if (len > 1000000)
		return;
	/* framing: the computed length is what gets written */
	char b[EC_RANGE_BOUNDARY_LEN + 1], buf[256];
	ec_range_boundary((uint64_t)len * 2654435761u, b);
	struct ec_str bs = ec_str_cstr(b), ct = EC_STR("text/plain");
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++) {
		size_t k = ec_range_part_header(buf, sizeof(buf), i, bs, ct, &r[i], len);
		EC_ASSERT(k < sizeof(buf) && k == strlen(buf));
		total += k + (r[i].last - r[i].first + 1);
		k = ec_range_content_range(buf, sizeof(buf), &r[i], len);
		EC_ASSERT(k == strlen(buf) && memcmp(buf, "bytes ", 6) == 0);
	}
	total += ec_range_multipart_end(buf, sizeof(buf), bs);
	EC_ASSERT(total == ec_range_multipart_length(r, n, bs, ct, len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	const char *nl = memchr(p, '\n', size);
	struct ec_str range = ec_str_make(p, nl ? (size_t)(nl - p) : size);
	struct ec_str ifr = nl ? ec_str_make(nl + 1, size - range.len - 1) : EC_STR_NULL;
	struct ec_hdr req[2] = {{EC_STR("Range"), ec_str_trim(range)},
	                        {EC_STR("If-Range"), ec_str_trim(ifr)}};
	struct ec_hdr st[3] = {{EC_STR("ETag"), EC_STR("\"v1\"")},
	                       {EC_STR("Last-Modified"), EC_STR("Mon, 13 Nov 2023 22:13:20 GMT")},
	                       {EC_STR("Date"), EC_STR("Tue, 14 Nov 2023 22:13:20 GMT")}};
	struct ec_validators v;
	ec_cond_validators(200, st, 3, 0, &v);

	for (size_t i = 0; i < EC_ARRAY_LEN(lengths); i++) {
		struct ec_range r[EC_RANGE_MAX];
		size_t n = 99;
		enum ec_range_rc rc = ec_range_parse(range, lengths[i], r, EC_RANGE_MAX, &n);
		check(rc, r, n, lengths[i]);
		/* a smaller cap never yields more ranges than it holds */
		rc = ec_range_parse(range, lengths[i], r, 2, &n);
		check(rc, r, n, lengths[i]);
		EC_ASSERT(n <= 2);
		rc = ec_range_request(EC_M_GET, req, nl ? 2 : 1, &v, lengths[i], r, EC_RANGE_MAX,
		                      &n);
		check(rc, r, n, lengths[i]);
	}
	char buf[64];
	size_t k = ec_range_content_range_unsat(buf, sizeof(buf), size);
	EC_ASSERT(k == strlen(buf));
	return 0;
}
