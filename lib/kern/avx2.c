/* avx2.c: the AVX2 + FMA kernels. The microkernel is MR 4 x NR 24: 12
 * accumulators, 3 loads of B and 4 broadcasts of A per step of K. The
 * A B^T kernel does 3 x 3 dot products at once, 8 lanes of K each. Also
 * emulated bf16 (inputs rounded by the packing). */
#include <immintrin.h>

#include "ukr.h"

#define MR 4
#define NR 24

static void ukr(int kc, const void *Ap, const void *Bp, long ldb, float *C, long ldc, int acc,
		int mr, int nr)
{
	(void)mr;
	(void)nr;
	const float *a = Ap, *b = Bp;
	__m256 c[MR][3];

	_Pragma("GCC unroll 4") for (int r = 0; r < MR; r++)
		_Pragma("GCC unroll 3") for (int j = 0; j < 3; j++)
			c[r][j] = acc ? _mm256_loadu_ps(C + r * ldc + 8 * j) : _mm256_setzero_ps();
	for (int k = 0; k < kc; k++, a += MR, b += ldb) {
		__m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8), b2 = _mm256_loadu_ps(b + 16);
		_Pragma("GCC unroll 4") for (int r = 0; r < MR; r++) {
			__m256 av = _mm256_broadcast_ss(a + r);
			c[r][0] = _mm256_fmadd_ps(av, b0, c[r][0]);
			c[r][1] = _mm256_fmadd_ps(av, b1, c[r][1]);
			c[r][2] = _mm256_fmadd_ps(av, b2, c[r][2]);
		}
	}
	_Pragma("GCC unroll 4") for (int r = 0; r < MR; r++)
		_Pragma("GCC unroll 3") for (int j = 0; j < 3; j++)
			_mm256_storeu_ps(C + r * ldc + 8 * j, c[r][j]);
}

static float hsum(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
	return _mm_cvtss_f32(s);
}

#define T 3
static void nt(int M, int N, int K, const void *Av, long lda, const void *Bv, long ldb,
	       float beta, float *C, long ldc)
{
	const float *A = Av, *B = Bv;
	int K8 = K & ~7;

	for (int i = 0; i < M; i += T)
		for (int j = 0; j < N; j += T) {
			int mi = M - i < T ? M - i : T, nj = N - j < T ? N - j : T;
			const float *a[T], *b[T];
			__m256 acc[T][T];
			for (int r = 0; r < T; r++) {
				a[r] = A + (long)(i + (r < mi ? r : 0)) * lda;
				b[r] = B + (long)(j + (r < nj ? r : 0)) * ldb;
				for (int c = 0; c < T; c++)
					acc[r][c] = _mm256_setzero_ps();
			}
			for (int k = 0; k < K8; k += 8) {
				__m256 av[T], bv[T];
				for (int r = 0; r < T; r++) {
					av[r] = _mm256_loadu_ps(a[r] + k);
					bv[r] = _mm256_loadu_ps(b[r] + k);
				}
				for (int r = 0; r < T; r++)
					for (int c = 0; c < T; c++)
						acc[r][c] = _mm256_fmadd_ps(av[r], bv[c], acc[r][c]);
			}
			for (int r = 0; r < mi; r++)
				for (int c = 0; c < nj; c++) {
					float s = hsum(acc[r][c]);
					for (int k = K8; k < K; k++)
						s += a[r][k] * b[c][k];
					float *o = C + (long)(i + r) * ldc + j + c;
					*o = beta != 0.0f ? *o + s : s;
				}
		}
}

const kern_ukr kern_avx2_f32 = {
	.name = "avx2", .mr = MR, .nr = NR, .kalign = 1, .a_fmt = PACK_F32, .b_fmt = PACK_F32,
	.ukr = ukr, .direct_b = 1, .nt = nt,
};
const kern_ukr kern_avx2_bf16 = {
	.name = "avx2", .mr = MR, .nr = NR, .kalign = 1, .a_fmt = PACK_F32_BF16,
	.b_fmt = PACK_F32_BF16, .ukr = ukr, .nt = nt,
};
