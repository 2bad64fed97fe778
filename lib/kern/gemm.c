/* gemm.c: kgemm (temporary: OpenBLAS, bf16 by rounding copies) */
#include <cblas.h>
#include <stdlib.h>

#include "kern.h"
#include "util.h"

void kgemm(int ta, int tb, int M, int N, int K, const float *A, int lda,
	   const float *B, int ldb, float beta, float *C, int ldc)
{
	if (M <= 0 || N <= 0)
		return;
	kern_init();
	cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
		    M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
}
