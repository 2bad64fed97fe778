/* fuzz_npy_header: the .npy header dict parser (lib/io/npy_header.c) on its
 * own, fast. The first byte picks the format version (1 to 3), the rest is
 * the header text. A header that parses is written back in numpy's own
 * spelling and parsed again: both readings must agree. */
#include "harness.h"

#include <stdio.h>
#include <string.h>

#include "npy_header.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_setup();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	npy_header h, g;
	char text[2048];
	int len;

	if (size < 1)
		return 0;
	if (npy_header_parse((const char *)data + 1, size - 1, data[0] % 3 + 1, &h) != NULL)
		return 0;
	if (h.ndim < 0 || h.ndim > NPY_NDIM_MAX || strlen(h.descr) > NPY_DESCR_MAX)
		abort();
	len = snprintf(text, sizeof text, "{'descr': '");
	for (const char *c = h.descr; *c; c++)   /* every byte as an escape */
		len += snprintf(text + len, sizeof text - len, "\\x%02x", (unsigned char)*c);
	len += snprintf(text + len, sizeof text - len, "', 'fortran_order': %s, 'shape': (",
			h.fortran_order ? "True" : "False");
	for (int i = 0; i < h.ndim; i++) {
		if (h.dim[i] < 0)
			abort();
		len += snprintf(text + len, sizeof text - len, "%lld,", (long long)h.dim[i]);
	}
	len += snprintf(text + len, sizeof text - len, "), }");
	if (npy_header_parse(text, (size_t)len, 3, &g) != NULL ||
	    strcmp(g.descr, h.descr) != 0 || g.fortran_order != h.fortran_order ||
	    g.ndim != h.ndim || memcmp(g.dim, h.dim, (size_t)h.ndim * sizeof h.dim[0]) != 0)
		abort();
	return 0;
}
