/* otsu.c: Otsu's threshold. */
#include <math.h>

#include "otsu.h"

int otsu_threshold(const int64_t hist[256])
{
	double total = 0, sum = 0, w0 = 0, sum0 = 0, best = -1;
	int t_best = 255;

	for (int i = 0; i < 256; i++) {
		total += hist[i];
		sum += (double)i * hist[i];
	}
	for (int t = 0; t < 255; t++) {
		double w1, m0, m1, between;

		w0 += hist[t];
		sum0 += (double)t * hist[t];
		w1 = total - w0;
		if (w0 == 0 || w1 == 0)
			continue;
		m0 = sum0 / w0;
		m1 = (sum - sum0) / w1;
		between = w0 * w1 * (m0 - m1) * (m0 - m1);
		if (between > best) {
			best = between;
			t_best = t;
		}
	}
	return t_best;
}

int quantise8(float v)
{
	if (!(v > 0))
		return 0;
	if (v >= 1)
		return 255;
	return (int)lrintf(v * 255);
}
