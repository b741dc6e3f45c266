/*
 * _scb.c - shared_cbuff._scb: libscb for CPython, over the public API of
 * <scb.h>.  The Ring type (_scb_ring.c) holds one handle and makes every
 * call of shared_cbuff.SharedCircularBuffer (buffer.py subclasses it) in
 * C (_scb_io.c, _scb_view.c): the per-item calls cost one Python call each
 * and no Python-level work.  This file holds what they share: errors,
 * taking the handle, waiting, arguments, and the module itself.
 *
 * A call takes the handle (scb_py_take), makes its libscb call(s), builds
 * its result and gives the handle back (scb_py_give).  A call that may
 * wait does so in scb_py_retry, releasing the GIL around each slice of
 * scb_wait and handing the handle to queued threads between slices.
 */
#include "_scb.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#ifdef _WIN32
#include <windows.h>
#else
#include <dlfcn.h>
#include <pthread.h>
#endif

/* shared_cbuff.errors, imported at module initialisation. */
static PyObject *errors_mod;
static PyObject *exc_full, *exc_timedout; /* errors.BufferFull, errors.TimedOut */
PyObject *scb_py_view_type;

/* ---------------------------------------------------------------------------
 * Errors
 */

/* A new instance of errors.<cls> with message `msg` and its code and
 * strerror set, raised. */
static void raise_cls(const char *cls, int code, PyObject *msg)
{
    PyObject *type = PyObject_GetAttrString(errors_mod, cls);
    PyObject *exc, *text;

    if (type == NULL)
        return;
    exc = PyObject_CallFunctionObjArgs(type, msg, NULL);
    if (exc != NULL) {
        PyObject *c = PyLong_FromLong(code);

        text = PyUnicode_FromString(scb_strerror(code));
        if (c == NULL || text == NULL || PyObject_SetAttrString(exc, "code", c) < 0 ||
            PyObject_SetAttrString(exc, "strerror", text) < 0) {
            Py_CLEAR(exc);
        }
        Py_XDECREF(c);
        Py_XDECREF(text);
    }
    if (exc != NULL)
        PyErr_SetObject(type, exc);
    Py_XDECREF(exc);
    Py_DECREF(type);
}

/*
 * Raises errors.exception_for(rc, strerror(rc), CONTEXT[, cls]) where
 * CONTEXT is "WHAT 'NAME'" (or WHAT alone without a ring), with the OS
 * error appended and kept in os_errno after SCB_ESYS.  Returns NULL.
 */
static PyObject *raise_code(RingObject *self, int rc, const char *what,
                            const char *cls)
{
    int err = errno;
    PyObject *fn = NULL, *ctx = NULL, *type = Py_None, *exc = NULL;

    if (rc == SCB_PY_ERR)
        return NULL;
    if (self != NULL && self->name != NULL)
        ctx = PyUnicode_FromFormat("%s %R", what, self->name);
    else
        ctx = PyUnicode_FromString(what);
    if (ctx != NULL && rc == SCB_EINVAL && self != NULL && self->open_view != NULL) {
        PyObject *more = PyUnicode_FromFormat(
            "%U (a record of this buffer is %s%s)", ctx,
            self->writer ? "reserved" : "peeked",
            self->view_thread == PyThread_get_thread_ident()
                ? ": leave its with block first"
                : " by another thread, until it leaves its with block");

        Py_DECREF(ctx);
        ctx = more;
    }
    if (ctx != NULL && rc == SCB_ESYS && err != 0) {
        PyObject *more = PyUnicode_FromFormat("%U: %s", ctx, strerror(err));

        Py_DECREF(ctx);
        ctx = more;
    }
    if (ctx == NULL)
        return NULL;
    if (cls != NULL) {
        type = PyObject_GetAttrString(errors_mod, cls);
        if (type == NULL)
            goto done;
    } else {
        Py_INCREF(type);
    }
    fn = PyObject_GetAttrString(errors_mod, "exception_for");
    if (fn == NULL)
        goto done;
    exc = PyObject_CallFunction(fn, "isOO", rc, scb_strerror(rc), ctx, type);
    if (exc == NULL)
        goto done;
    if (rc == SCB_ESYS) {
        PyObject *e = PyLong_FromLong(err);

        if (e == NULL || PyObject_SetAttrString(exc, "os_errno", e) < 0) {
            Py_XDECREF(e);
            goto done;
        }
        Py_DECREF(e);
    }
    PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
done:
    Py_XDECREF(exc);
    Py_XDECREF(fn);
    Py_XDECREF(type);
    Py_DECREF(ctx);
    return NULL;
}

PyObject *scb_py_error(RingObject *self, int rc, const char *what)
{
    return raise_code(self, rc, what, NULL);
}

PyObject *scb_py_error_cls(RingObject *self, int rc, const char *what, const char *cls)
{
    return raise_code(self, rc, what, cls);
}

/* True when the exception set is errors.BufferFull or errors.TimedOut. */
int scb_py_stopped_by_full(void)
{
    return PyErr_ExceptionMatches(exc_full) || PyErr_ExceptionMatches(exc_timedout);
}

PyObject *scb_py_raise_cls(const char *cls, int code, PyObject *msg)
{
    raise_cls(cls, code, msg);
    return NULL;
}

PyObject *scb_py_too_large(const char *fmt, ...)
{
    va_list ap;
    PyObject *msg;

    va_start(ap, fmt);
    msg = PyUnicode_FromFormatV(fmt, ap);
    va_end(ap);
    if (msg != NULL) {
        raise_cls("RecordTooLarge", SCB_EMSGSIZE, msg);
        Py_DECREF(msg);
    }
    return NULL;
}

static int closed_error(RingObject *self)
{
    PyObject *msg = PyUnicode_FromFormat(
        "buffer %R is closed (cleanup() was called)", self->name ? self->name : Py_None);
    PyObject *type;

    if (msg == NULL)
        return -1;
    type = PyObject_GetAttrString(errors_mod, "BufferClosed");
    if (type != NULL)
        PyErr_SetObject(type, msg);
    Py_XDECREF(type);
    Py_DECREF(msg);
    return -1;
}

int scb_py_need_writer(RingObject *self)
{
    PyObject *msg;

    if (self->writer)
        return 0;
    msg = PyUnicode_FromString("Buffer is not writeable");
    if (msg != NULL) {
        raise_cls("WriteOperationsForbidden", SCB_ENOTWRITER, msg);
        Py_DECREF(msg);
    }
    return -1;
}

int scb_py_need_reader(RingObject *self)
{
    PyObject *msg;

    if (!self->writer)
        return 0;
    msg = PyUnicode_FromString("Buffer is not readable");
    if (msg != NULL) {
        raise_cls("ReadOperationsForbidden", SCB_ENOTREADER, msg);
        Py_DECREF(msg);
    }
    return -1;
}

/* TypeError "WHAT, not TYPENAME". */
void scb_py_type_error(const char *what, PyObject *x)
{
    PyObject *tn = PyType_GetName(Py_TYPE(x));

    if (tn != NULL) {
        PyErr_Format(PyExc_TypeError, "%s, not %U", what, tn);
        Py_DECREF(tn);
    }
}

/* ---------------------------------------------------------------------------
 * Taking the handle, and waiting
 */

unsigned long scb_py_fork_gen;

#ifndef _WIN32
static void after_fork_child(void)
{
    scb_py_fork_gen++;
}
#endif

static int forked_error(RingObject *self)
{
    PyObject *msg = PyUnicode_FromFormat(
        "buffer %R was opened by the parent of this forked process; open it again "
        "here", self->name ? self->name : Py_None);

    if (msg != NULL) {
        raise_cls("InvalidArgument", SCB_EINVAL, msg);
        Py_DECREF(msg);
    }
    return -1;
}

static void enqueue(RingObject *self, struct scb_py_waiter *w)
{
    w->next = NULL;
    if (self->queue_tail != NULL)
        self->queue_tail->next = w;
    else
        self->queue = w;
    self->queue_tail = w;
}

static void dequeue(RingObject *self, struct scb_py_waiter *w)
{
    struct scb_py_waiter **p = &self->queue, *prev = NULL;

    while (*p != NULL && *p != w) {
        prev = *p;
        p = &(*p)->next;
    }
    if (*p == NULL)
        return;
    *p = w->next;
    if (self->queue_tail == w)
        self->queue_tail = prev;
}

/* In a forked child (a buffer of the parent): what the parent's threads
 * held or queued for is not this process's. */
static int fork_error(RingObject *self)
{
    return self->h != NULL ? forked_error(self) : closed_error(self);
}

/* A waiter handed the handle: its lock, released by scb_py_give, taken
 * back (once). */
static void picked_up(struct scb_py_waiter *w)
{
    if (w->handed == 1) {
        PyThread_acquire_lock(w->lock, WAIT_LOCK);
        w->handed = 2;
    }
}

/*
 * Sleeps (GIL released) until the holder hands the handle to this thread.
 * 0 once it is ours; -1 with an exception (a signal handler raised), the
 * thread then out of the queue and the handle not ours.
 *
 * Signal handlers run when the sleep is interrupted, the thread keeping
 * its place in the queue.  A call made by a handler finds that place (a
 * waiter of this thread) and sleeps on it instead of queueing a second
 * time behind it; when the handle is handed over, that call borrows it
 * (self->lender) and scb_py_give gives it back to the waiter, whose own
 * call goes on once the handlers return.
 */
static int queue_for(RingObject *self, unsigned long me, int intr)
{
    struct scb_py_waiter own, *w;
    PyLockStatus st;

    for (w = self->queue; w != NULL && w->ident != me; w = w->next)
        ;
    if (w == NULL) {
        w = &own;
        w->lock = PyThread_allocate_lock();
        if (w->lock == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        PyThread_acquire_lock(w->lock, WAIT_LOCK);
        w->ident = me;
        w->handed = 0;
        enqueue(self, w);
    }
    for (;;) {
        if (w->handed == 0) {
            Py_BEGIN_ALLOW_THREADS
            st = PyThread_acquire_lock_timed(w->lock, -1, 1);
            Py_END_ALLOW_THREADS
            if (st == PY_LOCK_ACQUIRED)
                w->handed = 2;
        }
        if (w->handed != 0) {
            picked_up(w);
            if (w != &own) {
                self->lender = w; /* a handler's call: borrowed */
                return 0;
            }
            self->handed_to = NULL;
            break;
        }
        if (!intr)
            continue; /* the handlers run later, at the interpreter's next check */
        if (PyErr_CheckSignals() < 0 || self->fork_gen != scb_py_fork_gen) {
            if (self->fork_gen != scb_py_fork_gen) {
                /* A handler forked: this is the child, the queue the
                 * parent's.  Leave it as it is. */
                if (!PyErr_Occurred())
                    (void)fork_error(self);
                if (w == &own)
                    PyThread_free_lock(w->lock);
                return -1;
            }
            if (w != &own)
                return -1; /* the waiter stays its owner's */
            if (w->handed != 0) { /* handed over meanwhile: pass it on */
                picked_up(w);
                self->handed_to = NULL;
                scb_py_give(self);
            } else {
                dequeue(self, w);
            }
            PyThread_free_lock(w->lock);
            return -1;
        }
    }
    PyThread_free_lock(w->lock);
    return 0;
}

/* Takes the handle for a call: 0, or -1 with an exception (closed, forked,
 * already taken by this thread, a signal handler raised while it waited).
 * intr 0: the wait runs no signal handler (for deallocation, which must
 * not fail): they run later. */
static int take(RingObject *self, int intr)
{
    unsigned long me = PyThread_get_thread_ident();

    if (self->fork_gen != scb_py_fork_gen)
        return fork_error(self);
    if (!self->held) {
        self->held = 1;
        self->owner = me;
    } else if (self->owner == me) {
        if (self->handed_to == NULL || self->lender != NULL) {
            PyErr_SetString(PyExc_RuntimeError,
                            "shared_cbuff: a call on this buffer is already running "
                            "in this thread");
            return -1;
        }
        /* Handed to this thread's queued call, whose signal handler
         * runs: borrowed. */
        self->lender = self->handed_to;
    } else if (queue_for(self, me, intr) < 0) {
        return -1;
    } else if (self->fork_gen != scb_py_fork_gen) {
        return fork_error(self); /* handed over in the parent, before a fork */
    }
    if (self->h == NULL) {
        scb_py_give(self);
        return closed_error(self);
    }
    return 0;
}

int scb_py_take(RingObject *self)
{
    return take(self, 1);
}

int scb_py_take_quietly(RingObject *self)
{
    return take(self, 0);
}

/* Hands the handle to `next`, already out of the queue: its thread wakes
 * with the handle its own. */
static void hand_over(RingObject *self, struct scb_py_waiter *next)
{
    self->owner = next->ident;
    self->handed_to = next;
    next->handed = 1;
    PyThread_release_lock(next->lock);
}

void scb_py_give(RingObject *self)
{
    struct scb_py_waiter *next = self->queue;

    if (self->lender != NULL) {
        self->lender = NULL; /* back to the queued call it was handed to */
        return;
    }
    if (next == NULL) {
        self->held = 0;
        self->owner = 0;
        return;
    }
    self->queue = next->next;
    if (self->queue == NULL)
        self->queue_tail = NULL;
    hand_over(self, next);
}

/* Between the wait slices of a call: as scb_py_give, except that a
 * signal handler's call that borrowed the handle while other threads queue
 * lets them in: its thread's waiter goes back to the head of the queue (its
 * lock taken again) and the handle to the next waiter.  The handler's next
 * take then waits on that waiter, as before it borrowed. */
static void give_between_slices(RingObject *self)
{
    struct scb_py_waiter *w = self->lender, *next = self->queue;

    if (w == NULL || next == NULL) {
        scb_py_give(self);
        return;
    }
    self->lender = NULL;
    picked_up(w);
    w->handed = 0;
    self->queue = next->next;
    w->next = self->queue;
    self->queue = w;
    if (w->next == NULL)
        self->queue_tail = w;
    hand_over(self, next);
}

/* 1 when the exception set is errors.BufferClosed. */
int scb_py_closed_pending(void)
{
    PyObject *et, *ev, *tb, *type;
    int r = 0;

    PyErr_Fetch(&et, &ev, &tb);
    type = PyObject_GetAttrString(errors_mod, "BufferClosed");
    if (type != NULL)
        r = et != NULL && PyErr_GivenExceptionMatches(et, type);
    Py_XDECREF(type);
    PyErr_Clear();
    PyErr_Restore(et, ev, tb);
    return r;
}

static int64_t now_ms(void)
{
#ifdef _WIN32
    return (int64_t)GetTickCount64();
#else
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
#endif
}

/* timeout: None -> -1 (for ever); seconds -> whole milliseconds, rounded
 * up.  -1 with ValueError/TypeError set on a bad value. */
int scb_py_timeout(PyObject *timeout, int64_t *ms)
{
    double t;

    if (timeout == NULL) {
        *ms = 0;
        return 0;
    }
    if (timeout == Py_None) {
        *ms = -1;
        return 0;
    }
    t = PyFloat_AsDouble(timeout);
    if (t == -1.0 && PyErr_Occurred())
        return -1;
    if (!(t >= 0)) {
        PyErr_Format(PyExc_ValueError, "timeout must be None or >= 0, not %R", timeout);
        return -1;
    }
    t = t * 1000.0;
    if (t > 4e15)
        *ms = -1;
    else {
        *ms = (int64_t)t;
        if ((double)*ms < t)
            *ms += 1;
    }
    return 0;
}

/*
 * Calls op(self, arg) with the handle taken until it returns something
 * other than SCB_EAGAIN; between tries it waits (scb_wait) for up to `ms`
 * in all (negative: for ever; 0: one try), in slices without the GIL,
 * handing the handle over to queued threads after each.  Returns op's
 * code, SCB_ETIMEDOUT when the time ran out after a wait, scb_wait's code
 * when it failed, or SCB_PY_ERR with an exception set (the buffer was
 * closed meanwhile, a signal handler raised).
 */
int scb_py_retry(RingObject *self, int (*op)(RingObject *, void *), void *arg,
                 int64_t ms)
{
    int64_t deadline = 0;
    int waited = 0;

    for (;;) {
        int64_t slice;
        scb_t *h;
        int rc, wrc;

        if (scb_py_take(self) < 0)
            return SCB_PY_ERR;
        rc = op(self, arg);
        if (rc != SCB_EAGAIN || ms == 0) {
            scb_py_give(self);
            return rc;
        }
        /* Other threads queued for the handle get it sooner. */
        slice = self->queue != NULL ? SCB_PY_SHARED_SLICE_MS : SCB_PY_SLICE_MS;
        if (ms > 0) {
            int64_t now = now_ms();

            if (!waited)
                deadline = now + ms;
            if (now >= deadline) {
                scb_py_give(self);
                return SCB_ETIMEDOUT;
            }
            if (deadline - now < slice)
                slice = deadline - now;
        }
        waited = 1;
        h = self->h;
        Py_BEGIN_ALLOW_THREADS
        wrc = scb_wait(h, slice);
        Py_END_ALLOW_THREADS
        give_between_slices(self);
        if (wrc != SCB_OK && wrc != SCB_ETIMEDOUT)
            return wrc;
        if (PyErr_CheckSignals() < 0)
            return SCB_PY_ERR;
    }
}

/* Parses (POS..., *, timeout=...) for METH_FASTCALL|METH_KEYWORDS: up to
 * npos_max positional arguments into pos (the rest NULL), `timeout` by
 * keyword into *timeout (untouched when not given). */
int scb_py_args(const char *fn, PyObject *const *args, Py_ssize_t nargs,
                PyObject *kwnames, Py_ssize_t npos_min, Py_ssize_t npos_max,
                PyObject **pos, PyObject **timeout)
{
    Py_ssize_t i, nkw = kwnames ? PyTuple_Size(kwnames) : 0;

    if (nargs < npos_min || nargs > npos_max) {
        PyErr_Format(PyExc_TypeError, "%s() takes %zd to %zd positional arguments but %zd were given",
                     fn, npos_min, npos_max, nargs);
        return -1;
    }
    for (i = 0; i < npos_max; i++)
        pos[i] = i < nargs ? args[i] : NULL;
    for (i = 0; i < nkw; i++) {
        PyObject *key = PyTuple_GetItem(kwnames, i);

        if (key == NULL)
            return -1;
        if (timeout == NULL || PyUnicode_CompareWithASCIIString(key, "timeout") != 0) {
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument %R", fn, key);
            return -1;
        }
        *timeout = args[nargs + i];
    }
    return 0;
}

/* Parses (timeout=DFLT), by position or keyword, into *ms; dflt is
 * Py_None (for ever) or NULL (0: one try). */
int scb_py_timeout_arg(const char *fn, PyObject *const *args, Py_ssize_t nargs,
                       PyObject *kwnames, PyObject *dflt, int64_t *ms)
{
    PyObject *pos, *timeout = NULL;

    if (scb_py_args(fn, args, nargs, kwnames, 0, 1, &pos, &timeout) < 0)
        return -1;
    if (pos != NULL) {
        if (timeout != NULL) {
            PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument 'timeout'",
                         fn);
            return -1;
        }
        timeout = pos;
    }
    return scb_py_timeout(timeout != NULL ? timeout : dflt, ms);
}

/* ---------------------------------------------------------------------------
 * Module
 */

static PyObject *mod_version(PyObject *m, PyObject *unused)
{
    (void)m;
    (void)unused;
    return PyUnicode_FromString(scb_version());
}

static PyObject *mod_backends(PyObject *m, PyObject *unused)
{
    const char *const *b = scb_backends();
    PyObject *list = PyList_New(0);

    (void)m;
    (void)unused;
    for (; list != NULL && b != NULL && *b != NULL; b++) {
        PyObject *s = PyUnicode_FromString(*b);

        if (s == NULL || PyList_Append(list, s) < 0)
            Py_CLEAR(list);
        Py_XDECREF(s);
    }
    return list;
}

/* library_path(): the file libscb was loaded from, or None. */
static PyObject *mod_library_path(PyObject *m, PyObject *unused)
{
    (void)m;
    (void)unused;
#ifdef _WIN32
    {
        HMODULE mod = NULL;
        char path[MAX_PATH];

        if (GetModuleHandleExA(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS |
                                   GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                               (LPCSTR)(void *)scb_version, &mod) &&
            GetModuleFileNameA(mod, path, sizeof path) > 0)
            return PyUnicode_DecodeFSDefault(path);
    }
#else
    {
        Dl_info info;

        if (dladdr((void *)scb_version, &info) && info.dli_fname != NULL)
            return PyUnicode_DecodeFSDefault(info.dli_fname);
    }
#endif
    Py_RETURN_NONE;
}

static PyObject *mod_strerror(PyObject *m, PyObject *arg)
{
    long code = PyLong_AsLong(arg);

    (void)m;
    if (code == -1 && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError))
            return NULL;
        PyErr_Clear();
        code = SCB_ERR_LAST_ - 1;
    }
    if (code < SCB_ERR_LAST_ || code > 0)
        code = SCB_ERR_LAST_ - 1; /* "unknown error" */
    return PyUnicode_FromString(scb_strerror((int)code));
}

/* unlink(name, backend): scb_unlink's code. */
static PyObject *mod_unlink(PyObject *m, PyObject *args)
{
    const char *name, *backend;
    scb_config_t cfg;
    int rc;

    (void)m;
    if (!PyArg_ParseTuple(args, "sz:unlink", &name, &backend))
        return NULL;
    scb_config_init(&cfg);
    cfg.backend = backend;
    Py_BEGIN_ALLOW_THREADS
    rc = scb_unlink(name, &cfg);
    Py_END_ALLOW_THREADS
    return PyLong_FromLong(rc);
}

static PyMethodDef mod_methods[] = {
    { "version", mod_version, METH_NOARGS, "The libscb version string." },
    { "backends", mod_backends, METH_NOARGS, "The backends libscb was built with." },
    { "strerror", mod_strerror, METH_O, "scb_strerror(code)." },
    { "library_path", mod_library_path, METH_NOARGS, "The file libscb was loaded from." },
    { "unlink", mod_unlink, METH_VARARGS, "unlink(name, backend): scb_unlink's code." },
    { NULL, NULL, 0, NULL },
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_scb",
    "libscb for CPython: the Ring and View types under shared_cbuff.", -1, mod_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__scb(void)
{
    PyObject *m = PyModule_Create(&module_def);

    if (m == NULL)
        return NULL;
    errors_mod = PyImport_ImportModule("shared_cbuff.errors");
    if (errors_mod == NULL)
        goto fail;
    exc_full = PyObject_GetAttrString(errors_mod, "BufferFull");
    exc_timedout = PyObject_GetAttrString(errors_mod, "TimedOut");
    if (exc_full == NULL || exc_timedout == NULL)
        goto fail;
    if (scb_py_ring_init(m) < 0)
        goto fail;
    if (scb_py_view_init(m) < 0)
        goto fail;
#define SCB_PY_CONST_(name, value, msg)                                                    \
    if (PyModule_AddIntConstant(m, #name, value) < 0)                                      \
        goto fail;
    SCB_ERRNO_MAP(SCB_PY_CONST_)
#undef SCB_PY_CONST_
#ifndef _WIN32
    {
        static int registered;

        if (!registered && pthread_atfork(NULL, NULL, after_fork_child) != 0) {
            PyErr_SetString(PyExc_OSError, "shared_cbuff: pthread_atfork failed");
            goto fail;
        }
        registered = 1;
    }
#endif
    if (PyModule_AddIntConstant(m, "OK", SCB_OK) < 0 ||
        PyModule_AddIntConstant(m, "LOSSLESS", SCB_LOSSLESS) < 0 ||
        PyModule_AddIntConstant(m, "UNLINK_ON_CLOSE", SCB_UNLINK_ON_CLOSE) < 0 ||
        PyModule_AddIntConstant(m, "RECORDS", SCB_RECORDS) < 0 ||
        PyModule_AddIntConstant(m, "ASYM_BARRIERS", SCB_ASYM_BARRIERS) < 0 ||
        PyModule_AddIntConstant(m, "WRITER", SCB_WRITER) < 0 ||
        PyModule_AddIntConstant(m, "LATEST", SCB_LATEST) < 0 ||
        PyModule_AddIntConstant(m, "OBSERVE", SCB_OBSERVE) < 0 ||
        PyModule_AddIntConstant(m, "NAME_MAX", SCB_NAME_MAX) < 0)
        goto fail;
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}

