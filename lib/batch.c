/* batch.c: gathering minibatches from uint8 or float datasets. */
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

	for (int b = 0; b < B; b++) {
		int64_t i = idx[b];

		if (loss == LOSS_CE) {
			uint8_t *out = (uint8_t *)y + (int64_t)b * size;
			if (d->is_u8) {
				memcpy(out, d->u8 + i * size, (size_t)size);
			} else {
				for (int64_t k = 0; k < size; k++)
					out[k] = (uint8_t)(d->f32[i * size + k]);
			}
			for (int64_t k = 0; k < size; k++)
				if (out[k] >= classes)
					die("class %d is not below --classes %d (%s, sample %" PRId64 ")",
					    out[k], classes, d->name, i);
		} else if (loss == LOSS_BCE && d->is_u8) {
			float *out = (float *)y + (int64_t)b * size;
			const uint8_t *p = d->u8 + i * size;
			for (int64_t k = 0; k < size; k++)
				out[k] = p[k] != 0;
		} else {
			dataset_get(d, i, (float *)y + (int64_t)b * size, ROLE_INTENSITY);
		}
	}
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
