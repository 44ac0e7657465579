#ifndef DDPG_CSHIMS_H
#define DDPG_CSHIMS_H

/// glibc's sincos: both values in one call, bit-identical to sin() and cos()
/// (the same kernels), which Swift's Glibc module does not expose.
void ddpg_sincos(double x, double *sine, double *cosine);

/// prctl(PR_SET_PDEATHSIG, signal): the kernel sends `signal` to this process
/// when its parent dies. Returns 0 on success, -1 where unsupported.
int ddpg_set_parent_death_signal(int signal);

#endif
