/* peak: the arithmetic peak of this machine, per unit, with 1 and N
 * threads (one loop per thread, each on its own core):
 *
 *   bench/peak [-j threads] [-s seconds]
 *
 * Prints peak<TAB>UNIT<TAB>threads<TAB>GFLOP/s for fp32-avx512, fp32-avx2,
 * bf16-avx512 and bf16-amx ("0 (not on this CPU)" where absent). */
#include <getopt.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "kern.h"
#include "util.h"

int main(int argc, char **argv)
{
	static const char *units[] = { "fp32-avx2", "fp32-avx512", "bf16-avx512", "bf16-amx" };
	int threads = 2, opt;
	double secs = 0.5;

	progname = "peak";
	while ((opt = getopt(argc, argv, "j:s:")) != -1)
		switch (opt) {
		case 'j': threads = atoi(optarg); break;
		case 's': secs = atof(optarg); break;
		default: fprintf(stderr, "usage: peak [-j threads] [-s seconds]\n"); return 2;
		}
	kern_init();
	for (int u = 0; u < 4; u++)
		for (int t = 1; t <= threads; t = t == 1 && threads > 1 ? threads : t + threads) {
			double sum = 0;
			#pragma omp parallel num_threads(t) reduction(+ : sum)
			sum += kern_peak_gflops(units[u], secs);
			if (sum > 0)
				printf("peak\t%s\t%d\t%.1f\n", units[u], t, sum);
			else
				printf("peak\t%s\t%d\t0 (not on this CPU)\n", units[u], t);
		}
	return 0;
}
