/* atomic.h: files written by name appear whole or not at all. */
#ifndef SEGPIPE_ATOMIC_H
#define SEGPIPE_ATOMIC_H
#include <stdio.h>

/* atomic_open: a temporary file beside PATH, to be renamed over PATH by
 * atomic_commit. die() removes it if the tool fails before the commit.
 * A PATH that is a device or a FIFO (/dev/null, /dev/stdout, a named pipe)
 * is opened and written as it is. One at a time per process. */
FILE *atomic_open(const char *path);
/* atomic_commit: flush, fsync, close and rename into place; die on any error. */
void atomic_commit(FILE *f);
/* atomic_cleanup: remove the pending temporary file, if any (called by die). */
void atomic_cleanup(void);

#endif
