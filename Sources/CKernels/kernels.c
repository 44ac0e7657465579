#include "ckernels.h"
#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

// One version per instruction set, bound by an ifunc when the library loads. The
// loops are plain so that the compiler vectorizes each version to its width.
#if defined(__x86_64__) && defined(__linux__)
#define MULTIVERSIONED __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define MULTIVERSIONED
#endif

MULTIVERSIONED
void ddpg_adam_step(float *restrict w, const float *restrict g, float *restrict m, float *restrict v, ptrdiff_t n, float beta1,
                    float beta2, float epsilon, float decay, float step_size, float inv_sqrt_correction2) {
    const float c1 = 1 - beta1, c2 = 1 - beta2;
    for (ptrdiff_t i = 0; i < n; i++) {
        const float weight = w[i];
        const float grad = g[i] + decay * weight;
        const float mi = beta1 * m[i] + c1 * grad;
        const float vi = beta2 * v[i] + c2 * grad * grad;
        m[i] = mi;
        v[i] = vi;
        w[i] = weight - step_size * mi / (sqrtf(vi) * inv_sqrt_correction2 + epsilon);
    }
}

MULTIVERSIONED
void ddpg_rmsprop_step(float *restrict w, const float *restrict g, float *restrict v, ptrdiff_t n, float alpha, float epsilon,
                       float learning_rate) {
    const float keep = 1 - alpha;
    for (ptrdiff_t i = 0; i < n; i++) {
        const float grad = g[i];
        const float vi = alpha * v[i] + keep * grad * grad;
        v[i] = vi;
        w[i] -= learning_rate * grad / (sqrtf(vi) + epsilon);
    }
}

MULTIVERSIONED
void ddpg_blend(float *restrict target, const float *restrict source, float rate, ptrdiff_t n) {
    const float keep = 1 - rate;
    for (ptrdiff_t i = 0; i < n; i++) target[i] = keep * target[i] + rate * source[i];
}

// tanh as a rational function of x (Eigen's generic_fast_tanh_float, used by TensorFlow): a 13th-degree odd
// polynomial over a 6th-degree even one, on x clamped to ±7.9053 (where tanh is 1 in float). It has no branch
// and no libm call, so each version vectorizes to its width; glibc's tanhf does neither, and took 60% of an
// on-policy run's time. Its error against tanh in double is within a few units in the last place (tested).
static inline float rational_tanhf(float x) {
    const float bound = 7.90531110763549805f;
    const float c = x < -bound ? -bound : (x > bound ? bound : x);
    const float c2 = c * c;
    float p = -2.76076847742355e-16f;
    p = p * c2 + 2.00018790482477e-13f;
    p = p * c2 + -8.60467152213735e-11f;
    p = p * c2 + 5.12229709037114e-08f;
    p = p * c2 + 1.48572235717979e-05f;
    p = p * c2 + 6.37261928875436e-04f;
    p = p * c2 + 4.89352455891786e-03f;
    float q = 1.19825839466702e-06f;
    q = q * c2 + 1.18534705686654e-04f;
    q = q * c2 + 2.26843463243900e-03f;
    q = q * c2 + 4.89352518554385e-03f;
    return c * p / q;
}

MULTIVERSIONED
void ddpg_bias_activation(float *restrict y, ptrdiff_t rows, ptrdiff_t columns, ptrdiff_t stride, const float *restrict bias,
                          int activation) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        float *restrict row = y + r * stride;
        switch (activation) {
        case 1:
            for (ptrdiff_t j = 0; j < columns; j++) {
                const float value = row[j] + bias[j];
                row[j] = value > 0 ? value : 0;
            }
            break;
        case 2:
            for (ptrdiff_t j = 0; j < columns; j++) row[j] = rational_tanhf(row[j] + bias[j]);
            break;
        default:
            for (ptrdiff_t j = 0; j < columns; j++) row[j] += bias[j];
        }
    }
}

MULTIVERSIONED
void ddpg_activation_backward(float *restrict g, ptrdiff_t g_stride, const float *restrict y, ptrdiff_t y_stride, ptrdiff_t rows,
                              ptrdiff_t columns, int activation, float *restrict column_sums) {
    if (column_sums) {
        for (ptrdiff_t j = 0; j < columns; j++) column_sums[j] = 0;
    }
    for (ptrdiff_t r = 0; r < rows; r++) {
        float *restrict grad = g + r * g_stride;
        const float *restrict out = y + r * y_stride;
        if (activation == 1) {
            for (ptrdiff_t j = 0; j < columns; j++) grad[j] = out[j] > 0 ? grad[j] : 0;
        } else if (activation == 2) {
            for (ptrdiff_t j = 0; j < columns; j++) grad[j] *= 1 - out[j] * out[j];
        }
        if (column_sums) {
            for (ptrdiff_t j = 0; j < columns; j++) column_sums[j] += grad[j];
        }
    }
}

MULTIVERSIONED
void ddpg_scaled_copy(const float *restrict source, ptrdiff_t source_stride, float *restrict destination, ptrdiff_t destination_stride,
                      ptrdiff_t rows, ptrdiff_t columns, float factor) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *restrict from = source + r * source_stride;
        float *restrict to = destination + r * destination_stride;
        for (ptrdiff_t j = 0; j < columns; j++) to[j] = factor * from[j];
    }
}

// A layer fed by a few inputs (Pendulum's 3 observations): each output row is a
// combination of k ≤ 4 rows of b, computed in one pass instead of sgemm's packing.
MULTIVERSIONED
void ddpg_narrow_inner_product(const float *restrict a, ptrdiff_t lda, const float *restrict b, ptrdiff_t ldb, float *restrict c,
                               ptrdiff_t ldc, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha, float beta) {
    // Unused terms get a zero coefficient (and repeat the last row of b) so one loop serves k = 1…4.
    const float *b0 = b, *b1 = b + (k > 1 ? 1 : 0) * ldb, *b2 = b + (k > 2 ? 2 : k - 1) * ldb, *b3 = b + (k > 3 ? 3 : k - 1) * ldb;
    for (ptrdiff_t r = 0; r < m; r++) {
        const float *x = a + r * lda;
        const float f0 = alpha * x[0], f1 = k > 1 ? alpha * x[1] : 0, f2 = k > 2 ? alpha * x[2] : 0, f3 = k > 3 ? alpha * x[3] : 0;
        float *restrict out = c + r * ldc;
        if (beta == 0) {
            for (ptrdiff_t j = 0; j < n; j++) out[j] = f0 * b0[j] + f1 * b1[j] + f2 * b2[j] + f3 * b3[j];
        } else {
            for (ptrdiff_t j = 0; j < n; j++) out[j] = f0 * b0[j] + f1 * b1[j] + f2 * b2[j] + f3 * b3[j] + beta * out[j];
        }
    }
}

// The weight gradient of such a layer: m ≤ 4 output rows, each a sum of k rows of b.
MULTIVERSIONED
void ddpg_narrow_transposed_product(const float *restrict a, ptrdiff_t lda, const float *restrict b, ptrdiff_t ldb, float *restrict c,
                                    ptrdiff_t ldc, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha, float beta) {
    for (ptrdiff_t i = 0; i < m; i++) {
        float *restrict out = c + i * ldc;
        if (beta == 0) {
            for (ptrdiff_t j = 0; j < n; j++) out[j] = 0;
        } else {
            for (ptrdiff_t j = 0; j < n; j++) out[j] *= beta;
        }
    }
    for (ptrdiff_t p = 0; p < k; p++) {
        const float *restrict row = b + p * ldb;
        for (ptrdiff_t i = 0; i < m; i++) {
            const float factor = alpha * a[p * lda + i];
            float *restrict out = c + i * ldc;
            for (ptrdiff_t j = 0; j < n; j++) out[j] += factor * row[j];
        }
    }
}

MULTIVERSIONED
int ddpg_all_finite(const float *restrict x, ptrdiff_t n) {
    // NaN and infinities have an all-ones exponent; an integer OR vectorizes where a float sum may not be reordered.
    uint32_t bad = 0;
    for (ptrdiff_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, x + i, sizeof bits);
        bad |= (bits & 0x7F800000u) == 0x7F800000u;
    }
    return bad == 0;
}

// Normalization of a layer's pre-activation z (+ bias): ẑ = (z − mean) / √(variance + ε), kept in `saved` (rows × m,
// dense) with 1/σ in `inverse` for the backward pass, and γ·ẑ left in z. Layer normalization takes its moments over
// each row's units: sums across a row, which the compiler vectorizes only when it may reorder them, hence the pragma.
MULTIVERSIONED
void ddpg_layer_norm_forward(float *restrict z, ptrdiff_t rows, ptrdiff_t m, ptrdiff_t stride, const float *restrict bias,
                             const float *restrict gain, float *restrict saved, float *restrict inverse, float epsilon) {
#pragma clang fp reassociate(on)
    const float inverse_m = 1.0f / (float)m;
    for (ptrdiff_t r = 0; r < rows; r++) {
        float *restrict row = z + r * stride;
        float sum = 0;
        for (ptrdiff_t j = 0; j < m; j++) {
            const float value = row[j] + bias[j];
            row[j] = value;
            sum += value;
        }
        const float mean = sum * inverse_m;
        float squares = 0;
        for (ptrdiff_t j = 0; j < m; j++) {
            const float d = row[j] - mean;
            squares += d * d;
        }
        const float s = 1.0f / sqrtf(squares * inverse_m + epsilon);
        inverse[r] = s;
        float *restrict kept = saved + r * m;
        for (ptrdiff_t j = 0; j < m; j++) {
            const float x = (row[j] - mean) * s;
            kept[j] = x;
            row[j] = gain[j] * x;
        }
    }
}

// Batch normalization: moments per unit over the batch (column sums, vectorized across the row) when `training`,
// folding them into the running ones (PyTorch's momentum, unbiased variance) when `updating`; else the running ones.
// `means` is scratch for m values; `inverse` receives m values of 1/σ.
MULTIVERSIONED
void ddpg_batch_norm_forward(float *restrict z, ptrdiff_t rows, ptrdiff_t m, ptrdiff_t stride, const float *restrict bias,
                             const float *restrict gain, float *restrict saved, float *restrict inverse, float *restrict means,
                             float *restrict running_mean, float *restrict running_variance, int training, int updating,
                             float momentum, float epsilon, float r_max, float d_max, float *restrict corrections) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        float *restrict row = z + r * stride;
        for (ptrdiff_t j = 0; j < m; j++) row[j] += bias[j];
    }
    if (training) {
        for (ptrdiff_t j = 0; j < m; j++) means[j] = 0, inverse[j] = 0;
        for (ptrdiff_t r = 0; r < rows; r++) {
            const float *restrict row = z + r * stride;
            for (ptrdiff_t j = 0; j < m; j++) means[j] += row[j];
        }
        const float inverse_n = 1.0f / (float)rows, unbiased = rows > 1 ? (float)rows / (float)(rows - 1) : 1.0f;
        for (ptrdiff_t j = 0; j < m; j++) means[j] *= inverse_n;
        for (ptrdiff_t r = 0; r < rows; r++) {
            const float *restrict row = z + r * stride;
            for (ptrdiff_t j = 0; j < m; j++) {
                const float d = row[j] - means[j];
                inverse[j] += d * d;
            }
        }
        for (ptrdiff_t j = 0; j < m; j++) {
            const float variance = inverse[j] * inverse_n, deviation = sqrtf(variance + epsilon);
            float r = 1, shift = 0;
            if (corrections) {
                // Batch renormalization: r and d, from the running moments before this batch moves them, are constants
                // to the backward pass; ẑ = r·(z − μ)/σ + d is (z − (μ − d·σ/r))·(r/σ), the form the last loop computes.
                const float running_deviation = sqrtf((running_variance[j] > 0 ? running_variance[j] : 0) + epsilon);
                r = fminf(fmaxf(deviation / running_deviation, 1.0f / r_max), r_max);
                shift = fminf(fmaxf((means[j] - running_mean[j]) / running_deviation, -d_max), d_max);
                corrections[j] = r, corrections[m + j] = shift;
            }
            if (updating) {
                running_mean[j] = (1 - momentum) * running_mean[j] + momentum * means[j];
                running_variance[j] = (1 - momentum) * running_variance[j] + momentum * variance * unbiased;
            }
            means[j] -= shift * deviation / r;
            inverse[j] = r / deviation;
        }
    } else {
        for (ptrdiff_t j = 0; j < m; j++) {
            means[j] = running_mean[j];
            inverse[j] = 1.0f / sqrtf((running_variance[j] > 0 ? running_variance[j] : 0) + epsilon);
        }
    }
    for (ptrdiff_t r = 0; r < rows; r++) {
        float *restrict row = z + r * stride;
        float *restrict kept = saved + r * m;
        for (ptrdiff_t j = 0; j < m; j++) {
            const float x = (row[j] - means[j]) * inverse[j];
            kept[j] = x;
            row[j] = gain[j] * x;
        }
    }
}

// The backward passes turn dL/da (a = γ·ẑ + β, in `delta`) into dL/dz in place:
// dL/dz = (1/σ)(dẑ − mean(dẑ) − ẑ·mean(dẑ·ẑ)) with dẑ = γ·dL/da, the means over what was normalized together.
// When not null, `gain_gradient` receives Σ dL/da·ẑ and `bias_gradient` Σ dL/dz, per unit.
MULTIVERSIONED
void ddpg_layer_norm_backward(float *restrict delta, ptrdiff_t rows, ptrdiff_t m, ptrdiff_t stride, const float *restrict gain,
                              const float *restrict saved, const float *restrict inverse, float *restrict gain_gradient,
                              float *restrict bias_gradient) {
#pragma clang fp reassociate(on)
    const float inverse_m = 1.0f / (float)m;
    if (gain_gradient) for (ptrdiff_t j = 0; j < m; j++) gain_gradient[j] = 0;
    if (bias_gradient) for (ptrdiff_t j = 0; j < m; j++) bias_gradient[j] = 0;
    for (ptrdiff_t r = 0; r < rows; r++) {
        float *restrict row = delta + r * stride;
        const float *restrict kept = saved + r * m;
        if (gain_gradient) for (ptrdiff_t j = 0; j < m; j++) gain_gradient[j] += row[j] * kept[j];
        float mean = 0, correlation = 0;
        for (ptrdiff_t j = 0; j < m; j++) {
            const float d = row[j] * gain[j];
            row[j] = d;
            mean += d;
            correlation += d * kept[j];
        }
        mean *= inverse_m;
        correlation *= inverse_m;
        const float s = inverse[r];
        for (ptrdiff_t j = 0; j < m; j++) row[j] = s * (row[j] - mean - kept[j] * correlation);
        if (bias_gradient) for (ptrdiff_t j = 0; j < m; j++) bias_gradient[j] += row[j];
    }
}

// Batch normalization's backward; with `batch_statistics` 0 the running moments were constants, and ẑ is affine in z.
// `scratch` holds 2m values.
MULTIVERSIONED
void ddpg_batch_norm_backward(float *restrict delta, ptrdiff_t rows, ptrdiff_t m, ptrdiff_t stride, const float *restrict gain,
                              const float *restrict saved, const float *restrict inverse, int batch_statistics,
                              const float *restrict corrections, float *restrict scratch, float *restrict gain_gradient,
                              float *restrict bias_gradient) {
    if (gain_gradient) for (ptrdiff_t j = 0; j < m; j++) gain_gradient[j] = 0;
    if (bias_gradient) for (ptrdiff_t j = 0; j < m; j++) bias_gradient[j] = 0;
    float *restrict means = scratch, *restrict correlations = scratch + m;
    if (!batch_statistics) {
        for (ptrdiff_t r = 0; r < rows; r++) {
            float *restrict row = delta + r * stride;
            const float *restrict kept = saved + r * m;
            if (gain_gradient) for (ptrdiff_t j = 0; j < m; j++) gain_gradient[j] += row[j] * kept[j];
            for (ptrdiff_t j = 0; j < m; j++) row[j] *= gain[j] * inverse[j];
            if (bias_gradient) for (ptrdiff_t j = 0; j < m; j++) bias_gradient[j] += row[j];
        }
        return;
    }
    for (ptrdiff_t j = 0; j < m; j++) means[j] = 0, correlations[j] = 0;
    for (ptrdiff_t r = 0; r < rows; r++) {
        float *restrict row = delta + r * stride;
        const float *restrict kept = saved + r * m;
        if (gain_gradient) for (ptrdiff_t j = 0; j < m; j++) gain_gradient[j] += row[j] * kept[j];
        for (ptrdiff_t j = 0; j < m; j++) {
            const float d = row[j] * gain[j];
            row[j] = d;
            means[j] += d;
        }
        if (corrections) {
            // Renormalized: the statistics' terms act on the batch-normalized (ẑ − d)/r; `inverse` already holds r/σ.
            for (ptrdiff_t j = 0; j < m; j++) correlations[j] += row[j] * (kept[j] - corrections[m + j]) / corrections[j];
        } else {
            for (ptrdiff_t j = 0; j < m; j++) correlations[j] += row[j] * kept[j];
        }
    }
    const float inverse_n = 1.0f / (float)rows;
    for (ptrdiff_t j = 0; j < m; j++) means[j] *= inverse_n, correlations[j] *= inverse_n;
    for (ptrdiff_t r = 0; r < rows; r++) {
        float *restrict row = delta + r * stride;
        const float *restrict kept = saved + r * m;
        if (corrections) {
            for (ptrdiff_t j = 0; j < m; j++)
                row[j] = inverse[j] * (row[j] - means[j] - (kept[j] - corrections[m + j]) / corrections[j] * correlations[j]);
        } else {
            for (ptrdiff_t j = 0; j < m; j++) row[j] = inverse[j] * (row[j] - means[j] - kept[j] * correlations[j]);
        }
        if (bias_gradient) for (ptrdiff_t j = 0; j < m; j++) bias_gradient[j] += row[j];
    }
}

int ddpg_flush_denormals_to_zero(int flush) {
#if defined(__x86_64__)
    // MXCSR bit 15 (FTZ) writes denormal results as 0; bit 6 (DAZ) reads denormal operands as 0.
    const unsigned int bits = 0x8040;
    _mm_setcsr(flush ? (_mm_getcsr() | bits) : (_mm_getcsr() & ~bits));
    return 1;
#elif defined(__aarch64__)
    // FPCR.FZ (bit 24) does both.
    uint64_t fpcr;
    const uint64_t bit = UINT64_C(1) << 24;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    __asm__ volatile("msr fpcr, %0" : : "r"(flush ? (fpcr | bit) : (fpcr & ~bit)));
    return 1;
#else
    return 0;
#endif
}
