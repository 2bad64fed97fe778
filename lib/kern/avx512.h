/* avx512.h: what the AVX-512 kernel files (avx512.c, avx512bf16.c,
 * amx.c) share; include only where AVX-512F is enabled. */
#ifndef SEGPIPE_KERN_AVX512_H
#define SEGPIPE_KERN_AVX512_H

#include <immintrin.h>

/* first: the mask of the first n of 16 lanes (n may be <= 0 or > 16) */
static inline __mmask16 first(int n)
{
	return n >= 16 ? 0xffff : n <= 0 ? 0 : (__mmask16)((1u << n) - 1);
}

/* half: the mask of half h (0 or 1) of the first n of 32 columns */
static inline __mmask16 half(int n, int h)
{
	return first(n - 16 * h);
}

/* The microkernels' C tile c[MR][W] (W = 1 or 2 vectors of 16 columns,
 * column masks m[W]): TILE_C_LOAD starts it from C (acc) or zero,
 * TILE_C_STORE writes its first mr rows; fixed loop bounds, unrolled, so
 * c stays in registers. Expect MR, acc, mr, m, C, ldc. */
#define TILE_C_LOAD(W)                                                                 \
	_Pragma("GCC unroll 8") for (int r = 0; r < MR; r++)                           \
		_Pragma("GCC unroll 2") for (int j = 0; j < W; j++)                    \
			c[r][j] = acc && r < mr ?                                      \
				_mm512_maskz_loadu_ps(m[j], C + r * ldc + 16 * j) :    \
				_mm512_setzero_ps()
#define TILE_C_STORE(W)                                                                \
	_Pragma("GCC unroll 8") for (int r = 0; r < MR; r++)                           \
		_Pragma("GCC unroll 2") for (int j = 0; j < W; j++)                    \
			if (r < mr)                                                    \
				_mm512_mask_storeu_ps(C + r * ldc + 16 * j, m[j], c[r][j])

/* NT_BLOCKS(ELEM, STEPS): the A B^T kernels' frame (C = beta C + A B^T,
 * A (M,K) and B (N,K) rows of ELEM): 4 x 4 entries at a time, each summed
 * in the 16 lanes of acc[r][c] by STEPS (a block that reads a[r], b[c] and
 * K), then reduced; rows and columns past M and N repeat the last one and
 * are not stored. Expects M, N, K, A, lda, B, ldb, beta, C, ldc. */
#define NT_BLOCKS(ELEM, ...)                                                          \
	for (int i = 0; i < M; i += 4)                                                 \
		for (int j = 0; j < N; j += 4) {                                       \
			int mi = M - i < 4 ? M - i : 4, nj = N - j < 4 ? N - j : 4;    \
			const ELEM *a[4], *b[4];                                       \
			__m512 acc[4][4];                                              \
			for (int r = 0; r < 4; r++) {                                  \
				a[r] = A + (long)(i + (r < mi ? r : 0)) * lda;         \
				b[r] = B + (long)(j + (r < nj ? r : 0)) * ldb;         \
				for (int c = 0; c < 4; c++)                            \
					acc[r][c] = _mm512_setzero_ps();               \
			}                                                              \
			__VA_ARGS__                                                    \
			for (int r = 0; r < mi; r++)                                   \
				for (int c = 0; c < nj; c++) {                         \
					float s = _mm512_reduce_add_ps(acc[r][c]);     \
					float *o = C + (long)(i + r) * ldc + j + c;    \
					*o = beta != 0.0f ? *o + s : s;                \
				}                                                      \
		}

/* tr16: a 16 x 16 transpose of 32-bit elements in registers, for the
 * packing: out[j] element i = in[i] element j */
static inline void tr16(const __m512i in[16], __m512i out[16])
{
	__m512i t[16], u[16];

	for (int i = 0; i < 16; i += 2) {     /* 32-bit pairs of rows */
		t[i] = _mm512_unpacklo_epi32(in[i], in[i + 1]);
		t[i + 1] = _mm512_unpackhi_epi32(in[i], in[i + 1]);
	}
	for (int i = 0; i < 16; i += 4) {     /* 64-bit: four rows per 128-bit lane */
		u[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);        /* columns 0 4 8 12 */
		u[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);    /* 1 5 9 13 */
		u[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);/* 2 6 10 14 */
		u[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);/* 3 7 11 15 */
	}
	for (int c = 0; c < 4; c++) {         /* 128-bit lanes from the four row groups */
		__m512i v0 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0x88);
		__m512i v1 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0x88);
		__m512i w0 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0xdd);
		__m512i w1 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0xdd);
		out[c] = _mm512_shuffle_i32x4(v0, v1, 0x88);
		out[c + 8] = _mm512_shuffle_i32x4(v0, v1, 0xdd);
		out[c + 4] = _mm512_shuffle_i32x4(w0, w1, 0x88);
		out[c + 12] = _mm512_shuffle_i32x4(w0, w1, 0xdd);
	}
}

#endif
