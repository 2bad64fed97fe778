/* source.c: plain or gzip bytes from a file descriptor, gzip members one
 * after another through zlib's inflate (we read the framing ourselves:
 * gzread ignores whatever follows a member that is not a member). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "source.h"
#include "util.h"

#define SOURCE_BUF (1 << 17)

struct source {
	int fd;
	int gzip;
	int eof;                 /* read() returned 0 */
	int member_end;          /* a member ended; the next bytes decide */
	int ended;               /* the input is over, cleanly */
	z_stream z;              /* z.next_in/avail_in: the unread bytes of buf */
	unsigned char buf[SOURCE_BUF];
	char msg[160];           /* the error, once there was one */
	int member;              /* a zip member (source_open_member) */
	unsigned long long left; /* its compressed bytes not yet read */
	unsigned long long usize, produced;
	unsigned long crc, want_crc;
};

static void fail(source *s, const char *fmt, const char *detail)
{
	if (!s->msg[0])
		snprintf(s->msg, sizeof s->msg, fmt, detail);
}

/* fill: read more bytes after the unread ones; 0 at the end or on error. */
static size_t fill(source *s)
{
	ssize_t r;

	if (s->eof || s->msg[0])
		return 0;
	if (s->z.avail_in && s->z.next_in != s->buf)
		memmove(s->buf, s->z.next_in, s->z.avail_in);
	s->z.next_in = s->buf;
	if (s->z.avail_in == SOURCE_BUF)
		return 0;
	do {
		size_t room = SOURCE_BUF - s->z.avail_in;
		if (s->member && room > s->left)
			room = (size_t)s->left;
		r = room ? read(s->fd, s->buf + s->z.avail_in, room) : 0;
	} while (r < 0 && errno == EINTR);
	if (r < 0) {
		fail(s, "read error: %s", strerror(errno));
		return 0;
	}
	if (r == 0)
		s->eof = 1;
	if (s->member)
		s->left -= (unsigned long long)r;
	s->z.avail_in += (uInt)r;
	return (size_t)r;
}

/* have: at least n unread bytes, unless the input ends first. */
static size_t have(source *s, size_t n)
{
	while (s->z.avail_in < n && fill(s) > 0)
		;
	return s->z.avail_in;
}

static int is_magic(const unsigned char *p)
{
	return p[0] == 0x1f && p[1] == 0x8b;
}

source *source_open(int fd)
{
	source *s = xcalloc(1, sizeof *s);

	s->fd = fd;
	s->z.next_in = s->buf;
	if (have(s, 2) >= 2 && is_magic(s->z.next_in)) {
		if (inflateInit2(&s->z, 15 + 16) != Z_OK)   /* gzip framing, 32 KB window */
			die("out of memory");
		s->gzip = 1;
	}
	return s;
}

static size_t read_plain(source *s, unsigned char *p, size_t n);

source *source_open_member(int fd, long long offset, unsigned long long csize,
			   unsigned long long usize, int deflated, unsigned long crc)
{
	source *s = xcalloc(1, sizeof *s);

	s->fd = fd;
	s->z.next_in = s->buf;
	s->member = 1;
	s->left = csize;
	s->usize = usize;
	s->want_crc = crc;
	s->crc = crc32(0L, Z_NULL, 0);
	if (lseek(fd, (off_t)offset, SEEK_SET) < 0)
		fail(s, "read error: %s", strerror(errno));
	if (deflated) {
		if (inflateInit2(&s->z, -15) != Z_OK)   /* raw deflate, 32 KB window */
			die("out of memory");
		s->gzip = 2;
	}
	return s;
}

/* read_member: a zip member's bytes, stored or deflated, never more than
 * its header says, checked at its end */
static size_t read_member(source *s, unsigned char *p, size_t n)
{
	size_t got = 0;

	if (s->gzip) {
		while (got < n && !s->ended && !s->msg[0]) {
			size_t want = n - got > (1u << 30) ? (1u << 30) : n - got;
			int r;

			if (s->z.avail_in == 0 && have(s, 1) == 0) {
				if (!s->msg[0])
					fail(s, "truncated zip member: %s", "the deflate data ends early");
				break;
			}
			s->z.next_out = p + got;
			s->z.avail_out = (uInt)want;
			r = inflate(&s->z, Z_NO_FLUSH);
			got += want - s->z.avail_out;
			if (r == Z_STREAM_END)
				s->ended = 1;
			else if (r == Z_MEM_ERROR)
				die("out of memory");
			else if (r != Z_OK && r != Z_BUF_ERROR)
				fail(s, "bad zip member: %s", s->z.msg ? s->z.msg : "inflate failed");
		}
	} else {
		got = read_plain(s, p, n);
		if (got < n)
			s->ended = 1;
	}
	if (got > s->usize - s->produced) {
		fail(s, "zip member longer than its header says%s", "");
		got = (size_t)(s->usize - s->produced);
	}
	s->produced += got;
	for (size_t k = 0; k < got; k += 1u << 30)
		s->crc = crc32(s->crc, p + k, (uInt)(got - k < (1u << 30) ? got - k : 1u << 30));
	if (s->ended && !s->msg[0]) {
		if (s->produced != s->usize)
			fail(s, "truncated zip member: %s", "fewer bytes than its header says");
		else if (s->crc != s->want_crc)
			fail(s, "bad CRC-32 of the zip member%s", "");
	}
	return got;
}

int source_is_gzip(const source *s)
{
	return s->gzip == 1;
}

/* read_plain: the buffered bytes first, then straight from the descriptor. */
static size_t read_plain(source *s, unsigned char *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		size_t k;

		if (s->z.avail_in == 0 && (have(s, 1) == 0))
			break;
		k = s->z.avail_in < n - got ? s->z.avail_in : n - got;
		memcpy(p + got, s->z.next_in, k);
		s->z.next_in += k;
		s->z.avail_in -= (uInt)k;
		got += k;
	}
	return got;
}

/* next_member: after a member's end: the end of the input, or another
 * member (1), or junk (0, with the error set). */
static int next_member(source *s)
{
	size_t n = have(s, 2);

	if (s->msg[0])
		return 0;
	if (n == 0) {
		s->ended = 1;
		return 0;
	}
	if (n < 2 || !is_magic(s->z.next_in)) {
		fail(s, "junk after the gzip data%s", "");
		return 0;
	}
	if (inflateReset(&s->z) != Z_OK)
		fail(s, "bad gzip data: %s", "cannot reset the inflater");
	s->member_end = 0;
	return !s->msg[0];
}

static size_t read_gzip(source *s, unsigned char *p, size_t n)
{
	size_t got = 0;

	while (got < n && !s->ended && !s->msg[0]) {
		size_t want = n - got > (1u << 30) ? (1u << 30) : n - got;
		int r;

		if (s->member_end) {
			if (!next_member(s))
				break;
			continue;
		}
		if (s->z.avail_in == 0 && have(s, 1) == 0) {
			if (!s->msg[0])
				fail(s, "truncated gzip data: %s", "unexpected end of file");
			break;
		}
		s->z.next_out = p + got;
		s->z.avail_out = (uInt)want;
		r = inflate(&s->z, Z_NO_FLUSH);
		got += want - s->z.avail_out;
		if (r == Z_STREAM_END) {
			s->member_end = 1;
		} else if (r == Z_MEM_ERROR) {
			die("out of memory");
		} else if (r != Z_OK && r != Z_BUF_ERROR) {
			fail(s, "bad gzip data: %s", s->z.msg ? s->z.msg : "inflate failed");
		}
	}
	return got;
}

size_t source_read(source *s, void *buf, size_t n, const char **err)
{
	size_t got = 0;

	if (!s->msg[0])
		got = s->member ? read_member(s, buf, n) : s->gzip ? read_gzip(s, buf, n)
				: read_plain(s, buf, n);
	*err = s->msg[0] ? s->msg : NULL;
	return got;
}

void source_close(source *s)
{
	if (!s)
		return;
	if (s->gzip)
		inflateEnd(&s->z);
	close(s->fd);
	free(s);
}
