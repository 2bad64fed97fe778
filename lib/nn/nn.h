/* nn.h: neural-network layers, losses, initialisation and Adam (llm.c style).
 *
 * Activations use the channel-major layout (C, N, H, W): channel c of the
 * whole batch is one contiguous block of N*H*W floats. A 3x3 convolution over
 * the batch is then im2col + sgemm into out(Cout, N*H*W), batch-norm
 * statistics are sums over one contiguous block, and concatenating two
 * tensors along channels is just putting them next to each other in memory.
 *
 * Conventions, for every layer:
 *   - NAME_forward(outputs, inputs, weights, sizes) / NAME_backward(...);
 *     every pointer's shape is in the comment above it.
 *   - backward ACCUMULATES (+=) into parameter gradients (dw, db, dgamma,
 *     dbeta); the caller zeroes them once per step (nn_params_zero_grad).
 *   - backward WRITES (=) the input gradient dinp, except maxpool_backward,
 *     which accumulates (its input is always a U-Net skip that also receives
 *     a gradient through the concatenation).
 *   - Results depend only on the inputs and nn_threads(): every reduction is
 *     done per fixed chunk and combined in a fixed order, so the same data,
 *     seed and thread count give the same bytes.
 *   - A dense layer is conv1x1 with H = W = 1 on (features, batch).
 *
 * Files: nn_params.c (threads, parameter table, Adam, init), nn_conv.c
 * (convolutions by im2col + sgemm), nn_convt.c (the general transposed
 * convolution, score sums), nn_winograd.c (3x3 convolution by
 * Winograd F(2x2,3x3)), nn_layers.c (pooling, batch norm, activations,
 * concatenation), nn_loss.c (losses).
 */
#ifndef SEGPIPE_NN_H
#define SEGPIPE_NN_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* ---- threads ---------------------------------------------------------- */

/* nn_set_threads: the number of threads for the layers (OpenMP) and for
 * OpenBLAS. Each sgemm runs single-threaded on one thread's share of the
 * batch, so the two thread pools never compete for the cores. */
void nn_set_threads(int n);
int nn_threads(void);

/* nn_share: where thread t of T starts on N items (it ends where t + 1
 * starts): the fixed split every layer uses, so results depend on T only. */
static inline int nn_share(int N, int t, int T)
{
	return (int)((long)N * t / T);
}

/* nn_scratch: a growing per-thread buffer of at least n floats in slot
 * 0..NN_SCRATCH_SLOTS-1, reused by every later call on the thread (never
 * freed; its contents are not kept from one call to the next), 64-byte
 * aligned (the bf16 kernels load whole panels aligned). */
#define NN_SCRATCH_SLOTS 4
float *nn_scratch(int slot, size_t n);

/* ---- parameters, gradients and Adam over one buffer --------------------- */

/* nn_layout: a table of tensor sizes, in a fixed order, carving one buffer. */
typedef struct {
	int count, cap;
	size_t *size;       /* floats in tensor i */
	size_t total;       /* sum of size[] */
} nn_layout;

/* nn_layout_add: append a tensor of n floats; returns its offset. */
size_t nn_layout_add(nn_layout *l, size_t n);
void nn_layout_free(nn_layout *l);

/* nn_params: parameters, their gradients and Adam's moments, each one
 * contiguous buffer of n floats in the same order. */
typedef struct nn_params {
	size_t n;
	float *p, *g, *m, *v;
	int64_t step;       /* Adam steps taken (for bias correction) */
} nn_params;

void nn_params_alloc(nn_params *ps, size_t n);   /* all zero */
void nn_params_free(nn_params *ps);
void nn_params_zero_grad(nn_params *ps);

typedef struct {
	float lr;           /* learning rate */
	float beta1, beta2; /* 0.9, 0.999 */
	float eps;          /* 1e-8 */
	float weight_decay; /* decoupled (AdamW): p -= lr*wd*p; 0 = plain Adam */
} adam_config;

adam_config adam_defaults(float lr);
/* adam_step: one step of Adam (PyTorch semantics, bias-corrected) over every
 * parameter: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps). */
void adam_step(nn_params *ps, const adam_config *cfg);

/* init_kaiming: He normal, std sqrt(2 / fan_in), n floats. */
void init_kaiming(float *w, size_t n, int fan_in, rng_t *rng);
void init_fill(float *x, size_t n, float value);

/* ---- convolutions -------------------------------------------------------- */

// out (Co,N,H,W), inp (Ci,N,H,W), w (Co,Ci,3,3), b (Co); zero padding 1
void conv3x3_forward(float *out, const float *inp, const float *w, const float *b,
		     int Ci, int Co, int N, int H, int W);
/* conv3x3_act_forward: the same, then the activation act applied while
 * each share of the output is still in cache (act < 0: none). With the
 * batch norm folded into w and b, this is a whole inference block.
 * Images of 4x4 and more go by Winograd F(2x2,3x3), smaller by im2col. */
// out (Co,N,H,W), inp (Ci,N,H,W), w (Co,Ci,3,3), b (Co)
void conv3x3_act_forward(float *out, const float *inp, const float *w, const float *b,
			 int Ci, int Co, int N, int H, int W, int act);
/* conv3x3_im2col_forward: conv3x3_act_forward as im2col + sgemm. */
// out (Co,N,H,W), inp (Ci,N,H,W), w (Co,Ci,3,3), b (Co)
void conv3x3_im2col_forward(float *out, const float *inp, const float *w, const float *b,
			    int Ci, int Co, int N, int H, int W, int act);
/* conv3x3_winograd_forward: conv3x3_act_forward by Winograd F(2x2,3x3)
 * (nn_winograd.c), 2.25x fewer multiplies; agrees with the im2col version
 * to float rounding (~1e-6 relative). conv3x3_winograd_ok: whether the
 * sizes are supported. */
// out (Co,N,H,W), inp (Ci,N,H,W), w (Co,Ci,3,3), b (Co)
void conv3x3_winograd_forward(float *out, const float *inp, const float *w, const float *b,
			      int Ci, int Co, int N, int H, int W, int act);
int conv3x3_winograd_ok(int Ci, int Co, int H, int W);
/* conv3x3_winograd_tile: the output tile, 2 (F(2x2,3x3)) or 4 (F(4x4,3x3),
 * 36 products per 16 outputs instead of 64, on the avx512 vector table),
 * that conv3x3_winograd_forward uses for H x W planes: 4 where it does a
 * quarter fewer products, unless SEGPIPE_WINOGRAD=2|4 or
 * conv3x3_winograd_force(m) (0: the rule again) says otherwise. The weight
 * gradient is always F(2x2,3x3). */
int conv3x3_winograd_tile(int H, int W);
void conv3x3_winograd_force(int m);
/* conv3x3_winograd_weight_grad: the weight gradient of the same, computed
 * in the Winograd domain (dU = sum over tiles of (A dY A^T) (B^T d B),
 * dw += G^T dU G). */
// dw (Co,Ci,3,3) +=, dout (Co,N,H,W), inp (Ci,N,H,W)
void conv3x3_winograd_weight_grad(float *dw, const float *dout, const float *inp,
				  int Ci, int Co, int N, int H, int W);
/* conv3x3_direct_forward, conv3x3_direct_weight_grad: the same by the
 * kernel path's direct convolution, where kconv_ok (kern.h) says it has one
 * (amx in bf16); conv3x3_act_forward and conv3x3_backward take it there. */
void conv3x3_direct_forward(float *out, const float *inp, const float *w, const float *b,
			    int Ci, int Co, int N, int H, int W, int act);
void conv3x3_direct_weight_grad(float *dw, const float *dout, const float *inp, int Ci, int Co,
				int N, int H, int W);
/* conv3x3_im2col_weight_grad: the same by im2col and one product. */
void conv3x3_im2col_weight_grad(float *dw, const float *dout, const float *inp,
				int Ci, int Co, int N, int H, int W);
// dinp (Ci,N,H,W) written, dw (Co,Ci,3,3) +=, db (Co) +=, dout (Co,N,H,W),
// inp (Ci,N,H,W), w (Co,Ci,3,3); dinp may be NULL (first layer), db NULL
// where the caller has the bias gradient already (bn_act_backward's dsum)
void conv3x3_backward(float *dinp, float *dw, float *db, const float *dout,
		      const float *inp, const float *w, int Ci, int Co, int N, int H, int W);

// out (Co,N,H,W), inp (Ci,N,H,W), w (Co,Ci), b (Co)
void conv1x1_forward(float *out, const float *inp, const float *w, const float *b,
		     int Ci, int Co, int N, int H, int W);
// dinp (Ci,N,H,W) written (may be NULL), dw (Co,Ci) +=, db (Co) +=, dout (Co,N,H,W)
void conv1x1_backward(float *dinp, float *dw, float *db, const float *dout,
		      const float *inp, const float *w, int Ci, int Co, int N, int H, int W);

/* Transposed convolution, kernel 2x2, stride 2: (Ci,N,H,W) -> (Co,N,2H,2W).
 * w in PyTorch's ConvTranspose2d layout (Ci,Co,2,2). */
// out (Co,N,2H,2W), inp (Ci,N,H,W), w (Ci,Co,2,2), b (Co)
void convt2x2_forward(float *out, const float *inp, const float *w, const float *b,
		      int Ci, int Co, int N, int H, int W);
// dinp (Ci,N,H,W) written, dw (Ci,Co,2,2) +=, db (Co) +=, dout (Co,N,2H,2W)
void convt2x2_backward(float *dinp, float *dw, float *db, const float *dout,
		       const float *inp, const float *w, int Ci, int Co, int N, int H, int W);

/* General transposed convolution, kernel k x k, stride s, padding p
 * (PyTorch's ConvTranspose2d(Ci, Co, k, s, p)): (Ci,N,H,W) -> (Co,N,Ho,Wo),
 * Ho = (H-1)*s - 2p + k (convt_out_size). w in PyTorch's layout
 * (Ci,Co,k,k); b may be NULL (no bias), and so may db. FCN upsamples by 2
 * with k 4, s 2, p 1 and by 8 with k 16, s 8, p 4 (nn_convt.c). */
int convt_out_size(int n, int k, int s, int p);
// out (Co,N,Ho,Wo), inp (Ci,N,H,W), w (Ci,Co,k,k), b (Co) or NULL
void convt_forward(float *out, const float *inp, const float *w, const float *b,
		   int Ci, int Co, int N, int H, int W, int k, int s, int p);
// dinp (Ci,N,H,W) written (may be NULL), dw (Ci,Co,k,k) +=, db (Co) += (may be
// NULL), dout (Co,N,Ho,Wo)
void convt_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
		    const float *w, int Ci, int Co, int N, int H, int W, int k, int s, int p);
/* convt_init_bilinear: bilinear interpolation kernels (FCN's upsample_filt)
 * from channel i to channel i, zero elsewhere. */
// w (Ci,Co,k,k)
void convt_init_bilinear(float *w, int Ci, int Co, int k);

/* Score sums (FCN's skip connections): out = a + b elementwise; the
 * backward passes dout to both (da and db written; either may be dout). */
// out (n), a (n), b (n)
void add_forward(float *out, const float *a, const float *b, size_t n);
// da (n), db (n) written, dout (n)
void add_backward(float *da, float *db, const float *dout, size_t n);

/* ---- pooling ---------------------------------------------------------------- */

/* Max pooling 2x2 stride 2 to (H/2, W/2): an odd last row or column is
 * left out (as PyTorch's MaxPool2d; the CNN pools 7x7 to 3x3) and gets no
 * gradient. argmax holds 0..3, the position of the maximum in its window
 * (first one on ties), for the backward pass. */
// out (C,N,H/2,W/2), argmax (C,N,H/2,W/2), inp (C,N,H,W)
void maxpool_forward(float *out, uint8_t *argmax, const float *inp, int C, int N, int H, int W);
// dinp (C,N,H,W) += (accumulates!), dout (C,N,H/2,W/2), argmax (C,N,H/2,W/2)
void maxpool_backward(float *dinp, const float *dout, const uint8_t *argmax,
		      int C, int N, int H, int W);

/* ---- batch normalisation (PyTorch BatchNorm2d) ----------------------------- */

#define BN_EPS 1e-5f
#define BN_MOMENTUM 0.1f

/* Training: normalise with the batch mean and biased variance, save them
 * (mean, invstd) for backward, and update the running statistics with
 * momentum 0.1 and the unbiased variance. Inference (train = 0): normalise
 * with running_mean/var; mean and invstd are not touched and may be NULL.
 * out may equal inp. */
// out (C,N,H,W), mean (C), invstd (C), running_mean (C), running_var (C),
// inp (C,N,H,W), gamma (C), beta (C); P = N*H*W
void batchnorm_forward(float *out, float *mean, float *invstd, float *running_mean,
		       float *running_var, const float *inp, const float *gamma,
		       const float *beta, int C, size_t P, int train);
// dinp (C,N,H,W) written (may equal dout), dgamma (C) +=, dbeta (C) +=,
// dout (C,N,H,W), inp (C,N,H,W) (the forward input), mean (C), invstd (C), gamma (C)
/* batchnorm_fold: the inference batch norm as a per-channel affine map
 * y = x * scale + shift, folded into the preceding convolution:
 * wf = w * scale (per output channel), bf = b * scale + shift. */
// wf (Co,K), bf (Co), w (Co,K), b (Co), gamma, beta, running_mean, running_var (Co)
void batchnorm_fold(float *wf, float *bf, const float *w, const float *b, const float *gamma,
		    const float *beta, const float *running_mean, const float *running_var,
		    int Co, size_t K);
void batchnorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
			const float *inp, const float *mean, const float *invstd,
			const float *gamma, int C, size_t P);

/* ---- activations (elementwise; out may equal inp) ------------------------- */

typedef enum { ACT_RELU, ACT_LEAKY_RELU, ACT_TANH, ACT_SIGMOID } act_kind;
#define LEAKY_SLOPE 0.01f

/* act_parse: "relu", "leaky_relu", "tanh", "sigmoid"; -1 if unknown. */
int act_parse(const char *name);
const char *act_name(act_kind a);

// out (n), inp (n)
void act_forward(float *out, const float *inp, size_t n, act_kind a);
/* The derivative is taken from the forward OUTPUT, so the pre-activation
 * need not be kept (all four are monotonic). dinp may equal dout. */
// dinp (n) written, dout (n), out (n) the forward output
void act_backward(float *dinp, const float *dout, const float *out, size_t n, act_kind a);

/* act_apply: act_forward on the calling thread only, for use inside other
 * layers' parallel loops (y may equal x). */
// y (n), x (n)
void act_apply(float *y, const float *x, size_t n, act_kind a);

/* Fused batchnorm + activation, as used in the U-Net: one pass each way.
 * Same semantics as batchnorm_forward then act_forward; backward needs the
 * forward input inp and output out. */
// out (C,N,H,W), mean, invstd, running_mean, running_var (C), inp (C,N,H,W)
void bn_act_forward(float *out, float *mean, float *invstd, float *running_mean,
		    float *running_var, const float *inp, const float *gamma,
		    const float *beta, int C, size_t P, int train, act_kind a);
// dinp (C,N,H,W) written, dgamma, dbeta (C) +=, dout (C,N,H,W) (may equal dinp),
// inp (C,N,H,W) forward input, out (C,N,H,W) forward output; dsum (C) +=
// the sums of dinp's channels, the bias gradient of the layer before (as
// the separate pass over dinp would give it, the same bytes), or NULL
void bn_act_backward(float *dinp, float *dgamma, float *dbeta, float *dsum, const float *dout,
		     const float *inp, const float *out, const float *mean,
		     const float *invstd, const float *gamma, int C, size_t P, act_kind a);

/* ---- concatenation ----------------------------------------------------------- */

/* In (C,N,H,W) layout [a; b] along channels is a followed by b. The U-Net
 * arranges its buffers so it never copies; these are for other callers. */
// out (Ca+Cb,N,H,W), a (Ca,N,H,W), b (Cb,N,H,W); P = N*H*W
void concat_forward(float *out, const float *a, const float *b, int Ca, int Cb, size_t P);
// da (Ca,N,H,W) written, db (Cb,N,H,W) written, dout (Ca+Cb,N,H,W)
void concat_backward(float *da, float *db, const float *dout, int Ca, int Cb, size_t P);

/* ---- losses: return the mean loss and WRITE dlogits --------------------------- */

typedef enum { LOSS_BCE, LOSS_MSE, LOSS_CE } loss_kind;
int loss_parse(const char *name);      /* "bce", "mse", "ce"; -1 if unknown */
const char *loss_name(loss_kind k);

/* Binary cross-entropy on logits, mean over all n elements:
 * max(x,0) - x*y + log1p(exp(-|x|)). */
// dlogits (n), logits (n), target (n) in [0,1]
float bce_loss(float *dlogits, const float *logits, const float *target, size_t n);
/* Mean squared error of the raw outputs, mean over all n elements. */
// dlogits (n), logits (n), target (n)
float mse_loss(float *dlogits, const float *logits, const float *target, size_t n);
/* Softmax cross-entropy over K class maps, mean over the P = N*H*W pixels.
 * A target >= K is an error (die). */
// dlogits (K,N,H,W), logits (K,N,H,W), target (N,H,W)
float softmax_ce_loss(float *dlogits, const float *logits, const uint8_t *target,
		      int K, size_t P);

#endif
