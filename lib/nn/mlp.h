/* mlp.h: dense layers and multi-layer perceptrons (llm.c style).
 *
 * Activations are row-major (B, units): one sample per row, as in PyTorch's
 * Linear. A network of L dense layers has L+1 sizes, size[0] inputs to
 * size[L] outputs, and one activation per dense layer. Its parameters live
 * in one nn_params buffer, per layer the weight (size[l+1], size[l]) then
 * the bias (size[l+1]): PyTorch's Linear layout and order.
 *
 * Initialisation: He normal (std sqrt(2 / fan_in)) for relu and leaky_relu
 * layers; Glorot uniform (+-sqrt(6 / (fan_in + fan_out))) for sigmoid, tanh
 * and linear layers; biases 0.
 *
 * Losses: mse is taken on the output after its activation; bce needs a
 * sigmoid output layer and is taken on its pre-activation (the logits), which
 * is the same loss computed without overflow.
 */
#ifndef SEGPIPE_MLP_H
#define SEGPIPE_MLP_H

#include <stddef.h>
#include <stdint.h>

#include "nn.h"
#include "model.h"

/* ---- the dense layer ------------------------------------------------------ */

// out (B,Out), inp (B,In), w (Out,In), b (Out)
void linear_forward(float *out, const float *inp, const float *w, const float *b,
		    int B, int In, int Out);
// dinp (B,In) written (may be NULL: first layer), dw (Out,In) +=, db (Out) +=,
// dout (B,Out), inp (B,In), w (Out,In)
void linear_backward(float *dinp, float *dw, float *db, const float *dout,
		     const float *inp, const float *w, int B, int In, int Out);

/* ---- the network ------------------------------------------------------------ */

#define MLP_LINEAR (-1)     /* "linear" (or "none"): no activation */
#define MLP_MAX_LAYERS 64   /* sizes in one network, at most */

typedef struct {
	int L;              /* dense layers */
	int size[MLP_MAX_LAYERS];   /* (L+1) units, input first */
	int act[MLP_MAX_LAYERS];    /* (L) act_kind, or MLP_LINEAR */
	loss_kind loss;     /* LOSS_MSE or LOSS_BCE */
	nn_params params;   /* per layer: w (size[l+1], size[l]), b (size[l+1]) */
	size_t woff[MLP_MAX_LAYERS], boff[MLP_MAX_LAYERS];
	/* the last forward pass, kept for backward */
	int cap;            /* batch the buffers hold */
	int B;              /* batch of the last forward pass */
	const float *x;     /* (B, size[0]) the caller's input */
	float *a[MLP_MAX_LAYERS];   /* a[l] (cap, size[l]) output of layer l, l = 1..L */
	float *logits;      /* (cap, size[L]) pre-activation of the last layer (bce) */
	float *d0, *d1;     /* (cap, max size) gradient scratch */
} mlp;

/* mlp_act_parse: relu, leaky_relu, tanh, sigmoid, linear or none; -2 if unknown. */
int mlp_act_parse(const char *name);
/* mlp_act_name: "linear" for MLP_LINEAR (the model file writes "none"). */
const char *mlp_act_name(int act);
/* mlp_parse_sizes: "784,256,2" into size[]; the count (>= 2), or -1. */
int mlp_parse_sizes(const char *s, int *size, int max);
/* mlp_parse_acts: "relu,sigmoid" into act[]; the count, or -1. */
int mlp_parse_acts(const char *s, int *act, int max);

/* mlp_nparams: the parameter count of L dense layers between size[0..L]
 * (sizes 1..2^24), without allocating them. */
size_t mlp_nparams(int L, const int *size);
/* mlp_create: L dense layers between size[0..L]; parameters zero. Returns
 * NULL with a message in err when the network cannot be built (bce without
 * a sigmoid output, a size out of range). */
mlp *mlp_create(int L, const int *size, const int *act, loss_kind loss,
		char *err, size_t errlen);
void mlp_free(mlp *m);
/* mlp_init_params: He / Glorot as above, from the seed. */
void mlp_init_params(mlp *m, uint64_t seed);

/* mlp_forward: run B samples; out (B, size[L]) gets the final activations
 * (may be NULL). Keeps x and every layer's output until the next call. */
// out (B,size[L]), x (B,size[0])
void mlp_forward(mlp *m, const float *x, int B, float *out);
/* mlp_layer: layer k's output of the last forward pass, (B, size[k]);
 * k = 0 is the input. */
const float *mlp_layer(const mlp *m, int k);
/* mlp_loss: the mean loss of the last forward pass against y (B, size[L]). */
float mlp_loss(mlp *m, const float *y);
/* mlp_forward_backward: forward, loss, backward; ACCUMULATES the parameter
 * gradients into m->params.g. Returns the mean loss. */
float mlp_forward_backward(mlp *m, const float *x, const float *y, int B);
/* mlp_train_step: zero the gradients, forward_backward, one Adam step. */
float mlp_train_step(mlp *m, const float *x, const float *y, int B, const adam_config *opt);

/* ---- model files (man 5 segpipe-model, kind mlp) ------------------------------- */

/* mlp_from_model: the network a model of kind mlp describes, with its
 * parameters (and Adam state, when the model has it); dies with one line
 * naming path when the header and the tensors disagree (net_load reads a
 * model file of any kind). */
mlp *mlp_from_model(const model *md, const char *path);
/* mlp_to_model: fill the architecture and parameters of md (an initialised
 * model) from m, and with with_adam the Adam state (a checkpoint); the
 * training fields are the caller's. */
void mlp_to_model(model *md, const mlp *m, int with_adam);

#endif
