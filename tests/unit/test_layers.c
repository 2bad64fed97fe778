/* test_layers.c: every layer's backward against central finite differences.
 *
 * Each check takes L = sum(out * R) for a fixed random R (so dout = R), runs
 * the backward once, and compares every entry of every gradient with
 * (L(x+eps) - L(x-eps)) / 2eps, L summed in double. Tolerance: an entry
 * fails when |analytic - numeric| > TOL * max(1, |analytic|, |numeric|),
 * TOL = 1e-2, eps = 1e-2 (1e-3 where a kink is near: relu, maxpool). Parameter gradients start at 1
 * so the check also shows that backward accumulates (+=). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kern.h"
#include "vec.h"
#include "nn.h"
#include "gradcheck.h"

#define TOL 1e-2


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

/* ---- convolutions ---- */

typedef struct {
	int kind;   /* 0 conv3x3, 1 conv1x1, 2 convt2x2 */
	int Ci, Co, N, H, W;
	float *inp, *w, *b, *out, *R;
	size_t nout;
} conv_ctx;

static double conv_loss(void *p)
{
	conv_ctx *c = p;
	if (c->kind == 0)
		conv3x3_forward(c->out, c->inp, c->w, c->b, c->Ci, c->Co, c->N, c->H, c->W);
	else if (c->kind == 1)
		conv1x1_forward(c->out, c->inp, c->w, c->b, c->Ci, c->Co, c->N, c->H, c->W);
	else
		convt2x2_forward(c->out, c->inp, c->w, c->b, c->Ci, c->Co, c->N, c->H, c->W);
	return dot(c->out, c->R, c->nout);
}

static void test_conv_ci(int kind, const char *name, int Ci, int H, int W)
{
	conv_ctx c = { kind, Ci, 4, 3, H, W, NULL, NULL, NULL, NULL, NULL, 0 };
	size_t nin = (size_t)c.Ci * c.N * c.H * c.W;
	size_t nw = (size_t)c.Ci * c.Co * (kind == 0 ? 9 : kind == 1 ? 1 : 4);
	c.nout = (size_t)c.Co * c.N * c.H * c.W * (kind == 2 ? 4 : 1);
	c.inp = randv(nin, 1.0f);
	c.w = randv(nw, 0.5f);
	c.b = randv(c.Co, 0.5f);
	c.out = xmalloc(c.nout * sizeof(float));
	c.R = randv(c.nout, 1.0f);
	float *dinp = filled(nin, 7.0f), *dw = filled(nw, 1.0f), *db = filled(c.Co, 1.0f);

	conv_loss(&c);
	if (kind == 0)
		conv3x3_backward(dinp, dw, db, c.R, c.inp, c.w, c.Ci, c.Co, c.N, c.H, c.W);
	else if (kind == 1)
		conv1x1_backward(dinp, dw, db, c.R, c.inp, c.w, c.Ci, c.Co, c.N, c.H, c.W);
	else
		convt2x2_backward(dinp, dw, db, c.R, c.inp, c.w, c.Ci, c.Co, c.N, c.H, c.W);

	char label[64];
	snprintf(label, sizeof label, "%s dinp", name);
	gradcheck(label, conv_loss, &c, c.inp, dinp, 0.0f, nin, 1e-2f, 1.0, TOL);
	snprintf(label, sizeof label, "%s dw", name);
	gradcheck(label, conv_loss, &c, c.w, dw, 1.0f, nw, 1e-2f, 1.0, TOL);
	snprintf(label, sizeof label, "%s db", name);
	gradcheck(label, conv_loss, &c, c.b, db, 1.0f, c.Co, 1e-2f, 1.0, TOL);
	free(c.inp); free(c.w); free(c.b); free(c.out); free(c.R);
	free(dinp); free(dw); free(db);
}

static void test_conv(int kind, const char *name, int H, int W)
{
	test_conv_ci(kind, name, 3, H, W);
}

/* ---- max pooling ---- */

typedef struct {
	int C, N, H, W;
	float *inp, *out, *R;
	uint8_t *am;
} pool_ctx;

static double pool_loss(void *p)
{
	pool_ctx *c = p;
	maxpool_forward(c->out, c->am, c->inp, c->C, c->N, c->H, c->W);
	return dot(c->out, c->R, (size_t)c->C * c->N * c->H * c->W / 4);
}

static void test_maxpool(void)
{
	pool_ctx c = { 2, 3, 4, 6, NULL, NULL, NULL, NULL };
	size_t nin = (size_t)c.C * c.N * c.H * c.W, nout = nin / 4;
	/* distinct values 0.01 apart, shuffled: no ties within eps */
	int64_t *perm = xmalloc(nin * sizeof *perm);
	for (size_t i = 0; i < nin; i++)
		perm[i] = (int64_t)i;
	rng_shuffle(&rng, perm, (int64_t)nin);
	c.inp = xmalloc(nin * sizeof(float));
	for (size_t i = 0; i < nin; i++)
		c.inp[i] = 0.01f * (float)perm[i] - 0.5f;
	c.out = xmalloc(nout * sizeof(float));
	c.am = xmalloc(nout);
	c.R = randv(nout, 1.0f);
	float *dinp = filled(nin, 1.0f);
	pool_loss(&c);
	maxpool_backward(dinp, c.R, c.am, c.C, c.N, c.H, c.W);
	gradcheck("maxpool dinp (accumulates)", pool_loss, &c, c.inp, dinp, 1.0f, nin, 1e-3f, 1.0, TOL);
	free(perm); free(c.inp); free(c.out); free(c.am); free(c.R); free(dinp);
}


/* the pooling and row primitives of every path this CPU runs (vec.h
 * pool2, pool2_back, merge2, split2) against the plain loops, exactly: ties (values on a coarse
 * grid: the first of equals must win), a NaN (never the winner), odd sizes
 * (the last row or column dropped), rows of more than 16 outputs */
static void test_pool_paths(void)
{
	static const int shapes[][2] = { { 28, 28 }, { 14, 14 }, { 7, 7 }, { 5, 9 }, { 2, 2 },
					 { 1, 4 }, { 3, 70 }, { 64, 84 }, { 6, 33 } };
	kern_path keep = kern_current();

	for (int p = 0; p < KPATH_COUNT; p++) {
		if (!kern_can_run((kern_path)p)) {
			printf("skip pool2 %s: this CPU cannot run it\n", kern_path_name((kern_path)p));
			continue;
		}
		kern_use((kern_path)p);
		int bad = 0;
		for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
			int H = shapes[s][0], W = shapes[s][1], Ho = H / 2, Wo = W / 2;
			size_t nin = (size_t)H * W, nout = Ho * Wo > 0 ? (size_t)Ho * Wo : 1;
			float *in = xmalloc(nin * sizeof(float)), *out = xmalloc(nout * sizeof(float));
			float *d = randv(nout, 1.0f), *din = randv(nin, 1.0f);
			float *din0 = xmalloc(nin * sizeof(float));
			uint8_t *am = xmalloc(nout);
			for (size_t i = 0; i < nin; i++)
				in[i] = (float)(int)(3.0f * rng_uniform(&rng));
			in[nin / 3] = NAN;
			memcpy(din0, din, nin * sizeof(float));
			kvec()->pool2(out, am, in, H, W);
			kvec()->pool2_back(din, d, am, H, W);
			for (int y = 0; y < Ho; y++)
				for (int x = 0; x < Wo; x++) {
					const float *r0 = in + 2 * y * W + 2 * x, *r1 = r0 + W;
					float v[4] = { r0[0], r0[1], r1[0], r1[1] }, best = v[0];
					int k = 0;
					for (int j = 1; j < 4; j++)
						if (v[j] > best)
							best = v[j], k = j;
					float o = out[y * Wo + x];
					if (am[y * Wo + x] != k || !(o == best || (isnan(o) && isnan(best))))
						bad++;
					din0[(2 * y + (k >> 1)) * W + 2 * x + (k & 1)] += d[y * Wo + x];
				}
			for (size_t i = 0; i < nin; i++)
				bad += din[i] != din0[i];
			free(in); free(out); free(d); free(din); free(din0); free(am);
		}
		/* merge2 and split2 (the transposed convolution's rows) */
		static const int lens[] = { 1, 7, 14, 16, 17, 33 };
		for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
			int n = lens[l];
			float *a = randv(n, 1.0f), *b = randv(n, 1.0f), *y = randv(2 * n + 1, 1.0f);
			float *a2 = randv(n, 1.0f), *b2 = randv(n, 1.0f), end = y[2 * n];
			kvec()->merge2(y, a, b, n, 0.25f);
			for (int i = 0; i < n; i++)
				bad += y[2 * i] != a[i] + 0.25f || y[2 * i + 1] != b[i] + 0.25f;
			bad += y[2 * n] != end;   /* nothing written past 2n */
			kvec()->split2(a2, b2, y, n);
			for (int i = 0; i < n; i++)
				bad += a2[i] != y[2 * i] || b2[i] != y[2 * i + 1];
			free(a); free(b); free(y); free(a2); free(b2);
		}
		printf("%s pool2, pool2_back, merge2, split2 %s: exact\n", bad ? "FAIL" : "ok  ",
		       kern_path_name((kern_path)p));
		failures += bad > 0;
	}
	kern_use(keep);
}

/* ---- batch norm and activations ---- */

typedef struct {
	int C, fused, act;
	size_t P;
	float *inp, *out, *R, *gamma, *beta, *mean, *invstd, *rm, *rv;
} bn_ctx;

static double bn_loss(void *p)
{
	bn_ctx *c = p;
	if (c->fused)
		bn_act_forward(c->out, c->mean, c->invstd, c->rm, c->rv, c->inp, c->gamma,
			       c->beta, c->C, c->P, 1, (act_kind)c->act);
	else
		batchnorm_forward(c->out, c->mean, c->invstd, c->rm, c->rv, c->inp, c->gamma,
				  c->beta, c->C, c->P, 1);
	return dot(c->out, c->R, (size_t)c->C * c->P);
}

static void test_batchnorm(int fused, int act)
{
	bn_ctx c = { 3, fused, act, 2 * 4 * 5, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL };
	size_t n = (size_t)c.C * c.P;
	c.inp = randv(n, 2.0f);
	for (size_t i = 0; i < n; i++)
		c.inp[i] += 1.0f;
	c.out = xmalloc(n * sizeof(float));
	c.R = randv(n, 1.0f);
	c.gamma = randv(c.C, 1.0f);
	c.beta = randv(c.C, 1.0f);
	c.mean = xmalloc(c.C * sizeof(float));
	c.invstd = xmalloc(c.C * sizeof(float));
	c.rm = filled(c.C, 0.0f);
	c.rv = filled(c.C, 1.0f);
	float *dinp = filled(n, 7.0f), *dg = filled(c.C, 1.0f), *dbt = filled(c.C, 1.0f);
	float *dsum = filled(c.C, 0.5f);
	bn_loss(&c);
	if (fused) {
		bn_act_backward(dinp, dg, dbt, dsum, c.R, c.inp, c.out, c.mean, c.invstd, c.gamma,
				c.C, c.P, (act_kind)act);
		/* dsum: the sums of dinp's channels, exactly as the separate
		 * pass (kvec()->sum) gives them */
		int bad = 0;
		for (int ch = 0; ch < c.C; ch++)
			bad += dsum[ch] != 0.5f + (float)kvec()->sum(dinp + ch * c.P, c.P);
		printf("%s bn+%s dsum: the channel sums of dinp, exactly\n", bad ? "FAIL" : "ok  ",
		       act_name((act_kind)act));
		failures += bad > 0;
	} else
		batchnorm_backward(dinp, dg, dbt, c.R, c.inp, c.mean, c.invstd, c.gamma, c.C, c.P);
	/* relu-like kinks: an eps-step must not cross zero after normalising;
	 * with eps 1e-3 over 40 samples of spread 2 that is rare, and the seed
	 * is fixed */
	float eps = (act == ACT_RELU || act == ACT_LEAKY_RELU) ? 1e-3f : 1e-2f;
	char label[80];
	const char *an = fused ? act_name((act_kind)act) : "none";
	snprintf(label, sizeof label, "batchnorm%s%s dinp", fused ? "+" : "", fused ? an : "");
	gradcheck(label, bn_loss, &c, c.inp, dinp, 0.0f, n, eps, 1.0, TOL);
	snprintf(label, sizeof label, "batchnorm%s%s dgamma", fused ? "+" : "", fused ? an : "");
	gradcheck(label, bn_loss, &c, c.gamma, dg, 1.0f, c.C, eps, 1.0, TOL);
	snprintf(label, sizeof label, "batchnorm%s%s dbeta", fused ? "+" : "", fused ? an : "");
	gradcheck(label, bn_loss, &c, c.beta, dbt, 1.0f, c.C, eps, 1.0, TOL);
	free(c.inp); free(c.out); free(c.R); free(c.gamma); free(c.beta); free(c.mean);
	free(c.invstd); free(c.rm); free(c.rv); free(dinp); free(dg); free(dbt); free(dsum);
}

/* running statistics as PyTorch: momentum 0.1, unbiased variance */
static void test_batchnorm_running(void)
{
	float x[4] = { 1, 2, 3, 6 }, y[4], mean, invstd, rm = 0.5f, rv = 2.0f, g = 1, b = 0;
	batchnorm_forward(y, &mean, &invstd, &rm, &rv, x, &g, &b, 1, 4, 1);
	/* mean 3, biased var 3.5, unbiased 14/3 */
	float erm = 0.9f * 0.5f + 0.1f * 3.0f, erv = 0.9f * 2.0f + 0.1f * (14.0f / 3.0f);
	float einv = 1.0f / sqrtf(3.5f + 1e-5f);
	int ok = fabsf(rm - erm) < 1e-6f && fabsf(rv - erv) < 1e-5f && fabsf(mean - 3.0f) < 1e-6f
		&& fabsf(invstd - einv) < 1e-6f && fabsf(y[3] - 3.0f * einv) < 1e-5f;
	batchnorm_forward(y, NULL, NULL, &rm, &rv, x, &g, &b, 1, 4, 0);
	ok = ok && fabsf(y[0] - (1.0f - rm) / sqrtf(rv + 1e-5f)) < 1e-6f;
	printf("%s batchnorm running statistics and inference\n", ok ? "ok  " : "FAIL");
	failures += !ok;
}

typedef struct {
	int act;
	size_t n;
	float *inp, *out, *R;
} act_ctx;

static double act_loss(void *p)
{
	act_ctx *c = p;
	act_forward(c->out, c->inp, c->n, (act_kind)c->act);
	return dot(c->out, c->R, c->n);
}

static void test_act(int act)
{
	act_ctx c = { act, 50, NULL, NULL, NULL };
	c.inp = randv(c.n, 2.0f);
	for (size_t i = 0; i < c.n; i++)   /* keep away from the kink at 0 */
		if (fabsf(c.inp[i]) < 0.05f)
			c.inp[i] = 0.1f;
	c.out = xmalloc(c.n * sizeof(float));
	c.R = randv(c.n, 1.0f);
	float *dinp = filled(c.n, 7.0f);
	act_loss(&c);
	act_backward(dinp, c.R, c.out, c.n, (act_kind)act);
	char label[64];
	snprintf(label, sizeof label, "%s dinp", act_name((act_kind)act));
	gradcheck(label, act_loss, &c, c.inp, dinp, 0.0f, c.n, 1e-2f, 1.0, TOL);
	free(c.inp); free(c.out); free(c.R); free(dinp);
}

/* ---- concatenation ---- */

typedef struct {
	float *a, *b, *out, *R;
} cat_ctx;

static double cat_loss(void *p)
{
	cat_ctx *c = p;
	concat_forward(c->out, c->a, c->b, 2, 3, 10);
	return dot(c->out, c->R, 50);
}

static void test_concat(void)
{
	cat_ctx c = { randv(20, 1), randv(30, 1), xmalloc(50 * sizeof(float)), randv(50, 1) };
	float da[20], db[30];
	concat_backward(da, db, c.R, 2, 3, 10);
	gradcheck("concat da", cat_loss, &c, c.a, da, 0.0f, 20, 1e-2f, 1.0, TOL);
	gradcheck("concat db", cat_loss, &c, c.b, db, 0.0f, 30, 1e-2f, 1.0, TOL);
	free(c.a); free(c.b); free(c.out); free(c.R);
}

/* ---- losses ---- */

typedef struct {
	int kind, K;
	size_t n;
	float *logits, *target, *d;
	uint8_t *cls;
} loss_ctx;

static double loss_loss(void *p)
{
	loss_ctx *c = p;
	if (c->kind == LOSS_BCE)
		return bce_loss(c->d, c->logits, c->target, c->n);
	if (c->kind == LOSS_MSE)
		return mse_loss(c->d, c->logits, c->target, c->n);
	return softmax_ce_loss(c->d, c->logits, c->cls, c->K, c->n / c->K);
}

static void test_loss(int kind)
{
	loss_ctx c = { kind, 4, 48, NULL, NULL, NULL, NULL };
	c.logits = randv(c.n, 3.0f);
	c.target = xmalloc(c.n * sizeof(float));
	c.cls = xmalloc(c.n);
	for (size_t i = 0; i < c.n; i++) {
		c.target[i] = (float)rng_uniform(&rng);
		c.cls[i] = (uint8_t)rng_below(&rng, c.K);
	}
	c.d = xmalloc(c.n * sizeof(float));
	float *grad = xmalloc(c.n * sizeof(float));
	loss_loss(&c);
	memcpy(grad, c.d, c.n * sizeof(float));
	char label[64];
	snprintf(label, sizeof label, "%s loss dlogits", loss_name((loss_kind)kind));
	/* the losses are means: scale the check up so errors are visible */
	for (size_t i = 0; i < c.n; i++)
		grad[i] *= (float)c.n;
	/* compare n * dL/dx with n * numeric: wrap through a scaled loss */
	double worst = 0.0;
	for (size_t i = 0; i < c.n; i++) {
		float save = c.logits[i], eps = 1e-2f;
		c.logits[i] = save + eps;
		double lp = loss_loss(&c);
		c.logits[i] = save - eps;
		double lm = loss_loss(&c);
		c.logits[i] = save;
		double num = (lp - lm) / (2.0 * eps) * (double)c.n;
		double err = fabs(num - grad[i]) / fmax(1.0, fmax(fabs(num), fabs(grad[i])));
		if (err > worst)
			worst = err;
	}
	printf("%s %s (max error %.2g)\n", worst > TOL ? "FAIL" : "ok  ", label, worst);
	failures += worst > TOL;
	free(c.logits); free(c.target); free(c.cls); free(c.d); free(grad);
}

/* the stable BCE must not overflow for large logits */
static void test_bce_extreme(void)
{
	float x[2] = { 100.0f, -100.0f }, y[2] = { 0.0f, 0.0f }, d[2];
	float l = bce_loss(d, x, y, 2);
	int ok = fabsf(l - 50.0f) < 1e-3f && isfinite(d[0]) && fabsf(d[0] - 0.5f) < 1e-6f
		&& fabsf(d[1]) < 1e-6f;
	printf("%s bce on logits +-100 (loss %g)\n", ok ? "ok  " : "FAIL", l);
	failures += !ok;
}

/* inference: conv3x3_act_forward with the batch norm folded in equals
 * conv3x3 -> batchnorm (running statistics) -> act, to 1e-5 relative */
static void test_folded_inference(void)
{
	int Ci = 3, Co = 5, N = 3, H = 6, W = 7;
	size_t P = (size_t)N * H * W, K = (size_t)Ci * 9;
	float *x = randv(Ci * P, 1.0f), *w = randv(Co * K, 0.5f), *b = randv(Co, 0.5f);
	float *g = randv(Co, 1.0f), *be = randv(Co, 1.0f), *rm = randv(Co, 1.0f), *rv = randv(Co, 1.0f);
	float *y1 = xmalloc(Co * P * sizeof(float)), *y2 = xmalloc(Co * P * sizeof(float));
	float *wf = xmalloc(Co * K * sizeof(float)), bf[5];
	for (int c = 0; c < Co; c++)
		rv[c] = rv[c] * rv[c] + 0.1f;
	for (int a = 0; a < 4; a++) {
		conv3x3_forward(y1, x, w, b, Ci, Co, N, H, W);
		batchnorm_forward(y1, NULL, NULL, rm, rv, y1, g, be, Co, P, 0);
		act_forward(y1, y1, Co * P, (act_kind)a);
		batchnorm_fold(wf, bf, w, b, g, be, rm, rv, Co, K);
		conv3x3_act_forward(y2, x, wf, bf, Ci, Co, N, H, W, a);
		double worst = 0.0;
		for (size_t i = 0; i < Co * P; i++)
			worst = fmax(worst, fabs(y1[i] - y2[i]) / fmax(1.0, fabs(y1[i])));
		printf("%s folded conv+bn+%s inference (max error %.2g)\n", worst < 1e-5 ? "ok  " : "FAIL",
		       act_name((act_kind)a), worst);
		failures += worst >= 1e-5;
	}
	free(x); free(w); free(b); free(g); free(be); free(rm); free(rv); free(y1); free(y2); free(wf);
}

/* Winograd and im2col agree, odd sizes included, with either output tile:
 * F(2x2,3x3) to 1e-5 relative and, where the vector table has it,
 * F(4x4,3x3) to 2e-4 (its transforms' entries, 1/24 to 8, magnify the fp32
 * rounding about tenfold: 1e-5 to 4e-5 measured), on batches of 3 and of
 * 19 (F4 puts 16 images in a vector: a full block and a partial one) */
static void test_winograd_tile(int m)
{
	int shapes[][4] = { { 1, 4, 8, 8 }, { 3, 5, 9, 11 }, { 16, 8, 28, 28 }, { 7, 3, 2, 40 },
			    { 4, 4, 33, 3 }, { 5, 6, 7, 7 }, { 3, 4, 16, 16 }, { 2, 3, 14, 13 } };
	double tol = m == 4 ? 2e-4 : 1e-5;

	conv3x3_winograd_force(m);
	if (conv3x3_winograd_tile(8, 8) != m) {
		printf("skip winograd F(%dx%d,3x3): not on this path (%s)\n", m, m,
		       kern_path_name(kern_current()));
		conv3x3_winograd_force(0);
		return;
	}
	for (int s = 0; s < 8; s++) {
		int Ci = shapes[s][0], Co = shapes[s][1], H = shapes[s][2], W = shapes[s][3];
		int N = m == 4 && s % 2 ? 19 : 3;
		size_t P = (size_t)N * H * W;
		float *x = randv(Ci * P, 1.0f), *w = randv((size_t)Co * Ci * 9, 0.5f), *b = randv(Co, 0.5f);
		float *y1 = xmalloc(Co * P * sizeof(float)), *y2 = xmalloc(Co * P * sizeof(float));
		conv3x3_im2col_forward(y1, x, w, b, Ci, Co, N, H, W, ACT_LEAKY_RELU);
		conv3x3_winograd_forward(y2, x, w, b, Ci, Co, N, H, W, ACT_LEAKY_RELU);
		double worst = 0.0;
		for (size_t i = 0; i < Co * P; i++)
			worst = fmax(worst, fabs(y1[i] - y2[i]) / fmax(1.0, fabs(y1[i])));
		printf("%s winograd F(%dx%d) = im2col, %d->%d channels, %dx%d, %d images (max error %.2g)\n",
		       worst < tol ? "ok  " : "FAIL", m, m, Ci, Co, H, W, N, worst);
		failures += worst >= tol;
		free(x); free(w); free(b); free(y1); free(y2);
	}
	conv3x3_winograd_force(0);
}

static void test_winograd(void)
{
	test_winograd_tile(2);
	test_winograd_tile(4);
}

/* the Winograd weight gradient and im2col's agree, odd sizes and planes
 * done two rows of tiles at once (Tw <= 8) included, to 1e-4 relative to
 * the largest entry (sums of N*H*W products) */
static void test_winograd_wgrad(void)
{
	int shapes[][4] = { { 3, 5, 9, 11 }, { 5, 6, 7, 7 }, { 4, 3, 16, 16 }, { 2, 3, 14, 13 },
			    { 4, 4, 33, 3 }, { 3, 2, 20, 20 } };
	for (int s = 0; s < 6; s++) {
		int Ci = shapes[s][0], Co = shapes[s][1], H = shapes[s][2], W = shapes[s][3], N = 3;
		size_t P = (size_t)N * H * W, nw = (size_t)Co * Ci * 9;
		float *x = randv(Ci * P, 1.0f), *dy = randv(Co * P, 1.0f);
		float *d1 = xcalloc(nw, sizeof(float)), *d2 = xcalloc(nw, sizeof(float));
		conv3x3_im2col_weight_grad(d1, dy, x, Ci, Co, N, H, W);
		conv3x3_winograd_weight_grad(d2, dy, x, Ci, Co, N, H, W);
		double worst = 0.0, big = 1e-30;
		for (size_t i = 0; i < nw; i++)
			big = fmax(big, fabs(d1[i]));
		for (size_t i = 0; i < nw; i++)
			worst = fmax(worst, fabs(d1[i] - d2[i]) / big);
		printf("%s winograd weight gradient = im2col's, %d->%d channels, %dx%d (max error %.2g)\n",
		       worst < 1e-4 ? "ok  " : "FAIL", Ci, Co, H, W, worst);
		failures += worst >= 1e-4;
		free(x); free(dy); free(d1); free(d2);
	}
}

/* bf16: the Winograd transform writing its bf16 pairs straight into the
 * kernel's panels (paths with a bf16 pairs kernel) gives what the emulated
 * bf16 of the avx512 path gives from the same rounded inputs, to 1e-5 of
 * the largest output (the order of the fp32 sums differs), with either
 * tile forced (in bf16 the rule takes F(2x2,3x3)). Both paths must run
 * here; otherwise the test says so and is skipped. */
static void test_winograd_pairs(void)
{
	kern_path fast = kern_can_run(KPATH_AMX) ? KPATH_AMX : KPATH_AVX512_BF16;
	if (!kern_can_run(fast)) {
		printf("skip winograd bf16 pairs: this CPU has no bf16 pairs kernel (avx512-bf16, amx)\n");
		return;
	}
	int shapes[][4] = { { 1, 16, 28, 28 }, { 3, 5, 9, 11 }, { 16, 32, 14, 14 }, { 5, 6, 7, 7 },
			    { 7, 3, 16, 16 }, { 4, 4, 33, 40 }, { 2, 3, 2, 40 } };
	kern_path was = kern_current();
	kern_precision prec = kern_get_precision();
	kern_set_precision(KERN_BF16);
	for (int m = 2; m <= 4; m += 2)
	for (int s = 0; s < 7; s++) {
		int Ci = shapes[s][0], Co = shapes[s][1], H = shapes[s][2], W = shapes[s][3], N = 5;
		conv3x3_winograd_force(m);
		size_t P = (size_t)N * H * W;
		float *x = randv(Ci * P, 1.0f), *w = randv((size_t)Co * Ci * 9, 0.5f), *b = randv(Co, 0.5f);
		float *y1 = xmalloc(Co * P * sizeof(float)), *y2 = xmalloc(Co * P * sizeof(float));
		kern_use(KPATH_AVX512);
		conv3x3_winograd_forward(y1, x, w, b, Ci, Co, N, H, W, -1);
		kern_use(fast);
		conv3x3_winograd_forward(y2, x, w, b, Ci, Co, N, H, W, -1);
		double worst = 0.0, big = 1e-30;
		for (size_t i = 0; i < Co * P; i++)
			big = fmax(big, fabs(y1[i]));
		for (size_t i = 0; i < Co * P; i++)
			worst = fmax(worst, fabs(y1[i] - y2[i]) / big);
		printf("%s winograd F(%dx%d) bf16 pairs (%s) = emulated bf16, %d->%d channels, %dx%d (max error %.2g)\n",
		       worst < 1e-5 ? "ok  " : "FAIL", m, m, kern_path_name(fast), Ci, Co, H, W, worst);
		failures += worst >= 1e-5;
		free(x); free(w); free(b); free(y1); free(y2);
	}
	conv3x3_winograd_force(0);
	kern_use(was);
	kern_set_precision(prec);
}

/* The direct convolution (amx, bf16), forward and weight gradient, against
 * a double-precision reference of the bf16-rounded inputs. An entry fails
 * when it is off by more than (K + 8) 2^-22 sum |a b| + 1e-6 (K products
 * summed in fp32, twice the bound of test_kern for the tiles' own order of
 * sums). Skipped, and said so, where the CPU has no AMX. */
static double bfd(float v)
{
	return kern_round_bf16(v);
}

/* one shape of the direct convolution, G images at a time (kconv_force_group;
 * 0: the rule), N images: forward, weight and input gradients against the
 * reference, the weight gradient the same bytes twice and through the
 * layer. Returns the forward's output (the caller frees it), NULL on a
 * failure. */
static float *direct_case(int Ci, int Co, int H, int W, int N, int G)
{
	size_t HW = (size_t)H * W, P = N * HW, nw = (size_t)Co * Ci * 9;
	float *x = randv(Ci * P, 1.0f), *w = randv(nw, 0.5f), *b = randv(Co, 0.5f);
	float *dy = randv(Co * P, 1.0f), *y = xmalloc(Co * P * sizeof(float));
	float *dw = xcalloc(nw, sizeof(float)), *dw2 = xcalloc(nw, sizeof(float));
	int ok = kconv_ok(Ci, Co, H, W), badf = 0, badw = 0;
	kconv_force_group(G);
	int g = kconv_group(Ci, Co, H, W);
	conv3x3_direct_forward(y, x, w, b, Ci, Co, N, H, W, -1);
	conv3x3_direct_weight_grad(dw, dy, x, Ci, Co, N, H, W);
	conv3x3_direct_weight_grad(dw2, dy, x, Ci, Co, N, H, W);
	for (int co = 0; co < Co && !badf; co++)
		for (size_t p = 0; p < P; p++) {
			int n = p / HW, yy = p % HW / W, xx = p % W;
			double r = b[co], sa = fabs(b[co]);
			for (int ci = 0; ci < Ci; ci++)
				for (int t = 0; t < 9; t++) {
					int sy = yy + t / 3 - 1, sx = xx + t % 3 - 1;
					if (sy < 0 || sy >= H || sx < 0 || sx >= W)
						continue;
					double v = bfd(w[((size_t)co * Ci + ci) * 9 + t]) *
						   bfd(x[ci * P + n * HW + sy * W + sx]);
					r += v;
					sa += fabs(v);
				}
			if (fabs(y[co * P + p] - r) > (9.0 * Ci + 8) * ldexp(1, -22) * sa + 1e-6) {
				printf("    y[%d][%zu] = %.8g, reference %.8g\n", co, p, y[co * P + p], r);
				badf = 1;
				break;
			}
		}
	for (int co = 0; co < Co && !badw; co++)
		for (int ci = 0; ci < Ci && !badw; ci++)
			for (int t = 0; t < 9; t++) {
				double r = 0, sa = 0;
				for (size_t p = 0; p < P; p++) {
					int n = p / HW, yy = p % HW / W, xx = p % W;
					int sy = yy + t / 3 - 1, sx = xx + t % 3 - 1;
					if (sy < 0 || sy >= H || sx < 0 || sx >= W)
						continue;
					double v = bfd(dy[co * P + p]) * bfd(x[ci * P + n * HW + sy * W + sx]);
					r += v;
					sa += fabs(v);
				}
				float got = dw[((size_t)co * Ci + ci) * 9 + t];
				if (fabs(got - r) > ((double)P + 8) * ldexp(1, -22) * sa + 1e-6) {
					printf("    dw[%d][%d][%d] = %.8g, reference %.8g\n", co, ci, t, got, r);
					badw = 1;
					break;
				}
			}
	/* both gradients through the layer (conv3x3_backward: the direct
	 * path's input gradient is its forward of dy with the flipped
	 * weights): dinp against the reference, dw the same bytes as the
	 * weight gradient alone */
	float *dx = xmalloc(Ci * P * sizeof(float)), *dw3 = xcalloc(nw, sizeof(float));
	int badx = 0;
	conv3x3_backward(dx, dw3, NULL, dy, x, w, Ci, Co, N, H, W);
	for (int ci = 0; ci < Ci && !badx; ci++)
		for (size_t p = 0; p < P; p++) {
			int n = p / HW, yy = p % HW / W, xx = p % W;
			double r = 0, sa = 0;
			for (int co = 0; co < Co; co++)
				for (int t = 0; t < 9; t++) {
					int oy = yy - (t / 3 - 1), ox = xx - (t % 3 - 1);
					if (oy < 0 || oy >= H || ox < 0 || ox >= W)
						continue;
					double v = bfd(w[((size_t)co * Ci + ci) * 9 + t]) *
						   bfd(dy[co * P + n * HW + oy * W + ox]);
					r += v;
					sa += fabs(v);
				}
			if (fabs(dx[ci * P + p] - r) > (9.0 * Co + 8) * ldexp(1, -22) * sa + 1e-6) {
				printf("    dinp[%d][%zu] = %.8g, reference %.8g\n", ci, p, dx[ci * P + p], r);
				badx = 1;
				break;
			}
		}
	kconv_force_group(0);
	int same = memcmp(dw, dw2, nw * sizeof(float)) == 0 &&
		   memcmp(dw, dw3, nw * sizeof(float)) == 0;
	int pass = ok && !badf && !badw && !badx && same;
	printf("%s direct convolution (amx bf16) %d->%d channels, %d images %dx%d, %d at a time: "
	       "kconv_ok, forward, weight and input gradients = bf16 reference, same bytes twice\n",
	       pass ? "ok  " : "FAIL", Ci, Co, N, H, W, g);
	failures += !pass;
	free(x); free(w); free(b); free(dy); free(dw); free(dw2); free(dx); free(dw3);
	if (!pass) {
		free(y);
		return NULL;
	}
	return y;
}

static void test_direct(void)
{
	if (!kern_can_run(KPATH_AMX)) {
		printf("skip direct convolution: this CPU has no AMX (the only path with one)\n");
		return;
	}
	int shapes[][4] = { { 16, 16, 28, 28 }, { 32, 48, 7, 7 }, { 64, 64, 32, 32 },
			    { 16, 32, 1, 6 }, { 48, 16, 3, 17 }, { 128, 16, 8, 8 },
			    { 16, 128, 14, 14 }, { 32, 32, 2, 40 }, { 32, 64, 4, 16 },
			    { 16, 32, 5, 32 }, { 32, 32, 3, 16 },
			    /* 27 weight steps: forward_rows in two K chunks */
			    { 96, 32, 2, 16 },
			    /* row tiles over each other (W not a multiple of 16),
			     * an odd count of them; 27 steps with overlaps */
			    { 16, 16, 5, 21 }, { 64, 32, 3, 19 }, { 96, 32, 2, 40 },
			    /* one row high: every other row of a group's tall
			     * image a separator */
			    { 32, 32, 1, 16 }, { 16, 16, 1, 9 } };
	kern_path was = kern_current();
	kern_precision prec = kern_get_precision();
	kern_use(KPATH_AMX);
	kern_set_precision(KERN_BF16);
	for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
		int Ci = shapes[s][0], Co = shapes[s][1], H = shapes[s][2], W = shapes[s][3];
		/* 5 images (the same ones each time): one at a time, 2 (the
		 * last group short) and the rule's choice; the forward's sums
		 * run in the same order whatever the group, so its bytes are
		 * the same */
		int N = 5, gs[] = { 1, 2, 0 }, same = 1;
		size_t n = (size_t)Co * N * H * W;
		rng_t at = rng;
		float *y1 = direct_case(Ci, Co, H, W, N, 1);
		for (int i = 1; i < 3; i++) {
			rng = at;
			float *y = direct_case(Ci, Co, H, W, N, gs[i]);
			same = same && y && y1 && memcmp(y, y1, n * sizeof(float)) == 0;
			free(y);
		}
		free(y1);
		printf("%s direct convolution %d->%d %dx%d: the forward's bytes the same for groups of 1, 2 and the rule's\n",
		       same ? "ok  " : "FAIL", Ci, Co, H, W);
		failures += !same;
	}
	/* what it does not take: channels not a multiple of 16, narrow planes, fp32 */
	int refused = !kconv_ok(1, 16, 28, 28) && !kconv_ok(16, 8, 28, 28) && !kconv_ok(16, 16, 28, 5);
	kern_set_precision(KERN_FP32);
	refused = refused && !kconv_ok(16, 16, 28, 28);
	printf("%s direct convolution refuses odd channel counts, planes under 6 wide and fp32\n",
	       refused ? "ok  " : "FAIL");
	failures += !refused;
	kern_use(was);
	kern_set_precision(prec);
}

/* ---- Adam ---- */

static void test_adam(void)
{
	nn_params ps;
	nn_params_alloc(&ps, 2);
	ps.p[0] = 1.0f; ps.p[1] = -2.0f;
	ps.g[0] = 0.5f; ps.g[1] = -3.0f;
	adam_config cfg = adam_defaults(0.1f);
	cfg.weight_decay = 0.01f;
	adam_step(&ps, &cfg);
	/* step 1: m-hat = g, v-hat = g^2: p = p(1 - lr wd) - lr g/(|g| + eps) */
	double e0 = 1.0 * (1 - 0.001) - 0.1 * 0.5 / (0.5 + 1e-8);
	double e1 = -2.0 * (1 - 0.001) + 0.1 * 3.0 / (3.0 + 1e-8);
	int ok = fabs(ps.p[0] - e0) < 1e-6 && fabs(ps.p[1] - e1) < 1e-6;
	/* step 2 with g = 0: m = 0.09 g1, v = 0.000999 g1^2 */
	ps.g[0] = 0.0f;
	float before = ps.p[0];
	cfg.weight_decay = 0.0f;
	adam_step(&ps, &cfg);
	double m = 0.9 * 0.1 * 0.5, v = 0.999 * 0.001 * 0.25;
	double e2 = before - 0.1 / (1 - 0.81) * m / (sqrt(v) / sqrt(1 - 0.999 * 0.999) + 1e-8);
	ok = ok && fabs(ps.p[0] - e2) < 1e-5 && ps.step == 2;
	printf("%s adam/adamw steps match the closed form\n", ok ? "ok  " : "FAIL");
	failures += !ok;
	nn_params_free(&ps);
}

int main(void)
{
	rng_seed(&rng, 42);
	nn_set_threads(2);
	test_conv(0, "conv3x3 3x6 (im2col)", 3, 6);
	test_conv_ci(0, "conv3x3 5 in, 5x6 (winograd)", 5, 5, 6);
	test_conv_ci(0, "conv3x3 5 in, 9x8 (winograd)", 5, 9, 8);
	/* inputs of 1-4 channels (first layers) take im2col at any size */
	for (int ci = 1; ci <= 4; ci++) {
		char name[64];
		snprintf(name, sizeof name, "conv3x3 %d in, 9x8 (im2col)", ci);
		test_conv_ci(0, name, ci, 9, 8);
	}
	test_conv_ci(0, "conv3x3 1 in, 12x17 (im2col)", 1, 12, 17);
	test_conv(1, "conv1x1", 5, 6);
	test_conv(2, "convt2x2", 5, 6);
	/* planes one pixel high or wide, and 1x1 (deep U-Nets, tiny images) */
	static const int small[][2] = { { 1, 1 }, { 1, 5 }, { 5, 1 }, { 1, 2 }, { 2, 1 }, { 2, 2 },
					{ 3, 1 }, { 1, 4 }, { 4, 1 }, { 4, 4 } };
	for (size_t i = 0; i < sizeof small / sizeof small[0]; i++) {
		char name[64];
		int h = small[i][0], w = small[i][1];
		for (int kind = 0; kind < 3; kind++) {
			snprintf(name, sizeof name, "%s %dx%d", kind == 0 ? "conv3x3" : kind == 1 ?
				 "conv1x1" : "convt2x2", h, w);
			test_conv(kind, name, h, w);
		}
	}
	test_maxpool();
	test_pool_paths();
	test_batchnorm(0, 0);
	for (int a = 0; a < 4; a++)
		test_batchnorm(1, a);
	test_batchnorm_running();
	test_folded_inference();
	test_winograd();
	test_winograd_wgrad();
	test_winograd_pairs();
	test_direct();
	for (int a = 0; a < 4; a++)
		test_act(a);
	test_concat();
	test_loss(LOSS_BCE);
	test_loss(LOSS_MSE);
	test_loss(LOSS_CE);
	test_bce_extreme();
	test_adam();
	if (failures) {
		printf("test_layers: %d FAILED\n", failures);
		return 1;
	}
	printf("test_layers: all passed\n");
	return 0;
}
