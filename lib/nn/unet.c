/* unet.c: the U-Net forward, loss and backward passes over (C,N,H,W)
 * activations; see unet.h for the architecture and the parameter order.
 *
 * Buffers are arranged so the skip concatenation is free: level l owns
 * cat[l] (2 c_l, N, h_l, w_l); the up-convolution writes its first half and
 * the encoder's second block writes its activation straight into the second
 * half. Their gradients share the same arrangement in dcat[l]: the decoder's
 * first conv writes all of dcat[l], and the pooling's backward then adds its
 * part to the skip half. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "canvas.h"
#include "unet.h"

const char *const unet_prof_names[PROF_COUNT] = {
	"layout (pad, transpose, crop)", "conv3x3 forward", "conv3x3 backward",
	"convT forward", "convT backward", "bn+act forward", "bn+act backward",
	"maxpool forward", "maxpool backward", "head 1x1 forward", "head 1x1 backward",
	"loss", "adam",
};

unet_config unet_defaults(void)
{
	unet_config c = { 1, 1, 2, 16, ACT_RELU };
	return c;
}

int unet_check(const unet_config *c, char *err, size_t errlen)
{
	if (c->in_channels < 1 || c->in_channels > 4096)
		snprintf(err, errlen, "in_channels %d out of range 1..4096", c->in_channels);
	else if (c->out_channels < 1 || c->out_channels > 256)
		snprintf(err, errlen, "out_channels %d out of range 1..256", c->out_channels);
	else if (c->depth < 0 || c->depth > 8)
		snprintf(err, errlen, "depth %d out of range 0..8", c->depth);
	else if (c->filters < 1 || ((long)c->filters << c->depth) > 65536)
		snprintf(err, errlen, "filters %d too large for depth %d", c->filters, c->depth);
	else if ((int)c->act < 0 || c->act > ACT_SIGMOID)
		snprintf(err, errlen, "unknown activation %d", (int)c->act);
	else
		return 0;
	return -1;
}

static void check_config(const unet_config *c)
{
	char err[128];

	if (unet_check(c, err, sizeof err) < 0)
		die("unet: %s", err);
}

static double now(void)
{
	return omp_get_wtime();
}

#define PROF(u, k, stmt) do { \
		double t0_ = (u)->profile ? now() : 0.0; \
		stmt; \
		if ((u)->profile) \
			(u)->prof[k] += now() - t0_; \
	} while (0)

/* building: the layout of parameters and statistics in forward order */

static void add_block(unet *u, nn_layout *stats, int ci, int co, int level)
{
	conv_block_layout(&u->blocks[u->nblocks++], &u->layout, stats, ci, co, level);
}

/* build the layout; with u->max_batch == 0 only count */
static void build(unet *u)
{
	const unet_config *c = &u->cfg;
	int D = c->depth, F = c->filters;
	nn_layout stats = { 0, 0, NULL, 0 };

	u->blocks = xcalloc(4 * D + 2, sizeof *u->blocks);
	u->convt_w = xcalloc(D + 1, sizeof(size_t));
	u->convt_b = xcalloc(D + 1, sizeof(size_t));
	for (int l = 0; l < D; l++) {
		add_block(u, &stats, l == 0 ? c->in_channels : F << (l - 1), F << l, l);
		add_block(u, &stats, F << l, F << l, l);
	}
	add_block(u, &stats, D == 0 ? c->in_channels : F << (D - 1), F << D, D);
	add_block(u, &stats, F << D, F << D, D);
	for (int l = D - 1; l >= 0; l--) {
		u->convt_w[l] = nn_layout_add(&u->layout, (size_t)(F << (l + 1)) * (F << l) * 4);
		u->convt_b[l] = nn_layout_add(&u->layout, F << l);
		add_block(u, &stats, 2 * (F << l), F << l, l);
		add_block(u, &stats, F << l, F << l, l);
	}
	u->head_w = nn_layout_add(&u->layout, (size_t)c->out_channels * F);
	u->head_b = nn_layout_add(&u->layout, c->out_channels);
	u->nstats = stats.total;
	nn_layout_free(&stats);
}

void unet_sizes(const unet_config *cfg, size_t *nparams, size_t *nstats)
{
	unet u;

	check_config(cfg);
	memset(&u, 0, sizeof u);
	u.cfg = *cfg;
	build(&u);
	*nparams = u.layout.total;
	*nstats = u.nstats;
	nn_layout_free(&u.layout);
	free(u.blocks);
	free(u.convt_w);
	free(u.convt_b);
}

size_t unet_nparams(const unet_config *cfg)
{
	size_t n, ns;

	unet_sizes(cfg, &n, &ns);
	return n;
}

/* the blocks in forward order: encoder 2 per level, bottleneck 2, decoder 2
 * per level (from depth-1 down to 0) */
static conv_block *enc_block(unet *u, int l, int k) { return &u->blocks[2 * l + k]; }
static conv_block *mid_block(unet *u, int k) { return &u->blocks[2 * u->cfg.depth + k]; }
static conv_block *dec_block(unet *u, int l, int k)
{
	return &u->blocks[2 * u->cfg.depth + 2 + 2 * (u->cfg.depth - 1 - l) + k];
}

static float *fbuf(size_t n)
{
	return xcalloc(n, sizeof(float));
}

unet *unet_create(const unet_config *cfg, int max_batch, int H, int W)
{
	check_config(cfg);
	if (max_batch < 1 || H < 1 || W < 1 || (long)H * W > (1L << 26))
		die("unet: bad size: batch %d, %d x %d", max_batch, H, W);
	unet *u = xcalloc(1, sizeof *u);
	int D = cfg->depth, F = cfg->filters, m = 1 << D;

	u->cfg = *cfg;
	u->H = H;
	u->W = W;
	u->Hp = (H + m - 1) / m * m;
	u->Wp = (W + m - 1) / m * m;
	u->max_batch = max_batch;
	build(u);
	nn_params_alloc(&u->params, u->layout.total);
	u->folded = fbuf(u->layout.total);
	u->stats = fbuf(u->nstats);

	size_t full = (size_t)max_batch * u->Hp * u->Wp;   /* pixels at level 0 */
	u->cat = xcalloc(D + 1, sizeof(float *));
	u->dcat = xcalloc(D + 1, sizeof(float *));
	u->pool = xcalloc(D + 1, sizeof(float *));
	u->dpool = xcalloc(D + 1, sizeof(float *));
	u->argmax = xcalloc(D + 1, sizeof(uint8_t *));
	for (int l = 0; l < D; l++) {
		size_t px = full >> (2 * l);
		u->cat[l] = fbuf(2 * (size_t)(F << l) * px);
		u->dcat[l] = fbuf(2 * (size_t)(F << l) * px);
		u->pool[l] = fbuf((size_t)(F << l) * px / 4);
		u->dpool[l] = fbuf((size_t)(F << l) * px / 4);
		u->argmax[l] = xcalloc((size_t)(F << l) * px / 4, 1);
	}
	for (int i = 0; i < u->nblocks; i++) {
		conv_block *b = &u->blocks[i];
		/* the encoder's second block writes into the skip half of cat */
		int a_in_cat = b->level < D && b == enc_block(u, b->level, 1);
		conv_block_alloc(b, full >> (2 * b->level), !a_in_cat);
	}
	u->x = fbuf((size_t)cfg->in_channels * full);
	u->logits = fbuf((size_t)cfg->out_channels * full);
	u->dlogits = fbuf((size_t)cfg->out_channels * full);
	size_t ncrop = (size_t)cfg->out_channels * max_batch * H * W;
	u->crop = fbuf(ncrop);
	u->dcrop = fbuf(ncrop);
	u->tgt = fbuf(ncrop);
	return u;
}

void unet_free(unet *u)
{
	if (!u)
		return;
	for (int l = 0; l < u->cfg.depth; l++) {
		free(u->cat[l]);
		free(u->dcat[l]);
		free(u->pool[l]);
		free(u->dpool[l]);
		free(u->argmax[l]);
	}
	for (int i = 0; i < u->nblocks; i++)
		conv_block_free(&u->blocks[i]);
	free(u->cat); free(u->dcat); free(u->pool); free(u->dpool); free(u->argmax);
	free(u->blocks); free(u->convt_w); free(u->convt_b);
	free(u->x); free(u->logits); free(u->dlogits);
	free(u->crop); free(u->dcrop); free(u->tgt);
	free(u->stats);
	free(u->folded);
	nn_params_free(&u->params);
	nn_layout_free(&u->layout);
	free(u);
}

void unet_init_params(unet *u, uint64_t seed)
{
	rng_t rng;
	float *p = u->params.p;
	int D = u->cfg.depth, F = u->cfg.filters;

	rng_seed(&rng, seed);
	/* in parameter order, so the random stream follows the documented order */
	for (int i = 0; i < u->nblocks; i++) {
		conv_block *b = &u->blocks[i];
		/* the up-convolution of a decoder level comes before its first block */
		for (int l = 0; l < D; l++)
			if (b == dec_block(u, l, 0)) {
				/* ConvTranspose2d weight (Cin,Cout,2,2): fan_in = Cout*4 */
				init_kaiming(p + u->convt_w[l], (size_t)(F << (l + 1)) * (F << l) * 4,
					     (F << l) * 4, &rng);
				init_fill(p + u->convt_b[l], F << l, 0.0f);
			}
		conv_block_init(b, p, u->stats, &rng);
	}
	init_kaiming(p + u->head_w, (size_t)u->cfg.out_channels * F, F, &rng);
	init_fill(p + u->head_b, u->cfg.out_channels, 0.0f);
	memset(u->params.g, 0, u->params.n * sizeof(float));
	memset(u->params.m, 0, u->params.n * sizeof(float));
	memset(u->params.v, 0, u->params.n * sizeof(float));
	u->params.step = 0;
}

/* bind: point the blocks at their inputs for a batch of N (the channel
 * stride of every (C,N,H,W) buffer depends on N) */
static void bind(unet *u, int N)
{
	int D = u->cfg.depth, F = u->cfg.filters;
	size_t full = (size_t)N * u->Hp * u->Wp;

	for (int l = 0; l < D; l++) {
		size_t half = (size_t)(F << l) * (full >> (2 * l));
		conv_block *a = enc_block(u, l, 0), *b = enc_block(u, l, 1);
		a->in = l == 0 ? u->x : u->pool[l - 1];
		a->din = l == 0 ? NULL : u->dpool[l - 1];
		b->in = a->a;
		b->din = a->da;
		b->a = u->cat[l] + half;
		b->da = u->dcat[l] + half;
		conv_block *c = dec_block(u, l, 0), *d = dec_block(u, l, 1);
		c->in = u->cat[l];
		c->din = u->dcat[l];
		d->in = c->a;
		d->din = c->da;
	}
	conv_block *m0 = mid_block(u, 0), *m1 = mid_block(u, 1);
	m0->in = D == 0 ? u->x : u->pool[D - 1];
	m0->din = D == 0 ? NULL : u->dpool[D - 1];
	m1->in = m0->a;
	m1->din = m0->da;
}

/* what the blocks share for a pass; timed into prof[] when profiling */
static conv_block_net block_net(unet *u)
{
	conv_block_net n = { u->params.p, u->params.g, u->folded, u->stats, u->cfg.act,
			     u->Hp, u->Wp, NULL, NULL, NULL, NULL };

	if (u->profile) {
		n.t_conv_fwd = &u->prof[PROF_CONV_FWD];
		n.t_bn_act_fwd = &u->prof[PROF_BN_ACT_FWD];
		n.t_bn_act_bwd = &u->prof[PROF_BN_ACT_BWD];
		n.t_conv_bwd = &u->prof[PROF_CONV_BWD];
	}
	return n;
}

void unet_forward(unet *u, const float *x, int B, int train, float *logits_out)
{
	int D = u->cfg.depth, Cout = u->cfg.out_channels, F = u->cfg.filters;
	conv_block_net net = block_net(u);

	if (B < 1 || B > u->max_batch)
		die("unet: batch of %d, but the network was made for at most %d", B, u->max_batch);
	bind(u, B);
	u->last_batch = B;
	PROF(u, PROF_LAYOUT, canvas_load(u->x, x, u->cfg.in_channels, B, u->H, u->W, u->Hp, u->Wp));
	for (int l = 0; l < D; l++) {
		int h = u->Hp >> l, w = u->Wp >> l;
		conv_block_forward(enc_block(u, l, 0), &net, B, train);
		conv_block *b = enc_block(u, l, 1);
		conv_block_forward(b, &net, B, train);
		PROF(u, PROF_POOL_FWD, maxpool_forward(u->pool[l], u->argmax[l], b->a, F << l, B, h, w));
	}
	conv_block_forward(mid_block(u, 0), &net, B, train);
	conv_block_forward(mid_block(u, 1), &net, B, train);
	float *p = u->params.p;
	for (int l = D - 1; l >= 0; l--) {
		int h = u->Hp >> (l + 1), w = u->Wp >> (l + 1);
		const float *prev = l == D - 1 ? mid_block(u, 1)->a : dec_block(u, l + 1, 1)->a;
		PROF(u, PROF_CONVT_FWD, convt2x2_forward(u->cat[l], prev, p + u->convt_w[l],
							 p + u->convt_b[l], F << (l + 1), F << l,
							 B, h, w));
		conv_block_forward(dec_block(u, l, 0), &net, B, train);
		conv_block_forward(dec_block(u, l, 1), &net, B, train);
	}
	const float *last = D == 0 ? mid_block(u, 1)->a : dec_block(u, 0, 1)->a;
	PROF(u, PROF_HEAD_FWD, conv1x1_forward(u->logits, last, p + u->head_w, p + u->head_b,
					       F, Cout, B, u->Hp, u->Wp));
	if (logits_out)
		PROF(u, PROF_LAYOUT, canvas_store(logits_out, u->logits, Cout, B, u->H, u->W,
						  u->Hp, u->Wp));
}

float unet_loss(unet *u, const void *target, int B, loss_kind loss)
{
	float l;

	if (B != u->last_batch)
		die("unet_loss: batch %d, but the forward pass had %d", B, u->last_batch);
	PROF(u, PROF_LOSS, l = canvas_loss(u->dlogits, u->logits, target, u->crop, u->dcrop, u->tgt,
					   u->cfg.out_channels, B, u->H, u->W, u->Hp, u->Wp, loss));
	return l;
}

void unet_backward(unet *u, int B)
{
	int D = u->cfg.depth, Cout = u->cfg.out_channels, F = u->cfg.filters;
	float *p = u->params.p, *g = u->params.g;
	conv_block_net net = block_net(u);

	if (B != u->last_batch)
		die("unet_backward: batch %d, but the forward pass had %d", B, u->last_batch);
	conv_block *last = D == 0 ? mid_block(u, 1) : dec_block(u, 0, 1);
	PROF(u, PROF_HEAD_BWD, conv1x1_backward(last->da, g + u->head_w, g + u->head_b, u->dlogits,
						last->a, p + u->head_w, last->co, Cout, B, u->Hp, u->Wp));
	for (int l = 0; l < D; l++) {
		int h = u->Hp >> (l + 1), w = u->Wp >> (l + 1);
		conv_block_backward(dec_block(u, l, 1), &net, B);
		conv_block_backward(dec_block(u, l, 0), &net, B);
		conv_block *prev = l == D - 1 ? mid_block(u, 1) : dec_block(u, l + 1, 1);
		PROF(u, PROF_CONVT_BWD, convt2x2_backward(prev->da, g + u->convt_w[l], g + u->convt_b[l],
							  u->dcat[l], prev->a, p + u->convt_w[l],
							  F << (l + 1), F << l, B, h, w));
	}
	conv_block_backward(mid_block(u, 1), &net, B);
	conv_block_backward(mid_block(u, 0), &net, B);
	for (int l = D - 1; l >= 0; l--) {
		int h = u->Hp >> l, w = u->Wp >> l;
		conv_block *b = enc_block(u, l, 1);
		/* the skip half of dcat[l] already holds the decoder's share */
		PROF(u, PROF_POOL_BWD, maxpool_backward(b->da, u->dpool[l], u->argmax[l], F << l, B, h, w));
		conv_block_backward(b, &net, B);
		conv_block_backward(enc_block(u, l, 0), &net, B);
	}
}

float unet_train_step(unet *u, const float *x, const void *target, int B,
		      loss_kind loss, const adam_config *opt)
{
	nn_params_zero_grad(&u->params);
	unet_forward(u, x, B, 1, NULL);
	float l = unet_loss(u, target, B, loss);
	unet_backward(u, B);
	PROF(u, PROF_ADAM, adam_step(&u->params, opt));
	return l;
}
