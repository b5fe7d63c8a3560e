/* intq.runtime.fast._intq_entry: a planned graph's run (intq.runtime.fast.plan.Plan.run) as one CPython call.
 * The only C of the project that uses the Python C API (the .c files directly in csrc/ are the kernel library,
 * plain C).
 *
 * The kernel library (_intq_fast, plain C, loaded with ctypes) does the work; this module only moves the
 * Python side of a run into C: it takes the inputs through the buffer protocol, copies small ones into the
 * plan's input buffers or points the plan's copy records at large ones, makes the outputs, calls
 * intq_run_plan (through the address ctypes gives, with the GIL released, as ctypes calls do) and returns the
 * outputs. Plan.run does the same in Python in 4-8 us more per call (docs/performance.md).
 *
 * PlanEntry(run_plan, table, plan_words, inputs, in_rows, outputs, out_rows, try_lock, unlock, empty_like)
 *   run_plan: the address of intq_run_plan; table: the plan's int64 record table (C-contiguous, writable);
 *   inputs / outputs: the plan's buffers; in_rows / out_rows: the table row of each one's copy record, or -1
 *   (copied here: inputs by memcpy before the call, outputs by their .copy() after it); try_lock / unlock:
 *   the plan's lock (shared with Plan.run), e.g. functools.partial(lock.acquire, False) and lock.release;
 *   empty_like: numpy.empty_like, which makes each large output. At most MAX_TENSORS (a module constant)
 *   inputs and as many outputs.
 * entry(*inputs) -> list of outputs, or None when the inputs are not exactly the planned ones (count, shape,
 * buffer format, C-contiguous) or another thread holds the plan: the caller then takes its general path,
 * which accepts or rejects what this one declines. It never raises for the inputs it is given. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define MAX_TENSORS 64
#define MAX_DIMS 8

typedef int (*run_plan_fn)(const int64_t *plan, long nrec);

typedef struct {
    char *buf;                                  /* the planned buffer */
    Py_ssize_t len, itemsize;
    int ndim;
    Py_ssize_t shape[MAX_DIMS];
    char format[16];
    long row;                                   /* copy record's row, or -1 */
} in_spec;

typedef struct {
    PyObject_HEAD
    run_plan_fn run;
    int64_t *table;
    long n_table, words;
    int n_in, n_out;
    in_spec ins[MAX_TENSORS];
    PyObject *outputs[MAX_TENSORS];             /* the planned output buffers */
    long out_rows[MAX_TENSORS];
    PyObject *keep;                             /* the table, the buffers: alive as long as this entry */
    PyObject *try_lock, *unlock, *empty_like;
} PlanEntry;

static PyObject *s_copy;                        /* "copy", interned */

/* a writable or read-only view's pointer and layout, C-contiguous; 0 on success (else the error is cleared) */
static int c_view(PyObject *o, Py_buffer *v, int writable) {
    if (PyObject_GetBuffer(o, v, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0)) != 0) {
        PyErr_Clear();
        return -1;
    }
    return 0;
}

static int entry_init(PlanEntry *self, PyObject *args, PyObject *kwds) {
    unsigned long long run_at;
    PyObject *table, *inputs, *in_rows, *outputs, *out_rows, *try_lock, *unlock, *empty_like;
    long words;
    (void)kwds;
    if (!PyArg_ParseTuple(args, "KOlOOOOOOO", &run_at, &table, &words, &inputs, &in_rows, &outputs, &out_rows,
                          &try_lock, &unlock, &empty_like))
        return -1;
    if (!PyList_Check(inputs) || !PyList_Check(outputs) || !PyList_Check(in_rows) || !PyList_Check(out_rows)
        || PyList_GET_SIZE(inputs) != PyList_GET_SIZE(in_rows) || PyList_GET_SIZE(outputs) != PyList_GET_SIZE(out_rows)
        || PyList_GET_SIZE(inputs) > MAX_TENSORS || PyList_GET_SIZE(outputs) > MAX_TENSORS || run_at == 0
        || words < 4) {
        PyErr_SetString(PyExc_ValueError, "PlanEntry: bad arguments");
        return -1;
    }
    Py_buffer v;
    const int table_ok = c_view(table, &v, 1) == 0;
    if (table_ok && v.itemsize != (Py_ssize_t)sizeof(int64_t)) PyBuffer_Release(&v);
    if (!table_ok || v.itemsize != (Py_ssize_t)sizeof(int64_t)) {
        PyErr_SetString(PyExc_ValueError, "PlanEntry: the table must be a writable C-contiguous int64 array");
        return -1;
    }
    self->table = v.buf;
    self->n_table = (long)(v.len / (Py_ssize_t)(words * sizeof(int64_t)));
    PyBuffer_Release(&v);
    self->words = words;
    self->run = (run_plan_fn)(uintptr_t)run_at;
    self->n_in = (int)PyList_GET_SIZE(inputs);
    self->n_out = (int)PyList_GET_SIZE(outputs);
    for (int k = 0; k < self->n_in; k++) {
        in_spec *s = &self->ins[k];
        if (c_view(PyList_GET_ITEM(inputs, k), &v, 1) != 0) {
            PyErr_SetString(PyExc_ValueError, "PlanEntry: each input buffer must be writable and C-contiguous");
            return -1;
        }
        const int fits = v.ndim <= MAX_DIMS && strlen(v.format) < sizeof s->format;
        if (fits) {
            s->buf = v.buf;
            s->len = v.len;
            s->itemsize = v.itemsize;
            s->ndim = v.ndim;
            for (int d = 0; d < v.ndim; d++) s->shape[d] = v.shape[d];
            strcpy(s->format, v.format);
        }
        PyBuffer_Release(&v);
        s->row = PyLong_AsLong(PyList_GET_ITEM(in_rows, k));
        if (!fits || (s->row == -1 && PyErr_Occurred()) || s->row >= self->n_table) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "PlanEntry: an input it cannot take");
            return -1;
        }
    }
    for (int m = 0; m < self->n_out; m++) {
        if (c_view(PyList_GET_ITEM(outputs, m), &v, 0) != 0) {
            PyErr_SetString(PyExc_ValueError, "PlanEntry: each output buffer must be C-contiguous");
            return -1;
        }
        PyBuffer_Release(&v);
        self->out_rows[m] = PyLong_AsLong(PyList_GET_ITEM(out_rows, m));
        if ((self->out_rows[m] == -1 && PyErr_Occurred()) || self->out_rows[m] >= self->n_table) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "PlanEntry: bad output row");
            return -1;
        }
        Py_INCREF(PyList_GET_ITEM(outputs, m));
        Py_XSETREF(self->outputs[m], PyList_GET_ITEM(outputs, m));
    }
    Py_XSETREF(self->keep, Py_BuildValue("(OOO)", table, inputs, outputs));
    Py_INCREF(try_lock);
    Py_XSETREF(self->try_lock, try_lock);
    Py_INCREF(unlock);
    Py_XSETREF(self->unlock, unlock);
    Py_INCREF(empty_like);
    Py_XSETREF(self->empty_like, empty_like);
    return self->keep ? 0 : -1;
}

/* whether view v holds exactly what planned input s does */
static int matches(const Py_buffer *v, const in_spec *s) {
    if (v->ndim != s->ndim || v->len != s->len || v->itemsize != s->itemsize || strcmp(v->format, s->format) != 0)
        return 0;
    for (int d = 0; d < s->ndim; d++)
        if (v->shape[d] != s->shape[d]) return 0;
    return 1;
}

static PyObject *entry_call(PlanEntry *self, PyObject *args, PyObject *kwds) {
    if (kwds || !self->keep || PyTuple_GET_SIZE(args) != self->n_in) Py_RETURN_NONE;
    PyObject *locked = PyObject_CallNoArgs(self->try_lock);
    if (!locked) return NULL;
    const int have = PyObject_IsTrue(locked);
    Py_DECREF(locked);
    if (have <= 0) {
        if (have < 0) return NULL;
        Py_RETURN_NONE;
    }
    Py_buffer views[MAX_TENSORS];
    int held = 0, ok = 1;
    PyObject *result = NULL;
    for (; held < self->n_in; held++) {
        if (c_view(PyTuple_GET_ITEM(args, held), &views[held], 0) != 0) { ok = 0; break; }
        if (!matches(&views[held], &self->ins[held])) { held++; ok = 0; break; }
    }
    if (ok) {
        result = PyList_New(self->n_out);
        for (int m = 0; result && m < self->n_out; m++) {
            if (self->out_rows[m] < 0) continue;
            PyObject *y = PyObject_CallOneArg(self->empty_like, self->outputs[m]);
            Py_buffer ov;
            if (y && c_view(y, &ov, 1) != 0) {
                PyErr_SetString(PyExc_RuntimeError, "PlanEntry: an output without a writable C-contiguous buffer");
                Py_CLEAR(y);
            }
            if (!y) { Py_CLEAR(result); break; }
            self->table[self->out_rows[m] * self->words + 1] = (int64_t)(intptr_t)ov.buf;
            PyBuffer_Release(&ov);          /* the array keeps its memory: nothing can resize it meanwhile */
            PyList_SET_ITEM(result, m, y);
        }
        if (result) {
            for (int k = 0; k < self->n_in; k++) {
                const in_spec *s = &self->ins[k];
                if (s->row < 0) memmove(s->buf, views[k].buf, (size_t)s->len);   /* it may be the buffer itself */
                else self->table[s->row * self->words + 2] = (int64_t)(intptr_t)views[k].buf;
            }
            int err;
            Py_BEGIN_ALLOW_THREADS
            err = self->run(self->table, self->n_table);
            Py_END_ALLOW_THREADS
            if (err) {
                PyErr_SetString(PyExc_MemoryError, "intq_run_plan: scratch allocation failed");
                Py_CLEAR(result);
            }
            for (int m = 0; result && m < self->n_out; m++) {
                if (self->out_rows[m] >= 0) continue;
                PyObject *y = PyObject_CallMethodNoArgs(self->outputs[m], s_copy);
                if (!y) { Py_CLEAR(result); break; }
                PyList_SET_ITEM(result, m, y);
            }
        }
    }
    for (int k = 0; k < held; k++) PyBuffer_Release(&views[k]);
    PyObject *exc_type, *exc_value, *exc_tb;
    PyErr_Fetch(&exc_type, &exc_value, &exc_tb);
    PyObject *r = PyObject_CallNoArgs(self->unlock);
    if (!r) {
        Py_XDECREF(exc_type); Py_XDECREF(exc_value); Py_XDECREF(exc_tb);
        Py_XDECREF(result);
        return NULL;
    }
    Py_DECREF(r);
    PyErr_Restore(exc_type, exc_value, exc_tb);
    if (!ok) Py_RETURN_NONE;
    return result;
}

static int entry_traverse(PlanEntry *self, visitproc visit, void *arg) {
    Py_VISIT(self->keep);
    Py_VISIT(self->try_lock);
    Py_VISIT(self->unlock);
    Py_VISIT(self->empty_like);
    for (int m = 0; m < self->n_out; m++) Py_VISIT(self->outputs[m]);
    return 0;
}

static int entry_clear(PlanEntry *self) {
    Py_CLEAR(self->keep);
    Py_CLEAR(self->try_lock);
    Py_CLEAR(self->unlock);
    Py_CLEAR(self->empty_like);
    for (int m = 0; m < MAX_TENSORS; m++) Py_CLEAR(self->outputs[m]);
    self->n_in = self->n_out = 0;
    return 0;
}

static void entry_dealloc(PlanEntry *self) {
    PyObject_GC_UnTrack(self);
    entry_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject PlanEntryType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "intq.runtime.fast._intq_entry.PlanEntry",
    .tp_doc = "A planned graph's run as one call: entry(*inputs) -> outputs, or None (see the module's doc).",
    .tp_basicsize = sizeof(PlanEntry),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)entry_init,
    .tp_call = (ternaryfunc)entry_call,
    .tp_traverse = (traverseproc)entry_traverse,
    .tp_clear = (inquiry)entry_clear,
    .tp_dealloc = (destructor)entry_dealloc,
};

static struct PyModuleDef entry_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_intq_entry",
    .m_doc = "A planned graph's run as one CPython call (csrc/python/intq_entry.c; intq.runtime.fast.plan uses it).",
    .m_size = -1,
};

PyMODINIT_FUNC PyInit__intq_entry(void) {
    if (PyType_Ready(&PlanEntryType) < 0) return NULL;
    s_copy = PyUnicode_InternFromString("copy");
    PyObject *m = PyModule_Create(&entry_module);
    if (!m || !s_copy) return NULL;
    if (PyModule_AddIntConstant(m, "MAX_TENSORS", MAX_TENSORS) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&PlanEntryType);
    if (PyModule_AddObject(m, "PlanEntry", (PyObject *)&PlanEntryType) < 0) {
        Py_DECREF(&PlanEntryType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
