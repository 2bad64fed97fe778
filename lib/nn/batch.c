/* batch.c: gathering minibatches from uint8 or float datasets. */
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "util.h"

void batch_inputs(float *x, const dataset *d, const int64_t *idx, int B)
{
	for (int b = 0; b < B; b++)
		dataset_get(d, idx[b], x + (int64_t)b * d->size, ROLE_INTENSITY);
}

void batch_targets(void *y, const dataset *d, const int64_t *idx, int B,
		   loss_kind loss, int classes)
{
	int64_t size = d->size;
	int32_t *cls = loss == LOSS_CE ? xmalloc_array((size_t)size, sizeof *cls) : NULL;

	for (int b = 0; b < B; b++) {
		if (loss == LOSS_CE) {
			uint8_t *out = (uint8_t *)y + (int64_t)b * size;
			dataset_get_ints(d, idx[b], cls, classes - 1, "class");
			for (int64_t k = 0; k < size; k++)
				out[k] = (uint8_t)cls[k];
		} else {
			dataset_get(d, idx[b], (float *)y + (int64_t)b * size,
				    loss == LOSS_BCE ? ROLE_MASK : ROLE_INTENSITY);
		}
	}
	free(cls);
}

int batch_cap(int batch, int64_t n)
{
	return n < 1 ? 1 : n < batch ? (int)n : batch;
}

void batch_check_targets(const dataset *d, loss_kind loss, int classes)
{
	void *y = xmalloc_array((size_t)d->size, sizeof(float));

	for (int64_t j = 0; j < d->nkept; j++) {
		int64_t i = dataset_index(d, j);
		batch_targets(y, d, &i, 1, loss, classes);
	}
	free(y);
}

int64_t *split_indices(int64_t n, uint64_t seed)
{
	int64_t *idx = xmalloc_array((size_t)n, sizeof *idx);
	rng_t r;

	for (int64_t i = 0; i < n; i++)
		idx[i] = i;
	rng_seed(&r, seed ^ 0x5eed5911ULL);
	rng_shuffle(&r, idx, n);
	return idx;
}
