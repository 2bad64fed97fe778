/* nn_conv.c: 3x3 and 1x1 convolutions and the 2x2 stride-2 transposed
 * convolution, over (C,N,H,W) activations, as im2col + sgemm.
 *
 * Threading: each of the T threads takes a fixed contiguous share of the
 * batch (samples t*N/T .. (t+1)*N/T - 1) and runs single-threaded sgemms on
 * groups of its samples, sized so the im2col buffer stays in L2. In CNHW the
 * columns of a group of samples are contiguous, so sgemm writes straight into
 * the output with ldc = N*H*W. Weight gradients are summed per thread and
 * combined in thread order, so the result depends only on T. */
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kern.h"
#include "nn.h"
#include "vec.h"

#define COL_TARGET_FLOATS (96 * 1024)   /* ~384 KB im2col buffer per group */

float *nn_scratch(int slot, size_t n)
{
	static __thread float *buf[NN_SCRATCH_SLOTS];
	static __thread size_t cap[NN_SCRATCH_SLOTS];

	if (n > cap[slot]) {
		free(buf[slot]);
		if (n > SIZE_MAX / sizeof(float) ||
		    posix_memalign((void **)&buf[slot], 64, n * sizeof(float)) != 0)
			die("out of memory (%zu floats of scratch)", n);
		cap[slot] = n;
	}
	return buf[slot];
}

static int group_size(size_t rows, size_t hw)
{
	size_t g = COL_TARGET_FLOATS / (rows * hw + 1);
	return g < 1 ? 1 : (int)g;
}

/* im2col of samples n0..n0+g-1: col (Ci*9, g*H*W), from inp (Ci,N,H,W).
 * Row (ci,ky,kx) of one image is its plane shifted by (ky-1, kx-1): one
 * contiguous copy, then the rows and the column that fell off the edge are
 * zeroed (the copy wraps them around). */
static void im2col3x3(float *col, const float *inp, int Ci, int N, int H, int W, int n0, int g)
{
	size_t HW = (size_t)H * W, P = (size_t)N * HW, cols = (size_t)g * HW;

	for (int ci = 0; ci < Ci; ci++)
		for (int ky = 0; ky < 3; ky++)
			for (int kx = 0; kx < 3; kx++) {
				float *row = col + ((size_t)ci * 9 + ky * 3 + kx) * cols;
				int sy = ky - 1, sx = kx - 1;
				int ylo = sy < 0 ? 1 : 0, yhi = sy > 0 ? H - 1 : H;
				long off = (long)sy * W + sx;
				/* signed: with H = 1 a shifted plane has no rows left */
				long lo = (long)ylo * W + (sx < 0), hi = (long)yhi * W - (sx > 0);
				for (int j = 0; j < g; j++) {
					const float *src = inp + ci * P + (size_t)(n0 + j) * HW;
					float *d = row + (size_t)j * HW;
					if (hi > lo)
						memcpy(d + lo, src + lo + off, (hi - lo) * sizeof(float));
					if (ylo > 0)
						memset(d, 0, (size_t)W * sizeof(float));
					if (yhi < H && yhi >= ylo)
						memset(d + (size_t)yhi * W, 0, (size_t)W * sizeof(float));
					if (sx < 0)
						for (int y = 0; y < H; y++)
							d[(size_t)y * W] = 0.0f;
					else if (sx > 0)
						for (int y = 0; y < H; y++)
							d[(size_t)y * W + W - 1] = 0.0f;
				}
			}
}

/* bias_backward: db[c] += sum of dout channel c (P floats): in vector
 * lanes over fixed blocks, each block added in double (kvec()->sum) */
static void bias_backward(float *db, const float *dout, int C, size_t P)
{
	#pragma omp parallel for schedule(static)
	for (int c = 0; c < C; c++)
		db[c] += (float)kvec()->sum(dout + c * P, P);
}

/* combine the per-thread partial gradients part (T, n) into dw (n), in order */
static void combine_partials(float *dw, const float *part, int T, size_t n)
{
	#pragma omp parallel for schedule(static)
	for (size_t i = 0; i < n; i++) {
		float s = part[i];
		for (int t = 1; t < T; t++)
			s += part[(size_t)t * n + i];
		dw[i] += s;
	}
}

static void add_bias(float *out, const float *b, int C, size_t P, size_t off, size_t len)
{
	for (int c = 0; c < C; c++) {
		float *o = out + c * P + off, bc = b[c];
		for (size_t i = 0; i < len; i++)
			o[i] += bc;
	}
}

/* Winograd or im2col where the path has no direct convolution: Winograd
 * from 4x4 up, except on inputs of at most CONV_THIN_MAXC channels (a
 * first layer): its products are K = 4 Ci long there, and bench/conv_speed
 * (batch 64, one core, AMX Xeon, 2026-12-03; 1->16 28x28 to 1->64 32x32
 * and 1->16 64x84) ran im2col 1.0-2.3x faster forward and 3-16x faster for
 * the weight gradient, on every path (amx bf16 and fp32, avx512, avx2,
 * portable) */
#define CONV_THIN_MAXC 4

static int use_winograd(int Ci, int Co, int H, int W)
{
	return Ci > CONV_THIN_MAXC && H >= 4 && W >= 4 && conv3x3_winograd_ok(Ci, Co, H, W);
}

void conv3x3_forward(float *out, const float *inp, const float *w, const float *b,
		     int Ci, int Co, int N, int H, int W)
{
	conv3x3_act_forward(out, inp, w, b, Ci, Co, N, H, W, -1);
}

/* Which method, by bench/conv_speed (one core, batch 64): the direct
 * convolution of the path (amx in bf16) wherever it has one: on an AMX
 * Xeon, 2026-12-02, it was 1.3-3x faster than Winograd and im2col on every
 * U-Net layer, forward and weight gradient, within 7% of the better one at
 * 128 channels of 16x16 (Winograd forward) and 256 of 8x8 (im2col weight
 * gradient). Elsewhere Winograd is the faster from 7x7 up (measured on Zen
 * 4 with the U-Net's layers: 1.2x at 7x7, 1.8-2x at 14x14 and 28x28). */
void conv3x3_act_forward(float *out, const float *inp, const float *w, const float *b,
			 int Ci, int Co, int N, int H, int W, int act)
{
	if (kconv_ok(Ci, Co, H, W))
		conv3x3_direct_forward(out, inp, w, b, Ci, Co, N, H, W, act);
	else if (use_winograd(Ci, Co, H, W))
		conv3x3_winograd_forward(out, inp, w, b, Ci, Co, N, H, W, act);
	else
		conv3x3_im2col_forward(out, inp, w, b, Ci, Co, N, H, W, act);
}

void conv3x3_im2col_forward(float *out, const float *inp, const float *w, const float *b,
			    int Ci, int Co, int N, int H, int W, int act)
{
	size_t HW = (size_t)H * W, P = (size_t)N * HW;
	int K = Ci * 9, T = nn_threads(), G = group_size(K, HW);
	kgemm_a *wp = kgemm_pack_a(0, Co, K, w, K);

	#pragma omp parallel num_threads(T)
	{
		int t = omp_get_thread_num();
		int n_lo = nn_share(N, t, T), n_hi = nn_share(N, t + 1, T);
		float *col = nn_scratch(0, (size_t)K * G * HW);
		for (int n0 = n_lo; n0 < n_hi; n0 += G) {
			int g = n_hi - n0 < G ? n_hi - n0 : G;
			im2col3x3(col, inp, Ci, N, H, W, n0, g);
			kgemm_with(wp, 0, g * HW, col, g * HW, 0.0f, out + n0 * HW, P);
			add_bias(out, b, Co, P, n0 * HW, g * HW);
			if (act >= 0)
				for (int co = 0; co < Co; co++) {
					float *o = out + co * P + n0 * HW;
					act_apply(o, o, g * HW, (act_kind)act);
				}
		}
	}
	kgemm_a_free(wp);
}

/* the direct convolution of the kernel path (kern.h), kconv_group images
 * at a time, each thread its share of the batch, after its share of the
 * weights' packing */
void conv3x3_direct_forward(float *out, const float *inp, const float *w, const float *b,
			    int Ci, int Co, int N, int H, int W, int act)
{
	size_t HW = (size_t)H * W, P = (size_t)N * HW;
	int T = nn_threads(), G = kconv_group(Ci, Co, H, W);
	kconv_w *kw = kconv_w_alloc(Ci, Co);

	#pragma omp parallel num_threads(T)
	{
		int t = omp_get_thread_num();
		kconv_w_set(kw, w, b, 0, nn_share(Co / 16, t, T), nn_share(Co / 16, t + 1, T));
		#pragma omp barrier
		int hi = nn_share(N, t + 1, T);
		for (int n = nn_share(N, t, T); n < hi; n += G) {
			int g = hi - n < G ? hi - n : G;
			kconv_forward(kw, out + n * HW, (long)P, inp + n * HW, (long)P, H, W, g);
			if (act >= 0)
				for (int co = 0; co < Co; co++) {
					float *o = out + co * P + n * HW;
					act_apply(o, o, g * HW, (act_kind)act);
				}
		}
	}
	kconv_w_free(kw);
}

/* dw += the direct path's weight gradient: per-thread sums, added in
 * thread order, each thread its share of the in channels; with w (the
 * forward weights) also dinp, the input gradient (the convolution of dout
 * by w flipped and transposed), group by group (kconv_group images) after
 * that group's weight gradient, so its output gradient is read from the
 * cache the second time */
static void direct_backward(float *dinp, float *dw, const float *dout, const float *inp,
			    const float *w, int Ci, int Co, int N, int H, int W)
{
	size_t HW = (size_t)H * W, P = (size_t)N * HW, na = kconv_acc_floats(Ci, Co);
	int T = nn_threads(), G = kconv_group(Ci, Co, H, W);
	float *part = xcalloc((size_t)T * na, sizeof(float));
	kconv_w *kw = w ? kconv_w_alloc(Co, Ci) : NULL;

	#pragma omp parallel num_threads(T)
	{
		int t = omp_get_thread_num();
		if (kw) {
			kconv_w_set(kw, w, NULL, 1, nn_share(Ci / 16, t, T), nn_share(Ci / 16, t + 1, T));
			#pragma omp barrier
		}
		int hi = nn_share(N, t + 1, T);
		for (int n = nn_share(N, t, T); n < hi; n += G) {
			int g = hi - n < G ? hi - n : G;
			kconv_wgrad(part + t * na, dout + n * HW, (long)P, inp + n * HW, (long)P, Ci,
				    Co, H, W, g);
			if (kw)
				kconv_forward(kw, dinp + n * HW, (long)P, dout + n * HW, (long)P, H, W,
					      g);
		}
		#pragma omp barrier
		kconv_acc_add(dw, part, T, Ci, Co, nn_share(Ci, t, T), nn_share(Ci, t + 1, T));
	}
	kconv_w_free(kw);
	free(part);
}

void conv3x3_direct_weight_grad(float *dw, const float *dout, const float *inp, int Ci, int Co,
				int N, int H, int W)
{
	direct_backward(NULL, dw, dout, inp, NULL, Ci, Co, N, H, W);
}

/* conv3x3_im2col_weight_grad: dw (Co, Ci*9) += dout x im2col(inp)^T, the
 * threads' partial sums added in thread order */
void conv3x3_im2col_weight_grad(float *dw, const float *dout, const float *inp,
				int Ci, int Co, int N, int H, int W)
{
	size_t HW = (size_t)H * W, P = (size_t)N * HW;
	int K = Ci * 9, T = nn_threads(), G = group_size(K, HW);
	size_t nw = (size_t)Co * K;
	float *part = xcalloc((size_t)T * nw, sizeof(float));

	#pragma omp parallel num_threads(T)
	{
		int t = omp_get_thread_num();
		int n_lo = nn_share(N, t, T), n_hi = nn_share(N, t + 1, T);
		float *col = nn_scratch(0, (size_t)K * G * HW);
		for (int n0 = n_lo; n0 < n_hi; n0 += G) {
			int g = n_hi - n0 < G ? n_hi - n0 : G;
			im2col3x3(col, inp, Ci, N, H, W, n0, g);
			// dw (Co, K) += dout (Co, g*HW) x col^T (g*HW, K)
			kgemm(0, 1, Co, K, g * HW, dout + n0 * HW, P, col, g * HW, 1.0f,
			      part + t * nw, K);
		}
	}
	combine_partials(dw, part, T, nw);
	free(part);
}

/* The input gradient is itself a 3x3 convolution: of dout with the weights
 * flipped in space and transposed, wf (Ci, Co, 3, 3). So it runs through
 * conv3x3_act_forward (Winograd where that is faster) instead of a thin
 * K = Co sgemm and a col2im scatter. */
void conv3x3_backward(float *dinp, float *dw, float *db, const float *dout,
		      const float *inp, const float *w, int Ci, int Co, int N, int H, int W)
{
	size_t P = (size_t)N * H * W, nw = (size_t)Co * Ci * 9;

	if (db)
		bias_backward(db, dout, Co, P);
	if (kconv_ok(Ci, Co, H, W)) {
		/* both gradients, group by group (kconv_ok(Co, Ci) too) */
		direct_backward(dinp, dw, dout, inp, dinp ? w : NULL, Ci, Co, N, H, W);
		return;
	}
	if (use_winograd(Ci, Co, H, W))
		conv3x3_winograd_weight_grad(dw, dout, inp, Ci, Co, N, H, W);
	else
		conv3x3_im2col_weight_grad(dw, dout, inp, Ci, Co, N, H, W);
	if (dinp) {
		// wf (Ci, Co, 3, 3) = w (Co, Ci, 3, 3) transposed and flipped
		float *wf = xmalloc_array(nw, sizeof(float));
		for (int co = 0; co < Co; co++)
			for (int ci = 0; ci < Ci; ci++)
				for (int k = 0; k < 9; k++)
					wf[((size_t)ci * Co + co) * 9 + (8 - k)] = w[((size_t)co * Ci + ci) * 9 + k];
		float *zero = xcalloc(Ci, sizeof(float));
		conv3x3_act_forward(dinp, dout, wf, zero, Co, Ci, N, H, W, -1);
		free(zero);
		free(wf);
	}
}

void conv1x1_forward(float *out, const float *inp, const float *w, const float *b,
		     int Ci, int Co, int N, int H, int W)
{
	size_t HW = (size_t)H * W, P = (size_t)N * HW;
	int T = nn_threads();

	#pragma omp parallel num_threads(T)
	{
		int t = omp_get_thread_num();
		int n_lo = nn_share(N, t, T), n_hi = nn_share(N, t + 1, T);
		size_t off = n_lo * HW, len = (size_t)(n_hi - n_lo) * HW;
		if (len > 0) {
			kgemm(0, 0, Co, len, Ci, w, Ci, inp + off, P, 0.0f, out + off, P);
			add_bias(out, b, Co, P, off, len);
		}
	}
}

void conv1x1_backward(float *dinp, float *dw, float *db, const float *dout,
		      const float *inp, const float *w, int Ci, int Co, int N, int H, int W)
{
	size_t HW = (size_t)H * W, P = (size_t)N * HW;
	int T = nn_threads();
	size_t nw = (size_t)Co * Ci;
	float *part = xcalloc((size_t)T * nw, sizeof(float));

	#pragma omp parallel num_threads(T)
	{
		int t = omp_get_thread_num();
		int n_lo = nn_share(N, t, T), n_hi = nn_share(N, t + 1, T);
		size_t off = n_lo * HW, len = (size_t)(n_hi - n_lo) * HW;
		if (len > 0) {
			// dw (Co, Ci) += dout (Co, len) x inp^T (len, Ci)
			kgemm(0, 1, Co, Ci, len, dout + off, P, inp + off, P, 1.0f, part + t * nw, Ci);
			// dinp (Ci, len) = w^T (Ci, Co) x dout (Co, len)
			if (dinp)
				kgemm(1, 0, Ci, len, Co, w, Ci, dout + off, P, 0.0f, dinp + off, P);
		}
	}
	combine_partials(dw, part, T, nw);
	free(part);
	bias_backward(db, dout, Co, P);
}

void convt2x2_forward(float *out, const float *inp, const float *w, const float *b,
		      int Ci, int Co, int N, int H, int W)
{
	size_t HW = (size_t)H * W, P = (size_t)N * HW, Pout = 4 * P;
	int T = nn_threads(), G = group_size(4 * Co, HW), W2 = 2 * W;
	kgemm_a *wp = kgemm_pack_a(1, 4 * Co, Ci, w, 4 * Co);

	#pragma omp parallel num_threads(T)
	{
		int t = omp_get_thread_num();
		int n_lo = nn_share(N, t, T), n_hi = nn_share(N, t + 1, T);
		float *tmp = nn_scratch(0, (size_t)4 * Co * G * HW);
		for (int n0 = n_lo; n0 < n_hi; n0 += G) {
			int g = n_hi - n0 < G ? n_hi - n0 : G;
			size_t cols = (size_t)g * HW;
			// tmp (Co*4, g*HW) = w^T (Co*4, Ci) x inp (Ci, g*HW)
			kgemm_with(wp, 0, cols, inp + n0 * HW, P, 0.0f, tmp, cols);
			/* each output row whole, from the dx = 0 and dx = 1 rows
			 * interleaved (contiguous stores) */
			for (int co = 0; co < Co; co++)
				for (int j = 0; j < g; j++) {
					float *o = out + co * Pout + (size_t)(n0 + j) * 4 * HW, bc = b[co];
					for (int dy = 0; dy < 2; dy++) {
						const float *s0 = tmp + (size_t)(co * 4 + dy * 2) * cols
							+ (size_t)j * HW, *s1 = s0 + cols;
						for (int y = 0; y < H; y++)
							kvec()->merge2(o + (size_t)(2 * y + dy) * W2,
								       s0 + (size_t)y * W, s1 + (size_t)y * W,
								       W, bc);
					}
				}
		}
	}
	kgemm_a_free(wp);
}

void convt2x2_backward(float *dinp, float *dw, float *db, const float *dout,
		       const float *inp, const float *w, int Ci, int Co, int N, int H, int W)
{
	size_t HW = (size_t)H * W, P = (size_t)N * HW, Pout = 4 * P;
	int T = nn_threads(), G = group_size(4 * Co, HW), W2 = 2 * W;
	size_t nw = (size_t)Ci * Co * 4;
	float *part = xcalloc((size_t)T * nw, sizeof(float));

	#pragma omp parallel num_threads(T)
	{
		int t = omp_get_thread_num();
		int n_lo = nn_share(N, t, T), n_hi = nn_share(N, t + 1, T);
		float *dtmp = nn_scratch(0, (size_t)4 * Co * G * HW);
		for (int n0 = n_lo; n0 < n_hi; n0 += G) {
			int g = n_hi - n0 < G ? n_hi - n0 : G;
			size_t cols = (size_t)g * HW;
			for (int co = 0; co < Co; co++)
				for (int j = 0; j < g; j++) {
					const float *o = dout + co * Pout + (size_t)(n0 + j) * 4 * HW;
					/* each row of dout read whole, its even and odd
					 * columns to the dx = 0 and dx = 1 rows */
					for (int dy = 0; dy < 2; dy++) {
						float *s0 = dtmp + (size_t)(co * 4 + dy * 2) * cols
							+ (size_t)j * HW, *s1 = s0 + cols;
						for (int y = 0; y < H; y++)
							kvec()->split2(s0 + (size_t)y * W, s1 + (size_t)y * W,
								       o + (size_t)(2 * y + dy) * W2, W);
					}
				}
			// dw (Ci, Co*4) += inp (Ci, g*HW) x dtmp^T (g*HW, Co*4)
			kgemm(0, 1, Ci, 4 * Co, cols, inp + n0 * HW, P, dtmp, cols, 1.0f,
			      part + t * nw, 4 * Co);
			// dinp (Ci, g*HW) = w (Ci, Co*4) x dtmp (Co*4, g*HW)
			kgemm(0, 0, Ci, cols, 4 * Co, w, 4 * Co, dtmp, cols, 0.0f, dinp + n0 * HW, P);
		}
	}
	combine_partials(dw, part, T, nw);
	free(part);
	bias_backward(db, dout, Co, 4 * P);
}
