/* test_kern.c: kgemm on every kernel path this CPU can run, both
 * precisions, against a double-precision reference.
 *
 * For bf16 the reference multiplies the bf16-rounded inputs (exact in
 * double) so the only error left is fp32 accumulation. An entry fails when
 * |C - ref| > (K + 8) * 2^-23 * sum_k |a_k b_k| + 1e-30 (the bound of
 * summing K products in fp32, with room for the order of the sums). Paths
 * the CPU lacks are skipped and say so. Also: beta 1 accumulates, the
 * same call twice gives the same bytes, and paths agree with each other. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kern.h"
#include "util.h"

static int failures;
static rng_t rng;

static float *fill(size_t n)
{
	float *x = xmalloc_array(n ? n : 1, sizeof(float));
	for (size_t i = 0; i < n; i++)
		x[i] = rng_normal(&rng);
	return x;
}

/* one case: op(A) (M,K), op(B) (K,N); lda/ldb/ldc with some slack */
static int check(int ta, int tb, int M, int N, int K, float beta, int bf16)
{
	int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 5, ldc = N + 7;
	size_t na = (size_t)(ta ? K : M) * lda, nb = (size_t)(tb ? N : K) * ldb;
	float *A = fill(na), *B = fill(nb), *C = fill((size_t)M * ldc);
	float *C0 = xmalloc_array((size_t)M * ldc + 1, sizeof(float)), *C2 = NULL;
	int bad = 0;

	memcpy(C0, C, (size_t)M * ldc * sizeof(float));
	kgemm(ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc);
	for (int i = 0; i < M && !bad; i++)
		for (int j = 0; j < N; j++) {
			double s = 0, sa = 0;
			for (int k = 0; k < K; k++) {
				float a = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
				float b = tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
				if (bf16) {
					a = kern_round_bf16(a);
					b = kern_round_bf16(b);
				}
				s += (double)a * b;
				sa += fabs((double)a * b);
			}
			if (beta != 0.0f) {
				s += C0[(size_t)i * ldc + j];
				sa += fabs(C0[(size_t)i * ldc + j]);
			}
			double tol = (K + 8) * ldexp(1.0, -23) * sa + 1e-30;
			if (fabs(C[(size_t)i * ldc + j] - s) > tol) {
				printf("    C[%d][%d] = %.9g, reference %.9g (tolerance %.3g)\n", i, j,
				       C[(size_t)i * ldc + j], s, tol);
				bad = 1;
				break;
			}
		}
	/* the columns past N of each row are not touched */
	for (int i = 0; i < M && !bad; i++)
		for (int j = N; j < ldc; j++)
			if (C[(size_t)i * ldc + j] != C0[(size_t)i * ldc + j]) {
				printf("    C[%d][%d] past N was written\n", i, j);
				bad = 1;
				break;
			}
	/* the same call again: the same bytes */
	C2 = xmalloc_array((size_t)M * ldc + 1, sizeof(float));
	memcpy(C2, C0, (size_t)M * ldc * sizeof(float));
	kgemm(ta, tb, M, N, K, A, lda, B, ldb, beta, C2, ldc);
	if (!bad && memcmp(C, C2, (size_t)M * ldc * sizeof(float)) != 0) {
		printf("    a second call gave other bytes\n");
		bad = 1;
	}
	free(A), free(B), free(C), free(C0), free(C2);
	return bad;
}

static const int sizes[][3] = {
	{ 1, 1, 1 }, { 1, 17, 3 }, { 5, 1, 9 }, { 7, 33, 2 }, { 16, 64, 16 }, { 16, 196, 16 },
	{ 32, 100, 144 }, { 8, 31, 33 }, { 33, 65, 31 }, { 128, 392, 64 }, { 16, 32, 300 },
	{ 64, 64, 600 }, { 17, 800, 5 }, { 3, 2000, 1 }, { 24, 48, 0 }, { 20, 35, 1100 },
	{ 5, 3, 2500 },
};

/* kgemm_with: A packed once, used twice, gives kgemm's bytes */
static int check_packed(void)
{
	int M = 37, N = 75, K = 45, bad = 0;
	float *A = fill((size_t)M * K), *B = fill((size_t)K * N);
	float *C1 = xcalloc((size_t)M * N, 4), *C2 = xcalloc((size_t)M * N, 4);

	for (int ta = 0; ta < 2; ta++) {
		int lda = ta ? M : K;
		kgemm_a *a = kgemm_pack_a(ta, M, K, A, lda);
		for (int rep = 0; rep < 2; rep++) {
			kgemm(ta, 0, M, N, K, A, lda, B, N, 0.0f, C1, N);
			kgemm_with(a, 0, N, B, N, 0.0f, C2, N);
			bad |= memcmp(C1, C2, (size_t)M * N * 4) != 0;
		}
		kgemm_a_free(a);
	}
	free(A), free(B), free(C1), free(C2);
	return bad;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--paths") == 0) {
		/* the paths this CPU can run, one a line, for tests/run */
		for (int p = 0; p < KPATH_COUNT; p++)
			if (kern_can_run((kern_path)p))
				printf("%s\n", kern_path_name((kern_path)p));
		return 0;
	}
	rng_seed(&rng, 7);
	printf("test_kern: best path on this CPU: %s\n", kern_path_name(kern_best()));
	for (int p = 0; p < KPATH_COUNT; p++) {
		if (!kern_can_run((kern_path)p)) {
			printf("skip %s: this CPU cannot run it (not tested here)\n",
			       kern_path_name((kern_path)p));
			continue;
		}
		kern_use((kern_path)p);
		for (int prec = 0; prec < 2; prec++) {
			kern_set_precision((kern_precision)prec);
			int bad = 0, n = 0;
			for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
				for (int t = 0; t < 4; t++)
					for (int beta = 0; beta < 2; beta++) {
						int M = sizes[s][0], N = sizes[s][1], K = sizes[s][2];
						n++;
						if (check(t & 1, t >> 1, M, N, K, (float)beta, prec)) {
							printf("    (%s %s: M %d N %d K %d ta %d tb %d beta %d)\n",
							       kern_path_name((kern_path)p),
							       kern_precision_name((kern_precision)prec),
							       M, N, K, t & 1, t >> 1, beta);
							bad++;
						}
					}
			printf("%s kgemm %s %s: %d cases\n", bad ? "FAIL" : "ok  ",
			       kern_path_name((kern_path)p), kern_precision_name((kern_precision)prec), n);
			failures += bad > 0;
			int pb = check_packed();
			printf("%s kgemm_with %s %s: packed A gives kgemm's bytes\n", pb ? "FAIL" : "ok  ",
			       kern_path_name((kern_path)p), kern_precision_name((kern_precision)prec));
			failures += pb;
		}
	}
	/* bf16 really rounds: on every path its product differs from fp32's
	 * by far more than fp32 rounding (relative 1e-3 at least somewhere) */
	for (int p = 0; p < KPATH_COUNT; p++) {
		if (!kern_can_run((kern_path)p))
			continue;
		kern_use((kern_path)p);
		int M = 16, N = 48, K = 64;
		float *A = fill((size_t)M * K), *B = fill((size_t)K * N);
		float *C[2] = { xcalloc((size_t)M * N, 4), xcalloc((size_t)M * N, 4) };
		for (int prec = 0; prec < 2; prec++) {
			kern_set_precision((kern_precision)prec);
			kgemm(0, 0, M, N, K, A, K, B, N, 0.0f, C[prec], N);
		}
		double worst = 0;
		for (int i = 0; i < M * N; i++)
			worst = fmax(worst, fabs(C[0][i] - C[1][i]) / fmax(1.0, fabs(C[0][i])));
		printf("%s bf16 differs from fp32 on %s (max relative %.2g, > 1e-3)\n",
		       worst > 1e-3 ? "ok  " : "FAIL", kern_path_name((kern_path)p), worst);
		failures += worst <= 1e-3;
		free(A), free(B), free(C[0]), free(C[1]);
	}
	kern_set_precision(KERN_FP32);
	if (failures) {
		printf("test_kern: %d FAILED\n", failures);
		return 1;
	}
	printf("test_kern: all passed\n");
	return 0;
}
