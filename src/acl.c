/*
 * acl.c — address ranges (see acl.h).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"

/* An address as 16 bytes (IPv4 mapped to ::ffff:0:0/96) and whether it was IPv4. */
static bool parse_addr(const char *s, unsigned char out[16], bool *v4)
{
	unsigned char a4[4];
	if (inet_pton(AF_INET, s, a4) == 1) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, a4, 4);
		*v4 = true;
		return true;
	}
	*v4 = false;
	return inet_pton(AF_INET6, s, out) == 1;
}

/* One entry "ADDR[/LEN]" into addr and prefix bits over the 16-byte form. */
static bool parse_entry(const char *e, size_t n, unsigned char addr[16], unsigned *bits)
{
	char buf[64];
	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, e, n);
	buf[n] = '\0';
	char *slash = strchr(buf, '/');
	long len = -1;
	if (slash != NULL) {
		*slash = '\0';
		char *end;
		len = strtol(slash + 1, &end, 10);
		if (slash[1] == '\0' || *end != '\0' || len < 0)
			return false;
	}
	bool v4;
	if (!parse_addr(buf, addr, &v4))
		return false;
	long max = v4 ? 32 : 128;
	if (len > max)
		return false;
	*bits = (unsigned)((len < 0 ? max : len) + (v4 ? 96 : 0));
	return true;
}

static bool in_range(const unsigned char a[16], const unsigned char net[16], unsigned bits)
{
	for (unsigned i = 0; i < 16 && bits > 0; i++) {
		unsigned take = bits >= 8 ? 8 : bits;
		unsigned char mask = (unsigned char)(0xff << (8 - take));
		if ((a[i] & mask) != (net[i] & mask))
			return false;
		bits -= take;
	}
	return true;
}

typedef bool entry_f(const char *e, size_t n, void *arg);

static bool each(const char *list, entry_f *fn, void *arg)
{
	const char *p = list;
	while (*p) {
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		size_t n = strcspn(p, ", \t");
		if (n == 0)
			break;
		if (fn(p, n, arg))
			return true;
		p += n;
	}
	return false;
}

struct vctx {
	char *err;
	size_t errlen;
};

static bool bad_entry(const char *e, size_t n, void *arg)
{
	struct vctx *v = arg;
	unsigned char a[16];
	unsigned bits;
	if (parse_entry(e, n, a, &bits))
		return false;
	snprintf(v->err, v->errlen, "invalid address range '%.*s' (use 127.0.0.1/32 or ::1/128)",
	         (int)n, e);
	return true;
}

bool ec_acl_valid(const char *list, char *err, size_t errlen)
{
	struct vctx v = {err, errlen};
	return !each(list, bad_entry, &v);
}

struct mctx {
	unsigned char ip[16];
};

static bool matches(const char *e, size_t n, void *arg)
{
	struct mctx *m = arg;
	unsigned char net[16];
	unsigned bits;
	return parse_entry(e, n, net, &bits) && in_range(m->ip, net, bits);
}

bool ec_acl_match(const char *list, const char *ip)
{
	struct mctx m;
	bool v4;
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", ip);
	char *pct = strchr(buf, '%'); /* a zone id */
	if (pct)
		*pct = '\0';
	if (!parse_addr(buf, m.ip, &v4))
		return false;
	return each(list, matches, &m);
}
