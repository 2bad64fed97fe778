/* fuzz_stream: the stream readers (npy, IDX, netpbm; plain or gzip) through
 * input_open/input_read, then the same bytes through dataset_load (the
 * uint8 path). Every sample is read; the values are summed so the reads
 * cannot be optimised away and uninitialised values would show. */
#include "harness.h"
#include "stream.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_setup();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[32];
	int fd = fuzz_file(data, size, path);
	input *volatile in = NULL;
	float *volatile x = NULL;
	volatile float sum = 0;

	if (setjmp(fuzz_back) == 0) {
		in = input_open(path);
		x = xmalloc_array((size_t)input_size(in), sizeof(float));
		while (input_read(in, x, ROLE_INTENSITY))
			for (int64_t i = 0; i < input_size(in); i++)
				sum += x[i];
	}
	input_abandon();   /* input_open died half way */
	input_close(in);
	free(x);

	if (setjmp(fuzz_back) == 0) {
		dataset *d = dataset_load(path);
		float *y = xmalloc_array((size_t)d->size, sizeof(float));
		for (int64_t i = 0; i < d->n; i++) {
			dataset_get(d, i, y, ROLE_RAW);
			sum += y[0] + y[d->size - 1];
		}
		free(y);
		dataset_free(d);
	}
	input_abandon();
	close(fd);
	return 0;
}
