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

#ifndef Py_LIMITED_API
#define Py_LIMITED_API 0x030B0000
#endif
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>

#include <scb.h>

/* A thread queued for a Ring's handle (on its stack while it waits). */
struct scb_py_waiter {
    PyThread_type_lock lock;     /* released by the thread handing over */
    unsigned long ident;         /* the waiting thread */
    int handed;                  /* 1: handed over (lock released), 2: lock taken */
    struct scb_py_waiter *next;
};

/*
 * A Ring owns one handle.  Every call on it runs with the handle taken
 * (scb_py_take): `held` set and `owner` the calling thread.  A thread that
 * finds it taken queues and sleeps without the GIL until the holder hands
 * it over (scb_py_give), first come first served.  These fields change
 * only under the GIL; `h` is used without the GIL only by the holder.
 * Calls that wait (timeouts) release the GIL around slices of at most
 * SCB_PY_SLICE_MS of scb_wait (SCB_PY_SHARED_SLICE_MS while other threads
 * queue for it) and hand the handle over between slices, so other
 * threads' calls go through and Ctrl-C is seen.
 *
 * Signal handlers run while a thread is queued (its sleep interrupted);
 * the thread keeps its place.  A handler's call on the same buffer waits
 * on that place too, and when the handle is handed to it, borrows it
 * (`lender`), giving it back to the queued call on return.
 */
typedef struct {
    PyObject_HEAD
    scb_t *h;              /* NULL before _open and after _close */
    int held;              /* the handle is taken */
    unsigned long owner;   /* by this thread */
    struct scb_py_waiter *queue, *queue_tail; /* threads waiting for it */
    struct scb_py_waiter *handed_to; /* handed to, not yet resumed */
    struct scb_py_waiter *lender; /* lent by to a signal handler's call */
    unsigned long fork_gen; /* scb_py_fork_gen when h was opened */
    PyObject *name;        /* str: the ring's name, for messages */
    PyObject *backend;     /* str or None: the backend holding the ring */
    int writer;            /* 1 for the writer */
    int records;           /* 1 for a record ring (SCB_RECORDS) */
    int lossless;          /* 1 for a SCB_LOSSLESS ring */
    uint32_t item_size;    /* bytes per item; records: the largest record */
    uint64_t length;       /* items; records: bytes of record space */
    void *open_view;       /* the View peeked or reserved now (borrowed) */
    unsigned long view_thread; /* the thread that opened it */
    Py_ssize_t exports;    /* buffers exported over the ring's memory */
    unsigned char *scratch; /* scratch buffer for pops of many items */
    size_t scratch_size;
} RingObject;

/* Bumped in a child process after fork: handles opened before belong to
 * the parent. */
extern unsigned long scb_py_fork_gen;

#define SCB_PY_SLICE_MS 100
/* The slice while other threads wait for the handle. */
#define SCB_PY_SHARED_SLICE_MS 10

/* Not an SCB_ code: a Python exception is set. */
#define SCB_PY_ERR (-1000)

/* The types, created at module initialisation. */
extern PyObject *scb_py_view_type;

/* _scb.c */
int scb_py_take(RingObject *self);
/* As scb_py_take, without running signal handlers while it waits. */
int scb_py_take_quietly(RingObject *self);
void scb_py_give(RingObject *self);
int scb_py_closed_pending(void);
int scb_py_retry(RingObject *self, int (*op)(RingObject *, void *), void *arg,
                 int64_t ms);
int scb_py_timeout(PyObject *timeout, int64_t *ms);
PyObject *scb_py_error(RingObject *self, int rc, const char *what);
PyObject *scb_py_error_cls(RingObject *self, int rc, const char *what,
                           const char *cls);
PyObject *scb_py_raise_cls(const char *cls, int code, PyObject *msg);
void scb_py_type_error(const char *what, PyObject *x);
/* Raises errors.RecordTooLarge (SCB_EMSGSIZE) with a message formatted as
 * PyUnicode_FromFormat does; returns NULL. */
PyObject *scb_py_too_large(const char *fmt, ...);
int scb_py_need_reader(RingObject *self);
int scb_py_need_writer(RingObject *self);

int scb_py_stopped_by_full(void);

/* _scb_ring.c */
int scb_py_ring_init(PyObject *module);

/* _scb_io.c */
#define SCB_PY_IO_(name)                                                        \
    PyObject *scb_py_##name(RingObject *self, PyObject *const *args, Py_ssize_t nargs, \
                            PyObject *kwnames);
SCB_PY_IO_(push)
SCB_PY_IO_(push_bytes)
SCB_PY_IO_(push_many)
SCB_PY_IO_(pop)
SCB_PY_IO_(pop_bytes)
SCB_PY_IO_(pop_into)
SCB_PY_IO_(wait)
#undef SCB_PY_IO_
PyObject *scb_py_popitem(RingObject *self, PyObject *unused);
PyObject *scb_py_popmany(RingObject *self, PyObject *n);
PyObject *scb_py_popmany_bytes(RingObject *self, PyObject *n);
PyObject *scb_py_fileno(RingObject *self, PyObject *unused);

/* _scb_view.c */
int scb_py_view_init(PyObject *module);
void scb_py_view_detach(RingObject *ring);
PyObject *scb_py_peek(RingObject *self, PyObject *const *args, Py_ssize_t nargs,
                      PyObject *kwnames);
PyObject *scb_py_reserve(RingObject *self, PyObject *const *args,
                         Py_ssize_t nargs, PyObject *kwnames);

/* Keyword parsing of the one keyword most calls take: `timeout`. */
int scb_py_args(const char *fn, PyObject *const *args, Py_ssize_t nargs,
                PyObject *kwnames, Py_ssize_t npos_min, Py_ssize_t npos_max,
                PyObject **pos, PyObject **timeout);
int scb_py_timeout_arg(const char *fn, PyObject *const *args, Py_ssize_t nargs,
                       PyObject *kwnames, PyObject *dflt, int64_t *ms);

#endif
