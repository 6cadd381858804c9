/* Co-occurrence counting for GloVe on the CPU, as Stanford GloVe's cooccur.c counts.
 *
 * Each position p adds, for d = 1..window while p + d is in the same line, the weight 1/d (or 1) to
 * the unordered pair {ids[p], ids[p + d]}, keyed min * vocab + max. The sums live in an open-
 * addressing hash table (linear probing; key -1 marks an empty slot) that the caller owns; when it
 * holds more than max_fill keys the call returns, at a position boundary, and the caller moves it
 * into a bigger one (cooc_grow) or, at the size its memory limit allows, empties it into a sorted run
 * (cooc_extract) and calls again from there. The runs are merged at the end (cooc_merge, a binary heap
 * over the runs, as cooccur.c merges its overflow files). Sums are double, like cooccur.c's real.
 * Build: cc -O3 -shared -fPIC.
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

/* Moves every key of a table into an empty bigger one (new_keys all -1, new_sums all 0). */
void cooc_grow(const int64_t *keys, const double *sums, int64_t capacity, int64_t *new_keys, double *new_sums,
               int64_t new_capacity) {
    const uint64_t mask = (uint64_t)new_capacity - 1;
    for (int64_t i = 0; i < capacity; i++) {
        if (keys[i] < 0) continue;
        uint64_t h = mix((uint64_t)keys[i]) & mask;
        while (new_keys[h] != -1) h = (h + 1) & mask;
        new_keys[h] = keys[i];
        new_sums[h] = sums[i];
    }
}

typedef struct { /* a record of a run, 16 bytes (numpy: [("key", int64), ("sum", float64)]) */
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

/* Whether the head of run r comes before the head of run s: the smaller key, and on equal keys the
 * earlier run, so that equal keys are summed in run order. */
static inline int before(const pair_t *const *runs, const int64_t *pos, int64_t r, int64_t s) {
    const int64_t a = runs[r][pos[r]].key, b = runs[s][pos[s]].key;
    return a < b || (a == b && r < s);
}

static void sift_down(const pair_t *const *runs, const int64_t *pos, int64_t *heap, int64_t size, int64_t i) {
    const int64_t r = heap[i];
    for (;;) {
        int64_t c = 2 * i + 1;
        if (c >= size) break;
        if (c + 1 < size && before(runs, pos, heap[c + 1], heap[c])) c++;
        if (!before(runs, pos, heap[c], r)) break;
        heap[i] = heap[c];
        i = c;
    }
    heap[i] = r;
}

/* Merges count sorted runs (runs[r]: lengths[r] records, keys strictly increasing) into sorted unique
 * keys and their sums, equal keys added in run order (run 0 first: x0 + x1 + ..., as index_add_ over
 * the runs one after the other adds them). Writes at most room keys to out_keys/out_sums and returns
 * how many; the merge goes on where it stopped on the next call, with the same pos (count, the next
 * record of each run), heap (count, scratch) and *size (-1 on the first call; 0 once every run is
 * merged). A key written is complete: the call stops only before a new key. */
int64_t cooc_merge(const pair_t *const *runs, const int64_t *lengths, int64_t count, int64_t *pos, int64_t *heap,
                   int64_t *size, int64_t *out_keys, double *out_sums, int64_t room) {
    if (*size < 0) { /* the first call: a heap of the runs not yet done */
        *size = 0;
        for (int64_t r = 0; r < count; r++)
            if (pos[r] < lengths[r]) heap[(*size)++] = r;
        for (int64_t i = *size / 2 - 1; i >= 0; i--) sift_down(runs, pos, heap, *size, i);
    }
    int64_t n = 0;
    while (*size > 0) {
        const int64_t r = heap[0];
        const pair_t *head = runs[r] + pos[r];
        if (n > 0 && out_keys[n - 1] == head->key) {
            out_sums[n - 1] += head->sum;
        } else {
            if (n == room) break;
            out_keys[n] = head->key;
            out_sums[n] = head->sum;
            n++;
        }
        if (++pos[r] == lengths[r]) heap[0] = heap[--*size];
        if (*size > 1) sift_down(runs, pos, heap, *size, 0);
    }
    return n;
}
