/* predict: runs a trained model over a stream, in batches, in constant memory. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tensor.h"
#include "nn.h"
#include "unet.h"
#include "model.h"
#include "mlp.h"

static const char usage[] =
"Usage: predict [options] MODEL [INPUTS]\n"
"Runs MODEL (written by train-unet or train-mlp) over the INPUTS stream and\n"
"writes its outputs: probabilities for a bce model (sigmoid), class\n"
"probabilities for a ce model (softmax over the channels), values for an\n"
"mse model; float32. An MLP's output has the input's shape when it has as\n"
"many values, else it is a vector per sample.\n"
"\n"
"  -t, --threshold T   write uint8 0/1 masks: probability > T\n"
"  -a, --argmax        write uint8 class maps: the most probable class\n"
"  -b, --batch N       images per batch (default 64)\n"
"  -P, --pgm           write a PGM stream instead of a tensor stream\n"
"  -j, --threads N     threads (default: all cores)\n"
"  -h, --help          show this help and exit\n"
"      --version       show the version and exit\n"
"\n"
"With no INPUTS, or when INPUTS is -, read standard input.\n";

struct options {
	double threshold;
	int argmax, batch, pgm, threads;
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
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, ":t:ab:Pj:h", longopts, NULL)) != -1) {
		switch (c) {
		case 't': o->threshold = cli_double("--threshold", optarg, -1e30, 1e30); break;
		case 'a': o->argmax = 1; break;
		case 'b': o->batch = (int)cli_long("--batch", optarg, 1, 65536); break;
		case 'P': o->pgm = 1; break;
		case 'j': o->threads = cli_threads("--threads", optarg); break;
		case 'h': cli_help(usage); break;
		case 'V': cli_version(); break;
		default: cli_bad_option(c, argv);
		}
	}
	if (o->argmax && !isnan(o->threshold))
		usage_die("--threshold and --argmax exclude each other");
	cli_operands(argc, argv, optind, 1, 2, o->files);
}

/* finish: logits (B,K,H,W) -> what the loss makes of them, in place. */
static void finish(float *z, int B, int K, int64_t P, loss_kind loss)
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

int main(int argc, char **argv)
{
	struct options o = { .threshold = NAN, .batch = 64 };
	model m;
	unet *u = NULL;
	mlp *nn = NULL;
	input *in;
	output *out;
	float *x, *z, *row;
	int K, H, W;
	int64_t P, n = 0;
	shape_t oshape;
	dtype_t dt = DT_F32;

	cli_init(argc, argv, "predict");
	cli_passive_wait(argv);
	parse_args(argc, argv, &o);
	nn_set_threads(o.threads ? o.threads : (int)sysconf(_SC_NPROCESSORS_ONLN));
	in = input_open(o.files[1]);
	H = (int)shape_h(input_shape(in));
	W = (int)shape_w(input_shape(in));
	model_read(&m, o.files[0]);
	if (strcmp(m.kind, "mlp") == 0) {
		nn = mlp_load(o.files[0]);
		if (input_size(in) != nn->size[0])
			die("input samples %s have %" PRId64 " values; the model takes %d (%s)",
			    shape_str(input_shape(in)), input_size(in), nn->size[0], input_name(in));
		/* the output keeps the input's image shape when it fits */
		K = 1;
		P = nn->size[nn->L];
		if (P != input_size(in)) {
			H = 1;
			W = (int)P;
		}
	} else {
		u = unet_from_model(&m, o.batch, H, W);
		K = u->cfg.out_channels;
		P = (int64_t)H * W;
		if (shape_c(input_shape(in)) != u->cfg.in_channels || input_shape(in)->ndim < 2)
			die("input samples %s do not match the model's %d input channels (%s)",
			    shape_str(input_shape(in)), u->cfg.in_channels, input_name(in));
	}
	if (o.argmax && m.loss != LOSS_CE)
		die("--argmax needs a ce model; %s was trained with %s", o.files[0], loss_name(m.loss));

	oshape = shape_chw(o.argmax ? 1 : K, H, W);
	if (nn && H == 1) {
		oshape.ndim = 1;
		oshape.dim[0] = W;
	}
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
		if (nn) {
			mlp_forward(nn, x, B, z);   /* final activations already */
		} else {
			unet_forward(u, x, B, 0, z);
			finish(z, B, K, P, m.loss);
		}
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
	if (u)
		unet_free(u);
	if (nn)
		mlp_free(nn);
	model_free(&m);
	free(x);
	free(z);
	free(row);
	return 0;
}
