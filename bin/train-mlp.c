/* train-mlp: trains a dense network on (input stream, target stream), writes a model. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor.h"
#include "nn.h"
#include "mlp.h"
#include "net.h"
#include "trainer.h"

static const char usage[] =
"Usage: train-mlp --layers N,N,... --activations A,... [options] -o MODEL INPUTS TARGETS\n"
"Trains a multi-layer perceptron (dense layers) that maps the samples of\n"
"INPUTS to those of TARGETS, each flattened to a vector (28x28 -> 784), and\n"
"writes MODEL, atomically, at every epoch end. Values are intensities:\n"
"uint8 /255, float as it is.\n"
"\n"
"      --layers LIST       layer sizes from input to output, e.g. 784,256,2,256,784;\n"
"                          the first and last must match INPUTS and TARGETS\n"
"      --activations LIST  one per dense layer (sizes - 1): relu, leaky_relu,\n"
"                          tanh, sigmoid, linear\n"
"      --loss mse|bce      mean squared error of the outputs (default), or binary\n"
"                          cross-entropy (needs a sigmoid output layer)\n"
"Training (-e default 50, -b default 128):\n"
TRAIN_USAGE
"  -h, --help              show this help and exit\n"
"      --version           show the version and the kernel, and exit\n"
"\n"
"Weights: He normal for relu and leaky_relu layers, Glorot uniform for the\n"
"others; biases 0. INPUTS or TARGETS may be - for standard input (not both).\n"
"With --resume the layers, activations and loss come from the model.\n";

struct options {
	const char *layers, *activations;
	const char *files[2];
	int L;
	int size[MLP_MAX_LAYERS], act[MLP_MAX_LAYERS];
	loss_kind loss;
	train_options tr;
};

static void parse_args(int argc, char **argv, struct options *o)
{
	enum { O_LAYERS = 256, O_ACTS, O_LOSS };
	static const struct option longopts[] = {
		{ "layers", required_argument, NULL, O_LAYERS },
		{ "activations", required_argument, NULL, O_ACTS },
		{ "loss", required_argument, NULL, O_LOSS },
		TRAIN_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int c, na;

	while ((c = getopt_long(argc, argv, ":" TRAIN_SHORTOPTS "h", longopts, NULL)) != -1) {
		switch (c) {
		case O_LAYERS: o->layers = optarg; o->tr.model_kept = "--layers"; break;
		case O_ACTS: o->activations = optarg; o->tr.model_kept = "--activations"; break;
		case O_LOSS:
			na = loss_parse(optarg);
			if (na != LOSS_MSE && na != LOSS_BCE)
				usage_die("--loss: '%s' is not mse or bce", optarg);
			o->loss = (loss_kind)na;
			o->tr.model_kept = "--loss";
			break;
		case 'h': cli_help(usage); break;
		case 'V': net_version(); break;
		default:
			if (!trainer_option(&o->tr, c, optarg, argc, argv))
				cli_bad_option(c, argv);
		}
	}
	if (!o->tr.output)
		usage_die("the model file (-o MODEL) is required");
	if (!o->tr.resume) {
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
	}
	trainer_check_options(&o->tr);
	cli_operands(argc, argv, optind, 2, 2, o->files);
	if (!o->files[0] && !o->files[1])
		usage_die("INPUTS and TARGETS cannot both be standard input");
}

/* create: the network of --layers and --activations, for these streams */
static mlp *create(const struct options *o, const dataset *in, const dataset *tg)
{
	char err[256];
	mlp *m;

	if (in->size != o->size[0])
		die("the first layer has %d units, the samples of %s have %" PRId64 " values (%s)",
		    o->size[0], in->name, in->size, shape_str(&in->shape));
	if (tg->size != o->size[o->L])
		die("the last layer has %d units, the samples of %s have %" PRId64 " values (%s)",
		    o->size[o->L], tg->name, tg->size, shape_str(&tg->shape));
	/* what segpipe-model(5) can hold for an mlp */
	if (o->size[0] > 4096 || o->size[o->L] > 4096)
		die("the model format holds at most 4096 inputs and outputs (layers %s)", o->layers);
	m = mlp_create(o->L, o->size, o->act, o->loss, err, sizeof err);
	if (!m)
		die("%s", err);
	mlp_init_params(m, o->tr.seed);
	return m;
}

int main(int argc, char **argv)
{
	struct options o = { .loss = LOSS_MSE, .tr = train_defaults(50, 128) };
	trainer t;
	net *n;

	cli_init(argc, argv, "train-mlp");
	cli_wait_policy(argv);
	parse_args(argc, argv, &o);
	trainer_init(&t, &o.tr, "mlp");
	trainer_data(&t, o.files[0], o.files[1]);
	if (o.tr.resume)
		n = net_from_model(&t.m, o.tr.resume, trainer_batch(&t), 0, 0);
	else
		n = net_wrap_mlp(create(&o, t.in, t.tg));
	trainer_run(&t, n);
	net_free(n);
	trainer_end(&t);
	return 0;
}
