/* cnn.c: the CNN classifier's layers (global average pooling, dropout),
 * its forward, loss and backward passes over (C,N,H,W) activations, and
 * its model files; see cnn.h for the architecture and the parameter order. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "canvas.h"
#include "cnn.h"

/* ---- layers ---- */

void gap_forward(float *out, const float *inp, int C, int N, int H, int W)
{
	long planes = (long)C * N;
	size_t HW = (size_t)H * W;

	#pragma omp parallel for schedule(static)
	for (long pl = 0; pl < planes; pl++) {
		const float *x = inp + pl * HW;
		double s = 0;
		for (size_t i = 0; i < HW; i++)
			s += x[i];
		out[pl] = (float)(s / (double)HW);
	}
}

void gap_backward(float *dinp, const float *dout, int C, int N, int H, int W)
{
	long planes = (long)C * N;
	size_t HW = (size_t)H * W;
	float inv = 1.0f / (float)HW;

	#pragma omp parallel for schedule(static)
	for (long pl = 0; pl < planes; pl++) {
		float g = dout[pl] * inv, *d = dinp + pl * HW;
		for (size_t i = 0; i < HW; i++)
			d[i] = g;
	}
}

void dropout_forward(float *out, float *mask, const float *inp, size_t n, float p, rng_t *rng)
{
	float keep = 1.0f / (1.0f - p);

	for (size_t i = 0; i < n; i++) {
		mask[i] = p > 0 && rng_uniform(rng) < p ? 0.0f : p > 0 ? keep : 1.0f;
		out[i] = inp[i] * mask[i];
	}
}

void dropout_backward(float *dinp, const float *dout, const float *mask, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dinp[i] = dout[i] * mask[i];
}

/* ---- the network ---- */

cnn_config cnn_defaults(void)
{
	cnn_config c = { 1, 10, 3, 2, 32, ACT_RELU, 0.0f };
	return c;
}

int cnn_check(const cnn_config *c, char *err, size_t errlen)
{
	if (c->in_channels < 1 || c->in_channels > 4096)
		snprintf(err, errlen, "in_channels %d out of range 1..4096", c->in_channels);
	else if (c->classes < 2 || c->classes > 256)
		snprintf(err, errlen, "%d classes, out of range 2..256", c->classes);
	else if (c->stages < 1 || c->stages > CNN_MAX_STAGES)
		snprintf(err, errlen, "%d stages, out of range 1..%d", c->stages, CNN_MAX_STAGES);
	else if (c->convs < 1 || c->convs > CNN_MAX_CONVS)
		snprintf(err, errlen, "%d convolutions per stage, out of range 1..%d", c->convs,
			 CNN_MAX_CONVS);
	else if (c->filters < 1 || ((long)c->filters << (c->stages - 1)) > 4096)
		snprintf(err, errlen, "filters %d too many for %d stages (at most 4096 in the last)",
			 c->filters, c->stages);
	else if ((int)c->act < 0 || c->act > ACT_SIGMOID)
		snprintf(err, errlen, "unknown activation %d", (int)c->act);
	else if (!(c->dropout >= 0 && c->dropout <= 0.95f))
		snprintf(err, errlen, "dropout %g out of range 0..0.95", c->dropout);
	else
		return 0;
	return -1;
}

static void check_config(const cnn_config *c)
{
	char err[128];

	if (cnn_check(c, err, sizeof err) < 0)
		die("cnn: %s", err);
}

int cnn_min_size(const cnn_config *cfg) { return 1 << (cfg->stages - 1); }
int cnn_features(const cnn_config *cfg) { return cfg->filters << (cfg->stages - 1); }

/* the layout of parameters and statistics in the documented order; with
 * blocks NULL only counted */
static void layout(const cnn_config *c, conv_block *blocks, size_t *np, size_t *ns,
		   size_t *head_w, size_t *head_b)
{
	nn_layout p = { 0 }, s = { 0 };
	int k = 0, ci = c->in_channels;

	for (int st = 0; st < c->stages; st++)
		for (int j = 0; j < c->convs; j++, k++) {
			int co = c->filters << st;
			conv_block b;
			/* stage st runs at 1/2^st: its level */
			conv_block_layout(&b, &p, &s, ci, co, st);
			if (blocks)
				blocks[k] = b;
			ci = co;
		}
	*head_w = nn_layout_add(&p, (size_t)c->classes * ci);
	*head_b = nn_layout_add(&p, c->classes);
	*np = p.total;
	*ns = s.total;
	nn_layout_free(&p);
	nn_layout_free(&s);
}

void cnn_sizes(const cnn_config *cfg, size_t *nparams, size_t *nstats)
{
	size_t hw, hb;

	check_config(cfg);
	layout(cfg, NULL, nparams, nstats, &hw, &hb);
}

static float *fbuf(size_t n)
{
	return xcalloc(n ? n : 1, sizeof(float));
}

/* the height and width of stage s */
static int stage_h(const cnn *c, int s) { return c->H >> s; }
static int stage_w(const cnn *c, int s) { return c->W >> s; }

cnn *cnn_create(const cnn_config *cfg, int max_batch, int H, int W)
{
	cnn *c;
	int S = cfg->stages, F = cnn_features(cfg), K = cfg->classes, m = cnn_min_size(cfg);
	size_t np;

	check_config(cfg);
	if (max_batch < 1 || max_batch > 65536 || H < 1 || W < 1 || (long)H * W > (1L << 26))
		die("cnn: bad size: batch %d, %d x %d", max_batch, H, W);
	if (H < m || W < m)
		die("images of %d x %d are too small for %d stages (at least %d x %d)", W, H, S, m, m);
	c = xcalloc(1, sizeof *c);
	c->cfg = *cfg;
	c->H = H;
	c->W = W;
	c->max_batch = max_batch;
	c->nblocks = S * cfg->convs;
	c->blocks = xcalloc(c->nblocks, sizeof *c->blocks);
	layout(cfg, c->blocks, &np, &c->nstats, &c->head_w, &c->head_b);
	nn_params_alloc(&c->params, np);
	c->folded = fbuf(np);
	c->stats = fbuf(c->nstats);
	for (int i = 0; i < c->nblocks; i++) {
		conv_block *b = &c->blocks[i];
		conv_block_alloc(b, (size_t)max_batch * stage_h(c, b->level) * stage_w(c, b->level), 1);
	}
	c->pool = xcalloc(S, sizeof(float *));
	c->dpool = xcalloc(S, sizeof(float *));
	c->argmax = xcalloc(S, sizeof(uint8_t *));
	for (int s = 0; s + 1 < S; s++) {
		size_t n = (size_t)(cfg->filters << s) * max_batch * stage_h(c, s + 1) * stage_w(c, s + 1);
		c->pool[s] = fbuf(n);
		c->dpool[s] = fbuf(n);
		c->argmax[s] = xcalloc(n ? n : 1, 1);
	}
	c->x = fbuf((size_t)cfg->in_channels * max_batch * H * W);
	c->feat = fbuf((size_t)F * max_batch);
	c->dfeat = fbuf((size_t)F * max_batch);
	c->mask = fbuf((size_t)F * max_batch);
	c->logits = fbuf((size_t)K * max_batch);
	c->dlogits = fbuf((size_t)K * max_batch);
	c->out = fbuf((size_t)(F > K ? F : K) * max_batch);
	return c;
}

void cnn_free(cnn *c)
{
	if (!c)
		return;
	for (int i = 0; i < c->nblocks; i++)
		conv_block_free(&c->blocks[i]);
	for (int s = 0; s < c->cfg.stages; s++) {
		free(c->pool[s]); free(c->dpool[s]); free(c->argmax[s]);
	}
	free(c->pool); free(c->dpool); free(c->argmax); free(c->blocks);
	free(c->folded); free(c->stats); free(c->x);
	free(c->feat); free(c->dfeat); free(c->mask);
	free(c->logits); free(c->dlogits); free(c->out);
	nn_params_free(&c->params);
	free(c);
}

/* the head's weight, Glorot uniform from rng; bias 0 */
static void init_head(cnn *c, rng_t *rng)
{
	int F = cnn_features(&c->cfg), K = c->cfg.classes;
	float a = sqrtf(6.0f / (float)(F + K)), *w = c->params.p + c->head_w;

	for (size_t i = 0; i < (size_t)K * F; i++)
		w[i] = a * (float)(2.0 * rng_uniform(rng) - 1.0);
	init_fill(c->params.p + c->head_b, K, 0.0f);
}

void cnn_init_params(cnn *c, uint64_t seed)
{
	rng_t rng;
	float *p = c->params.p;

	rng_seed(&rng, seed);
	for (int i = 0; i < c->nblocks; i++)
		conv_block_init(&c->blocks[i], p, c->stats, &rng);
	init_head(c, &rng);
	memset(c->params.g, 0, c->params.n * sizeof(float));
	memset(c->params.m, 0, c->params.n * sizeof(float));
	memset(c->params.v, 0, c->params.n * sizeof(float));
	c->params.step = 0;
	c->seed = seed;
}

void cnn_init_head(cnn *c, uint64_t seed)
{
	rng_t rng;
	size_t lo = c->head_w, n = c->params.n - lo;

	rng_seed(&rng, seed ^ 0x6865616421ULL);
	init_head(c, &rng);
	memset(c->params.m + lo, 0, n * sizeof(float));
	memset(c->params.v + lo, 0, n * sizeof(float));
}

/* bind: point the blocks at their inputs for a batch of N */
static void bind(cnn *c)
{
	for (int i = 0; i < c->nblocks; i++) {
		conv_block *b = &c->blocks[i];
		int first = i % c->cfg.convs == 0;
		if (i == 0) {
			b->in = c->x;
			b->din = NULL;
		} else if (first) {
			b->in = c->pool[b->level - 1];
			b->din = c->dpool[b->level - 1];
		} else {
			b->in = c->blocks[i - 1].a;
			b->din = c->blocks[i - 1].da;
		}
	}
}

/* what the blocks share for a pass */
static conv_block_net block_net(cnn *c)
{
	conv_block_net n = { .p = c->params.p, .g = c->params.g, .folded = c->folded,
			     .stats = c->stats, .act = c->cfg.act, .H = c->H, .W = c->W };
	return n;
}

void cnn_forward(cnn *c, const float *x, int B, int train)
{
	int S = c->cfg.stages, L = c->nblocks, F = cnn_features(&c->cfg), K = c->cfg.classes;
	int features_train = train && !c->freeze;
	float *p = c->params.p;
	conv_block_net net = block_net(c);

	if (B < 1 || B > c->max_batch)
		die("cnn: batch of %d, but the network was made for at most %d", B, c->max_batch);
	bind(c);
	c->last_batch = B;
	c->last_train = train;
	canvas_load(c->x, x, c->cfg.in_channels, B, c->H, c->W, c->H, c->W);
	for (int i = 0; i < L; i++) {
		conv_block *b = &c->blocks[i];
		conv_block_forward(b, &net, B, features_train);
		if ((i + 1) % c->cfg.convs == 0 && b->level + 1 < S)
			maxpool_forward(c->pool[b->level], c->argmax[b->level], b->a, b->co, B,
					stage_h(c, b->level), stage_w(c, b->level));
	}
	gap_forward(c->feat, c->blocks[L - 1].a, F, B, stage_h(c, S - 1), stage_w(c, S - 1));
	if (train && c->cfg.dropout > 0) {
		rng_t r;
		/* a mask per step: from the seed and the Adam step, so a resumed
		 * run draws the masks an uninterrupted one would */
		rng_seed(&r, c->seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(c->params.step + 1)));
		dropout_forward(c->feat, c->mask, c->feat, (size_t)F * B, c->cfg.dropout, &r);
	}
	conv1x1_forward(c->logits, c->feat, p + c->head_w, p + c->head_b, F, K, B, 1, 1);
}

void cnn_probabilities(cnn *c, float *out)
{
	int B = c->last_batch, K = c->cfg.classes;

	for (int n = 0; n < B; n++) {
		float *o = out + (size_t)n * K, mx = c->logits[n], sum = 0;
		for (int k = 1; k < K; k++)
			mx = fmaxf(mx, c->logits[(size_t)k * B + n]);
		for (int k = 0; k < K; k++)
			sum += o[k] = expf(c->logits[(size_t)k * B + n] - mx);
		for (int k = 0; k < K; k++)
			o[k] /= sum;
	}
}

const float *cnn_features_out(cnn *c)
{
	int B = c->last_batch, F = cnn_features(&c->cfg);

	for (int n = 0; n < B; n++)
		for (int f = 0; f < F; f++)
			c->out[(size_t)n * F + f] = c->feat[(size_t)f * B + n];
	return c->out;
}

float cnn_loss(cnn *c, const uint8_t *labels, int B)
{
	if (B != c->last_batch)
		die("cnn_loss: batch %d, but the forward pass had %d", B, c->last_batch);
	return softmax_ce_loss(c->dlogits, c->logits, labels, c->cfg.classes, (size_t)B);
}

void cnn_backward(cnn *c, int B)
{
	int S = c->cfg.stages, L = c->nblocks, F = cnn_features(&c->cfg), K = c->cfg.classes;
	float *p = c->params.p, *g = c->params.g;
	conv_block_net net = block_net(c);

	if (B != c->last_batch || !c->last_train)
		die("cnn_backward: batch %d after a forward pass of %d (%s)", B, c->last_batch,
		    c->last_train ? "training" : "inference");
	conv1x1_backward(c->freeze ? NULL : c->dfeat, g + c->head_w, g + c->head_b, c->dlogits,
			 c->feat, p + c->head_w, F, K, B, 1, 1);
	if (c->freeze)
		return;
	if (c->cfg.dropout > 0)
		dropout_backward(c->dfeat, c->dfeat, c->mask, (size_t)F * B);
	gap_backward(c->blocks[L - 1].da, c->dfeat, F, B, stage_h(c, S - 1), stage_w(c, S - 1));
	for (int i = L - 1; i >= 0; i--) {
		conv_block *b = &c->blocks[i];
		conv_block_backward(b, &net, B);
		if (i > 0 && i % c->cfg.convs == 0) {
			/* the first block of a stage: through the pooling into the
			 * last block of the stage before */
			conv_block *prev = &c->blocks[i - 1];
			int h = stage_h(c, prev->level), w = stage_w(c, prev->level);
			memset(prev->da, 0, (size_t)prev->co * B * h * w * sizeof(float));
			maxpool_backward(prev->da, c->dpool[prev->level], c->argmax[prev->level],
					 prev->co, B, h, w);
		}
	}
}

float cnn_grad(cnn *c, const float *x, const uint8_t *labels, int B)
{
	float l;

	nn_params_zero_grad(&c->params);
	cnn_forward(c, x, B, 1);
	l = cnn_loss(c, labels, B);
	cnn_backward(c, B);
	return l;
}

void cnn_adam(cnn *c, const adam_config *opt)
{
	if (c->freeze) {
		/* Adam over the head alone: the feature layers' parameters and
		 * moments are not touched (not even by the weight decay) */
		size_t lo = c->head_w;
		nn_params head = { c->params.n - lo, c->params.p + lo, c->params.g + lo,
				   c->params.m + lo, c->params.v + lo, c->params.step };
		adam_step(&head, opt);
		c->params.step = head.step;
	} else {
		adam_step(&c->params, opt);
	}
}

float cnn_train_step(cnn *c, const float *x, const uint8_t *labels, int B,
		     const adam_config *opt)
{
	float l = cnn_grad(c, x, labels, B);

	cnn_adam(c, opt);
	return l;
}

/* ---- model files ---- */

void cnn_to_model(model *m, const cnn *c, int with_adam)
{
	model_free(m);
	snprintf(m->kind, sizeof m->kind, "cnn");
	m->in_channels = c->cfg.in_channels;
	m->out_channels = c->cfg.classes;
	m->depth = c->cfg.stages;
	m->convs = c->cfg.convs;
	m->filters = c->cfg.filters;
	m->act = c->cfg.act;
	m->dropout = c->cfg.dropout;
	m->freeze = c->freeze;
	m->height = c->H;
	m->width = c->W;
	m->loss = LOSS_CE;
	m->classes = c->cfg.classes;
	model_put_state(m, &c->params, c->stats, c->nstats, with_adam);
}

/* config_of: the architecture a cnn model's header gives; dies naming path */
static cnn_config config_of(const model *m, const char *path)
{
	cnn_config cfg = { m->in_channels, m->out_channels, m->depth, m->convs, m->filters,
			   m->act, m->dropout };
	char err[128];
	size_t np, ns;

	if (strcmp(m->kind, "cnn") != 0)
		die("%s: the model is a%s %s, not a cnn", path, m->kind[0] == 'm' ? "n" : "", m->kind);
	if (m->loss != LOSS_CE || m->classes != m->out_channels)
		die("%s: a cnn has loss ce and classes = out_channels (%d), not loss %s, classes %d",
		    path, m->out_channels, loss_name(m->loss), m->classes);
	if (cnn_check(&cfg, err, sizeof err) < 0)
		die("%s: the cnn header has %s", path, err);
	cnn_sizes(&cfg, &np, &ns);
	model_check_sizes(m, path, np, ns);
	return cfg;
}

cnn *cnn_from_model(const model *m, const char *path, int max_batch, int H, int W)
{
	cnn_config cfg = config_of(m, path);
	cnn *c;

	H = H > 0 ? H : m->height;
	W = W > 0 ? W : m->width;
	if (H < cnn_min_size(&cfg) || W < cnn_min_size(&cfg))
		die("%s: images of %d x %d are too small for its %d stages (at least %d x %d)", path,
		    W, H, cfg.stages, cnn_min_size(&cfg), cnn_min_size(&cfg));
	c = cnn_create(&cfg, max_batch, H, W);
	model_get_state(m, &c->params, c->stats);
	c->freeze = m->freeze;
	c->seed = m->seed;
	return c;
}

int cnn_init_from(cnn *c, const model *m, const char *path)
{
	cnn_config from = config_of(m, path);
	conv_block *fb = xcalloc((size_t)from.stages * from.convs, sizeof *fb);
	size_t np, ns, hw, hb;
	int L = from.stages * from.convs, copied_head = 0;

	layout(&from, fb, &np, &ns, &hw, &hb);
	if (from.stages != c->cfg.stages || from.convs != c->cfg.convs)
		die("%s: %d stages of %d convolutions there, %d of %d here", path, from.stages,
		    from.convs, c->cfg.stages, c->cfg.convs);
	if (from.act != c->cfg.act)
		die("%s: activation %s there, %s here", path, act_name(from.act), act_name(c->cfg.act));
	for (int i = 0; i < L; i++) {
		conv_block *a = &fb[i], *b = &c->blocks[i];
		if (a->ci != b->ci || a->co != b->co)
			die("%s: layer stage %d conv %d is %dx%dx3x3 there, %dx%dx3x3 here", path,
			    b->level + 1, i % c->cfg.convs + 1, a->co, a->ci, b->co, b->ci);
	}
	/* same shapes everywhere: the same offsets */
	memcpy(c->params.p, m->params, c->head_w * sizeof(float));
	memcpy(c->stats, m->stats, c->nstats * sizeof(float));
	if (from.classes == c->cfg.classes) {
		memcpy(c->params.p + c->head_w, m->params + hw, (c->params.n - c->head_w) * sizeof(float));
		copied_head = 1;
	}
	free(fb);
	return copied_head;
}
