/* test_cnn.c: the CNN classifier's new layers (global average pooling,
 * dropout, max pooling of odd sizes) and the whole network's backward
 * against central finite differences, in fp32; the classification loss on
 * (N,) labels; the frozen training step; a model round trip.
 *
 * Layer checks take L = sum(out * R) for a fixed random R (so dout = R),
 * as tests/unit/test_layers.c does: an entry fails when |analytic -
 * numeric| > TOL * max(1, |analytic|, |numeric|), TOL = 1e-2, eps 1e-2
 * (1e-3 near a kink: max pooling). The whole network (tanh, so without
 * kinks in the activation) is checked with L = sum(logits * R) over every
 * parameter, the same tolerance with floor 0.1, eps 3e-4: a step of 1e-2
 * in a weight moves some maximum of a pooling window to another place. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cnn.h"
#include "kern.h"
#include "gradcheck.h"

#define TOL 1e-2

static double dot(const float *a, const float *b, size_t n)
{
	double s = 0.0;
	for (size_t i = 0; i < n; i++)
		s += (double)a[i] * b[i];
	return s;
}

static void report(int ok, const char *what)
{
	printf("%s %s\n", ok ? "ok  " : "FAIL", what);
	failures += !ok;
}

/* ---- global average pooling ---- */

typedef struct {
	int C, N, H, W;
	float *inp, *out, *R;
} gap_ctx;

static double gap_loss(void *p)
{
	gap_ctx *c = p;
	gap_forward(c->out, c->inp, c->C, c->N, c->H, c->W);
	return dot(c->out, c->R, (size_t)c->C * c->N);
}

static void test_gap(int H, int W)
{
	gap_ctx c = { 3, 4, H, W, NULL, NULL, NULL };
	size_t nin = (size_t)c.C * c.N * H * W, nout = (size_t)c.C * c.N;
	char name[64];

	c.inp = randv(nin, 1.0f);
	c.out = xmalloc(nout * sizeof(float));
	c.R = randv(nout, 1.0f);
	float *dinp = randv(nin, 5.0f);   /* written, not accumulated */
	gap_loss(&c);
	gap_backward(dinp, c.R, c.C, c.N, H, W);
	snprintf(name, sizeof name, "global average pooling %dx%d dinp", H, W);
	gradcheck(name, gap_loss, &c, c.inp, dinp, 0.0f, nin, 1e-2f, 1.0, TOL);
	/* the forward is the mean of each plane */
	double worst = 0;
	gap_loss(&c);
	for (size_t pl = 0; pl < nout; pl++) {
		double s = 0;
		for (int i = 0; i < H * W; i++)
			s += c.inp[pl * H * W + i];
		worst = fmax(worst, fabs(s / (H * W) - c.out[pl]));
	}
	snprintf(name, sizeof name, "global average pooling %dx%d is the plane's mean (1e-6)", H, W);
	report(worst < 1e-6, name);
	free(c.inp); free(c.out); free(c.R); free(dinp);
}

/* ---- dropout ---- */

typedef struct {
	size_t n;
	float p;
	float *inp, *out, *mask, *R;
	uint64_t seed;
} drop_ctx;

static double drop_loss(void *p)
{
	drop_ctx *c = p;
	rng_t r;
	rng_seed(&r, c->seed);   /* the same mask at every evaluation */
	dropout_forward(c->out, c->mask, c->inp, c->n, c->p, &r);
	return dot(c->out, c->R, c->n);
}

static void test_dropout(float p)
{
	drop_ctx c = { 4000, p, NULL, NULL, NULL, NULL, 99 };
	char name[80];
	size_t zeros = 0, bad = 0;
	float keep = 1.0f / (1.0f - p);

	c.inp = randv(c.n, 1.0f);
	c.out = xmalloc(c.n * sizeof(float));
	c.mask = xmalloc(c.n * sizeof(float));
	c.R = randv(c.n, 1.0f);
	float *dinp = randv(c.n, 5.0f);
	drop_loss(&c);
	dropout_backward(dinp, c.R, c.mask, c.n);
	snprintf(name, sizeof name, "dropout p=%.2f dinp", p);
	gradcheck(name, drop_loss, &c, c.inp, dinp, 0.0f, c.n, 1e-2f, 1.0, TOL);
	for (size_t i = 0; i < c.n; i++) {
		zeros += c.mask[i] == 0.0f;
		bad += c.mask[i] != 0.0f && c.mask[i] != keep;
	}
	/* the dropped fraction: binomial, 4000 draws, within 5 standard deviations */
	double sd = sqrt(p * (1 - p) / c.n) + 1e-12;
	snprintf(name, sizeof name, "dropout p=%.2f: %zu of %zu dropped (within 5 sd), the rest x 1/(1-p)",
		 p, zeros, c.n);
	report(bad == 0 && fabs((double)zeros / c.n - p) <= 5 * sd, name);
	free(c.inp); free(c.out); free(c.mask); free(c.R); free(dinp);
}

/* ---- max pooling of odd sizes (the CNN's 7x7 -> 3x3) ---- */

typedef struct {
	int C, N, H, W;
	float *inp, *out, *R;
	uint8_t *am;
} pool_ctx;

static double pool_loss(void *p)
{
	pool_ctx *c = p;
	maxpool_forward(c->out, c->am, c->inp, c->C, c->N, c->H, c->W);
	return dot(c->out, c->R, (size_t)c->C * c->N * (c->H / 2) * (c->W / 2));
}

static void test_pool_odd(int H, int W)
{
	pool_ctx c = { 2, 3, H, W, NULL, NULL, NULL, NULL };
	size_t nin = (size_t)c.C * c.N * H * W, nout = (size_t)c.C * c.N * (H / 2) * (W / 2);
	int64_t *perm = xmalloc(nin * sizeof *perm);
	char name[64];

	for (size_t i = 0; i < nin; i++)
		perm[i] = (int64_t)i;
	rng_shuffle(&rng, perm, (int64_t)nin);
	c.inp = xmalloc(nin * sizeof(float));
	for (size_t i = 0; i < nin; i++)
		c.inp[i] = 0.01f * (float)perm[i] - 0.5f;   /* no ties within eps */
	c.out = xmalloc(nout * sizeof(float));
	c.am = xmalloc(nout);
	c.R = randv(nout, 1.0f);
	float *dinp = xcalloc(nin, sizeof(float));
	pool_loss(&c);
	maxpool_backward(dinp, c.R, c.am, c.C, c.N, H, W);
	snprintf(name, sizeof name, "maxpool %dx%d (last row/column dropped) dinp", H, W);
	gradcheck(name, pool_loss, &c, c.inp, dinp, 0.0f, nin, 1e-3f, 1.0, TOL);
	free(perm); free(c.inp); free(c.out); free(c.am); free(c.R); free(dinp);
}

/* ---- the whole network ---- */

typedef struct {
	cnn *c;
	float *x, *R;
	int B;
} net_ctx;

static double net_loss(void *p)
{
	net_ctx *n = p;
	cnn_forward(n->c, n->x, n->B, 1);
	return dot(n->c->logits, n->R, (size_t)n->c->cfg.classes * n->B);
}

/* the network's backward from dlogits = R, every parameter (the first
 * block computes no input gradient: nothing consumes it) */
static void test_network(int H, int W, float dropout)
{
	cnn_config cfg = { 2, 3, 2, 2, 3, ACT_TANH, dropout };
	enum { B = 3 };
	net_ctx n = { cnn_create(&cfg, B, H, W), NULL, NULL, B };
	size_t nx = (size_t)B * 2 * H * W, np = n.c->params.n;
	char name[96];

	cnn_init_params(n.c, 5);
	n.x = randv(nx, 1.0f);
	n.R = randv((size_t)cfg.classes * B, 1.0f);
	/* parameter gradients start at 1: backward accumulates */
	net_loss(&n);
	init_fill(n.c->params.g, np, 1.0f);
	memcpy(n.c->dlogits, n.R, (size_t)cfg.classes * B * sizeof(float));
	cnn_backward(n.c, B);
	float *g = xmalloc(np * sizeof(float));
	memcpy(g, n.c->params.g, np * sizeof(float));
	snprintf(name, sizeof name, "cnn %dx%d, 2 stages of 2, dropout %.1f: every parameter",
		 H, W, dropout);
	/* under F(2x2,3x3): F(4x4,3x3)'s fp32 rounding, about 1e-6 of the
	 * loss, over 2 eps is 2e-3, a fifth of the tolerance, and eps cannot
	 * grow past the max pools' kinks (1e-3 crosses one on every path);
	 * test_layers checks F(4x4,3x3) against the direct convolution */
	conv3x3_winograd_force(2);
	gradcheck(name, net_loss, &n, n.c->params.p, g, 1.0f, np, 3e-4f, 0.1, TOL);
	conv3x3_winograd_force(0);
	free(g);
	free(n.x); free(n.R);
	cnn_free(n.c);
}

/* the classification loss on (N,) labels: the mean cross-entropy of the
 * softmax, against a direct computation; and its gradient by differences */
typedef struct {
	cnn *c;
	float *x;
	uint8_t *y;
	int B;
} ce_ctx;

static double ce_loss_fn(void *p)
{
	ce_ctx *e = p;
	cnn_forward(e->c, e->x, e->B, 1);
	return cnn_loss(e->c, e->y, e->B);
}

static void test_classifier_loss(void)
{
	cnn_config cfg = { 1, 4, 1, 1, 3, ACT_TANH, 0.0f };
	enum { B = 5, H = 4, W = 4 };
	ce_ctx e = { cnn_create(&cfg, B, H, W), NULL, NULL, B };
	uint8_t y[B] = { 0, 3, 1, 2, 3 };
	double want = 0;
	float prob[B * 4];

	cnn_init_params(e.c, 3);
	e.x = randv(B * H * W, 1.0f);
	e.y = y;
	float got = (float)ce_loss_fn(&e);
	cnn_probabilities(e.c, prob);
	double sum_err = 0;
	for (int b = 0; b < B; b++) {
		double mx = -INFINITY, s = 0, t = 0;
		for (int k = 0; k < 4; k++)
			mx = fmax(mx, e.c->logits[k * B + b]);
		for (int k = 0; k < 4; k++)
			s += exp(e.c->logits[k * B + b] - mx);
		want += log(s) - (e.c->logits[y[b] * B + b] - mx);
		for (int k = 0; k < 4; k++)
			t += prob[b * 4 + k];
		sum_err = fmax(sum_err, fabs(t - 1));
	}
	want /= B;
	report(fabs(got - want) <= 1e-6 * fmax(1, want),
	       "classifier loss: the mean cross-entropy of the softmax over (N,) labels (1e-6)");
	report(sum_err < 1e-6, "cnn_probabilities: each row sums to 1 (1e-6)");
	/* its gradient through the whole network */
	size_t np = e.c->params.n;
	nn_params_zero_grad(&e.c->params);
	ce_loss_fn(&e);
	cnn_backward(e.c, B);
	float *g = xmalloc(np * sizeof(float));
	memcpy(g, e.c->params.g, np * sizeof(float));
	gradcheck("classifier loss: every parameter", ce_loss_fn, &e, e.c->params.p, g, 0.0f, np,
		  1e-2f, 0.01, TOL);
	free(g);
	free(e.x);
	cnn_free(e.c);
}

/* frozen: only the head moves, even with weight decay; the statistics stay */
static void test_freeze(void)
{
	cnn_config cfg = { 1, 3, 2, 1, 4, ACT_RELU, 0.5f };
	enum { B = 4, H = 6, W = 6 };
	cnn *c = cnn_create(&cfg, B, H, W);
	uint8_t y[B] = { 0, 1, 2, 1 };
	float *x = randv(B * H * W, 1.0f);
	adam_config opt = adam_defaults(0.01f);

	opt.weight_decay = 0.1f;
	cnn_init_params(c, 11);
	c->freeze = 1;
	size_t np = c->params.n, lo = c->head_w;
	float *p0 = xmalloc(np * sizeof(float)), *s0 = xmalloc(c->nstats * sizeof(float));
	memcpy(p0, c->params.p, np * sizeof(float));
	memcpy(s0, c->stats, c->nstats * sizeof(float));
	for (int i = 0; i < 3; i++)
		cnn_train_step(c, x, y, B, &opt);
	int same = !memcmp(p0, c->params.p, lo * sizeof(float)) &&
		   !memcmp(s0, c->stats, c->nstats * sizeof(float));
	int moved = memcmp(p0 + lo, c->params.p + lo, (np - lo) * sizeof(float)) != 0;
	int adam_zero = 1;
	for (size_t i = 0; i < lo; i++)
		adam_zero &= c->params.m[i] == 0 && c->params.v[i] == 0;
	report(same && moved && adam_zero && c->params.step == 3,
	       "frozen: 3 steps move the head only; features, statistics, their Adam state unchanged");
	free(p0); free(s0); free(x);
	cnn_free(c);
}

/* a model round trip: the same probabilities, bit for bit */
static void test_model(void)
{
	cnn_config cfg = { 2, 5, 2, 2, 4, ACT_LEAKY_RELU, 0.25f };
	enum { B = 3, H = 7, W = 9 };
	cnn *c = cnn_create(&cfg, B, H, W), *d;
	float *x = randv(B * 2 * H * W, 1.0f), p[B * 5], q[B * 5];
	uint8_t y[B] = { 4, 0, 2 };
	adam_config opt = adam_defaults(0.01f);
	char path[] = "/tmp/test_cnn_XXXXXX";
	int fd = mkstemp(path);
	model m;

	if (fd < 0)
		die("mkstemp:");
	close(fd);
	cnn_init_params(c, 2);
	cnn_train_step(c, x, y, B, &opt);   /* running statistics and Adam state not trivial */
	cnn_forward(c, x, B, 0);
	cnn_probabilities(c, p);
	model_init(&m, "cnn");
	cnn_to_model(&m, c, 1);
	model_save(&m, path);
	model_free(&m);
	model_read(&m, path);
	d = cnn_from_model(&m, path, B, 0, 0);
	cnn_forward(d, x, B, 0);
	cnn_probabilities(d, q);
	report(!memcmp(p, q, sizeof p) && d->params.step == 1 && d->cfg.dropout == 0.25f &&
	       d->cfg.convs == 2 && d->cfg.act == ACT_LEAKY_RELU && d->H == H && d->W == W &&
	       !memcmp(c->params.m, d->params.m, c->params.n * sizeof(float)),
	       "model round trip: architecture, Adam state and the same probabilities, bit for bit");
	size_t np, ns;
	cnn_sizes(&cfg, &np, &ns);
	report(np == c->params.n && ns == c->nstats && m.nparams == np,
	       "cnn_sizes agrees with the network built");
	model_free(&m);
	unlink(path);
	free(x);
	cnn_free(c);
	cnn_free(d);
}

int main(void)
{
	rng_seed(&rng, 42);
	nn_set_threads(2);
	kern_set_precision(KERN_FP32);
	test_gap(5, 6);
	test_gap(1, 1);
	test_gap(7, 7);
	test_dropout(0.0f);
	test_dropout(0.3f);
	test_dropout(0.75f);
	test_pool_odd(7, 7);
	test_pool_odd(5, 6);
	test_pool_odd(3, 2);
	test_network(8, 8, 0.0f);
	test_network(7, 5, 0.0f);
	test_network(6, 6, 0.5f);
	test_classifier_loss();
	test_freeze();
	test_model();
	/* the default network's size (cnn.h) */
	cnn_config def = cnn_defaults();
	size_t np, ns;
	cnn_sizes(&def, &np, &ns);
	printf("default network: %zu parameters, %zu statistics\n", np, ns);
	report(np < 1000000, "the default network has fewer than 1M parameters");
	if (failures) {
		printf("test_cnn: %d FAILED\n", failures);
		return 1;
	}
	printf("test_cnn: all passed\n");
	return 0;
}
