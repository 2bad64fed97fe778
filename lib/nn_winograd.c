/* nn_winograd.c: 3x3 convolution (padding 1) by Winograd's minimal filtering
 * F(2x2,3x3) (Lavin and Gray, "Fast Algorithms for Convolutional Neural
 * Networks", 2016): each 2x2 output tile takes 16 multiplies per channel
 * pair instead of 36, done as 16 sgemms M[k] (Co, tiles) = U[k] (Co, Ci) x
 * V[k] (Ci, tiles) between the transformed weights U = G g G^T and the
 * transformed input tiles V = B^T d B; the output is A^T M A.
 *
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
 *   G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
 *   A^T = [1 1 1 0; 0 1 -1 -1]
 *
 * Both transforms are separable and done a row of tiles at a time with
 * contiguous loops. Threads split the batch as in nn_conv.c; nothing is
 * summed across threads, so the result does not depend on their number. */
#include <cblas.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"

#define WINO_TARGET_FLOATS (160 * 1024)   /* V and M of one group, ~640 KB */
#define MAXT 512                          /* widest row of tiles handled */

/* U (16, Co, Ci) from w (Co, Ci, 3, 3) */
static void wino_weights(float *U, const float *w, int Ci, int Co)
{
	for (int co = 0; co < Co; co++)
		for (int ci = 0; ci < Ci; ci++) {
			const float *g = w + ((size_t)co * Ci + ci) * 9;
			float t[4][3];
			for (int c = 0; c < 3; c++) {
				t[0][c] = g[c];
				t[1][c] = 0.5f * (g[c] + g[3 + c] + g[6 + c]);
				t[2][c] = 0.5f * (g[c] - g[3 + c] + g[6 + c]);
				t[3][c] = g[6 + c];
			}
			for (int r = 0; r < 4; r++) {
				float u[4] = { t[r][0], 0.5f * (t[r][0] + t[r][1] + t[r][2]),
					       0.5f * (t[r][0] - t[r][1] + t[r][2]), t[r][2] };
				for (int k = 0; k < 4; k++)
					U[((size_t)(r * 4 + k) * Co + co) * Ci + ci] = u[k];
			}
		}
}

/* 16 floats, one AVX-512 register with -march=native (GCC vector
 * extensions, unaligned, aliasing-safe); tiles are done 16 at a time. */
typedef float v16 __attribute__((vector_size(64), aligned(4), may_alias));
typedef int v16i __attribute__((vector_size(64)));
static const v16i EVEN = { 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30 };
static const v16i ODD = { 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31 };
static const v16i LO = { 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23 };
static const v16i HI = { 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31 };
#define LD(p) (*(const v16 *)(p))
#define ST(p, v) (*(v16 *)(p) = (v))
#define ROWPAD (2 * MAXT + 64)   /* an output row of tiles, rounded up, plus slack */

/* the padded copy of a plane used by wino_input: rows -1 .. 2*Th of the
 * image at pad rows 0 .. 2*Th+1, column x at x+1, zeros around */
static size_t pad_stride(int Tw)
{
	return (size_t)(32 * ((Tw + 15) / 16) + 48) / 16 * 16;
}

/* V[k][.][col0 + ty*Tw + tx] (k stride vs) from one plane src (H, W).
 * pad: a zeroed buffer of (2*Th+2) x pad_stride(Tw) floats; only the image
 * area is written, so its border stays zero. Stores run 16 tiles wide, past
 * the end of a row of tiles into the next one (rewritten later, in order)
 * or into the slack after each V[k]. */
static void wino_input(float *V, size_t vs, size_t col0, const float *src, int H, int W,
		       int Th, int Tw, float *pad)
{
	size_t ps = pad_stride(Tw);
	int chunks = (Tw + 15) / 16;

	for (int y = 0; y < H; y++)
		memcpy(pad + (size_t)(y + 1) * ps + 1, src + (size_t)y * W, W * sizeof(float));
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
				v16 e = __builtin_shuffle(a, b, EVEN), o = __builtin_shuffle(a, b, ODD);
				v16 e1 = __builtin_shuffle(a2, b2, EVEN), o1 = __builtin_shuffle(a2, b2, ODD);
				float *v0 = V + (size_t)(4 * k) * vs + base + 16 * c;
				ST(v0, e - e1);
				ST(v0 + vs, o + e1);
				ST(v0 + 2 * vs, e1 - o);
				ST(v0 + 3 * vs, o - o1);
			}
		}
	}
}

/* V (16, Ci, g*tiles) of samples n0 .. n0+g-1 of inp (Ci, N, H, W) */
static void wino_inputs(float *V, size_t vs, const float *inp, int Ci, int N, int n0, int g,
			int H, int W, float *pad)
{
	size_t HW = (size_t)H * W, P = (size_t)N * HW;
	int Th = (H + 1) / 2, Tw = (W + 1) / 2;
	size_t tiles = (size_t)Th * Tw, cols = (size_t)g * tiles;

	for (int ci = 0; ci < Ci; ci++)
		for (int j = 0; j < g; j++)
			wino_input(V + (size_t)ci * cols, vs, (size_t)j * tiles,
				   inp + ci * P + (size_t)(n0 + j) * HW, H, W, Th, Tw, pad);
}

/* one output plane dst (H, W) = A^T M A + bias, from M[k][.][col0 + tile]
 * (k stride ms; loads may run up to 16 floats past a row of tiles) */
static void wino_output(float *dst, const float *M, size_t ms, size_t col0, float bias,
			int H, int W, int Th, int Tw)
{
	int chunks = (Tw + 15) / 16;
	float row[2][ROWPAD];

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
			ST(&row[0][32 * c], __builtin_shuffle(y00, y01, LO));
			ST(&row[0][32 * c + 16], __builtin_shuffle(y00, y01, HI));
			ST(&row[1][32 * c], __builtin_shuffle(y10, y11, LO));
			ST(&row[1][32 * c + 16], __builtin_shuffle(y10, y11, HI));
		}
		for (int i = 0; i < 2 && 2 * ty + i < H; i++)
			memcpy(dst + (size_t)(2 * ty + i) * W, row[i], W * sizeof(float));
	}
}

/* zeroed_scratch: nn_scratch slot cleared, for the zero borders of pad */
static float *zeroed_scratch(int slot, size_t n)
{
	float *p = nn_scratch(slot, n);

	memset(p, 0, n * sizeof(float));
	return p;
}

int conv3x3_winograd_ok(int Ci, int Co, int H, int W)
{
	(void)Ci;
	(void)Co;
	return H >= 2 && W >= 2 && (W + 1) / 2 <= MAXT;
}

void conv3x3_winograd_forward(float *out, const float *inp, const float *w, const float *b,
			      int Ci, int Co, int N, int H, int W, int act)
{
	size_t HW = (size_t)H * W, P = (size_t)N * HW;
	int Th = (H + 1) / 2, Tw = (W + 1) / 2, T = nn_threads();
	size_t tiles = (size_t)Th * Tw;
	size_t per = 16 * (size_t)(Ci + Co) * tiles;
	int G = per >= WINO_TARGET_FLOATS ? 1 : (int)(WINO_TARGET_FLOATS / per);
	float *U = xmalloc_array((size_t)16 * Ci * Co, sizeof(float));

	if (!conv3x3_winograd_ok(Ci, Co, H, W))
		die("conv3x3_winograd_forward: %d x %d images not supported", H, W);
	wino_weights(U, w, Ci, Co);
	#pragma omp parallel num_threads(T)
	{
		int t = omp_get_thread_num();
		int n_lo = nn_share(N, t, T), n_hi = nn_share(N, t + 1, T);
		size_t cap = (size_t)G * tiles;
		size_t vs = (size_t)Ci * cap + 32, ms = (size_t)Co * cap + 32;
		float *V = nn_scratch(0, 16 * vs), *M = nn_scratch(1, 16 * ms);
		float *pad = zeroed_scratch(2, (size_t)(2 * Th + 2) * pad_stride(Tw));
		for (int n0 = n_lo; n0 < n_hi; n0 += G) {
			int g = n_hi - n0 < G ? n_hi - n0 : G;
			size_t cols = (size_t)g * tiles;
			wino_inputs(V, vs, inp, Ci, N, n0, g, H, W, pad);
			for (int k = 0; k < 16; k++)
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Co, cols, Ci,
					    1.0f, U + (size_t)k * Co * Ci, Ci, V + (size_t)k * vs,
					    cols, 0.0f, M + (size_t)k * ms, cols);
			for (int co = 0; co < Co; co++)
				for (int j = 0; j < g; j++) {
					float *o = out + co * P + (size_t)(n0 + j) * HW;
					wino_output(o, M + (size_t)co * cols, ms,
						    (size_t)j * tiles, b[co], H, W, Th, Tw);
					if (act >= 0)
						act_apply(o, o, HW, (act_kind)act);
				}
		}
	}
	free(U);
}

/* dM[k][.][col0 + tile] (k stride ms) = A dY A^T of each 2x2 tile of one
 * output-gradient plane dy (H, W); pad: a zeroed (2, pad_stride(Tw))
 * buffer for the two rows of a tile row (zero beyond W). */
static void wino_dout(float *dM, size_t ms, size_t col0, const float *dy, int H, int W,
		      int Th, int Tw, float *pad)
{
	size_t ps = pad_stride(Tw);
	int chunks = (Tw + 15) / 16;

	for (int ty = 0; ty < Th; ty++) {
		memcpy(pad, dy + (size_t)(2 * ty) * W, W * sizeof(float));
		if (2 * ty + 1 < H)
			memcpy(pad + ps, dy + (size_t)(2 * ty + 1) * W, W * sizeof(float));
		else
			memset(pad + ps, 0, W * sizeof(float));
		size_t base = col0 + (size_t)ty * Tw;
		for (int c = 0; c < chunks; c++) {
			size_t x = 32 * (size_t)c;
			v16 a0 = LD(pad + x), b0 = LD(pad + x + 16);
			v16 a1 = LD(pad + ps + x), b1 = LD(pad + ps + x + 16);
			/* columns 2tx (even) and 2tx+1 (odd) of the two rows */
			v16 e0 = __builtin_shuffle(a0, b0, EVEN), o0 = __builtin_shuffle(a0, b0, ODD);
			v16 e1 = __builtin_shuffle(a1, b1, EVEN), o1 = __builtin_shuffle(a1, b1, ODD);
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

/* dw (Co,Ci,3,3) += G^T dU G, dU (16, Co, Ci) */
static void wino_weights_grad(float *dw, const float *dU, int Ci, int Co)
{
	for (int co = 0; co < Co; co++)
		for (int ci = 0; ci < Ci; ci++) {
			float u[4][4], t[3][4];
			for (int k = 0; k < 16; k++)
				u[k / 4][k % 4] = dU[((size_t)k * Co + co) * Ci + ci];
			/* G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1] */
			for (int c = 0; c < 4; c++) {
				t[0][c] = u[0][c] + 0.5f * (u[1][c] + u[2][c]);
				t[1][c] = 0.5f * (u[1][c] - u[2][c]);
				t[2][c] = 0.5f * (u[1][c] + u[2][c]) + u[3][c];
			}
			float *g = dw + ((size_t)co * Ci + ci) * 9;
			for (int i = 0; i < 3; i++) {
				g[i * 3 + 0] += t[i][0] + 0.5f * (t[i][1] + t[i][2]);
				g[i * 3 + 1] += 0.5f * (t[i][1] - t[i][2]);
				g[i * 3 + 2] += 0.5f * (t[i][1] + t[i][2]) + t[i][3];
			}
		}
}

void conv3x3_winograd_weight_grad(float *dw, const float *dout, const float *inp,
				  int Ci, int Co, int N, int H, int W)
{
	size_t HW = (size_t)H * W, P = (size_t)N * HW;
	int Th = (H + 1) / 2, Tw = (W + 1) / 2, T = nn_threads();
	size_t tiles = (size_t)Th * Tw, nu = (size_t)16 * Co * Ci;
	size_t per = 16 * (size_t)(Ci + Co) * tiles;
	int G = per >= WINO_TARGET_FLOATS ? 1 : (int)(WINO_TARGET_FLOATS / per);
	float *part = xcalloc((size_t)T * nu, sizeof(float));

	if (!conv3x3_winograd_ok(Ci, Co, H, W))
		die("conv3x3_winograd_weight_grad: %d x %d images not supported", H, W);
	#pragma omp parallel num_threads(T)
	{
		int t = omp_get_thread_num();
		int n_lo = nn_share(N, t, T), n_hi = nn_share(N, t + 1, T);
		size_t cap = (size_t)G * tiles;
		size_t vs = (size_t)Ci * cap + 32, ms = (size_t)Co * cap + 32;
		float *V = nn_scratch(0, 16 * vs), *dM = nn_scratch(1, 16 * ms);
		float *pad = zeroed_scratch(2, (size_t)(2 * Th + 2) * pad_stride(Tw));
		float *dpad = zeroed_scratch(3, (size_t)2 * pad_stride(Tw));
		for (int n0 = n_lo; n0 < n_hi; n0 += G) {
			int g = n_hi - n0 < G ? n_hi - n0 : G;
			size_t cols = (size_t)g * tiles;
			wino_inputs(V, vs, inp, Ci, N, n0, g, H, W, pad);
			for (int co = 0; co < Co; co++)
				for (int j = 0; j < g; j++)
					wino_dout(dM + (size_t)co * cols, ms, (size_t)j * tiles,
						  dout + co * P + (size_t)(n0 + j) * HW, H, W, Th, Tw, dpad);
			// dU[k] (Co, Ci) += dM[k] (Co, cols) x V[k]^T (cols, Ci)
			for (int k = 0; k < 16; k++)
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Co, Ci, cols,
					    1.0f, dM + (size_t)k * ms, cols, V + (size_t)k * vs, cols,
					    1.0f, part + t * nu + (size_t)k * Co * Ci, Ci);
		}
	}
	/* the threads' sums in thread order, then back to the 3x3 weights */
	for (int t = 1; t < T; t++)
		for (size_t i = 0; i < nu; i++)
			part[i] += part[(size_t)t * nu + i];
	wino_weights_grad(dw, part, Ci, Co);
	free(part);
}
