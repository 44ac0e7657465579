#ifndef DDPG_CMATH_H
#define DDPG_CMATH_H

/// glibc's sincos: both values in one call, bit-identical to sin() and cos()
/// (the same kernels), which Swift's Glibc module does not expose.
void ddpg_sincos(double x, double *sine, double *cosine);

#endif
