/* nn_convt.c: the general transposed convolution (kernel k, stride s,
 * padding p; FCN's learned upsampling), its bilinear initialisation, and
 * the elementwise sum of two score maps, over (C,N,H,W) activations.
 *
 * A transposed convolution is one product and a scatter: for a group of
 * samples, tmp (Co*k*k, g*H*W) = w^T x inp, then every row (co,ky,kx) is
 * added into the output at (y*s - p + ky, x*s - p + kx). Its backward
 * gathers dout the same way (im2col of dout) and takes two products. Each
 * thread owns a fixed share of the batch and writes only its own samples;
 * weight gradients are summed per thread and combined in thread order, so
 * the result depends only on the thread count (nn.h). */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kern.h"
#include "nn.h"
#include "vec.h"

#define COL_TARGET_FLOATS (96 * 1024)

int convt_out_size(int n, int k, int s, int p)
{
	return (n - 1) * s - 2 * p + k;
}

static int group_size(size_t rows, size_t hw)
{
	size_t g = COL_TARGET_FLOATS / (rows * hw + 1);
	return g < 1 ? 1 : (int)g;
}

/* the output range [x0, x1) of input positions x whose tap kx lands inside
 * 0..Wo-1: ox = x*s - p + kx */
static void tap_range(int kx, int s, int p, int W, int Wo, int *x0, int *x1)
{
	int lo = 0, hi = W;

	while (lo < W && lo * s - p + kx < 0)
		lo++;
	while (hi > lo && (hi - 1) * s - p + kx >= Wo)
		hi--;
	*x0 = lo;
	*x1 = hi;
}

void convt_forward(float *out, const float *inp, const float *w, const float *b,
		   int Ci, int Co, int N, int H, int W, int k, int s, int p)
{
	int Ho = convt_out_size(H, k, s, p), Wo = convt_out_size(W, k, s, p);
	size_t HW = (size_t)H * W, P = (size_t)N * HW, HWo = (size_t)Ho * Wo, Po = (size_t)N * HWo;
	int KK = k * k, T = nn_threads(), G = group_size((size_t)Co * KK, HW);
	kgemm_a *wp = kgemm_pack_a(1, Co * KK, Ci, w, Co * KK);

	#pragma omp parallel num_threads(T)
	{
		int t = omp_get_thread_num();
		int n_lo = nn_share(N, t, T), n_hi = nn_share(N, t + 1, T);
		float *tmp = nn_scratch(0, (size_t)Co * KK * G * HW);
		for (int n0 = n_lo; n0 < n_hi; n0 += G) {
			int g = n_hi - n0 < G ? n_hi - n0 : G;
			size_t cols = (size_t)g * HW;
			// tmp (Co*k*k, g*HW) = w^T (Co*k*k, Ci) x inp (Ci, g*HW)
			kgemm_with(wp, 0, cols, inp + n0 * HW, P, 0.0f, tmp, cols);
			for (int co = 0; co < Co; co++)
				for (int j = 0; j < g; j++) {
					float *o = out + co * Po + (size_t)(n0 + j) * HWo;
					float bc = b ? b[co] : 0.0f;
					for (size_t i = 0; i < HWo; i++)
						o[i] = bc;
					for (int ky = 0; ky < k; ky++) {
						int y0, y1;
						tap_range(ky, s, p, H, Ho, &y0, &y1);
						for (int kx = 0; kx < k; kx++) {
							int x0, x1;
							tap_range(kx, s, p, W, Wo, &x0, &x1);
							const float *src = tmp + ((size_t)co * KK + ky * k + kx) * cols
								+ (size_t)j * HW;
							for (int y = y0; y < y1; y++) {
								float *orow = o + (size_t)(y * s - p + ky) * Wo;
								const float *srow = src + (size_t)y * W;
								for (int x = x0; x < x1; x++)
									orow[x * s - p + kx] += srow[x];
							}
						}
					}
				}
		}
	}
	kgemm_a_free(wp);
}

/* combine the per-thread partial gradients part (T, n) into dw (n), in order */
static void combine(float *dw, const float *part, int T, size_t n)
{
	#pragma omp parallel for schedule(static)
	for (size_t i = 0; i < n; i++) {
		float s = part[i];
		for (int t = 1; t < T; t++)
			s += part[(size_t)t * n + i];
		dw[i] += s;
	}
}

void convt_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
		    const float *w, int Ci, int Co, int N, int H, int W, int k, int s, int p)
{
	int Ho = convt_out_size(H, k, s, p), Wo = convt_out_size(W, k, s, p);
	size_t HW = (size_t)H * W, P = (size_t)N * HW, HWo = (size_t)Ho * Wo, Po = (size_t)N * HWo;
	int KK = k * k, T = nn_threads(), G = group_size((size_t)Co * KK, HW);
	size_t nw = (size_t)Ci * Co * KK;
	float *part = xcalloc((size_t)T * nw, sizeof(float));

	#pragma omp parallel num_threads(T)
	{
		int t = omp_get_thread_num();
		int n_lo = nn_share(N, t, T), n_hi = nn_share(N, t + 1, T);
		float *dtmp = nn_scratch(0, (size_t)Co * KK * G * HW);
		for (int n0 = n_lo; n0 < n_hi; n0 += G) {
			int g = n_hi - n0 < G ? n_hi - n0 : G;
			size_t cols = (size_t)g * HW;
			for (int co = 0; co < Co; co++)
				for (int j = 0; j < g; j++) {
					const float *o = dout + co * Po + (size_t)(n0 + j) * HWo;
					for (int ky = 0; ky < k; ky++) {
						int y0, y1;
						tap_range(ky, s, p, H, Ho, &y0, &y1);
						for (int kx = 0; kx < k; kx++) {
							int x0, x1;
							tap_range(kx, s, p, W, Wo, &x0, &x1);
							float *d = dtmp + ((size_t)co * KK + ky * k + kx) * cols
								+ (size_t)j * HW;
							memset(d, 0, HW * sizeof(float));
							for (int y = y0; y < y1; y++) {
								const float *orow = o + (size_t)(y * s - p + ky) * Wo;
								float *drow = d + (size_t)y * W;
								for (int x = x0; x < x1; x++)
									drow[x] = orow[x * s - p + kx];
							}
						}
					}
				}
			// dw (Ci, Co*k*k) += inp (Ci, g*HW) x dtmp^T (g*HW, Co*k*k)
			kgemm(0, 1, Ci, Co * KK, cols, inp + n0 * HW, P, dtmp, cols, 1.0f,
			      part + t * nw, Co * KK);
			// dinp (Ci, g*HW) = w (Ci, Co*k*k) x dtmp (Co*k*k, g*HW)
			if (dinp)
				kgemm(0, 0, Ci, cols, Co * KK, w, Co * KK, dtmp, cols, 0.0f,
				      dinp + n0 * HW, P);
		}
	}
	combine(dw, part, T, nw);
	free(part);
	if (db) {
		#pragma omp parallel for schedule(static)
		for (int co = 0; co < Co; co++)
			db[co] += (float)kvec()->sum(dout + co * Po, Po);
	}
}

void convt_init_bilinear(float *w, int Ci, int Co, int k)
{
	int f = (k + 1) / 2;
	double c = k % 2 ? f - 1 : f - 0.5;

	memset(w, 0, (size_t)Ci * Co * k * k * sizeof(float));
	for (int i = 0; i < Ci && i < Co; i++)
		for (int y = 0; y < k; y++)
			for (int x = 0; x < k; x++)
				w[(((size_t)i * Co + i) * k + y) * k + x] =
					(float)((1.0 - fabs(y - c) / f) * (1.0 - fabs(x - c) / f));
}

void add_forward(float *out, const float *a, const float *b, size_t n)
{
	#pragma omp parallel for schedule(static)
	for (size_t i = 0; i < n; i++)
		out[i] = a[i] + b[i];
}

void add_backward(float *da, float *db, const float *dout, size_t n)
{
	if (da != dout)
		memcpy(da, dout, n * sizeof(float));
	if (db != dout)
		memcpy(db, dout, n * sizeof(float));
}
