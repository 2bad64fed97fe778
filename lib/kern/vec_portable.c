/* vec_portable.c: the vector primitives (vecops.h) compiled for portable. */
#define KERN_VEC_NAME kern_vec_portable
#define KERN_VEC_LABEL "portable"
#include "vecops.h"
