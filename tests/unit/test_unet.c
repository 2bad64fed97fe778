/* test_unet.c: the U-Net as a whole: parameter count, gradient against
 * finite differences, a tiny overfit, determinism, odd image sizes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>

#include "unet.h"

static int failures;

static void report(int ok, const char *what)
{
	printf("%s %s\n", ok ? "ok  " : "FAIL", what);
	failures += !ok;
}

static void test_param_count(void)
{
	unet_config c = unet_defaults();
	size_t n = unet_nparams(&c);
	unet *u = unet_create(&c, 2, 28, 28);
	char msg[128];
	snprintf(msg, sizeof msg, "default U-Net has %zu parameters (117393), %zu stats (640)",
		 u->params.n, u->nstats);
	report(n == 117393 && u->params.n == 117393 && u->nstats == 640, msg);
	unet_free(u);
}

/* ---- whole-network gradient check ---- */

typedef struct {
	unet *u;
	const float *x;
	const void *t;
	int B;
	loss_kind loss;
} net_ctx;

static double net_loss(net_ctx *c)
{
	unet_forward(c->u, c->x, c->B, 1, NULL);
	return unet_loss(c->u, c->t, c->B, c->loss);
}

/* Checks every parameter against central differences, eps 1e-3 (smaller
 * than the gaps between the values a max-pool window compares, larger than
 * float noise). Tolerance: |analytic - numeric| <= 2e-2 * max(|a|,|n|) +
 * 3e-4; the gradients are 1e-3..1e-1. Smooth activations (tanh, sigmoid) so
 * only max pooling has kinks. */
static void gradcheck(const char *name, unet_config cfg, int H, int W, loss_kind loss)
{
	rng_t rng;
	int B = 3;
	rng_seed(&rng, 7);
	unet *u = unet_create(&cfg, B, H, W);
	unet_init_params(u, 11);
	size_t nx = (size_t)B * cfg.in_channels * H * W, ny = (size_t)B * cfg.out_channels * H * W;
	float *x = xmalloc(nx * sizeof(float)), *t = xmalloc(ny * sizeof(float));
	uint8_t *cls = xmalloc((size_t)B * H * W);
	for (size_t i = 0; i < nx; i++)
		x[i] = rng_normal(&rng);
	for (size_t i = 0; i < ny; i++)
		t[i] = rng_uniform(&rng) < 0.5 ? 1.0f : 0.0f;
	for (size_t i = 0; i < (size_t)B * H * W; i++)
		cls[i] = (uint8_t)rng_below(&rng, cfg.out_channels);
	net_ctx c = { u, x, loss == LOSS_CE ? (const void *)cls : (const void *)t, B, loss };

	nn_params_zero_grad(&u->params);
	net_loss(&c);
	unet_backward(u, B);
	size_t n = u->params.n;
	float *g = xmalloc(n * sizeof(float));
	double eps = 1e-3;
	char msg[200];
	memcpy(g, u->params.g, n * sizeof(float));
	int bad = 0, tensor = 0;
	size_t end = u->layout.size[0];
	for (size_t i = 0; i < n; i++) {
		while (i >= end)
			end += u->layout.size[++tensor];
		float save = u->params.p[i];
		u->params.p[i] = save + (float)eps;
		double a = net_loss(&c);
		u->params.p[i] = save - (float)eps;
		double b = net_loss(&c);
		u->params.p[i] = save;
		double nd = (a - b) / (2 * eps);
		double err = fabs(nd - g[i]) - 2e-2 * fmax(fabs(nd), fabs(g[i]));
		if (err > 3e-4) {
			printf("     tensor %d parameter %zu: analytic %.6g numeric %.6g\n", tensor, i, g[i], nd);
			bad++;
		}
	}
	snprintf(msg, sizeof msg, "%s: all %zu parameters (%d off)", name, n, bad);
	report(bad == 0, msg);
	free(x); free(t); free(cls); free(g);
	unet_free(u);
}

/* ---- overfit 8 blobs ---- */

static void make_blobs(float *x, float *y, int n, int S, uint64_t seed)
{
	rng_t rng;
	rng_seed(&rng, seed);
	for (int k = 0; k < n; k++) {
		float cx = 3 + (float)rng_uniform(&rng) * (S - 6), cy = 3 + (float)rng_uniform(&rng) * (S - 6);
		float r = 2 + (float)rng_uniform(&rng) * 3;
		for (int i = 0; i < S; i++)
			for (int j = 0; j < S; j++) {
				float d2 = ((i - cy) * (i - cy) + (j - cx) * (j - cx)) / (r * r);
				float v = expf(-d2) + 0.1f * (float)rng_uniform(&rng);
				x[(size_t)k * S * S + i * S + j] = v;
				y[(size_t)k * S * S + i * S + j] = v > 0.5f ? 1.0f : 0.0f;
			}
	}
}

static void test_overfit(void)
{
	unet_config cfg = unet_defaults();
	cfg.filters = 8;
	int S = 16, n = 8;
	float *x = xmalloc((size_t)n * S * S * sizeof(float)), *y = xmalloc((size_t)n * S * S * sizeof(float));
	make_blobs(x, y, n, S, 3);
	unet *u = unet_create(&cfg, n, S, S);
	unet_init_params(u, 1);
	adam_config opt = adam_defaults(1e-2f);
	double t0 = omp_get_wtime();
	float l = 0, first = 0;
	int steps = 300;
	for (int s = 0; s < steps; s++) {
		l = unet_train_step(u, x, y, n, LOSS_BCE, &opt);
		if (s == 0)
			first = l;
	}
	/* the learned model also works in inference mode (running statistics) */
	float *logit = xmalloc((size_t)n * S * S * sizeof(float));
	unet_forward(u, x, n, 0, logit);
	int wrong = 0;
	for (int i = 0; i < n * S * S; i++)
		wrong += (logit[i] > 0) != (y[i] > 0.5f);
	char msg[200];
	snprintf(msg, sizeof msg, "overfit 8 blobs 16x16: bce %.4f -> %.5f in %d steps (%.1f s); "
		 "inference errors %d/%d pixels", first, l, steps, omp_get_wtime() - t0, wrong, n * S * S);
	report(l < 0.02f && wrong <= n * S * S / 100, msg);
	free(x); free(y); free(logit);
	unet_free(u);
}

/* ---- determinism ---- */

static void train_some(unet *u, int steps, loss_kind loss)
{
	int B = 5, H = 13, W = 11;
	rng_t rng;
	rng_seed(&rng, 99);
	size_t nx = (size_t)B * H * W;
	float *x = xmalloc(nx * sizeof(float)), *y = xmalloc(nx * sizeof(float));
	for (size_t i = 0; i < nx; i++) {
		x[i] = (float)rng_uniform(&rng);
		y[i] = x[i] > 0.5f;
	}
	adam_config opt = adam_defaults(1e-3f);
	opt.weight_decay = 1e-2f;
	for (int s = 0; s < steps; s++)
		unet_train_step(u, x, y, B, loss, &opt);
	free(x); free(y);
}

static void test_determinism(void)
{
	unet_config cfg = unet_defaults();
	cfg.filters = 4;
	cfg.act = ACT_LEAKY_RELU;
	unet *a = unet_create(&cfg, 5, 13, 11), *b = unet_create(&cfg, 5, 13, 11);
	unet_init_params(a, 5);
	unet_init_params(b, 5);
	train_some(a, 4, LOSS_BCE);
	train_some(b, 4, LOSS_BCE);
	int same = memcmp(a->params.p, b->params.p, a->params.n * sizeof(float)) == 0
		&& memcmp(a->stats, b->stats, a->nstats * sizeof(float)) == 0
		&& memcmp(a->params.m, b->params.m, a->params.n * sizeof(float)) == 0;
	int moved = 0;
	unet *c = unet_create(&cfg, 5, 13, 11);
	unet_init_params(c, 5);
	moved = memcmp(a->params.p, c->params.p, a->params.n * sizeof(float)) != 0;
	report(same && moved, "same seed and data: identical parameter, statistics and Adam bytes");
	unet_free(a); unet_free(b); unet_free(c);
}

/* the logits of an odd-sized image equal those of the image padded by hand */
static void test_padding(void)
{
	unet_config cfg = unet_defaults();
	cfg.filters = 4;
	int H = 13, W = 11, Hp = 16, Wp = 12;
	unet *a = unet_create(&cfg, 2, H, W), *b = unet_create(&cfg, 2, Hp, Wp);
	unet_init_params(a, 3);
	unet_init_params(b, 3);
	rng_t rng;
	rng_seed(&rng, 4);
	float x[2 * 13 * 11], xp[2 * 16 * 12] = { 0 }, la[2 * 13 * 11], lb[2 * 16 * 12];
	for (int n = 0; n < 2; n++)
		for (int i = 0; i < H; i++)
			for (int j = 0; j < W; j++)
				xp[n * Hp * Wp + i * Wp + j] = x[n * H * W + i * W + j] = (float)rng_uniform(&rng);
	unet_forward(a, x, 2, 1, la);
	unet_forward(b, xp, 2, 1, lb);
	int ok = 1;
	for (int n = 0; n < 2; n++)
		for (int i = 0; i < H; i++)
			for (int j = 0; j < W; j++)
				ok &= la[n * H * W + i * W + j] == lb[n * Hp * Wp + i * Wp + j];
	report(ok, "13x11 input padded bottom/right to 16x12 and cropped back");
	unet_free(a); unet_free(b);
}

int main(void)
{
	nn_set_threads(2);
	test_param_count();
	unet_config c = unet_defaults();
	c.in_channels = 2;
	c.filters = 3;
	c.act = ACT_TANH;
	c.depth = 1;
	gradcheck("depth 1, bce, 6x6, 2 threads", c, 6, 6, LOSS_BCE);
	/* thousands of tiny passes: one thread keeps them quick on a busy
	 * machine (the threaded layers are checked in test_layers) */
	nn_set_threads(1);
	c.depth = 2;
	gradcheck("depth 2, bce, 7x5 (padded)", c, 7, 5, LOSS_BCE);
	c.out_channels = 3;
	c.act = ACT_SIGMOID;
	gradcheck("depth 2, ce 3 classes, 8x8", c, 8, 8, LOSS_CE);
	c.act = ACT_TANH;
	gradcheck("depth 2, mse 3 channels, 8x8", c, 8, 8, LOSS_MSE);
	nn_set_threads(2);
	test_padding();
	test_determinism();
	nn_set_threads(1);   /* learning does not depend on threads; a busy machine does */
	test_overfit();
	if (failures) {
		printf("test_unet: %d FAILED\n", failures);
		return 1;
	}
	printf("test_unet: all passed\n");
	return 0;
}
