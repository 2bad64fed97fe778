/* train-unet: trains a U-Net on (input stream, target stream), writes a model. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor.h"
#include "nn.h"
#include "unet.h"
#include "net.h"
#include "trainer.h"
#include "batch.h"

static const char usage[] =
"Usage: train-unet [options] -o MODEL INPUTS TARGETS\n"
"Trains a U-Net that maps the INPUTS stream to the TARGETS stream and writes\n"
"MODEL, atomically, at every epoch end.\n"
"\n"
"      --loss bce|mse|ce   loss: binary cross-entropy on masks (default),\n"
"                          mean squared error, softmax cross-entropy on class maps\n"
"  -C, --classes N         classes for ce (class maps hold 0..N-1)\n"
"      --depth D           poolings (default 2)\n"
"      --filters F         filters at the first level, doubling per level (16)\n"
"      --activation A      relu (default), leaky_relu, tanh, sigmoid\n"
"Training (-e default 3, -b default 64):\n"
TRAIN_USAGE
"  -h, --help              show this help and exit\n"
"      --version           show the version and the kernel, and exit\n";

struct options {
	const char *files[2];
	unet_config net;
	loss_kind loss;
	int classes;
	train_options tr;
};

static void parse_args(int argc, char **argv, struct options *o)
{
	enum { O_LOSS = 256, O_CLASSES, O_DEPTH, O_FILTERS, O_ACT };
	static const struct option longopts[] = {
		{ "loss", required_argument, NULL, O_LOSS },
		{ "classes", required_argument, NULL, 'C' },
		{ "depth", required_argument, NULL, O_DEPTH },
		{ "filters", required_argument, NULL, O_FILTERS },
		{ "activation", required_argument, NULL, O_ACT },
		TRAIN_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int c, v;

	while ((c = getopt_long(argc, argv, ":" TRAIN_SHORTOPTS "C:h", longopts, NULL)) != -1) {
		switch (c) {
		case O_LOSS:
			if ((v = loss_parse(optarg)) < 0)
				usage_die("--loss: '%s' is not bce, mse or ce", optarg);
			o->loss = v;
			o->tr.model_kept = "--loss";
			break;
		case 'C': o->classes = trainer_arch_int(&o->tr, "--classes", optarg, 2, 255); break;
		case O_DEPTH: o->net.depth = trainer_arch_int(&o->tr, "--depth", optarg, 1, 6); break;
		case O_FILTERS:
			o->net.filters = trainer_arch_int(&o->tr, "--filters", optarg, 1, 1024);
			break;
		case O_ACT: o->net.act = trainer_arch_act(&o->tr, optarg); break;
		case 'h': cli_help(usage); break;
		case 'V': net_version(); break;
		default:
			if (!trainer_option(&o->tr, c, optarg, argc, argv))
				cli_bad_option(c, argv);
		}
	}
	cli_operands(argc, argv, optind, 2, 2, o->files);
	if (!o->tr.output)
		usage_die("the model file (-o MODEL) is required");
	if (o->loss == LOSS_CE && o->classes == 0)
		usage_die("--loss ce needs --classes N");
	if (o->loss != LOSS_CE && o->classes)
		usage_die("--classes goes with --loss ce");
	trainer_check_options(&o->tr);
}

/* check_pair: inputs and targets agree in image size; class maps have one channel. */
static void check_pair(const dataset *in, const dataset *tg, loss_kind loss)
{
	shape_require_images(&in->shape, in->name);
	shape_require_images(&tg->shape, tg->name);
	if (shape_h(&in->shape) != shape_h(&tg->shape) || shape_w(&in->shape) != shape_w(&tg->shape))
		die("inputs %s and targets %s differ in image size (%s)", shape_str(&in->shape),
		    shape_str(&tg->shape), tg->name);
	if (loss == LOSS_CE && shape_c(&tg->shape) != 1)
		die("class maps must have one channel, not %" PRId64 " (%s)", shape_c(&tg->shape), tg->name);
}

int main(int argc, char **argv)
{
	struct options o = { .net = unet_defaults(), .loss = LOSS_BCE, .tr = train_defaults(3, 64) };
	trainer t;
	net *n;
	int H, W;

	cli_init(argc, argv, "train-unet");
	cli_wait_policy(argv);
	parse_args(argc, argv, &o);
	trainer_init(&t, &o.tr, "unet");
	if (o.tr.resume) {
		o.loss = t.m.loss;
		o.classes = t.m.classes;
	}
	trainer_data(&t, o.files[0], o.files[1]);
	check_pair(t.in, t.tg, o.loss);
	batch_check_targets(t.tg, o.loss, o.classes);
	if (t.vin) {
		check_pair(t.vin, t.vtg, o.loss);
		batch_check_targets(t.vtg, o.loss, o.classes);
	}
	H = (int)shape_h(&t.in->shape);
	W = (int)shape_w(&t.in->shape);
	if (o.tr.resume) {
		n = net_from_model(&t.m, o.tr.resume, trainer_batch(&t), H, W);
	} else {
		unet *u;

		o.net.in_channels = (int)shape_c(&t.in->shape);
		o.net.out_channels = o.loss == LOSS_CE ? o.classes : (int)shape_c(&t.tg->shape);
		u = unet_create(&o.net, trainer_batch(&t), H, W);
		unet_init_params(u, o.tr.seed);
		n = net_wrap_unet(u, o.loss, o.classes);
	}
	trainer_run(&t, n);
	net_free(n);
	trainer_end(&t);
	return 0;
}
