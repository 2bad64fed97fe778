/* vec_avx2.c: the vector primitives (vecops.h) compiled for avx2. */
#define KERN_VEC_NAME kern_vec_avx2
#define KERN_VEC_LABEL "avx2"
#include "vecops.h"
