/* Optional C steps of collectors/ami/parser.py (docs/decisions/0006-c-ami-parser.md).
 *
 * parse_bytes(buf: bytearray, data: bytes, size: int, limit: int, skip: tuple[str, ...] = ())
 *         -> list[dict[str, str]] | None
 *     AmiParser.feed()'s first try on a read: data[:size] as it came (CRLF or LF line ends; a
 *     trailing CR is held back by feed()), after buf (the LF-only bytes kept from earlier
 *     reads). The result is what the old steps give, without their copies of the whole read:
 *     text = (buf + data[:size].replace(b"\r\n", b"\n")) up to its last "\n\n" (searched from
 *     buf's last byte on, as feed() does), parse_text(text.decode(), limit, skip), and buf
 *     keeps what follows that "\n\n". A key or value with a byte >= 128 is decoded as
 *     UTF-8 ("replace") on its own: the same str as a slice of the decoded text, since it
 *     starts and ends at ASCII bytes; any character (not only Latin-1) is then fine, with the
 *     rules parse_text has for its blocks (the limit counts characters). None, with buf
 *     untouched, when there is no such "\n\n", when buf holds a "\n\n" (a Response: Follows
 *     kept back) or when a block is not regular: feed() then takes the old steps. The read is
 *     parsed where it lies; only the message buf starts (buf and the read up to the first
 *     blank line) is copied and joined.
 *
 * parse_text(text: str, limit: int, skip: tuple[str, ...] = ()) -> list[dict[str, str]] | None
 *     One dict per non-empty block of text.split("\n\n"), if every block is "regular": what
 *     the parser's pure-Python fast path accepts as is. A regular block does not start with
 *     "\n" nor with "Response: Follows", is at most `limit` characters long, every line (split
 *     on "\n") holds ": " (the key is the text before the first one, the value the rest), no
 *     key repeats, no key is "Output", and its first character is ASCII and not lower-case
 *     (the legacy lower-cased format is folded by Python). If any block is not regular, or the
 *     text is not a one-byte (ASCII or Latin-1) str, the result is None and Python parses the
 *     whole chunk: the irregular cases live in Python only, and the result is the same.
 *     `skip`: a line whose key ends with one of these (at most SKIP_MAX ASCII suffixes) is
 *     left out as if it were not in the text (a replay's translator never reads them; the
 *     Python parser leaves out the same lines).
 *
 * crlf_to_lf(data: bytes) -> bytes
 *     data.replace(b"\r\n", b"\n"): bytes.replace with a two-byte pattern costs about as much
 *     per event as building the dicts (feed() uses it when parse_bytes defers).
 *
 * Speed: keys repeat from message to message, so each key is looked up in a small table by
 * its bytes and the cached str (with its cached hash) is reused; cached keys are interned, so
 * a lookup downstream with a literal key (interned by Python and by mypyc) matches by
 * identity, without comparing the text. The last VALUE_WAYS values seen for each cached key
 * are reused too when their bytes are equal (ChannelState: 6, Privilege: call,all, and the
 * Channel, Uniqueid and caller ID of the few calls whose events interleave): no new str then,
 * and a value's hash, once computed (a dict or tuple key downstream), is kept with it. Keys
 * and values are scanned eight bytes at a time where the compiler and byte order allow it.
 * Only documented CPython API is used (no private _Py* calls). The caches live in the module
 * state and hold at most KEY_SLOTS keys and KEY_SLOTS * VALUE_WAYS values, each at most
 * CACHE_MAX_LEN long.
 * Nothing here raises on any text or bytes: odd input gives None; wrong argument types a
 * TypeError, a size outside data a ValueError.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#define KEY_SLOTS 512 /* a power of two */
#define VALUE_WAYS 4
#define CACHE_MAX_LEN 64

/* Python 3.12 made interned strs immortal (later 3.12 releases and 3.13 made them mortal
 * again): there, at most INTERN_MAX keys are interned over the module's life. */
#if PY_VERSION_HEX >= 0x030C0000 && PY_VERSION_HEX < 0x030D0000
#define INTERN_MAX 4096
#endif

typedef struct {
    PyObject *keys[KEY_SLOTS];               /* str or NULL */
    PyObject *values[KEY_SLOTS][VALUE_WAYS]; /* recent values of keys[i], the latest first */
#ifdef INTERN_MAX
    Py_ssize_t interned; /* keys this module added to the interned strs */
#endif
} speedups_state;

static const char FOLLOWS[] = "Response: Follows";
#define FOLLOWS_LEN (sizeof(FOLLOWS) - 1)

/* A str holding the one-byte characters p[0:n]; `ascii` says they are all < 128. */
static PyObject *
new_str(const Py_UCS1 *p, Py_ssize_t n, int ascii)
{
    if (!ascii) {
        return PyUnicode_FromKindAndData(PyUnicode_1BYTE_KIND, p, n);
    }
    PyObject *s = PyUnicode_New(n, 127);
    if (s != NULL && n > 0) {
        memcpy(PyUnicode_1BYTE_DATA(s), p, (size_t)n);
    }
    return s;
}

/* Eight bytes of p (any alignment; the compiler makes it one load). */
static inline unsigned long long
load8(const Py_UCS1 *p)
{
    unsigned long long w;
    memcpy(&w, p, 8);
    return w;
}

/* Whether a[0:n] == b[0:n]: short strings, compared eight bytes at a time without a call. */
static inline int
eq_bytes(const Py_UCS1 *a, const Py_UCS1 *b, Py_ssize_t n)
{
    if (n >= 8) {
        for (Py_ssize_t i = 0; i + 8 < n; i += 8) {
            if (load8(a + i) != load8(b + i)) {
                return 0;
            }
        }
        return load8(a + n - 8) == load8(b + n - 8); /* the last eight, overlapping */
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (a[i] != b[i]) {
            return 0;
        }
    }
    return 1;
}

static inline int
same_bytes(PyObject *s, const Py_UCS1 *p, Py_ssize_t n)
{
    /* Cached objects are canonical one-byte strs, so equal text means equal bytes. */
    return PyUnicode_GET_LENGTH(s) == n && eq_bytes(PyUnicode_1BYTE_DATA(s), p, n);
}

/* A hash of the key p[0:n] for the key cache (eight bytes at a time). */
static inline size_t
key_hash(const Py_UCS1 *p, Py_ssize_t n)
{
    const unsigned long long mul = 0x9E3779B97F4A7C15ULL;
    unsigned long long h = (unsigned long long)n * mul;
    if (n >= 8) {
        for (Py_ssize_t i = 0; i + 8 < n; i += 8) {
            h = (h ^ load8(p + i)) * mul;
        }
        h = (h ^ load8(p + n - 8)) * mul;
    }
    else {
        for (Py_ssize_t i = 0; i < n; i++) {
            h = (h ^ p[i]) * mul;
        }
    }
    return (size_t)(h ^ (h >> 29) ^ (h >> 41));
}

static void
clear_values(PyObject **ways)
{
    for (int w = 0; w < VALUE_WAYS; w++) {
        Py_CLEAR(ways[w]);
    }
}

/* New reference to the key str for p[0:n]; *slot is its cache slot, or -1 if not cached. */
static PyObject *
get_key(speedups_state *st, const Py_UCS1 *p, Py_ssize_t n, int ascii, Py_ssize_t *slot)
{
    *slot = -1;
    if (n > CACHE_MAX_LEN) {
        return new_str(p, n, ascii);
    }
    Py_ssize_t i = (Py_ssize_t)(key_hash(p, n) & (KEY_SLOTS - 1));
    PyObject *key = st->keys[i];
    if (key != NULL && same_bytes(key, p, n)) {
        *slot = i;
        Py_INCREF(key);
        return key;
    }
    key = new_str(p, n, ascii);
    if (key == NULL) {
        return NULL;
    }
    /* interned: downstream lookups with a literal key (interned by the compiler, by mypyc)
     * then match by identity instead of comparing the text */
#ifdef INTERN_MAX
    if (st->interned < INTERN_MAX) {
        PyObject *made = key;
        PyUnicode_InternInPlace(&key);
        st->interned += key == made; /* new to the interned strs, not an existing one */
    }
#else
    PyUnicode_InternInPlace(&key);
#endif
    Py_INCREF(key);
    Py_XDECREF(st->keys[i]);
    st->keys[i] = key;
    clear_values(st->values[i]);
    *slot = i;
    return key;
}

/* New reference to the value str for p[0:n], reusing a recent value of the key's slot (which
 * then moves to the front; a new one goes in front, the oldest out). */
static PyObject *
get_value(speedups_state *st, Py_ssize_t slot, const Py_UCS1 *p, Py_ssize_t n, int ascii)
{
    if (slot < 0 || n > CACHE_MAX_LEN) {
        return new_str(p, n, ascii);
    }
    PyObject **ways = st->values[slot];
    for (int w = 0; w < VALUE_WAYS && ways[w] != NULL; w++) {
        PyObject *value = ways[w];
        if (same_bytes(value, p, n)) {
            if (w > 0) {
                memmove(ways + 1, ways, (size_t)w * sizeof(PyObject *));
                ways[0] = value;
            }
            Py_INCREF(value);
            return value;
        }
    }
    PyObject *value = new_str(p, n, ascii);
    if (value == NULL) {
        return NULL;
    }
    Py_XDECREF(ways[VALUE_WAYS - 1]);
    memmove(ways + 1, ways, (VALUE_WAYS - 1) * sizeof(PyObject *));
    Py_INCREF(value);
    ways[0] = value;
    return value;
}

/* Key suffixes whose lines are left out (parse_text's optional third argument). */
#define SKIP_MAX 16
typedef struct {
    Py_ssize_t count;
    const Py_UCS1 *data[SKIP_MAX];
    Py_ssize_t len[SKIP_MAX];
} skip_list;

/* Whether the key p[0:n] ends with one of the suffixes. */
static int
skipped(const skip_list *skip, const Py_UCS1 *p, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < skip->count; i++) {
        Py_ssize_t k = skip->len[i];
        if (k <= n && p[n - 1] == skip->data[i][k - 1] &&
            eq_bytes(p + n - k, skip->data[i], k)) {
            return 1;
        }
    }
    return 0;
}

/* Length of the line end at p[i]: 1 for "\n"; in raw bytes (`raw`) also 2 for "\r\n" (the
 * text the bytes stand for is theirs with each CR before an LF removed); else 0. */
static inline Py_ssize_t
line_end_at(const Py_UCS1 *p, Py_ssize_t n, Py_ssize_t i, int raw)
{
    if (i < n && p[i] == '\n') {
        return 1;
    }
    if (raw && i + 1 < n && p[i] == '\r' && p[i + 1] == '\n') {
        return 2;
    }
    return 0;
}

#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SWAR 1 /* eight bytes at a time: the index of a byte found is its bit's, from the low end */
#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* The high bit of each byte of w equal to c. Exact for the lowest one flagged (a byte above
 * an equal one may be flagged too), so only the lowest flagged byte is used. */
static inline unsigned long long
bytes_equal(unsigned long long w, Py_UCS1 c)
{
    unsigned long long x = w ^ (ONES * c);
    return (x - ONES) & ~x & HIGHS;
}
#endif

/* The index of the first "\n" or byte >= 128 in p[i:n], or n. Values are short: eight bytes
 * at a time where the compiler and byte order allow it, no call to memchr. */
static Py_ssize_t
find_lf_or_high(const Py_UCS1 *p, Py_ssize_t i, Py_ssize_t n)
{
#ifdef SWAR
    for (; n - i >= 8; i += 8) {
        unsigned long long w = load8(p + i);
        unsigned long long hit = bytes_equal(w, '\n') | (w & HIGHS);
        if (hit != 0) {
            return i + (Py_ssize_t)(__builtin_ctzll(hit) >> 3);
        }
    }
#endif
    while (i < n && p[i] != '\n' && p[i] < 128) {
        i++;
    }
    return i;
}

/* The index of the first ':' or "\n" in p[i:n] (or byte >= 128 if `high`), or n. */
static Py_ssize_t
find_key_end(const Py_UCS1 *p, Py_ssize_t i, Py_ssize_t n, int high)
{
#ifdef SWAR
    unsigned long long high_mask = high ? HIGHS : 0;
    for (; n - i >= 8; i += 8) {
        unsigned long long w = load8(p + i);
        unsigned long long hit = bytes_equal(w, ':') | bytes_equal(w, '\n') | (w & high_mask);
        if (hit != 0) {
            return i + (Py_ssize_t)(__builtin_ctzll(hit) >> 3);
        }
    }
#endif
    while (i < n && p[i] != ':' && p[i] != '\n' && (!high || p[i] < 128)) {
        i++;
    }
    return i;
}

/* How parse_block reads p: text (a one-byte str's characters) or bytes, and their line ends. */
#define CRLF 1 /* "\r\n" ends a line too (the text has "\n" there: the CR is not in it) */
#define UTF8 2 /* p holds bytes: a key or value with a byte >= 128 is decoded as UTF-8 */

/* The str of the UTF-8 bytes p[0:n] (bytes.decode("utf-8", "replace"): the same as a slice of
 * the decoded text, since the slice starts and ends at ASCII bytes); *chars_less gets how many
 * fewer characters than bytes it has. */
static PyObject *
decode_utf8(const Py_UCS1 *p, Py_ssize_t n, Py_ssize_t *chars_less)
{
    PyObject *s = PyUnicode_DecodeUTF8((const char *)p, n, "replace");
    if (s != NULL) {
        *chars_less += n - PyUnicode_GET_LENGTH(s);
    }
    return s;
}

/* The dict of the block that starts at p[start] (not a line end, start < n) and ends at the
 * first blank line or at n: 1 with *out set and *next at the next block, 0 if the block is not
 * regular, -1 on error. Every byte is looked at once: a key eight bytes at a time up to ':' or
 * '\n', a value by memchr (text) or eight bytes at a time (bytes). `mode`: CRLF, UTF8. */
static int
parse_block(speedups_state *st, const Py_UCS1 *p, Py_ssize_t n, Py_ssize_t start, int ascii,
            int mode, Py_ssize_t limit, const skip_list *skip, PyObject **out, Py_ssize_t *next)
{
    *out = NULL;
    Py_UCS1 first = p[start];
    if (first >= 128 || (first >= 'a' && first <= 'z')) {
        return 0;
    }
    if (first == 'R' && n - start >= (Py_ssize_t)FOLLOWS_LEN &&
        memcmp(p + start, FOLLOWS, FOLLOWS_LEN) == 0) {
        return 0;
    }
    PyObject *dict = PyDict_New();
    if (dict == NULL) {
        return -1;
    }
    int utf8 = (mode & UTF8) != 0;
    Py_ssize_t lines = 0;
    Py_ssize_t dropped = 0; /* bytes of the block that are not characters of the text */
    Py_ssize_t pos = start; /* start of the current line */
    Py_ssize_t block_end;
    for (;;) {
        Py_ssize_t sep = pos;
        int key_utf8 = 0; /* a byte >= 128 in the key */
        for (;;) {        /* the first ": " of the line */
            sep = find_key_end(p, sep, n, utf8 && !key_utf8);
            if (sep < n && p[sep] >= 128) {
                key_utf8 = 1;
                continue;
            }
            if (sep + 1 >= n || p[sep] != ':') {
                goto irregular; /* no ": " on this line */
            }
            if (p[sep + 1] == ' ') {
                break;
            }
            sep++; /* a ':' inside the key */
        }
        if (sep - pos == 6 && eq_bytes(p + pos, (const Py_UCS1 *)"Output", 6)) {
            goto irregular;
        }
        Py_ssize_t vstart = sep + 2;
        Py_ssize_t end = vstart; /* the line's "\n", or n */
        int value_utf8 = 0;       /* a byte >= 128 in the value */
        if (utf8) {
            end = find_lf_or_high(p, vstart, n);
            value_utf8 = end < n && p[end] != '\n';
        }
        if (!utf8 || value_utf8) {
            const Py_UCS1 *nl = memchr(p + end, '\n', (size_t)(n - end));
            end = nl == NULL ? n : nl - p;
        }
        Py_ssize_t vend = end; /* the value's end */
        if ((mode & CRLF) && end < n && end > vstart && p[end - 1] == '\r') {
            vend--; /* the CR of a CRLF */
        }
        if (skip->count == 0 || !skipped(skip, p + pos, sep - pos)) {
            Py_ssize_t slot = -1;
            PyObject *key = key_utf8 ? decode_utf8(p + pos, sep - pos, &dropped)
                                     : get_key(st, p + pos, sep - pos, ascii, &slot);
            if (key == NULL) {
                goto error;
            }
            PyObject *value = value_utf8 ? decode_utf8(p + vstart, vend - vstart, &dropped)
                                         : get_value(st, slot, p + vstart, vend - vstart, ascii);
            if (value == NULL) {
                Py_DECREF(key);
                goto error;
            }
            int rc = PyDict_SetItem(dict, key, value);
            Py_DECREF(key);
            Py_DECREF(value);
            if (rc < 0) {
                goto error;
            }
            lines++;
        }
        else if (key_utf8 || value_utf8) {
            /* a header the caller never reads is left out, but its characters are counted */
            PyObject *text = decode_utf8(p + pos, vend - pos, &dropped);
            if (text == NULL) {
                goto error;
            }
            Py_DECREF(text);
        }
        if (end == n) {
            block_end = n;
            *next = n + 2;
            break;
        }
        Py_ssize_t blank = line_end_at(p, n, end + 1, mode & CRLF);
        if (blank > 0) {
            block_end = vend;
            *next = end + 1 + blank;
            break;
        }
        dropped += end - vend;
        pos = end + 1;
    }
    /* oversize (the text's length: without the bytes dropped), repeated key */
    if (block_end - start - dropped > limit || PyDict_Size(dict) != lines) {
        goto irregular;
    }
    *out = dict;
    return 1;
irregular:
    Py_DECREF(dict);
    return 0;
error:
    Py_DECREF(dict);
    return -1;
}

/* Appends to `result` the dicts of the blocks of p[0:n] (text.split("\n\n"); empty blocks are
 * skipped): 1, or 0 if a block is not regular, -1 on error. */
static int
parse_blocks(speedups_state *st, const Py_UCS1 *p, Py_ssize_t n, int ascii, int mode,
             Py_ssize_t limit, const skip_list *skip, PyObject *result)
{
    Py_ssize_t start = 0;
    while (start < n) {
        Py_ssize_t lf = line_end_at(p, n, start, mode & CRLF);
        if (lf > 0) {
            Py_ssize_t lf2 = line_end_at(p, n, start + lf, mode & CRLF);
            if (lf2 > 0) {
                start += lf + lf2; /* an empty block */
                continue;
            }
            return 0; /* a block that starts with "\n" */
        }
        PyObject *dict;
        int rc = parse_block(st, p, n, start, ascii, mode, limit, skip, &dict, &start);
        if (rc <= 0) {
            return rc;
        }
        rc = PyList_Append(result, dict);
        Py_DECREF(dict);
        if (rc < 0) {
            return -1;
        }
    }
    return 1;
}

/* What parse_text and parse_bytes return: `result` when rc > 0, else None (not every block
 * regular: Python parses) or NULL with the error set (rc < 0); `result` is released then. */
static PyObject *
list_or_none(PyObject *result, int rc)
{
    if (rc > 0) {
        return result;
    }
    Py_DECREF(result);
    if (rc < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* limit as a Py_ssize_t, clamped (-1 for any negative limit); -2 with an error set. */
static Py_ssize_t
as_limit(PyObject *obj)
{
    if (!PyLong_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "limit must be an int, not %.100s", Py_TYPE(obj)->tp_name);
        return -2;
    }
    int overflow;
    long long big = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (big == -1 && PyErr_Occurred()) {
        return -2;
    }
    if (overflow > 0 || big > PY_SSIZE_T_MAX) {
        return PY_SSIZE_T_MAX;
    }
    if (overflow < 0 || big < 0) {
        return -1;
    }
    return (Py_ssize_t)big;
}

/* The skip argument (a tuple of ASCII str, or None) as a skip_list: 0, or -1 with an error. */
static int
as_skip_list(PyObject *given, skip_list *skip)
{
    skip->count = 0;
    if (given == Py_None) {
        return 0;
    }
    if (!PyTuple_Check(given) || PyTuple_GET_SIZE(given) > SKIP_MAX) {
        PyErr_Format(PyExc_TypeError, "skip must be a tuple of at most %d str", SKIP_MAX);
        return -1;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(given); i++) {
        PyObject *item = PyTuple_GET_ITEM(given, i);
        if (!PyUnicode_Check(item) || !PyUnicode_IS_ASCII(item) ||
            PyUnicode_GET_LENGTH(item) == 0) {
            PyErr_SetString(PyExc_TypeError, "skip must hold non-empty ASCII str");
            return -1;
        }
        skip->data[skip->count] = PyUnicode_1BYTE_DATA(item);
        skip->len[skip->count] = PyUnicode_GET_LENGTH(item);
        skip->count++;
    }
    return 0;
}

static PyObject *
parse_text(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 && nargs != 3) {
        PyErr_SetString(PyExc_TypeError,
                        "parse_text(text, limit, skip=()) takes 2 or 3 arguments");
        return NULL;
    }
    skip_list skip;
    if (as_skip_list(nargs == 3 ? args[2] : Py_None, &skip) < 0) {
        return NULL;
    }
    PyObject *text = args[0];
    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "text must be a str, not %.100s", Py_TYPE(text)->tp_name);
        return NULL;
    }
    Py_ssize_t limit = as_limit(args[1]);
    if (limit == -2) {
        return NULL;
    }
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(text) < 0) {
        return NULL;
    }
#endif
    if (PyUnicode_KIND(text) != PyUnicode_1BYTE_KIND) {
        Py_RETURN_NONE;
    }
    speedups_state *st = PyModule_GetState(module);
    if (st == NULL) {
        return NULL;
    }
    const Py_UCS1 *p = PyUnicode_1BYTE_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int ascii = PyUnicode_MAX_CHAR_VALUE(text) < 128;
    PyObject *result = PyList_New(0);
    if (result == NULL) {
        return NULL;
    }
    int rc = parse_blocks(st, p, n, ascii, 0, limit, &skip, result);
    return list_or_none(result, rc);
}

/* ---- parse_bytes: the bytes as read, without the CRLF copy, the join and the decode ---- */

/* Copies src[0:n] to dst without the CRs that come before an LF (bytes.replace(b"\r\n",
 * b"\n")); the bytes written. */
static Py_ssize_t
copy_lf(Py_UCS1 *dst, const Py_UCS1 *src, Py_ssize_t n)
{
    Py_ssize_t w = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS1 c = src[i];
        if (c != '\r' || i + 1 == n || src[i + 1] != '\n') {
            dst[w++] = c;
        }
    }
    return w;
}

/* Whether the "\n" at d[j] comes right after another "\n" in the text h + lf(d) (lf: CRLF to
 * LF); *before is the index in d of that other "\n" (-1: the last byte of h). */
static int
after_lf(const Py_UCS1 *h, Py_ssize_t hn, const Py_UCS1 *d, Py_ssize_t j, Py_ssize_t *before)
{
    Py_ssize_t q = j - 1;
    if (q >= 0 && d[q] == '\r') {
        q--;
    }
    *before = q;
    return q >= 0 ? d[q] == '\n' : (hn > 0 && h[hn - 1] == '\n');
}

/* The blocks of the text h + lf(d[0:n]) (h: LF already) into `result`, as parse_blocks; the
 * text is copied (it is a message or two: the one h starts). */
static int
parse_joined(speedups_state *st, const Py_UCS1 *h, Py_ssize_t hn, const Py_UCS1 *d,
             Py_ssize_t n, Py_ssize_t limit, const skip_list *skip, PyObject *result)
{
    Py_UCS1 *text = PyMem_Malloc((size_t)(hn + n + 1));
    if (text == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    memcpy(text, h, (size_t)hn);
    Py_ssize_t len = hn + copy_lf(text + hn, d, n);
    int rc = parse_blocks(st, text, len, 1, UTF8, limit, skip, result);
    PyMem_Free(text);
    return rc;
}

static PyObject *
parse_bytes(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4 && nargs != 5) {
        PyErr_SetString(PyExc_TypeError,
                        "parse_bytes(buf, data, size, limit, skip=()) takes 4 or 5 arguments");
        return NULL;
    }
    PyObject *buf = args[0];
    PyObject *data = args[1];
    if (!PyByteArray_Check(buf)) {
        PyErr_Format(PyExc_TypeError, "buf must be a bytearray, not %.100s",
                     Py_TYPE(buf)->tp_name);
        return NULL;
    }
    if (!PyBytes_Check(data)) {
        PyErr_Format(PyExc_TypeError, "data must be bytes, not %.100s", Py_TYPE(data)->tp_name);
        return NULL;
    }
    if (!PyLong_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "size must be an int");
        return NULL;
    }
    Py_ssize_t size = PyLong_AsSsize_t(args[2]);
    if (size == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (size < 0 || size > PyBytes_GET_SIZE(data)) {
        PyErr_SetString(PyExc_ValueError, "size must be from 0 to len(data)");
        return NULL;
    }
    Py_ssize_t limit = as_limit(args[3]);
    if (limit == -2) {
        return NULL;
    }
    skip_list skip;
    if (as_skip_list(nargs == 5 ? args[4] : Py_None, &skip) < 0) {
        return NULL;
    }
    speedups_state *st = PyModule_GetState(module);
    if (st == NULL) {
        return NULL;
    }
    const Py_UCS1 *h = (const Py_UCS1 *)PyByteArray_AS_STRING(buf);
    Py_ssize_t hn = PyByteArray_GET_SIZE(buf);
    const Py_UCS1 *d = (const Py_UCS1 *)PyBytes_AS_STRING(data);
    /* the text's last blank line: "\n\n" once CRLF is LF, its second "\n" in d */
    Py_ssize_t last = size - 1;
    Py_ssize_t last_before = -1; /* its first "\n": in d, or -1 for the last byte of buf */
    while (last >= 0 && (d[last] != '\n' || !after_lf(h, hn, d, last, &last_before))) {
        last--;
    }
    if (last < 0) {
        Py_RETURN_NONE; /* no whole message yet: feed() keeps the bytes */
    }
    for (Py_ssize_t i = 0; i + 1 < hn; i++) { /* buf: no blank line (a Response: Follows) */
        if (h[i] == '\n' && h[i + 1] == '\n') {
            Py_RETURN_NONE;
        }
    }
    PyObject *result = PyList_New(0);
    if (result == NULL) {
        return NULL;
    }
    int rc;
    if (last_before < 0) { /* the text is buf without its last byte */
        rc = parse_blocks(st, h, hn - 1, 1, UTF8, limit, &skip, result);
    }
    else {
        /* the text ends before last_before (and the CR of its CRLF) */
        Py_ssize_t text_end = last_before - (last_before > 0 && d[last_before - 1] == '\r');
        Py_ssize_t from = 0; /* the text from d[from] on is parsed as it is in d */
        rc = 1;
        if (hn > 0) {
            /* the message buf starts ends at the text's first blank line: that much of the
             * text is joined and parsed as text (the next block starts after its "\n\n") */
            Py_ssize_t j = 0;
            Py_ssize_t before;
            for (;;) { /* there is one: the last one at the latest */
                const Py_UCS1 *nl = memchr(d + j, '\n', (size_t)(last + 1 - j));
                j = nl - d;
                if (after_lf(h, hn, d, j, &before)) {
                    break;
                }
                j++;
            }
            from = j < last_before ? j + 1 : text_end; /* a blank line inside the text */
            rc = parse_joined(st, h, hn, d, from, limit, &skip, result);
        }
        if (rc > 0 && from < text_end) {
            rc = parse_blocks(st, d + from, text_end - from, 1, CRLF | UTF8, limit, &skip, result);
        }
    }
    if (rc > 0) { /* buf keeps what follows the last blank line, LF only */
        Py_ssize_t rest = size - (last + 1);
        if (PyByteArray_Resize(buf, rest) < 0) {
            rc = -1;
        }
        else {
            Py_UCS1 *out = (Py_UCS1 *)PyByteArray_AS_STRING(buf);
            Py_ssize_t kept = copy_lf(out, d + last + 1, rest);
            if (kept < rest && PyByteArray_Resize(buf, kept) < 0) {
                rc = -1;
            }
        }
    }
    return list_or_none(result, rc);
}

static PyObject *
crlf_to_lf(PyObject *module, PyObject *data)
{
    (void)module;
    if (!PyBytes_Check(data)) {
        PyErr_Format(PyExc_TypeError, "data must be bytes, not %.100s", Py_TYPE(data)->tp_name);
        return NULL;
    }
    const char *p = PyBytes_AS_STRING(data);
    Py_ssize_t n = PyBytes_GET_SIZE(data);
    const char *stop = p + n;
    const char *c = memchr(p, '\r', (size_t)n);
    if (c == NULL) {
        Py_INCREF(data);
        return data;
    }
    /* one pass into a scratch buffer (the text is searched once, not once to count the
     * pairs and once to copy), then the bytes object of the length it came to */
    char *buf = PyMem_Malloc(n > 0 ? (size_t)n : 1);
    if (buf == NULL) {
        return PyErr_NoMemory();
    }
    char *w = buf;
    const char *r = p;
    while (c != NULL) {
        if (c + 1 < stop && c[1] == '\n') {
            memcpy(w, r, (size_t)(c - r));
            w += c - r; /* drop the CR, keep the LF */
        }
        else {
            memcpy(w, r, (size_t)(c + 1 - r));
            w += c + 1 - r;
        }
        r = c + 1;
        c = memchr(r, '\r', (size_t)(stop - r));
    }
    memcpy(w, r, (size_t)(stop - r));
    w += stop - r;
    PyObject *out;
    if (w - buf == n) { /* CRs, but none before an LF: the same bytes */
        Py_INCREF(data);
        out = data;
    }
    else {
        out = PyBytes_FromStringAndSize(buf, w - buf);
    }
    PyMem_Free(buf);
    return out;
}

static int
speedups_traverse(PyObject *module, visitproc visit, void *arg)
{
    speedups_state *st = PyModule_GetState(module);
    if (st != NULL) {
        for (int i = 0; i < KEY_SLOTS; i++) {
            Py_VISIT(st->keys[i]);
            for (int w = 0; w < VALUE_WAYS; w++) {
                Py_VISIT(st->values[i][w]);
            }
        }
    }
    return 0;
}

static int
speedups_clear(PyObject *module)
{
    speedups_state *st = PyModule_GetState(module);
    if (st != NULL) {
        for (int i = 0; i < KEY_SLOTS; i++) {
            Py_CLEAR(st->keys[i]);
            clear_values(st->values[i]);
        }
    }
    return 0;
}

static void
speedups_free(void *module)
{
    speedups_clear((PyObject *)module);
}

PyDoc_STRVAR(parse_text_doc,
             "parse_text(text, limit, skip=(), /)\n--\n\n"
             "One dict per non-empty block of text.split('\\n\\n') if every block is a\n"
             "regular AMI message of at most `limit` characters; None if any block needs the\n"
             "pure-Python parser.");

PyDoc_STRVAR(crlf_to_lf_doc,
             "crlf_to_lf(data, /)\n--\n\n"
             "data.replace(b'\\r\\n', b'\\n'), without bytes.replace's general search.");

PyDoc_STRVAR(parse_bytes_doc,
             "parse_bytes(buf, data, size, limit, skip=(), /)\n--\n\n"
             "The dicts of AmiParser.feed() for the bytes buf + data[:size] (data with CRLF or LF\n"
             "line ends), with buf left holding the bytes after the last blank line; None (buf\n"
             "untouched) if there is no whole message or any part needs the pure-Python parser.");

static PyMethodDef speedups_methods[] = {
    {"parse_bytes", (PyCFunction)(void (*)(void))parse_bytes, METH_FASTCALL, parse_bytes_doc},
    {"parse_text", (PyCFunction)(void (*)(void))parse_text, METH_FASTCALL, parse_text_doc},
    {"crlf_to_lf", crlf_to_lf, METH_O, crlf_to_lf_doc},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot speedups_slots[] = {
#if PY_VERSION_HEX >= 0x030C0000
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
    {0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "collectors.ami._speedups",
    .m_doc = "C step of the AMI parser: regular blocks to dicts (see parser.py).",
    .m_size = sizeof(speedups_state),
    .m_methods = speedups_methods,
    .m_slots = speedups_slots,
    .m_traverse = speedups_traverse,
    .m_clear = speedups_clear,
    .m_free = speedups_free,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModuleDef_Init(&speedups_module);
}
