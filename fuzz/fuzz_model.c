/* fuzz_model: model_load, the model file reader (it reports errors rather
 * than dying; die() only on running out of memory). Each input is loaded
 * twice: as it is, and with its last 4 bytes set to the right crc32, so the
 * mutations also reach what lies past the checksum test. */
#define _GNU_SOURCE
#include <string.h>
#include <zlib.h>

#include "harness.h"
#include "model.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_setup();
	return 0;
}

static void load(const uint8_t *data, size_t size)
{
	char path[32], err[600];
	int fd = fuzz_file(data, size, path);
	model m;

	if (setjmp(fuzz_back) == 0) {
		if (model_load(&m, path, err, sizeof err) == 0) {
			volatile float sum = 0;
			for (size_t i = 0; i < m.nparams; i++)
				sum += m.params[i];
			for (size_t i = 0; i < m.nstats; i++)
				sum += m.stats[i];
		} else if (err[0] == '\0' || strchr(err, '\n')) {
			abort();   /* a failure says what is wrong, in one line */
		}
		model_free(&m);
	}
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	load(data, size);
	if (size >= 4) {
		uint8_t *fixed = malloc(size);
		uLong crc = crc32_z(crc32(0L, Z_NULL, 0), data, size - 4);

		memcpy(fixed, data, size - 4);
		for (int i = 0; i < 4; i++)
			fixed[size - 4 + i] = (uint8_t)(crc >> 8 * i);
		load(fixed, size);
		free(fixed);
	}
	return 0;
}
