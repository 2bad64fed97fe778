/* harness.h: what the libFuzzer targets share. die() calls die_hook, which
 * longjmps back into the target, so one bad input ends its own run only;
 * the input goes to a memfd, read through its /proc/self/fd path like a
 * file (input_open uses open() + gzdopen(), model_load fopen()). */
#ifndef SEGPIPE_FUZZ_HARNESS_H
#define SEGPIPE_FUZZ_HARNESS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util.h"

static jmp_buf fuzz_back;

static void fuzz_die_hook(void)
{
	longjmp(fuzz_back, 1);
}

/* fuzz_setup: die() returns here; its messages go nowhere (sanitizer
 * reports are written to fd 2 directly, so they still show). */
static void fuzz_setup(void)
{
	FILE *null = fopen("/dev/null", "w");

	progname = "fuzz";
	die_hook = fuzz_die_hook;
	if (null)
		stderr = null;
}

/* fuzz_file: the data as a file; its path in path (32 bytes); the fd to
 * close afterwards. */
static int fuzz_file(const uint8_t *data, size_t size, char *path)
{
	int fd = memfd_create("fuzz", 0);

	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size))
		abort();
	snprintf(path, 32, "/proc/self/fd/%d", fd);
	return fd;
}

#endif
