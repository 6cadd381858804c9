/* Co-occurrence counting for GloVe on the CPU, as Stanford GloVe's cooccur.c counts.
 *
 * Each position p adds, for d = 1..window while p + d is in the same line, the weight 1/d (or 1) to
 * the unordered pair {ids[p], ids[p + d]}, keyed min * vocab + max. The sums live in an open-
 * addressing hash table (linear probing; key -1 marks an empty slot) that the caller owns; when it
 * holds more than max_fill keys the call returns, at a position boundary, and the caller empties it
 * into a sorted run and calls again from there (cooccur.c spills the same way, to files). Sums are
 * double, like cooccur.c's real. Build: cc -O3 -shared -fPIC.
 */
#include <stdint.h>
#include <stdlib.h>

static inline uint64_t mix(uint64_t x) { /* the splitmix64 finaliser: spreads consecutive keys */
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

/* Counts the pairs of positions [start, stop) of ids/line (n positions in all, so that windows see
 * up to n); returns the position reached: every pair of [start, returned) is in the table. */
int64_t cooc_count(const int32_t *ids, const int64_t *line, int64_t start, int64_t stop, int64_t n,
                   int64_t window, int distance_weighting, int64_t vocab,
                   int64_t *keys, double *sums, int64_t capacity, int64_t *filled, int64_t max_fill) {
    const uint64_t mask = (uint64_t)capacity - 1; /* capacity is a power of two */
    for (int64_t p = start; p < stop; p++) {
        if (*filled > max_fill) return p;
        const int64_t a = ids[p];
        for (int64_t d = 1; d <= window && p + d < n; d++) {
            if (line[p + d] != line[p]) break;
            const int64_t b = ids[p + d];
            const int64_t key = a < b ? a * vocab + b : b * vocab + a;
            uint64_t h = mix((uint64_t)key) & mask;
            while (keys[h] != key && keys[h] != -1) h = (h + 1) & mask;
            if (keys[h] == -1) {
                keys[h] = key;
                (*filled)++;
            }
            sums[h] += distance_weighting ? 1.0 / (double)d : 1.0;
        }
    }
    return stop;
}

typedef struct {
    int64_t key;
    double sum;
} pair_t;

static int by_key(const void *x, const void *y) {
    const int64_t a = ((const pair_t *)x)->key, b = ((const pair_t *)y)->key;
    return (a > b) - (a < b);
}

/* Empties the table into out (sorted by key; room for every key in the table): a counting sort on
 * the row, key / vocab, then each row's keys sorted; every slot is marked empty again. Returns the
 * number of keys. rows (vocab + 1,) is scratch space. */
int64_t cooc_extract(int64_t *keys, double *sums, int64_t capacity, int64_t vocab, pair_t *out, int64_t *rows) {
    for (int64_t r = 0; r <= vocab; r++) rows[r] = 0;
    for (int64_t h = 0; h < capacity; h++)
        if (keys[h] >= 0) rows[keys[h] / vocab + 1]++;
    for (int64_t r = 0; r < vocab; r++) rows[r + 1] += rows[r]; /* rows[r]: where row r starts */
    const int64_t total = rows[vocab];
    for (int64_t h = 0; h < capacity; h++) {
        if (keys[h] < 0) continue;
        pair_t *slot = out + rows[keys[h] / vocab]++;
        slot->key = keys[h];
        slot->sum = sums[h];
        keys[h] = -1;
        sums[h] = 0.0;
    }
    int64_t begin = 0; /* rows[r] is now where row r ends */
    for (int64_t r = 0; r < vocab; r++) {
        if (rows[r] - begin > 1) qsort(out + begin, (size_t)(rows[r] - begin), sizeof(pair_t), by_key);
        begin = rows[r];
    }
    return total;
}
