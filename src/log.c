/*
 * log.c — the error log and the access log (see log.h for the formats and
 * the threading rules).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int err_fd = STDERR_FILENO;
static char err_path[512];
static int alog_fd = -1;
static char alog_path[512];
static enum ec_log_level log_level = EC_LOG_INFO;

static int open_append(const char *path)
{
	return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

int ec_log_open(const char *path)
{
	if (path == NULL || path[0] == '\0')
		return 0;
	int fd = open_append(path);
	if (fd < 0)
		return -1;
	snprintf(err_path, sizeof(err_path), "%s", path);
	err_fd = fd;
	return 0;
}

void ec_log_set_level(enum ec_log_level lvl)
{
	log_level = lvl;
}

static size_t fmt_time(char *out, size_t len)
{
	struct timeval tv;
	struct tm tmv;
	gettimeofday(&tv, NULL);
	time_t s = tv.tv_sec;
	gmtime_r(&s, &tmv);
	return (size_t)snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
				tmv.tm_year + 1900, tmv.tm_mon + 1, tmv.tm_mday, tmv.tm_hour,
				tmv.tm_min, tmv.tm_sec, (int)(tv.tv_usec / 1000));
}

void ec_log(enum ec_log_level lvl, const char *fmt, ...)
{
	static const char *names[] = {"?", "error", "warning", "info", "debug"};
	if (lvl > log_level)
		return;
	char line[2048];
	size_t n = fmt_time(line, sizeof(line));
	n += (size_t)snprintf(line + n, sizeof(line) - n, " edgecache[%d]: %s: ", (int)getpid(),
			      names[lvl < EC_ARRAY_LEN(names) ? lvl : 0]);
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	n = m < 0 ? n : EC_MIN(n + (size_t)m, sizeof(line) - 2);
	line[n++] = '\n';
	ssize_t w = write(err_fd, line, n);
	(void)w;
}

int ec_alog_open(const char *path)
{
	if (path == NULL || path[0] == '\0') {
		alog_fd = -1;
		return 0;
	}
	if (strcmp(path, "-") == 0) {
		alog_fd = STDOUT_FILENO;
		alog_path[0] = '\0';
		return 0;
	}
	int fd = open_append(path);
	if (fd < 0)
		return -1;
	snprintf(alog_path, sizeof(alog_path), "%s", path);
	alog_fd = fd;
	return 0;
}

bool ec_alog_enabled(void)
{
	return alog_fd >= 0;
}

/* Opens the path again and puts the new file on the old descriptor. */
static void reopen_over(int fd, const char *path, const char *what)
{
	if (fd < 0 || path[0] == '\0')
		return;
	int nfd = open_append(path);
	if (nfd < 0) {
		ec_log_err("cannot reopen %s %s: %s", what, path, strerror(errno));
		return;
	}
	if (dup2(nfd, fd) < 0)
		ec_log_err("cannot reopen %s %s: dup2: %s", what, path, strerror(errno));
	close(nfd);
}

void ec_log_reopen(void)
{
	reopen_over(err_fd == STDERR_FILENO ? -1 : err_fd, err_path, "error log");
	reopen_over(alog_fd == STDOUT_FILENO ? -1 : alog_fd, alog_path, "access log");
	ec_log_info("logs reopened");
}

void ec_alog_flush(struct ec_alog_buf *b)
{
	size_t off = 0;
	while (off < b->len && alog_fd >= 0) {
		ssize_t w = write(alog_fd, b->data + off, b->len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break; /* a full disk loses log lines, never requests */
		off += (size_t)w;
	}
	b->len = 0;
}

static size_t put_str(char *p, struct ec_str s, size_t max)
{
	if (s.len == 0) {
		*p = '-';
		return 1;
	}
	size_t n = EC_MIN(s.len, max);
	/* Never let a client write a fake line or an escape into the log. */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s.p[i];
		p[i] = (c < 0x20 || c == 0x7f || c == '"') ? '?' : (char)c;
	}
	return n;
}

void ec_alog_write(struct ec_alog_buf *b, const struct ec_alog_rec *r)
{
	if (alog_fd < 0)
		return;
	if (b->len > EC_ALOG_BUF - 12288)
		ec_alog_flush(b);
	char *p = b->data + b->len, *start = p;
	time_t s = (time_t)r->t_start;
	struct tm tmv;
	gmtime_r(&s, &tmv);
	int ms = (int)((r->t_start - (double)s) * 1000.0);
	p += sprintf(p, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ ", tmv.tm_year + 1900, tmv.tm_mon + 1,
		     tmv.tm_mday, tmv.tm_hour, tmv.tm_min, tmv.tm_sec, ms);
	p += put_str(p, r->client, 64);
	*p++ = ' ';
	*p++ = '"';
	p += put_str(p, r->method, 32);
	*p++ = ' ';
	p += put_str(p, r->target, 8192);
	if (r->minor >= 20)
		p += sprintf(p, " HTTP/2\" ");
	else
		p += sprintf(p, " HTTP/1.%u\" ", r->minor);
	p += sprintf(p, "%d %llu %.6f ", r->status, (unsigned long long)r->bytes, r->duration);
	p += put_str(p, r->cache, 64);
	*p++ = ' ';
	p += put_str(p, r->backend, 300);
	if (r->origin_time >= 0)
		p += sprintf(p, " %.6f ", r->origin_time);
	else
		p += sprintf(p, " - ");
	p += put_str(p, ec_str_cstr(r->reason), 64);
	*p++ = '\n';
	b->len += (size_t)(p - start);
}
