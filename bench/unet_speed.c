/* unet_speed: training and inference throughput of the U-Net on random
 * data, with the time per layer kind.
 *
 *   bench/unet_speed [-j threads] [-b batch] [-s size] [-f filters] [-d depth]
 *                    [-n train_steps] [-r repeats] [-o out_channels]
 *                    [-p fp32|bf16]
 *
 * Defaults: 2 threads, batch 64, 28x28, the default U-Net (117,393
 * parameters), Adam. Each figure is the best of -r repeats (the machine is
 * shared, so the best run is the least disturbed one); "CPU" is the
 * process's CPU time per batch, the steadier figure with -j 1 on a busy
 * machine. GFLOP/s is effective: the FLOPs of direct convolutions (2 per
 * multiply-add), a training step counting three times the forward ones
 * (forward, input and weight gradients). The 3x3 convolutions actually run
 * as Winograd F(2x2,3x3), which needs 2.25x fewer multiplies. */
#include <getopt.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kern.h"
#include "unet.h"

/* CPU time of the whole process: on a shared machine, with -j 1, a
 * steadier measure of the work than the wall clock */
static double cpu_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* forward convolution FLOPs per image */
static double unet_flops(const unet_config *c, int H, int W)
{
	double f = 0.0, hw = (double)H * W;
	int D = c->depth, F = c->filters;

	for (int l = 0; l < D; l++, hw /= 4) {
		int ci = l == 0 ? c->in_channels : F << (l - 1), co = F << l;
		f += 2.0 * hw * co * ci * 9 + 2.0 * hw * co * co * 9;
	}
	f += 2.0 * hw * (F << D) * ((D ? F << (D - 1) : c->in_channels) * 9)
		+ 2.0 * hw * (F << D) * (F << D) * 9;
	for (int l = D - 1; l >= 0; l--) {
		hw *= 4;
		int co = F << l;
		f += 2.0 * (hw / 4) * (2 * co) * co * 4;          /* convT */
		f += 2.0 * hw * co * (2 * co) * 9 + 2.0 * hw * co * co * 9;
	}
	f += 2.0 * hw * F * c->out_channels;
	return f;
}

int main(int argc, char **argv)
{
	int threads = 2, B = 64, S = 28, steps = 20, repeats = 3, opt;
	unet_config cfg = unet_defaults();

	progname = "unet_speed";
	while ((opt = getopt(argc, argv, "j:b:s:f:d:n:r:o:p:")) != -1) {
		switch (opt) {
		case 'j': threads = atoi(optarg); break;
		case 'b': B = atoi(optarg); break;
		case 's': S = atoi(optarg); break;
		case 'f': cfg.filters = atoi(optarg); break;
		case 'd': cfg.depth = atoi(optarg); break;
		case 'n': steps = atoi(optarg); break;
		case 'r': repeats = atoi(optarg); break;
		case 'o': cfg.out_channels = atoi(optarg); break;
		case 'p':
			if (kern_precision_parse(optarg) < 0)
				usage_die("-p: fp32 or bf16");
			kern_set_precision((kern_precision)kern_precision_parse(optarg));
			break;
		default:
			fprintf(stderr, "usage: unet_speed [-j threads] [-b batch] [-s size] "
				"[-f filters] [-d depth] [-n steps] [-r repeats] [-o outputs] "
				"[-p fp32|bf16]\n");
			return 2;
		}
	}
	if (B < 1 || S < 1 || steps < 1 || repeats < 1)
		usage_die("bad option value");
	nn_set_threads(threads);
	unet *u = unet_create(&cfg, B, S, S);
	unet_init_params(u, 1);
	size_t n = (size_t)B * S * S;
	size_t no = n * cfg.out_channels;
	float *x = xmalloc(n * sizeof(float)), *y = xmalloc(no * sizeof(float));
	float *out = xmalloc(no * sizeof(float));
	/* one output: BCE on masks (the foreground net); more: MSE (separation) */
	loss_kind loss = cfg.out_channels > 1 ? LOSS_MSE : LOSS_BCE;
	rng_t rng;
	rng_seed(&rng, 1);
	for (size_t i = 0; i < n; i++)
		x[i] = (float)rng_uniform(&rng);
	for (size_t i = 0; i < no; i++)
		y[i] = x[i % n] > 0.5f;
	adam_config ad = adam_defaults(1e-3f);
	double fwd = unet_flops(&cfg, u->Hp, u->Wp);

	printf("U-Net: %zu parameters, depth %d, filters %d, %dx%d, batch %d, %d threads, %s\n",
	       u->params.n, cfg.depth, cfg.filters, S, S, B, threads, kern_describe());
	printf("forward: %.1f MFLOP per image (convolutions)\n", fwd / 1e6);
	for (int i = 0; i < 3; i++)   /* warm up: buffers, caches, thread pools */
		unet_train_step(u, x, y, B, loss, &ad);

	double best_train = 1e30, best_infer = 1e30, cpu_train = 1e30, cpu_infer = 1e30;
	int isteps = steps * 3;
	for (int r = 0; r < repeats; r++) {
		double t0 = omp_get_wtime(), c0 = cpu_now();
		for (int s = 0; s < steps; s++)
			unet_train_step(u, x, y, B, loss, &ad);
		double t1 = omp_get_wtime(), c1 = cpu_now();
		for (int s = 0; s < isteps; s++)
			unet_forward(u, x, B, 0, out);
		double t2 = omp_get_wtime(), c2 = cpu_now();
		if ((t1 - t0) / steps < best_train)
			best_train = (t1 - t0) / steps;
		if ((t2 - t1) / isteps < best_infer)
			best_infer = (t2 - t1) / isteps;
		if ((c1 - c0) / steps < cpu_train)
			cpu_train = (c1 - c0) / steps;
		if ((c2 - c1) / isteps < cpu_infer)
			cpu_infer = (c2 - c1) / isteps;
	}
	printf("train:   %8.1f images/s  %6.1f GFLOP/s  (%.2f ms per batch of %d; CPU %.2f ms)\n",
	       B / best_train, 3 * fwd * B / best_train / 1e9, best_train * 1e3, B, cpu_train * 1e3);
	printf("predict: %8.1f images/s  %6.1f GFLOP/s  (%.2f ms per batch of %d; CPU %.2f ms)\n",
	       B / best_infer, fwd * B / best_infer / 1e9, best_infer * 1e3, B, cpu_infer * 1e3);

	/* where the time goes: one more round with the layer timers on */
	u->profile = 1;
	memset(u->prof, 0, sizeof u->prof);
	double t0 = omp_get_wtime();
	for (int s = 0; s < steps; s++)
		unet_train_step(u, x, y, B, loss, &ad);
	double total = omp_get_wtime() - t0;
	printf("\ntraining step, per layer kind (ms per batch, share):\n");
	for (int k = 0; k < PROF_COUNT; k++)
		printf("  %-30s %7.2f  %5.1f%%\n", unet_prof_names[k], u->prof[k] * 1e3 / steps,
		       100 * u->prof[k] / total);
	memset(u->prof, 0, sizeof u->prof);
	t0 = omp_get_wtime();
	for (int s = 0; s < isteps; s++)
		unet_forward(u, x, B, 0, out);
	total = omp_get_wtime() - t0;
	printf("\ninference, per layer kind (ms per batch, share):\n");
	for (int k = 0; k < PROF_COUNT; k++)
		if (u->prof[k] > 0)
			printf("  %-30s %7.2f  %5.1f%%\n", unet_prof_names[k], u->prof[k] * 1e3 / isteps,
			       100 * u->prof[k] / total);
	free(x); free(y); free(out);
	unet_free(u);
	return 0;
}
