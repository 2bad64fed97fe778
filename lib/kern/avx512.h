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
