/* train-cnn: trains a CNN classifier on (image stream, label stream), writes a model. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor.h"
#include "nn.h"
#include "cnn.h"
#include "dist.h"
#include "net.h"
#include "trainer.h"

static const char usage[] =
"Usage: train-cnn [options] -o MODEL IMAGES LABELS\n"
"Trains a convolutional classifier that maps the images of IMAGES to the\n"
"classes of LABELS and writes MODEL, atomically, at every epoch end.\n"
"LABELS holds one integer per image, 0..K-1: an IDX label file (plain or\n"
"gzip) or a tensor stream of scalars (uint8, integers, or floats with\n"
"integral values).\n"
"\n"
"      --classes K         classes (default: the largest label + 1, at least 2;\n"
"                          at most 256)\n"
"      --stages S          stages, a 2x2 max pooling between two (default 3)\n"
"      --convs N           conv3x3-batchnorm-activation blocks per stage (2)\n"
"      --filters F         filters of the first stage, doubling per stage (32)\n"
"      --activation A      relu (default), leaky_relu, tanh, sigmoid\n"
"      --dropout P         drop each pooled feature with probability P in\n"
"                          training, before the dense head (default 0)\n"
"      --init MODEL        start from the weights of another cnn model (its\n"
"                          architecture unless given); the head starts afresh\n"
"                          when its class count differs\n"
"      --freeze            keep the feature layers of --init fixed: only the\n"
"                          head trains (a linear probe, or fine-tuning it)\n"
"Training (-e default 10, -b default 64):\n"
TRAIN_USAGE
"  -h, --help              show this help and exit\n"
"      --version           show the version and the kernel, and exit\n"
"\n"
"The network: S stages of N blocks of c_s = F * 2^s channels, global average\n"
"pooling, dropout, a dense layer to K logits, softmax cross-entropy. With\n"
"--resume the architecture, classes and --freeze come from the model.\n";

struct options {
	const char *files[2];
	const char *init;
	int freeze, classes;
	int given_stages, given_convs, given_filters, given_act, given_dropout;
	cnn_config net;
	train_options tr;
};

static void parse_args(int argc, char **argv, struct options *o)
{
	enum { O_CLASSES = 256, O_STAGES, O_CONVS, O_FILTERS, O_ACT, O_DROPOUT, O_INIT, O_FREEZE };
	static const struct option longopts[] = {
		{ "classes", required_argument, NULL, O_CLASSES },
		{ "stages", required_argument, NULL, O_STAGES },
		{ "convs", required_argument, NULL, O_CONVS },
		{ "filters", required_argument, NULL, O_FILTERS },
		{ "activation", required_argument, NULL, O_ACT },
		{ "dropout", required_argument, NULL, O_DROPOUT },
		{ "init", required_argument, NULL, O_INIT },
		{ "freeze", no_argument, NULL, O_FREEZE },
		TRAIN_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, ":" TRAIN_SHORTOPTS "h", longopts, NULL)) != -1) {
		switch (c) {
		case O_CLASSES: o->classes = trainer_arch_int(&o->tr, "--classes", optarg, 2, 256); break;
		case O_STAGES:
			o->net.stages = trainer_arch_int(&o->tr, "--stages", optarg, 1, CNN_MAX_STAGES);
			o->given_stages = 1;
			break;
		case O_CONVS:
			o->net.convs = trainer_arch_int(&o->tr, "--convs", optarg, 1, CNN_MAX_CONVS);
			o->given_convs = 1;
			break;
		case O_FILTERS:
			o->net.filters = trainer_arch_int(&o->tr, "--filters", optarg, 1, 4096);
			o->given_filters = 1;
			break;
		case O_ACT:
			o->net.act = trainer_arch_act(&o->tr, optarg);
			o->given_act = 1;
			break;
		case O_DROPOUT:
			o->net.dropout = (float)trainer_arch_double(&o->tr, "--dropout", optarg, 0, 0.95);
			o->given_dropout = 1;
			break;
		case O_INIT: o->init = optarg; break;
		case O_FREEZE: o->freeze = 1; break;
		case 'h': cli_help(usage); break;
		case 'V': net_version(); break;
		default:
			if (!trainer_option(&o->tr, c, optarg, argc, argv))
				cli_bad_option(c, argv);
		}
	}
	cli_operands(argc, argv, optind, 2, 2, o->files);
	if (!o->files[0] && !o->files[1])
		usage_die("IMAGES and LABELS cannot both be standard input");
	if (o->freeze && !o->init)
		usage_die("--freeze needs --init MODEL (the features to keep)");
	if (o->init && o->tr.resume)
		usage_die("--init and --resume exclude each other");
	trainer_check_options(&o->tr);
	if ((long)o->net.filters << (o->net.stages - 1) > 4096)
		usage_die("--filters %d: %d stages would have %ld in the last (at most 4096)",
			  o->net.filters, o->net.stages, (long)o->net.filters << (o->net.stages - 1));
}

/* max_label: labels are one integer each, 0..255 (at most 256 classes);
 * the largest (under mpirun each rank holds its share: the largest of
 * every rank's) */
static int max_label(const dataset *d)
{
	int32_t v, mx = 0;

	if (d->size != 1)
		die("labels are one value per image, not %s (%s)", shape_str(&d->shape), d->name);
	for (int64_t j = 0; j < d->nkept; j++) {
		dataset_get_ints(d, dataset_index(d, j), &v, 255, "label");
		if (v > mx)
			mx = v;
	}
	return (int)dist_max(mx);
}

/* check_labels: every label (in memory) in 0..K-1, else an error naming
 * the sample */
static void check_labels(const dataset *d, int K)
{
	int32_t v;

	if (d->size != 1)
		die("labels are one value per image, not %s (%s)", shape_str(&d->shape), d->name);
	for (int64_t j = 0; j < d->nkept; j++)
		dataset_get_ints(d, dataset_index(d, j), &v, K - 1, "label");
}

/* create: a new network for these streams, from --init's weights when given */
static cnn *create(struct options *o, const trainer *t)
{
	int H = (int)shape_h(&t->in->shape), W = (int)shape_w(&t->in->shape);
	model init;
	cnn *c;

	if (o->init) {
		/* its architecture, unless the options say otherwise (an
		 * error below, naming the layer, if they change a shape) */
		model_read(&init, o->init);
		if (strcmp(init.kind, "cnn") != 0)
			die("%s: the model is a%s %s, not a cnn", o->init,
			    init.kind[0] == 'm' || init.kind[0] == 'u' ? "n" : "", init.kind);
		if (!o->given_stages)
			o->net.stages = init.depth;
		if (!o->given_convs)
			o->net.convs = init.convs;
		if (!o->given_filters)
			o->net.filters = init.filters;
		if (!o->given_act)
			o->net.act = init.act;
		if (!o->given_dropout)
			o->net.dropout = init.dropout;
	}
	o->net.in_channels = (int)shape_c(&t->in->shape);
	o->net.classes = o->classes;
	c = cnn_create(&o->net, trainer_batch(t), H, W);
	cnn_init_params(c, o->tr.seed);
	if (o->init) {
		if (!cnn_init_from(c, &init, o->init))
			fprintf(stderr, "%s: note: %s has %d classes, these labels %d: the head starts afresh\n",
				progname, o->init, init.classes, o->classes);
		c->freeze = o->freeze;
		model_free(&init);
	}
	return c;
}

int main(int argc, char **argv)
{
	struct options o = { .net = cnn_defaults(), .tr = train_defaults(10, 64) };
	trainer t;
	net *n;

	cli_init(argc, argv, "train-cnn");
	cli_wait_policy(argv);
	parse_args(argc, argv, &o);
	trainer_init(&t, &o.tr, "cnn");
	trainer_data(&t, o.files[0], o.files[1]);
	shape_require_images(&t.in->shape, t.in->name);
	if (o.tr.resume) {
		o.classes = t.m.classes;
	} else if (!o.classes) {
		int mx = max_label(t.tg);
		if (t.vtg && max_label(t.vtg) > mx)
			mx = max_label(t.vtg);
		o.classes = mx + 1 < 2 ? 2 : mx + 1;
	}
	check_labels(t.tg, o.classes);
	if (t.vtg)
		check_labels(t.vtg, o.classes);
	if (o.tr.resume)
		n = net_from_model(&t.m, o.tr.resume, trainer_batch(&t), (int)shape_h(&t.in->shape),
				   (int)shape_w(&t.in->shape));
	else
		n = net_wrap_cnn(create(&o, &t));
	trainer_run(&t, n);
	net_free(n);
	trainer_end(&t);
	return 0;
}
