/* nn_layers.c: max pooling, batch normalisation, activations, concatenation.
 * Batch-norm statistics are per channel, each channel summed in double by one
 * thread in index order, so they do not depend on the thread count. */
#include <math.h>
#include <string.h>

#include "nn.h"
#include "vec.h"

void maxpool_forward(float *out, uint8_t *argmax, const float *inp, int C, int N, int H, int W)
{
	size_t in_ps = (size_t)H * W, out_ps = (size_t)(H / 2) * (W / 2);
	long planes = (long)C * N;

	#pragma omp parallel for schedule(static)
	for (long pl = 0; pl < planes; pl++)
		kvec()->pool2(out + pl * out_ps, argmax + pl * out_ps, inp + pl * in_ps, H, W);
}

void maxpool_backward(float *dinp, const float *dout, const uint8_t *argmax,
		      int C, int N, int H, int W)
{
	size_t in_ps = (size_t)H * W, out_ps = (size_t)(H / 2) * (W / 2);
	long planes = (long)C * N;

	#pragma omp parallel for schedule(static)
	for (long pl = 0; pl < planes; pl++)
		kvec()->pool2_back(dinp + pl * in_ps, dout + pl * out_ps, argmax + pl * out_ps, H, W);
}

/* batch statistics of one channel: mean and biased variance (two passes) */
static void channel_stats(const float *x, size_t P, double *mean, double *var)
{
	double m = kvec()->sum(x, P) / (double)P;
	float mf = (float)m;
	double d = (double)mf - m;

	/* deviations from the float mean, corrected to the exact one */
	*mean = m;
	*var = kvec()->sum_sq_dev(x, P, mf) / (double)P - d * d;
}

/* scale and shift of one channel for the forward pass; updates the running
 * statistics in training */
static void bn_channel(int c, float *mean, float *invstd, float *running_mean,
		       float *running_var, const float *x, const float *gamma,
		       const float *beta, size_t P, int train, float *scale, float *shift)
{
	float m, is;

	if (train) {
		double dm, dv;
		channel_stats(x, P, &dm, &dv);
		m = (float)dm;
		is = (float)(1.0 / sqrt(dv + BN_EPS));
		mean[c] = m;
		invstd[c] = is;
		double unbiased = P > 1 ? dv * (double)P / (double)(P - 1) : dv;
		running_mean[c] = (1.0f - BN_MOMENTUM) * running_mean[c] + BN_MOMENTUM * m;
		running_var[c] = (1.0f - BN_MOMENTUM) * running_var[c] + BN_MOMENTUM * (float)unbiased;
	} else {
		m = running_mean[c];
		is = 1.0f / sqrtf(running_var[c] + BN_EPS);
	}
	*scale = gamma[c] * is;
	*shift = beta[c] - m * *scale;
}

void batchnorm_forward(float *out, float *mean, float *invstd, float *running_mean,
		       float *running_var, const float *inp, const float *gamma,
		       const float *beta, int C, size_t P, int train)
{
	#pragma omp parallel for schedule(static)
	for (int c = 0; c < C; c++) {
		const float *x = inp + c * P;
		float *y = out + c * P, scale, shift;
		bn_channel(c, mean, invstd, running_mean, running_var, x, gamma, beta, P,
			   train, &scale, &shift);
		kvec()->affine(y, x, P, scale, shift);
	}
}

void batchnorm_fold(float *wf, float *bf, const float *w, const float *b, const float *gamma,
		    const float *beta, const float *running_mean, const float *running_var,
		    int Co, size_t K)
{
	for (int c = 0; c < Co; c++) {
		float scale = gamma[c] / sqrtf(running_var[c] + BN_EPS);
		float shift = beta[c] - running_mean[c] * scale;
		for (size_t k = 0; k < K; k++)
			wf[c * K + k] = w[c * K + k] * scale;
		bf[c] = b[c] * scale + shift;
	}
}

/* the batch-norm backward of one channel given dy: two sums, then dx;
 * returns the sum of dx (kvec()->sum's order) */
static double bn_channel_backward(float *dx, float *dgamma, float *dbeta, const float *dy,
				  const float *x, float mean, float invstd, float gamma, size_t P)
{
	const kern_vec *v = kvec();
	double sdy, sdyx;

	v->bn_grad_sums(dy, x, P, mean, invstd, &sdy, &sdyx);
	*dgamma += (float)sdyx;
	*dbeta += (float)sdy;
	return v->bn_grad_apply(dx, dy, x, P, mean, invstd, gamma * invstd,
				(float)(sdy / (double)P), (float)(sdyx / (double)P));
}

void batchnorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
			const float *inp, const float *mean, const float *invstd,
			const float *gamma, int C, size_t P)
{
	#pragma omp parallel for schedule(static)
	for (int c = 0; c < C; c++)
		bn_channel_backward(dinp + c * P, dgamma + c, dbeta + c, dout + c * P,
				    inp + c * P, mean[c], invstd[c], gamma[c], P);
}

int act_parse(const char *name)
{
	static const char *names[] = { "relu", "leaky_relu", "tanh", "sigmoid" };

	for (int i = 0; i < 4; i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

const char *act_name(act_kind a)
{
	switch (a) {
	case ACT_RELU: return "relu";
	case ACT_LEAKY_RELU: return "leaky_relu";
	case ACT_TANH: return "tanh";
	case ACT_SIGMOID: return "sigmoid";
	}
	return "?";
}

void act_apply(float *y, const float *x, size_t n, act_kind a)
{
	kvec()->act(y, x, n, a);
}

#define ACT_CHUNK 16384

void act_forward(float *out, const float *inp, size_t n, act_kind a)
{
	long chunks = (long)((n + ACT_CHUNK - 1) / ACT_CHUNK);

	#pragma omp parallel for schedule(static)
	for (long k = 0; k < chunks; k++) {
		size_t lo = (size_t)k * ACT_CHUNK, len = n - lo < ACT_CHUNK ? n - lo : ACT_CHUNK;
		act_apply(out + lo, inp + lo, len, a);
	}
}

void act_backward(float *dinp, const float *dout, const float *out, size_t n, act_kind a)
{
	long chunks = (long)((n + ACT_CHUNK - 1) / ACT_CHUNK);

	#pragma omp parallel for schedule(static)
	for (long k = 0; k < chunks; k++) {
		size_t lo = (size_t)k * ACT_CHUNK, len = n - lo < ACT_CHUNK ? n - lo : ACT_CHUNK;
		kvec()->act_grad(dinp + lo, dout + lo, out + lo, len, a);
	}
}

void bn_act_forward(float *out, float *mean, float *invstd, float *running_mean,
		    float *running_var, const float *inp, const float *gamma,
		    const float *beta, int C, size_t P, int train, act_kind a)
{
	#pragma omp parallel for schedule(static)
	for (int c = 0; c < C; c++) {
		const float *x = inp + c * P;
		float *y = out + c * P, scale, shift;
		bn_channel(c, mean, invstd, running_mean, running_var, x, gamma, beta, P,
			   train, &scale, &shift);
		for (size_t lo = 0; lo < P; lo += ACT_CHUNK) {
			size_t len = P - lo < ACT_CHUNK ? P - lo : ACT_CHUNK;
			kvec()->affine(y + lo, x + lo, len, scale, shift);
			kvec()->act(y + lo, y + lo, len, a);
		}
	}
}

void bn_act_backward(float *dinp, float *dgamma, float *dbeta, float *dsum, const float *dout,
		     const float *inp, const float *out, const float *mean,
		     const float *invstd, const float *gamma, int C, size_t P, act_kind a)
{
	#pragma omp parallel for schedule(static)
	for (int c = 0; c < C; c++) {
		kvec()->act_grad(dinp + c * P, dout + c * P, out + c * P, P, a);
		double s = bn_channel_backward(dinp + c * P, dgamma + c, dbeta + c, dinp + c * P,
					       inp + c * P, mean[c], invstd[c], gamma[c], P);
		if (dsum)
			dsum[c] += (float)s;
	}
}

void concat_forward(float *out, const float *a, const float *b, int Ca, int Cb, size_t P)
{
	if (out != a)
		memmove(out, a, (size_t)Ca * P * sizeof(float));
	if (out + (size_t)Ca * P != b)
		memmove(out + (size_t)Ca * P, b, (size_t)Cb * P * sizeof(float));
}

void concat_backward(float *da, float *db, const float *dout, int Ca, int Cb, size_t P)
{
	if (da != dout)
		memmove(da, dout, (size_t)Ca * P * sizeof(float));
	if (db != dout + (size_t)Ca * P)
		memmove(db, dout + (size_t)Ca * P, (size_t)Cb * P * sizeof(float));
}
