/* One pass over a corpus in C: cut UTF-8 text into tokens, give each distinct token an id in order of
 * first appearance (with its count), and write the id of every token and where each sentence ends.
 *
 * The caller (seqlab/text/scan_native.py) reads the file, checks and decodes it, and hands over blocks
 * of UTF-8 text that end at whitespace (the last block may not), with non-ASCII whitespace already
 * replaced by spaces: here a token is a run of bytes other than the ASCII whitespace that Python's
 * str.split() knows (\t \n \v \f \r, 0x1c-0x1f, space), and a newline ends a line. A line is a
 * sentence, cut into pieces of max_sentence tokens; a token longer than max_chars characters (UTF-8
 * lead bytes) is cut to its first max_chars, and counted. Distinct tokens live in a hash table
 * (open addressing, FNV-1a, grown at half full) over a byte pool that holds each token followed by
 * '\n', so the pool decodes to the words in id order with one split. Build: cc -O3 -shared -fPIC.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t *slots;     /* capacity entries: word id, or -1 for an empty slot */
    uint64_t *hashes;   /* per word */
    int64_t *starts;    /* per word: its first byte in pool */
    int32_t *lengths;   /* per word: its bytes */
    int64_t *counts;    /* per word */
    char *pool;
    int64_t capacity, words, room, pool_used, pool_room;
} vocab_t;

void vocab_free(vocab_t *v) {
    if (!v) return;
    free(v->slots);
    free(v->hashes);
    free(v->starts);
    free(v->lengths);
    free(v->counts);
    free(v->pool);
    free(v);
}

vocab_t *vocab_new(void) {
    vocab_t *v = calloc(1, sizeof(vocab_t));
    if (!v) return NULL;
    v->capacity = 1 << 16;
    v->room = 1 << 15;
    v->pool_room = 1 << 20;
    v->slots = malloc(sizeof(int64_t) * v->capacity);
    v->hashes = malloc(sizeof(uint64_t) * v->room);
    v->starts = malloc(sizeof(int64_t) * v->room);
    v->lengths = malloc(sizeof(int32_t) * v->room);
    v->counts = malloc(sizeof(int64_t) * v->room);
    v->pool = malloc(v->pool_room);
    if (!v->slots || !v->hashes || !v->starts || !v->lengths || !v->counts || !v->pool) {
        vocab_free(v);
        return NULL;
    }
    memset(v->slots, 0xff, sizeof(int64_t) * v->capacity);
    return v;
}

static int grow_table(vocab_t *v) {
    const int64_t capacity = v->capacity * 2;
    int64_t *slots = malloc(sizeof(int64_t) * capacity);
    if (!slots) return -1;
    memset(slots, 0xff, sizeof(int64_t) * capacity);
    const uint64_t mask = (uint64_t)capacity - 1;
    for (int64_t w = 0; w < v->words; w++) {
        uint64_t h = v->hashes[w] & mask;
        while (slots[h] != -1) h = (h + 1) & mask;
        slots[h] = w;
    }
    free(v->slots);
    v->slots = slots;
    v->capacity = capacity;
    return 0;
}

static int grow_words(vocab_t *v) {
    const int64_t room = v->room * 2;
    uint64_t *hashes = realloc(v->hashes, sizeof(uint64_t) * room);
    if (!hashes) return -1;
    v->hashes = hashes;
    int64_t *starts = realloc(v->starts, sizeof(int64_t) * room);
    if (!starts) return -1;
    v->starts = starts;
    int32_t *lengths = realloc(v->lengths, sizeof(int32_t) * room);
    if (!lengths) return -1;
    v->lengths = lengths;
    int64_t *counts = realloc(v->counts, sizeof(int64_t) * room);
    if (!counts) return -1;
    v->counts = counts;
    v->room = room;
    return 0;
}

/* The id of the token text[0:len) (added with count 0 when new), or -1 when memory runs out. */
static int64_t lookup(vocab_t *v, const char *text, int64_t len) {
    uint64_t hash = 1469598103934665603ULL;
    for (int64_t i = 0; i < len; i++) hash = (hash ^ (unsigned char)text[i]) * 1099511628211ULL;
    const uint64_t mask = (uint64_t)v->capacity - 1;
    uint64_t h = hash & mask;
    for (;;) {
        const int64_t w = v->slots[h];
        if (w == -1) break;
        if (v->hashes[w] == hash && v->lengths[w] == len && memcmp(v->pool + v->starts[w], text, len) == 0) return w;
        h = (h + 1) & mask;
    }
    if (v->words == v->room && grow_words(v)) return -1;
    if (v->pool_used + len + 1 > v->pool_room) {
        int64_t room = v->pool_room * 2;
        while (v->pool_used + len + 1 > room) room *= 2;
        char *pool = realloc(v->pool, room);
        if (!pool) return -1;
        v->pool = pool;
        v->pool_room = room;
    }
    const int64_t w = v->words++;
    memcpy(v->pool + v->pool_used, text, len);
    v->pool[v->pool_used + len] = '\n';
    v->hashes[w] = hash;
    v->starts[w] = v->pool_used;
    v->lengths[w] = (int32_t)len;
    v->counts[w] = 0;
    v->pool_used += len + 1;
    v->slots[h] = w;
    if (2 * v->words > v->capacity && grow_table(v)) return -1;
    return w;
}

static inline int is_space(unsigned char c) { return c == ' ' || (c >= 9 && c <= 13) || (c >= 0x1c && c <= 0x1f); }

/* Scans text[0:len): writes the id of each token to ids (room for len / 2 + 1), and, to ends, the
 * token count (since the first block: state[0]) after each sentence that ends in this block.
 * state, kept between blocks: [0] tokens so far, [1] tokens in the current sentence, [2] tokens cut to
 * max_chars, [3] the newlines before the first cut token in this block (-1 until one is cut here),
 * [4] sentence ends written. Returns the tokens written, or -1 when memory runs out. */
int64_t vocab_scan(vocab_t *v, const char *text, int64_t len, int64_t max_sentence, int64_t max_chars,
                   int32_t *ids, int64_t *ends, int64_t *state) {
    int64_t n = 0, lines = 0, ended = 0;
    int64_t total = state[0], in_sentence = state[1];
    state[3] = -1;
    int64_t i = 0;
    while (i < len) {
        const unsigned char c = (unsigned char)text[i];
        if (is_space(c)) {
            if (c == '\n') {
                lines++;
                if (in_sentence) {
                    ends[ended++] = total;
                    in_sentence = 0;
                }
            }
            i++;
            continue;
        }
        const int64_t start = i;
        int64_t chars = 0, cut = -1;
        while (i < len && !is_space((unsigned char)text[i])) {
            if (((unsigned char)text[i] & 0xC0) != 0x80 && ++chars > max_chars && cut < 0) cut = i;
            i++;
        }
        const int64_t w = lookup(v, text + start, (cut < 0 ? i : cut) - start);
        if (w < 0) return -1;
        if (cut >= 0) {
            state[2]++;
            if (state[3] < 0) state[3] = lines;
        }
        v->counts[w]++;
        ids[n++] = (int32_t)w;
        total++;
        if (++in_sentence == max_sentence) {
            ends[ended++] = total;
            in_sentence = 0;
        }
    }
    state[0] = total;
    state[1] = in_sentence;
    state[4] = ended;
    return n;
}

int64_t vocab_words(const vocab_t *v) { return v->words; }
int64_t vocab_pool_bytes(const vocab_t *v) { return v->pool_used; }

/* Copies the pool (each word and a '\n', in id order) and the counts out. */
void vocab_export(const vocab_t *v, char *pool, int64_t *counts) {
    memcpy(pool, v->pool, v->pool_used);
    memcpy(counts, v->counts, sizeof(int64_t) * v->words);
}
