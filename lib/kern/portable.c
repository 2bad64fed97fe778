/* portable.c: the microkernel for any x86-64 (plain C; the compiler's
 * baseline vectors), MR 4 x NR 16. Also the emulated bf16 path. */
#include "ukr.h"

#define MR 4
#define NR 16

static void ukr(int kc, const void *Ap, const void *Bp, long ldb, float *C, long ldc, int acc,
		int mr, int nr)
{
	(void)mr;
	(void)nr;
	const float *a = Ap, *b = Bp;
	float c[MR][NR] = { { 0 } };

	for (int k = 0; k < kc; k++, a += MR, b += ldb)
		for (int r = 0; r < MR; r++)
			for (int j = 0; j < NR; j++)
				c[r][j] += a[r] * b[j];
	for (int r = 0; r < MR; r++)
		for (int j = 0; j < NR; j++)
			C[r * ldc + j] = acc ? C[r * ldc + j] + c[r][j] : c[r][j];
}

const kern_ukr kern_portable_f32 = {
	.name = "portable", .mr = MR, .nr = NR, .kalign = 1, .a_fmt = PACK_F32, .b_fmt = PACK_F32,
	.ukr = ukr, .direct_b = 1,
};
const kern_ukr kern_portable_bf16 = {
	.name = "portable", .mr = MR, .nr = NR, .kalign = 1, .a_fmt = PACK_F32_BF16,
	.b_fmt = PACK_F32_BF16, .ukr = ukr,
};
