/* nn_loss.c: losses over logits. Each returns the mean loss and writes the
 * gradient of that mean into dlogits. Sums are taken per fixed chunk of
 * LOSS_CHUNK elements in double and combined in chunk order, so the result
 * does not depend on the thread count. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"

#define LOSS_CHUNK 4096

int loss_parse(const char *name)
{
	if (strcmp(name, "bce") == 0)
		return LOSS_BCE;
	if (strcmp(name, "mse") == 0)
		return LOSS_MSE;
	if (strcmp(name, "ce") == 0)
		return LOSS_CE;
	return -1;
}

const char *loss_name(loss_kind k)
{
	switch (k) {
	case LOSS_BCE: return "bce";
	case LOSS_MSE: return "mse";
	case LOSS_CE: return "ce";
	}
	return "?";
}

static float sum_chunks(double *part, long chunks, double count)
{
	double s = 0.0;

	for (long k = 0; k < chunks; k++)
		s += part[k];
	free(part);
	return (float)(s / count);
}

float bce_loss(float *dlogits, const float *logits, const float *target, size_t n)
{
	long chunks = (long)((n + LOSS_CHUNK - 1) / LOSS_CHUNK);
	double *part = xcalloc(chunks, sizeof(double));
	float inv = 1.0f / (float)n;

	#pragma omp parallel for schedule(static)
	for (long k = 0; k < chunks; k++) {
		size_t lo = (size_t)k * LOSS_CHUNK, hi = lo + LOSS_CHUNK < n ? lo + LOSS_CHUNK : n;
		double s = 0.0;
		for (size_t i = lo; i < hi; i++) {
			float x = logits[i], y = target[i];
			float e = expf(-fabsf(x));
			s += (x > 0.0f ? x : 0.0f) - x * y + log1pf(e);
			/* sigmoid(x) without overflow: from e = exp(-|x|) */
			float sig = x >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
			dlogits[i] = (sig - y) * inv;
		}
		part[k] = s;
	}
	return sum_chunks(part, chunks, (double)n);
}

float mse_loss(float *dlogits, const float *logits, const float *target, size_t n)
{
	long chunks = (long)((n + LOSS_CHUNK - 1) / LOSS_CHUNK);
	double *part = xcalloc(chunks, sizeof(double));
	float k2 = 2.0f / (float)n;

	#pragma omp parallel for schedule(static)
	for (long k = 0; k < chunks; k++) {
		size_t lo = (size_t)k * LOSS_CHUNK, hi = lo + LOSS_CHUNK < n ? lo + LOSS_CHUNK : n;
		double s = 0.0;
		for (size_t i = lo; i < hi; i++) {
			float d = logits[i] - target[i];
			s += (double)d * d;
			dlogits[i] = k2 * d;
		}
		part[k] = s;
	}
	return sum_chunks(part, chunks, (double)n);
}

float softmax_ce_loss(float *dlogits, const float *logits, const uint8_t *target,
		      int K, size_t P)
{
	long chunks = (long)((P + LOSS_CHUNK - 1) / LOSS_CHUNK);
	double *part = xcalloc(chunks, sizeof(double));
	float inv = 1.0f / (float)P;
	int bad = -1;

	#pragma omp parallel for schedule(static)
	for (long k = 0; k < chunks; k++) {
		size_t lo = (size_t)k * LOSS_CHUNK, hi = lo + LOSS_CHUNK < P ? lo + LOSS_CHUNK : P;
		double s = 0.0;
		for (size_t i = lo; i < hi; i++) {
			int t = target[i];
			if (t >= K) {
				#pragma omp atomic write
				bad = t;
				t = 0;
			}
			float mx = logits[i];
			for (int c = 1; c < K; c++)
				if (logits[c * P + i] > mx)
					mx = logits[c * P + i];
			float z = 0.0f;
			for (int c = 0; c < K; c++) {
				float e = expf(logits[c * P + i] - mx);
				dlogits[c * P + i] = e;
				z += e;
			}
			s += logf(z) - (logits[t * P + i] - mx);
			float iz = inv / z;
			for (int c = 0; c < K; c++)
				dlogits[c * P + i] *= iz;
			dlogits[t * P + i] -= inv;
		}
		part[k] = s;
	}
	if (bad >= 0)
		die("class %d in the target, but the model has %d classes", bad, K);
	return sum_chunks(part, chunks, (double)P);
}
