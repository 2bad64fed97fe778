/* train-fcn: trains an FCN-8 on (image stream, class-map stream), writes a model. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor.h"
#include "nn.h"
#include "fcn.h"
#include "net.h"
#include "trainer.h"
#include "batch.h"

static const char usage[] =
"Usage: train-fcn [options] --classes N -o MODEL INPUTS TARGETS\n"
"Trains an FCN-8 (a VGG-style encoder down to 1/32, scores at 1/8, 1/16 and\n"
"1/32 upsampled and summed, softmax cross-entropy) that maps the INPUTS\n"
"images to the TARGETS class maps (one channel of 0..N-1), and writes MODEL,\n"
"atomically, at every epoch end.\n"
"\n"
"      --classes N         classes (2..255; required)\n"
"      --filters F         width of the first stage, 2F, 4F, 8F, 8F after it,\n"
"                          16F at 1/32 (default 8)\n"
"      --activation A      relu (default), leaky_relu, tanh, sigmoid\n"
"Training (-e default 3, -b default 32):\n"
TRAIN_USAGE
"  -h, --help              show this help and exit\n"
"      --version           show the version and the kernel, and exit\n";

struct options {
	const char *files[2];
	fcn_config net;
	int classes;
	train_options tr;
};

static void parse_args(int argc, char **argv, struct options *o)
{
	enum { O_CLASSES = 256, O_FILTERS, O_ACT };
	static const struct option longopts[] = {
		{ "classes", required_argument, NULL, O_CLASSES },
		{ "filters", required_argument, NULL, O_FILTERS },
		{ "activation", required_argument, NULL, O_ACT },
		TRAIN_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, ":" TRAIN_SHORTOPTS "h", longopts, NULL)) != -1) {
		switch (c) {
		case O_CLASSES: o->classes = trainer_arch_int(&o->tr, "--classes", optarg, 2, 255); break;
		case O_FILTERS:
			o->net.filters = trainer_arch_int(&o->tr, "--filters", optarg, 1, 256);
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
	if (!o->classes && !o->tr.resume)
		usage_die("--classes N is required");
	trainer_check_options(&o->tr);
}

/* check_pair: inputs and class maps agree in image size; maps have one channel */
static void check_pair(const dataset *in, const dataset *tg)
{
	shape_require_images(&in->shape, in->name);
	shape_require_images(&tg->shape, tg->name);
	if (shape_h(&in->shape) != shape_h(&tg->shape) || shape_w(&in->shape) != shape_w(&tg->shape))
		die("inputs %s and targets %s differ in image size (%s)", shape_str(&in->shape),
		    shape_str(&tg->shape), tg->name);
	if (shape_c(&tg->shape) != 1)
		die("class maps must have one channel, not %" PRId64 " (%s)", shape_c(&tg->shape), tg->name);
}

int main(int argc, char **argv)
{
	struct options o = { .net = fcn_defaults(), .tr = train_defaults(3, 32) };
	trainer t;
	net *n;
	int H, W;

	cli_init(argc, argv, "train-fcn");
	cli_wait_policy(argv);
	parse_args(argc, argv, &o);
	trainer_init(&t, &o.tr, "fcn8");
	if (o.tr.resume)
		o.classes = t.m.classes;
	trainer_data(&t, o.files[0], o.files[1]);
	check_pair(t.in, t.tg);
	batch_check_targets(t.tg, LOSS_CE, o.classes);
	if (t.vin) {
		check_pair(t.vin, t.vtg);
		batch_check_targets(t.vtg, LOSS_CE, o.classes);
	}
	H = (int)shape_h(&t.in->shape);
	W = (int)shape_w(&t.in->shape);
	if (o.tr.resume) {
		n = net_from_model(&t.m, o.tr.resume, trainer_batch(&t), H, W);
	} else {
		fcn *f;

		o.net.in_channels = (int)shape_c(&t.in->shape);
		o.net.out_channels = o.classes;
		f = fcn_create(&o.net, trainer_batch(&t), H, W);
		fcn_init_params(f, o.tr.seed);
		n = net_wrap_fcn(f, LOSS_CE, o.classes);
	}
	trainer_run(&t, n);
	net_free(n);
	trainer_end(&t);
	return 0;
}
