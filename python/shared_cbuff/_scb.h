/*
 * _scb.h - what the two files of the extension module shared_cbuff._scb
 * share: the Ring object (one libscb handle), the View object (a record
 * peeked or reserved in place), taking a handle for a call, and errors.
 *
 * The module is built against the stable ABI of CPython 3.11, the oldest
 * release still supported, so that one build serves every later Python 3.
 */
#ifndef SCB_PY_H
#define SCB_PY_H

#define Py_LIMITED_API 0x030B0000
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>

#include <scb.h>

/*
 * A Ring owns one handle.  Every call on it runs with the handle taken:
 * `mu` held and `owner` set to the calling thread.  Calls that wait
 * (timeouts) give the handle back and release the GIL between slices of at
 * most SCB_PY_SLICE_MS, so other threads run, may use the handle between
 * slices, and Ctrl-C is seen.
 */
typedef struct {
    PyObject_HEAD
    scb_t *h;              /* NULL before _open and after _close */
    PyThread_type_lock mu; /* held by the thread using h */
    unsigned long owner;   /* that thread's ident, 0 if none (GIL-protected) */
    PyObject *name;        /* str: the ring's name, for messages */
    PyObject *backend;     /* str or None: the backend holding the ring */
    int writer;            /* 1 for the writer */
    int records;           /* 1 for a record ring (SCB_RECORDS) */
    int lossless;          /* 1 for a SCB_LOSSLESS ring */
    uint32_t item_size;    /* bytes per item; records: the largest record */
    uint64_t length;       /* items; records: bytes of record space */
    long pid;              /* process that opened h */
    int view_open;         /* a View of this ring is peeked or reserved */
    Py_ssize_t exports;    /* buffers exported over the ring's memory */
    unsigned char *scratch; /* scratch buffer for pops of many items */
    size_t scratch_size;
} RingObject;

#define SCB_PY_SLICE_MS 200

/* Not an SCB_ code: a Python exception is set. */
#define SCB_PY_ERR (-1000)

/* The types, created at module initialisation. */
extern PyObject *scb_py_view_type;

/* _scb.c */
int scb_py_take(RingObject *self);
void scb_py_give(RingObject *self);
int scb_py_retry(RingObject *self, int (*op)(RingObject *, void *), void *arg,
                 int64_t ms);
int scb_py_timeout(PyObject *timeout, int64_t *ms);
PyObject *scb_py_error(RingObject *self, int rc, const char *what);
PyObject *scb_py_error_cls(RingObject *self, int rc, const char *what,
                           const char *cls);
PyObject *scb_py_raise_cls(const char *cls, int code, PyObject *msg);
void scb_py_type_error(const char *what, PyObject *x);
int scb_py_need_reader(RingObject *self);
int scb_py_need_writer(RingObject *self);

/* _scb_view.c */
int scb_py_view_init(PyObject *module);
PyObject *scb_py_peek(RingObject *self, PyObject *const *args, Py_ssize_t nargs,
                      PyObject *kwnames);
PyObject *scb_py_reserve(RingObject *self, PyObject *const *args,
                         Py_ssize_t nargs, PyObject *kwnames);

/* Keyword parsing of the one keyword most calls take: `timeout`. */
int scb_py_args(const char *fn, PyObject *const *args, Py_ssize_t nargs,
                PyObject *kwnames, Py_ssize_t npos_min, Py_ssize_t npos_max,
                PyObject **pos, PyObject **timeout);

#endif
