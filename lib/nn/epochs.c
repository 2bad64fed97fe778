/* epochs.c: the trainers' epoch bookkeeping (see epochs.h). */
#include <math.h>
#include <string.h>

#include "epochs.h"
#include "batch.h"
#include "util.h"

int64_t *holdout_split(int64_t n, double frac, uint64_t seed, int64_t *ntrain, int64_t *nval)
{
	int64_t *order = split_indices(n, seed);

	*ntrain = n;
	*nval = 0;
	if (frac > 0) {
		*nval = (int64_t)floor(frac * n);
		if (*nval < 1 || *nval >= n)
			die("--val-fraction %g leaves no training or validation data", frac);
		*ntrain = n - *nval;
	}
	return order;
}

int64_t *epoch_order(const int64_t *order, int64_t n, uint64_t seed, int epoch)
{
	int64_t *perm = xmalloc_array((size_t)n, sizeof *perm);
	rng_t r;

	memcpy(perm, order, (size_t)n * sizeof *perm);
	rng_seed(&r, seed * 1000003ULL + (uint64_t)epoch);
	rng_shuffle(&r, perm, n);
	return perm;
}

double epoch_lr(double lr, int cosine, int epoch, int epochs)
{
	if (!cosine || epochs <= 0)
		return lr;
	return lr * 0.5 * (1.0 + cos(M_PI * epoch / epochs));
}
