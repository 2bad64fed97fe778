/* vecops.h: the vector primitives of the layers (batch norm, activations,
 * the Winograd transforms), written once with GCC vector extensions and
 * compiled once per instruction set: vec_portable.c, vec_avx2.c and
 * vec_avx512.c each define KERN_VEC_NAME and include this file, with their
 * own flags (Makefile), giving one kern_vec table each (vec.h). Not a
 * header to include anywhere else. */
#include <math.h>
#include <string.h>

#include "nn.h"
#include "vec.h"

/* copy: n floats, inline (the planes' rows are short: a call to memcpy
 * per row costs more than the copy) */
#ifdef __AVX512F__
#include "avx512.h"
static inline void copy(float *restrict d, const float *restrict s, int n)
{
	int i = 0;

	for (; i + 16 <= n; i += 16)
		_mm512_storeu_ps(d + i, _mm512_loadu_ps(s + i));
	if (i < n) {
		__mmask16 m = (__mmask16)((1u << (n - i)) - 1);
		_mm512_mask_storeu_ps(d + i, m, _mm512_maskz_loadu_ps(m, s + i));
	}
}
#else
static inline void copy(float *restrict d, const float *restrict s, int n)
{
	for (int i = 0; i < n; i++)
		d[i] = s[i];
}
#endif

/* 16 floats: one AVX-512 register, two AVX2 ones, four SSE ones, as the
 * file that includes this one is compiled (GCC vector extensions;
 * unaligned and aliasing-safe). Sums run in float lanes over
 * blocks of VBLOCK floats, each block's total added in double: fast, and
 * the order is fixed, so the result does not depend on threads. */
typedef float v16 __attribute__((vector_size(64), aligned(4), may_alias));
typedef int v16i __attribute__((vector_size(64), aligned(4), may_alias));
#define VBLOCK 1024

static double lanes_total(v16 acc)
{
	double s = 0.0;

	for (int j = 0; j < 16; j++)
		s += acc[j];
	return s;
}

/* sum of x[0..n) */
static double sum_floats(const float *x, size_t n)
{
	double s = 0.0;

	for (size_t lo = 0; lo < n; lo += VBLOCK) {
		size_t hi = lo + VBLOCK < n ? lo + VBLOCK : n, i = lo;
		v16 acc = { 0 };
		for (; i + 16 <= hi; i += 16)
			acc += *(const v16 *)(x + i);
		s += lanes_total(acc);
		for (; i < hi; i++)
			s += x[i];
	}
	return s;
}

/* sum of (x - m)^2 */
static double sum_sq_dev(const float *x, size_t n, float m)
{
	double s = 0.0;

	for (size_t lo = 0; lo < n; lo += VBLOCK) {
		size_t hi = lo + VBLOCK < n ? lo + VBLOCK : n, i = lo;
		v16 acc = { 0 };
		for (; i + 16 <= hi; i += 16) {
			v16 d = *(const v16 *)(x + i) - m;
			acc += d * d;
		}
		s += lanes_total(acc);
		for (; i < hi; i++)
			s += (double)(x[i] - m) * (x[i] - m);
	}
	return s;
}

/* y = x * scale + shift */
static void affine(float *y, const float *x, size_t n, float scale, float shift)
{
	size_t i = 0;

	for (; i + 16 <= n; i += 16)
		*(v16 *)(y + i) = *(const v16 *)(x + i) * scale + shift;
	for (; i < n; i++)
		y[i] = x[i] * scale + shift;
}


static void vact(float *y, const float *x, size_t n, int a)
{
	size_t i = 0;

	switch (a) {
	case ACT_RELU:
		for (; i + 16 <= n; i += 16) {
			v16 v = *(const v16 *)(x + i);
			*(v16i *)(y + i) = (v16i)v & (v > 0.0f);
		}
		for (; i < n; i++)
			y[i] = x[i] > 0.0f ? x[i] : 0.0f;
		break;
	case ACT_LEAKY_RELU:
		for (; i + 16 <= n; i += 16) {
			v16 v = *(const v16 *)(x + i);
			v16i pos = v > 0.0f;
			*(v16i *)(y + i) = ((v16i)v & pos) | ((v16i)(v * LEAKY_SLOPE) & ~pos);
		}
		for (; i < n; i++)
			y[i] = x[i] > 0.0f ? x[i] : LEAKY_SLOPE * x[i];
		break;
	case ACT_TANH:
		for (; i < n; i++)
			y[i] = tanhf(x[i]);
		break;
	case ACT_SIGMOID:
		for (; i < n; i++)
			y[i] = 1.0f / (1.0f + expf(-x[i]));
		break;
	}
}

/* dx = dy * act'(.) written from the forward output y */
static void vact_grad(float *dx, const float *dy, const float *y, size_t n, int a)
{
	size_t i = 0;

	switch (a) {
	case ACT_RELU:
		for (; i + 16 <= n; i += 16) {
			v16 d = *(const v16 *)(dy + i);
			*(v16i *)(dx + i) = (v16i)d & (*(const v16 *)(y + i) > 0.0f);
		}
		for (; i < n; i++)
			dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
		break;
	case ACT_LEAKY_RELU:
		for (; i + 16 <= n; i += 16) {
			v16 d = *(const v16 *)(dy + i);
			v16i pos = *(const v16 *)(y + i) > 0.0f;
			*(v16i *)(dx + i) = ((v16i)d & pos) | ((v16i)(d * LEAKY_SLOPE) & ~pos);
		}
		for (; i < n; i++)
			dx[i] = y[i] > 0.0f ? dy[i] : LEAKY_SLOPE * dy[i];
		break;
	case ACT_TANH:
		for (; i < n; i++)
			dx[i] = dy[i] * (1.0f - y[i] * y[i]);
		break;
	case ACT_SIGMOID:
		for (; i < n; i++)
			dx[i] = dy[i] * y[i] * (1.0f - y[i]);
		break;
	}
}

/* the two sums of the batch-norm backward of one channel: of dy, and of
 * dy * xhat, xhat = (x - mean) * invstd */
static void bn_grad_sums(const float *dy, const float *x, size_t P, float mean, float invstd,
			 double *sum_dy, double *sum_dyx)
{
	double sdy = 0.0, sdyx = 0.0;

	for (size_t lo = 0; lo < P; lo += VBLOCK) {
		size_t hi = lo + VBLOCK < P ? lo + VBLOCK : P, i = lo;
		v16 a1 = { 0 }, a2 = { 0 };
		for (; i + 16 <= hi; i += 16) {
			v16 d = *(const v16 *)(dy + i);
			a1 += d;
			a2 += d * ((*(const v16 *)(x + i) - mean) * invstd);
		}
		sdy += lanes_total(a1);
		sdyx += lanes_total(a2);
		for (; i < hi; i++) {
			sdy += dy[i];
			sdyx += dy[i] * ((x[i] - mean) * invstd);
		}
	}
	*sum_dy = sdy;
	*sum_dyx = sdyx;
}

/* dx = k (dy - a - xhat b); returns the sum of dx, as sum_floats adds */
static double bn_grad_apply(float *dx, const float *dy, const float *x, size_t P, float mean,
			    float invstd, float k, float a, float b)
{
	double s = 0.0;

	for (size_t lo = 0; lo < P; lo += VBLOCK) {
		size_t hi = lo + VBLOCK < P ? lo + VBLOCK : P, i = lo;
		v16 acc = { 0 };
		for (; i + 16 <= hi; i += 16) {
			v16 xh = (*(const v16 *)(x + i) - mean) * invstd;
			v16 d = k * (*(const v16 *)(dy + i) - a - xh * b);
			*(v16 *)(dx + i) = d;
			acc += d;
		}
		s += lanes_total(acc);
		for (; i < hi; i++) {
			dx[i] = k * (dy[i] - a - (x[i] - mean) * invstd * b);
			s += dx[i];
		}
	}
	return s;
}

static const v16i EVEN = { 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30 };
static const v16i ODD = { 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31 };
static const v16i LO = { 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23 };
static const v16i HI = { 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31 };
#define LD(p) (*(const v16 *)(p))
#define ST(p, v) (*(v16 *)(p) = (v))
#define ROWPAD (2 * KERN_WINO_MAXT + 64)   /* an output row of tiles, rounded up, plus slack */

/* The transforms' lane moves: even(a, b), odd(a, b): the even (odd) lanes
 * of a then of b, as the 32 lanes of a, b; lo(x, y), hi(x, y): lanes 0..7
 * (8..15) of x and y interleaved. GCC's generic shuffles of 16 lanes turn
 * into lane-by-lane moves on AVX2, so that file spells them out. */
#if defined(__AVX2__) && !defined(__AVX512F__)
#include <immintrin.h>
typedef union { v16 v; __m256 h[2]; } v16h;

static inline __m256 even8(__m256 x, __m256 y)
{
	return _mm256_castpd_ps(_mm256_permute4x64_pd(
		_mm256_castps_pd(_mm256_shuffle_ps(x, y, _MM_SHUFFLE(2, 0, 2, 0))), _MM_SHUFFLE(3, 1, 2, 0)));
}

static inline __m256 odd8(__m256 x, __m256 y)
{
	return _mm256_castpd_ps(_mm256_permute4x64_pd(
		_mm256_castps_pd(_mm256_shuffle_ps(x, y, _MM_SHUFFLE(3, 1, 3, 1))), _MM_SHUFFLE(3, 1, 2, 0)));
}

static inline v16 even(v16 a, v16 b)
{
	v16h x = { a }, y = { b }, r;

	r.h[0] = even8(x.h[0], x.h[1]);
	r.h[1] = even8(y.h[0], y.h[1]);
	return r.v;
}

static inline v16 odd(v16 a, v16 b)
{
	v16h x = { a }, y = { b }, r;

	r.h[0] = odd8(x.h[0], x.h[1]);
	r.h[1] = odd8(y.h[0], y.h[1]);
	return r.v;
}

/* x's half k and y's half k interleaved: 16 lanes */
static inline v16 zip8(__m256 x, __m256 y)
{
	__m256 l = _mm256_unpacklo_ps(x, y), h = _mm256_unpackhi_ps(x, y);
	v16h r;

	r.h[0] = _mm256_permute2f128_ps(l, h, 0x20);
	r.h[1] = _mm256_permute2f128_ps(l, h, 0x31);
	return r.v;
}

static inline v16 lo(v16 a, v16 b)
{
	v16h x = { a }, y = { b };
	return zip8(x.h[0], y.h[0]);
}

static inline v16 hi(v16 a, v16 b)
{
	v16h x = { a }, y = { b };
	return zip8(x.h[1], y.h[1]);
}
#else
static inline __attribute__((always_inline)) v16 even(v16 a, v16 b) { return __builtin_shuffle(a, b, EVEN); }
static inline __attribute__((always_inline)) v16 odd(v16 a, v16 b) { return __builtin_shuffle(a, b, ODD); }
static inline __attribute__((always_inline)) v16 lo(v16 a, v16 b) { return __builtin_shuffle(a, b, LO); }
static inline __attribute__((always_inline)) v16 hi(v16 a, v16 b) { return __builtin_shuffle(a, b, HI); }
#endif

/* Planes of at most 8 tiles a row (images of 16 pixels or less) are done
 * two rows of tiles at once: lanes 0..7 hold row ty, lanes 8..15 row ty+1,
 * so the lanes are not mostly idle. pack2 puts lanes 0..Tw-1 and
 * 8..8+Tw-1 next to each other (the tiles of both rows, in order, as V and
 * M hold them); unpack2 the reverse. */
static inline void pack2(v16i *m, int Tw)
{
	for (int i = 0; i < 16; i++)
		(*m)[i] = i < Tw ? i : i < 2 * Tw ? 8 + i - Tw : 15;
}

static inline void unpack2(v16i *m, int Tw)
{
	for (int i = 0; i < 16; i++)
		(*m)[i] = i < Tw ? i : i >= 8 && i < 8 + Tw ? Tw + i - 8 : 0;
}

/* st2: v's two rows of tiles stored packed (2 Tw tiles, and junk up to 16
 * lanes); ld2: 16 lanes of tiles loaded unpacked. Without AVX-512 the two
 * halves go separately (the second store overwrites the first's junk). */
typedef float v8 __attribute__((vector_size(32), aligned(4), may_alias));
typedef union { v16 v; v8 h[2]; } v16p;

static inline void st2(float *p, v16 v, const v16i *pk, int Tw)
{
#ifdef __AVX512F__
	(void)Tw;
	ST(p, __builtin_shuffle(v, *pk));
#else
	v16p u = { v };
	(void)pk;
	*(v8 *)p = u.h[0];
	*(v8 *)(p + Tw) = u.h[1];
#endif
}

static inline __attribute__((always_inline)) v16 ld2(const float *p, const v16i *up, int Tw)
{
#ifdef __AVX512F__
	(void)Tw;
	return __builtin_shuffle(LD(p), *up);
#else
	v16p u;
	(void)up;
	u.h[0] = *(const v8 *)p;
	u.h[1] = *(const v8 *)(p + Tw);
	return u.v;
#endif
}

/* wino_input for Tw <= 8; the pad buffer has 2*Th+4 rows (the second row
 * of tiles of the last pair may be past the plane: zeros, stored into what
 * is rewritten later or into the slack, as the wide version's overrun) */
static void wino_input2(float *V, size_t vs, size_t col0, const float *src, int H, int W,
			int Th, int Tw, float *pad)
{
	size_t ps = kern_wino_pad_stride(Tw);
	v16i pk;

	pack2(&pk, Tw);

	for (int y = 0; y < H; y++)
		copy(pad + (size_t)(y + 1) * ps + 1, src + (size_t)y * W, W);
	for (int ty = 0; ty < Th; ty += 2) {
		const float *d0 = pad + (size_t)(2 * ty) * ps;
		const float *d[4] = { d0, d0 + ps, d0 + 2 * ps, d0 + 3 * ps };
		const float *e[4] = { d0 + 2 * ps, d0 + 3 * ps, d0 + 4 * ps, d0 + 5 * ps };
		v16 lo[4], hi[4], lo2[4], hi2[4];
		for (int r = 0; r < 4; r++) {
			lo[r] = LD(d[r]);
			hi[r] = LD(e[r]);
			lo2[r] = LD(d[r] + 2);
			hi2[r] = LD(e[r] + 2);
		}
		float *v0 = V + col0 + (size_t)ty * Tw;
		for (int k = 0; k < 4; k++) {
			v16 a, b, a2, b2;
			switch (k) {
			case 0: a = lo[0] - lo[2]; b = hi[0] - hi[2]; a2 = lo2[0] - lo2[2]; b2 = hi2[0] - hi2[2]; break;
			case 1: a = lo[1] + lo[2]; b = hi[1] + hi[2]; a2 = lo2[1] + lo2[2]; b2 = hi2[1] + hi2[2]; break;
			case 2: a = lo[2] - lo[1]; b = hi[2] - hi[1]; a2 = lo2[2] - lo2[1]; b2 = hi2[2] - hi2[1]; break;
			default: a = lo[1] - lo[3]; b = hi[1] - hi[3]; a2 = lo2[1] - lo2[3]; b2 = hi2[1] - hi2[3]; break;
			}
			/* lanes 0..7: row ty's tiles; 8..15: row ty+1's */
			v16 ev = even(a, b), od = odd(a, b);
			v16 e1 = even(a2, b2), o1 = odd(a2, b2);
			float *v = v0 + (size_t)(4 * k) * vs;
			st2(v, ev - e1, &pk, Tw);
			st2(v + vs, od + e1, &pk, Tw);
			st2(v + 2 * vs, e1 - od, &pk, Tw);
			st2(v + 3 * vs, od - o1, &pk, Tw);
		}
	}
}

/* wino_output for Tw <= 8 */
static void wino_output2(float *dst, const float *M, size_t ms, size_t col0, float bias,
			 int H, int W, int Th, int Tw)
{
	v16i up;
	float row[4][32];

	unpack2(&up, Tw);
	for (int ty = 0; ty < Th; ty += 2) {
		const float *m = M + col0 + (size_t)ty * Tw;
		v16 s0[4], s1[4];
		for (int r = 0; r < 4; r++) {
			const float *mr = m + (size_t)(4 * r) * ms;
			v16 m0 = ld2(mr, &up, Tw), m1 = ld2(mr + ms, &up, Tw);
			v16 m2 = ld2(mr + 2 * ms, &up, Tw);
			v16 m3 = ld2(mr + 3 * ms, &up, Tw);
			s0[r] = m0 + m1 + m2;
			s1[r] = m1 - m2 - m3;
		}
		v16 y00 = s0[0] + s0[1] + s0[2] + bias, y01 = s1[0] + s1[1] + s1[2] + bias;
		v16 y10 = s0[1] - s0[2] - s0[3] + bias, y11 = s1[1] - s1[2] - s1[3] + bias;
		/* LO: lanes 0..7 (row ty of tiles), HI: lanes 8..15 (row ty+1) */
		ST(&row[0][0], lo(y00, y01));
		ST(&row[1][0], lo(y10, y11));
		ST(&row[2][0], hi(y00, y01));
		ST(&row[3][0], hi(y10, y11));
		for (int i = 0; i < 4 && 2 * ty + i < H; i++)
			copy(dst + (size_t)(2 * ty + i) * W, row[i], W);
	}
}

/* wino_dout for Tw <= 8; pad: a zeroed (4, pad_stride(Tw)) buffer */
static void wino_dout2(float *dM, size_t ms, size_t col0, const float *dy, int H, int W,
		       int Th, int Tw, float *pad)
{
	size_t ps = kern_wino_pad_stride(Tw);
	v16i pk;

	pack2(&pk, Tw);

	for (int ty = 0; ty < Th; ty += 2) {
		for (int i = 0; i < 4; i++) {
			if (2 * ty + i < H)
				copy(pad + i * ps, dy + (size_t)(2 * ty + i) * W, W);
			else
				memset(pad + i * ps, 0, W * sizeof(float));
		}
		/* a: the tile row ty's two rows, b: row ty+1's */
		v16 a0 = LD(pad), a1 = LD(pad + ps), b0 = LD(pad + 2 * ps), b1 = LD(pad + 3 * ps);
		v16 e0 = even(a0, b0), o0 = odd(a0, b0);
		v16 e1 = even(a1, b1), o1 = odd(a1, b1);
		v16 re[4] = { e0, e0 + e1, e0 - e1, -e1 }, ro[4] = { o0, o0 + o1, o0 - o1, -o1 };
		float *m0 = dM + col0 + (size_t)ty * Tw;
		for (int r = 0; r < 4; r++) {
			float *m = m0 + (size_t)(4 * r) * ms;
			st2(m, re[r], &pk, Tw);
			st2(m + ms, re[r] + ro[r], &pk, Tw);
			st2(m + 2 * ms, re[r] - ro[r], &pk, Tw);
			st2(m + 3 * ms, -ro[r], &pk, Tw);
		}
	}
}

/* V[k][.][col0 + ty*Tw + tx] (k stride vs) from one plane src (H, W).
 * pad: a zeroed buffer of (2*Th+2) x pad_stride(Tw) floats; only the image
 * area is written, so its border stays zero. Stores run 16 tiles wide, past
 * the end of a row of tiles into the next one (rewritten later, in order)
 * or into the slack after each V[k]. */
static void wino_input(float *V, size_t vs, size_t col0, const float *src, int H, int W,
		       int Th, int Tw, float *pad)
{
	size_t ps = kern_wino_pad_stride(Tw);
	int chunks = (Tw + 15) / 16;

	if (Tw <= 8) {
		wino_input2(V, vs, col0, src, H, W, Th, Tw, pad);
		return;
	}
	for (int y = 0; y < H; y++)
		copy(pad + (size_t)(y + 1) * ps + 1, src + (size_t)y * W, W);
	for (int ty = 0; ty < Th; ty++) {
		const float *d0 = pad + (size_t)(2 * ty) * ps, *d1 = d0 + ps, *d2 = d1 + ps, *d3 = d2 + ps;
		size_t base = col0 + (size_t)ty * Tw;
		for (int c = 0; c < chunks; c++) {
			/* columns 32c.. (lo), 32c+16.. (hi), and both shifted by 2 */
			size_t x = 32 * (size_t)c;
			v16 lo[4] = { LD(d0 + x), LD(d1 + x), LD(d2 + x), LD(d3 + x) };
			v16 hi[4] = { LD(d0 + x + 16), LD(d1 + x + 16), LD(d2 + x + 16), LD(d3 + x + 16) };
			v16 lo2[4] = { LD(d0 + x + 2), LD(d1 + x + 2), LD(d2 + x + 2), LD(d3 + x + 2) };
			v16 hi2[4] = { LD(d0 + x + 18), LD(d1 + x + 18), LD(d2 + x + 18), LD(d3 + x + 18) };
			for (int k = 0; k < 4; k++) {
				/* B^T down the columns ... */
				v16 a, b, a2, b2;
				switch (k) {
				case 0: a = lo[0] - lo[2]; b = hi[0] - hi[2]; a2 = lo2[0] - lo2[2]; b2 = hi2[0] - hi2[2]; break;
				case 1: a = lo[1] + lo[2]; b = hi[1] + hi[2]; a2 = lo2[1] + lo2[2]; b2 = hi2[1] + hi2[2]; break;
				case 2: a = lo[2] - lo[1]; b = hi[2] - hi[1]; a2 = lo2[2] - lo2[1]; b2 = hi2[2] - hi2[1]; break;
				default: a = lo[1] - lo[3]; b = hi[1] - hi[3]; a2 = lo2[1] - lo2[3]; b2 = hi2[1] - hi2[3]; break;
				}
				/* ... and B along the rows: tile tx spans columns 2tx .. 2tx+3 */
				v16 e = even(a, b), o = odd(a, b);
				v16 e1 = even(a2, b2), o1 = odd(a2, b2);
				float *v0 = V + (size_t)(4 * k) * vs + base + 16 * c;
				ST(v0, e - e1);
				ST(v0 + vs, o + e1);
				ST(v0 + 2 * vs, e1 - o);
				ST(v0 + 3 * vs, o - o1);
			}
		}
	}
}

/* one output plane dst (H, W) = A^T M A + bias, from M[k][.][col0 + tile]
 * (k stride ms; loads may run up to 16 floats past a row of tiles) */
static void wino_output(float *dst, const float *M, size_t ms, size_t col0, float bias,
			int H, int W, int Th, int Tw)
{
	int chunks = (Tw + 15) / 16;
	float row[2][ROWPAD];

	if (Tw <= 8) {
		wino_output2(dst, M, ms, col0, bias, H, W, Th, Tw);
		return;
	}

	for (int ty = 0; ty < Th; ty++) {
		const float *m = M + col0 + (size_t)ty * Tw;
		for (int c = 0; c < chunks; c++) {
			v16 s0[4], s1[4];
			for (int r = 0; r < 4; r++) {
				const float *mr = m + (size_t)(4 * r) * ms + 16 * c;
				v16 m0 = LD(mr), m1 = LD(mr + ms), m2 = LD(mr + 2 * ms), m3 = LD(mr + 3 * ms);
				s0[r] = m0 + m1 + m2;
				s1[r] = m1 - m2 - m3;
			}
			v16 y00 = s0[0] + s0[1] + s0[2] + bias, y01 = s1[0] + s1[1] + s1[2] + bias;
			v16 y10 = s0[1] - s0[2] - s0[3] + bias, y11 = s1[1] - s1[2] - s1[3] + bias;
			ST(&row[0][32 * c], lo(y00, y01));
			ST(&row[0][32 * c + 16], hi(y00, y01));
			ST(&row[1][32 * c], lo(y10, y11));
			ST(&row[1][32 * c + 16], hi(y10, y11));
		}
		for (int i = 0; i < 2 && 2 * ty + i < H; i++)
			copy(dst + (size_t)(2 * ty + i) * W, row[i], W);
	}
}

/* dM[k][.][col0 + tile] (k stride ms) = A dY A^T of each 2x2 tile of one
 * output-gradient plane dy (H, W); pad: a zeroed (2, pad_stride(Tw))
 * buffer for the two rows of a tile row (zero beyond W). */
static void wino_dout(float *dM, size_t ms, size_t col0, const float *dy, int H, int W,
		      int Th, int Tw, float *pad)
{
	size_t ps = kern_wino_pad_stride(Tw);
	int chunks = (Tw + 15) / 16;

	if (Tw <= 8) {
		wino_dout2(dM, ms, col0, dy, H, W, Th, Tw, pad);
		return;
	}
	for (int ty = 0; ty < Th; ty++) {
		copy(pad, dy + (size_t)(2 * ty) * W, W);
		if (2 * ty + 1 < H)
			copy(pad + ps, dy + (size_t)(2 * ty + 1) * W, W);
		else
			memset(pad + ps, 0, W * sizeof(float));
		size_t base = col0 + (size_t)ty * Tw;
		for (int c = 0; c < chunks; c++) {
			size_t x = 32 * (size_t)c;
			v16 a0 = LD(pad + x), b0 = LD(pad + x + 16);
			v16 a1 = LD(pad + ps + x), b1 = LD(pad + ps + x + 16);
			/* columns 2tx (even) and 2tx+1 (odd) of the two rows */
			v16 e0 = even(a0, b0), o0 = odd(a0, b0);
			v16 e1 = even(a1, b1), o1 = odd(a1, b1);
			/* A = [1 0; 1 1; 1 -1; 0 -1]: rows, then columns */
			v16 re[4] = { e0, e0 + e1, e0 - e1, -e1 }, ro[4] = { o0, o0 + o1, o0 - o1, -o1 };
			for (int r = 0; r < 4; r++) {
				float *m = dM + (size_t)(4 * r) * ms + base + 16 * c;
				ST(m, re[r]);
				ST(m + ms, re[r] + ro[r]);
				ST(m + 2 * ms, re[r] - ro[r]);
				ST(m + 3 * ms, -ro[r]);
			}
		}
	}
}


#ifdef __AVX512F__
typedef unsigned v16u __attribute__((vector_size(64), aligned(4), may_alias));

/* bf16 pairs of two float vectors, rounded to nearest even (finite values;
 * the transform of finite inputs): the even channel in the low half */
static inline __attribute__((always_inline)) v16u bf16_pairs(v16 even, v16 odd)
{
	v16u a = (v16u)even, b = (v16u)odd;

	a += 0x7fffu + ((a >> 16) & 1u);
	b += 0x7fffu + ((b >> 16) & 1u);
	return (b & 0xffff0000u) | (a >> 16);
}

/* n (<= 16) pairs for columns c.. of pair row kp, into the panels (a
 * run may cross into the next panel) */
static inline __attribute__((always_inline)) void store_pairs(uint16_t *Vk, int nr, int rows, int kp, size_t c, v16u v, int n)
{
	size_t p = c / (size_t)nr;
	int off = (int)(c % (size_t)nr), n1 = nr - off;
	uint32_t *d = (uint32_t *)Vk + (p * rows + kp) * (size_t)nr + off;
	__m512i x = (__m512i)v;

	if (n <= n1) {
		if (n == 16)
			_mm512_storeu_si512(d, x);
		else
			_mm512_mask_storeu_epi32(d, (__mmask16)((1u << n) - 1), x);
		return;
	}
	/* lanes n1..n-1 to the start of the next panel's row */
	uint32_t *d2 = (uint32_t *)Vk + ((p + 1) * rows + kp) * (size_t)nr;
	_mm512_mask_storeu_epi32(d, (__mmask16)((1u << n1) - 1), x);
	_mm512_mask_storeu_epi32(d2 - n1, (__mmask16)(((1u << n) - 1) & ~((1u << n1) - 1)), x);
}

/* the four rows' B^T combination k of one plane's tile row: a, b (lanes'
 * columns 0..15, 16..31, or two rows of tiles), a2, b2 shifted by 2 */
/* where a vector of 16 columns from x0 of a plane W wide falls inside it */
static inline __mmask16 cols_in(int x0, int W)
{
	int lo = x0 < 0 ? -x0 : 0, hi = W - x0 < 16 ? W - x0 : 16;

	return hi <= lo ? 0 : (__mmask16)(((1u << hi) - 1) & ~((1u << lo) - 1));
}

/* the B^T combination k (of rows p and q of the four) of one plane's tile
 * row: a, b the two halves of the lanes' columns, a2, b2 shifted by 2.
 * Rows r0[] (first half, columns from cx) and r1[] (second half, from
 * cx2), each a plane row or a row of zeros; m: the masks of cx, cx + 2,
 * cx2, cx2 + 2 (columns outside the plane read as zero). */
static inline __attribute__((always_inline)) void
bt_rows(int k, const float *const r0[4], const float *const r1[4], int cx, int cx2,
	const __mmask16 m[4], v16 *a, v16 *b, v16 *a2, v16 *b2)
{
	/* B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1] */
	int p = k == 2 ? 2 : k == 0 ? 0 : 1, q = k == 0 ? 2 : k == 1 ? 2 : k == 2 ? 1 : 3;
#define LDM(row, x, mk) ((v16)_mm512_maskz_loadu_ps(mk, (row) + (x)))
	v16 ap = LDM(r0[p], cx, m[0]), aq = LDM(r0[q], cx, m[0]);
	v16 bp = LDM(r1[p], cx2, m[2]), bq = LDM(r1[q], cx2, m[2]);
	v16 ap2 = LDM(r0[p], cx + 2, m[1]), aq2 = LDM(r0[q], cx + 2, m[1]);
	v16 bp2 = LDM(r1[p], cx2 + 2, m[3]), bq2 = LDM(r1[q], cx2 + 2, m[3]);
#undef LDM
	if (k == 1) {
		*a = ap + aq; *b = bp + bq; *a2 = ap2 + aq2; *b2 = bp2 + bq2;
	} else {
		*a = ap - aq; *b = bp - bq; *a2 = ap2 - aq2; *b2 = bp2 - bq2;
	}
}

/* a row of zeros for the rows above and below a plane (read from offset
 * -1 with that lane masked, hence the one before) */
static const float zero_row[2 * KERN_WINO_MAXT + 64];

/* the four column outputs of combination k of a tile row, lanes = tiles
 * (pk: the two-rows compaction, or NULL) */
static inline __attribute__((always_inline)) void bt_cols(v16 a, v16 b, v16 a2, v16 b2, const v16i *pk, v16 out[4])
{
	v16 e = even(a, b), o = odd(a, b);
	v16 e1 = even(a2, b2), o1 = odd(a2, b2);

	out[0] = e - e1;
	out[1] = o + e1;
	out[2] = e1 - o;
	out[3] = o - o1;
	if (pk)
		for (int j = 0; j < 4; j++)
			out[j] = __builtin_shuffle(out[j], *pk);
}

static inline __attribute__((always_inline)) void
wino_pairs_body(uint16_t *Vp, size_t ks, int nr, int rows, int kp, size_t col0, const float *src0,
		const float *src1, int H, int W, int Th, int Tw, int two)
{
	int wide = Tw > 8, chunks = wide ? (Tw + 15) / 16 : 1;
	v16i pk;

	pack2(&pk, Tw);
	for (int ty = 0; ty < Th; ty += wide ? 1 : 2) {
		/* tile row ty reads image rows 2ty-1 .. 2ty+2, columns 2tx-1 .. 2tx+2;
		 * the second half of the lanes: columns 16.. on (wide), or row ty+1 */
		int y0 = 2 * ty - 1, y1 = wide ? y0 : y0 + 2;
		int n = wide ? 0 : (ty + 1 < Th ? 2 * Tw : Tw);
		const float *a0[4], *a1[4], *b0[4], *b1[4];
		for (int r = 0; r < 4; r++) {
			int ya = y0 + r, yb = y1 + r;
			a0[r] = ya >= 0 && ya < H ? src0 + (long)ya * W : zero_row + 1;
			a1[r] = yb >= 0 && yb < H ? src0 + (long)yb * W : zero_row + 1;
			if (two) {
				b0[r] = ya >= 0 && ya < H ? src1 + (long)ya * W : zero_row + 1;
				b1[r] = yb >= 0 && yb < H ? src1 + (long)yb * W : zero_row + 1;
			}
		}
		for (int c = 0; c < chunks; c++) {
			int cx = 32 * c - 1, cx2 = wide ? cx + 16 : cx;
			size_t col = col0 + (size_t)ty * Tw + 16 * (size_t)c;
			__mmask16 m[4] = { cols_in(cx, W), cols_in(cx + 2, W), cols_in(cx2, W),
					   cols_in(cx2 + 2, W) };
			if (wide)
				n = Tw - 16 * c < 16 ? Tw - 16 * c : 16;
			_Pragma("GCC unroll 4") for (int k = 0; k < 4; k++) {
				v16 a, b, a2, b2, o0[4], o1[4] = { 0 };
				bt_rows(k, a0, a1, cx, cx2, m, &a, &b, &a2, &b2);
				bt_cols(a, b, a2, b2, wide ? NULL : &pk, o0);
				if (two) {
					bt_rows(k, b0, b1, cx, cx2, m, &a, &b, &a2, &b2);
					bt_cols(a, b, a2, b2, wide ? NULL : &pk, o1);
				}
				for (int j = 0; j < 4; j++)
					store_pairs(Vp + (size_t)(4 * k + j) * ks, nr, rows, kp, col,
						    bf16_pairs(o0[j], o1[j]), n);
			}
		}
	}
}

static void wino_input_pairs(uint16_t *Vp, size_t ks, int nr, int rows, int kp, size_t col0,
			     const float *src0, const float *src1, int H, int W, int Th, int Tw)
{
	if (src1)
		wino_pairs_body(Vp, ks, nr, rows, kp, col0, src0, src1, H, W, Th, Tw, 1);
	else
		wino_pairs_body(Vp, ks, nr, rows, kp, col0, src0, NULL, H, W, Th, Tw, 0);
}
#define WINO_INPUT_PAIRS wino_input_pairs
#include "wino4ops.h"
#define W4_OPS w4_gather, w4_input, w4_input_pairs, w4_output
#else
#define WINO_INPUT_PAIRS NULL
#define W4_OPS NULL, NULL, NULL, NULL
#endif


/* ---- 2x2 max pooling of a plane (vec.h) ---- */
#ifdef __AVX512F__
/* the even and odd elements of 2n floats at p (n <= 16) */
static inline void evens_odds(const float *p, int n, __m512 *ev, __m512 *od)
{
	static const int ie[16] = { 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30 };
	static const int io[16] = { 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31 };
	__m512 lo = _mm512_maskz_loadu_ps(first(2 * n), p);
	__m512 hi = _mm512_maskz_loadu_ps(first(2 * n - 16), p + 16);

	*ev = _mm512_permutex2var_ps(lo, _mm512_loadu_si512(ie), hi);
	*od = _mm512_permutex2var_ps(lo, _mm512_loadu_si512(io), hi);
}

/* d += the 2n floats interleaving ev and od (n <= 16) */
static inline void add_interleaved(float *d, int n, __m512 ev, __m512 od)
{
	static const int il[16] = { 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23 };
	static const int ih[16] = { 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31 };
	__mmask16 ml = first(2 * n), mh = first(2 * n - 16);
	__m512 lo = _mm512_permutex2var_ps(ev, _mm512_loadu_si512(il), od);
	__m512 hi = _mm512_permutex2var_ps(ev, _mm512_loadu_si512(ih), od);

	_mm512_mask_storeu_ps(d, ml, _mm512_add_ps(_mm512_maskz_loadu_ps(ml, d), lo));
	if (mh)
		_mm512_mask_storeu_ps(d + 16, mh, _mm512_add_ps(_mm512_maskz_loadu_ps(mh, d + 16), hi));
}

static void pool2(float *out, uint8_t *am, const float *in, int H, int W)
{
	int Ho = H / 2, Wo = W / 2;

	for (int y = 0; y < Ho; y++) {
		const float *r0 = in + (long)2 * y * W, *r1 = r0 + W;
		for (int x = 0; x < Wo; x += 16) {
			int n = Wo - x < 16 ? Wo - x : 16;
			__mmask16 mn = first(n);
			__m512 a, b, c, d;
			evens_odds(r0 + 2 * x, n, &a, &b);
			evens_odds(r1 + 2 * x, n, &c, &d);
			/* strictly greater replaces: the first of equals wins, a NaN never */
			__mmask16 m = _mm512_cmp_ps_mask(b, a, _CMP_GT_OQ);
			__m512 best = _mm512_mask_mov_ps(a, m, b);
			__m512i k = _mm512_maskz_set1_epi32(m, 1);
			m = _mm512_cmp_ps_mask(c, best, _CMP_GT_OQ);
			best = _mm512_mask_mov_ps(best, m, c);
			k = _mm512_mask_set1_epi32(k, m, 2);
			m = _mm512_cmp_ps_mask(d, best, _CMP_GT_OQ);
			best = _mm512_mask_mov_ps(best, m, d);
			k = _mm512_mask_set1_epi32(k, m, 3);
			_mm512_mask_storeu_ps(out + (long)y * Wo + x, mn, best);
			_mm_mask_storeu_epi8(am + (long)y * Wo + x, mn, _mm512_cvtepi32_epi8(k));
		}
	}
}

static void pool2_back(float *din, const float *d, const uint8_t *am, int H, int W)
{
	int Ho = H / 2, Wo = W / 2;
	__m512 zero = _mm512_setzero_ps();

	for (int y = 0; y < Ho; y++) {
		float *r0 = din + (long)2 * y * W, *r1 = r0 + W;
		for (int x = 0; x < Wo; x += 16) {
			int n = Wo - x < 16 ? Wo - x : 16;
			__mmask16 mn = first(n);
			__m512 g = _mm512_maskz_loadu_ps(mn, d + (long)y * Wo + x);
			__m512i k = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mn, am + (long)y * Wo + x));
			__m512 g0 = _mm512_mask_mov_ps(zero, _mm512_cmpeq_epi32_mask(k, _mm512_set1_epi32(0)), g);
			__m512 g1 = _mm512_mask_mov_ps(zero, _mm512_cmpeq_epi32_mask(k, _mm512_set1_epi32(1)), g);
			__m512 g2 = _mm512_mask_mov_ps(zero, _mm512_cmpeq_epi32_mask(k, _mm512_set1_epi32(2)), g);
			__m512 g3 = _mm512_mask_mov_ps(zero, _mm512_cmpeq_epi32_mask(k, _mm512_set1_epi32(3)), g);
			add_interleaved(r0 + 2 * x, n, g0, g1);
			add_interleaved(r1 + 2 * x, n, g2, g3);
		}
	}
}
#else
static void pool2(float *out, uint8_t *am, const float *in, int H, int W)
{
	int Ho = H / 2, Wo = W / 2;

	for (int y = 0; y < Ho; y++) {
		const float *r0 = in + (long)2 * y * W, *r1 = r0 + W;
		for (int x = 0; x < Wo; x++) {
			float best = r0[2 * x], v;
			int k = 0;
			/* strictly greater replaces: the first of equals wins */
			v = r0[2 * x + 1]; k = v > best ? 1 : k; best = v > best ? v : best;
			v = r1[2 * x];     k = v > best ? 2 : k; best = v > best ? v : best;
			v = r1[2 * x + 1]; k = v > best ? 3 : k; best = v > best ? v : best;
			out[(long)y * Wo + x] = best;
			am[(long)y * Wo + x] = (uint8_t)k;
		}
	}
}

static void pool2_back(float *din, const float *d, const uint8_t *am, int H, int W)
{
	int Ho = H / 2, Wo = W / 2;

	for (int y = 0; y < Ho; y++)
		for (int x = 0; x < Wo; x++) {
			int k = am[(long)y * Wo + x];
			din[(long)(2 * y + (k >> 1)) * W + 2 * x + (k & 1)] += d[(long)y * Wo + x];
		}
}
#endif


/* ---- even and odd columns (vec.h merge2, split2) ---- */
#ifdef __AVX512F__
static void merge2(float *y, const float *a, const float *b, int n, float c)
{
	static const int il[16] = { 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23 };
	static const int ih[16] = { 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31 };
	__m512i jl = _mm512_loadu_si512(il), jh = _mm512_loadu_si512(ih);
	__m512 vc = _mm512_set1_ps(c);

	for (int i = 0; i < n; i += 16) {
		int k = n - i < 16 ? n - i : 16, m = 2 * k;
		__mmask16 mk = first(k);
		__m512 va = _mm512_add_ps(_mm512_maskz_loadu_ps(mk, a + i), vc);
		__m512 vb = _mm512_add_ps(_mm512_maskz_loadu_ps(mk, b + i), vc);
		_mm512_mask_storeu_ps(y + 2 * i, first(m), _mm512_permutex2var_ps(va, jl, vb));
		if (m > 16)
			_mm512_mask_storeu_ps(y + 2 * i + 16, first(m - 16),
					      _mm512_permutex2var_ps(va, jh, vb));
	}
}

static void split2(float *a, float *b, const float *y, int n)
{
	for (int i = 0; i < n; i += 16) {
		int k = n - i < 16 ? n - i : 16;
		__m512 ev, od;
		evens_odds(y + 2 * i, k, &ev, &od);
		_mm512_mask_storeu_ps(a + i, first(k), ev);
		_mm512_mask_storeu_ps(b + i, first(k), od);
	}
}
#else
static void merge2(float *y, const float *a, const float *b, int n, float c)
{
	for (int i = 0; i < n; i++) {
		y[2 * i] = a[i] + c;
		y[2 * i + 1] = b[i] + c;
	}
}

static void split2(float *a, float *b, const float *y, int n)
{
	for (int i = 0; i < n; i++) {
		a[i] = y[2 * i];
		b[i] = y[2 * i + 1];
	}
}
#endif

const kern_vec KERN_VEC_NAME = {
	KERN_VEC_LABEL, sum_floats, sum_sq_dev, affine, vact, vact_grad, bn_grad_sums,
	bn_grad_apply, wino_input, wino_output, wino_dout, WINO_INPUT_PAIRS, pool2, pool2_back,
	merge2, split2, W4_OPS,
};
