/* avx512bf16.c: the bf16 kernels on AVX512-BF16. VDPBF16PS adds the
 * products of a pair of K steps into fp32 at once: the microkernel (MR 8 x
 * NR 32) takes A and B packed in pairs of K (PACK_BF16_PAIRS), the A B^T
 * kernel takes bf16 rows, whose neighbouring K steps are the pairs. The
 * packing of B into pairs is here too (the amx path uses it). */
#include <immintrin.h>

#include "avx512.h"
#include "ukr.h"

#define MR 8
#define NR 32

#define TILE(W)                                                                        \
	do {                                                                           \
		__m512 c[MR][W];                                                       \
		TILE_C_LOAD(W);                                                      \
		for (int k = 0; k < kc; k += 2, a += MR, b += 2 * NR) {                \
			__m512bh bv[W];                                                \
			_Pragma("GCC unroll 2") for (int j = 0; j < W; j++)                                    \
				bv[j] = (__m512bh)_mm512_load_si512(b + 32 * j);       \
			_Pragma("GCC unroll 8") for (int r = 0; r < MR; r++) {                                 \
				__m512bh av = (__m512bh)_mm512_set1_epi32((int)a[r]);  \
				_Pragma("GCC unroll 2") for (int j = 0; j < W; j++)                            \
					c[r][j] = _mm512_dpbf16_ps(c[r][j], av, bv[j]); \
			}                                                              \
		}                                                                      \
		TILE_C_STORE(W);                                                     \
	} while (0)

/* A and B packed in pairs of K (so B's panel is whole: ldb is unused) */
static void ukr(int kc, const void *Ap, const void *Bp, long ldb, float *C, long ldc, int acc,
		int mr, int nr)
{
	const uint32_t *a = Ap;            /* a pair of bf16 per row and step */
	const uint16_t *b = Bp;
	__mmask16 m[2] = { half(nr, 0), half(nr, 1) };

	(void)ldb;
	if (nr > 16)
		TILE(2);
	else
		TILE(1);
}

/* A B^T on bf16 rows (K padded to a multiple of 32): 32 steps of K per
 * VDPBF16PS */
static void nt(int M, int N, int K, const void *Av, long lda, const void *Bv, long ldb,
	       float beta, float *C, long ldc)
{
	const uint16_t *A = Av, *B = Bv;

	NT_BLOCKS(uint16_t, {
		for (int k = 0; k < K; k += 32) {
			__m512bh av[4], bv[4];
			for (int r = 0; r < 4; r++) {
				av[r] = (__m512bh)_mm512_loadu_si512(a[r] + k);
				bv[r] = (__m512bh)_mm512_loadu_si512(b[r] + k);
			}
			for (int r = 0; r < 4; r++)
				for (int c = 0; c < 4; c++)
					acc[r][c] = _mm512_dpbf16_ps(acc[r][c], av[r], bv[c]);
		}
	})
}

/* K rows of n columns into pairs of K: rows k and k+1, 16 columns at a
 * time, converted (round to nearest even) and interleaved */
void kern_pack_n_pairs_avx512bf16(void *dst, int width, const float *src, long ld, int n,
				  int kc, int kcp)
{
	const __m512i inter = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10,
					       25, 9, 24, 8, 23, 7, 22, 6, 21, 5, 20, 4, 19, 3,
					       18, 2, 17, 1, 16, 0);
	uint16_t *d0 = dst;

	for (int k = 0; k < kcp; k += 2) {
		const float *r0 = src + (long)k * ld, *r1 = r0 + ld;
		uint16_t *d = d0 + (long)k * width;
		for (int j = 0; j < width; j += 16) {
			__mmask16 m = first(n - j);
			__m512 v0 = k < kc ? _mm512_maskz_loadu_ps(m, r0 + j) : _mm512_setzero_ps();
			__m512 v1 = k + 1 < kc ? _mm512_maskz_loadu_ps(m, r1 + j) : _mm512_setzero_ps();
			__m512i p = (__m512i)_mm512_cvtne2ps_pbh(v1, v0);
			_mm512_mask_storeu_epi32(d + 2 * j, first(width - j),
						 _mm512_permutexvar_epi16(inter, p));
		}
	}
}

/* n rows along K into pairs of K: each row's 32 steps converted are 16
 * pairs (32-bit lanes); 16 rows of them transposed give 16 pairs x 16
 * columns */
void kern_pack_t_pairs_avx512bf16(void *dst, int width, const float *src, long ld, int n,
				  int kc, int kcp)
{
	uint16_t *d = dst;

	for (int j0 = 0; j0 < width; j0 += 16) {
		int nj = width - j0 < 16 ? width - j0 : 16;
		for (int k0 = 0; k0 < kcp; k0 += 32) {
			__mmask16 lo = first(kc - k0), hi = first(kc - k0 - 16);
			__m512i in[16], out[16];
			for (int i = 0; i < 16; i++) {
				if (i < nj && j0 + i < n) {
					const float *r = src + (long)(j0 + i) * ld + k0;
					in[i] = (__m512i)_mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(hi, r + 16),
									     _mm512_maskz_loadu_ps(lo, r));
				} else {
					in[i] = _mm512_setzero_si512();
				}
			}
			tr16(in, out);
			for (int p = 0; p < 16 && k0 + 2 * p < kcp; p++)
				_mm512_mask_storeu_epi32(d + ((long)(k0 / 2 + p) * width + j0) * 2, first(nj),
							 out[p]);
		}
	}
}

void kern_to_bf16_avx512bf16(uint16_t *dst, const float *src, int n, int npad)
{
	int i = 0;

	for (; i + 16 <= n; i += 16)
		_mm256_storeu_si256((__m256i *)(dst + i),
				    (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(src + i)));
	if (i < n) {
		__mmask16 m = (__mmask16)((1u << (n - i)) - 1);
		__m256i v = (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, src + i));
		_mm256_mask_storeu_epi16(dst + i, m, v);
		i = n;
	}
	for (; i < npad; i++)
		dst[i] = 0;
}

const kern_ukr kern_avx512bf16_bf16 = {
	.name = "avx512-bf16", .mr = MR, .nr = NR, .kalign = 2, .a_fmt = PACK_BF16_PAIRS,
	.b_fmt = PACK_BF16_PAIRS, .ukr = ukr, .edges = 1, .nt = nt, .bf16_rows = 1,
	.a_pack_t = kern_pack_t_pairs_avx512bf16, .a_pack_n = kern_pack_n_pairs_avx512bf16,
	.b_pack_t = kern_pack_t_pairs_avx512bf16, .b_pack_n = kern_pack_n_pairs_avx512bf16,
	.to_bf16 = kern_to_bf16_avx512bf16,
};
