/* unet.h: the U-Net of segpipe, built from the layers in nn.h.
 *
 * Architecture, with c_l = filters * 2^l:
 *   encoder level l = 0..depth-1:  2 x (conv3x3 -> batchnorm -> act) to c_l
 *                                  channels, then maxpool 2x2 (the skip is
 *                                  taken before the pool)
 *   bottleneck:                    2 x (conv3x3 -> batchnorm -> act) to c_depth
 *   decoder level l = depth-1..0:  convT 2x2 stride 2 to c_l channels,
 *                                  concatenate [upsampled, skip] (2 c_l),
 *                                  2 x (conv3x3 -> batchnorm -> act) to c_l
 *   head:                          conv1x1 to out_channels, no activation
 *                                  (logits)
 * Every convolution has a bias. With in=1, out=1, depth 2, filters 16 it has
 * 117,393 parameters.
 *
 * Parameter order (the model file and a PyTorch reference rely on it): the
 * layers in forward order -- encoder levels 0..depth-1, bottleneck, decoder
 * levels depth-1..0, head -- and in each layer weight then bias (conv), or
 * gamma then beta (batchnorm). Shapes are PyTorch's: Conv2d weight
 * (Cout,Cin,kh,kw), ConvTranspose2d weight (Cin,Cout,2,2). Running
 * statistics, in the same layer order: running_mean (C) then running_var (C)
 * of each batchnorm.
 *
 * Any H x W: the input is padded with zeros at the bottom and right to a
 * multiple of 2^depth, the network runs on the padded image (batch-norm
 * statistics include the padded area), and the logits are cropped back to
 * H x W; the loss sees only the cropped logits.
 *
 * External tensors are NCHW float (targets for ce: uint8 (B,H,W)); inside,
 * activations are (C,N,H,W), see nn.h.
 */
#ifndef SEGPIPE_UNET_H
#define SEGPIPE_UNET_H

#include <stddef.h>
#include <stdint.h>

#include "nn.h"

typedef struct {
	int in_channels;    /* 1 */
	int out_channels;   /* 1; the number of classes for the ce loss */
	int depth;          /* 2: number of poolings */
	int filters;        /* 16: channels at level 0, doubling per level */
	act_kind act;       /* ACT_RELU */
} unet_config;

unet_config unet_defaults(void);
/* unet_check: 0 if the configuration can be built, else -1 with what is
 * wrong in err ("depth 9 out of range 0..8"). unet_create and unet_sizes
 * die on such a configuration. */
int unet_check(const unet_config *cfg, char *err, size_t errlen);
/* unet_sizes: the parameter and batch-norm statistics counts of a
 * configuration, without allocating the network; unet_nparams the first. */
void unet_sizes(const unet_config *cfg, size_t *nparams, size_t *nstats);
size_t unet_nparams(const unet_config *cfg);

/* time spent per layer kind, filled when unet.profile is set */
enum {
	PROF_LAYOUT, PROF_CONV_FWD, PROF_CONV_BWD, PROF_CONVT_FWD, PROF_CONVT_BWD,
	PROF_BN_ACT_FWD, PROF_BN_ACT_BWD, PROF_POOL_FWD, PROF_POOL_BWD, PROF_HEAD_FWD,
	PROF_HEAD_BWD, PROF_LOSS, PROF_ADAM, PROF_COUNT
};
extern const char *const unet_prof_names[PROF_COUNT];

typedef struct conv_block conv_block;   /* conv3x3 + batchnorm + act (block.h) */

typedef struct {
	unet_config cfg;
	int H, W;           /* image size the network was created for */
	int Hp, Wp;         /* padded to a multiple of 2^depth */
	int max_batch;
	nn_layout layout;   /* parameter tensors, in the documented order */
	nn_params params;   /* parameters, gradients, Adam state */
	size_t nstats;
	float *stats;       /* batch-norm running statistics */
	int profile;        /* set to time the layers into prof[] */
	double prof[PROF_COUNT];
	/* internals: see unet.c */
	int nblocks;
	conv_block *blocks;
	size_t *convt_w, *convt_b;   /* offsets of the up-convolutions, per level */
	size_t head_w, head_b;
	float **cat, **dcat;         /* per level: [upsampled, skip] and its gradient */
	float **pool, **dpool;       /* per level: pooled skip and its gradient */
	uint8_t **argmax;
	float *folded;               /* inference: conv weights with batch norm folded in */
	float *x, *logits, *dlogits; /* (Cin,N,Hp,Wp), (Cout,N,Hp,Wp) x2 */
	float *crop, *dcrop, *tgt;   /* (Cout,N,H,W): cropped logits, grad, target */
	int last_batch;
} unet;

/* unet_create: a network for batches of up to max_batch images of H x W;
 * dies on a bad configuration. Parameters are zero until unet_init_params
 * or a model load. */
unet *unet_create(const unet_config *cfg, int max_batch, int H, int W);
void unet_free(unet *u);
/* unet_init_params: He normal conv weights (std sqrt(2/fan_in), fan_in as
 * PyTorch computes it: weight.size(1)*kh*kw), zero biases, gamma 1, beta 0,
 * running mean 0, var 1; Adam state reset. */
void unet_init_params(unet *u, uint64_t seed);

/* unet_forward: x (B,Cin,H,W) -> logits_out (B,Cout,H,W) (may be NULL: the
 * logits stay inside for unet_loss). train: batch statistics (and running
 * statistics updated) instead of the running ones. */
void unet_forward(unet *u, const float *x, int B, int train, float *logits_out);
/* unet_loss: the loss of the last forward against target -- float
 * (B,Cout,H,W) for bce and mse, uint8 class indices (B,H,W) for ce -- and
 * its gradient, kept for unet_backward. */
float unet_loss(unet *u, const void *target, int B, loss_kind loss);
/* unet_backward: accumulate parameter gradients (+=) from the last
 * unet_loss; the forward must have been a training one. */
void unet_backward(unet *u, int B);
/* unet_train_step: zero gradients, forward (training), loss, backward,
 * Adam step. Returns the loss. */
float unet_train_step(unet *u, const float *x, const void *target, int B,
		      loss_kind loss, const adam_config *opt);

#endif
