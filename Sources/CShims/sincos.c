#define _GNU_SOURCE
#include <math.h>
#include "CShims.h"

void ddpg_sincos(double x, double *sine, double *cosine) {
    sincos(x, sine, cosine);
}
