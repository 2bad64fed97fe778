/* fcn.c: FCN-8's forward, loss and backward passes over (C,N,H,W)
 * activations; see fcn.h for the architecture and the parameter order.
 *
 * Each block owns its conv output z, activation a and gradient da. The
 * pooled outputs of stages 2 and 3 feed both the next stage and a score
 * layer, so their gradients are the sum of two: the next stage's first
 * block writes dpool, the score layer's backward writes dskip, and the two
 * are added before the pooling's backward (which accumulates into a zeroed
 * da). A score sum's backward passes its gradient to both terms unchanged,
 * so dsum16 and dsum8 serve both. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "canvas.h"
#include "fcn.h"

static const int stage_convs[FCN_STAGES] = { 2, 2, 3, 3, 3 };
static const int stage_mult[FCN_STAGES] = { 1, 2, 4, 8, 8 };

fcn_config fcn_defaults(void)
{
	fcn_config c = { 1, 2, 8, ACT_RELU };
	return c;
}

int fcn_check(const fcn_config *c, char *err, size_t errlen)
{
	if (c->in_channels < 1 || c->in_channels > 4096)
		snprintf(err, errlen, "in_channels %d out of range 1..4096", c->in_channels);
	else if (c->out_channels < 1 || c->out_channels > 256)
		snprintf(err, errlen, "out_channels %d out of range 1..256", c->out_channels);
	else if (c->filters < 1 || c->filters > 1024)
		snprintf(err, errlen, "filters %d out of range 1..1024", c->filters);
	else if ((int)c->act < 0 || c->act > ACT_SIGMOID)
		snprintf(err, errlen, "unknown activation %d", (int)c->act);
	else
		return 0;
	return -1;
}

/* build the layout of parameters and statistics in the documented order
 * into f (blocks and offsets); returns the parameter count */
static size_t build(fcn *f)
{
	const fcn_config *c = &f->cfg;
	int F = c->filters, K = c->out_channels, ci = c->in_channels, i = 0;
	nn_layout p = { 0, 0, NULL, 0 }, s = { 0, 0, NULL, 0 };

	f->blocks = xcalloc(FCN_BLOCKS, sizeof *f->blocks);
	for (int l = 0; l <= FCN_STAGES; l++) {
		int n = l < FCN_STAGES ? stage_convs[l] : 2, co = l < FCN_STAGES ? F * stage_mult[l] : 16 * F;
		for (int k = 0; k < n; k++, i++) {
			conv_block_layout(&f->blocks[i], &p, &s, ci, co, l);
			ci = co;
		}
	}
	f->s32_w = nn_layout_add(&p, (size_t)K * 16 * F);
	f->s32_b = nn_layout_add(&p, K);
	f->up16_w = nn_layout_add(&p, (size_t)K * K * 16);
	f->s16_w = nn_layout_add(&p, (size_t)K * 8 * F);
	f->s16_b = nn_layout_add(&p, K);
	f->up8_w = nn_layout_add(&p, (size_t)K * K * 16);
	f->s8_w = nn_layout_add(&p, (size_t)K * 4 * F);
	f->s8_b = nn_layout_add(&p, K);
	f->up1_w = nn_layout_add(&p, (size_t)K * K * 256);
	f->nstats = s.total;
	size_t n = p.total;
	nn_layout_free(&p);
	nn_layout_free(&s);
	return n;
}

static void check_config(const fcn_config *c)
{
	char err[128];

	if (fcn_check(c, err, sizeof err) < 0)
		die("fcn: %s", err);
}

void fcn_sizes(const fcn_config *cfg, size_t *nparams, size_t *nstats)
{
	fcn f;

	check_config(cfg);
	memset(&f, 0, sizeof f);
	f.cfg = *cfg;
	*nparams = build(&f);
	*nstats = f.nstats;
	free(f.blocks);
}

static float *fbuf(size_t n)
{
	return xcalloc(n ? n : 1, sizeof(float));
}

fcn *fcn_create(const fcn_config *cfg, int max_batch, int H, int W)
{
	check_config(cfg);
	if (max_batch < 1 || H < 1 || W < 1 || (long)H * W > (1L << 26))
		die("fcn: bad size: batch %d, %d x %d", max_batch, H, W);
	fcn *f = xcalloc(1, sizeof *f);
	int K = cfg->out_channels, F = cfg->filters;

	f->cfg = *cfg;
	f->H = H;
	f->W = W;
	f->Hp = (H + 31) / 32 * 32;
	f->Wp = (W + 31) / 32 * 32;
	f->max_batch = max_batch;
	size_t n = build(f);
	nn_params_alloc(&f->params, n);
	f->folded = fbuf(n);
	f->stats = fbuf(f->nstats);

	size_t full = (size_t)max_batch * f->Hp * f->Wp;   /* pixels at 1/1 */
	for (int i = 0; i < FCN_BLOCKS; i++)
		conv_block_alloc(&f->blocks[i], full >> (2 * f->blocks[i].level), 1);
	for (int l = 0; l < FCN_STAGES; l++) {
		size_t m = (size_t)F * stage_mult[l] * (full >> (2 * (l + 1)));
		f->pool[l] = fbuf(m);
		f->dpool[l] = fbuf(m);
		f->argmax[l] = xcalloc(m, 1);
	}
	size_t p32 = (size_t)K * (full >> 10), p16 = (size_t)K * (full >> 8), p8 = (size_t)K * (full >> 6);
	f->s32 = fbuf(p32);
	f->ds32 = fbuf(p32);
	f->u16 = fbuf(p16);
	f->s16 = fbuf(p16);
	f->sum16 = fbuf(p16);
	f->dsum16 = fbuf(p16);
	f->u8 = fbuf(p8);
	f->s8 = fbuf(p8);
	f->sum8 = fbuf(p8);
	f->dsum8 = fbuf(p8);
	f->dskip = fbuf((size_t)F * 8 * (full >> 8) > (size_t)F * 4 * (full >> 6) ?
			(size_t)F * 8 * (full >> 8) : (size_t)F * 4 * (full >> 6));
	f->x = fbuf((size_t)cfg->in_channels * full);
	f->logits = fbuf((size_t)K * full);
	f->dlogits = fbuf((size_t)K * full);
	size_t ncrop = (size_t)K * max_batch * H * W;
	f->crop = fbuf(ncrop);
	f->dcrop = fbuf(ncrop);
	f->tgt = fbuf(ncrop);
	return f;
}

void fcn_free(fcn *f)
{
	if (!f)
		return;
	for (int i = 0; i < FCN_BLOCKS; i++)
		conv_block_free(&f->blocks[i]);
	for (int l = 0; l < FCN_STAGES; l++) {
		free(f->pool[l]); free(f->dpool[l]); free(f->argmax[l]);
	}
	free(f->s32); free(f->ds32); free(f->u16); free(f->s16); free(f->sum16); free(f->dsum16);
	free(f->u8); free(f->s8); free(f->sum8); free(f->dsum8); free(f->dskip);
	free(f->x); free(f->logits); free(f->dlogits); free(f->crop); free(f->dcrop); free(f->tgt);
	free(f->folded); free(f->stats); free(f->blocks);
	nn_params_free(&f->params);
	free(f);
}

void fcn_init_params(fcn *f, uint64_t seed)
{
	rng_t rng;
	float *p = f->params.p;
	int K = f->cfg.out_channels, F = f->cfg.filters;

	rng_seed(&rng, seed);
	for (int i = 0; i < FCN_BLOCKS; i++)
		conv_block_init(&f->blocks[i], p, f->stats, &rng);
	init_fill(p + f->s32_w, (size_t)K * 16 * F, 0.0f);
	init_fill(p + f->s32_b, K, 0.0f);
	init_fill(p + f->s16_w, (size_t)K * 8 * F, 0.0f);
	init_fill(p + f->s16_b, K, 0.0f);
	init_fill(p + f->s8_w, (size_t)K * 4 * F, 0.0f);
	init_fill(p + f->s8_b, K, 0.0f);
	convt_init_bilinear(p + f->up16_w, K, K, 4);
	convt_init_bilinear(p + f->up8_w, K, K, 4);
	convt_init_bilinear(p + f->up1_w, K, K, 16);
	memset(f->params.g, 0, f->params.n * sizeof(float));
	memset(f->params.m, 0, f->params.n * sizeof(float));
	memset(f->params.v, 0, f->params.n * sizeof(float));
	f->params.step = 0;
}

/* bind: the blocks' inputs for a batch of N */
static void bind(fcn *f)
{
	for (int i = 0; i < FCN_BLOCKS; i++) {
		conv_block *b = &f->blocks[i], *prev = i ? &f->blocks[i - 1] : NULL;
		if (!prev) {
			b->in = f->x;
			b->din = NULL;
		} else if (prev->level != b->level) {
			b->in = f->pool[prev->level];
			b->din = f->dpool[prev->level];
		} else {
			b->in = prev->a;
			b->din = prev->da;
		}
	}
}

/* what the blocks share for a pass */
static conv_block_net block_net(fcn *f)
{
	conv_block_net n = { .p = f->params.p, .g = f->params.g, .folded = f->folded,
			     .stats = f->stats, .act = f->cfg.act, .H = f->Hp, .W = f->Wp };
	return n;
}

/* the last block of stage l */
static conv_block *stage_end(fcn *f, int l)
{
	int i = -1;

	for (int s = 0; s <= l; s++)
		i += stage_convs[s];
	return &f->blocks[i];
}

void fcn_forward(fcn *f, const float *x, int B, int train, float *logits_out)
{
	int K = f->cfg.out_channels, F = f->cfg.filters, Hp = f->Hp, Wp = f->Wp;
	float *p = f->params.p;
	conv_block_net net = block_net(f);

	if (B < 1 || B > f->max_batch)
		die("fcn: batch of %d, but the network was made for at most %d", B, f->max_batch);
	bind(f);
	f->last_batch = B;
	canvas_load(f->x, x, f->cfg.in_channels, B, f->H, f->W, Hp, Wp);
	for (int i = 0; i < FCN_BLOCKS; i++) {
		conv_block *b = &f->blocks[i];
		conv_block_forward(b, &net, B, train);
		if (b->level < FCN_STAGES && b == stage_end(f, b->level))
			maxpool_forward(f->pool[b->level], f->argmax[b->level], b->a, b->co, B,
					Hp >> b->level, Wp >> b->level);
	}
	size_t n16 = (size_t)K * B * (Hp >> 4) * (Wp >> 4), n8 = (size_t)K * B * (Hp >> 3) * (Wp >> 3);
	conv1x1_forward(f->s32, f->blocks[FCN_BLOCKS - 1].a, p + f->s32_w, p + f->s32_b, 16 * F, K, B,
			Hp >> 5, Wp >> 5);
	convt_forward(f->u16, f->s32, p + f->up16_w, NULL, K, K, B, Hp >> 5, Wp >> 5, 4, 2, 1);
	conv1x1_forward(f->s16, f->pool[3], p + f->s16_w, p + f->s16_b, 8 * F, K, B, Hp >> 4, Wp >> 4);
	add_forward(f->sum16, f->u16, f->s16, n16);
	convt_forward(f->u8, f->sum16, p + f->up8_w, NULL, K, K, B, Hp >> 4, Wp >> 4, 4, 2, 1);
	conv1x1_forward(f->s8, f->pool[2], p + f->s8_w, p + f->s8_b, 4 * F, K, B, Hp >> 3, Wp >> 3);
	add_forward(f->sum8, f->u8, f->s8, n8);
	convt_forward(f->logits, f->sum8, p + f->up1_w, NULL, K, K, B, Hp >> 3, Wp >> 3, 16, 8, 4);
	if (logits_out)
		canvas_store(logits_out, f->logits, K, B, f->H, f->W, Hp, Wp);
}

float fcn_loss(fcn *f, const void *target, int B, loss_kind loss)
{
	if (B != f->last_batch)
		die("fcn_loss: batch %d, but the forward pass had %d", B, f->last_batch);
	return canvas_loss(f->dlogits, f->logits, target, f->crop, f->dcrop, f->tgt,
			   f->cfg.out_channels, B, f->H, f->W, f->Hp, f->Wp, loss);
}

static void add_into(float *a, const float *b, size_t n)
{
	#pragma omp parallel for schedule(static)
	for (size_t i = 0; i < n; i++)
		a[i] += b[i];
}

void fcn_backward(fcn *f, int B)
{
	int K = f->cfg.out_channels, F = f->cfg.filters, Hp = f->Hp, Wp = f->Wp;
	float *p = f->params.p, *g = f->params.g;
	size_t pool2 = (size_t)4 * F * B * (Hp >> 3) * (Wp >> 3);
	size_t pool3 = (size_t)8 * F * B * (Hp >> 4) * (Wp >> 4);
	conv_block_net net = block_net(f);

	if (B != f->last_batch)
		die("fcn_backward: batch %d, but the forward pass had %d", B, f->last_batch);
	/* decoder: the upsampling by 8, then the 1/8 sum's two terms */
	convt_backward(f->dsum8, g + f->up1_w, NULL, f->dlogits, f->sum8, p + f->up1_w, K, K, B,
		       Hp >> 3, Wp >> 3, 16, 8, 4);
	convt_backward(f->dsum16, g + f->up8_w, NULL, f->dsum8, f->sum16, p + f->up8_w, K, K, B,
		       Hp >> 4, Wp >> 4, 4, 2, 1);
	convt_backward(f->ds32, g + f->up16_w, NULL, f->dsum16, f->s32, p + f->up16_w, K, K, B,
		       Hp >> 5, Wp >> 5, 4, 2, 1);
	conv_block *fc7 = &f->blocks[FCN_BLOCKS - 1];
	conv1x1_backward(fc7->da, g + f->s32_w, g + f->s32_b, f->ds32, fc7->a, p + f->s32_w,
			 16 * F, K, B, Hp >> 5, Wp >> 5);
	for (int i = FCN_BLOCKS - 1; i >= 0; i--) {
		conv_block *b = &f->blocks[i];
		int l = b->level;
		if (l < FCN_STAGES && b == stage_end(f, l)) {
			/* the skip scores' share of the pooled gradient */
			if (l == 3) {
				conv1x1_backward(f->dskip, g + f->s16_w, g + f->s16_b, f->dsum16, f->pool[3],
						 p + f->s16_w, 8 * F, K, B, Hp >> 4, Wp >> 4);
				add_into(f->dpool[3], f->dskip, pool3);
			} else if (l == 2) {
				conv1x1_backward(f->dskip, g + f->s8_w, g + f->s8_b, f->dsum8, f->pool[2],
						 p + f->s8_w, 4 * F, K, B, Hp >> 3, Wp >> 3);
				add_into(f->dpool[2], f->dskip, pool2);
			}
			memset(b->da, 0, (size_t)b->co * B * (Hp >> l) * (Wp >> l) * sizeof(float));
			maxpool_backward(b->da, f->dpool[l], f->argmax[l], b->co, B, Hp >> l, Wp >> l);
		}
		conv_block_backward(b, &net, B);
	}
}

float fcn_train_step(fcn *f, const float *x, const void *target, int B, loss_kind loss,
		     const adam_config *opt)
{
	nn_params_zero_grad(&f->params);
	fcn_forward(f, x, B, 1, NULL);
	float l = fcn_loss(f, target, B, loss);
	fcn_backward(f, B);
	adam_step(&f->params, opt);
	return l;
}

/* ---- the model file ---- */

void model_from_fcn(model *m, const fcn *f, int with_adam)
{
	model_free(m);
	snprintf(m->kind, sizeof m->kind, "fcn8");
	m->in_channels = f->cfg.in_channels;
	m->out_channels = f->cfg.out_channels;
	m->filters = f->cfg.filters;
	m->act = f->cfg.act;
	m->height = f->H;
	m->width = f->W;
	model_put_state(m, &f->params, f->stats, f->nstats, with_adam);
}

fcn *fcn_from_model(const model *m, int max_batch, int H, int W)
{
	const char *name = m->path ? m->path : "the model";
	fcn_config cfg = { m->in_channels, m->out_channels, m->filters, m->act };
	size_t n, ns;
	char err[128];

	if (strcmp(m->kind, "fcn8") != 0)
		die("%s: the model is a%s %s, not an fcn8", name, m->kind[0] == 'm' ? "n" : "", m->kind);
	if (fcn_check(&cfg, err, sizeof err) < 0)
		die("%s: the fcn8 header has %s", name, err);
	fcn_sizes(&cfg, &n, &ns);
	model_check_sizes(m, name, n, ns);
	if (max_batch < 1 || max_batch > 65536)
		die("%s: batch %d out of range 1..65536", name, max_batch);
	fcn *f = fcn_create(&cfg, max_batch, H > 0 ? H : m->height, W > 0 ? W : m->width);
	model_get_state(m, &f->params, f->stats);
	return f;
}
