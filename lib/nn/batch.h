/* batch.h: minibatches from datasets in memory, for the trainers. */
#ifndef SEGPIPE_BATCH_H
#define SEGPIPE_BATCH_H

#include <stdint.h>

#include "nn.h"
#include "stream.h"

/* batch_inputs: samples idx[0..B-1] of d as intensities, x (B, d->size). */
void batch_inputs(float *x, const dataset *d, const int64_t *idx, int B);
/* batch_targets: the same samples as targets of a loss, read by the stream
 * layer's roles: bce, masks (ROLE_MASK: uint8 nonzero is 1, others in
 * [0,1]), y float (B, size); mse, intensities, y float (B, size); ce,
 * class indices (dataset_get_ints, 0..classes-1), y uint8 (B, size). A
 * value outside its role is an error naming the sample. */
void batch_targets(void *y, const dataset *d, const int64_t *idx, int B,
		   loss_kind loss, int classes);

/* batch_check_targets: every sample of d in memory (under mpirun, the
 * rank's) through batch_targets once, so a target outside its role is
 * refused before any training. */
void batch_check_targets(const dataset *d, loss_kind loss, int classes);

/* batch_cap: the batch a buffer needs: batch, but never more than the n
 * samples there are (at least 1), so --batch 65536 on 64 images costs 64. */
int batch_cap(int batch, int64_t n);

/* split_indices: a seeded permutation of 0..n-1; the last nval are for
 * validation. */
int64_t *split_indices(int64_t n, uint64_t seed);

#endif
