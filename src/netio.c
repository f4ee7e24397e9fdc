/*
 * netio.c — see netio.h.
 */
#include <errno.h>
#include <sys/uio.h>

#include <event2/buffer.h>

#include "ec_util.h"
#include "netio.h"

int ec_netio_read(struct evbuffer *buf, int fd, size_t max)
{
	struct evbuffer_iovec v[2];
	int n = evbuffer_reserve_space(buf, (ssize_t)max, v, 2);
	if (n < 1) {
		errno = ENOMEM;
		return -1;
	}
	struct iovec iov[2];
	size_t room = 0;
	for (int i = 0; i < n; i++) {
		iov[i].iov_base = v[i].iov_base;
		iov[i].iov_len = v[i].iov_len;
		room += v[i].iov_len;
	}
	/* evbuffer_reserve_space may hand out more than asked; read no more. */
	if (room > max) {
		size_t over = room - max;
		for (int i = n - 1; i >= 0 && over; i--) {
			size_t cut = EC_MIN(over, iov[i].iov_len);
			iov[i].iov_len -= cut;
			over -= cut;
		}
	}
	ssize_t r;
	do {
		r = readv(fd, iov, n);
	} while (r < 0 && errno == EINTR);
	if (r <= 0) {
		int e = errno;
		evbuffer_commit_space(buf, v, 0);
		errno = e;
		return (int)r;
	}
	size_t left = (size_t)r;
	for (int i = 0; i < n; i++) {
		v[i].iov_len = EC_MIN(left, iov[i].iov_len);
		left -= v[i].iov_len;
	}
	int used = n;
	while (used > 0 && v[used - 1].iov_len == 0)
		used--;
	evbuffer_commit_space(buf, v, used);
	return (int)r;
}
