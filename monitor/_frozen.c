/* Optional C step of monitor/frozen.py: a fast_init class built without a Python frame.
 *
 * install(cls, init, names, npos, steps, post_init) -> bool
 *     Makes instances of `cls` (a frozen, slotted dataclass that monitor.frozen.fast_init has
 *     just given its Python __init__, `init`) be built in C: the arguments are bound, and each
 *     field is stored through its descriptor's `tp_descr_set`: exactly the stores `init` makes,
 *     in the same (field) order, then __post_init__() if `post_init`. Two slots of the class
 *     are set: `tp_init` (what type.__call__ and mypyc's direct constructor call run after
 *     tp_new) and `tp_vectorcall` (a call of the class without the argument tuple and dict of
 *     type.__call__: tp_new, then the stores).
 *
 *     names: the __init__ parameters (positional ones first, then keyword-only ones); npos:
 *     how many may be given by position; steps: one (descriptor, parameter index or -1,
 *     has_default, default, factory or None) per field, in field order; index -1 is a field
 *     that is not an __init__ parameter. False (and nothing done) for a class of over
 *     MAX_PARAMS parameters, or when MAX_CLASSES / 2 classes are installed already.
 *
 * field_values(obj) -> tuple | None, rebuild(cls, values) -> object | None
 *     The two halves of pickling an installed class (its __reduce__ and the function that
 *     unpickles it, in monitor/frozen.py): the field values in field order, and an instance
 *     made with tp_new and those values stored through the descriptors. None: not an
 *     installed class (or not its number of values): the Python code does it.
 *
 * Only calls whose arguments bind are done here. Any other (too many positional arguments, an
 * unknown or repeated keyword, a missing argument) runs `init`, which raises its own
 * TypeError: the result, and every error, is the Python __init__'s.
 *
 * Why: mypyc calls the Python __init__ of a compiled dataclass (it leaves __init__ to the
 * dataclass machinery), and Python builds the frame, the argument tuple and the keyword dict:
 * about 1 us for a ten-field ChannelRef, and every AMI event builds one or two such objects
 * (docs/benchmarks.md, "History import").
 *
 * Both slots are documented type slots. `tp_vectorcall` is never inherited; a subclass gets
 * the `tp_init` of its own `__init__` (type.__new__ looks it up in the MRO, and finds the Python
 * one), so a subclass without fast_init is built the ordinary way. Assigning `__init__` on
 * an installed class afterwards resets `tp_init` but not `tp_vectorcall`: do not. The table of
 * installed classes is process-wide and holds a reference to each class (classes are made
 * once, at import). Only documented CPython API.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define MAX_CLASSES 1024 /* a power of two; at most half of it installed */
#define MAX_PARAMS 64

typedef struct {
    PyObject *descr;     /* the field's data descriptor (tp_descr_set) */
    Py_ssize_t param;    /* its __init__ parameter, or -1 */
    PyObject *deflt;     /* its default, or NULL */
    PyObject *factory;   /* its default_factory, or NULL */
} Step;

typedef struct {
    PyTypeObject *type;
    Py_ssize_t nparams;
    Py_ssize_t npos;
    PyObject *names;     /* tuple of str */
    Py_ssize_t nsteps;
    Step *steps;
    Py_ssize_t *step_of; /* per parameter: its step */
    int post_init;
    PyObject *py_init;   /* the class's Python __init__ (irregular calls) */
} Spec;

static Spec *specs[MAX_CLASSES];
static Py_ssize_t nspecs;
static PyObject *empty_tuple;
static PyObject *post_init_name;

static size_t
slot_of(PyTypeObject *type)
{
    return ((size_t)type >> 4) & (MAX_CLASSES - 1);
}

static Spec *
find_spec(PyTypeObject *type)
{
    size_t i = slot_of(type);
    for (;;) {
        Spec *sp = specs[i];
        if (sp == NULL || sp->type == type) {
            return sp;
        }
        i = (i + 1) & (MAX_CLASSES - 1);
    }
}

/* The ordinary call: type.__call__(cls, *args, **kwargs). */
static PyObject *
ordinary_call(PyObject *cls, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    PyObject *tuple = PyTuple_New(nargs);
    if (tuple == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < nargs; i++) {
        Py_INCREF(args[i]);
        PyTuple_SET_ITEM(tuple, i, args[i]);
    }
    PyObject *kwargs = NULL;
    if (nkw > 0) {
        kwargs = PyDict_New();
        if (kwargs == NULL) {
            Py_DECREF(tuple);
            return NULL;
        }
        for (Py_ssize_t i = 0; i < nkw; i++) {
            if (PyDict_SetItem(kwargs, PyTuple_GET_ITEM(kwnames, i), args[nargs + i]) < 0) {
                Py_DECREF(tuple);
                Py_DECREF(kwargs);
                return NULL;
            }
        }
    }
    PyObject *out = PyType_Type.tp_call(cls, tuple, kwargs);
    Py_DECREF(tuple);
    Py_XDECREF(kwargs);
    return out;
}

static Py_ssize_t
param_index(Spec *sp, PyObject *name)
{
    for (Py_ssize_t i = 0; i < sp->nparams; i++) {
        if (PyTuple_GET_ITEM(sp->names, i) == name) {
            return i;
        }
    }
    if (!PyUnicode_Check(name)) {
        return -1;
    }
    for (Py_ssize_t i = 0; i < sp->nparams; i++) {
        if (PyUnicode_Compare(PyTuple_GET_ITEM(sp->names, i), name) == 0) {
            return i;
        }
    }
    if (PyErr_Occurred()) {
        PyErr_Clear();
    }
    return -1;
}

/* Fill given[] (one per parameter, borrowed) from positional args and keywords (kwnames with
 * their values, or a kwargs dict): 1 if every parameter binds or has a default, else 0. */
static int
bind(Spec *sp, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
     PyObject *const *kwvalues, PyObject *kwdict, PyObject **given)
{
    if (nargs > sp->npos) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < sp->nparams; i++) {
        given[i] = i < nargs ? args[i] : NULL;
    }
    Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    for (Py_ssize_t k = 0; k < nkw; k++) {
        Py_ssize_t i = param_index(sp, PyTuple_GET_ITEM(kwnames, k));
        if (i < 0 || given[i] != NULL) {
            return 0;
        }
        given[i] = kwvalues[k];
    }
    if (kwdict != NULL) {
        Py_ssize_t pos = 0;
        PyObject *key, *value;
        while (PyDict_Next(kwdict, &pos, &key, &value)) {
            Py_ssize_t i = param_index(sp, key);
            if (i < 0 || given[i] != NULL) {
                return 0;
            }
            given[i] = value;
        }
    }
    for (Py_ssize_t i = 0; i < sp->nparams; i++) {
        Step *st = &sp->steps[sp->step_of[i]];
        if (given[i] == NULL && st->deflt == NULL && st->factory == NULL) {
            return 0; /* missing */
        }
    }
    return 1;
}

/* The Python __init__'s stores, in field order, then __post_init__(): 0, or -1 with an error. */
static int
store(Spec *sp, PyObject *obj, PyObject **given)
{
    for (Py_ssize_t s = 0; s < sp->nsteps; s++) {
        Step *st = &sp->steps[s];
        PyObject *value = st->param >= 0 ? given[st->param] : NULL;
        int rc;
        if (value != NULL) {
            rc = Py_TYPE(st->descr)->tp_descr_set(st->descr, obj, value);
        }
        else if (st->factory != NULL) {
            value = PyObject_CallNoArgs(st->factory);
            if (value == NULL) {
                return -1;
            }
            rc = Py_TYPE(st->descr)->tp_descr_set(st->descr, obj, value);
            Py_DECREF(value);
        }
        else if (st->deflt != NULL) {
            rc = Py_TYPE(st->descr)->tp_descr_set(st->descr, obj, st->deflt);
        }
        else {
            continue; /* init=False with no default: the Python __init__ leaves it unset too */
        }
        if (rc < 0) {
            return -1;
        }
    }
    if (sp->post_init) {
        PyObject *res = PyObject_CallMethodNoArgs(obj, post_init_name);
        if (res == NULL) {
            return -1;
        }
        Py_DECREF(res);
    }
    return 0;
}

/* tp_vectorcall of an installed class: cls(*args, **kwargs) without a tuple or a dict. */
static PyObject *
construct(PyObject *cls, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    PyTypeObject *type = (PyTypeObject *)cls;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    Spec *sp = find_spec(type);
    PyObject *given[MAX_PARAMS];
    if (sp == NULL || !bind(sp, args, nargs, kwnames, args + nargs, NULL, given)) {
        return ordinary_call(cls, args, nargs, kwnames); /* the Python __init__'s TypeError */
    }
    PyObject *obj = type->tp_new(type, empty_tuple, NULL);
    if (obj == NULL) {
        return NULL;
    }
    if (store(sp, obj, given) < 0) {
        Py_DECREF(obj);
        return NULL;
    }
    return obj;
}

/* The Python __init__ of self's class: __init__(self, *args, **kwds). */
static int
python_init(PyObject *init, PyObject *self, PyObject *args, PyObject *kwds)
{
    Py_ssize_t n = PyTuple_GET_SIZE(args);
    PyObject *full = PyTuple_New(n + 1);
    if (full == NULL) {
        return -1;
    }
    Py_INCREF(self);
    PyTuple_SET_ITEM(full, 0, self);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PyTuple_GET_ITEM(args, i);
        Py_INCREF(item);
        PyTuple_SET_ITEM(full, i + 1, item);
    }
    PyObject *res = PyObject_Call(init, full, kwds);
    Py_DECREF(full);
    if (res == NULL) {
        return -1;
    }
    if (res != Py_None) {
        PyErr_Format(PyExc_TypeError, "__init__() should return None, not '%.200s'",
                     Py_TYPE(res)->tp_name);
        Py_DECREF(res);
        return -1;
    }
    Py_DECREF(res);
    return 0;
}

/* tp_init of an installed class: what type.__call__ and mypyc's direct constructor call. */
static int
init_slot(PyObject *self, PyObject *args, PyObject *kwds)
{
    Spec *sp = find_spec(Py_TYPE(self));
    if (sp == NULL) { /* not expected (a subclass gets the slot of its own __init__) */
        PyObject *init = PyObject_GetAttrString((PyObject *)Py_TYPE(self), "__init__");
        if (init == NULL) {
            return -1;
        }
        int rc = python_init(init, self, args, kwds);
        Py_DECREF(init);
        return rc;
    }
    PyObject *given[MAX_PARAMS];
    PyObject *kwdict = kwds != NULL && PyDict_GET_SIZE(kwds) > 0 ? kwds : NULL;
    if (!PyTuple_Check(args) || (kwdict != NULL && !PyDict_Check(kwdict)) ||
        !bind(sp, &PyTuple_GET_ITEM(args, 0), PyTuple_GET_SIZE(args), NULL, NULL, kwdict,
              given)) {
        return python_init(sp->py_init, self, args, kwds); /* its TypeError */
    }
    return store(sp, self, given);
}

static void
free_spec(Spec *sp)
{
    if (sp == NULL) {
        return;
    }
    for (Py_ssize_t s = 0; s < sp->nsteps; s++) {
        Py_XDECREF(sp->steps[s].descr);
        Py_XDECREF(sp->steps[s].deflt);
        Py_XDECREF(sp->steps[s].factory);
    }
    PyMem_Free(sp->steps);
    PyMem_Free(sp->step_of);
    Py_XDECREF(sp->names);
    Py_XDECREF(sp->py_init);
    Py_XDECREF((PyObject *)sp->type);
    PyMem_Free(sp);
}

static PyObject *
install(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError, "install(cls, init, names, npos, steps, post_init)");
        return NULL;
    }
    PyObject *cls = args[0], *init = args[1], *names = args[2], *steps = args[4];
    if (!PyType_Check(cls) || !PyType_HasFeature((PyTypeObject *)cls, Py_TPFLAGS_HEAPTYPE)) {
        PyErr_SetString(PyExc_TypeError, "install: cls must be a class made by Python code");
        return NULL;
    }
    if (!PyTuple_Check(names) || !PyTuple_Check(steps)) {
        PyErr_SetString(PyExc_TypeError, "install: names and steps must be tuples");
        return NULL;
    }
    Py_ssize_t npos = PyLong_AsSsize_t(args[3]);
    if (npos == -1 && PyErr_Occurred()) {
        return NULL;
    }
    int post_init = PyObject_IsTrue(args[5]);
    if (post_init < 0) {
        return NULL;
    }
    PyTypeObject *type = (PyTypeObject *)cls;
    Py_ssize_t nparams = PyTuple_GET_SIZE(names);
    Py_ssize_t nsteps = PyTuple_GET_SIZE(steps);
    if (npos < 0 || npos > nparams) {
        PyErr_SetString(PyExc_ValueError, "install: npos out of range");
        return NULL;
    }
    Spec *old = find_spec(type); /* fast_init run on the class again: its new spec replaces it */
    if (nparams > MAX_PARAMS || (old == NULL && nspecs >= MAX_CLASSES / 2)) {
        Py_RETURN_FALSE; /* the class is built the ordinary way */
    }
    Spec *sp = PyMem_Calloc(1, sizeof(Spec));
    if (sp == NULL) {
        return PyErr_NoMemory();
    }
    sp->steps = PyMem_Calloc((size_t)(nsteps > 0 ? nsteps : 1), sizeof(Step));
    sp->step_of = PyMem_Calloc((size_t)(nparams > 0 ? nparams : 1), sizeof(Py_ssize_t));
    if (sp->steps == NULL || sp->step_of == NULL) {
        free_spec(sp);
        return PyErr_NoMemory();
    }
    Py_INCREF(cls);
    sp->type = type;
    Py_INCREF(names);
    sp->names = names;
    Py_INCREF(init);
    sp->py_init = init;
    sp->nparams = nparams;
    sp->npos = npos;
    sp->nsteps = nsteps;
    sp->post_init = post_init;
    for (Py_ssize_t i = 0; i < nparams; i++) {
        if (!PyUnicode_Check(PyTuple_GET_ITEM(names, i))) {
            PyErr_SetString(PyExc_TypeError, "install: parameter names must be str");
            free_spec(sp);
            return NULL;
        }
        sp->step_of[i] = -1;
    }
    for (Py_ssize_t s = 0; s < nsteps; s++) {
        PyObject *item = PyTuple_GET_ITEM(steps, s);
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 5) {
            PyErr_SetString(PyExc_TypeError, "install: a step is a 5-tuple");
            free_spec(sp);
            return NULL;
        }
        PyObject *descr = PyTuple_GET_ITEM(item, 0);
        Py_ssize_t param = PyLong_AsSsize_t(PyTuple_GET_ITEM(item, 1));
        int has_default = PyObject_IsTrue(PyTuple_GET_ITEM(item, 2));
        PyObject *factory = PyTuple_GET_ITEM(item, 4);
        if ((param == -1 && PyErr_Occurred()) || has_default < 0) {
            free_spec(sp);
            return NULL;
        }
        if (Py_TYPE(descr)->tp_descr_set == NULL || param < -1 || param >= nparams ||
            (param >= 0 && sp->step_of[param] != -1)) {
            PyErr_SetString(PyExc_ValueError, "install: bad step (descriptor or parameter)");
            free_spec(sp);
            return NULL;
        }
        Step *st = &sp->steps[s];
        Py_INCREF(descr);
        st->descr = descr;
        st->param = param;
        if (has_default) {
            st->deflt = PyTuple_GET_ITEM(item, 3);
            Py_INCREF(st->deflt);
        }
        if (factory != Py_None) {
            Py_INCREF(factory);
            st->factory = factory;
        }
        if (param >= 0) {
            sp->step_of[param] = s;
        }
    }
    for (Py_ssize_t i = 0; i < nparams; i++) {
        if (sp->step_of[i] == -1) {
            PyErr_SetString(PyExc_ValueError, "install: a parameter without a step");
            free_spec(sp);
            return NULL;
        }
    }
    size_t i = slot_of(type);
    while (specs[i] != NULL && specs[i] != old) {
        i = (i + 1) & (MAX_CLASSES - 1);
    }
    specs[i] = sp;
    if (old == NULL) {
        nspecs++;
    }
    else {
        free_spec(old);
    }
    type->tp_vectorcall = construct;
    type->tp_init = init_slot;
    Py_RETURN_TRUE;
}

static PyObject *
installed(PyObject *module, PyObject *cls)
{
    (void)module;
    if (!PyType_Check(cls)) {
        Py_RETURN_FALSE;
    }
    PyTypeObject *type = (PyTypeObject *)cls;
    return PyBool_FromLong(find_spec(type) != NULL && type->tp_vectorcall == construct &&
                           type->tp_init == init_slot);
}

/* The values of obj's fields, in field order (what its __reduce__ pickles): a new tuple, or
 * None when obj's class is not installed (a subclass without fast_init: Python reads it). */
static PyObject *
field_values(PyObject *module, PyObject *obj)
{
    (void)module;
    PyTypeObject *type = Py_TYPE(obj);
    Spec *sp = find_spec(type);
    if (sp == NULL) {
        Py_RETURN_NONE;
    }
    PyObject *out = PyTuple_New(sp->nsteps);
    if (out == NULL) {
        return NULL;
    }
    for (Py_ssize_t s = 0; s < sp->nsteps; s++) {
        PyObject *descr = sp->steps[s].descr;
        descrgetfunc get = Py_TYPE(descr)->tp_descr_get;
        PyObject *value = get == NULL ? NULL : get(descr, obj, (PyObject *)type);
        if (value == NULL) {
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_TypeError, "field_values: a field without a getter");
            }
            Py_DECREF(out);
            return NULL;
        }
        PyTuple_SET_ITEM(out, s, value);
    }
    return out;
}

/* An instance of cls with these field values (pickle's rebuild: tp_new, then each value
 * stored through its descriptor, in field order), or None when cls is not installed or the
 * number of values is not its number of fields (Python rebuilds it, or says what is wrong). */
static PyObject *
rebuild(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2 || !PyType_Check(args[0]) || !PyTuple_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "rebuild(cls, values: tuple)");
        return NULL;
    }
    PyTypeObject *type = (PyTypeObject *)args[0];
    PyObject *values = args[1];
    Spec *sp = find_spec(type);
    if (sp == NULL || PyTuple_GET_SIZE(values) != sp->nsteps) {
        Py_RETURN_NONE;
    }
    PyObject *obj = type->tp_new(type, empty_tuple, NULL);
    if (obj == NULL) {
        return NULL;
    }
    for (Py_ssize_t s = 0; s < sp->nsteps; s++) {
        PyObject *descr = sp->steps[s].descr;
        if (Py_TYPE(descr)->tp_descr_set(descr, obj, PyTuple_GET_ITEM(values, s)) < 0) {
            Py_DECREF(obj);
            return NULL;
        }
    }
    return obj;
}

PyDoc_STRVAR(install_doc,
             "install(cls, init, names, npos, steps, post_init, /)\n--\n\n"
             "Build instances of the fast_init class cls in C (see monitor/frozen.py).");

PyDoc_STRVAR(installed_doc,
             "installed(cls, /)\n--\n\n"
             "Whether calls of cls are built in C.");

PyDoc_STRVAR(field_values_doc,
             "field_values(obj, /)\n--\n\n"
             "The values of obj's fields in field order, or None if its class is not installed.");

PyDoc_STRVAR(rebuild_doc,
             "rebuild(cls, values, /)\n--\n\n"
             "An instance of cls with these field values, or None if cls is not installed.");

static PyMethodDef frozen_methods[] = {
    {"install", (PyCFunction)(void (*)(void))install, METH_FASTCALL, install_doc},
    {"installed", installed, METH_O, installed_doc},
    {"field_values", field_values, METH_O, field_values_doc},
    {"rebuild", (PyCFunction)(void (*)(void))rebuild, METH_FASTCALL, rebuild_doc},
    {NULL, NULL, 0, NULL},
};

static int
frozen_exec(PyObject *module)
{
    (void)module;
    if (empty_tuple == NULL) {
        empty_tuple = PyTuple_New(0);
        if (empty_tuple == NULL) {
            return -1;
        }
    }
    if (post_init_name == NULL) {
        post_init_name = PyUnicode_InternFromString("__post_init__");
        if (post_init_name == NULL) {
            return -1;
        }
    }
    return 0;
}

static PyModuleDef_Slot frozen_slots[] = {
    {Py_mod_exec, frozen_exec},
#if PY_VERSION_HEX >= 0x030C0000
    /* the table of installed classes is process-wide: one interpreter */
    {Py_mod_multiple_interpreters, Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED},
#endif
    {0, NULL},
};

static struct PyModuleDef frozen_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "monitor._frozen",
    .m_doc = "C step of monitor.frozen.fast_init: instances built without a Python frame.",
    .m_size = 0,
    .m_methods = frozen_methods,
    .m_slots = frozen_slots,
};

PyMODINIT_FUNC
PyInit__frozen(void)
{
    return PyModuleDef_Init(&frozen_module);
}
