/* net.c: one face for every network (see net.h); one table of operations
 * per kind, so that a new kind is a new table, not a new branch in callers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"
#include "batch.h"
#include "cli.h"

typedef struct {
	const char *kind;
	net *(*from_model)(const model *m, const char *path, int max_batch, int H, int W);
	void (*free)(net *n);
	void (*check_input)(const net *n, const shape_t *s, const char *name);
	shape_t (*output_shape)(const net *n, const shape_t *in);
	void (*predict)(net *n, const float *x, int B, float *out);
	void (*check_data)(const net *n, const dataset *in, const dataset *tg, const char *what);
	void (*targets)(const net *n, void *y, const dataset *d, const int64_t *idx, int B);
	float (*train_step)(net *n, const float *x, const void *y, int B, const adam_config *opt);
	float (*eval_loss)(net *n, const float *x, const void *y, int B);
	nn_params *(*params)(net *n);
	float *(*stats)(net *n, size_t *count);
	void (*to_model)(const net *n, model *m);
	/* hidden layers; NULL for a kind without layers to read */
	int (*layers)(const net *n);
	int (*layer_size)(const net *n, int k);
	const float *(*encode)(net *n, const float *x, int B, int k);
	/* net_grad, and net_adam_step (NULL: Adam over every parameter) */
	float (*grad)(net *n, const float *x, const void *y, int B);
	void (*adam)(net *n, const adam_config *opt);
} net_ops;

struct net {
	const net_ops *ops;
	loss_kind loss;
	int classes;
	kern_precision trained;   /* from the model file */
	unet *u;
	mlp *m;
	cnn *c;
	fcn *f;
};

/* ---- the U-Net: logits out, so the face applies the loss's activation ---- */

static net *unet_from_model_net(const model *m, const char *path, int max_batch, int H, int W)
{
	(void)path;   /* model.c's messages name the model already */
	return net_wrap_unet(unet_from_model(m, max_batch, H, W), m->loss, m->classes);
}

static void unet_free_net(net *n) { unet_free(n->u); }

static void unet_check_input(const net *n, const shape_t *s, const char *name)
{
	shape_require_images(s, name);
	if (shape_c(s) != n->u->cfg.in_channels)
		die("input samples %s do not match the model's %d input channels (%s)",
		    shape_str(s), n->u->cfg.in_channels, name);
}

static shape_t unet_output_shape(const net *n, const shape_t *in)
{
	return shape_like(in, n->u->cfg.out_channels, shape_h(in), shape_w(in));
}

/* probabilities: logits z (B,K,P) -> sigmoid (bce), softmax over K (ce), in place */
static void probabilities(float *z, int B, int K, int64_t P, loss_kind loss)
{
	if (loss == LOSS_BCE) {
		for (int64_t i = 0; i < (int64_t)B * K * P; i++)
			z[i] = 1.0f / (1.0f + expf(-z[i]));
	} else if (loss == LOSS_CE) {
		for (int b = 0; b < B; b++) {
			float *s = z + (int64_t)b * K * P;
			for (int64_t p = 0; p < P; p++) {
				float m = s[p], sum = 0;
				for (int k = 1; k < K; k++)
					m = fmaxf(m, s[k * P + p]);
				for (int k = 0; k < K; k++)
					sum += s[k * P + p] = expf(s[k * P + p] - m);
				for (int k = 0; k < K; k++)
					s[k * P + p] /= sum;
			}
		}
	}
}

static void unet_predict(net *n, const float *x, int B, float *out)
{
	unet_forward(n->u, x, B, 0, out);
	probabilities(out, B, n->u->cfg.out_channels, (int64_t)n->u->H * n->u->W, n->loss);
}

static void unet_check_data(const net *n, const dataset *in, const dataset *tg, const char *what)
{
	if (n->u->cfg.in_channels != shape_c(&in->shape) ||
	    (n->loss != LOSS_CE && n->u->cfg.out_channels != shape_c(&tg->shape)))
		die("the channels of %s do not match these streams (%s)", what, in->name);
}

static void unet_targets(const net *n, void *y, const dataset *d, const int64_t *idx, int B)
{
	batch_targets(y, d, idx, B, n->loss, n->classes);
}

static float unet_step(net *n, const float *x, const void *y, int B, const adam_config *opt)
{
	return unet_train_step(n->u, x, y, B, n->loss, opt);
}

static float unet_grad(net *n, const float *x, const void *y, int B)
{
	float l;

	nn_params_zero_grad(&n->u->params);
	unet_forward(n->u, x, B, 1, NULL);
	l = unet_loss(n->u, y, B, n->loss);
	unet_backward(n->u, B);
	return l;
}

static float unet_eval(net *n, const float *x, const void *y, int B)
{
	unet_forward(n->u, x, B, 0, NULL);
	return unet_loss(n->u, y, B, n->loss);
}

static nn_params *unet_params(net *n) { return &n->u->params; }

static float *unet_stats(net *n, size_t *count)
{
	*count = n->u->nstats;
	return n->u->stats;
}

static void unet_to_model(const net *n, model *m) { model_from_unet(m, n->u, 1); }

static const net_ops unet_ops = {
	"unet", unet_from_model_net, unet_free_net, unet_check_input, unet_output_shape, unet_predict,
	unet_check_data, unet_targets, unet_step, unet_eval, unet_params, unet_stats,
	unet_to_model, NULL, NULL, NULL, unet_grad, NULL,
};

/* ---- the MLP: activations out, targets read as intensities ---- */

static net *mlp_from_model_net(const model *m, const char *path, int max_batch, int H, int W)
{
	(void)max_batch, (void)H, (void)W;   /* an MLP takes any batch, vectors */
	return net_wrap_mlp(mlp_from_model(m, path));
}

static void mlp_free_net(net *n) { mlp_free(n->m); }

static void mlp_check_input(const net *n, const shape_t *s, const char *name)
{
	if (shape_size(s) != n->m->size[0])
		die("the model takes %d values, the samples of %s have %" PRId64 " (%s)",
		    n->m->size[0], name, shape_size(s), shape_str(s));
}

static shape_t mlp_output_shape(const net *n, const shape_t *in)
{
	int P = n->m->size[n->m->L];
	shape_t s = { 1, { P } };

	if (P == shape_size(in))   /* the input's own shape, as it was given */
		s = *in;
	return s;
}

static void mlp_predict(net *n, const float *x, int B, float *out)
{
	mlp_forward(n->m, x, B, out);
}

static void mlp_check_data(const net *n, const dataset *in, const dataset *tg, const char *what)
{
	if (in->size != n->m->size[0] || tg->size != n->m->size[n->m->L])
		die("the layers of %s (%d in, %d out) do not match these streams (%s, %s)", what,
		    n->m->size[0], n->m->size[n->m->L], in->name, tg->name);
}

static void mlp_targets(const net *n, void *y, const dataset *d, const int64_t *idx, int B)
{
	(void)n;
	batch_inputs(y, d, idx, B);
}

static float mlp_step(net *n, const float *x, const void *y, int B, const adam_config *opt)
{
	return mlp_train_step(n->m, x, y, B, opt);
}

static float mlp_grad(net *n, const float *x, const void *y, int B)
{
	nn_params_zero_grad(&n->m->params);
	return mlp_forward_backward(n->m, x, y, B);
}

static float mlp_eval(net *n, const float *x, const void *y, int B)
{
	mlp_forward(n->m, x, B, NULL);
	return mlp_loss(n->m, y);
}

static nn_params *mlp_params(net *n) { return &n->m->params; }

static float *mlp_stats(net *n, size_t *count)
{
	(void)n;
	*count = 0;
	return NULL;
}

static void mlp_to_model_net(const net *n, model *m) { mlp_to_model(m, n->m, 1); }
static int mlp_layers(const net *n) { return n->m->L; }
static int mlp_layer_size(const net *n, int k) { return n->m->size[k]; }

static const float *mlp_encode(net *n, const float *x, int B, int k)
{
	mlp_forward(n->m, x, B, NULL);
	return mlp_layer(n->m, k);
}

static const net_ops mlp_ops = {
	"mlp", mlp_from_model_net, mlp_free_net, mlp_check_input, mlp_output_shape, mlp_predict,
	mlp_check_data, mlp_targets, mlp_step, mlp_eval, mlp_params, mlp_stats,
	mlp_to_model_net, mlp_layers, mlp_layer_size, mlp_encode, mlp_grad, NULL,
};

/* ---- the CNN classifier: class probabilities out, labels as targets ----
 * (uint8 class indices, one per sample, read as the U-Net's ce class maps
 * are: unet_targets) */

static net *cnn_from_model_net(const model *m, const char *path, int max_batch, int H, int W)
{
	return net_wrap_cnn(cnn_from_model(m, path ? path : "the model", max_batch, H, W));
}

static void cnn_free_net(net *n) { cnn_free(n->c); }

static void cnn_check_input(const net *n, const shape_t *s, const char *name)
{
	shape_require_images(s, name);
	if (shape_c(s) != n->c->cfg.in_channels)
		die("input samples %s do not match the model's %d input channels (%s)",
		    shape_str(s), n->c->cfg.in_channels, name);
	if (shape_h(s) != n->c->H || shape_w(s) != n->c->W)
		die("input samples %s are not the %dx%d the network was made for (%s)",
		    shape_str(s), n->c->W, n->c->H, name);
}

static shape_t cnn_output_shape(const net *n, const shape_t *in)
{
	shape_t s = { 1, { n->c->cfg.classes } };

	(void)in;
	return s;
}

static void cnn_predict(net *n, const float *x, int B, float *out)
{
	cnn_forward(n->c, x, B, 0);
	cnn_probabilities(n->c, out);
}

static void cnn_check_data(const net *n, const dataset *in, const dataset *tg, const char *what)
{
	if (n->c->cfg.in_channels != shape_c(&in->shape) || in->shape.ndim < 2)
		die("the input channels of %s do not match these samples (%s, %s)", what,
		    shape_str(&in->shape), in->name);
	if (tg->size != 1)
		die("labels are one value per sample, not %s (%s)", shape_str(&tg->shape), tg->name);
}

static float cnn_step(net *n, const float *x, const void *y, int B, const adam_config *opt)
{
	return cnn_train_step(n->c, x, y, B, opt);
}

static float cnn_grad_net(net *n, const float *x, const void *y, int B)
{
	return cnn_grad(n->c, x, y, B);
}

static void cnn_adam_net(net *n, const adam_config *opt)
{
	cnn_adam(n->c, opt);
}

static float cnn_eval(net *n, const float *x, const void *y, int B)
{
	cnn_forward(n->c, x, B, 0);
	return cnn_loss(n->c, y, B);
}

static nn_params *cnn_params(net *n) { return &n->c->params; }

static float *cnn_stats(net *n, size_t *count)
{
	*count = n->c->nstats;
	return n->c->stats;
}

static void cnn_to_model_net(const net *n, model *m) { cnn_to_model(m, n->c, 1); }

/* layers: 0 the input, 1 the pooled features, 2 the class probabilities */
static int cnn_layers(const net *n) { (void)n; return 2; }

static int cnn_layer_size(const net *n, int k)
{
	const cnn *c = n->c;

	return k == 0 ? c->cfg.in_channels * c->H * c->W : k == 1 ? cnn_features(&c->cfg)
								 : c->cfg.classes;
}

static const float *cnn_encode(net *n, const float *x, int B, int k)
{
	cnn_forward(n->c, x, B, 0);
	if (k == 0)
		return x;
	if (k == 1)
		return cnn_features_out(n->c);
	cnn_probabilities(n->c, n->c->out);
	return n->c->out;
}

static const net_ops cnn_ops = {
	"cnn", cnn_from_model_net, cnn_free_net, cnn_check_input, cnn_output_shape, cnn_predict,
	cnn_check_data, unet_targets, cnn_step, cnn_eval, cnn_params, cnn_stats,
	cnn_to_model_net, cnn_layers, cnn_layer_size, cnn_encode, cnn_grad_net, cnn_adam_net,
};

/* ---- FCN-8: logits out, as the U-Net; targets read the same way ---- */

static net *fcn_from_model_net(const model *m, const char *path, int max_batch, int H, int W)
{
	(void)path;
	return net_wrap_fcn(fcn_from_model(m, max_batch, H, W), m->loss, m->classes);
}

static void fcn_free_net(net *n) { fcn_free(n->f); }

static void fcn_check_input(const net *n, const shape_t *s, const char *name)
{
	shape_require_images(s, name);
	if (shape_c(s) != n->f->cfg.in_channels)
		die("input samples %s do not match the model's %d input channels (%s)",
		    shape_str(s), n->f->cfg.in_channels, name);
}

static shape_t fcn_output_shape(const net *n, const shape_t *in)
{
	return shape_chw(n->f->cfg.out_channels, shape_h(in), shape_w(in));
}

static void fcn_predict(net *n, const float *x, int B, float *out)
{
	fcn_forward(n->f, x, B, 0, out);
	probabilities(out, B, n->f->cfg.out_channels, (int64_t)n->f->H * n->f->W, n->loss);
}

static void fcn_check_data(const net *n, const dataset *in, const dataset *tg, const char *what)
{
	if (n->f->cfg.in_channels != shape_c(&in->shape) ||
	    (n->loss != LOSS_CE && n->f->cfg.out_channels != shape_c(&tg->shape)))
		die("the channels of %s do not match these streams (%s)", what, in->name);
}

static float fcn_step(net *n, const float *x, const void *y, int B, const adam_config *opt)
{
	return fcn_train_step(n->f, x, y, B, n->loss, opt);
}

static float fcn_grad(net *n, const float *x, const void *y, int B)
{
	float l;

	nn_params_zero_grad(&n->f->params);
	fcn_forward(n->f, x, B, 1, NULL);
	l = fcn_loss(n->f, y, B, n->loss);
	fcn_backward(n->f, B);
	return l;
}

static float fcn_eval(net *n, const float *x, const void *y, int B)
{
	fcn_forward(n->f, x, B, 0, NULL);
	return fcn_loss(n->f, y, B, n->loss);
}

static nn_params *fcn_params(net *n) { return &n->f->params; }

static float *fcn_stats(net *n, size_t *count)
{
	*count = n->f->nstats;
	return n->f->stats;
}

static void fcn_to_model(const net *n, model *m) { model_from_fcn(m, n->f, 1); }

static const net_ops fcn_ops = {
	"fcn8", fcn_from_model_net, fcn_free_net, fcn_check_input, fcn_output_shape, fcn_predict,
	fcn_check_data, unet_targets, fcn_step, fcn_eval, fcn_params, fcn_stats,
	fcn_to_model, NULL, NULL, NULL, fcn_grad, NULL,
};

/* ---- building ---- */

static const net_ops *const kinds[] = { &unet_ops, &mlp_ops, &cnn_ops, &fcn_ops };

/* ops_of: the table of a kind model.c accepted */
static const net_ops *ops_of(const char *kind)
{
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (!strcmp(kinds[i]->kind, kind))
			return kinds[i];
	die("internal error: no network of kind '%s'", kind);
}

/* a_kind: "a unet", "an mlp"; with layers, the kinds that have layers to
 * read, "an mlp or a ..." (static buffer per with_layers) */
static const char *a_kind(const char *kind, int with_layers)
{
	static char buf[2][128];
	char *b = buf[with_layers];
	size_t len = 0;

	b[0] = '\0';
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		const char *k = kinds[i]->kind;
		if (with_layers ? !kinds[i]->layers : strcmp(k, kind) != 0)
			continue;
		len += (size_t)snprintf(b + len, sizeof buf[0] - len, "%s%s %s", len ? " or " : "",
					strchr("aeiom", k[0]) ? "an" : "a", k);
	}
	return b;
}

static net *net_new(const net_ops *ops, loss_kind loss, int classes)
{
	net *n = xcalloc(1, sizeof *n);

	n->ops = ops;
	n->loss = loss;
	n->classes = classes;
	n->trained = KERN_FP32;
	return n;
}

net *net_wrap_unet(unet *u, loss_kind loss, int classes)
{
	net *n = net_new(&unet_ops, loss, classes);

	n->u = u;
	return n;
}

net *net_wrap_mlp(mlp *m)
{
	net *n = net_new(&mlp_ops, m->loss, 0);

	n->m = m;
	return n;
}

net *net_wrap_cnn(cnn *c)
{
	net *n = net_new(&cnn_ops, LOSS_CE, c->cfg.classes);

	n->c = c;
	return n;
}

net *net_wrap_fcn(fcn *f, loss_kind loss, int classes)
{
	net *n = net_new(&fcn_ops, loss, classes);

	n->f = f;
	return n;
}

net *net_from_model(const model *m, const char *path, int max_batch, int H, int W)
{
	net *n;

	n = ops_of(m->kind)->from_model(m, path, max_batch, H, W);
	n->trained = m->precision;
	return n;
}

net *net_load(const char *path, int max_batch, int H, int W, unsigned need)
{
	model m;
	net *n;

	model_read(&m, path);
	if ((need & NET_NEED_LAYERS) && !ops_of(m.kind)->layers)
		die("%s: the model is %s, not %s", path, a_kind(m.kind, 0), a_kind(NULL, 1));
	n = net_from_model(&m, path, max_batch, H, W);
	model_free(&m);
	return n;
}

void net_free(net *n)
{
	if (!n)
		return;
	n->ops->free(n);
	free(n);
}

/* ---- the face: each a call through the table ---- */

loss_kind net_loss(const net *n) { return n->loss; }
int net_classes(const net *n) { return n->classes; }
kern_precision net_trained_precision(const net *n) { return n->trained; }

void net_check_input(const net *n, const shape_t *s, const char *name)
{
	n->ops->check_input(n, s, name);
}

shape_t net_output_shape(const net *n, const shape_t *in) { return n->ops->output_shape(n, in); }
void net_predict(net *n, const float *x, int B, float *out) { n->ops->predict(n, x, B, out); }

int net_layers(const net *n) { return n->ops->layers ? n->ops->layers(n) : 0; }
int net_layer_size(const net *n, int k) { return n->ops->layer_size(n, k); }

int net_code_layer(const net *n)
{
	int k = -1;

	for (int l = 1; l < net_layers(n); l++)
		if (k < 0 || net_layer_size(n, l) < net_layer_size(n, k))
			k = l;
	return k;
}

const float *net_encode(net *n, const float *x, int B, int k)
{
	return n->ops->encode(n, x, B, k);
}

void net_check_data(const net *n, const dataset *in, const dataset *tg, const char *what)
{
	n->ops->check_data(n, in, tg, what);
}

size_t net_target_bytes(const net *n) { return n->loss == LOSS_CE ? 1 : sizeof(float); }

void net_targets(const net *n, void *y, const dataset *d, const int64_t *idx, int B)
{
	n->ops->targets(n, y, d, idx, B);
}

float net_train_step(net *n, const float *x, const void *y, int B, const adam_config *opt)
{
	return n->ops->train_step(n, x, y, B, opt);
}

float net_grad(net *n, const float *x, const void *y, int B)
{
	if (!n->ops->grad)
		die("internal error: a network of kind %s without net_grad", n->ops->kind);
	return n->ops->grad(n, x, y, B);
}

void net_adam_step(net *n, const adam_config *opt)
{
	if (n->ops->adam)
		n->ops->adam(n, opt);
	else
		adam_step(net_params(n), opt);
}

float net_eval_loss(net *n, const float *x, const void *y, int B)
{
	return n->ops->eval_loss(n, x, y, B);
}

nn_params *net_params(net *n) { return n->ops->params(n); }
float *net_stats(net *n, size_t *count) { return n->ops->stats(n, count); }
void net_to_model(const net *n, model *m) { n->ops->to_model(n, m); }

/* ---- shared options ---- */

int net_option(net_options *o, int c, const char *arg)
{
	int p;

	switch (c) {
	case NET_OPT_PRECISION:
		if ((p = kern_precision_parse(arg)) < 0)
			usage_die("--precision: '%s' is not bf16 or fp32", arg);
		o->precision = (kern_precision)p;
		o->precision_given = 1;
		kern_set_precision(o->precision);   /* for a --version that follows */
		return 1;
	case NET_OPT_VERBOSE:
		o->verbose = 1;
		return 1;
	}
	return 0;
}

void net_version(void)
{
	cli_version_with(kern_describe());
}

void net_use_precision(kern_precision p, int verbose)
{
	kern_set_precision(p);
	if (verbose)
		fprintf(stderr, "%s: %s\n", progname, kern_describe());
}
