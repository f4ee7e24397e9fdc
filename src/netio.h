/*
 * netio.h — socket reads into evbuffers without libevent's per-read
 * FIONREAD ioctl (evbuffer_read asks the kernel how much is readable before
 * every read: one extra system call per read on the hottest path), and
 * writes from them with send when one region is queued.
 */
#ifndef EC_NETIO_H
#define EC_NETIO_H

#include <stddef.h>

struct evbuffer;

/*
 * Reads at most `max` bytes from non-blocking socket `fd` into the end of
 * `buf` with one readv into reserved space. Returns the bytes read, 0 at
 * end of stream, or -1 with errno (EAGAIN when nothing is there).
 */
int ec_netio_read(struct evbuffer *buf, int fd, size_t max);

/*
 * Writes what it can of `buf` to non-blocking socket `fd` and drains what
 * was written (evbuffer_write's convention: bytes written, or -1 with
 * errno). One region goes out with send, several with one writev.
 */
int ec_netio_write(struct evbuffer *buf, int fd);

#endif /* EC_NETIO_H */
