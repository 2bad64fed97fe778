/* source.h: the bytes of one input, from a file descriptor: as they are,
 * or, when they begin with the gzip magic (1f 8b), inflated. A gzip stream
 * is one or more members back to back (RFC 1952, as `cat a.gz b.gz` makes
 * it); what follows a member is another member or the end of the input,
 * and anything else is an error, never ignored. */
#ifndef SEGPIPE_SOURCE_H
#define SEGPIPE_SOURCE_H

#include <stddef.h>

typedef struct source source;

/* source_open: reads from fd (and closes it at source_close). */
source *source_open(int fd);
/* source_read: up to n bytes into buf; fewer only at the end of the input.
 * On an error returns what arrived before it and sets *err to a message
 * ("bad gzip data: ...", "truncated gzip data: ...", "junk after the gzip
 * data", "read error: ..."); the error then repeats on every later call.
 * *err is NULL otherwise. */
size_t source_read(source *s, void *buf, size_t n, const char **err);
/* source_open_member: the bytes of a zip member (zip.h) of the archive
 * open as fd: csize bytes at offset, stored or raw deflate; checked at
 * their end against usize and the CRC-32 ("truncated zip member", "zip
 * member longer than its header says", "bad CRC-32 of the zip member"). */
source *source_open_member(int fd, long long offset, unsigned long long csize,
			   unsigned long long usize, int deflated, unsigned long crc);
int source_is_gzip(const source *s);
void source_close(source *s);

#endif
