/* avx512.c: the AVX-512F kernels, also the fp32 kernels of the
 * avx512-bf16 and amx paths. The microkernel is MR 8 x NR 32: 16
 * accumulators, 2 loads of B and 8 broadcasts of A per step of K. The
 * A B^T kernel does 4 x 4 dot products at once, 16 lanes of K each, the
 * tail of K masked. Also emulated bf16 (inputs rounded by the packing). */
#include <immintrin.h>

#include "avx512.h"
#include "ukr.h"

#define MR 8
#define NR 32

/* one template for both halves of the tile: w = 1 or 2 vectors wide */
#define TILE(W)                                                                        \
	do {                                                                           \
		__m512 c[MR][W];                                                       \
		TILE_C_LOAD(W);                                                      \
		for (int k = 0; k < kc; k++, a += MR, b += ldb) {                      \
			__m512 bv[W];                                                  \
			_Pragma("GCC unroll 2") for (int j = 0; j < W; j++)                                    \
				bv[j] = _mm512_maskz_loadu_ps(m[j], b + 16 * j);       \
			_Pragma("GCC unroll 8") for (int r = 0; r < MR; r++) {                                 \
				__m512 av = _mm512_set1_ps(a[r]);                      \
				_Pragma("GCC unroll 2") for (int j = 0; j < W; j++)                            \
					c[r][j] = _mm512_fmadd_ps(av, bv[j], c[r][j]); \
			}                                                              \
		}                                                                      \
		TILE_C_STORE(W);                                                     \
	} while (0)

static void ukr(int kc, const void *Ap, const void *Bp, long ldb, float *C, long ldc, int acc,
		int mr, int nr)
{
	const float *a = Ap, *b = Bp;
	__mmask16 m[2] = { half(nr, 0), half(nr, 1) };

	if (nr > 16)
		TILE(2);
	else
		TILE(1);
}

/* A B^T: 16 lanes of K per step, the tail of K masked */
static void nt(int M, int N, int K, const void *Av, long lda, const void *Bv, long ldb,
	       float beta, float *C, long ldc)
{
	const float *A = Av, *B = Bv;
	int K16 = K & ~15;
	__mmask16 tail = first(K - K16);

	NT_BLOCKS(float, {
		for (int k = 0; k < K16; k += 16) {
			__m512 av[4], bv[4];
			for (int r = 0; r < 4; r++) {
				av[r] = _mm512_loadu_ps(a[r] + k);
				bv[r] = _mm512_loadu_ps(b[r] + k);
			}
			for (int r = 0; r < 4; r++)
				for (int c = 0; c < 4; c++)
					acc[r][c] = _mm512_fmadd_ps(av[r], bv[c], acc[r][c]);
		}
		if (tail) {
			__m512 av[4], bv[4];
			for (int r = 0; r < 4; r++) {
				av[r] = _mm512_maskz_loadu_ps(tail, a[r] + K16);
				bv[r] = _mm512_maskz_loadu_ps(tail, b[r] + K16);
			}
			for (int r = 0; r < 4; r++)
				for (int c = 0; c < 4; c++)
					acc[r][c] = _mm512_fmadd_ps(av[r], bv[c], acc[r][c]);
		}
	})
}

/* round to bf16 (nearest even) in fp32 lanes; NaN stays NaN */
static inline __m512i round_bf16(__m512i u)
{
	__m512i r = _mm512_add_epi32(u, _mm512_add_epi32(_mm512_set1_epi32(0x7fff),
		_mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1))));
	__mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)),
						_mm512_set1_epi32(0x7f800000));
	r = _mm512_mask_or_epi32(r, nan, u, _mm512_set1_epi32(0x00400000));
	return _mm512_and_si512(r, _mm512_set1_epi32((int)0xffff0000));
}

/* rows along K into a k-major panel, 16 x 16 blocks through tr16 */
static inline void pack_t(float *d, int width, const float *src, long ld, int n, int kc, int round)
{
	for (int j0 = 0; j0 < width; j0 += 16) {
		int nj = width - j0 < 16 ? width - j0 : 16;
		for (int k0 = 0; k0 < kc; k0 += 16) {
			__mmask16 mk = first(kc - k0);
			__m512i in[16], out[16];
			for (int i = 0; i < 16; i++) {
				in[i] = i < nj && j0 + i < n ?
					_mm512_castps_si512(_mm512_maskz_loadu_ps(mk, src + (long)(j0 + i) * ld + k0)) :
					_mm512_setzero_si512();
				if (round)
					in[i] = round_bf16(in[i]);
			}
			tr16(in, out);
			for (int i = 0; i < 16 && k0 + i < kc; i++)
				_mm512_mask_storeu_epi32(d + (long)(k0 + i) * width + j0, first(nj), out[i]);
		}
	}
}

static void pack_t_f32(void *d, int width, const float *src, long ld, int n, int kc, int kcp)
{
	(void)kcp;
	pack_t(d, width, src, ld, n, kc, 0);
}

static void pack_t_round(void *d, int width, const float *src, long ld, int n, int kc, int kcp)
{
	(void)kcp;
	pack_t(d, width, src, ld, n, kc, 1);
}

/* K rows of n columns into the panel: a copy, masked */
static inline void pack_n(float *d, int width, const float *src, long ld, int n, int kc, int round)
{
	for (int k = 0; k < kc; k++)
		for (int j = 0; j < width; j += 16) {
			__mmask16 m = first(n - j);
			__m512i v = _mm512_castps_si512(_mm512_maskz_loadu_ps(m, src + (long)k * ld + j));
			if (round)
				v = round_bf16(v);
			_mm512_mask_storeu_epi32(d + (long)k * width + j, first(width - j), v);
		}
}

static void pack_n_f32(void *d, int width, const float *src, long ld, int n, int kc, int kcp)
{
	(void)kcp;
	pack_n(d, width, src, ld, n, kc, 0);
}

static void pack_n_round(void *d, int width, const float *src, long ld, int n, int kc, int kcp)
{
	(void)kcp;
	pack_n(d, width, src, ld, n, kc, 1);
}

const kern_ukr kern_avx512_f32 = {
	.name = "avx512", .mr = MR, .nr = NR, .kalign = 1, .a_fmt = PACK_F32, .b_fmt = PACK_F32,
	.ukr = ukr, .direct_b = 1, .edges = 1, .nt = nt,
	.a_pack_t = pack_t_f32, .a_pack_n = pack_n_f32, .b_pack_t = pack_t_f32, .b_pack_n = pack_n_f32,
};
const kern_ukr kern_avx512_bf16 = {
	.name = "avx512", .mr = MR, .nr = NR, .kalign = 1, .a_fmt = PACK_F32_BF16,
	.b_fmt = PACK_F32_BF16, .ukr = ukr, .edges = 1, .nt = nt,
	.a_pack_t = pack_t_round, .a_pack_n = pack_n_round, .b_pack_t = pack_t_round,
	.b_pack_n = pack_n_round,
};
