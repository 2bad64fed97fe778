/* vec_avx512.c: the vector primitives (vecops.h) compiled for avx512. */
#define KERN_VEC_NAME kern_vec_avx512
#define KERN_VEC_LABEL "avx512"
#include "vecops.h"
