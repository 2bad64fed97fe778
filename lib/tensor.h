/* tensor.h: libtensor, the one library every segpipe tool links. */
#ifndef SEGPIPE_TENSOR_H
#define SEGPIPE_TENSOR_H

#include "util.h"
#include "atomic.h"
#include "stream.h"
#include "terminal.h"
#include "cli.h"
#include "otsu.h"
#include "epochs.h"

#endif
