/*
 * netio.c — see netio.h.
 */
#include <errno.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "ec_util.h"
#include "netio.h"

/*
 * glibc's recv, send, readv and writev are thread cancellation points: in a
 * process with threads each call brackets the system call with two atomic
 * updates of the thread's cancellation state. edgecache never cancels a
 * thread, so the hot path makes its system calls directly.
 */
static inline ssize_t sys_recv(int fd, void *p, size_t n)
{
	return syscall(SYS_recvfrom, fd, p, n, 0, NULL, NULL);
}

static inline ssize_t sys_readv(int fd, const struct iovec *iov, int n)
{
	return syscall(SYS_readv, fd, iov, n);
}

static inline ssize_t sys_send(int fd, const void *p, size_t n)
{
	return syscall(SYS_sendto, fd, p, n, MSG_NOSIGNAL, NULL, 0);
}

static inline ssize_t sys_writev(int fd, const struct iovec *iov, int n)
{
	return syscall(SYS_writev, fd, iov, n);
}

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
	/* One region (the usual case: a drained buffer reserves one chain):
	 * recv, which skips the kernel's iovec import and vfs layer. */
	int niov = n;
	while (niov > 1 && iov[niov - 1].iov_len == 0)
		niov--;
	ssize_t r;
	do {
		r = niov == 1 ? sys_recv(fd, iov[0].iov_base, iov[0].iov_len)
			       : sys_readv(fd, iov, niov);
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

/* More regions than this go out in the next call (libevent's own
 * evbuffer_write takes 128 too): a 1 MiB hit is some 35 chunks of up to
 * 32 KiB, and goes out in one writev. */
#define WRITE_IOV 128

int ec_netio_write(struct evbuffer *buf, int fd)
{
	struct evbuffer_iovec v[WRITE_IOV];
	int n = evbuffer_peek(buf, -1, NULL, v, WRITE_IOV);
	if (n <= 0)
		return 0;
	if (n > WRITE_IOV)
		n = WRITE_IOV;
	ssize_t r;
	do {
		if (n == 1)
			r = sys_send(fd, v[0].iov_base, v[0].iov_len);
		else
			r = sys_writev(fd, (const struct iovec *)v, n);
	} while (r < 0 && errno == EINTR);
	if (r > 0)
		evbuffer_drain(buf, (size_t)r);
	return (int)r;
}
