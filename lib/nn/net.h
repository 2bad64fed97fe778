/* net.h: one face for every network segpipe trains (the U-Net, the MLP),
 * so that predict, encode and the trainers never ask which kind a model is.
 *
 * A net is built from a model file (net_load, net_from_model) or wraps a
 * network a trainer has just created (net_wrap_unet, net_wrap_mlp). It
 * knows its loss, so net_predict gives what a user wants to see --
 * probabilities for bce (sigmoid) and ce (softmax over the channels),
 * values for mse -- whatever the network's last layer returns (a U-Net's
 * logits, an MLP's activations). Targets are read as the network's loss
 * reads them (net_targets), and net_to_model writes the architecture,
 * parameters, statistics and Adam state that segpipe-model(5) holds.
 *
 * The options every computing tool shares live here too: --precision and
 * -v, and --version with the kernel line. */
#ifndef SEGPIPE_NET_H
#define SEGPIPE_NET_H

#include <stddef.h>
#include <stdint.h>

#include "cnn.h"
#include "fcn.h"
#include "kern.h"
#include "nn.h"
#include "model.h"
#include "mlp.h"
#include "stream.h"
#include "unet.h"

typedef struct net net;

/* ---- building ------------------------------------------------------------ */

/* net_wrap_unet: a face for u (the net owns it from now on), trained with
 * loss (classes for ce, else 0). net_wrap_mlp: the same for an MLP, whose
 * loss is its own. */
net *net_wrap_unet(unet *u, loss_kind loss, int classes);
net *net_wrap_mlp(mlp *m);
/* net_wrap_cnn: the same for a CNN classifier (loss ce, its classes). */
net *net_wrap_cnn(cnn *c);
/* net_wrap_fcn: the same for an FCN-8 (logits out, as a U-Net). */
net *net_wrap_fcn(fcn *f, loss_kind loss, int classes);
/* net_from_model: the network a loaded model describes, with its
 * parameters, statistics and Adam state, for batches of up to max_batch
 * samples of H x W (0, 0: the size in the model); dies with one line naming
 * path when the model cannot be built. net_load: model_read, then this;
 * with need NET_NEED_LAYERS, a kind without layers to read (net_layers) is
 * refused before it is built. */
enum { NET_NEED_LAYERS = 1 };
net *net_from_model(const model *m, const char *path, int max_batch, int H, int W);
net *net_load(const char *path, int max_batch, int H, int W, unsigned need);
void net_free(net *n);

/* ---- what it is ---------------------------------------------------------- */

loss_kind net_loss(const net *n);
int net_classes(const net *n);          /* ce: the classes; else 0 */
/* net_trained_precision: the precision the model file says it was trained
 * with (fp32 for a new network). */
kern_precision net_trained_precision(const net *n);

/* ---- inference ------------------------------------------------------------ */

/* net_check_input: samples of shape s (from the stream called name) fit the
 * network's input; dies with one line if not. */
void net_check_input(const net *n, const shape_t *s, const char *name);
/* net_output_shape: the shape of one output sample for inputs of shape in:
 * (C,H,W) for a U-Net; for an MLP the input's shape when it has as many
 * values, else a vector; for a CNN classifier the vector of its K class
 * probabilities. */
shape_t net_output_shape(const net *n, const shape_t *in);
/* net_predict: B samples x (B, input size) -> out (B, output size):
 * probabilities (bce, ce) or values (mse). */
// out (B,out size), x (B,in size)
void net_predict(net *n, const float *x, int B, float *out);

/* Hidden layers (encode): net_layers is the number of layers (0 when the
 * kind has none to read: a U-Net), net_layer_size the values of layer k
 * (0 = the input .. net_layers = the output), net_code_layer the smallest
 * hidden layer (the first of equals; -1 if none); net_encode runs B samples
 * and returns layer k's outputs, (B, net_layer_size(k)), valid until the
 * next call. */
int net_layers(const net *n);
int net_layer_size(const net *n, int k);
int net_code_layer(const net *n);
const float *net_encode(net *n, const float *x, int B, int k);

/* ---- training ------------------------------------------------------------- */

/* net_check_data: training inputs and targets fit the network (channels,
 * sizes); dies naming what (the model file, or the network's options). */
void net_check_data(const net *n, const dataset *in, const dataset *tg, const char *what);
/* net_target_bytes: bytes per target element (1: ce class indices, 4: float). */
size_t net_target_bytes(const net *n);
/* net_targets: samples idx[0..B-1] of d as the loss reads them, y (B, size). */
void net_targets(const net *n, void *y, const dataset *d, const int64_t *idx, int B);
/* net_train_step: zero gradients, forward (training), loss, backward, one
 * Adam step; returns the mean loss. net_eval_loss: the mean loss of B
 * samples in inference mode (running statistics), nothing updated. */
float net_train_step(net *n, const float *x, const void *y, int B, const adam_config *opt);
/* net_grad: net_train_step without the Adam step: zero gradients,
 * forward (training, the running statistics updated), loss, backward; the
 * gradient of the mean loss in net_params(n)->g. Returns the mean loss. */
float net_grad(net *n, const float *x, const void *y, int B);
/* net_adam_step: the Adam step of net_train_step, over what trains (a
 * frozen classifier: its head alone), on the gradient net_params(n)->g */
void net_adam_step(net *n, const adam_config *opt);
float net_eval_loss(net *n, const float *x, const void *y, int B);

/* ---- parameters ------------------------------------------------------------ */

/* net_params: parameters, gradients and Adam state, one buffer each.
 * net_stats: the batch-norm running statistics (*count of them; NULL, 0
 * for a network without). The trainer copies both for the best epoch. */
nn_params *net_params(net *n);
float *net_stats(net *n, size_t *count);
/* net_to_model: the architecture, parameters, statistics and Adam state
 * into m (an initialised model, whose tensors are replaced); the training
 * fields are the caller's. */
void net_to_model(const net *n, model *m);

/* ---- the options every computing tool shares ------------------------------ */

/* NET_LONGOPTS: --precision and --verbose for a getopt_long table (with
 * "v" in the short options); net_option handles their codes and returns 1,
 * or 0 for a code that is not one of them. */
enum { NET_OPT_PRECISION = 0x4e00, NET_OPT_VERBOSE = 'v' };
#define NET_LONGOPTS \
	{ "precision", required_argument, NULL, NET_OPT_PRECISION }, \
	{ "verbose", no_argument, NULL, NET_OPT_VERBOSE }

typedef struct {
	kern_precision precision;
	int precision_given;      /* --precision was given */
	int verbose;
} net_options;

int net_option(net_options *o, int c, const char *arg);
/* net_version: the version line, then kern_describe()'s line; exit 0. */
void net_version(void);
/* net_use_precision: kern_set_precision(p) before any compute; with
 * verbose, one line "progname: kernel ..., precision ..." on stderr. */
void net_use_precision(kern_precision p, int verbose);

#endif
