/* predict: runs a trained model over a stream, in batches, in constant memory. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tensor.h"
#include "nn.h"
#include "net.h"

static const char usage[] =
"Usage: predict [options] MODEL [INPUTS]\n"
"Runs MODEL (written by train-unet, train-fcn, train-mlp or train-cnn) over the\n"
"INPUTS stream and writes its outputs: probabilities for a bce model (sigmoid),\n"
"class probabilities for a ce model (softmax over the channels), values for\n"
"an mse model; float32. An MLP's output has the input's shape when it has as\n"
"many values, else it is a vector per sample; a classifier's (train-cnn) is\n"
"the vector of its class probabilities.\n"
"\n"
"  -t, --threshold T   write uint8 0/1 masks: probability > T\n"
"  -a, --argmax        write uint8 class maps: the most probable class (a\n"
"                      classifier: one uint8 label per sample)\n"
"  -b, --batch N       images per batch (default 64)\n"
"  -P, --pgm           write a PGM stream instead of a tensor stream\n"
"      --precision P   bf16 or fp32 (default: the precision the model was\n"
"                      trained with)\n"
"  -j, --threads N     threads (default: all cores)\n"
"  -v, --verbose       say which kernel and precision compute\n"
"      --force         write the binary output even to a terminal\n"
"  -h, --help          show this help and exit\n"
"      --version       show the version and the kernel, and exit\n"
"\n"
"With no INPUTS, or when INPUTS is -, read standard input.\n";

struct options {
	double threshold;
	int argmax, batch, pgm, threads;
	net_options net;
	const char *files[2];
};

static void parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "threshold", required_argument, NULL, 't' },
		{ "argmax", no_argument, NULL, 'a' },
		{ "batch", required_argument, NULL, 'b' },
		{ "pgm", no_argument, NULL, 'P' },
		{ "threads", required_argument, NULL, 'j' },
		NET_LONGOPTS,
		CLI_FORCE_LONGOPT,
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, ":t:ab:Pj:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 't': o->threshold = cli_double("--threshold", optarg, -1e30, 1e30); break;
		case 'a': o->argmax = 1; break;
		case 'b': o->batch = (int)cli_long("--batch", optarg, 1, 65536); break;
		case 'P': o->pgm = 1; break;
		case 'j': o->threads = cli_threads("--threads", optarg); break;
		case CLI_OPT_FORCE: binary_force = 1; break;
		case 'h': cli_help(usage); break;
		case 'V': net_version(); break;
		default:
			if (!net_option(&o->net, c, optarg))
				cli_bad_option(c, argv);
		}
	}
	if (o->argmax && !isnan(o->threshold))
		usage_die("--threshold and --argmax exclude each other");
	cli_operands(argc, argv, optind, 1, 2, o->files);
}

int main(int argc, char **argv)
{
	struct options o = { .threshold = NAN, .batch = 64 };
	net *nn;
	input *in;
	output *out;
	float *x, *z, *row;
	int64_t K, P, n = 0;
	int classifier;
	shape_t oshape;
	dtype_t dt = DT_F32;

	cli_init(argc, argv, "predict");
	cli_wait_policy(argv);
	parse_args(argc, argv, &o);
	nn_set_threads(o.threads ? o.threads : (int)sysconf(_SC_NPROCESSORS_ONLN));
	in = input_open(o.files[1]);
	nn = net_load(o.files[0], o.batch, (int)shape_h(input_shape(in)),
		      (int)shape_w(input_shape(in)), 0);
	net_check_input(nn, input_shape(in), input_name(in));
	if (o.argmax && net_loss(nn) != LOSS_CE)
		die("--argmax needs a ce model; %s was trained with %s", o.files[0],
		    loss_name(net_loss(nn)));
	/* a model predicts in the precision it was trained with, unless told */
	net_use_precision(o.net.precision_given ? o.net.precision : net_trained_precision(nn),
			  o.net.verbose);

	/* outputs (K,H,W), a classifier's K class probabilities, or a vector;
	 * --argmax takes the most probable of K: a class map, or a label */
	oshape = net_output_shape(nn, input_shape(in));
	classifier = oshape.ndim == 1 && net_loss(nn) == LOSS_CE;
	K = oshape.ndim == 3 || classifier ? oshape.dim[0] : 1;
	P = shape_size(&oshape) / K;
	if (o.argmax)
		oshape = classifier ? (shape_t){ 0, { 0 } } : shape_like(input_shape(in), 1, shape_h(&oshape), shape_w(&oshape));
	if (o.argmax || !isnan(o.threshold))
		dt = DT_U8;
	out = output_open(stdout, o.pgm, dt, &oshape);
	x = xmalloc_array((size_t)o.batch * input_size(in), sizeof *x);
	z = xmalloc_array((size_t)o.batch * K * P, sizeof *z);
	row = xmalloc_array((size_t)K * P, sizeof *row);
	for (;;) {
		int B = 0;

		while (B < o.batch && input_read(in, x + (int64_t)B * input_size(in), ROLE_INTENSITY))
			B++;
		if (B == 0)
			break;
		net_predict(nn, x, B, z);
		for (int b = 0; b < B; b++) {
			float *s = z + (int64_t)b * K * P;

			if (o.argmax) {
				for (int64_t p = 0; p < P; p++) {
					int best = 0;
					for (int k = 1; k < K; k++)
						if (s[k * P + p] > s[best * P + p])
							best = k;
					row[p] = (float)best;
				}
				s = row;
			} else if (!isnan(o.threshold)) {
				for (int64_t i = 0; i < K * P; i++)
					row[i] = s[i] > o.threshold ? (o.pgm ? 255 : 1) : 0;
				s = row;
			}
			output_write(out, s);
		}
		n += B;
	}
	output_close(out);
	input_close(in);
	net_free(nn);
	free(x);
	free(z);
	free(row);
	return 0;
}
