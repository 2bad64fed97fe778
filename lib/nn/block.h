/* block.h: the conv3x3 -> batchnorm -> activation block that the U-Net,
 * the FCN-8 and the CNN classifier are built of: its place in the
 * parameter table, its initialisation, its buffers, and its forward and
 * backward passes over (C,N,H,W) activations (the layers of nn.h).
 *
 * A network lays its blocks out, points each block's in and din at its
 * input and that input's gradient (another block's a and da, a pooling's
 * output, the network's input), and runs them. Training keeps the conv
 * output z and the batch statistics for the backward pass; inference folds
 * the batch norm into the convolution and writes a alone.
 */
#ifndef SEGPIPE_BLOCK_H
#define SEGPIPE_BLOCK_H

#include <stddef.h>

#include "nn.h"

typedef struct conv_block {
	int ci, co, level;          /* level: the resolution 1/2^level */
	size_t w, b, gamma, beta;   /* offsets into params */
	size_t rmean, rvar;         /* offsets into stats */
	const float *in;            /* forward input (ci, N, h, w) */
	float *din;                 /* its gradient, written (NULL: first block) */
	float *z;                   /* conv output (co, N, h, w) */
	float *a;                   /* activation output (co, N, h, w) */
	float *da;                  /* gradient of a; becomes that of z in place */
	float *mean, *invstd;       /* (co) batch statistics */
	int own_a;                  /* a and da are the block's (else the network's) */
} conv_block;

/* what a network's blocks share, for one pass */
typedef struct {
	const float *p;             /* parameters */
	float *g;                   /* their gradients (+=) */
	float *folded;              /* inference: room for p with batch norm folded in */
	float *stats;               /* running statistics */
	act_kind act;
	int H, W;                   /* the canvas at level 0 */
	/* where to add the seconds spent, or all NULL: not timed */
	double *t_conv_fwd, *t_bn_act_fwd, *t_bn_act_bwd, *t_conv_bwd;
} conv_block_net;

/* conv_block_layout: a block from ci to co channels at level, its conv
 * weight (co,ci,3,3), bias, gamma, beta appended to params and its running
 * mean, var to stats; the rest of b zeroed */
void conv_block_layout(conv_block *b, nn_layout *params, nn_layout *stats, int ci, int co,
		       int level);
/* conv_block_init: He normal weight from rng, bias 0, gamma 1, beta 0,
 * running mean 0, var 1 */
void conv_block_init(const conv_block *b, float *params, float *stats, rng_t *rng);
/* conv_block_alloc: z and the batch statistics for px = N*h*w pixels, and a
 * and da unless own_a is 0 (the network then points them into buffers of
 * its own before each pass); conv_block_free frees what alloc made */
void conv_block_alloc(conv_block *b, size_t px, int own_a);
void conv_block_free(conv_block *b);

/* conv_block_forward: a from in for a batch of N; train: batch statistics
 * (running ones updated) and z kept for the backward pass */
void conv_block_forward(conv_block *b, const conv_block_net *net, int N, int train);
/* conv_block_backward: da (then the gradient of z, in place) -> din and
 * the parameter gradients (+=), after a training forward */
void conv_block_backward(conv_block *b, const conv_block_net *net, int N);

#endif
