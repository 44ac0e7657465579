// Element-wise and narrow-matrix kernels of the networks, in C so that each is
// compiled for AVX-512, AVX2/FMA and baseline x86-64 and the best one is bound
// when the library loads (function multi-versioning); Swift's own SIMD types
// compile to the baseline only. Row-major matrices with a row stride.
#ifndef DDPG_CKERNELS_H
#define DDPG_CKERNELS_H

#include <stddef.h>

/// One Adam step over n parameters, with coupled L2 decay (see Adam.swift).
void ddpg_adam_step(float *w, const float *g, float *m, float *v, ptrdiff_t n, float beta1, float beta2, float epsilon,
                    float decay, float step_size, float inv_sqrt_correction2);
/// One RMSprop step over n parameters, PyTorch's arithmetic: v ← α·v + (1 − α)·g², w ← w − lr·g/(√v + ε) (see RMSprop.swift).
void ddpg_rmsprop_step(float *w, const float *g, float *v, ptrdiff_t n, float alpha, float epsilon, float learning_rate);
/// target = (1 − rate)·target + rate·source.
void ddpg_blend(float *target, const float *source, float rate, ptrdiff_t n);
/// y[r][j] = f(y[r][j] + bias[j]); activation 0 identity, 1 ReLU, 2 tanh (a rational approximation within a few ulps).
void ddpg_bias_activation(float *y, ptrdiff_t rows, ptrdiff_t columns, ptrdiff_t stride, const float *bias, int activation);
/// g[r][j] ·= f′ from the outputs y: ReLU [y > 0], tanh 1 − y²; activation as above (0: unchanged).
/// If `column_sums` is not null, it receives Σ_r g[r][j] afterwards (the bias gradient), from the same pass.
void ddpg_activation_backward(float *g, ptrdiff_t g_stride, const float *y, ptrdiff_t y_stride, ptrdiff_t rows, ptrdiff_t columns,
                              int activation, float *column_sums);
/// y = factor · x row by row: destination[r][j] = factor · source[r][j].
void ddpg_scaled_copy(const float *source, ptrdiff_t source_stride, float *destination, ptrdiff_t destination_stride,
                      ptrdiff_t rows, ptrdiff_t columns, float factor);
/// c = alpha·a·b + beta·c for an inner dimension k ≤ 4 (a: m × k, b: k × n).
void ddpg_narrow_inner_product(const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                               ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha, float beta);
/// c = alpha·aᵀ·b + beta·c for m ≤ 4 output rows (a: k × m, b: k × n).
void ddpg_narrow_transposed_product(const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                                    ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha, float beta);
/// Layer normalization of each row of z (rows × m, row stride `stride`) after adding `bias`: keeps ẑ in `saved`
/// (rows × m) and 1/σ per row in `inverse`, and leaves γ·ẑ (`gain`) in z (see Normalization.swift).
void ddpg_layer_norm_forward(float *z, ptrdiff_t rows, ptrdiff_t m, ptrdiff_t stride, const float *bias, const float *gain,
                             float *saved, float *inverse, float epsilon);
/// Batch normalization of z after adding `bias`: the batch's moments per unit when `training` (folded into the running
/// ones when `updating`), else the running ones; 1/σ per unit in `inverse`, `means` is scratch of m values.
/// With `corrections` (training only), batch renormalization: r = σ_B/σ clipped to [1/r_max, r_max] and
/// d = (μ_B − μ)/σ clipped to ±d_max go into `corrections` (m of each), ẑ = r·(z − μ_B)/σ_B + d, and `inverse` holds r/σ_B.
void ddpg_batch_norm_forward(float *z, ptrdiff_t rows, ptrdiff_t m, ptrdiff_t stride, const float *bias, const float *gain,
                             float *saved, float *inverse, float *means, float *running_mean, float *running_variance,
                             int training, int updating, float momentum, float epsilon, float r_max, float d_max,
                             float *corrections);
/// dL/da into dL/dz in place for layer normalization; Σ dL/da·ẑ and Σ dL/dz per unit into the gradients when not null.
void ddpg_layer_norm_backward(float *delta, ptrdiff_t rows, ptrdiff_t m, ptrdiff_t stride, const float *gain, const float *saved,
                              const float *inverse, float *gain_gradient, float *bias_gradient);
/// The same for batch normalization, with the batch's moments or (`batch_statistics` 0) constant running ones;
/// `corrections` are the forward pass's r and d when it renormalized, else null; `scratch` holds 2m values.
void ddpg_batch_norm_backward(float *delta, ptrdiff_t rows, ptrdiff_t m, ptrdiff_t stride, const float *gain, const float *saved,
                              const float *inverse, int batch_statistics, const float *corrections, float *scratch,
                              float *gain_gradient, float *bias_gradient);
/// Whether all n values are finite.
int ddpg_all_finite(const float *x, ptrdiff_t n);

/// With `flush` non-zero, the calling thread treats denormal floats as zero, as results and as operands
/// (x86-64's FTZ and DAZ, ARM's FZ); with 0, as IEEE 754 says. Returns 0 where the architecture has no such mode.
int ddpg_flush_denormals_to_zero(int flush);

#endif
