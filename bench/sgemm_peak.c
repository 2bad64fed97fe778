/* sgemm_peak: OpenBLAS single-precision matrix multiply speed on this
 * machine, for scale beside the U-Net figures in bench/run.
 *
 * Usage: sgemm_peak [N [THREADS [REPEATS]]]   (defaults 1024 2 7)
 * Times cblas_sgemm on N x N x N with THREADS OpenBLAS threads, REPEATS
 * times after one warm-up call, and prints the best as one TSV line:
 *     sgemm_gflop_s<TAB>value<TAB>n=N threads=T
 * A multiply of N x N by N x N is 2 N^3 floating-point operations. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "util.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int arg_int(const char *s, const char *what)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*end || v < 1 || v > 16384)
		usage_die("bad %s: '%s'", what, s);
	return (int)v;
}

int main(int argc, char **argv)
{
	progname = "sgemm_peak";
	int n = argc > 1 ? arg_int(argv[1], "size") : 1024;
	int threads = argc > 2 ? arg_int(argv[2], "thread count") : 2;
	int repeats = argc > 3 ? arg_int(argv[3], "repeat count") : 7;

	size_t nn = (size_t)n * n;
	// a (n,n), b (n,n), c (n,n), row-major
	float *a = xmalloc_array(nn, sizeof *a);
	float *b = xmalloc_array(nn, sizeof *b);
	float *c = xmalloc_array(nn, sizeof *c);
	rng_t rng;
	rng_seed(&rng, 1);
	for (size_t i = 0; i < nn; i++) {
		a[i] = (float)rng_uniform(&rng) - 0.5f;
		b[i] = (float)rng_uniform(&rng) - 0.5f;
		c[i] = 0;
	}

	openblas_set_num_threads(threads);
	double best = 1e30;
	for (int r = 0; r <= repeats; r++) {   /* r == 0 is the warm-up */
		double t0 = now();
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n,
			    1.0f, a, n, b, n, 0.0f, c, n);
		double t = now() - t0;
		if (r > 0 && t < best)
			best = t;
	}
	double gflops = 2.0 * n * n * (double)n / best * 1e-9;
	printf("sgemm_gflop_s\t%.1f\tn=%d threads=%d\n", gflops, n, threads);

	free(a);
	free(b);
	free(c);
	return 0;
}
