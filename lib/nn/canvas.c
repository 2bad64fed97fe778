/* canvas.c: padding images onto a network's canvas and cropping back; see
 * canvas.h. */
#include <string.h>

#include "canvas.h"

/* copy_planes: each of the C*N planes of out (Ho x Wo) gets the top-left
 * of the same plane of inp (Hi x Wi), and zeros where inp has none. Planes
 * go in (c,n) order, or (n,c) where out_nc or inp_nc says so: the
 * transposition between NCHW and (C,N,H,W). */
static void copy_planes(float *out, int Ho, int Wo, int out_nc, const float *inp, int Hi,
			int Wi, int inp_nc, int C, int N)
{
	long planes = (long)C * N;
	int h = Hi < Ho ? Hi : Ho, w = Wi < Wo ? Wi : Wo;

	#pragma omp parallel for schedule(static)
	for (long pl = 0; pl < planes; pl++) {
		long nc = (pl % N) * C + pl / N;
		float *d = out + (out_nc ? nc : pl) * Ho * Wo;
		const float *s = inp + (inp_nc ? nc : pl) * Hi * Wi;
		for (int y = 0; y < h; y++) {
			memcpy(d + (size_t)y * Wo, s + (size_t)y * Wi, w * sizeof(float));
			if (Wo > w)
				memset(d + (size_t)y * Wo + w, 0, (Wo - w) * sizeof(float));
		}
		if (Ho > h)
			memset(d + (size_t)h * Wo, 0, (size_t)(Ho - h) * Wo * sizeof(float));
	}
}

void canvas_load(float *out, const float *inp, int C, int N, int H, int W, int Hp, int Wp)
{
	copy_planes(out, Hp, Wp, 0, inp, H, W, 1, C, N);
}

void canvas_store(float *out, const float *inp, int C, int N, int H, int W, int Hp, int Wp)
{
	copy_planes(out, H, W, 1, inp, Hp, Wp, 0, C, N);
}

float canvas_loss(float *dlogits, const float *logits, const void *target, float *crop,
		  float *dcrop, float *tgt, int C, int N, int H, int W, int Hp, int Wp,
		  loss_kind loss)
{
	size_t n = (size_t)C * N * H * W;

	copy_planes(crop, H, W, 0, logits, Hp, Wp, 0, C, N);
	if (loss != LOSS_CE)
		copy_planes(tgt, H, W, 0, target, H, W, 1, C, N);
	float l = loss == LOSS_BCE ? bce_loss(dcrop, crop, tgt, n)
		: loss == LOSS_MSE ? mse_loss(dcrop, crop, tgt, n)
		: softmax_ce_loss(dcrop, crop, target, C, (size_t)N * H * W);
	copy_planes(dlogits, Hp, Wp, 0, dcrop, H, W, 0, C, N);
	return l;
}
