/* test_fcn.c: FCN-8's new layers against central finite differences (the
 * general transposed convolution, the score sum), the bilinear start of the
 * upsampling, and the whole network: parameter count, gradient, odd sizes,
 * determinism, a tiny overfit. fp32 products throughout.
 *
 * Layer checks take L = sum(out * R) for a fixed random R (so dout = R) and
 * compare every entry of every gradient with central differences, eps 1e-2,
 * L summed in double; an entry fails when |analytic - numeric| > 1e-2 *
 * max(1, |analytic|, |numeric|). Parameter gradients start at 1, so the
 * check also shows that backward accumulates. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcn.h"
#include "kern.h"
#include "nn.h"
#include "gradcheck.h"

#define TOL 1e-2

static void report(int ok, const char *what)
{
	printf("%s %s\n", ok ? "ok  " : "FAIL", what);
	failures += !ok;
}

static float *filled(size_t n, float v)
{
	float *x = xmalloc(n * sizeof(float));
	init_fill(x, n, v);
	return x;
}

static double dot(const float *a, const float *b, size_t n)
{
	double s = 0.0;
	for (size_t i = 0; i < n; i++)
		s += (double)a[i] * b[i];
	return s;
}

/* ---- the general transposed convolution ---- */

typedef struct {
	int Ci, Co, N, H, W, k, s, p, bias;
	float *inp, *w, *b, *out, *R;
	size_t nout;
} convt_ctx;

static double convt_loss(void *v)
{
	convt_ctx *c = v;
	convt_forward(c->out, c->inp, c->w, c->bias ? c->b : NULL, c->Ci, c->Co, c->N, c->H, c->W,
		      c->k, c->s, c->p);
	return dot(c->out, c->R, c->nout);
}

static void test_convt(int H, int W, int k, int s, int p, int bias)
{
	convt_ctx c = { 3, 2, 2, H, W, k, s, p, bias, NULL, NULL, NULL, NULL, NULL, 0 };
	int Ho = convt_out_size(H, k, s, p), Wo = convt_out_size(W, k, s, p);
	size_t nin = (size_t)c.Ci * c.N * H * W, nw = (size_t)c.Ci * c.Co * k * k;
	char label[96];

	c.nout = (size_t)c.Co * c.N * Ho * Wo;
	c.inp = randv(nin, 1.0f);
	c.w = randv(nw, 0.5f);
	c.b = randv(c.Co, 0.5f);
	c.out = xmalloc(c.nout * sizeof(float));
	c.R = randv(c.nout, 1.0f);
	float *dinp = filled(nin, 7.0f), *dw = filled(nw, 1.0f), *db = filled(c.Co, 1.0f);
	convt_loss(&c);
	convt_backward(dinp, dw, bias ? db : NULL, c.R, c.inp, c.w, c.Ci, c.Co, c.N, H, W, k, s, p);
	snprintf(label, sizeof label, "convt k%d s%d p%d %dx%d -> %dx%d%s dinp", k, s, p, H, W, Ho, Wo,
		 bias ? "" : " (no bias)");
	gradcheck(label, convt_loss, &c, c.inp, dinp, 0.0f, nin, 1e-2f, 1.0, TOL);
	snprintf(label, sizeof label, "convt k%d s%d p%d %dx%d dw", k, s, p, H, W);
	gradcheck(label, convt_loss, &c, c.w, dw, 1.0f, nw, 1e-2f, 1.0, TOL);
	if (bias) {
		snprintf(label, sizeof label, "convt k%d s%d p%d %dx%d db", k, s, p, H, W);
		gradcheck(label, convt_loss, &c, c.b, db, 1.0f, c.Co, 1e-2f, 1.0, TOL);
	}
	free(c.inp); free(c.w); free(c.b); free(c.out); free(c.R);
	free(dinp); free(dw); free(db);
}

/* kernel 2, stride 2, no padding is the U-Net's convt2x2: the same values
 * (to 1e-5 relative: the same products, summed in another order) */
static void test_convt_is_convt2x2(void)
{
	int Ci = 3, Co = 4, N = 2, H = 5, W = 6;
	size_t nin = (size_t)Ci * N * H * W, nout = (size_t)Co * N * 4 * H * W;
	float *x = randv(nin, 1.0f), *w = randv((size_t)Ci * Co * 4, 0.5f), *b = randv(Co, 0.5f);
	float *a = xmalloc(nout * sizeof(float)), *c = xmalloc(nout * sizeof(float));
	double worst = 0;

	convt_forward(a, x, w, b, Ci, Co, N, H, W, 2, 2, 0);
	convt2x2_forward(c, x, w, b, Ci, Co, N, H, W);
	for (size_t i = 0; i < nout; i++)
		worst = fmax(worst, fabs(a[i] - c[i]) / fmax(1.0, fabs(c[i])));
	char msg[96];
	snprintf(msg, sizeof msg, "convt k2 s2 p0 equals convt2x2 (max error %.2g <= 1e-5)", worst);
	report(worst <= 1e-5, msg);
	free(x); free(w); free(b); free(a); free(c);
}

/* bilinear kernels upsample a linear ramp to the ramp at the finer grid
 * (away from the border, where the zero padding enters): with k 2s, s, p
 * s/2, output pixel o sits at input position (o + 0.5)/s - 0.5 */
static void test_bilinear(int s)
{
	int k = 2 * s, p = s / 2, H = 6, W = 7, C = 2;
	int Ho = convt_out_size(H, k, s, p), Wo = convt_out_size(W, k, s, p);
	float *x = xmalloc((size_t)C * H * W * sizeof(float)), *w = xmalloc((size_t)C * C * k * k * 4);
	float *out = xmalloc((size_t)C * Ho * Wo * sizeof(float));
	double worst = 0;

	for (int c = 0; c < C; c++)
		for (int y = 0; y < H; y++)
			for (int xx = 0; xx < W; xx++)
				x[((size_t)c * H + y) * W + xx] = (float)(c + 1) * (0.5f * y + 0.25f * xx + 1);
	convt_init_bilinear(w, C, C, k);
	convt_forward(out, x, w, NULL, C, C, 1, H, W, k, s, p);
	for (int c = 0; c < C; c++)
		for (int oy = s; oy < Ho - s; oy++)
			for (int ox = s; ox < Wo - s; ox++) {
				double iy = (oy + 0.5) / s - 0.5, ix = (ox + 0.5) / s - 0.5;
				double want = (c + 1) * (0.5 * iy + 0.25 * ix + 1);
				worst = fmax(worst, fabs(out[((size_t)c * Ho + oy) * Wo + ox] - want));
			}
	char msg[96];
	snprintf(msg, sizeof msg, "bilinear x%d reproduces a ramp inside (max error %.2g <= 1e-5)", s, worst);
	report(worst <= 1e-5, msg);
	free(x); free(w); free(out);
}

/* ---- the score sum ---- */

typedef struct {
	float *a, *b, *out, *R;
	size_t n;
} add_ctx;

static double add_loss(void *v)
{
	add_ctx *c = v;
	add_forward(c->out, c->a, c->b, c->n);
	return dot(c->out, c->R, c->n);
}

static void test_add(void)
{
	add_ctx c = { NULL, NULL, NULL, NULL, 37 };
	c.a = randv(c.n, 1.0f);
	c.b = randv(c.n, 1.0f);
	c.out = xmalloc(c.n * sizeof(float));
	c.R = randv(c.n, 1.0f);
	float *da = filled(c.n, 5.0f), *db = filled(c.n, 5.0f);
	add_backward(da, db, c.R, c.n);
	gradcheck("score sum da", add_loss, &c, c.a, da, 0.0f, c.n, 1e-2f, 1.0, TOL);
	gradcheck("score sum db", add_loss, &c, c.b, db, 0.0f, c.n, 1e-2f, 1.0, TOL);
	free(c.a); free(c.b); free(c.out); free(c.R); free(da); free(db);
}

/* ---- the whole network ---- */

static void test_param_count(void)
{
	fcn_config c = fcn_defaults();
	size_t n, ns;
	char msg[160];

	c.out_channels = 11;
	fcn_sizes(&c, &n, &ns);
	/* by hand: 3x3 blocks 9*(1*8 + 8*8 + 8*16 + 16*16 + 16*32 + 2*32*32 + 32*64
	 * + 2*64*64 + 3*64*64 + 64*128 + 128*128) + 3 * (sum of widths) = 432,288
	 * + 3*1304; scores 11*(128+64+32) + 3*11; upsamplings 11*11*(16+16+256) */
	size_t want = 9 * (8 + 64 + 128 + 256 + 512 + 2048 + 2048 + 8192 + 12288 + 8192 + 16384)
		+ 3 * (8 * 2 + 16 * 2 + 32 * 3 + 64 * 3 + 64 * 3 + 128 * 2)
		+ 11 * (128 + 64 + 32) + 3 * 11 + 11 * 11 * (16 + 16 + 256);
	snprintf(msg, sizeof msg, "FCN-8, 8 filters, 11 classes: %zu parameters (%zu), %zu stats (%d)",
		 n, want, ns, 2 * (8 * 2 + 16 * 2 + 32 * 3 + 64 * 3 + 64 * 3 + 128 * 2));
	report(n == want && ns == (size_t)2 * (8 * 2 + 16 * 2 + 32 * 3 + 64 * 3 + 64 * 3 + 128 * 2), msg);
}

typedef struct {
	fcn *f;
	const float *x;
	const uint8_t *t;
	int B;
} net_ctx;

static double net_loss(net_ctx *c)
{
	fcn_forward(c->f, c->x, c->B, 1, NULL);
	return fcn_loss(c->f, c->t, c->B, LOSS_CE);
}

/* finite differences of parameter i, eps 1e-3; 1 when they disagree with
 * the analytic gradient g: |analytic - numeric| > 2e-2 * max(|a|,|n|) +
 * 3e-4 (as test_unet) */
static int param_off(net_ctx *c, size_t i, float g)
{
	double eps = 1e-3;
	float *p = c->f->params.p, save = p[i];

	p[i] = save + (float)eps;
	double a = net_loss(c);
	p[i] = save - (float)eps;
	double b = net_loss(c);
	p[i] = save;
	double nd = (a - b) / (2 * eps);
	if (fabs(nd - g) - 2e-2 * fmax(fabs(nd), fabs(g)) <= 3e-4)
		return 0;
	printf("     parameter %zu: analytic %.6g numeric %.6g\n", i, g, nd);
	return 1;
}

/* The whole network against central differences: the parameters from the
 * scores on (after the last pooling: no kinks; every 7th of the last
 * upsampling) must all agree; of the encoder,
 * about 400 parameters spread over every block, of which at most 3% may
 * disagree -- five max poolings of one- and two-channel maps lie between
 * them and the loss, and a step of 1e-3 flips the odd window's maximum (a
 * wrong layer would put all its entries off). tanh, so pooling is the only
 * kink; every parameter random (the score layers start at zero, which
 * would hide the encoder's gradient). */
static void test_gradient(int H, int W)
{
	fcn_config cfg = { 1, 3, 1, ACT_TANH };
	int B = 2;
	fcn *f = fcn_create(&cfg, B, H, W);
	size_t nx = (size_t)B * H * W, n = f->params.n;
	float *x = xmalloc(nx * sizeof(float));
	uint8_t *cls = xmalloc(nx);
	char msg[200];
	int enc_bad = 0, enc = 0, dec_bad = 0, dec = 0;

	fcn_init_params(f, 3);
	for (size_t i = 0; i < n; i++)
		f->params.p[i] += 0.3f * rng_normal(&rng);
	for (size_t i = 0; i < nx; i++) {
		x[i] = rng_normal(&rng);
		cls[i] = (uint8_t)rng_below(&rng, 3);
	}
	net_ctx c = { f, x, cls, B };
	nn_params_zero_grad(&f->params);
	net_loss(&c);
	fcn_backward(f, B);
	float *g = xmalloc(n * sizeof(float));
	memcpy(g, f->params.g, n * sizeof(float));
	size_t stride = f->s32_w / 400 + 1;
	for (size_t i = rng_below(&rng, stride); i < f->s32_w; i += stride, enc++)
		enc_bad += param_off(&c, i, g[i]);
	for (size_t i = f->s32_w; i < n; i += i < f->up1_w ? 1 : 7, dec++)
		dec_bad += param_off(&c, i, g[i]);
	snprintf(msg, sizeof msg, "FCN-8 gradient, %dx%d: decoder %d of %d off (0), "
		 "encoder %d of %d off (<= 3%%)", H, W, dec_bad, dec, enc_bad, enc);
	report(dec_bad == 0 && enc_bad * 100 <= 3 * enc, msg);
	free(x); free(cls); free(g);
	fcn_free(f);
}

/* 4 images of 24x40 with a bright square: class 1 inside, 0 outside; 150
 * steps of Adam (lr 1e-2) must bring the pixel accuracy of inference to
 * 0.97 or more, and the same seed must give the same parameters, bit for
 * bit */
static double overfit(uint64_t seed, float *params_out)
{
	fcn_config cfg = { 1, 2, 4, ACT_RELU };
	int B = 4, H = 24, W = 40;
	fcn *f = fcn_create(&cfg, B, H, W);
	float *x = xcalloc((size_t)B * H * W, sizeof(float)), *out = xmalloc((size_t)B * 2 * H * W * 4);
	uint8_t *t = xcalloc((size_t)B * H * W, 1);
	adam_config opt = adam_defaults(1e-2f);
	int right = 0;

	for (int b = 0; b < B; b++) {
		int y0 = 2 + 4 * b, x0 = 3 + 7 * b;
		for (int y = y0; y < y0 + 10; y++)
			for (int xx = x0; xx < x0 + 12; xx++) {
				x[((size_t)b * H + y) * W + xx] = 1.0f;
				t[((size_t)b * H + y) * W + xx] = 1;
			}
	}
	fcn_init_params(f, seed);
	for (int s = 0; s < 150; s++)
		fcn_train_step(f, x, t, B, LOSS_CE, &opt);
	fcn_forward(f, x, B, 0, out);
	for (int b = 0; b < B; b++)
		for (int i = 0; i < H * W; i++) {
			float l0 = out[((size_t)b * 2 + 0) * H * W + i], l1 = out[((size_t)b * 2 + 1) * H * W + i];
			right += (l1 > l0) == (t[(size_t)b * H * W + i] == 1);
		}
	memcpy(params_out, f->params.p, f->params.n * sizeof(float));
	double acc = (double)right / (B * H * W);
	free(x); free(out); free(t);
	fcn_free(f);
	return acc;
}

static void test_overfit_and_determinism(void)
{
	fcn_config cfg = { 1, 2, 4, ACT_RELU };
	size_t n, ns;
	char msg[128];

	fcn_sizes(&cfg, &n, &ns);
	float *a = xmalloc(n * sizeof(float)), *b = xmalloc(n * sizeof(float));
	double acc = overfit(5, a);
	overfit(5, b);
	snprintf(msg, sizeof msg, "FCN-8 learns squares on 24x40: pixel accuracy %.4f >= 0.97", acc);
	report(acc >= 0.97, msg);
	report(memcmp(a, b, n * sizeof(float)) == 0, "FCN-8: the same seed gives the same parameters");
	free(a); free(b);
}

int main(void)
{
	rng_seed(&rng, 42);
	nn_set_threads(2);
	kern_set_precision(KERN_FP32);
	test_convt(5, 6, 4, 2, 1, 1);      /* FCN's upsampling by 2 */
	test_convt(3, 4, 16, 8, 4, 0);     /* and by 8 */
	test_convt(1, 1, 4, 2, 1, 1);
	test_convt(4, 3, 3, 2, 0, 1);      /* odd kernel, no padding */
	test_convt(2, 5, 5, 3, 2, 0);      /* padding larger than stride - 1 */
	test_convt_is_convt2x2();
	test_bilinear(2);
	test_bilinear(8);
	test_add();
	test_param_count();
	test_gradient(21, 27);             /* padded to 32 x 32, cropped back */
	test_overfit_and_determinism();
	if (failures) {
		printf("%d check(s) failed\n", failures);
		return 1;
	}
	printf("all fcn checks passed\n");
	return 0;
}
