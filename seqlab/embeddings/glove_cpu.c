/* GloVe's training loop for the CPU, as Stanford GloVe's glove.c runs it.
 *
 * One call trains n entries of the co-occurrence matrix, given as parallel arrays rows, cols, log_x
 * (log X_ij) and f_x (the weight f(X_ij)), in their order (the caller gathers them in the epoch's
 * shuffled order, so that they are read one after the other, as glove.c reads its shuffled file). The entries are cut into one
 * contiguous slice per thread and the threads update the shared tables without locks, as
 * glove.c's threads do on their slices of the shuffled file; inside a thread every entry sees the
 * updates made before it. For entry (i, j), with w = weight[i], c = context[j]:
 *
 *   diff  = w . c + bias[i] + context_bias[j] - log X_ij,   fdiff = f(X_ij) diff,   cost += fdiff diff / 2
 *   per component d: s_w = eta clip(fdiff c[d]), s_c = eta clip(fdiff w[d]) (both from the old w, c),
 *                    w[d] -= s_w / sqrt(weight_gradsq[i][d]),   weight_gradsq[i][d] += s_w^2
 *                    c[d] -= s_c / sqrt(context_gradsq[j][d]), context_gradsq[j][d] += s_c^2
 *   biases:          bias[i] -= fdiff / sqrt(bias_gradsq[i]),  bias_gradsq[i] += fdiff^2 (no eta,
 *                    as glove.c), and the same for context_bias[j]
 *
 * which is glove.c's update (tests/embeddings/test_glove.py transcribes it), in float32.
 * Build: cc -O3 -fopenmp -shared -fPIC.
 */
#include <math.h>
#include <stdint.h>

#define AHEAD 8 /* entries ahead whose table rows are fetched into the cache */
#ifdef _OPENMP
#include <omp.h>
#endif

static inline float clip(float v, float limit) { return v > limit ? limit : (v < -limit ? -limit : v); }

/* Returns the summed cost (J/2) of the entries trained. */
double glove_train_block(float *weight, float *context, float *bias, float *context_bias,
                         float *weight_gradsq, float *context_gradsq, float *bias_gradsq,
                         float *context_bias_gradsq, int64_t dim,
                         const int64_t *rows, const int64_t *cols, const float *log_x, const float *f_x,
                         int64_t n, float eta, float grad_clip, int n_threads) {
    double cost = 0.0;
    if (n_threads < 1) n_threads = 1;
#pragma omp parallel for num_threads(n_threads) schedule(static) reduction(+ : cost)
    for (int64_t e = 0; e < n; e++) {
        if (e + AHEAD < n) {
            const int64_t ia = rows[e + AHEAD], ja = cols[e + AHEAD];
            __builtin_prefetch(weight + ia * dim, 1);
            __builtin_prefetch(context + ja * dim, 1);
            __builtin_prefetch(weight_gradsq + ia * dim, 1);
            __builtin_prefetch(context_gradsq + ja * dim, 1);
        }
        const int64_t i = rows[e], j = cols[e];
        float *w = weight + i * dim, *c = context + j * dim;
        float *gw = weight_gradsq + i * dim, *gc = context_gradsq + j * dim;
        float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
        for (int64_t d = 0; d < dim; d++) dot += w[d] * c[d];
        const float diff = dot + bias[i] + context_bias[j] - log_x[e];
        const float fdiff = f_x[e] * diff;
        cost += 0.5 * (double)fdiff * (double)diff;
        for (int64_t d = 0; d < dim; d++) {
            const float step_w = clip(fdiff * c[d], grad_clip) * eta;
            const float step_c = clip(fdiff * w[d], grad_clip) * eta;
            w[d] -= step_w / sqrtf(gw[d]);
            c[d] -= step_c / sqrtf(gc[d]);
            gw[d] += step_w * step_w;
            gc[d] += step_c * step_c;
        }
        bias[i] -= fdiff / sqrtf(bias_gradsq[i]);
        context_bias[j] -= fdiff / sqrtf(context_bias_gradsq[j]);
        bias_gradsq[i] += fdiff * fdiff;
        context_bias_gradsq[j] += fdiff * fdiff;
    }
    return cost;
}
