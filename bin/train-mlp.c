/* train-mlp: trains a dense network on (input stream, target stream), writes a model. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tensor.h"
#include "nn.h"
#include "mlp.h"
#include "model.h"
#include "batch.h"

static const char usage[] =
"Usage: train-mlp --layers N,N,... --activations A,... [options] -o MODEL INPUTS TARGETS\n"
"Trains a multi-layer perceptron (dense layers) that maps the samples of\n"
"INPUTS to those of TARGETS, each flattened to a vector (28x28 -> 784), and\n"
"writes MODEL, atomically, at every epoch end. Values are intensities:\n"
"uint8 /255, float as it is.\n"
"\n"
"  -o, --output MODEL      the model file to write (required)\n"
"      --layers LIST       layer sizes from input to output, e.g. 784,256,2,256,784;\n"
"                          the first and last must match INPUTS and TARGETS\n"
"      --activations LIST  one per dense layer (sizes - 1): relu, leaky_relu,\n"
"                          tanh, sigmoid, linear\n"
"      --loss mse|bce      mean squared error of the outputs (default), or binary\n"
"                          cross-entropy (needs a sigmoid output layer)\n"
"  -e, --epochs N          epochs (default 50)\n"
"  -b, --batch N           batch size (default 128)\n"
"      --lr X              Adam learning rate (default 0.001)\n"
"      --val-fraction F    hold out this fraction of the data for validation\n"
"      --history FILE      TSV per epoch: epoch, train_loss, val_loss, lr,\n"
"                          seconds, images_per_s\n"
"  -s, --seed N            random seed (default 1)\n"
"  -j, --threads N         threads (default: all cores)\n"
"  -h, --help              show this help and exit\n"
"      --version           show the version and exit\n"
"\n"
"Weights: He normal for relu and leaky_relu layers, Glorot uniform for the\n"
"others; biases 0. INPUTS or TARGETS may be - for standard input (not both).\n";

struct options {
	const char *output, *history;
	const char *layers, *activations;
	const char *files[2];
	int L;
	int size[MLP_MAX_LAYERS], act[MLP_MAX_LAYERS];
	loss_kind loss;
	long epochs, batch;
	float lr;
	double val_fraction;
	uint64_t seed;
	int threads;
};

static void parse_args(int argc, char **argv, struct options *o)
{
	enum { O_LAYERS = 256, O_ACTS, O_LOSS, O_LR, O_VALF, O_HIST };
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "layers", required_argument, NULL, O_LAYERS },
		{ "activations", required_argument, NULL, O_ACTS },
		{ "loss", required_argument, NULL, O_LOSS },
		{ "epochs", required_argument, NULL, 'e' },
		{ "batch", required_argument, NULL, 'b' },
		{ "lr", required_argument, NULL, O_LR },
		{ "val-fraction", required_argument, NULL, O_VALF },
		{ "history", required_argument, NULL, O_HIST },
		{ "seed", required_argument, NULL, 's' },
		{ "threads", required_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int c, na;

	while ((c = getopt_long(argc, argv, ":o:e:b:s:j:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': o->output = optarg; break;
		case O_LAYERS: o->layers = optarg; break;
		case O_ACTS: o->activations = optarg; break;
		case O_LOSS:
			na = loss_parse(optarg);
			if (na != LOSS_MSE && na != LOSS_BCE)
				usage_die("--loss: '%s' is not mse or bce", optarg);
			o->loss = (loss_kind)na;
			break;
		case 'e': o->epochs = cli_long("--epochs", optarg, 1, 1000000); break;
		case 'b': o->batch = cli_long("--batch", optarg, 1, 1 << 20); break;
		case O_LR: o->lr = (float)cli_double("--lr", optarg, 1e-12, 10); break;
		case O_VALF: o->val_fraction = cli_double("--val-fraction", optarg, 0, 0.9); break;
		case O_HIST: o->history = optarg; break;
		case 's': o->seed = cli_seed("--seed", optarg); break;
		case 'j': o->threads = cli_threads("--threads", optarg); break;
		case 'h': cli_help(usage); break;
		case 'V': cli_version(); break;
		default: cli_bad_option(c, argv);
		}
	}
	if (!o->output)
		usage_die("the model file (-o MODEL) is required");
	if (!strcmp(o->output, "-"))
		usage_die("-o needs a file name: the model is rewritten at every epoch");
	if (!o->layers || !o->activations)
		usage_die("--layers and --activations are required");
	o->L = mlp_parse_sizes(o->layers, o->size, MLP_MAX_LAYERS) - 1;
	if (o->L < 1)
		usage_die("--layers: '%s' is not 2 to %d sizes separated by commas",
			  o->layers, MLP_MAX_LAYERS);
	na = mlp_parse_acts(o->activations, o->act, MLP_MAX_LAYERS);
	if (na < 0)
		usage_die("--activations: '%s' is not a list of relu, leaky_relu, tanh, "
			  "sigmoid, linear", o->activations);
	if (na != o->L)
		usage_die("--activations: %d given, %d dense layers need %d", na, o->L, o->L);
	if (o->loss == LOSS_BCE && o->act[o->L - 1] != ACT_SIGMOID)
		usage_die("--loss bce needs a sigmoid output layer, not %s",
			  mlp_act_name(o->act[o->L - 1]));
	cli_operands(argc, argv, optind, 2, 2, o->files);
	if (!o->files[0] && !o->files[1])
		usage_die("INPUTS and TARGETS cannot both be standard input");
}

/* the mean loss over samples idx[0..n-1], in batches */
static double evaluate(mlp *m, const dataset *in, const dataset *tg, const int64_t *idx,
		       int64_t n, int batch, float *x, float *y)
{
	double sum = 0.0;

	for (int64_t s = 0; s < n; s += batch) {
		int B = (int)(n - s < batch ? n - s : batch);
		batch_inputs(x, in, idx + s, B);
		batch_inputs(y, tg, idx + s, B);
		mlp_forward(m, x, B, NULL);
		sum += (double)mlp_loss(m, y) * B;
	}
	return sum / n;
}

static void save(const struct options *o, const mlp *m, const dataset *in, int epoch,
		 float train_loss, float val_loss)
{
	model md;

	model_init(&md, "mlp");
	mlp_to_model(&md, m);
	md.height = (int)shape_h(&in->shape);
	md.width = (int)shape_w(&in->shape);
	md.epochs = (int)o->epochs;
	md.batch = (int)o->batch;
	md.epoch = epoch;
	md.lr = o->lr;
	md.seed = o->seed;
	md.train_loss = train_loss;
	md.val_loss = val_loss;
	model_save(&md, o->output);
	model_free(&md);
}

int main(int argc, char **argv)
{
	struct options o = { .loss = LOSS_MSE, .epochs = 50, .batch = 128, .lr = 1e-3f, .seed = 1 };
	dataset *in, *tg;
	int64_t *order, ntrain, nval = 0;
	float *x, *y;
	mlp *m;
	FILE *hist = NULL;
	progress bar;
	char err[256];

	cli_init(argc, argv, "train-mlp");
	cli_passive_wait(argv);
	parse_args(argc, argv, &o);
	nn_set_threads(o.threads ? o.threads : (int)sysconf(_SC_NPROCESSORS_ONLN));

	in = dataset_load(o.files[0]);
	tg = dataset_load(o.files[1]);
	if (in->n != tg->n)
		die("%" PRId64 " inputs but %" PRId64 " targets (%s)", in->n, tg->n, tg->name);
	if (in->n == 0)
		die("no samples (%s)", in->name);
	if (in->size != o.size[0])
		die("the first layer has %d units, the samples of %s have %" PRId64 " values (%s)",
		    o.size[0], in->name, in->size, shape_str(&in->shape));
	if (tg->size != o.size[o.L])
		die("the last layer has %d units, the samples of %s have %" PRId64 " values (%s)",
		    o.size[o.L], tg->name, tg->size, shape_str(&tg->shape));
	/* what segpipe-model(5) can hold for an mlp */
	if (o.size[0] > 4096 || o.size[o.L] > 4096)
		die("the model format holds at most 4096 inputs and outputs (layers %s)", o.layers);
	m = mlp_create(o.L, o.size, o.act, o.loss, err, sizeof err);
	if (!m)
		die("%s", err);
	mlp_init_params(m, o.seed);

	/* the order of the training samples; the held-out tail validates */
	order = holdout_split(in->n, o.val_fraction, o.seed, &ntrain, &nval);
	x = xmalloc_array((size_t)o.batch * in->size, sizeof *x);
	y = xmalloc_array((size_t)o.batch * tg->size, sizeof *y);
	if (o.history)
		hist = history_open(o.history, 0);

	for (int epoch = 0; epoch < o.epochs; epoch++) {
		adam_config opt = adam_defaults(o.lr);
		int64_t *perm = epoch_order(order, ntrain, o.seed, epoch);
		double t0 = now_seconds(), sum = 0, secs, val = NAN, train_loss;
		char label[32];

		snprintf(label, sizeof label, "epoch %d/%ld", epoch + 1, o.epochs);
		progress_start(&bar, label, ntrain);
		for (int64_t s = 0; s < ntrain; s += o.batch) {
			int B = (int)(ntrain - s < o.batch ? ntrain - s : o.batch);
			char extra[64];

			batch_inputs(x, in, perm + s, B);
			batch_inputs(y, tg, perm + s, B);
			sum += (double)mlp_train_step(m, x, y, B, &opt) * B;
			snprintf(extra, sizeof extra, "loss %.4f %.0f img/s", sum / (s + B),
				 (s + B) / (now_seconds() - t0));
			progress_update(&bar, s + B, extra);
		}
		progress_end(&bar);
		free(perm);
		secs = now_seconds() - t0;
		train_loss = sum / ntrain;
		if (nval)
			val = evaluate(m, in, tg, order + ntrain, nval, (int)o.batch, x, y);
		fprintf(stderr, "train-mlp: epoch %d/%ld train_loss %.6f val_loss %.6f lr %g %.1fs %.0f img/s\n",
			epoch + 1, o.epochs, train_loss, val, opt.lr, secs, ntrain / secs);
		if (hist)
			history_line(hist, o.history, epoch + 1, train_loss, val, opt.lr, secs,
				     ntrain / secs);
		save(&o, m, in, epoch + 1, (float)train_loss, (float)val);
	}
	if (hist)
		history_close(hist, o.history);
	free(order);
	free(x);
	free(y);
	mlp_free(m);
	dataset_free(in);
	dataset_free(tg);
	return 0;
}
