/* fcn.h: FCN-8 (Long, Shelhamer and Darrell, "Fully Convolutional Networks
 * for Semantic Segmentation"), the seed's segmentation network, built from
 * the layers in nn.h on segpipe's scale.
 *
 * Architecture, with F = filters:
 *   encoder, VGG style: five stages of 3x3 conv -> batchnorm -> act blocks,
 *     each stage then a 2x2 max pooling (stage l ends at 1/2^(l+1)):
 *       stage    0    1    2    3    4
 *       convs    2    2    3    3    3
 *       width    F   2F   4F   8F   8F
 *   fc6, fc7: two more 3x3 blocks of width 16F at 1/32 (VGG's fully
 *     connected layers as convolutions)
 *   scores: 1x1 convolutions to the classes K from fc7 (1/32), from
 *     pool 4 (1/16) and from pool 3 (1/8)
 *   decoder: score32 upsampled by 2 (transposed conv, kernel 4, stride 2,
 *     padding 1) plus score16; that upsampled by 2 plus score8; that
 *     upsampled by 8 (kernel 16, stride 8, padding 4) to the logits, no
 *     activation (softmax over the classes is the loss's: ce).
 * Every convolution has a bias; the upsamplings have none and start as
 * bilinear interpolation, the score layers at zero, as FCN's do; the
 * 3x3 weights are He normal.
 *
 * Parameter order (the model file and bench/fcn_torch.py rely on it): the
 * thirteen encoder blocks and fc6, fc7 in forward order, each conv weight
 * (Co,Ci,3,3), bias, batchnorm gamma, beta; then score32 weight (K,16F),
 * bias; up2 weight (K,K,4,4); score16 weight (K,8F), bias; up2 weight
 * (K,K,4,4); score8 weight (K,4F), bias; up8 weight (K,K,16,16). Running
 * statistics: running_mean then running_var of each batchnorm, in order.
 *
 * Any H x W: the input is padded with zeros at the bottom and right to a
 * multiple of 32, and the logits are cropped back, as the U-Net does.
 * External tensors are NCHW float (ce targets uint8 (B,H,W)).
 */
#ifndef SEGPIPE_FCN_H
#define SEGPIPE_FCN_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "nn.h"

#define FCN_STAGES 5
#define FCN_BLOCKS 15        /* 2+2+3+3+3 encoder blocks, fc6, fc7 */

typedef struct {
	int in_channels;    /* 1 */
	int out_channels;   /* the classes K */
	int filters;        /* 8: width of stage 0 */
	act_kind act;       /* ACT_RELU */
} fcn_config;

fcn_config fcn_defaults(void);
/* fcn_check: 0, or -1 with what is wrong in err */
int fcn_check(const fcn_config *cfg, char *err, size_t errlen);
void fcn_sizes(const fcn_config *cfg, size_t *nparams, size_t *nstats);

typedef struct conv_block conv_block;   /* conv3x3 + batchnorm + act (block.h) */

typedef struct {
	fcn_config cfg;
	int H, W, Hp, Wp, max_batch;
	nn_params params;
	size_t nstats;
	float *stats;
	/* internals: see fcn.c */
	conv_block *blocks;
	size_t s32_w, s32_b, up16_w, s16_w, s16_b, up8_w, s8_w, s8_b, up1_w;
	float *pool[FCN_STAGES], *dpool[FCN_STAGES];
	uint8_t *argmax[FCN_STAGES];
	float *s32, *ds32, *u16, *s16, *sum16, *dsum16, *u8, *s8, *sum8, *dsum8, *dskip;
	float *x, *logits, *dlogits, *crop, *dcrop, *tgt, *folded;
	int last_batch;
} fcn;

/* fcn_create: a network for batches of up to max_batch images of H x W;
 * parameters zero until fcn_init_params or a model load. */
fcn *fcn_create(const fcn_config *cfg, int max_batch, int H, int W);
void fcn_free(fcn *f);
void fcn_init_params(fcn *f, uint64_t seed);

/* as unet_forward, unet_loss, unet_backward, unet_train_step (unet.h) */
void fcn_forward(fcn *f, const float *x, int B, int train, float *logits_out);
float fcn_loss(fcn *f, const void *target, int B, loss_kind loss);
void fcn_backward(fcn *f, int B);
float fcn_train_step(fcn *f, const float *x, const void *target, int B, loss_kind loss,
		     const adam_config *opt);

/* the model file (kind fcn8): as model_from_unet, unet_from_model */
void model_from_fcn(model *m, const fcn *f, int with_adam);
fcn *fcn_from_model(const model *m, int max_batch, int H, int W);

#endif
