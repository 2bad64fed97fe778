/* labels.c: class labels, one integer scalar per sample. */
#include <stdlib.h>

#include "labels.h"
#include "util.h"

input *labels_open(const char *path, const char *what)
{
	input *lab = input_open(path);

	if (input_size(lab) != 1)
		die("%s must be scalars, not shape %s (%s)", what,
		    shape_str(input_shape(lab)), input_name(lab));
	return lab;
}

int labels_read(input *lab, int32_t *label, int32_t max, const char *what)
{
	return input_read_ints(lab, label, max, what);
}

int32_t *labels_load(const char *path, int32_t max, const char *what, int64_t *n)
{
	input *lab = labels_open(path, what);
	int64_t cap = 1024, k = 0;
	int32_t *v = xmalloc_array((size_t)cap, sizeof *v);

	/* grown as the labels arrive: memory bounded by what really came */
	for (;;) {
		if (k == cap) {
			cap *= 2;
			v = xrealloc(v, (size_t)cap * sizeof *v);
		}
		if (!labels_read(lab, &v[k], max, what))
			break;
		k++;
	}
	input_close(lab);
	*n = k;
	return v;
}
