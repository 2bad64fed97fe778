/* cnn.h: the CNN classifier of segpipe, built from the layers in nn.h.
 *
 * Architecture, with c_s = filters * 2^s:
 *   stage s = 0..stages-1:  convs x (conv3x3 -> batchnorm -> act) to c_s
 *                           channels; a 2x2 max pooling after every stage
 *                           but the last (odd sizes: the last row or column
 *                           is dropped, as PyTorch's MaxPool2d does)
 *   global average pooling: (c_last, N, h, w) -> F = c_last features
 *   dropout:                each feature zeroed with probability p in
 *                           training, the others scaled by 1/(1-p)
 *                           (inverted dropout); nothing in inference
 *   head:                   dense F -> K (a 1x1 convolution on (F, N)),
 *                           logits; softmax cross-entropy over K classes
 * Every convolution has a bias. With 1 input channel, 3 stages of 2 convs,
 * 32 filters and 10 classes it has 288,554 parameters.
 *
 * Parameter order (the model file relies on it): stages in order, in each
 * its convolution blocks, each block's conv weight (Cout,Cin,3,3), bias
 * (Cout), batch-norm gamma (Cout), beta (Cout); then the head's weight
 * (K,F) and bias (K). Running statistics: per batch norm, running_mean (C)
 * then running_var (C), in the same order.
 *
 * Initialisation: He normal conv weights (std sqrt(2/fan_in), as unet.c),
 * Glorot uniform head weight (+-sqrt(6/(F+K)), as the MLP's linear layers),
 * zero biases, gamma 1, beta 0, running mean 0 and variance 1.
 *
 * Frozen (cnn.freeze, for fine-tuning and linear probes): the feature
 * layers run in inference mode (their running statistics are used, not
 * updated) and only the head is trained; the feature parameters, their
 * statistics and their Adam state stay as they are, byte for byte.
 *
 * External tensors are NCHW float; labels uint8 (B); inside, activations
 * are (C,N,H,W), see nn.h.
 */
#ifndef SEGPIPE_CNN_H
#define SEGPIPE_CNN_H

#include <stddef.h>
#include <stdint.h>

#include "nn.h"
#include "model.h"

/* ---- the layers the CNN adds to nn.h ---------------------------------------- */

/* Global average pooling: the mean of each plane. */
// out (C,N), inp (C,N,H,W)
void gap_forward(float *out, const float *inp, int C, int N, int H, int W);
// dinp (C,N,H,W) written, dout (C,N)
void gap_backward(float *dinp, const float *dout, int C, int N, int H, int W);

/* Inverted dropout: mask (n) gets 0 or 1/(1-p), drawn from rng (one
 * uniform number per element, in order); out = inp * mask. p = 0 gives a
 * mask of ones and draws nothing. out may equal inp. */
// out (n), mask (n), inp (n)
void dropout_forward(float *out, float *mask, const float *inp, size_t n, float p, rng_t *rng);
// dinp (n) written (may equal dout), dout (n), mask (n)
void dropout_backward(float *dinp, const float *dout, const float *mask, size_t n);

/* ---- the network ------------------------------------------------------------ */

#define CNN_MAX_STAGES 8
#define CNN_MAX_CONVS 8

typedef struct {
	int in_channels;    /* 1 */
	int classes;        /* K, 2..256 */
	int stages;         /* 3 */
	int convs;          /* 2 convolution blocks per stage */
	int filters;        /* 32: channels of stage 0, doubling per stage */
	act_kind act;       /* ACT_RELU */
	float dropout;      /* 0: the probability of dropping a feature, [0, 0.95] */
} cnn_config;

cnn_config cnn_defaults(void);
/* cnn_check: 0 if the configuration can be built, else -1 with what is
 * wrong in err. */
int cnn_check(const cnn_config *cfg, char *err, size_t errlen);
/* cnn_min_size: the smallest height and width the network takes
 * (2^(stages-1): every pooling needs two rows and columns). */
int cnn_min_size(const cnn_config *cfg);
/* cnn_sizes: parameter and statistics counts, without allocating. */
void cnn_sizes(const cnn_config *cfg, size_t *nparams, size_t *nstats);
/* cnn_features: F, the features before the head. */
int cnn_features(const cnn_config *cfg);

typedef struct conv_block conv_block;   /* conv3x3 + batchnorm + act (block.h) */

typedef struct {
	cnn_config cfg;
	int H, W;           /* the input size the network was created for */
	int max_batch;
	nn_params params;   /* parameters, gradients, Adam state */
	size_t nstats;
	float *stats;       /* batch-norm running statistics */
	size_t head_w, head_b;   /* offsets of the head in params */
	int freeze;         /* train the head only (see above) */
	uint64_t seed;      /* the dropout masks' seed (with the Adam step) */
	/* internals: see cnn.c */
	int nblocks;
	conv_block *blocks;
	float **pool;       /* per stage but the last: the pooled output */
	float **dpool;
	uint8_t **argmax;
	float *folded;      /* inference: conv weights with batch norm folded in */
	float *x;           /* (Cin,N,H,W) */
	float *feat, *dfeat, *mask;   /* (F,N): pooled features (after dropout) */
	float *logits, *dlogits;      /* (K,N) */
	float *out;         /* (N,max(F,K)) row-major copies for callers */
	int last_batch, last_train;
} cnn;

/* cnn_create: a network for batches of up to max_batch images of H x W;
 * dies on a bad configuration or an image smaller than cnn_min_size.
 * Parameters are zero until cnn_init_params or a model load. */
cnn *cnn_create(const cnn_config *cfg, int max_batch, int H, int W);
void cnn_free(cnn *c);
void cnn_init_params(cnn *c, uint64_t seed);
/* cnn_init_head: the head alone initialised again from seed (Glorot
 * uniform weight, zero bias) and its Adam state reset. */
void cnn_init_head(cnn *c, uint64_t seed);

/* cnn_forward: x (B,Cin,H,W) -> the logits (kept inside); train: batch
 * statistics and dropout (unless frozen: then the features run in
 * inference mode and only dropout differs). */
void cnn_forward(cnn *c, const float *x, int B, int train);
/* cnn_probabilities: softmax of the last forward's logits, (B,K) row-major. */
void cnn_probabilities(cnn *c, float *out);
/* cnn_features_out: the last forward's pooled features (before dropout
 * in inference, which has none), (B,F) row-major, valid until the next call. */
const float *cnn_features_out(cnn *c);
/* cnn_loss: mean softmax cross-entropy of the last forward against labels
 * (B) in 0..K-1, its gradient kept for cnn_backward. */
float cnn_loss(cnn *c, const uint8_t *labels, int B);
/* cnn_backward: accumulate the parameter gradients (+=); frozen, the head's
 * only. */
void cnn_backward(cnn *c, int B);
/* cnn_train_step: zero gradients, forward (training), loss, backward,
 * Adam (frozen: over the head's parameters only). Returns the loss. */
float cnn_train_step(cnn *c, const float *x, const uint8_t *labels, int B,
		     const adam_config *opt);
/* the two halves of it: the gradient (zeroed first; returns the loss), and
 * the Adam step over what trains (the head alone when frozen) */
float cnn_grad(cnn *c, const float *x, const uint8_t *labels, int B);
void cnn_adam(cnn *c, const adam_config *opt);

/* ---- model files (man 5 segpipe-model, kind cnn) ------------------------------- */

/* cnn_from_model: the network a model of kind cnn describes, for batches
 * of max_batch images of H x W (0, 0: the size in the model), with its
 * parameters, statistics and Adam state; dies naming path when the
 * header and the tensors disagree. */
cnn *cnn_from_model(const model *m, const char *path, int max_batch, int H, int W);
/* cnn_to_model: the architecture, parameters, statistics and (with_adam)
 * the Adam state into m; the training fields are the caller's. */
void cnn_to_model(model *m, const cnn *c, int with_adam);
/* cnn_init_from: the weights of another cnn model m (read from path) into
 * c: every feature layer, which must have the same shape (else an error
 * naming the layer), with its statistics; the head too when the class
 * counts agree, else it keeps its initialisation. Returns 1 when the head
 * was copied, 0 when not. The Adam state is left as it is (a fresh one). */
int cnn_init_from(cnn *c, const model *m, const char *path);

#endif
