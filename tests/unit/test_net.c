/* test_net.c: the network face (lib/nn/net.c) against the networks it wraps,
 * a model round trip through it, and the history file's resume rules
 * (lib/nn/history.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "history.h"
#include "net.h"

static int failures;

static void report(int ok, const char *what)
{
	printf("%s %s\n", ok ? "ok  " : "FAIL", what);
	failures += !ok;
}

static void randv(float *x, size_t n, uint64_t seed)
{
	rng_t r;

	rng_seed(&r, seed);
	for (size_t i = 0; i < n; i++)
		x[i] = (float)rng_uniform(&r);
}

static double maxdiff(const float *a, const float *b, size_t n)
{
	double d = 0;

	for (size_t i = 0; i < n; i++)
		d = fmax(d, fabs((double)a[i] - b[i]));
	return d;
}

/* the U-Net's face: sigmoid (bce) and softmax (ce) of the logits */
static void test_unet(const char *dir)
{
	enum { B = 3, H = 8, W = 8, K = 3 };
	unet_config cfg = { 1, K, 1, 4, ACT_RELU };
	float x[B * H * W], z[B * K * H * W], p[B * K * H * W], q[B * K * H * W];
	unet *u = unet_create(&cfg, B, H, W);
	unet_init_params(u, 7);
	net *n = net_wrap_unet(u, LOSS_CE, K);
	double worst = 0, sum_err = 0;
	char path[256];
	model m;

	randv(x, sizeof x / sizeof x[0], 1);
	unet_forward(u, x, B, 0, z);
	net_predict(n, x, B, p);
	for (int b = 0; b < B; b++)
		for (int i = 0; i < H * W; i++) {
			double mx = -INFINITY, s = 0, t = 0;
			for (int k = 0; k < K; k++)
				mx = fmax(mx, z[(b * K + k) * H * W + i]);
			for (int k = 0; k < K; k++)
				s += exp(z[(b * K + k) * H * W + i] - mx);
			for (int k = 0; k < K; k++) {
				float want = (float)(exp(z[(b * K + k) * H * W + i] - mx) / s);
				worst = fmax(worst, fabs(want - p[(b * K + k) * H * W + i]));
				t += p[(b * K + k) * H * W + i];
			}
			sum_err = fmax(sum_err, fabs(t - 1));
		}
	report(worst < 1e-6 && sum_err < 1e-5, "unet ce: net_predict is the softmax of the logits (1e-6)");
	shape_t in = shape_chw(1, H, W), out = net_output_shape(n, &in);
	report(out.ndim == 3 && out.dim[0] == K && out.dim[1] == H && out.dim[2] == W,
	       "unet: output shape (K,H,W)");
	report(net_layers(n) == 0 && net_code_layer(n) == -1, "unet: no layers to encode");

	/* through a model file and back: the same predictions, bit for bit */
	model_init(&m, "unet");
	net_to_model(n, &m);
	m.loss = LOSS_CE;
	m.classes = K;
	m.precision = KERN_BF16;
	snprintf(path, sizeof path, "%s/u.model", dir);
	model_save(&m, path);
	model_free(&m);
	net *r = net_load(path, B, H, W, 0);
	net_predict(r, x, B, q);
	report(maxdiff(p, q, sizeof p / sizeof p[0]) == 0 && net_loss(r) == LOSS_CE &&
	       net_classes(r) == K && net_trained_precision(r) == KERN_BF16,
	       "unet: net_to_model, model_save, net_load: same loss, classes, precision, outputs");
	net_free(r);
	net_free(n);
}

/* the MLP's face: its activations as they are; layers to encode */
static void test_mlp(const char *dir)
{
	enum { B = 4 };
	int size[] = { 6, 3, 2, 6 }, act[] = { ACT_RELU, ACT_TANH, ACT_SIGMOID };
	float x[B * 6], y[B * 6], p[B * 6], q[B * 6];
	char err[256], path[256];
	mlp *m = mlp_create(3, size, act, LOSS_MSE, err, sizeof err);
	mlp_init_params(m, 3);
	net *n = net_wrap_mlp(m);
	adam_config opt = adam_defaults(0.01f);
	model md;

	randv(x, sizeof x / sizeof x[0], 2);
	randv(y, sizeof y / sizeof y[0], 3);
	mlp_forward(m, x, B, q);
	net_predict(n, x, B, p);
	report(maxdiff(p, q, sizeof p / sizeof p[0]) == 0, "mlp: net_predict is mlp_forward's output");
	report(net_layers(n) == 3 && net_code_layer(n) == 2 && net_layer_size(n, 2) == 2,
	       "mlp: 3 layers, the code layer is the smallest hidden one");
	const float *code = net_encode(n, x, B, 2);
	report(code == mlp_layer(m, 2), "mlp: net_encode gives layer k");
	float l0 = net_eval_loss(n, x, y, B);
	report(fabsf(l0 - net_train_step(n, x, y, B, &opt)) < 1e-6f,
	       "mlp: net_eval_loss is the loss a training step starts from");

	/* a checkpoint carries Adam's state: the next step is the same */
	model_init(&md, "mlp");
	net_to_model(n, &md);
	snprintf(path, sizeof path, "%s/m.model", dir);
	model_save(&md, path);
	model_free(&md);
	net *r = net_load(path, B, 0, 0, NET_NEED_LAYERS);
	net_train_step(n, x, y, B, &opt);
	net_train_step(r, x, y, B, &opt);
	net_predict(n, x, B, p);
	net_predict(r, x, B, q);
	report(maxdiff(p, q, sizeof p / sizeof p[0]) == 0 && net_params(r)->step == 2,
	       "mlp: resumed from its model, the next Adam step is the same, bit for bit");
	net_free(r);
	net_free(n);
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

static int same(const history *h, const char *text)
{
	return strcmp(h->text, text) == 0;
}

static void test_history(const char *dir)
{
	static const char hdr[] = "epoch\ttrain_loss\tval_loss\tlr\tseconds\timages_per_s\n";
	char path[256], want[512];
	history h;

	snprintf(path, sizeof path, "%s/h.tsv", dir);
	/* rows 1, 2, 3, 3 (an epoch listed twice by an older version), then a cut row */
	snprintf(want, sizeof want, "%s1\ta\n2\tb\n3\tc\n3\tc\n4\td", hdr);
	put(path, want);
	history_begin(&h, path, 1, 2);
	snprintf(want, sizeof want, "%s1\ta\n2\tb\n", hdr);
	report(same(&h, want) && h.rows == 2, "history: resumed at epoch 2, the rows of epochs 1..2");
	history_end(&h);
	history_begin(&h, path, 1, 9);
	snprintf(want, sizeof want, "%s1\ta\n2\tb\n3\tc\n", hdr);
	report(same(&h, want) && h.rows == 3, "history: a repeated epoch and a cut row end what is kept");
	history_add(&h, 4, 0.5, NAN, 0.001, 1, 2);
	history_write(&h);
	history_end(&h);
	history_begin(&h, path, 1, 4);
	report(h.rows == 4 && strstr(h.text, "\n4\t0.5\tnan\t0.001\t1.000\t2.0\n") != NULL,
	       "history: written whole and read back");
	history_end(&h);
	history_begin(&h, path, 0, 4);
	report(same(&h, hdr) && h.rows == 0, "history: a new run starts from the header");
	history_end(&h);
	snprintf(path, sizeof path, "%s/none.tsv", dir);
	history_begin(&h, path, 1, 4);
	report(same(&h, hdr), "history: resumed without a file, the header only");
	history_end(&h);
}

int main(void)
{
	char dir[] = "/tmp/test_net.XXXXXX", cmd[64];

	progname = "test_net";
	nn_set_threads(1);
	if (!mkdtemp(dir))
		die("mkdtemp:");
	test_unet(dir);
	test_mlp(dir);
	test_history(dir);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("     could not remove %s\n", dir);
	if (failures) {
		printf("test_net: %d FAILED\n", failures);
		return 1;
	}
	printf("test_net: all passed\n");
	return 0;
}
