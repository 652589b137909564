/* Optional C steps of collectors/ami/parser.py (docs/decisions/0006-c-ami-parser.md).
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
 *     per event as building the dicts.
 *
 * Speed: keys repeat from message to message, so each key is looked up in a small table by
 * its bytes (hashed while the line is scanned for ": ") and the cached str (with its cached
 * hash) is reused; the last VALUE_WAYS values seen for each cached key are reused too when
 * their bytes are equal (ChannelState: 6, Privilege: call,all, and the Channel, Uniqueid and
 * caller ID of the few calls whose events interleave): no new str then, and a value's hash,
 * once computed (a dict or tuple key downstream), is kept with it.
 * Only documented CPython API is used (no private _Py* calls). The caches live in the module
 * state and hold at most KEY_SLOTS keys and KEY_SLOTS * VALUE_WAYS values, each at most
 * CACHE_MAX_LEN long.
 * Nothing here raises on any text: odd input gives None; wrong argument types a TypeError.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#define KEY_SLOTS 512 /* a power of two */
#define VALUE_WAYS 4
#define CACHE_MAX_LEN 64
#define FNV_OFFSET 2166136261u
#define FNV_PRIME 16777619u

typedef struct {
    PyObject *keys[KEY_SLOTS];               /* str or NULL */
    PyObject *values[KEY_SLOTS][VALUE_WAYS]; /* recent values of keys[i], the latest first */
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

static int
same_bytes(PyObject *s, const Py_UCS1 *p, Py_ssize_t n)
{
    /* Cached objects are canonical one-byte strs, so equal text means equal bytes. */
    return PyUnicode_GET_LENGTH(s) == n && memcmp(PyUnicode_1BYTE_DATA(s), p, (size_t)n) == 0;
}

static void
clear_values(PyObject **ways)
{
    for (int w = 0; w < VALUE_WAYS; w++) {
        Py_CLEAR(ways[w]);
    }
}

/* New reference to the key str for p[0:n] (FNV-1a hash of its bytes: `hash`); *slot is its
 * cache slot, or -1 if not cached. */
static PyObject *
get_key(speedups_state *st, const Py_UCS1 *p, Py_ssize_t n, size_t hash, int ascii,
        Py_ssize_t *slot)
{
    *slot = -1;
    if (n > CACHE_MAX_LEN) {
        return new_str(p, n, ascii);
    }
    Py_ssize_t i = (Py_ssize_t)(hash & (KEY_SLOTS - 1));
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
            memcmp(p + n - k, skip->data[i], (size_t)k) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The dict of the block that starts at p[start] (not "\n", start < n) and ends at the first
 * "\n\n" or at n: 1 with *out set and *next at the next block, 0 if the block is not regular,
 * -1 on error. Every byte is looked at once: ':' and '\n' by hand (keys are short), the rest
 * of a value by memchr. */
static int
parse_block(speedups_state *st, const Py_UCS1 *p, Py_ssize_t n, Py_ssize_t start, int ascii,
            Py_ssize_t limit, const skip_list *skip, PyObject **out, Py_ssize_t *next)
{
    *out = NULL;
    Py_UCS1 first = p[start];
    if (first >= 128 || (first >= 'a' && first <= 'z')) {
        return 0;
    }
    if (n - start >= (Py_ssize_t)FOLLOWS_LEN && memcmp(p + start, FOLLOWS, FOLLOWS_LEN) == 0) {
        return 0;
    }
    PyObject *dict = PyDict_New();
    if (dict == NULL) {
        return -1;
    }
    Py_ssize_t lines = 0;
    Py_ssize_t pos = start; /* start of the current line */
    Py_ssize_t block_end;
    for (;;) {
        Py_ssize_t sep = pos;
        size_t hash = FNV_OFFSET; /* of the key's bytes, for the key cache */
        for (;;) {                /* the first ": " of the line */
            while (sep < n && p[sep] != ':' && p[sep] != '\n') {
                hash = (hash ^ p[sep]) * FNV_PRIME;
                sep++;
            }
            if (sep + 1 >= n || p[sep] == '\n') {
                goto irregular; /* no ": " on this line */
            }
            if (p[sep + 1] == ' ') {
                break;
            }
            hash = (hash ^ ':') * FNV_PRIME; /* a ':' inside the key */
            sep++;
        }
        if (sep - pos == 6 && memcmp(p + pos, "Output", 6) == 0) {
            goto irregular;
        }
        Py_ssize_t vstart = sep + 2;
        const Py_UCS1 *nl = memchr(p + vstart, '\n', (size_t)(n - vstart));
        Py_ssize_t end = nl == NULL ? n : nl - p;
        if (skip->count > 0 && skipped(skip, p + pos, sep - pos)) {
            /* a header the caller never reads: as if the line were not there */
            if (nl == NULL) {
                block_end = n;
                *next = n + 2;
                break;
            }
            if (end + 1 < n && p[end + 1] == '\n') {
                block_end = end;
                *next = end + 2;
                break;
            }
            pos = end + 1;
            continue;
        }
        Py_ssize_t slot;
        PyObject *key = get_key(st, p + pos, sep - pos, hash, ascii, &slot);
        if (key == NULL) {
            goto error;
        }
        PyObject *value = get_value(st, slot, p + vstart, end - vstart, ascii);
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
        if (nl == NULL) {
            block_end = n;
            *next = n + 2;
            break;
        }
        if (end + 1 < n && p[end + 1] == '\n') {
            block_end = end;
            *next = end + 2;
            break;
        }
        pos = end + 1;
    }
    if (block_end - start > limit || PyDict_Size(dict) != lines) { /* oversize, repeated key */
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

static PyObject *
parse_text(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 && nargs != 3) {
        PyErr_SetString(PyExc_TypeError,
                        "parse_text(text, limit, skip=()) takes 2 or 3 arguments");
        return NULL;
    }
    skip_list skip;
    skip.count = 0;
    if (nargs == 3 && args[2] != Py_None) {
        PyObject *given = args[2];
        if (!PyTuple_Check(given) || PyTuple_GET_SIZE(given) > SKIP_MAX) {
            PyErr_Format(PyExc_TypeError, "skip must be a tuple of at most %d str", SKIP_MAX);
            return NULL;
        }
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(given); i++) {
            PyObject *item = PyTuple_GET_ITEM(given, i);
            if (!PyUnicode_Check(item) || !PyUnicode_IS_ASCII(item) ||
                PyUnicode_GET_LENGTH(item) == 0) {
                PyErr_SetString(PyExc_TypeError, "skip must hold non-empty ASCII str");
                return NULL;
            }
            skip.data[skip.count] = PyUnicode_1BYTE_DATA(item);
            skip.len[skip.count] = PyUnicode_GET_LENGTH(item);
            skip.count++;
        }
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
    Py_ssize_t start = 0;
    while (start < n) { /* the blocks of text.split("\n\n"); empty ones are skipped */
        if (p[start] == '\n') {
            if (start + 1 < n && p[start + 1] == '\n') {
                start += 2; /* an empty block */
                continue;
            }
            Py_DECREF(result); /* a block that starts with "\n" */
            Py_RETURN_NONE;
        }
        PyObject *dict;
        int rc = parse_block(st, p, n, start, ascii, limit, &skip, &dict, &start);
        if (rc <= 0) {
            Py_DECREF(result);
            if (rc < 0) {
                return NULL;
            }
            Py_RETURN_NONE;
        }
        rc = PyList_Append(result, dict);
        Py_DECREF(dict);
        if (rc < 0) {
            Py_DECREF(result);
            return NULL;
        }
    }
    return result;
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

static PyMethodDef speedups_methods[] = {
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
