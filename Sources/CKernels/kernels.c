#include "ckernels.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

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
