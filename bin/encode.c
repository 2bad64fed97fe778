/* encode: a model's hidden layer as a stream, one vector per sample. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tensor.h"
#include "net.h"

static const char usage[] =
"Usage: encode [--layer K] [-j N] MODEL [FILE]\n"
"Runs the dense network in MODEL (written by train-mlp) over the samples\n"
"of FILE, each flattened to a vector, and writes the activations of layer K\n"
"as a float32 tensor stream, one vector per sample: the codes of an\n"
"autoencoder, for an embedding plot. Layers count from 0, the input; layer\n"
"K is the output of the K-th dense layer, after its activation. A classifier\n"
"(train-cnn) has layers 0, the input, 1, its pooled features before the head\n"
"(the default), and 2, its class probabilities.\n"
"\n"
"      --layer K     the layer to write (default: the smallest hidden layer,\n"
"                    the first of equals)\n"
"      --precision P bf16 or fp32 (default: the precision the model was\n"
"                    trained with)\n"
"  -j, --threads N   threads (default: all cores)\n"
"  -v, --verbose     say which kernel and precision compute\n"
"      --force       write the binary output even to a terminal\n"
"  -h, --help        show this help and exit\n"
"      --version     show the version and the kernel, and exit\n"
"\n"
"With no FILE, or when FILE is -, read standard input.\n";

enum { CHUNK = 256 };   /* samples per forward pass */

struct options {
	int layer;          /* -1: the smallest hidden layer */
	int threads;
	net_options net;
	const char *files[2];
};

static void parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "layer", required_argument, NULL, 'k' },
		{ "threads", required_argument, NULL, 'j' },
		NET_LONGOPTS,
		CLI_FORCE_LONGOPT,
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, ":j:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'k': o->layer = (int)cli_long("--layer", optarg, 0, MLP_MAX_LAYERS - 1); break;
		case 'j': o->threads = cli_threads("--threads", optarg); break;
		case CLI_OPT_FORCE: binary_force = 1; break;
		case 'h': cli_help(usage); break;
		case 'V': net_version(); break;
		default:
			if (!net_option(&o->net, c, optarg))
				cli_bad_option(c, argv);
		}
	}
	cli_operands(argc, argv, optind, 1, 2, o->files);
	if (!o->files[0] || !strcmp(o->files[0], "-"))
		usage_die("MODEL must be a file name");
}

int main(int argc, char **argv)
{
	struct options o = { .layer = -1 };
	input *in;
	output *out;
	net *m;
	float *x;
	shape_t vec = { 1, { 0 } };
	int64_t n;
	int k, B = 0;

	cli_init(argc, argv, "encode");
	cli_wait_policy(argv);
	parse_args(argc, argv, &o);
	nn_set_threads(o.threads ? o.threads : (int)sysconf(_SC_NPROCESSORS_ONLN));
	m = net_load(o.files[0], CHUNK, 0, 0, NET_NEED_LAYERS);
	k = o.layer >= 0 ? o.layer : net_code_layer(m);
	if (k < 0)
		die("%s has no hidden layer (layers %d): give --layer", o.files[0], net_layers(m));
	if (k > net_layers(m))
		die("--layer %d: %s has layers 0..%d", k, o.files[0], net_layers(m));
	/* a model encodes in the precision it was trained with, unless told */
	net_use_precision(o.net.precision_given ? o.net.precision : net_trained_precision(m),
			  o.net.verbose);
	in = input_open(o.files[1]);
	net_check_input(m, input_shape(in), input_name(in));
	n = input_size(in);
	vec.dim[0] = net_layer_size(m, k);
	x = xmalloc_array((size_t)CHUNK * n, sizeof *x);
	out = output_open(stdout, 0, DT_F32, &vec);
	for (;;) {
		int more = input_read(in, x + (int64_t)B * n, ROLE_INTENSITY);

		B += more;
		if (B == CHUNK || (!more && B > 0)) {
			const float *code;

			code = net_encode(m, x, B, k);
			for (int b = 0; b < B; b++)
				output_write(out, code + (int64_t)b * vec.dim[0]);
			B = 0;
		}
		if (!more)
			break;
	}
	output_close(out);
	input_close(in);
	free(x);
	net_free(m);
	return 0;
}
