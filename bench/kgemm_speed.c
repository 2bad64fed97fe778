/* kgemm_speed: GFLOP/s of kgemm on every kernel path this CPU can run,
 * both precisions, beside OpenBLAS's cblas_sgemm, one thread, on the
 * shapes the U-Nets give it (Winograd products M=Co N=tiles K=Ci; weight
 * gradients A B^T with K = tiles; 64^3 and 1024^3 for scale).
 *
 *   bench/kgemm_speed [-r repeats] [-s seconds per case]
 *
 * Prints kgemm<TAB>path<TAB>precision<TAB>shape<TAB>GFLOP/s, best of -r. */
#include <cblas.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kern.h"
#include "util.h"

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);   /* the core's time, not the wall's: steady on a shared machine */
	return t.tv_sec + 1e-9 * t.tv_nsec;
}

typedef struct { int ta, tb, M, N, K; const char *what; } shape;

static const shape shapes[] = {
	{ 0, 0, 16, 196, 16, "wino 16->16 28x28" },
	{ 0, 0, 32, 392, 32, "wino 32->32 14x14 x8" },
	{ 0, 0, 64, 256, 64, "wino 64->64 7x7 x16" },
	{ 0, 0, 64, 1024, 64, "wino 64->64 32x32 sep" },
	{ 0, 0, 128, 256, 128, "wino 128->128 8x8 sep" },
	{ 0, 1, 16, 16, 3136, "wgrad 16x16 K3136" },
	{ 0, 1, 64, 64, 1024, "wgrad 64x64 K1024" },
	{ 0, 1, 64, 64, 256, "wgrad 64x64 K256" },
	{ 0, 1, 128, 64, 64, "wgrad 128x64 K64" },
	{ 0, 0, 256, 256, 256, "square 256" },
	{ 0, 0, 1024, 1024, 1024, "square 1024" },
};

static double run(const shape *s, int blas, double secs, int repeats)
{
	int lda = s->ta ? s->M : s->K, ldb = s->tb ? s->K : s->N;
	size_t na = (size_t)s->M * s->K, nb = (size_t)s->K * s->N, nc = (size_t)s->M * s->N;
	float *A = xmalloc_array(na, 4), *B = xmalloc_array(nb, 4), *C = xcalloc(nc, 4);
	double best = 0, flop = 2.0 * s->M * s->N * s->K;
	rng_t r;

	rng_seed(&r, 1);
	for (size_t i = 0; i < na; i++) A[i] = rng_normal(&r);
	for (size_t i = 0; i < nb; i++) B[i] = rng_normal(&r);
	for (int rep = 0; rep < repeats; rep++) {
		long n = 0;
		double t0 = now(), t;
		do {
			if (blas)
				cblas_sgemm(CblasRowMajor, s->ta ? CblasTrans : CblasNoTrans,
					    s->tb ? CblasTrans : CblasNoTrans, s->M, s->N, s->K, 1.0f,
					    A, lda, B, ldb, 0.0f, C, s->N);
			else
				kgemm(s->ta, s->tb, s->M, s->N, s->K, A, lda, B, ldb, 0.0f, C, s->N);
			n++;
			t = now() - t0;
		} while (t < secs);
		double g = flop * n / t / 1e9;
		if (g > best)
			best = g;
	}
	free(A), free(B), free(C);
	return best;
}

int main(int argc, char **argv)
{
	int repeats = 3, opt;
	double secs = 0.2;

	progname = "kgemm_speed";
	while ((opt = getopt(argc, argv, "r:s:")) != -1)
		switch (opt) {
		case 'r': repeats = atoi(optarg); break;
		case 's': secs = atof(optarg); break;
		default: fprintf(stderr, "usage: kgemm_speed [-r repeats] [-s seconds]\n"); return 2;
		}
	openblas_set_num_threads(1);
	const char *only = getenv("KGEMM_PATH");
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
		const shape *s = &shapes[i];
		printf("kgemm\topenblas\tfp32\t%s (%d,%d,%d%s)\t%.1f\n", s->what, s->M, s->N, s->K,
		       s->tb ? " B^T" : "", run(s, 1, secs, repeats));
		for (int p = KPATH_COUNT - 1; p >= 0; p--) {
			if (!kern_can_run((kern_path)p) || (only && strcmp(only, kern_path_name(p))))
				continue;
			kern_use((kern_path)p);
			for (int prec = 0; prec < 2; prec++) {
				kern_set_precision((kern_precision)prec);
				printf("kgemm\t%s\t%s\t%s (%d,%d,%d%s)\t%.1f\n", kern_path_name(p),
				       kern_precision_name(prec), s->what, s->M, s->N, s->K,
				       s->tb ? " B^T" : "", run(s, 0, secs, repeats));
			}
		}
	}
	return 0;
}
