/* labels.h: class labels, one integer scalar per sample, from an IDX label
 * file (such as t10k-labels-idx1-ubyte.gz) or a tensor stream of scalars,
 * read as the stream layer reads integers (input_read_ints). For every tool
 * that pairs samples with labels: pick, f1, the trainers. */
#ifndef SEGPIPE_LABELS_H
#define SEGPIPE_LABELS_H

#include <stdint.h>

#include "stream.h"

/* labels_open: a label stream; dies unless its samples are scalars
 * ("WHAT must be scalars, not shape S (name)"). what names it in messages. */
input *labels_open(const char *path, const char *what);
/* labels_read: the next label, an integer 0..max; 1, or 0 at the end.
 * Anything else dies as input_read_ints does, naming what. */
int labels_read(input *lab, int32_t *label, int32_t max, const char *what);
/* labels_load: a whole label stream: n labels, each 0..max (the array is
 * the caller's to free; never NULL, even when n is 0). */
int32_t *labels_load(const char *path, int32_t max, const char *what, int64_t *n);

#endif
