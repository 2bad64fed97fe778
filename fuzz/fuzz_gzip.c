/* fuzz_gzip: the byte source (lib/io/source.c): plain bytes, or gzip members
 * back to back, read to the end in uneven pieces. For an input that reads
 * cleanly as gzip, the input twice must read as its content twice (two
 * members are one stream), and the input with one more byte must fail
 * (nothing but a member may follow a member). */
#include "harness.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "source.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_setup();
	return 0;
}

/* read_all: everything the source gives for data; 0, or -1 on an error.
 * out (cap bytes, may be NULL) gets the first cap bytes; *n the count. */
static int read_all(const uint8_t *data, size_t size, unsigned char *out, size_t cap,
		    size_t *n, int *gzip)
{
	char path[32];
	int fd = fuzz_file(data, size, path);
	int rfd = open(path, O_RDONLY);
	source *s;
	unsigned char buf[4096];
	const char *err = NULL;
	size_t piece = 1;

	close(fd);
	if (rfd < 0)
		abort();
	s = source_open(rfd);
	*gzip = source_is_gzip(s);
	*n = 0;
	for (;;) {
		size_t got = source_read(s, buf, piece, &err);

		if (out && *n < cap)
			memcpy(out + *n, buf, got < cap - *n ? got : cap - *n);
		*n += got;
		if (err || got < piece)
			break;
		piece = piece * 3 % sizeof buf + 1;   /* 1, 4, 13, 40, ... */
	}
	source_close(s);
	return err ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n, n2, cap = 1 << 16;
	int gz, gz2;
	unsigned char *once, *twice;
	uint8_t *doubled;

	if (read_all(data, size, NULL, 0, &n, &gz) != 0 || !gz || n > cap)
		return 0;
	once = malloc(cap);
	twice = malloc(2 * cap);
	doubled = malloc(2 * size + 1);
	read_all(data, size, once, cap, &n, &gz);
	memcpy(doubled, data, size);
	memcpy(doubled + size, data, size);
	if (read_all(doubled, 2 * size, twice, 2 * cap, &n2, &gz2) != 0 || n2 != 2 * n ||
	    memcmp(twice, once, n) != 0 || memcmp(twice + n, once, n) != 0)
		abort();
	doubled[size] = 'j';
	if (read_all(doubled, size + 1, NULL, 0, &n2, &gz2) == 0)
		abort();
	free(once);
	free(twice);
	free(doubled);
	return 0;
}
