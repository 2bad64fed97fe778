/* block.c: the conv3x3 -> batchnorm -> activation block; see block.h. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"

/* stmt, its seconds added to *t when t is given */
#define TIMED(t, stmt) do { \
		double t0_ = (t) ? omp_get_wtime() : 0.0; \
		stmt; \
		if (t) \
			*(t) += omp_get_wtime() - t0_; \
	} while (0)

void conv_block_layout(conv_block *b, nn_layout *params, nn_layout *stats, int ci, int co,
		       int level)
{
	memset(b, 0, sizeof *b);
	b->ci = ci;
	b->co = co;
	b->level = level;
	b->w = nn_layout_add(params, (size_t)co * ci * 9);
	b->b = nn_layout_add(params, co);
	b->gamma = nn_layout_add(params, co);
	b->beta = nn_layout_add(params, co);
	b->rmean = nn_layout_add(stats, co);
	b->rvar = nn_layout_add(stats, co);
}

void conv_block_init(const conv_block *b, float *params, float *stats, rng_t *rng)
{
	init_kaiming(params + b->w, (size_t)b->co * b->ci * 9, b->ci * 9, rng);
	init_fill(params + b->b, b->co, 0.0f);
	init_fill(params + b->gamma, b->co, 1.0f);
	init_fill(params + b->beta, b->co, 0.0f);
	init_fill(stats + b->rmean, b->co, 0.0f);
	init_fill(stats + b->rvar, b->co, 1.0f);
}

static float *fbuf(size_t n)
{
	return xcalloc(n ? n : 1, sizeof(float));
}

void conv_block_alloc(conv_block *b, size_t px, int own_a)
{
	size_t n = (size_t)b->co * px;

	b->z = fbuf(n);
	b->mean = fbuf(b->co);
	b->invstd = fbuf(b->co);
	b->own_a = own_a;
	if (own_a) {
		b->a = fbuf(n);
		b->da = fbuf(n);
	}
}

void conv_block_free(conv_block *b)
{
	free(b->z);
	free(b->mean);
	free(b->invstd);
	if (b->own_a) {
		free(b->a);
		free(b->da);
	}
}

void conv_block_forward(conv_block *b, const conv_block_net *net, int N, int train)
{
	int h = net->H >> b->level, w = net->W >> b->level;
	const float *p = net->p;

	if (!train) {
		/* inference: the batch norm folded into the convolution, the
		 * activation applied in the convolution's epilogue */
		float *f = net->folded;
		const float *st = net->stats;
		batchnorm_fold(f + b->w, f + b->b, p + b->w, p + b->b, p + b->gamma, p + b->beta,
			       st + b->rmean, st + b->rvar, b->co, (size_t)b->ci * 9);
		TIMED(net->t_conv_fwd, conv3x3_act_forward(b->a, b->in, f + b->w, f + b->b, b->ci,
							   b->co, N, h, w, net->act));
		return;
	}
	TIMED(net->t_conv_fwd, conv3x3_forward(b->z, b->in, p + b->w, p + b->b, b->ci, b->co,
					       N, h, w));
	TIMED(net->t_bn_act_fwd, bn_act_forward(b->a, b->mean, b->invstd, net->stats + b->rmean,
						net->stats + b->rvar, b->z, p + b->gamma,
						p + b->beta, b->co, (size_t)N * h * w, 1, net->act));
}

void conv_block_backward(conv_block *b, const conv_block_net *net, int N)
{
	int h = net->H >> b->level, w = net->W >> b->level;
	const float *p = net->p;
	float *g = net->g;

	/* the conv bias gradient (the sums of da) with the batch norm's pass */
	TIMED(net->t_bn_act_bwd, bn_act_backward(b->da, g + b->gamma, g + b->beta, g + b->b, b->da,
						 b->z, b->a, b->mean, b->invstd, p + b->gamma,
						 b->co, (size_t)N * h * w, net->act));
	TIMED(net->t_conv_bwd, conv3x3_backward(b->din, g + b->w, NULL, b->da, b->in,
						p + b->w, b->ci, b->co, N, h, w));
}
