/* word2vec's inner loop for the CPU, as word2vec.c and gensim run it.
 *
 * One call trains a block of centre words. Row r of the block is a centre word centre[r] with
 * its (dynamic) window context[r * width .. r * width + width), -1 marking an empty slot, and
 * its own learning rate alpha[r]. The rows are cut into one contiguous slice per thread and the
 * threads update the shared tables without locks (Hogwild, as word2vec.c and gensim do);
 * inside a thread every decision sees the updates made before it.
 *
 *   skip-gram: for each context word c of the row, h = w_in[c]; the decisions are about the
 *              centre word; w_in[c] += the summed input gradient after the decisions.
 *   CBOW:      h = mean of w_in over the context words; the summed input gradient is added to
 *              every context row, undivided (word2vec.c, gensim's cbow_mean=1). With cbow_mean 0,
 *              h is the sum and each context row gets the gradient divided by their number (gensim).
 *   negative sampling: target centre with label 1, then `negative` noise words with label 0,
 *              a noise word equal to the centre word skipped; g = (label - sigmoid(s)) alpha.
 *   hierarchical softmax: the inner nodes on the centre word's Huffman path with label
 *              1 - code; a decision with |s| >= 6 is skipped (word2vec.c's MAX_EXP), and the
 *              sigmoid is read from word2vec.c's 1000-entry table (as gensim does).
 *   subwords (fastText, Bojanowski et al. 2017): with sub_offsets/sub_rows (CSR) given, word w's input
 *              rows are R(w) = sub_rows[sub_offsets[w] .. sub_offsets[w + 1]) (its own row, then its
 *              n-grams' buckets; a bucket may be listed more than once) instead of the single row w.
 *              NULL: plain word2vec, one row per word.
 *              Skip-gram, as fastText's FastText::skipgram and gensim's fasttext_fast_sentence_sg_neg/_hs
 *              (the paper's s(w, c) = sum over g in G(w) of z_g . v_c): the n-grams are the CENTRE
 *              word's. For each context word c of the row, h = mean of w_in over R(w), the decisions are
 *              about c (its Huffman path; c with label 1 and the noise words, one equal to c skipped),
 *              and every entry of R(w) gets the pair's input gradient neu1e before the next pair. Only
 *              R(w) changes within the window, each row by m neu1e (m: how often R(w) lists it), so the
 *              exact new mean is h + f neu1e with f = (sum over distinct rows of m^2) / |R(w)| (1 when
 *              no row repeats): the kernel gathers h once per centre word, keeps it up to date that way,
 *              sums the neu1e and adds the sum to every entry of R(w) at the end of the row (one gather
 *              and one scatter per centre word instead of one per pair; the same as the per-pair
 *              updates up to float rounding). A word with a single row uses the row itself as h, as
 *              word2vec does. CBOW: h = mean (cbow_mean 0: sum) over all the rows of all the context
 *              words; after the decisions the whole input gradient is added to every row (divided by
 *              the row count for cbow_mean 0), as fastText and gensim do.
 *   both (hs and negative > 0, word2vec.c's and gensim's hs=1 with negative sampling): the
 *              hierarchical-softmax decisions, then the negative-sampling ones, into one input
 *              gradient; the points index the inner nodes' rows of w_out, after the words' rows.
 *
 * Noise words are drawn with Walker's alias method from a splitmix64 stream seeded by
 * (seed, row), so a block's draws do not depend on the number of threads; with `neg_given`
 * the caller supplies them instead (tests). Dot products are summed in SIMD lanes (`omp simd
 * reduction`: a float sum in one register is bound by the add's latency, several times slower).
 * Build: cc -O3 -fopenmp -shared -fPIC.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define MAX_EXP 6.0f
#define EXP_TABLE_SIZE 1000
/* word2vec.c's expTable: sigmoid((i / EXP_TABLE_SIZE * 2 - 1) MAX_EXP), filled when the library loads */
static float sigmoid_table[EXP_TABLE_SIZE + 1];
__attribute__((constructor)) static void fill_table(void) {
    for (int i = 0; i <= EXP_TABLE_SIZE; i++) {
        double e = exp(((double)i / EXP_TABLE_SIZE * 2 - 1) * MAX_EXP);
        sigmoid_table[i] = (float)(e / (e + 1));
    }
}

static inline uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* One draw from the alias tables: a column from the high 32 bits, the coin from the low 24. */
static inline int64_t alias_draw(uint64_t *state, const float *prob, const int64_t *alias, int64_t n) {
    uint64_t r = splitmix64(state);
    int64_t col = (int64_t)(((r >> 32) * (uint64_t)n) >> 32);
    float coin = (float)(r & 0xFFFFFFu) * (1.0f / 16777216.0f);
    return coin < prob[col] ? col : alias[col];
}

/* One logistic decision: u <- u + g h, neu1e += g u (with u before its update); returns g.
 * Adds the decision's loss -log sigmoid(+-s) to *loss when loss is not NULL. */
static inline void decide(const float *h, float *u, float *neu1e, int64_t dim, float label, float alpha,
                          int hs, double *loss, int64_t *count) {
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int64_t d = 0; d < dim; d++) s += h[d] * u[d];
    if (hs && (s <= -MAX_EXP || s >= MAX_EXP)) return;
    float g;
    if (hs) {  /* word2vec.c's table: no exp and no division on the hot path */
        g = (label - sigmoid_table[(int)((s + MAX_EXP) * (EXP_TABLE_SIZE / MAX_EXP / 2))]) * alpha;
    } else {
        float sc = s > 30.0f ? 30.0f : (s < -30.0f ? -30.0f : s);
        g = (label - 1.0f / (1.0f + expf(-sc))) * alpha;
    }
    if (loss) {  /* exact, on the sampled rows only */
        float sc = s > 30.0f ? 30.0f : (s < -30.0f ? -30.0f : s);
        *loss += (double)(log1pf(expf(-sc)) + (label > 0.5f ? 0.0f : sc));
    }
    (*count)++;
    for (int64_t d = 0; d < dim; d++) neu1e[d] += g * u[d];
    for (int64_t d = 0; d < dim; d++) u[d] += g * h[d];
}

/* The decisions of one input vector h about the target word `word` (the centre word, or fastText skip-gram's
 * context word); neu1e gets the input gradient. */
static inline void decisions(const float *h, float *w_out, float *neu1e, int64_t dim, int64_t word, float alpha,
                             int hs, int64_t negative, const int64_t *negs, uint64_t *rng,
                             const float *alias_prob, const int64_t *alias_idx, int64_t n_noise,
                             const int64_t *points, const uint8_t *codes, const int64_t *lengths, int64_t max_len,
                             double *loss, int64_t *count) {
    if (hs) {
        const int64_t *pt = points + word * max_len;
        const uint8_t *cd = codes + word * max_len;
        for (int64_t j = 0; j < lengths[word]; j++)
            decide(h, w_out + pt[j] * dim, neu1e, dim, 1.0f - (float)cd[j], alpha, 1, loss, count);
    }
    if (negative <= 0) return;
    decide(h, w_out + word * dim, neu1e, dim, 1.0f, alpha, 0, loss, count);
    for (int64_t k = 0; k < negative; k++) {
        int64_t target = negs ? negs[k] : alias_draw(rng, alias_prob, alias_idx, n_noise);
        if (target == word) continue;
        decide(h, w_out + target * dim, neu1e, dim, 0.0f, alpha, 0, loss, count);
    }
}

/* Trains n_rows centre words; returns the number of examples: the (centre, context) pairs for
 * skip-gram, the rows for CBOW. loss_out (may be NULL) gets the summed loss of the rows
 * r % loss_stride == 0 and loss_examples_out their number of examples (the loss costs a log per
 * decision, so the progress bar estimates it from every loss_stride-th row); decisions_out the
 * number of decisions made. neg_given, when not NULL, holds the noise words: (n_rows, width,
 * negative) for skip-gram, (n_rows, negative) for CBOW. sub_offsets (V + 1) and sub_rows, when not
 * NULL, are the words' input rows (fastText; see the top of the file). */
int64_t w2v_train_block(float *w_in, float *w_out, int64_t dim,
                        const int64_t *centre, const int64_t *context, const float *alpha,
                        int64_t n_rows, int64_t width, int sg, int hs, int cbow_mean,
                        const int64_t *sub_offsets, const int64_t *sub_rows,
                        int64_t negative, const float *alias_prob, const int64_t *alias_idx, int64_t n_noise,
                        uint64_t seed, const int64_t *neg_given,
                        const int64_t *points, const uint8_t *codes, const int64_t *lengths, int64_t max_len,
                        int n_threads, int64_t loss_stride, double *loss_out, int64_t *loss_examples_out,
                        int64_t *decisions_out) {
    double loss_total = 0.0;
    int64_t examples = 0, total_decisions = 0, loss_examples = 0;
    if (n_threads < 1) n_threads = 1;
    if (loss_stride < 1) loss_stride = 1;
#pragma omp parallel num_threads(n_threads) reduction(+ : loss_total, examples, total_decisions, loss_examples)
    {
        float *neu1e = (float *)malloc(sizeof(float) * (size_t)dim);
        float *hbuf = (float *)malloc(sizeof(float) * (size_t)dim);
        float *total = (float *)malloc(sizeof(float) * (size_t)dim);
        int64_t count = 0;
#pragma omp for schedule(static)
        for (int64_t r = 0; r < n_rows; r++) {
            const int64_t *ctx = context + r * width;
            const int64_t word = centre[r];
            const float a = alpha[r];
            uint64_t rng = seed ^ ((uint64_t)r * 0xD1B54A32D192ED03ULL);
            double *loss = (loss_out && r % loss_stride == 0) ? &loss_total : NULL;
            const int64_t examples_before = examples;
            if (sg && sub_offsets) {  /* fastText: the n-grams are the centre word's (see the top of the file) */
                const int64_t *in = sub_rows + sub_offsets[word];
                const int64_t n_in = sub_offsets[word + 1] - sub_offsets[word];
                float *h = n_in == 1 ? w_in + in[0] * dim : hbuf;  /* one row: the row itself, updated in place */
                float f = 1.0f;
                int gathered = 0;
                for (int64_t j = 0; j < width; j++) {
                    if (ctx[j] < 0) continue;
                    if (!gathered && n_in > 1) {  /* the mean of R(w), f, and the summed gradient, once a row */
                        memset(hbuf, 0, sizeof(float) * (size_t)dim);
                        memset(total, 0, sizeof(float) * (size_t)dim);
                        int64_t same = 0;  /* unordered pairs of equal entries: sum of m^2 = n_in + 2 same */
                        for (int64_t i = 0; i < n_in; i++) {
                            const float *v = w_in + in[i] * dim;
                            for (int64_t d = 0; d < dim; d++) hbuf[d] += v[d];
                            for (int64_t k = 0; k < i; k++) same += in[k] == in[i];
                        }
                        const float inv_in = 1.0f / (float)n_in;
                        for (int64_t d = 0; d < dim; d++) hbuf[d] *= inv_in;
                        f = (float)(n_in + 2 * same) / (float)n_in;
                    }
                    gathered = 1;
                    const int64_t *negs = neg_given ? neg_given + (r * width + j) * negative : NULL;
                    memset(neu1e, 0, sizeof(float) * (size_t)dim);
                    decisions(h, w_out, neu1e, dim, ctx[j], a, hs, negative, negs, &rng, alias_prob, alias_idx,
                              n_noise, points, codes, lengths, max_len, loss, &count);
                    if (n_in == 1) {
                        for (int64_t d = 0; d < dim; d++) h[d] += neu1e[d];
                    } else {
                        for (int64_t d = 0; d < dim; d++) h[d] += f * neu1e[d];
                        for (int64_t d = 0; d < dim; d++) total[d] += neu1e[d];
                    }
                    examples++;
                }
                if (gathered && n_in > 1)
                    for (int64_t i = 0; i < n_in; i++) {
                        float *v = w_in + in[i] * dim;
                        for (int64_t d = 0; d < dim; d++) v[d] += total[d];
                    }
            } else if (sg) {  /* word2vec: h is the context word's row itself; the decisions are about the centre */
                for (int64_t j = 0; j < width; j++) {
                    if (ctx[j] < 0) continue;
                    const int64_t *negs = neg_given ? neg_given + (r * width + j) * negative : NULL;
                    memset(neu1e, 0, sizeof(float) * (size_t)dim);
                    float *h = w_in + ctx[j] * dim;
                    decisions(h, w_out, neu1e, dim, word, a, hs, negative, negs, &rng, alias_prob, alias_idx,
                              n_noise, points, codes, lengths, max_len, loss, &count);
                    for (int64_t d = 0; d < dim; d++) h[d] += neu1e[d];
                    examples++;
                }
            } else {
                int64_t n_ctx = 0;
                memset(hbuf, 0, sizeof(float) * (size_t)dim);
                for (int64_t j = 0; j < width; j++) {
                    if (ctx[j] < 0) continue;
                    if (!sub_offsets) {
                        const float *v = w_in + ctx[j] * dim;
                        for (int64_t d = 0; d < dim; d++) hbuf[d] += v[d];
                        n_ctx++;
                        continue;
                    }
                    for (int64_t i = sub_offsets[ctx[j]]; i < sub_offsets[ctx[j] + 1]; i++) {
                        const float *v = w_in + sub_rows[i] * dim;
                        for (int64_t d = 0; d < dim; d++) hbuf[d] += v[d];
                        n_ctx++;
                    }
                }
                if (n_ctx == 0) continue;
                const float inv = 1.0f / (float)n_ctx;
                if (cbow_mean)
                    for (int64_t d = 0; d < dim; d++) hbuf[d] *= inv;
                memset(neu1e, 0, sizeof(float) * (size_t)dim);
                const int64_t *negs = neg_given ? neg_given + r * negative : NULL;
                decisions(hbuf, w_out, neu1e, dim, word, a, hs, negative, negs, &rng, alias_prob, alias_idx,
                          n_noise, points, codes, lengths, max_len, loss, &count);
                if (!cbow_mean)
                    for (int64_t d = 0; d < dim; d++) neu1e[d] *= inv;
                for (int64_t j = 0; j < width; j++) {
                    if (ctx[j] < 0) continue;
                    if (!sub_offsets) {
                        float *v = w_in + ctx[j] * dim;
                        for (int64_t d = 0; d < dim; d++) v[d] += neu1e[d];
                        continue;
                    }
                    for (int64_t i = sub_offsets[ctx[j]]; i < sub_offsets[ctx[j] + 1]; i++) {
                        float *v = w_in + sub_rows[i] * dim;
                        for (int64_t d = 0; d < dim; d++) v[d] += neu1e[d];
                    }
                }
                examples++;
            }
            if (loss) loss_examples += examples - examples_before;
        }
        total_decisions += count;
        free(neu1e);
        free(hbuf);
        free(total);
    }
    if (loss_out) *loss_out = loss_total;
    if (loss_examples_out) *loss_examples_out = loss_examples;
    if (decisions_out) *decisions_out = total_decisions;
    return examples;
}

/* n draws from the alias tables with the stream of (seed, row) used for row `row` (tests). */
void w2v_draw_noise(int64_t *out, int64_t n, uint64_t seed, int64_t row,
                    const float *alias_prob, const int64_t *alias_idx, int64_t n_noise) {
    uint64_t rng = seed ^ ((uint64_t)row * 0xD1B54A32D192ED03ULL);
    for (int64_t i = 0; i < n; i++) out[i] = alias_draw(&rng, alias_prob, alias_idx, n_noise);
}

/* Skip-gram with negative sampling, HogBatch style (Ji, Shah, Seo, Stone & Dubey 2016, "Parallelizing
 * Word2Vec in Shared and Distributed Memory"): the `negative` noise words are drawn once per row and
 * shared by all its context words, and the row's decisions form one small batch,
 *
 *   inputs  I = w_in[context words]            (m, dim)
 *   outputs O = w_out[centre, noise words]     (1 + negative, dim), labels 1, 0, ..., 0
 *   G = (labels - sigmoid(I O^T)) alpha        (m, 1 + negative)
 *   w_in[context] += G O,  w_out[outputs] += G^T I      (both from the values before the row)
 *
 * so each output row is read once per window instead of once per pair, and the row's work is three
 * small matrix products over vectors in cache. A noise word equal to the centre word is dropped (as
 * in the sequential loop). Same arguments, draws and outputs as w2v_train_block with sg = 1, hs = 0;
 * neg_given is (n_rows, negative). Threads share the tables without locks, a slice of rows each. */
int64_t w2v_train_block_batched(float *w_in, float *w_out, int64_t dim,
                                const int64_t *centre, const int64_t *context, const float *alpha,
                                int64_t n_rows, int64_t width, int64_t negative,
                                const float *alias_prob, const int64_t *alias_idx, int64_t n_noise,
                                uint64_t seed, const int64_t *neg_given,
                                int n_threads, int64_t loss_stride, double *loss_out, int64_t *loss_examples_out,
                                int64_t *decisions_out) {
    double loss_total = 0.0;
    int64_t examples = 0, total_decisions = 0, loss_examples = 0;
    if (n_threads < 1) n_threads = 1;
    if (loss_stride < 1) loss_stride = 1;
    const int64_t n_out_max = 1 + negative;
#pragma omp parallel num_threads(n_threads) reduction(+ : loss_total, examples, total_decisions, loss_examples)
    {
        float *grad_in = (float *)malloc(sizeof(float) * (size_t)(width * dim));
        float *grad_out = (float *)malloc(sizeof(float) * (size_t)(n_out_max * dim));
        float *g = (float *)malloc(sizeof(float) * (size_t)(width * n_out_max));
        int64_t *outs = (int64_t *)malloc(sizeof(int64_t) * (size_t)n_out_max);
        int64_t *ins = (int64_t *)malloc(sizeof(int64_t) * (size_t)width);
#pragma omp for schedule(static)
        for (int64_t r = 0; r < n_rows; r++) {
            const int64_t *ctx = context + r * width;
            const int64_t word = centre[r];
            const float a = alpha[r];
            uint64_t rng = seed ^ ((uint64_t)r * 0xD1B54A32D192ED03ULL);
            const int counted = loss_out && r % loss_stride == 0;
            int64_t m = 0, n_out = 0;
            for (int64_t j = 0; j < width; j++)
                if (ctx[j] >= 0) ins[m++] = ctx[j];
            if (m == 0) continue;
            outs[n_out++] = word;
            for (int64_t k = 0; k < negative; k++) {
                int64_t target = neg_given ? neg_given[r * negative + k]
                                           : alias_draw(&rng, alias_prob, alias_idx, n_noise);
                if (target != word) outs[n_out++] = target;
            }
            for (int64_t j = 0; j < m; j++) {
                const float *h = w_in + ins[j] * dim;
                for (int64_t k = 0; k < n_out; k++) {
                    const float *u = w_out + outs[k] * dim;
                    float s = 0.0f;
#pragma omp simd reduction(+ : s)
                    for (int64_t d = 0; d < dim; d++) s += h[d] * u[d];
                    const float label = k == 0 ? 1.0f : 0.0f;
                    const float sc = s > 30.0f ? 30.0f : (s < -30.0f ? -30.0f : s);
                    const float e = expf(-sc);
                    g[j * n_out + k] = (label - 1.0f / (1.0f + e)) * a;
                    if (counted) loss_total += (double)(log1pf(e) + (k == 0 ? 0.0f : sc));
                }
            }
            memset(grad_out, 0, sizeof(float) * (size_t)(n_out * dim));
            for (int64_t j = 0; j < m; j++) {
                const float *h = w_in + ins[j] * dim;
                float *gi = grad_in + j * dim;
                memset(gi, 0, sizeof(float) * (size_t)dim);
                for (int64_t k = 0; k < n_out; k++) {
                    const float gk = g[j * n_out + k];
                    const float *u = w_out + outs[k] * dim;
                    float *go = grad_out + k * dim;
                    for (int64_t d = 0; d < dim; d++) gi[d] += gk * u[d];
                    for (int64_t d = 0; d < dim; d++) go[d] += gk * h[d];
                }
            }
            for (int64_t j = 0; j < m; j++) {
                float *h = w_in + ins[j] * dim;
                const float *gi = grad_in + j * dim;
                for (int64_t d = 0; d < dim; d++) h[d] += gi[d];
            }
            for (int64_t k = 0; k < n_out; k++) {
                float *u = w_out + outs[k] * dim;
                const float *go = grad_out + k * dim;
                for (int64_t d = 0; d < dim; d++) u[d] += go[d];
            }
            examples += m;
            total_decisions += m * n_out;
            if (counted) loss_examples += m;
        }
        free(grad_in);
        free(grad_out);
        free(g);
        free(outs);
        free(ins);
    }
    if (loss_out) *loss_out = loss_total;
    if (loss_examples_out) *loss_examples_out = loss_examples;
    if (decisions_out) *decisions_out = total_decisions;
    return examples;
}
