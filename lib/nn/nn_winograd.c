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
#include <omp.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "kern.h"
#include "nn.h"
#include "vec.h"

#define WINO_TARGET_FLOATS (160 * 1024)   /* V and M of one group, ~640 KB */

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

/* V (16, Ci, g*tiles) of samples n0 .. n0+g-1 of inp (Ci, N, H, W) */
static void wino_inputs(float *V, size_t vs, const float *inp, int Ci, int N, int n0, int g,
			int H, int W, float *pad)
{
	size_t HW = (size_t)H * W, P = (size_t)N * HW;
	int Th = (H + 1) / 2, Tw = (W + 1) / 2;
	size_t tiles = (size_t)Th * Tw, cols = (size_t)g * tiles;

	for (int ci = 0; ci < Ci; ci++)
		for (int j = 0; j < g; j++)
			kvec()->wino_input(V + (size_t)ci * cols, vs, (size_t)j * tiles,
				   inp + ci * P + (size_t)(n0 + j) * HW, H, W, Th, Tw, pad);
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
	return H >= 2 && W >= 2 && (W + 1) / 2 <= KERN_WINO_MAXT;
}

/* ---- F(4x4,3x3): 36 products per 4x4 output tile and channel pair
 * instead of 144 (64 for F(2x2,3x3)), 16 images in the vector lanes
 * (wino4ops.h):
 *   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0;
 *          0 2 -1 -2 1 0; 0 4 0 -5 0 1]
 *   G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6;
 *          1/24 -1/12 1/6; 0 0 1]
 *   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
 * (Lavin and Gray's F(4x4,3x3), points 0, 1, -1, 2, -2). Its transforms
 * magnify rounding more than F(2x2,3x3)'s: in fp32 it agrees with im2col
 * to 1e-5 - 4e-5 relative, with bf16 products to about 1.5% rms of the output
 * (F(2x2,3x3): 0.3%); tests/unit/test_layers.c states the bounds. */
static int wino_force;   /* 2 or 4: that tile; 0: the rule */

void conv3x3_winograd_force(int m)
{
	wino_force = m;
}

int conv3x3_winograd_tile(int H, int W)
{
	static int env = -1;

	if (env < 0) {
		const char *e = getenv("SEGPIPE_WINOGRAD");
		env = e && *e ? atoi(e) : 0;
		if (env != 0 && env != 2 && env != 4)
			die("SEGPIPE_WINOGRAD=%s: 2 or 4 (the output tile of Winograd)", e);
	}
	int m = wino_force ? wino_force : env;
	if (!kvec()->w4_gather)
		return 2;
	if (m)
		return m;
	/* not in bf16 unless asked: there a default U-Net's probabilities
	 * moved up to 0.107 from the float64 reference (bench/compare_torch.py,
	 * 500 test images; F(2x2,3x3): 0.015, the check's bound 0.05), though
	 * the trained models kept their quality (bench/precision_check.sh) */
	if (kern_get_precision() == KERN_BF16)
		return 2;
	/* F(4x4) where it does at least a quarter fewer products */
	size_t t4 = 36 * (size_t)((H + 3) / 4) * ((W + 3) / 4);
	size_t t2 = 16 * (size_t)((H + 1) / 2) * ((W + 1) / 2);
	return 4 * t4 <= 3 * t2 ? 4 : 2;
}

/* U (36, Co, Ci) = G g G^T of w (Co, Ci, 3, 3); the out channels split
 * among the threads, each row of U a loop over ci (vectorized) */
static void wino4_weights(float *U, const float *w, int Ci, int Co)
{
	static const float G[6][3] = { { 0.25f, 0, 0 },
				       { -1.0f / 6, -1.0f / 6, -1.0f / 6 },
				       { -1.0f / 6, 1.0f / 6, -1.0f / 6 },
				       { 1.0f / 24, 1.0f / 12, 1.0f / 6 },
				       { 1.0f / 24, -1.0f / 12, 1.0f / 6 },
				       { 0, 0, 1 } };
	int T = nn_threads();

	#pragma omp parallel num_threads(T)
	{
		int t = omp_get_thread_num();
		float *g = nn_scratch(0, (size_t)27 * Ci), *tt = g + (size_t)9 * Ci;
		for (int co = nn_share(Co, t, T); co < nn_share(Co, t + 1, T); co++) {
			/* g (9, Ci): the taps of co; tt (6 x 3, Ci) = G g */
			for (int ci = 0; ci < Ci; ci++)
				for (int k = 0; k < 9; k++)
					g[(size_t)k * Ci + ci] = w[((size_t)co * Ci + ci) * 9 + k];
			for (int i = 0; i < 6; i++)
				for (int c = 0; c < 3; c++) {
					float *d = tt + (size_t)(3 * i + c) * Ci;
					const float *g0 = g + (size_t)c * Ci, *g1 = g0 + 3 * (size_t)Ci,
						    *g2 = g1 + 3 * (size_t)Ci;
					for (int ci = 0; ci < Ci; ci++)
						d[ci] = G[i][0] * g0[ci] + G[i][1] * g1[ci] + G[i][2] * g2[ci];
				}
			for (int i = 0; i < 6; i++)
				for (int j = 0; j < 6; j++) {
					float *u = U + ((size_t)(6 * i + j) * Co + co) * Ci;
					const float *t0 = tt + (size_t)(3 * i) * Ci, *t1 = t0 + Ci, *t2 = t1 + Ci;
					for (int ci = 0; ci < Ci; ci++)
						u[ci] = t0[ci] * G[j][0] + t1[ci] * G[j][1] + t2[ci] * G[j][2];
				}
		}
	}
}

/* conv3x3_winograd_forward by F(4x4,3x3): each thread its share of the
 * batch, 16 images (a block) at a time */
static void wino4_forward(float *out, const float *inp, const float *w, const float *b,
			  int Ci, int Co, int N, int H, int W, int act)
{
	size_t HW = (size_t)H * W, P = (size_t)N * HW;
	int Th = (H + 3) / 4, Tw = (W + 3) / 4, T = nn_threads();
	size_t tiles = (size_t)Th * Tw, cols = 16 * tiles;
	size_t bs = (size_t)(4 * Th + 2) * (4 * Tw + 2) * 16;
	const kern_vec *kv = kvec();
	float *U = xmalloc_array((size_t)36 * Ci * Co, sizeof(float));

	wino4_weights(U, w, Ci, Co);
	kgemm_a *Up[36];
	for (int k = 0; k < 36; k++)
		Up[k] = kgemm_pack_a(0, Co, Ci, U + (size_t)k * Co * Ci, Ci);
	int nr, rows, pairs = kgemm_b_panels(Ci, &nr, &rows);
	#pragma omp parallel num_threads(T)
	{
		int t = omp_get_thread_num();
		int n_lo = nn_share(N, t, T), n_hi = nn_share(N, t + 1, T);
		size_t ms = (size_t)Co * cols + 32, vs = (size_t)Ci * cols + 32, ks = 0;
		float *V, *M = nn_scratch(1, 36 * ms);
		float *blk = zeroed_scratch(2, 2 * bs), *obuf = nn_scratch(3, 256 * tiles);
		if (pairs) {
			ks = ((cols + nr - 1) / nr + 1) * (size_t)rows * nr * 2;
			V = nn_scratch(0, 18 * ks);
			/* the pair rows past Ci stay zero: written once here */
			for (int k = 0; k < 36; k++)
				for (size_t p = 0; p < ks / ((size_t)rows * nr * 2); p++)
					for (int r = (Ci + 1) / 2; r < rows; r++)
						memset((uint16_t *)V + k * ks + (p * rows + r) * nr * 2, 0,
						       (size_t)nr * 2 * sizeof(uint16_t));
		} else {
			V = nn_scratch(0, 36 * vs);
		}
		for (int n0 = n_lo; n0 < n_hi; n0 += 16) {
			int g = n_hi - n0 < 16 ? n_hi - n0 : 16;
			const float *src = inp + (size_t)n0 * HW;
			if (pairs) {
				uint16_t *Vp = (uint16_t *)V;
				for (int ci = 0; ci < Ci; ci += 2) {
					kv->w4_gather(blk, src + ci * P, HW, g, H, W, Th, Tw);
					if (ci + 1 < Ci)
						kv->w4_gather(blk + bs, src + (ci + 1) * P, HW, g, H, W, Th, Tw);
					kv->w4_input_pairs(Vp, ks, nr, rows, ci / 2, 0, blk,
							   ci + 1 < Ci ? blk + bs : NULL, Th, Tw);
				}
				for (int k = 0; k < 36; k++)
					kgemm_with_b(Up[k], cols, Vp + k * ks, 0.0f, M + (size_t)k * ms, cols);
			} else {
				for (int ci = 0; ci < Ci; ci++) {
					kv->w4_gather(blk, src + ci * P, HW, g, H, W, Th, Tw);
					kv->w4_input(V + (size_t)ci * cols, vs, 0, blk, Th, Tw);
				}
				for (int k = 0; k < 36; k++)
					kgemm_with(Up[k], 0, cols, V + (size_t)k * vs, cols, 0.0f,
						   M + (size_t)k * ms, cols);
			}
			for (int co = 0; co < Co; co++) {
				float *o = out + co * P + (size_t)n0 * HW;
				kv->w4_output(o, HW, g, M + (size_t)co * cols, ms, 0, b[co], H, W, Th, Tw,
					      obuf);
				if (act >= 0)
					act_apply(o, o, g * HW, (act_kind)act);
			}
		}
	}
	for (int k = 0; k < 36; k++)
		kgemm_a_free(Up[k]);
	free(U);
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
	if (conv3x3_winograd_tile(H, W) == 4) {
		free(U);
		wino4_forward(out, inp, w, b, Ci, Co, N, H, W, act);
		return;
	}
	wino_weights(U, w, Ci, Co);
	kgemm_a *Up[16];   /* each U[k] packed once for every group of images */
	for (int k = 0; k < 16; k++)
		Up[k] = kgemm_pack_a(0, Co, Ci, U + (size_t)k * Co * Ci, Ci);
	/* bf16 pairs: the transform writes the panels the kernel reads */
	int nr, rows, pairs = kvec()->wino_input_pairs && kgemm_b_panels(Ci, &nr, &rows);
	#pragma omp parallel num_threads(T)
	{
		int t = omp_get_thread_num();
		int n_lo = nn_share(N, t, T), n_hi = nn_share(N, t + 1, T);
		size_t cap = (size_t)G * tiles;
		size_t vs = (size_t)Ci * cap + 32, ms = (size_t)Co * cap + 32;
		size_t ks = 0;
		float *V = NULL, *M = nn_scratch(1, 16 * ms);
		float *pad = zeroed_scratch(2, (size_t)(2 * Th + 4) * kern_wino_pad_stride(Tw));
		if (pairs) {
			/* 16 x (panels + 1 of slack) x rows x nr pairs, as floats */
			ks = ((cap + nr - 1) / nr + 1) * (size_t)rows * nr * 2;
			V = nn_scratch(0, 8 * ks);
			/* the pair rows past Ci stay zero: written once here */
			for (int k = 0; k < 16; k++)
				for (size_t p = 0; p < ks / ((size_t)rows * nr * 2); p++)
					for (int r = (Ci + 1) / 2; r < rows; r++)
						memset((uint16_t *)V + k * ks + (p * rows + r) * nr * 2, 0,
						       (size_t)nr * 2 * sizeof(uint16_t));
		} else {
			V = nn_scratch(0, 16 * vs);
		}
		for (int n0 = n_lo; n0 < n_hi; n0 += G) {
			int g = n_hi - n0 < G ? n_hi - n0 : G;
			size_t cols = (size_t)g * tiles;
			if (pairs) {
				uint16_t *Vp = (uint16_t *)V;
				for (int ci = 0; ci < Ci; ci += 2)
					for (int j = 0; j < g; j++) {
						size_t img = (size_t)(n0 + j) * HW;
						kvec()->wino_input_pairs(Vp, ks, nr, rows, ci / 2, (size_t)j * tiles,
							inp + ci * P + img, ci + 1 < Ci ? inp + (ci + 1) * P + img : NULL,
							H, W, Th, Tw);
					}
				for (int k = 0; k < 16; k++)
					kgemm_with_b(Up[k], cols, Vp + k * ks, 0.0f, M + (size_t)k * ms, cols);
			} else {
				wino_inputs(V, vs, inp, Ci, N, n0, g, H, W, pad);
				for (int k = 0; k < 16; k++)
					kgemm_with(Up[k], 0, cols, V + (size_t)k * vs, cols, 0.0f,
						   M + (size_t)k * ms, cols);
			}
			for (int co = 0; co < Co; co++)
				for (int j = 0; j < g; j++) {
					float *o = out + co * P + (size_t)(n0 + j) * HW;
					kvec()->wino_output(o, M + (size_t)co * cols, ms,
						    (size_t)j * tiles, b[co], H, W, Th, Tw);
					if (act >= 0)
						act_apply(o, o, HW, (act_kind)act);
				}
		}
	}
	for (int k = 0; k < 16; k++)
		kgemm_a_free(Up[k]);
	free(U);
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

/* Always F(2x2,3x3): an F(4x4,3x3) weight gradient (16 images in the lanes,
 * as its forward) was slower, 180-198 img/s training the separation net in
 * bf16 on Zen 4 against 231 with this one (2026-12-05, -j 2): its
 * transformed tiles, 36 x 16 images, do not stay in cache. */
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
		float *pad = zeroed_scratch(2, (size_t)(2 * Th + 4) * kern_wino_pad_stride(Tw));
		float *dpad = zeroed_scratch(3, (size_t)4 * kern_wino_pad_stride(Tw));
		for (int n0 = n_lo; n0 < n_hi; n0 += G) {
			int g = n_hi - n0 < G ? n_hi - n0 : G;
			size_t cols = (size_t)g * tiles;
			wino_inputs(V, vs, inp, Ci, N, n0, g, H, W, pad);
			for (int co = 0; co < Co; co++)
				for (int j = 0; j < g; j++)
					kvec()->wino_dout(dM + (size_t)co * cols, ms, (size_t)j * tiles,
						  dout + co * P + (size_t)(n0 + j) * HW, H, W, Th, Tw, dpad);
			// dU[k] (Co, Ci) += dM[k] (Co, cols) x V[k]^T (cols, Ci)
			for (int k = 0; k < 16; k++)
				kgemm(0, 1, Co, Ci, cols, dM + (size_t)k * ms, cols, V + (size_t)k * vs,
				      cols, 1.0f, part + t * nu + (size_t)k * Co * Ci, Ci);
		}
	}
	/* the threads' sums in thread order, then back to the 3x3 weights */
	for (int t = 1; t < T; t++)
		for (size_t i = 0; i < nu; i++)
			part[i] += part[(size_t)t * nu + i];
	wino_weights_grad(dw, part, Ci, Co);
	free(part);
}
