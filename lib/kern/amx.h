/* amx.h: the AMX tile configuration, one place for the kernels and peak.
 *
 * gcc 12's _tile_loadconfig hands ldtilecfg only the first 8 bytes of the
 * configuration as its memory operand, so at -O2 the stores of the column
 * widths and row counts can be dropped as dead, the tiles stay
 * unconfigured and the first tile instruction faults (SIGILL). Here the
 * whole 64-byte block is the operand. */
#ifndef AMX_H
#define AMX_H

#include <stdint.h>
#include <string.h>

typedef struct {
	uint8_t palette, start_row, reserved[14];
	uint16_t colsb[16];
	uint8_t rows[16];
} __attribute__((packed, aligned(64))) amx_config;

/* amx_configure: palette 1, tiles 0..ntiles-1 of 16 rows x 64 bytes */
static inline void amx_configure(int ntiles)
{
	amx_config cfg;

	memset(&cfg, 0, sizeof cfg);
	cfg.palette = 1;
	for (int t = 0; t < ntiles && t < 8; t++) {
		cfg.colsb[t] = 64;
		cfg.rows[t] = 16;
	}
	__asm__ volatile("ldtilecfg %0" : : "m"(cfg));
}

#endif
