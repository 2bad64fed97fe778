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

FILE *history_open(const char *path, int append)
{
	FILE *f = fopen(path, append ? "a" : "w");

	if (!f)
		die("cannot open %s:", path);
	if (fseek(f, 0, SEEK_END) != 0 || ftell(f) == 0)
		fprintf(f, "epoch\ttrain_loss\tval_loss\tlr\tseconds\timages_per_s\n");
	return f;
}

void history_line(FILE *f, const char *path, int epoch, double train_loss,
		  double val_loss, double lr, double seconds, double images_per_s)
{
	fprintf(f, "%d\t%.8g\t%.8g\t%g\t%.3f\t%.1f\n", epoch, train_loss, val_loss, lr,
		seconds, images_per_s);
	if (fflush(f) != 0)
		die("cannot write %s:", path);
}

void history_close(FILE *f, const char *path)
{
	if (fclose(f) != 0)
		die("cannot write %s:", path);
}

double epoch_lr(double lr, int cosine, int epoch, int epochs)
{
	if (!cosine || epochs <= 0)
		return lr;
	return lr * 0.5 * (1.0 + cos(M_PI * epoch / epochs));
}
