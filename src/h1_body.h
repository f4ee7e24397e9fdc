/*
 * h1_body.h — moving HTTP/1.1 message bodies between evbuffers, decoding
 * their framing on the way, without copying payload bytes: data moves chain
 * by chain (evbuffer_remove_buffer) and only framing bytes are drained.
 *
 * Used by both directions: client request bodies (h1_conn.c) and origin
 * response bodies (origin.c). Single-threaded (the owner's worker).
 */
#ifndef EC_H1_BODY_H
#define EC_H1_BODY_H

#include "http1_parse.h"

struct evbuffer;

struct ec_h1_body {
	enum ec_h1_framing framing;
	uint64_t left; /* LENGTH: bytes still to come */
	struct ec_h1_chunked ck;
	bool done;
};

void ec_h1_body_init(struct ec_h1_body *b, enum ec_h1_framing framing, uint64_t length);

/*
 * Moves up to `max` decoded body bytes from `src` to `dst`, draining the
 * framing. Stops at the end of the body, leaving anything after it in src.
 * Returns the payload bytes moved, or -1 on malformed chunked framing
 * (*reason set). Sets b->done at the end of the body (never for CLOSE: the
 * caller ends that at EOF).
 */
long ec_h1_body_move(struct ec_h1_body *b, struct evbuffer *src, struct evbuffer *dst, size_t max,
		     const char **reason);

/* Appends `data` to `dst` as one chunk ("HEX\r\n" data "\r\n"); no-op when empty. */
void ec_h1_chunk_wrap(struct evbuffer *dst, struct evbuffer *data);
/* Appends the last-chunk and the end of an empty trailer section. */
void ec_h1_chunk_end(struct evbuffer *dst);

#endif /* EC_H1_BODY_H */
