/* gradcheck.h: the finite-difference check the unit tests share.
 * It keeps the failure count the test reports at its end. */
#ifndef SEGPIPE_GRADCHECK_H
#define SEGPIPE_GRADCHECK_H

#include <math.h>
#include <stddef.h>
#include <stdio.h>

#include "util.h"

static int failures;
static rng_t rng;   /* the test's random numbers; it seeds them */

/* randv: n normal values times scale, newly allocated */
static float *randv(size_t n, float scale)
{
	float *x = xmalloc(n * sizeof(float));
	for (size_t i = 0; i < n; i++)
		x[i] = scale * rng_normal(&rng);
	return x;
}

typedef double (*loss_fn)(void *ctx);

/* gradcheck: compare grad (minus base, for parameter gradients that started
 * at base to show they accumulate) with central differences of f over x,
 * step eps. The error of an entry is |num - ana| / max(floor, |num|, |ana|);
 * the check fails when the worst entry's error exceeds tol. */
static void gradcheck(const char *name, loss_fn f, void *ctx, float *x, const float *grad,
		      float base, size_t n, float eps, double floor, double tol)
{
	double worst = 0.0;
	size_t worst_i = 0;

	for (size_t i = 0; i < n; i++) {
		float save = x[i];
		x[i] = save + eps;
		double lp = f(ctx);
		x[i] = save - eps;
		double lm = f(ctx);
		x[i] = save;
		double num = (lp - lm) / (2.0 * (double)eps), ana = grad[i] - base;
		double scale = fmax(floor, fmax(fabs(num), fabs(ana)));
		double err = fabs(num - ana) / scale;
		if (err > worst) {
			worst = err;
			worst_i = i;
		}
	}
	if (worst > tol) {
		printf("FAIL %s: entry %zu: error %.3g > %.0e\n", name, worst_i, worst, tol);
		failures++;
	} else {
		printf("ok   %s (max error %.2g over %zu entries)\n", name, worst, n);
	}
}

#endif
