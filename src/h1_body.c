/*
 * h1_body.c — HTTP/1.1 body framing over evbuffers (see h1_body.h).
 */
#include <stdio.h>

#include <event2/buffer.h>

#include "h1_body.h"

void ec_h1_body_init(struct ec_h1_body *b, enum ec_h1_framing framing, uint64_t length)
{
	memset(b, 0, sizeof(*b));
	b->framing = framing;
	b->left = length;
	ec_h1_chunked_init(&b->ck);
	b->done = framing == EC_H1_BODY_NONE || (framing == EC_H1_BODY_LENGTH && length == 0);
}

long ec_h1_body_move(struct ec_h1_body *b, struct evbuffer *src, struct evbuffer *dst, size_t max,
		     const char **reason)
{
	size_t moved = 0;
	if (b->done)
		return 0;
	switch (b->framing) {
	case EC_H1_BODY_LENGTH: {
		size_t n = EC_MIN(evbuffer_get_length(src), max);
		if (n > b->left)
			n = (size_t)b->left;
		if (n) {
			evbuffer_remove_buffer(src, dst, n);
			b->left -= n;
		}
		b->done = b->left == 0;
		return (long)n;
	}
	case EC_H1_BODY_CLOSE: {
		size_t n = EC_MIN(evbuffer_get_length(src), max);
		if (n)
			evbuffer_remove_buffer(src, dst, n);
		return (long)n;
	}
	case EC_H1_BODY_CHUNKED:
		while (moved < max) {
			struct evbuffer_iovec v;
			if (evbuffer_peek(src, -1, NULL, &v, 1) < 1 || v.iov_len == 0)
				break;
			size_t consumed = 0;
			struct ec_str data;
			size_t avail = v.iov_len;
			enum ec_h1_chunk_ret r =
				ec_h1_chunked_step(&b->ck, v.iov_base, avail, &consumed, &data, reason);
			if (r == EC_H1_CHUNK_ERROR)
				return -1;
			if (r == EC_H1_CHUNK_DATA) {
				size_t pre = (size_t)(data.p - (const char *)v.iov_base);
				size_t take = data.len; /* max is soft: a span may overshoot it */
				if (pre)
					evbuffer_drain(src, pre);
				evbuffer_remove_buffer(src, dst, take);
				moved += take;
				continue;
			}
			evbuffer_drain(src, consumed);
			if (r == EC_H1_CHUNK_DONE) {
				b->done = true;
				break;
			}
			/* MORE: this segment is used up; the loop peeks the next one. */
			if (consumed == 0)
				break;
		}
		return (long)moved;
	default:
		b->done = true;
		return 0;
	}
}

void ec_h1_chunk_wrap(struct evbuffer *dst, struct evbuffer *data)
{
	size_t n = evbuffer_get_length(data);
	if (n == 0)
		return;
	char hdr[24];
	int hl = snprintf(hdr, sizeof(hdr), "%zx\r\n", n);
	evbuffer_add(dst, hdr, (size_t)hl);
	evbuffer_add_buffer(dst, data);
	evbuffer_add(dst, "\r\n", 2);
}

void ec_h1_chunk_end(struct evbuffer *dst)
{
	evbuffer_add(dst, "0\r\n\r\n", 5);
}
