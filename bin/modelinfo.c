/* modelinfo: what a model file holds, for a user: kind, shapes, parameter
 * count, training settings and progress. */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor.h"
#include "model.h"

static const char usage[] =
"Usage: modelinfo MODEL...\n"
"Describe each model file (written by train-unet or train-mlp): its kind and\n"
"architecture, the shapes of one input and one output sample as numpy gives\n"
"them, the parameter count, the training settings and how far the training\n"
"got (epochs, losses, the best validation epoch, early stop, a checkpoint\n"
"of an interrupted run). One line per item, `key  value`; a blank line\n"
"between models. The per-epoch history is the trainer's --history file.\n"
"\n"
"  -h, --help     show this help and exit\n"
"      --version  show the version and exit\n";

static void item(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void item(const char *key, const char *fmt, ...)
{
	va_list ap;

	printf("%-12s ", key);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* shape: "(C,H,W)", or "(H,W)" for one channel, as a tool reads or writes it */
static const char *shape(int c, int h, int w, char *buf, size_t n)
{
	if (c == 1)
		snprintf(buf, n, "(%d,%d)", h, w);
	else
		snprintf(buf, n, "(%d,%d,%d)", c, h, w);
	return buf;
}

/* last_size: the last number of a list "784,256,2" */
static long last_size(const char *list)
{
	const char *p = strrchr(list, ',');

	return strtol(p ? p + 1 : list, NULL, 10);
}

static const char *what_out(const model *m)
{
	switch (m->loss) {
	case LOSS_BCE: return "probabilities (bce: sigmoid of the logits)";
	case LOSS_CE: return "class probabilities (ce: softmax over the channels; predict --argmax: a class map)";
	default: return "values (mse)";
	}
}

static void describe(const char *path)
{
	model m;
	char a[64], b[64];
	double mb;

	model_init(&m, "");
	model_read(&m, path);
	item("model", "%s", path);
	if (strcmp(m.kind, "unet") == 0) {
		item("kind", "unet: depth %d, %d filters, %s", m.depth, m.filters, act_name(m.act));
		item("input", "%s float32 intensities (trained on %dx%d: width x height)",
		     shape(m.in_channels, m.height, m.width, a, sizeof a), m.width, m.height);
		item("output", "%s %s", shape(m.out_channels, m.height, m.width, b, sizeof b),
		     what_out(&m));
	} else {
		long in = strtol(m.layers, NULL, 10), out = last_size(m.layers);
		item("kind", "mlp: layers %s, activations %s", m.layers, m.activations);
		item("input", "(%ld) float32 values (an image of %ld pixels, flattened)", in, in);
		item("output", "(%ld) %s%s", out, what_out(&m),
		     in == out ? " (an image input keeps its shape)" : "");
	}
	mb = (double)(m.nparams + m.nstats) * 4 / 1e6;
	item("parameters", "%zu, and %zu batch-norm statistics (%.2f MB of float32)", m.nparams,
	     m.nstats, mb);
	if (m.loss == LOSS_CE)
		item("loss", "ce, %d classes", m.classes);
	else
		item("loss", "%s", loss_name(m.loss));
	item("training", "epochs %d, batch %d, lr %g%s, weight decay %g, seed %" PRIu64
	     ", precision %s", m.epochs, m.batch, m.lr, m.cosine ? " (cosine)" : "",
	     m.weight_decay, m.seed, kern_precision_name(m.precision));
	if (m.partial)
		item("progress", "%d of %d epochs done, and %d samples of epoch %d: a checkpoint "
		     "of an interrupted run (go on with --resume)", m.epoch, m.epochs, m.partial,
		     m.epoch + 1);
	else if (m.stopped)
		item("progress", "%d of %d epochs done: stopped early (--patience)", m.epoch, m.epochs);
	else
		item("progress", "%d of %d epochs done%s", m.epoch, m.epochs,
		     m.epoch < m.epochs ? " (--resume goes on)" : "");
	if (m.epoch > 0)
		item("train_loss", "%g (epoch %d)", m.train_loss, m.epoch);
	if (!isnan(m.val_loss)) {
		item("val_loss", "%g (epoch %d)", m.val_loss, m.epoch);
		item("best", "val_loss %g at epoch %d: the weights this file holds%s", m.best_val,
		     m.best_epoch, m.has_resume ? " (the last epoch's weights follow, for --resume)" : "");
		if (m.since_best)
			item("since_best", "%d epochs without a better val_loss", m.since_best);
	} else if (m.epoch > 0) {
		item("val_loss", "none (trained without validation data)");
	}
	item("resumable", "%s", m.has_adam ? "yes (Adam state kept)" : "no Adam state (resumed, it starts from zero)");
	model_free(&m);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	cli_init(argc, argv, "modelinfo");
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': cli_help(usage); break;
		case 'V': cli_version(); break;
		default: cli_bad_option(c, argv);
		}
	}
	if (optind >= argc)
		usage_die("missing MODEL");
	for (int i = optind; i < argc; i++) {
		if (i > optind)
			putchar('\n');
		describe(argv[i]);
	}
	output_check(stdout);
	return 0;
}
