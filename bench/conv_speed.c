/* conv_speed: the 3x3 convolution's methods, Winograd F(2x2,3x3), im2col
 * and, where the path has one (amx in bf16), the direct one, side by side on the U-Nets' layer shapes, forward and weight
 * gradient, in the kernel path and precision given (SEGPIPE_KERNEL, -p),
 * one thread, core time, the fastest call of many.
 *
 *   bench/conv_speed [-p fp32|bf16] [-n batch] [-r repeats] [-l layer]
 *
 * -l: only the layer of that index (0 = the first line), for profiles.
 *
 * Prints conv<TAB>shape<TAB>pass<TAB>winograd ms<TAB>im2col ms<TAB>ratio,
 * then <TAB>direct ms<TAB>GFLOP/s of the direct one where it runs. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kern.h"
#include "nn.h"
#include "util.h"

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return t.tv_sec + 1e-9 * t.tv_nsec;
}

typedef struct { int Ci, Co, H, W; } layer;

static const layer layers[] = {
	{ 16, 16, 28, 28 }, { 32, 32, 14, 14 }, { 64, 64, 7, 7 }, { 64, 32, 14, 14 },
	{ 32, 16, 28, 28 }, { 64, 64, 32, 32 }, { 128, 128, 16, 16 }, { 256, 256, 8, 8 },
	/* first layers: one input channel (nn_conv.c routes them to im2col) */
	{ 1, 16, 28, 28 }, { 1, 32, 28, 28 }, { 1, 64, 32, 32 }, { 1, 16, 64, 84 },
};

enum { FWD, WGRAD };

enum { IM2COL, WINO, DIRECT };

static void once(int pass, int wino, const layer *l, int N, float *out, const float *inp,
		 const float *w, const float *b, float *dw)
{
	if (pass == FWD && wino == DIRECT)
		conv3x3_direct_forward(out, inp, w, b, l->Ci, l->Co, N, l->H, l->W, -1);
	else if (pass == WGRAD && wino == DIRECT)
		conv3x3_direct_weight_grad(dw, out, inp, l->Ci, l->Co, N, l->H, l->W);
	else if (pass == FWD && wino)
		conv3x3_winograd_forward(out, inp, w, b, l->Ci, l->Co, N, l->H, l->W, -1);
	else if (pass == FWD)
		conv3x3_im2col_forward(out, inp, w, b, l->Ci, l->Co, N, l->H, l->W, -1);
	else if (wino)
		conv3x3_winograd_weight_grad(dw, out, inp, l->Ci, l->Co, N, l->H, l->W);
	else
		conv3x3_im2col_weight_grad(dw, out, inp, l->Ci, l->Co, N, l->H, l->W);
}

/* the fastest single call in repeats x 0.1 s of calls: on a shared machine
 * other work only ever makes a call slower */
static double best_ms(int pass, int wino, const layer *l, int N, int repeats, float *out,
		      const float *inp, const float *w, const float *b, float *dw)
{
	double best = 1e30, t0 = now();

	once(pass, wino, l, N, out, inp, w, b, dw);   /* warm the scratch */
	while (now() - t0 < 0.1 * repeats) {
		double t1 = now();
		once(pass, wino, l, N, out, inp, w, b, dw);
		if (now() - t1 < best)
			best = now() - t1;
	}
	return 1e3 * best;
}

int main(int argc, char **argv)
{
	int N = 64, repeats = 3, only = -1, c;
	kern_precision p = KERN_FP32;

	while ((c = getopt(argc, argv, "p:n:r:l:")) != -1)
		switch (c) {
		case 'p': p = !strcmp(optarg, "bf16") ? KERN_BF16 : KERN_FP32; break;
		case 'n': N = atoi(optarg); break;
		case 'r': repeats = atoi(optarg); break;
		case 'l': only = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: conv_speed [-p fp32|bf16] [-n batch] [-r repeats] [-l layer]\n");
			return 2;
		}
	kern_init();
	kern_set_precision(p);
	nn_set_threads(1);
	printf("# %s, %s, batch %d, 1 thread\n", kern_path_name(kern_current()),
	       p == KERN_BF16 ? "bf16" : "fp32", N);
	for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) {
		const layer *l = &layers[i];
		if (only >= 0 && (size_t)only != i)
			continue;
		size_t ni = (size_t)l->Ci * N * l->H * l->W, no = (size_t)l->Co * N * l->H * l->W;
		size_t nw = (size_t)l->Co * l->Ci * 9;
		float *inp = xmalloc_array(ni, 4), *out = xmalloc_array(no, 4);
		float *w = xmalloc_array(nw, 4), *dw = xcalloc(nw, 4), *b = xcalloc(l->Co, 4);
		rng_t r;

		rng_seed(&r, 1);
		for (size_t k = 0; k < ni; k++) inp[k] = rng_normal(&r);
		for (size_t k = 0; k < no; k++) out[k] = rng_normal(&r);
		for (size_t k = 0; k < nw; k++) w[k] = rng_normal(&r);
		for (int pass = FWD; pass <= WGRAD; pass++) {
			double tw = best_ms(pass, 1, l, N, repeats, out, inp, w, b, dw);
			double tc = best_ms(pass, 0, l, N, repeats, out, inp, w, b, dw);
			printf("conv\t%d->%d %dx%d\t%s\t%.2f\t%.2f\t%.2f", l->Ci, l->Co, l->H, l->W,
			       pass == FWD ? "forward" : "wgrad", tw, tc, tc / tw);
			if (kconv_ok(l->Ci, l->Co, l->H, l->W)) {
				double td = best_ms(pass, DIRECT, l, N, repeats, out, inp, w, b, dw);
				printf("\t%.2f\t%.0f", td,
				       2.0 * l->Ci * l->Co * 9 * N * l->H * l->W / (td * 1e6));
			}
			printf("\n");
		}
		free(inp); free(out); free(w); free(dw); free(b);
	}
	return 0;
}
