/* test_mlp.c: the dense layer and whole MLPs against central finite
 * differences, and a small MLP learning XOR-like data.
 *
 * Gradient checks compare every entry with (L(x+eps) - L(x-eps)) / 2eps,
 * eps = 1e-2, L summed in double. An entry fails when
 * |analytic - numeric| > TOL * max(|analytic|, |numeric|, FLOOR), TOL = 1e-2,
 * FLOOR = 1e-3 (float rounding of the loss gives numeric errors of about
 * 1e-6). The networks use smooth activations (tanh, sigmoid, linear), so
 * no kink falls between x-eps and x+eps; the derivatives of relu and
 * leaky_relu are tested in test_layers. Parameter gradients of the layer
 * start at 1, so the check also shows that backward accumulates (+=).
 * Any failure exits 1. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlp.h"
#include "gradcheck.h"

#define TOL 1e-2
#define FLOOR 1e-3
#define EPS 1e-2f


/* ---- the dense layer: L = sum(out * R) ---- */

typedef struct {
	int B, In, Out;
	float *inp, *w, *b, *out, *R;
} lin_ctx;

static double lin_loss(void *p)
{
	lin_ctx *c = p;
	double s = 0.0;

	linear_forward(c->out, c->inp, c->w, c->b, c->B, c->In, c->Out);
	for (int i = 0; i < c->B * c->Out; i++)
		s += (double)c->out[i] * c->R[i];
	return s;
}

static void test_linear(int B, int In, int Out)
{
	lin_ctx c = { B, In, Out, randv((size_t)B * In, 1), randv((size_t)Out * In, 0.5f),
		      randv((size_t)Out, 0.5f), xmalloc((size_t)B * Out * sizeof(float)),
		      randv((size_t)B * Out, 1) };
	float *dinp = xmalloc((size_t)B * In * sizeof(float));
	float *dw = xmalloc((size_t)Out * In * sizeof(float)), *db = xmalloc((size_t)Out * sizeof(float));
	char name[64];

	init_fill(dw, (size_t)Out * In, 1.0f);
	init_fill(db, (size_t)Out, 1.0f);
	linear_backward(dinp, dw, db, c.R, c.inp, c.w, B, In, Out);
	snprintf(name, sizeof name, "linear %dx%d->%d dinp", B, In, Out);
	gradcheck(name, lin_loss, &c, c.inp, dinp, 0.0f, (size_t)B * In, EPS, FLOOR, TOL);
	snprintf(name, sizeof name, "linear %dx%d->%d dw", B, In, Out);
	gradcheck(name, lin_loss, &c, c.w, dw, 1.0f, (size_t)Out * In, EPS, FLOOR, TOL);
	snprintf(name, sizeof name, "linear %dx%d->%d db", B, In, Out);
	gradcheck(name, lin_loss, &c, c.b, db, 1.0f, (size_t)Out, EPS, FLOOR, TOL);

	/* the forward against a plain loop, to 1e-5 relative */
	double worst = 0.0;
	linear_forward(c.out, c.inp, c.w, c.b, B, In, Out);
	for (int r = 0; r < B; r++)
		for (int o = 0; o < Out; o++) {
			double s = c.b[o];
			for (int i = 0; i < In; i++)
				s += (double)c.inp[r * In + i] * c.w[o * In + i];
			worst = fmax(worst, fabs(s - c.out[r * Out + o]) / fmax(1.0, fabs(s)));
		}
	if (worst > 1e-5) {
		printf("FAIL linear forward: error %.3g > 1e-5\n", worst);
		failures++;
	} else {
		printf("ok   linear forward (max error %.2g)\n", worst);
	}
	free(c.inp); free(c.w); free(c.b); free(c.out); free(c.R);
	free(dinp); free(dw); free(db);
}

/* ---- a whole MLP: L = its mean loss ---- */

typedef struct {
	mlp *m;
	float *x, *y;
	int B;
} net_ctx;

static double net_loss(void *p)
{
	net_ctx *c = p;

	mlp_forward(c->m, c->x, c->B, NULL);
	return mlp_loss(c->m, c->y);
}

static void test_net(const char *layers, const char *acts, loss_kind loss, int B)
{
	int size[MLP_MAX_LAYERS], act[MLP_MAX_LAYERS];
	int ns = mlp_parse_sizes(layers, size, MLP_MAX_LAYERS);
	int na = mlp_parse_acts(acts, act, MLP_MAX_LAYERS);
	char err[128], name[160];
	mlp *m;
	net_ctx c;

	if (ns < 2 || na != ns - 1) {
		printf("FAIL parse %s / %s\n", layers, acts);
		failures++;
		return;
	}
	m = mlp_create(ns - 1, size, act, loss, err, sizeof err);
	if (!m) {
		printf("FAIL create %s: %s\n", layers, err);
		failures++;
		return;
	}
	mlp_init_params(m, 7);
	/* nonzero biases, so their gradients are tested where they matter */
	for (int l = 0; l < m->L; l++)
		for (int o = 0; o < size[l + 1]; o++)
			m->params.p[m->boff[l] + o] = 0.1f * rng_normal(&rng);
	c.m = m;
	c.B = B;
	c.x = randv((size_t)B * size[0], 1);
	c.y = xmalloc((size_t)B * size[ns - 1] * sizeof(float));
	for (int i = 0; i < B * size[ns - 1]; i++)
		c.y[i] = (float)rng_uniform(&rng);   /* targets in [0,1] */
	nn_params_zero_grad(&m->params);
	mlp_forward_backward(m, c.x, c.y, B);
	float *g = xmalloc(m->params.n * sizeof(float));
	memcpy(g, m->params.g, m->params.n * sizeof(float));
	snprintf(name, sizeof name, "mlp %s %s %s: all %zu parameters", layers, acts,
		 loss_name(loss), m->params.n);
	gradcheck(name, net_loss, &c, m->params.p, g, 0.0f, m->params.n, EPS, FLOOR, TOL);
	free(g);
	free(c.x);
	free(c.y);
	mlp_free(m);
}

/* ---- learning: XOR-like data ----
 * 256 points uniform in [-1,1]^2, label 1 where x0 x1 > 0. A 2-16-16-1
 * relu/relu/sigmoid network with bce and Adam (lr 1e-2, full batch, 1500
 * steps) must classify at least 95% of them and bring the loss below 0.15;
 * a linear model cannot beat about 50%. */
static void test_xor(void)
{
	enum { N = 256 };
	int size[] = { 2, 16, 16, 1 }, act[] = { ACT_RELU, ACT_RELU, ACT_SIGMOID };
	float x[N * 2], y[N], p[N], loss = 0.0f;
	char err[128];
	mlp *m = mlp_create(3, size, act, LOSS_BCE, err, sizeof err);
	adam_config opt = adam_defaults(1e-2f);
	int right = 0;

	for (int i = 0; i < N; i++) {
		x[2 * i] = (float)(2.0 * rng_uniform(&rng) - 1.0);
		x[2 * i + 1] = (float)(2.0 * rng_uniform(&rng) - 1.0);
		y[i] = x[2 * i] * x[2 * i + 1] > 0.0f;
	}
	mlp_init_params(m, 3);
	for (int step = 0; step < 1500; step++)
		loss = mlp_train_step(m, x, y, N, &opt);
	mlp_forward(m, x, N, p);
	for (int i = 0; i < N; i++)
		right += (p[i] > 0.5f) == (y[i] > 0.5f);
	if (right < 0.95 * N || loss > 0.15f) {
		printf("FAIL xor: %d/%d right, loss %.4f (want >= 95%%, < 0.15)\n", right, N, loss);
		failures++;
	} else {
		printf("ok   xor: %d/%d right, loss %.4f\n", right, N, loss);
	}
	mlp_free(m);
}

/* ---- parsing ---- */
static void test_parse(void)
{
	int v[MLP_MAX_LAYERS];
	struct { const char *s; int acts, want; } cases[] = {
		{ "784,256,2", 0, 3 }, { "784", 0, -1 }, { "784,,2", 0, -1 }, { "784,0", 0, -1 },
		{ "7x,2", 0, -1 }, { "784,2,", 0, -1 }, { "relu,linear,none,sigmoid", 1, 4 },
		{ "relu,soft", 1, -1 }, { "", 1, -1 },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int got = cases[i].acts ? mlp_parse_acts(cases[i].s, v, MLP_MAX_LAYERS)
					: mlp_parse_sizes(cases[i].s, v, MLP_MAX_LAYERS);
		if (got != cases[i].want) {
			printf("FAIL parse '%s': %d, want %d\n", cases[i].s, got, cases[i].want);
			failures++;
		}
	}
	printf("ok   parse\n");
}

int main(void)
{
	rng_seed(&rng, 42);
	test_parse();
	/* the layer split into 3 chunks (more than the batch in one case), and
	 * whole; the networks single-threaded, which is quickest for tiny ones */
	nn_set_threads(3);
	test_linear(1, 1, 1);
	test_linear(5, 7, 3);
	test_linear(9, 4, 11);
	nn_set_threads(1);
	test_linear(9, 4, 11);
	test_net("6,7,5,4", "tanh,linear,sigmoid", LOSS_MSE, 4);
	test_net("5,8,3", "tanh,sigmoid", LOSS_BCE, 3);
	test_net("4,6,6,2", "sigmoid,tanh,linear", LOSS_MSE, 5);
	test_xor();
	if (failures) {
		printf("%d check(s) failed\n", failures);
		return 1;
	}
	printf("all mlp checks passed\n");
	return 0;
}
