/*
 * policy/range.c — Range requests (RFC 9110 §14) against a complete
 * stored representation: parsing, normalisation, abuse limits, and the
 * Content-Range / multipart/byteranges framing.
 *
 * Pure functions; no allocation, no state.
 */
#include <inttypes.h>
#include <stdio.h>

#include "policy/range.h"

/* A parsed range-spec before it meets the representation's length. */
struct spec {
	bool suffix;
	uint64_t first, last; /* last == UINT64_MAX: open (first-) */
	uint64_t suffix_len;
};

/* 1*DIGIT, saturating at UINT64_MAX; advances *i. */
static bool digits(struct ec_str s, size_t *i, uint64_t *out)
{
	size_t start = *i;
	uint64_t v = 0;
	while (*i < s.len && s.p[*i] >= '0' && s.p[*i] <= '9') {
		unsigned d = (unsigned)(s.p[*i] - '0');
		v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
		(*i)++;
	}
	*out = v;
	return *i > start;
}

/* int-range / suffix-range (§14.1.2); other-range is not bytes. */
static bool parse_spec(struct ec_str s, struct spec *sp)
{
	size_t i = 0;
	*sp = (struct spec){0};
	if (s.len && s.p[0] == '-') {
		i = 1;
		sp->suffix = true;
		return digits(s, &i, &sp->suffix_len) && i == s.len;
	}
	if (!digits(s, &i, &sp->first) || i == s.len || s.p[i] != '-')
		return false;
	i++;
	if (i == s.len) {
		sp->last = UINT64_MAX;
		return true;
	}
	/* §14.1.1: an int-range is invalid if last-pos < first-pos. */
	return digits(s, &i, &sp->last) && i == s.len && sp->last >= sp->first;
}

static bool overlap(const struct ec_range *a, const struct ec_range *b)
{
	return a->first <= b->last && b->first <= a->last;
}

static bool touch(const struct ec_range *a, const struct ec_range *b)
{
	/* overlapping or adjacent (no byte between them); last < UINT64_MAX */
	return a->last + 1 >= b->first && b->last + 1 >= a->first;
}

enum ec_range_rc ec_range_parse(struct ec_str value, uint64_t len, struct ec_range *out, size_t cap,
                                size_t *n)
{
	struct ec_range r[EC_RANGE_MAX];
	size_t nr = 0, nspec = 0;
	bool empty_suffix = false;
	*n = 0;

	struct ec_str s = ec_str_trim(value);
	size_t eq = 0;
	while (eq < s.len && s.p[eq] != '=')
		eq++;
	/* §14.1: the range unit is case-insensitive; we only know bytes. */
	if (eq == s.len || !ec_str_caseeq_lit(ec_str_make(s.p, eq), "bytes"))
		return EC_RANGE_IGNORE;

	size_t i = eq + 1;
	while (i <= s.len) {
		size_t start = i;
		while (i < s.len && s.p[i] != ',')
			i++;
		struct ec_str e = ec_str_trim(ec_str_make(s.p + start, i - start));
		i++;
		if (e.len == 0)
			continue; /* RFC 9110 §5.6.1.2: empty list elements */
		struct spec sp;
		if (!parse_spec(e, &sp) || ++nspec > EC_RANGE_MAX)
			return EC_RANGE_IGNORE;
		struct ec_range x;
		if (sp.suffix) {
			/* §14.1.3: satisfiable if the suffix-length is non-zero. */
			if (sp.suffix_len == 0)
				continue;
			if (len == 0) {
				empty_suffix = true;
				continue;
			}
			x.first = sp.suffix_len >= len ? 0 : len - sp.suffix_len;
			x.last = len - 1;
		} else {
			if (sp.first >= len)
				continue;
			x.first = sp.first;
			x.last = sp.last >= len ? len - 1 : sp.last;
		}
		r[nr++] = x;
	}
	if (nspec == 0)
		return EC_RANGE_IGNORE; /* range-set = 1#range-spec */
	if (nr == 0)
		return empty_suffix ? EC_RANGE_IGNORE : EC_RANGE_UNSATISFIABLE;

	/* §14.2: refuse what looks like a broken client or an attack. */
	size_t overlapping = 0, unsorted = 0;
	for (size_t a = 0; a < nr; a++) {
		for (size_t b = 0; b < nr; b++)
			if (a != b && overlap(&r[a], &r[b])) {
				overlapping++;
				break;
			}
		if (a > 0 && r[a].first < r[a - 1].first)
			unsorted++;
	}
	if (overlapping > EC_RANGE_OVERLAP_MAX || (unsorted > 0 && nr > EC_RANGE_UNSORTED_MAX))
		return EC_RANGE_IGNORE;

	/*
	 * §15.3.7.2: coalesce overlapping and adjacent ranges into the earliest
	 * kept one. Invariant: kept ranges r[0..k) never touch each other, and
	 * k <= a, so r[a] is still unprocessed input.
	 */
	size_t k = 0;
	for (size_t a = 0; a < nr; a++) {
		size_t b = 0;
		while (b < k && !touch(&r[b], &r[a]))
			b++;
		if (b == k) {
			r[k++] = r[a];
			continue;
		}
		r[b].first = EC_MIN(r[b].first, r[a].first);
		r[b].last = EC_MAX(r[b].last, r[a].last);
		/* r[b] grew: absorb later kept ranges it now reaches */
		for (size_t c = b + 1; c < k;) {
			if (!touch(&r[b], &r[c])) {
				c++;
				continue;
			}
			r[b].first = EC_MIN(r[b].first, r[c].first);
			r[b].last = EC_MAX(r[b].last, r[c].last);
			memmove(&r[c], &r[c + 1], (k - c - 1) * sizeof(r[0]));
			k--;
			c = b + 1;
		}
	}
	if (k > cap)
		return EC_RANGE_IGNORE;
	memcpy(out, r, k * sizeof(r[0]));
	*n = k;
	return EC_RANGE_OK;
}

enum ec_range_rc ec_range_request(enum ec_method m, const struct ec_hdr *req, size_t nreq,
                                  const struct ec_validators *v, uint64_t len, struct ec_range *out,
                                  size_t cap, size_t *n)
{
	*n = 0;
	const struct ec_hdr *f = ec_hdr_find(req, nreq, "Range");
	if (f == NULL || m != EC_M_GET)
		return EC_RANGE_NONE; /* §14.2: GET only */
	if (ec_hdr_find_next(req, nreq, f) != NULL)
		return EC_RANGE_IGNORE;
	if (!ec_cond_if_range(req, nreq, v))
		return EC_RANGE_NONE; /* §13.1.5: send the whole representation */
	return ec_range_parse(f->value, len, out, cap, n);
}

size_t ec_range_content_range(char *buf, size_t cap, const struct ec_range *r, uint64_t len)
{
	int k = snprintf(buf, cap, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, r->first, r->last,
	                 len);
	return k < 0 ? 0 : (size_t)k;
}

size_t ec_range_content_range_unsat(char *buf, size_t cap, uint64_t len)
{
	int k = snprintf(buf, cap, "bytes */%" PRIu64, len);
	return k < 0 ? 0 : (size_t)k;
}

void ec_range_boundary(uint64_t seed, char *out)
{
	snprintf(out, EC_RANGE_BOUNDARY_LEN + 1, "ec%016" PRIx64, seed);
}

size_t ec_range_part_header(char *buf, size_t cap, size_t i, struct ec_str boundary,
                            struct ec_str ctype, const struct ec_range *r, uint64_t len)
{
	int k;
	if (ctype.len)
		k = snprintf(buf, cap,
		             "%s--" EC_STR_FMT "\r\nContent-Type: " EC_STR_FMT
		             "\r\nContent-Range: bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64 "\r\n\r\n",
		             i ? "\r\n" : "", EC_STR_ARG(boundary), EC_STR_ARG(ctype), r->first,
		             r->last, len);
	else
		k = snprintf(buf, cap,
		             "%s--" EC_STR_FMT "\r\nContent-Range: bytes %" PRIu64 "-%" PRIu64
		             "/%" PRIu64 "\r\n\r\n",
		             i ? "\r\n" : "", EC_STR_ARG(boundary), r->first, r->last, len);
	return k < 0 ? 0 : (size_t)k;
}

size_t ec_range_multipart_end(char *buf, size_t cap, struct ec_str boundary)
{
	int k = snprintf(buf, cap, "\r\n--" EC_STR_FMT "--\r\n", EC_STR_ARG(boundary));
	return k < 0 ? 0 : (size_t)k;
}

uint64_t ec_range_multipart_length(const struct ec_range *r, size_t n, struct ec_str boundary,
                                   struct ec_str ctype, uint64_t len)
{
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += ec_range_part_header(NULL, 0, i, boundary, ctype, &r[i], len) +
		         (r[i].last - r[i].first + 1);
	return total + ec_range_multipart_end(NULL, 0, boundary);
}
