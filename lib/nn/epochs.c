/* epochs.c: the trainers' epoch bookkeeping (see epochs.h). */
#include <math.h>
#include <stdlib.h>
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

/* chunk_start: where chunk k of K starts in a batch of B (as nn_share) */
static int64_t chunk_start(int64_t B, int k, int K)
{
	return B * k / K;
}

int64_t shard_start(int64_t ntrain, int batch, int K, int k)
{
	/* the full batches' chunks k' < k, and those of the last, short one */
	return ntrain / batch * chunk_start(batch, k, K) + chunk_start(ntrain % batch, k, K);
}

static int ascending(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* sorted_training: the training samples, order[0..ntrain-1], ascending */
static int64_t *sorted_training(const int64_t *order, int64_t ntrain)
{
	int64_t *s = xmalloc_array((size_t)(ntrain ? ntrain : 1), sizeof *s);

	memcpy(s, order, (size_t)ntrain * sizeof *s);
	qsort(s, (size_t)ntrain, sizeof *s, ascending);
	return s;
}

int64_t *shard_samples(const int64_t *order, int64_t ntrain, int batch, int K, int klo, int khi,
		       int64_t *count)
{
	int64_t *s = sorted_training(order, ntrain), lo = shard_start(ntrain, batch, K, klo);

	*count = shard_start(ntrain, batch, K, khi) - lo;
	memmove(s, s + lo, (size_t)*count * sizeof *s);
	return s;
}

/* shard_of: the shard of the training sample x, from the training samples
 * ascending (sorted) */
static int shard_of(const int64_t *sorted, int64_t ntrain, int batch, int K, int64_t x)
{
	int64_t lo = 0, hi = ntrain;
	int a = 0, b = K;

	while (lo < hi) {   /* x's place among them */
		int64_t mid = lo + (hi - lo) / 2;
		if (sorted[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (b - a > 1) {   /* the last shard that starts at or before it */
		int mid = a + (b - a) / 2;
		if (shard_start(ntrain, batch, K, mid) <= lo)
			a = mid;
		else
			b = mid;
	}
	return a;
}

int64_t *epoch_order_sharded(const int64_t *order, int64_t ntrain, int batch, int K,
			     uint64_t seed, int epoch)
{
	int64_t *sorted = sorted_training(order, ntrain);
	int64_t *base = xmalloc_array((size_t)(ntrain ? ntrain : 1), sizeof *base);
	int64_t *perm = xmalloc_array((size_t)(ntrain ? ntrain : 1), sizeof *perm);
	int64_t *at = xmalloc_array((size_t)K + 1, sizeof *at);
	uint64_t s = seed * 1000003ULL + (uint64_t)epoch;   /* epoch_order's */

	/* each shard's samples in the order of order, then shuffled on their own */
	for (int k = 0; k <= K; k++)
		at[k] = shard_start(ntrain, batch, K, k);
	for (int64_t i = 0; i < ntrain; i++)
		base[at[shard_of(sorted, ntrain, batch, K, order[i])]++] = order[i];
	for (int k = 0; k < K; k++) {
		int64_t lo = shard_start(ntrain, batch, K, k);
		rng_t r;

		/* shard 0 as epoch_order shuffles: one chunk is its order */
		if (k == 0)
			rng_seed(&r, s);
		else
			rng_seed_at(&r, s, (uint64_t)k);
		rng_shuffle(&r, base + lo, at[k] - lo);
		at[k] = lo;   /* now where chunk k takes its next samples */
	}
	/* chunk k of every batch: the next samples of shard k */
	for (int64_t b0 = 0; b0 < ntrain; b0 += batch) {
		int64_t B = ntrain - b0 < batch ? ntrain - b0 : batch;
		for (int k = 0; k < K; k++) {
			int64_t c0 = chunk_start(B, k, K), c = chunk_start(B, k + 1, K) - c0;
			memcpy(perm + b0 + c0, base + at[k], (size_t)c * sizeof *perm);
			at[k] += c;
		}
	}
	free(at);
	free(base);
	free(sorted);
	return perm;
}

double epoch_lr(double lr, int cosine, int epoch, int epochs)
{
	if (!cosine || epochs <= 0)
		return lr;
	return lr * 0.5 * (1.0 + cos(M_PI * epoch / epochs));
}
