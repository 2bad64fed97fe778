/* npy_header.h: the header dictionary of a .npy array, parsed as numpy's
 * read_array parses it: a Python literal (ast.literal_eval) that must be a
 * dict with exactly the keys 'descr', 'fortran_order' and 'shape'. */
#ifndef SEGPIPE_NPY_HEADER_H
#define SEGPIPE_NPY_HEADER_H

#include <stddef.h>
#include <stdint.h>

#define NPY_NDIM_MAX 32      /* numpy's own limit on dimensions */
#define NPY_DESCR_MAX 32     /* bytes of a descr string we keep */

typedef struct {
	char descr[NPY_DESCR_MAX + 1];  /* the dtype string, e.g. "<f4" */
	int fortran_order;
	int ndim;
	int64_t dim[NPY_NDIM_MAX];      /* each >= 0 */
} npy_header;

/* npy_header_parse: text (len bytes; NUL bytes are an error) as a header
 * of format version major (1 to 3; 1 and 2 allow Python 2's long suffix
 * 'L', as numpy does). NULL on success, else what is wrong. */
const char *npy_header_parse(const char *text, size_t len, int major, npy_header *h);

#endif
