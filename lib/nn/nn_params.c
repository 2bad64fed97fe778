/* nn_params.c: threads, the parameter table, one-buffer parameters and Adam,
 * initialisation. */
#include <math.h>
#include <stdlib.h>
#include <omp.h>
#include <string.h>

#include "kern.h"
#include "nn.h"

#if defined(__SSE__)
#include <pmmintrin.h>
#include <xmmintrin.h>
#endif

static int nthreads = 1;

/* flush_denormals: denormal floats become zero, in and out: a guard, since
 * an operation on a denormal costs about a hundred cycles and Adam's second
 * moments and late gradients can get that small. */
static void flush_denormals(void)
{
#if defined(__SSE__)
	_MM_SET_FLUSH_ZERO_MODE(_MM_FLUSH_ZERO_ON);
	_MM_SET_DENORMALS_ZERO_MODE(_MM_DENORMALS_ZERO_ON);
#endif
}

void nn_set_threads(int n)
{
	int err;

	if (n < 1)
		n = 1;
	/* libgomp ends the process with its own message when it cannot make
	 * the team below; a count the tool chose itself (all cores) is checked
	 * here, one given with -j already by cli_threads */
	if (n > 1 && threads_startable(n, &err) < n)
		die("cannot run %d threads here (%s); give fewer with -j", n, strerror(err));
	nthreads = n;
	omp_set_num_threads(n);
	/* the kernel path is chosen here, on the main thread, before any
	 * parallel region (kgemm is called from inside them) */
	kern_init();
	flush_denormals();
	/* every thread of the pool has its own floating-point control */
	#pragma omp parallel
	flush_denormals();
}

int nn_threads(void)
{
	return nthreads;
}

size_t nn_layout_add(nn_layout *l, size_t n)
{
	size_t off = l->total;

	if (l->count == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 32;
		l->size = xrealloc(l->size, l->cap * sizeof *l->size);
	}
	l->size[l->count++] = n;
	l->total += n;
	return off;
}

void nn_layout_free(nn_layout *l)
{
	free(l->size);
	memset(l, 0, sizeof *l);
}

void nn_params_alloc(nn_params *ps, size_t n)
{
	ps->n = n;
	ps->p = xcalloc(n, sizeof(float));
	ps->g = xcalloc(n, sizeof(float));
	ps->m = xcalloc(n, sizeof(float));
	ps->v = xcalloc(n, sizeof(float));
	ps->step = 0;
}

void nn_params_free(nn_params *ps)
{
	free(ps->p);
	free(ps->g);
	free(ps->m);
	free(ps->v);
	memset(ps, 0, sizeof *ps);
}

void nn_params_zero_grad(nn_params *ps)
{
	memset(ps->g, 0, ps->n * sizeof(float));
}

adam_config adam_defaults(float lr)
{
	adam_config c = { lr, 0.9f, 0.999f, 1e-8f, 0.0f };
	return c;
}

void adam_step(nn_params *ps, const adam_config *cfg)
{
	ps->step++;
	float b1 = cfg->beta1, b2 = cfg->beta2, eps = cfg->eps;
	/* as torch.optim.Adam(W) with foreach=False: the bias corrections in
	 * double, then applied in float */
	float bc1 = (float)(1.0 - pow(b1, (double)ps->step));
	float bc2_sqrt = (float)sqrt(1.0 - pow(b2, (double)ps->step));
	float step_size = cfg->lr / bc1;
	float decay = 1.0f - cfg->lr * cfg->weight_decay;
	float *p = ps->p, *g = ps->g, *m = ps->m, *v = ps->v;
	long n = (long)ps->n;

	#pragma omp parallel for schedule(static)
	for (long i = 0; i < n; i++) {
		float gi = g[i];
		if (cfg->weight_decay != 0.0f)
			p[i] *= decay;
		m[i] = b1 * m[i] + (1.0f - b1) * gi;
		v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
		float denom = sqrtf(v[i]) / bc2_sqrt + eps;
		p[i] -= step_size * m[i] / denom;
	}
}

void init_kaiming(float *w, size_t n, int fan_in, rng_t *rng)
{
	float std = sqrtf(2.0f / (float)fan_in);

	for (size_t i = 0; i < n; i++)
		w[i] = std * rng_normal(rng);
}

void init_fill(float *x, size_t n, float value)
{
	for (size_t i = 0; i < n; i++)
		x[i] = value;
}
