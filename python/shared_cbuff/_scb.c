/*
 * _scb.c - shared_cbuff._scb: libscb for CPython, over the public API of
 * <scb.h>.  The Ring type holds one handle and makes every call of
 * shared_cbuff.SharedCircularBuffer (buffer.py subclasses it) in C: the
 * per-item calls cost one Python call each and no Python-level work.
 *
 * A call takes the handle (scb_py_take: its lock and the calling thread as
 * owner), makes its libscb call(s), builds its result and gives the handle
 * back.  A call that may wait does so in scb_py_retry: it gives the handle
 * back and releases the GIL around each slice of scb_wait.
 */
#include "_scb.h"

#include <errno.h>
#include <limits.h>
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
static PyObject *ring_type;
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
            "%U (a record of this buffer is %s: leave its with block first)", ctx,
            self->writer ? "reserved" : "peeked");

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

PyObject *scb_py_raise_cls(const char *cls, int code, PyObject *msg)
{
    raise_cls(cls, code, msg);
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

/* Sleeps (GIL released) until the holder hands the handle to this thread.
 * 0 once it is ours; -1 with an exception (a signal handler raised), the
 * thread then out of the queue and the handle not ours. */
static int queue_for(RingObject *self, unsigned long me)
{
    struct scb_py_waiter w;
    PyLockStatus st;

    w.lock = PyThread_allocate_lock();
    if (w.lock == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    PyThread_acquire_lock(w.lock, WAIT_LOCK);
    w.ident = me;
    w.next = NULL;
    if (self->queue_tail != NULL)
        self->queue_tail->next = &w;
    else
        self->queue = &w;
    self->queue_tail = &w;
    for (;;) {
        Py_BEGIN_ALLOW_THREADS
        st = PyThread_acquire_lock_timed(w.lock, -1, 1);
        Py_END_ALLOW_THREADS
        if (st == PY_LOCK_ACQUIRED)
            break; /* handed over: held, owner == me */
        if (PyErr_CheckSignals() < 0) {
            if (self->held && self->owner == me) {
                /* Handed over meanwhile: pass it on. */
                PyThread_acquire_lock(w.lock, WAIT_LOCK);
                scb_py_give(self);
            } else {
                struct scb_py_waiter **p = &self->queue, *prev = NULL;

                while (*p != &w) {
                    prev = *p;
                    p = &(*p)->next;
                }
                *p = w.next;
                if (self->queue_tail == &w)
                    self->queue_tail = prev;
            }
            PyThread_free_lock(w.lock);
            return -1;
        }
    }
    PyThread_free_lock(w.lock);
    return 0;
}

int scb_py_take(RingObject *self)
{
    unsigned long me = PyThread_get_thread_ident();

    if (self->fork_gen != scb_py_fork_gen && self->h != NULL)
        return forked_error(self);
    if (!self->held) {
        self->held = 1;
        self->owner = me;
    } else if (self->owner == me) {
        PyErr_SetString(PyExc_RuntimeError,
                        "shared_cbuff: a call on this buffer is already running "
                        "in this thread");
        return -1;
    } else if (queue_for(self, me) < 0) {
        return -1;
    }
    if (self->h == NULL) {
        scb_py_give(self);
        return closed_error(self);
    }
    return 0;
}

void scb_py_give(RingObject *self)
{
    struct scb_py_waiter *next = self->queue;

    if (next == NULL) {
        self->held = 0;
        self->owner = 0;
        return;
    }
    self->queue = next->next;
    if (self->queue == NULL)
        self->queue_tail = NULL;
    self->owner = next->ident;
    PyThread_release_lock(next->lock);
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
        scb_py_give(self);
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

/* ---------------------------------------------------------------------------
 * Items as ints: big-endian in item_size bytes, as int.to_bytes
 */

static int int_to_item(RingObject *self, PyObject *x, unsigned char *out)
{
    uint32_t size = self->item_size;

    if (!PyLong_Check(x) || PyBool_Check(x)) {
        scb_py_type_error("item must be an int", x);
        return -1;
    }
    if (size <= 8) {
        unsigned long long v = PyLong_AsUnsignedLongLong(x);
        uint32_t i;

        if (v == (unsigned long long)-1 && PyErr_Occurred())
            return -1;
        if (size < 8 && (v >> (8 * size)) != 0) {
            PyErr_SetString(PyExc_OverflowError, "int too big to convert");
            return -1;
        }
        for (i = 0; i < size; i++)
            out[size - 1 - i] = (unsigned char)(v >> (8 * i));
        return 0;
    } else {
        /* int.to_bytes itself, not an override of a subclass. */
        PyObject *b = PyObject_CallMethod((PyObject *)&PyLong_Type, "to_bytes", "OIs", x,
                                          (unsigned)size, "big");

        if (b == NULL)
            return -1;
        if (!PyBytes_Check(b) || PyBytes_Size(b) != (Py_ssize_t)size) {
            Py_DECREF(b);
            PyErr_SetString(PyExc_SystemError, "int.to_bytes gave an unexpected result");
            return -1;
        }
        memcpy(out, PyBytes_AsString(b), size);
        Py_DECREF(b);
        return 0;
    }
}

static PyObject *item_to_int(RingObject *self, const unsigned char *in)
{
    uint32_t size = self->item_size;

    if (size <= 8) {
        unsigned long long v = 0;
        uint32_t i;

        for (i = 0; i < size; i++)
            v = (v << 8) | in[i];
        return PyLong_FromUnsignedLongLong(v);
    }
    return PyObject_CallMethod((PyObject *)&PyLong_Type, "from_bytes", "y#s",
                               (const char *)in, (Py_ssize_t)size, "big");
}

/* The scratch buffer, at least n bytes. */
static unsigned char *scratch(RingObject *self, size_t n)
{
    if (n > self->scratch_size) {
        unsigned char *p = PyMem_Realloc(self->scratch, n ? n : 1);

        if (p == NULL) {
            PyErr_NoMemory();
            return NULL;
        }
        self->scratch = p;
        self->scratch_size = n;
    }
    return self->scratch;
}

/* ---------------------------------------------------------------------------
 * The ops that scb_py_retry calls (handle taken, GIL held)
 */

struct bytes_arg {
    const unsigned char *p; /* items, or the record */
    size_t n;               /* items, or the record's length */
    size_t done;            /* items pushed so far */
};

static int op_push(RingObject *self, void *arg)
{
    struct bytes_arg *a = arg;

    return scb_push(self->h, a->p);
}

static int op_push_record(RingObject *self, void *arg)
{
    struct bytes_arg *a = arg;

    return scb_push_record(self->h, a->p, a->n);
}

static int op_push_many(RingObject *self, void *arg)
{
    struct bytes_arg *a = arg;
    size_t count = 0;
    int rc = scb_push_many(self->h, a->p + a->done * self->item_size, a->n - a->done, &count);

    a->done += count;
    if (rc == SCB_OK && a->done < a->n)
        return SCB_EAGAIN;
    return rc;
}

struct pop_arg {
    PyObject *out;   /* the item or record popped */
    void *buf;       /* pop_into: the caller's buffer */
    size_t cap;      /* its bytes */
    size_t count;    /* items or bytes popped */
};

static int op_pop_item(RingObject *self, void *arg)
{
    struct pop_arg *a = arg;
    unsigned char small[8], *buf = small;
    int rc;

    if (self->item_size > sizeof small && (buf = scratch(self, self->item_size)) == NULL)
        return SCB_PY_ERR;
    rc = scb_pop(self->h, buf);
    if (rc != SCB_OK)
        return rc;
    a->out = item_to_int(self, buf);
    return a->out ? SCB_OK : SCB_PY_ERR;
}

/* Up to 4 KiB a record is popped through the scratch buffer in one call;
 * a longer one into a bytes object of its length, asked for first. */
#define SMALL_RECORD 4096

static int op_pop_record(RingObject *self, void *arg)
{
    struct pop_arg *a = arg;
    size_t len = 0;
    unsigned char *buf = scratch(self, SMALL_RECORD);
    int rc;

    if (buf == NULL)
        return SCB_PY_ERR;
    rc = scb_pop_record(self->h, buf, SMALL_RECORD, &len);
    while (rc == SCB_EMSGSIZE) {
        PyObject *b = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)len);
        size_t got = 0;

        if (b == NULL)
            return SCB_PY_ERR; /* nothing consumed */
        rc = scb_pop_record(self->h, PyBytes_AsString(b), len, &got);
        if (rc == SCB_OK) {
            if (got == len) {
                a->out = b;
            } else {
                /* The writer overwrote the record meanwhile: this is the
                 * next one kept, shorter. */
                a->out = PyBytes_FromStringAndSize(PyBytes_AsString(b), (Py_ssize_t)got);
                Py_DECREF(b);
            }
            return a->out ? SCB_OK : SCB_PY_ERR;
        }
        Py_DECREF(b);
        len = got;
    }
    if (rc != SCB_OK)
        return rc;
    a->out = PyBytes_FromStringAndSize((const char *)buf, (Py_ssize_t)len);
    return a->out ? SCB_OK : SCB_PY_ERR;
}

static int op_pop(RingObject *self, void *arg)
{
    return self->records ? op_pop_record(self, arg) : op_pop_item(self, arg);
}

static int op_pop_bytes(RingObject *self, void *arg)
{
    struct pop_arg *a = arg;
    unsigned char *buf = scratch(self, self->item_size);
    int rc;

    if (buf == NULL)
        return SCB_PY_ERR;
    rc = scb_pop(self->h, buf);
    if (rc != SCB_OK)
        return rc;
    a->out = PyBytes_FromStringAndSize((const char *)buf, self->item_size);
    return a->out ? SCB_OK : SCB_PY_ERR;
}

static int op_pop_into(RingObject *self, void *arg)
{
    struct pop_arg *a = arg;

    if (self->records)
        return scb_pop_record(self->h, a->buf, a->cap, &a->count);
    return scb_pop_many(self->h, a->buf, a->cap / self->item_size, &a->count);
}

static int op_wait(RingObject *self, void *arg)
{
    int rc = scb_wait(self->h, 0);

    (void)arg;
    return rc == SCB_ETIMEDOUT ? SCB_EAGAIN : rc;
}

/* ---------------------------------------------------------------------------
 * Ring: lifetime
 */

static PyObject *ring_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    allocfunc alloc = (allocfunc)PyType_GetSlot(type, Py_tp_alloc);
    RingObject *self;

    (void)args;
    (void)kwds;
    self = (RingObject *)alloc(type, 0);
    return (PyObject *)self;
}

static void ring_dealloc(PyObject *obj)
{
    RingObject *self = (RingObject *)obj;
    PyTypeObject *tp = Py_TYPE(obj);
    freefunc tp_free = (freefunc)PyType_GetSlot(tp, Py_tp_free);

    if (self->h != NULL && self->fork_gen == scb_py_fork_gen)
        (void)scb_close(self->h);
    self->h = NULL;
    PyMem_Free(self->scratch);
    Py_CLEAR(self->name);
    Py_CLEAR(self->backend);
    tp_free(obj);
    Py_DECREF(tp);
}

/* _open(name, create, item_size, length, flags, max_readers, mode,
 * backend): scb_create or scb_open; the ring's geometry is then read back
 * with scb_info.  Raises the mapped error. */
/* An int argument in [0, max], or -1 with an exception. */
static int uint_arg(PyObject *o, const char *what, unsigned long long max,
                    unsigned long long *out)
{
    if (!PyLong_Check(o) || PyBool_Check(o)) {
        scb_py_type_error(what, o);
        return -1;
    }
    *out = PyLong_AsUnsignedLongLong(o);
    if ((*out == (unsigned long long)-1 && PyErr_Occurred()) || *out > max) {
        PyErr_Clear();
        PyErr_Format(PyExc_OverflowError, "%s out of range: %R", what, o);
        return -1;
    }
    return 0;
}

static PyObject *ring_open(RingObject *self, PyObject *args)
{
    PyObject *name, *backend, *o_item, *o_len, *o_flags, *o_readers, *o_mode;
    int create;
    unsigned long long item_size, length, flags, max_readers, mode;
    const char *cname, *cbackend = NULL;
    Py_ssize_t nlen;
    scb_config_t cfg;
    scb_info_t info;
    scb_t *h = NULL;
    int rc;

    if (!PyArg_ParseTuple(args, "UpOOOOOO:_open", &name, &create, &o_item, &o_len, &o_flags,
                          &o_readers, &o_mode, &backend))
        return NULL;
    if (uint_arg(o_item, "item_size", UINT32_MAX, &item_size) < 0 ||
        uint_arg(o_len, "length", UINT64_MAX, &length) < 0 ||
        uint_arg(o_flags, "flags", UINT32_MAX, &flags) < 0 ||
        uint_arg(o_readers, "max_readers", UINT32_MAX, &max_readers) < 0 ||
        uint_arg(o_mode, "mode", UINT32_MAX, &mode) < 0)
        return NULL;
    if (self->h != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "shared_cbuff: the buffer is already open");
        return NULL;
    }
    cname = PyUnicode_AsUTF8AndSize(name, &nlen);
    if (cname == NULL)
        return NULL;
    if (strlen(cname) != (size_t)nlen) {
        PyErr_SetString(PyExc_ValueError, "a ring's name must not contain NUL characters");
        return NULL;
    }
    if (backend != Py_None) {
        if (!PyUnicode_Check(backend)) {
            scb_py_type_error("backend must be a str or None", backend);
            return NULL;
        }
        cbackend = PyUnicode_AsUTF8AndSize(backend, &nlen);
        if (cbackend == NULL)
            return NULL;
        if (strlen(cbackend) != (size_t)nlen) {
            PyErr_SetString(PyExc_ValueError, "a backend's name must not contain NUL characters");
            return NULL;
        }
    }
    Py_INCREF(name);
    Py_XDECREF(self->name);
    self->name = name;
    scb_config_init(&cfg);
    cfg.backend = cbackend;
    cfg.flags = (uint32_t)flags;
    if (create) {
        cfg.item_size = (uint32_t)item_size;
        cfg.length = (uint64_t)length;
        if (max_readers)
            cfg.max_readers = (uint32_t)max_readers;
        if (mode)
            cfg.mode = (uint32_t)mode;
    }
    Py_BEGIN_ALLOW_THREADS
    rc = create ? scb_create(&h, cname, &cfg) : scb_open(&h, cname, &cfg);
    Py_END_ALLOW_THREADS
    if (rc == SCB_EEXIST && create) {
        PyObject *msg = PyUnicode_FromFormat("Buffer with that name already exists (%R)", name);

        if (msg != NULL) {
            raise_code(NULL, rc, PyUnicode_AsUTF8AndSize(msg, NULL), "BufferAlreadyCreated");
            Py_DECREF(msg);
        }
        return NULL;
    }
    if (rc != SCB_OK)
        return raise_code(self, rc, create ? "create" : "open", NULL);
    rc = scb_info(h, &info);
    if (rc != SCB_OK) {
        (void)scb_close(h);
        return raise_code(self, rc, "info", NULL);
    }
    Py_XDECREF(self->backend);
    self->backend = info.backend ? PyUnicode_FromString(info.backend) : Py_NewRef(Py_None);
    if (self->backend == NULL) {
        (void)scb_close(h);
        return NULL;
    }
    self->h = h;
    self->fork_gen = scb_py_fork_gen;
    self->writer = info.is_writer != 0;
    self->records = (info.flags & SCB_RECORDS) != 0;
    self->lossless = (info.flags & SCB_LOSSLESS) != 0;
    self->item_size = info.item_size;
    self->length = info.length;
    Py_RETURN_NONE;
}

/* _close(): closes the handle and returns scb_close's code; in a process
 * other than the one that opened it (a forked child) it only forgets it.
 * BufferError while buffers over the ring's memory are exported. */
static PyObject *ring_close(RingObject *self, PyObject *unused)
{
    scb_t *h;
    int rc = SCB_OK;

    (void)unused;
    if (self->h == NULL)
        return PyLong_FromLong(SCB_OK); /* already closed */
    if (self->fork_gen != scb_py_fork_gen) {
        /* A forked child's copy: the handle is the parent's. */
        self->h = NULL;
        return PyLong_FromLong(SCB_OK);
    }
    if (self->exports > 0) {
        PyErr_Format(PyExc_BufferError,
                     "buffer %R: %zd buffer(s) over records in place (views of peek or "
                     "reserve) still exist; release them before cleanup()",
                     self->name, self->exports);
        return NULL;
    }
    if (scb_py_take(self) < 0) {
        if (self->h != NULL)
            return NULL;
        PyErr_Clear(); /* closed by another thread meanwhile */
        return PyLong_FromLong(SCB_OK);
    }
    if (self->exports > 0) { /* exported while this thread queued */
        scb_py_give(self);
        PyErr_Format(PyExc_BufferError,
                     "buffer %R: buffers over records in place still exist", self->name);
        return NULL;
    }
    scb_py_view_detach(self);
    h = self->h;
    self->h = NULL;
    Py_BEGIN_ALLOW_THREADS
    rc = scb_close(h);
    Py_END_ALLOW_THREADS
    scb_py_give(self);
    return PyLong_FromLong(rc);
}

/* _raise(code, what): raises the exception for a libscb code. */
static PyObject *ring_raise(RingObject *self, PyObject *args)
{
    int rc;
    const char *what;

    if (!PyArg_ParseTuple(args, "is:_raise", &rc, &what))
        return NULL;
    return raise_code(self, rc, what, NULL);
}

/* ---------------------------------------------------------------------------
 * Ring: writing
 */

/* Pushes one record or item given as a bytes-like object. */
static PyObject *push_buffer(RingObject *self, PyObject *data, int64_t ms)
{
    Py_buffer view;
    struct bytes_arg a;
    int rc;

    if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    a.p = view.buf;
    a.n = (size_t)view.len;
    a.done = 0;
    rc = scb_py_retry(self, op_push_record, &a, ms);
    PyBuffer_Release(&view);
    if (rc == SCB_OK)
        Py_RETURN_NONE;
    if (rc == SCB_EAGAIN)
        return raise_code(self, rc, "push: ring full", "BufferFull");
    if (rc == SCB_EMSGSIZE && self->records) {
        PyObject *msg = PyUnicode_FromFormat(
            "push %R: a record of %zd bytes, the ring's largest is %u", self->name,
            view.len, (unsigned)self->item_size);

        if (msg != NULL) {
            raise_cls("RecordTooLarge", rc, msg);
            Py_DECREF(msg);
        }
        return NULL;
    }
    return raise_code(self, rc, "push", NULL);
}

static PyObject *ring_push(RingObject *self, PyObject *const *args, Py_ssize_t nargs,
                           PyObject *kwnames)
{
    PyObject *item, *timeout = NULL;
    unsigned char small[8], *buf = small;
    struct bytes_arg a;
    int64_t ms = 0;
    int rc;

    if (kwnames == NULL && nargs == 1) {
        item = args[0];
    } else if (scb_py_args("push", args, nargs, kwnames, 1, 1, &item, &timeout) < 0 ||
               scb_py_timeout(timeout, &ms) < 0) {
        return NULL;
    }
    if (scb_py_need_writer(self) < 0)
        return NULL;
    if (self->records)
        return push_buffer(self, item, ms);
    if (self->item_size > sizeof small) {
        buf = PyMem_Malloc(self->item_size);
        if (buf == NULL)
            return PyErr_NoMemory();
    }
    if (int_to_item(self, item, buf) < 0) {
        if (buf != small)
            PyMem_Free(buf);
        return NULL;
    }
    a.p = buf;
    rc = scb_py_retry(self, op_push, &a, ms);
    if (buf != small)
        PyMem_Free(buf);
    if (rc == SCB_OK)
        Py_RETURN_NONE;
    if (rc == SCB_EAGAIN)
        return raise_code(self, rc, "push: ring full", "BufferFull");
    return raise_code(self, rc, "push", NULL);
}

/* Pushes n items stored back to back; returns how many went in. */
static PyObject *push_items(RingObject *self, const unsigned char *p, size_t n, int64_t ms)
{
    struct bytes_arg a = { p, n, 0 };
    int rc = scb_py_retry(self, op_push_many, &a, ms);

    if (rc == SCB_OK || (rc == SCB_ETIMEDOUT && a.done > 0) ||
        (rc == SCB_EAGAIN && a.done > 0))
        return PyLong_FromSize_t(a.done);
    if (rc == SCB_EAGAIN)
        return raise_code(self, rc, "push: ring full", "BufferFull");
    return raise_code(self, rc, "push", NULL);
}

/* push_bytes(data, *, timeout=0): raw items of a fixed-size ring. */
static PyObject *ring_push_bytes(RingObject *self, PyObject *const *args, Py_ssize_t nargs,
                                 PyObject *kwnames)
{
    PyObject *data, *timeout = NULL, *res;
    Py_buffer view;
    int64_t ms = 0;

    if (scb_py_args("push_bytes", args, nargs, kwnames, 1, 1, &data, &timeout) < 0 ||
        scb_py_timeout(timeout, &ms) < 0 || scb_py_need_writer(self) < 0)
        return NULL;
    if (self->records)
        return raise_code(self, SCB_EINVAL, "push_bytes: a record ring (use push)", NULL);
    if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    if (view.len == 0 || view.len % self->item_size != 0) {
        PyErr_Format(PyExc_ValueError,
                     "push_bytes needs a non-empty multiple of item_size (%u) bytes, not %zd",
                     (unsigned)self->item_size, view.len);
        PyBuffer_Release(&view);
        return NULL;
    }
    res = push_items(self, view.buf, (size_t)view.len / self->item_size, ms);
    PyBuffer_Release(&view);
    return res;
}

/* True when the exception set is errors.BufferFull or errors.TimedOut. */
static int stopped_by_full(void)
{
    return PyErr_ExceptionMatches(exc_full) || PyErr_ExceptionMatches(exc_timedout);
}

/* push_many(items, *, timeout=0): a fixed-size ring takes a bytes-like
 * object of whole items or an iterable of ints; a record ring an iterable
 * of bytes-like objects.  Returns the number pushed. */
static PyObject *ring_push_many(RingObject *self, PyObject *const *args, Py_ssize_t nargs,
                                PyObject *kwnames)
{
    PyObject *obj, *timeout = NULL, *it, *x, *res = NULL;
    int64_t ms = 0;
    size_t n = 0, cap = 0;
    unsigned char *items = NULL;

    if (scb_py_args("push_many", args, nargs, kwnames, 1, 1, &obj, &timeout) < 0 ||
        scb_py_timeout(timeout, &ms) < 0 || scb_py_need_writer(self) < 0)
        return NULL;
    if (!self->records && PyObject_CheckBuffer(obj)) {
        Py_buffer view;

        if (PyObject_GetBuffer(obj, &view, PyBUF_SIMPLE) < 0)
            return NULL;
        if (view.len % self->item_size != 0) {
            PyErr_Format(PyExc_ValueError,
                         "push_many needs whole items of %u bytes, not %zd bytes",
                         (unsigned)self->item_size, view.len);
            PyBuffer_Release(&view);
            return NULL;
        }
        res = view.len ? push_items(self, view.buf, (size_t)view.len / self->item_size, ms)
                       : PyLong_FromLong(0);
        PyBuffer_Release(&view);
        return res;
    }
    if (self->records && (PyBytes_Check(obj) || PyByteArray_Check(obj) ||
                          PyObject_CheckBuffer(obj))) {
        PyErr_SetString(PyExc_TypeError,
                        "push_many on a record ring takes an iterable of bytes-like "
                        "objects, one per record (use push for one record)");
        return NULL;
    }
    it = PyObject_GetIter(obj);
    if (it == NULL)
        return NULL;
    while ((x = PyIter_Next(it)) != NULL) {
        if (self->records) {
            PyObject *r = push_buffer(self, x, ms);

            Py_DECREF(x);
            if (r == NULL) {
                /* Records already pushed stay pushed: a lossless ring
                 * that stays full reports how many went in. */
                if (n > 0 && stopped_by_full()) {
                    PyErr_Clear();
                    break;
                }
                goto fail;
            }
            Py_DECREF(r);
            n++;
            continue;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            unsigned char *p = PyMem_Realloc(items, ncap * self->item_size);

            if (p == NULL) {
                Py_DECREF(x);
                PyErr_NoMemory();
                goto fail;
            }
            items = p;
            cap = ncap;
        }
        if (int_to_item(self, x, items + n * self->item_size) < 0) {
            Py_DECREF(x);
            goto fail;
        }
        Py_DECREF(x);
        n++;
    }
    if (PyErr_Occurred())
        goto fail;
    if (self->records)
        res = PyLong_FromSize_t(n);
    else
        res = n ? push_items(self, items, n, ms) : PyLong_FromLong(0);
fail:
    Py_DECREF(it);
    PyMem_Free(items);
    return res;
}

/* ---------------------------------------------------------------------------
 * Ring: reading
 */

static PyObject *pop_result(RingObject *self, int rc, struct pop_arg *a)
{
    if (rc == SCB_OK)
        return a->out;
    if (rc == SCB_EAGAIN || rc == SCB_ETIMEDOUT)
        Py_RETURN_NONE;
    return raise_code(self, rc, "pop", NULL);
}

static PyObject *ring_popitem(RingObject *self, PyObject *unused)
{
    struct pop_arg a = { NULL, NULL, 0, 0 };

    (void)unused;
    if (scb_py_need_reader(self) < 0)
        return NULL;
    return pop_result(self, scb_py_retry(self, op_pop, &a, 0), &a);
}

/* pop(timeout=None): as popitem, waiting up to timeout seconds. */
static PyObject *ring_pop(RingObject *self, PyObject *const *args, Py_ssize_t nargs,
                          PyObject *kwnames)
{
    PyObject *pos, *timeout = NULL;
    struct pop_arg a = { NULL, NULL, 0, 0 };
    int64_t ms;

    if (scb_py_args("pop", args, nargs, kwnames, 0, 1, &pos, &timeout) < 0)
        return NULL;
    if (pos != NULL) {
        if (timeout != NULL) {
            PyErr_SetString(PyExc_TypeError, "pop() got multiple values for argument 'timeout'");
            return NULL;
        }
        timeout = pos;
    }
    if (scb_py_timeout(timeout ? timeout : Py_None, &ms) < 0 || scb_py_need_reader(self) < 0)
        return NULL;
    return pop_result(self, scb_py_retry(self, op_pop, &a, ms), &a);
}

/* pop_bytes(timeout=0): the next item's raw bytes, or None. */
static PyObject *ring_pop_bytes(RingObject *self, PyObject *const *args, Py_ssize_t nargs,
                                PyObject *kwnames)
{
    PyObject *pos, *timeout = NULL;
    struct pop_arg a = { NULL, NULL, 0, 0 };
    int64_t ms;

    if (scb_py_args("pop_bytes", args, nargs, kwnames, 0, 1, &pos, &timeout) < 0)
        return NULL;
    if (pos != NULL)
        timeout = pos;
    if (scb_py_timeout(timeout, &ms) < 0 || scb_py_need_reader(self) < 0)
        return NULL;
    return pop_result(self, scb_py_retry(self, self->records ? op_pop_record : op_pop_bytes,
                                         &a, ms), &a);
}

static int check_count(PyObject *n, Py_ssize_t *out)
{
    if (!PyLong_Check(n) || PyBool_Check(n)) {
        scb_py_type_error("n must be an int", n);
        return -1;
    }
    *out = PyLong_AsSsize_t(n);
    if (*out == -1 && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError))
            return -1;
        PyErr_Clear();
        if (PyLong_AsDouble(n) < 0) {
            PyErr_Format(PyExc_ValueError, "n must be at least 0, not %R", n);
            return -1;
        }
        *out = PY_SSIZE_T_MAX;
    }
    if (*out < 0) {
        PyErr_Format(PyExc_ValueError, "n must be at least 0, not %zd", *out);
        return -1;
    }
    return 0;
}

struct many_arg {
    size_t max;      /* items (records) wanted */
    PyObject *list;  /* ints or bytes */
    int raw;         /* popmany_bytes: one bytes object of the items */
};

static int op_popmany(RingObject *self, void *arg)
{
    struct many_arg *a = arg;
    size_t count = 0, i, size = self->item_size;
    unsigned char *buf;
    int rc;

    if (self->records) {
        for (i = 0; i < a->max; i++) {
            struct pop_arg p = { NULL, NULL, 0, 0 };

            rc = op_pop_record(self, &p);
            if (rc != SCB_OK)
                return i > 0 && rc == SCB_EAGAIN ? SCB_OK : rc;
            if (PyList_Append(a->list, p.out) < 0) {
                Py_DECREF(p.out);
                return SCB_PY_ERR;
            }
            Py_DECREF(p.out);
        }
        return SCB_OK;
    }
    buf = scratch(self, a->max * size);
    if (buf == NULL)
        return SCB_PY_ERR;
    rc = scb_pop_many(self->h, buf, a->max, &count);
    if (rc != SCB_OK)
        return rc;
    if (a->raw) {
        Py_DECREF(a->list);
        a->list = PyBytes_FromStringAndSize((const char *)buf, (Py_ssize_t)(count * size));
        return a->list ? SCB_OK : SCB_PY_ERR;
    }
    for (i = 0; i < count; i++) {
        PyObject *v = item_to_int(self, buf + i * size);

        if (v == NULL || PyList_Append(a->list, v) < 0) {
            Py_XDECREF(v);
            return SCB_PY_ERR;
        }
        Py_DECREF(v);
    }
    return SCB_OK;
}

static PyObject *popmany(RingObject *self, PyObject *n, int raw)
{
    struct many_arg a;
    Py_ssize_t max;
    int rc;

    if (scb_py_need_reader(self) < 0 || check_count(n, &max) < 0)
        return NULL;
    if (raw && self->records)
        return raise_code(self, SCB_EINVAL, "popmany_bytes: a record ring (use popmany)", NULL);
    if (!self->records && (uint64_t)max > self->length)
        max = (Py_ssize_t)self->length; /* never more than the ring holds */
    a.max = (size_t)max;
    a.raw = raw;
    a.list = raw ? PyBytes_FromStringAndSize(NULL, 0) : PyList_New(0);
    if (a.list == NULL)
        return NULL;
    if (max == 0)
        return a.list;
    rc = scb_py_retry(self, op_popmany, &a, 0);
    if (rc == SCB_OK || rc == SCB_EAGAIN)
        return a.list;
    Py_XDECREF(a.list);
    return raise_code(self, rc, "pop", NULL);
}

static PyObject *ring_popmany(RingObject *self, PyObject *n)
{
    return popmany(self, n, 0);
}

static PyObject *ring_popmany_bytes(RingObject *self, PyObject *n)
{
    return popmany(self, n, 1);
}

/* pop_into(buffer, *, timeout=0): fixed-size ring: as many whole items as
 * fit, the count returned; record ring: the next record, its length
 * returned (None when there is none). */
static PyObject *ring_pop_into(RingObject *self, PyObject *const *args, Py_ssize_t nargs,
                               PyObject *kwnames)
{
    PyObject *obj, *timeout = NULL;
    struct pop_arg a = { NULL, NULL, 0, 0 };
    Py_buffer view;
    int64_t ms = 0;
    int rc;

    if (scb_py_args("pop_into", args, nargs, kwnames, 1, 1, &obj, &timeout) < 0 ||
        scb_py_timeout(timeout, &ms) < 0 || scb_py_need_reader(self) < 0)
        return NULL;
    if (PyObject_GetBuffer(obj, &view, PyBUF_WRITABLE) < 0)
        return NULL;
    if (!self->records && (size_t)view.len < self->item_size) {
        PyErr_Format(PyExc_ValueError, "pop_into needs room for one item of %u bytes, not %zd",
                     (unsigned)self->item_size, view.len);
        PyBuffer_Release(&view);
        return NULL;
    }
    a.buf = view.buf;
    a.cap = (size_t)view.len;
    rc = scb_py_retry(self, op_pop_into, &a, ms);
    PyBuffer_Release(&view);
    if (rc == SCB_OK)
        return PyLong_FromSize_t(a.count);
    if (rc == SCB_EAGAIN || rc == SCB_ETIMEDOUT) {
        if (self->records)
            Py_RETURN_NONE;
        return PyLong_FromLong(0);
    }
    if (rc == SCB_EMSGSIZE) {
        PyObject *msg = PyUnicode_FromFormat(
            "pop_into %R: the next record has %zu bytes, the buffer %zd", self->name, a.count,
            view.len);

        if (msg != NULL) {
            raise_cls("RecordTooLarge", rc, msg);
            Py_DECREF(msg);
        }
        return NULL;
    }
    return raise_code(self, rc, "pop", NULL);
}

/* wait(timeout=None): True when a call can go on (scb_wait), False when
 * the time ran out. */
static PyObject *ring_wait(RingObject *self, PyObject *const *args, Py_ssize_t nargs,
                           PyObject *kwnames)
{
    PyObject *pos, *timeout = NULL;
    int64_t ms;
    int rc;

    if (scb_py_args("wait", args, nargs, kwnames, 0, 1, &pos, &timeout) < 0)
        return NULL;
    if (pos != NULL)
        timeout = pos;
    if (scb_py_timeout(timeout ? timeout : Py_None, &ms) < 0)
        return NULL;
    rc = scb_py_retry(self, op_wait, NULL, ms);
    if (rc == SCB_OK)
        Py_RETURN_TRUE;
    if (rc == SCB_EAGAIN || rc == SCB_ETIMEDOUT)
        Py_RETURN_FALSE;
    return raise_code(self, rc, "wait", NULL);
}

static PyObject *ring_fileno(RingObject *self, PyObject *unused)
{
    scb_fd_t fd;
    int rc;

    (void)unused;
    if (scb_py_take(self) < 0)
        return NULL;
    rc = scb_fd(self->h, &fd);
    scb_py_give(self);
    if (rc != SCB_OK)
        return raise_code(self, rc, "fd of", NULL);
#ifdef _WIN32
    return PyLong_FromVoidPtr(fd);
#else
    return PyLong_FromLong(fd);
#endif
}

/* ---------------------------------------------------------------------------
 * Ring: what it is
 */

static PyObject *ring_info(RingObject *self, PyObject *unused)
{
    scb_info_t i;
    int rc;

    (void)unused;
    if (scb_py_take(self) < 0)
        return NULL;
    rc = scb_info(self->h, &i);
    scb_py_give(self);
    if (rc != SCB_OK)
        return raise_code(self, rc, "info", NULL);
    return Py_BuildValue(
        "{s:s,s:z,s:I,s:K,s:I,s:O,s:O,s:K,s:K,s:K,s:I,s:I,s:O,s:L,s:O,s:I}",
        "name", i.name, "backend", i.backend, "item_size", (unsigned)i.item_size,
        "length", (unsigned long long)i.length, "flags", (unsigned)i.flags,
        "lossless", (i.flags & SCB_LOSSLESS) ? Py_True : Py_False,
        "records", (i.flags & SCB_RECORDS) ? Py_True : Py_False,
        "pushed", (unsigned long long)i.pushed, "usage", (unsigned long long)i.usage,
        "lost", (unsigned long long)i.lost, "max_readers", (unsigned)i.max_readers,
        "readers", (unsigned)i.readers, "writer_alive", i.writer_alive ? Py_True : Py_False,
        "writer_pid", (long long)i.writer_pid, "is_writer", i.is_writer ? Py_True : Py_False, "mode",
        (unsigned)i.mode);
}

static PyObject *counter(RingObject *self, uint64_t (*fn)(const scb_t *))
{
    uint64_t v;

    if (scb_py_take(self) < 0)
        return NULL;
    v = fn(self->h);
    scb_py_give(self);
    return PyLong_FromUnsignedLongLong(v);
}

static PyObject *get_usage(RingObject *self, void *c)
{
    (void)c;
    return counter(self, scb_usage);
}

static PyObject *get_lost(RingObject *self, void *c)
{
    (void)c;
    return counter(self, scb_lost);
}

static PyObject *get_name(RingObject *self, void *c)
{
    (void)c;
    return Py_NewRef(self->name ? self->name : Py_None);
}

static PyObject *get_backend(RingObject *self, void *c)
{
    (void)c;
    return Py_NewRef(self->backend ? self->backend : Py_None);
}

static PyObject *get_item_size(RingObject *self, void *c)
{
    (void)c;
    return PyLong_FromUnsignedLong(self->item_size);
}

static PyObject *get_length(RingObject *self, void *c)
{
    (void)c;
    return PyLong_FromUnsignedLongLong(self->length);
}

static PyObject *get_flag(int v)
{
    return PyBool_FromLong(v);
}

static PyObject *get_records(RingObject *self, void *c)
{
    (void)c;
    return get_flag(self->records);
}

static PyObject *get_lossless(RingObject *self, void *c)
{
    (void)c;
    return get_flag(self->lossless);
}

static PyObject *get_is_writer(RingObject *self, void *c)
{
    (void)c;
    return get_flag(self->writer);
}

static PyObject *get_closed(RingObject *self, void *c)
{
    (void)c;
    return get_flag(self->h == NULL);
}

#define METH_KW (METH_FASTCALL | METH_KEYWORDS)
#define FN(f) ((PyCFunction)(void (*)(void))(f))

static PyMethodDef ring_methods[] = {
    { "_open", FN(ring_open), METH_VARARGS, "Creates or opens the ring (internal)." },
    { "_close", FN(ring_close), METH_NOARGS, "Closes the handle; returns the code (internal)." },
    { "_raise", FN(ring_raise), METH_VARARGS, "Raises the error of a code (internal)." },
    { "push", FN(ring_push), METH_KW,
      "push(item, *, timeout=0)\n--\n\nPushes an int (fixed-size ring) or a bytes-like "
      "record (record ring)." },
    { "push_bytes", FN(ring_push_bytes), METH_KW,
      "push_bytes(data, *, timeout=0)\n--\n\nPushes raw items back to back; returns the "
      "number pushed." },
    { "push_many", FN(ring_push_many), METH_KW,
      "push_many(items, *, timeout=0)\n--\n\nPushes many items or records in one call; "
      "returns the number pushed." },
    { "popitem", FN(ring_popitem), METH_NOARGS,
      "popitem()\n--\n\nThe next item (int) or record (bytes), or None." },
    { "pop", FN(ring_pop), METH_KW,
      "pop(timeout=None)\n--\n\nThe next item or record, waiting up to timeout seconds; "
      "None when the time runs out." },
    { "pop_bytes", FN(ring_pop_bytes), METH_KW,
      "pop_bytes(timeout=0)\n--\n\nThe next item's raw bytes, or None." },
    { "popmany", FN(ring_popmany), METH_O,
      "popmany(n)\n--\n\nUp to n items (ints) or records (bytes) as a list." },
    { "popmany_bytes", FN(ring_popmany_bytes), METH_O,
      "popmany_bytes(n)\n--\n\nUp to n items as raw bytes back to back." },
    { "pop_into", FN(ring_pop_into), METH_KW,
      "pop_into(buffer, *, timeout=0)\n--\n\nFixed-size ring: pops as many items as fit "
      "into buffer, returns the count; record ring: pops the next record into it, returns "
      "its length or None." },
    { "peek", FN(scb_py_peek), METH_KW,
      "peek(timeout=0)\n--\n\nA context manager: `with r.peek() as view` gives the next "
      "record in place as a read-only memoryview (None when there is none)." },
    { "reserve", FN(scb_py_reserve), METH_KW,
      "reserve(n, *, timeout=0)\n--\n\nA context manager: `with w.reserve(n) as view` "
      "gives n writable bytes in the ring, committed at the end of the block." },
    { "wait", FN(ring_wait), METH_KW,
      "wait(timeout=None)\n--\n\nTrue when a call can go on, False when the time ran "
      "out." },
    { "fileno", FN(ring_fileno), METH_NOARGS,
      "fileno()\n--\n\nThe OS handle an event loop waits on (scb_fd)." },
    { "_info", FN(ring_info), METH_NOARGS, "scb_info as a dict (internal)." },
    { NULL, NULL, 0, NULL },
};

static PyGetSetDef ring_getset[] = {
    { "name", (getter)get_name, NULL, "The ring's name.", NULL },
    { "backend", (getter)get_backend, NULL, "The libscb backend holding the ring.", NULL },
    { "item_size", (getter)get_item_size, NULL,
      "Bytes per item (record ring: the largest record).", NULL },
    { "length", (getter)get_length, NULL,
      "Capacity in items (record ring: bytes of record space).", NULL },
    { "records", (getter)get_records, NULL, "True for a record ring.", NULL },
    { "lossless", (getter)get_lossless, NULL, "True for a SCB_LOSSLESS ring.", NULL },
    { "is_writer", (getter)get_is_writer, NULL, "True for the writer (the creator).", NULL },
    { "closed", (getter)get_closed, NULL, "True after cleanup().", NULL },
    { "usage", (getter)get_usage, NULL,
      "Items (record ring: bytes) waiting for this reader; for the writer, in the ring.",
      NULL },
    { "lost", (getter)get_lost, NULL,
      "Items (records) overwritten before this reader read them.", NULL },
    { NULL, NULL, NULL, NULL, NULL },
};

static PyType_Slot ring_slots[] = {
    { Py_tp_new, (void *)ring_new },
    { Py_tp_dealloc, (void *)ring_dealloc },
    { Py_tp_methods, ring_methods },
    { Py_tp_getset, ring_getset },
    { Py_tp_doc, (void *)"One libscb handle; shared_cbuff.SharedCircularBuffer is the API." },
    { 0, NULL },
};

static PyType_Spec ring_spec = {
    "shared_cbuff._scb.Ring",
    sizeof(RingObject),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    ring_slots,
};

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
    ring_type = PyType_FromSpec(&ring_spec);
    if (ring_type == NULL || PyModule_AddObjectRef(m, "Ring", ring_type) < 0)
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
