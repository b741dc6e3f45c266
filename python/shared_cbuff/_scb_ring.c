/*
 * _scb_ring.c - the Ring type: creating and opening the ring (_open),
 * closing it (_close), what it is (info, attributes), and the method table
 * that also lists the calls of _scb_io.c and _scb_view.c.
 */
#include "_scb.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <pthread.h>
#endif

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

/*
 * scb_create or scb_open may wait: scb_open up to a minute for a ring its
 * creator is still making, scb_create while a large ring's memory is
 * reserved.  A thread of their own makes the call while the caller waits
 * in slices that run the signal handlers (Ctrl-C).  A caller whose handler
 * raises leaves: the thread then closes what it opened, and removes a ring
 * it created.  The job is freed by the last of the two.
 *
 * Where threads can be joined (POSIX), the caller joins the thread before
 * it returns, so that no thread of ours is still ending (freeing its
 * memory) when the caller forks next: a child forked then could inherit
 * a lock of the allocator's held for ever (seen with ASan's).  Only an
 * abandoned call's thread is detached.
 */
struct open_job {
    PyThread_type_lock done;  /* released by the thread when the call returned */
    PyThread_type_lock mutex; /* guards finished and abandoned */
    int create, finished, abandoned;
    char *name, *backend;
    scb_config_t cfg;
    scb_t *h;
    int rc, err;
};

static void free_job(struct open_job *j)
{
    if (j->done != NULL)
        PyThread_free_lock(j->done);
    if (j->mutex != NULL)
        PyThread_free_lock(j->mutex);
    free(j->name);
    free(j->backend);
    free(j);
}

/* Closes what an abandoned job made. */
static void undo_job(struct open_job *j)
{
    if (j->rc != SCB_OK)
        return;
    (void)scb_close(j->h);
    if (j->create && !(j->cfg.flags & SCB_UNLINK_ON_CLOSE))
        (void)scb_unlink(j->name, &j->cfg);
}

#ifdef _WIN32
typedef unsigned long opener_t;
#define OPENER_FAILED(t) ((t) == (unsigned long)-1)
#define OPENER_RETURN return
static void open_worker(void *arg);
static opener_t start_opener(struct open_job *j)
{
    return PyThread_start_new_thread(open_worker, j);
}
static void join_opener(opener_t t) { (void)t; }
static void detach_opener(opener_t t) { (void)t; }
#else
typedef struct {
    pthread_t t;
    int failed;
} opener_t;
#define OPENER_FAILED(t) ((t).failed)
#define OPENER_RETURN return NULL
static void *open_worker(void *arg);
static opener_t start_opener(struct open_job *j)
{
    opener_t o;

    o.failed = pthread_create(&o.t, NULL, open_worker, j) != 0;
    return o;
}
static void join_opener(opener_t o) { (void)pthread_join(o.t, NULL); }
static void detach_opener(opener_t o) { (void)pthread_detach(o.t); }
#endif

#ifdef _WIN32
static void open_worker(void *arg)
#else
static void *open_worker(void *arg)
#endif
{
    struct open_job *j = arg;
    int abandoned;

    j->rc = j->create ? scb_create(&j->h, j->name, &j->cfg)
                      : scb_open(&j->h, j->name, &j->cfg);
    j->err = errno;
    PyThread_acquire_lock(j->mutex, WAIT_LOCK);
    j->finished = 1;
    abandoned = j->abandoned;
    PyThread_release_lock(j->mutex);
    if (abandoned) {
        undo_job(j);
        free_job(j);
        OPENER_RETURN;
    }
    PyThread_release_lock(j->done);
    OPENER_RETURN;
}

static char *copy_str(const char *s)
{
    char *c = s != NULL ? malloc(strlen(s) + 1) : NULL;

    if (c != NULL)
        strcpy(c, s);
    return c;
}

/* The SCB_ code of scb_create/scb_open (*h set on SCB_OK, errno theirs), or
 * SCB_PY_ERR with an exception set. */
static int open_or_create(int create, const char *name, const scb_config_t *cfg, scb_t **h)
{
    struct open_job *j = calloc(1, sizeof *j);
    unsigned long fork_gen = scb_py_fork_gen;
    PyLockStatus st;
    opener_t opener;
    int rc, sig;

    if (j == NULL) {
        PyErr_NoMemory();
        return SCB_PY_ERR;
    }
    j->create = create;
    j->cfg = *cfg;
    j->name = copy_str(name);
    j->backend = cfg->backend != NULL ? copy_str(cfg->backend) : NULL;
    j->cfg.backend = j->backend;
    j->done = PyThread_allocate_lock();
    j->mutex = PyThread_allocate_lock();
    if (j->name == NULL || (cfg->backend != NULL && j->backend == NULL) || j->done == NULL ||
        j->mutex == NULL) {
        free_job(j);
        PyErr_NoMemory();
        return SCB_PY_ERR;
    }
    PyThread_acquire_lock(j->done, WAIT_LOCK);
    opener = start_opener(j);
    if (OPENER_FAILED(opener)) {
        /* No thread: the call in this one, not interruptible. */
        Py_BEGIN_ALLOW_THREADS
        rc = create ? scb_create(h, name, cfg) : scb_open(h, name, cfg);
        Py_END_ALLOW_THREADS
        free_job(j);
        return rc;
    }
    for (;;) {
        Py_BEGIN_ALLOW_THREADS
        st = PyThread_acquire_lock_timed(j->done, (PY_TIMEOUT_T)SCB_PY_SLICE_MS * 1000, 1);
        Py_END_ALLOW_THREADS
        if (st == PY_LOCK_ACQUIRED)
            break;
        sig = PyErr_CheckSignals();
        if (fork_gen != scb_py_fork_gen) {
            /* A signal handler forked: in this child the thread making the
             * call does not exist (its job is left as it is). */
            if (sig == 0)
                PyErr_SetString(PyExc_RuntimeError,
                                "shared_cbuff: a signal handler forked while this buffer "
                                "was being opened; open it again in the child");
            return SCB_PY_ERR;
        }
        if (sig < 0) {
            int finished;

            PyThread_acquire_lock(j->mutex, WAIT_LOCK);
            finished = j->finished;
            j->abandoned = !finished;
            PyThread_release_lock(j->mutex);
            if (finished) { /* returned meanwhile: undone here */
                PyThread_acquire_lock(j->done, WAIT_LOCK);
                join_opener(opener);
                undo_job(j);
                free_job(j);
            } else {
                detach_opener(opener);
            }
            return SCB_PY_ERR;
        }
    }
    Py_BEGIN_ALLOW_THREADS
    join_opener(opener); /* it has returned: microseconds */
    Py_END_ALLOW_THREADS
    rc = j->rc;
    *h = j->h;
    errno = j->err;
    free_job(j);
    return rc;
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
    rc = open_or_create(create, cname, &cfg, &h);
    if (rc == SCB_PY_ERR)
        return NULL;
    if (rc == SCB_EEXIST && create) {
        PyObject *msg = PyUnicode_FromFormat("Buffer with that name already exists (%R)", name);

        if (msg != NULL) {
            scb_py_error_cls(NULL, rc, PyUnicode_AsUTF8AndSize(msg, NULL), "BufferAlreadyCreated");
            Py_DECREF(msg);
        }
        return NULL;
    }
    if (rc != SCB_OK)
        return scb_py_error_cls(self, rc, create ? "create" : "open", NULL);
    rc = scb_info(h, &info);
    if (rc != SCB_OK) {
        (void)scb_close(h);
        return scb_py_error_cls(self, rc, "info", NULL);
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

/* _close(): closes the handle (SCB_OK, or scb_close's error raised, the
 * handle forgotten either way); in a process other than the one that
 * opened it (a forked child) it only forgets it.
 * BufferError while buffers over the ring's memory are exported. */
static PyObject *ring_close(RingObject *self, PyObject *unused)
{
    scb_t *h;
    int rc = SCB_OK;

    (void)unused;
    if (self->h == NULL)
        return PyLong_FromLong(SCB_OK); /* already closed */
    if (self->fork_gen != scb_py_fork_gen) {
        /* A forked child's copy: the handle, and whatever the parent's
         * threads held or queued for, are the parent's. */
        self->h = NULL;
        self->held = 0;
        self->owner = 0;
        self->queue = self->queue_tail = NULL;
        self->handed_to = self->lender = NULL;
        scb_py_view_detach(self);
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
        if (self->h != NULL || !scb_py_closed_pending())
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
    if (rc != SCB_OK)
        return scb_py_error(self, rc, "cleanup");
    return PyLong_FromLong(rc);
}

/* _raise(code, what): raises the exception for a libscb code. */
static PyObject *ring_raise(RingObject *self, PyObject *args)
{
    int rc;
    const char *what;

    if (!PyArg_ParseTuple(args, "is:_raise", &rc, &what))
        return NULL;
    return scb_py_error_cls(self, rc, what, NULL);
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
        return scb_py_error_cls(self, rc, "info", NULL);
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

/* The getters' closures: which field or call. */
enum {
    GET_NAME, GET_BACKEND, GET_ITEM_SIZE, GET_LENGTH, GET_RECORDS, GET_LOSSLESS,
    GET_IS_WRITER, GET_CLOSED, GET_USAGE, GET_LOST
};
#define WHICH(k) ((void *)(intptr_t)(k))

static PyObject *get(RingObject *self, void *which)
{
    uint64_t v;

    switch ((intptr_t)which) {
    case GET_NAME:
        return Py_NewRef(self->name ? self->name : Py_None);
    case GET_BACKEND:
        return Py_NewRef(self->backend ? self->backend : Py_None);
    case GET_ITEM_SIZE:
        return PyLong_FromUnsignedLong(self->item_size);
    case GET_LENGTH:
        return PyLong_FromUnsignedLongLong(self->length);
    case GET_RECORDS:
        return PyBool_FromLong(self->records);
    case GET_LOSSLESS:
        return PyBool_FromLong(self->lossless);
    case GET_IS_WRITER:
        return PyBool_FromLong(self->writer);
    case GET_CLOSED:
        return PyBool_FromLong(self->h == NULL);
    default: /* GET_USAGE, GET_LOST: counters of the handle */
        if (scb_py_take(self) < 0)
            return NULL;
        v = (intptr_t)which == GET_USAGE ? scb_usage(self->h) : scb_lost(self->h);
        scb_py_give(self);
        return PyLong_FromUnsignedLongLong(v);
    }
}

#define METH_KW (METH_FASTCALL | METH_KEYWORDS)
#define FN(f) ((PyCFunction)(void (*)(void))(f))

static PyMethodDef ring_methods[] = {
    { "_open", FN(ring_open), METH_VARARGS, "Creates or opens the ring (internal)." },
    { "_close", FN(ring_close), METH_NOARGS, "Closes the handle; returns the code (internal)." },
    { "_raise", FN(ring_raise), METH_VARARGS, "Raises the error of a code (internal)." },
    { "push", FN(scb_py_push), METH_KW,
      "push(item, *, timeout=0)\n--\n\nPushes an int (fixed-size ring) or a bytes-like "
      "record (record ring)." },
    { "push_bytes", FN(scb_py_push_bytes), METH_KW,
      "push_bytes(data, *, timeout=0)\n--\n\nPushes raw items back to back; returns the "
      "number pushed." },
    { "push_many", FN(scb_py_push_many), METH_KW,
      "push_many(items, *, timeout=0)\n--\n\nPushes many items or records in one call; "
      "returns the number pushed." },
    { "popitem", FN(scb_py_popitem), METH_NOARGS,
      "popitem()\n--\n\nThe next item (int) or record (bytes), or None." },
    { "pop", FN(scb_py_pop), METH_KW,
      "pop(timeout=None)\n--\n\nThe next item or record, waiting up to timeout seconds; "
      "None when the time runs out." },
    { "pop_bytes", FN(scb_py_pop_bytes), METH_KW,
      "pop_bytes(timeout=0)\n--\n\nThe next item's raw bytes, or None." },
    { "popmany", FN(scb_py_popmany), METH_O,
      "popmany(n)\n--\n\nUp to n items (ints) or records (bytes) as a list." },
    { "popmany_bytes", FN(scb_py_popmany_bytes), METH_O,
      "popmany_bytes(n)\n--\n\nUp to n items as raw bytes back to back." },
    { "pop_into", FN(scb_py_pop_into), METH_KW,
      "pop_into(buffer, *, timeout=0)\n--\n\nFixed-size ring: pops as many items as fit "
      "into buffer, returns the count; record ring: pops the next record into it, returns "
      "its length or None." },
    { "peek", FN(scb_py_peek), METH_KW,
      "peek(timeout=0)\n--\n\nA context manager: `with r.peek() as view` gives the next "
      "record in place as a read-only memoryview (None when there is none)." },
    { "reserve", FN(scb_py_reserve), METH_KW,
      "reserve(n, *, timeout=0)\n--\n\nA context manager: `with w.reserve(n) as view` "
      "gives n writable bytes in the ring, committed at the end of the block." },
    { "wait", FN(scb_py_wait), METH_KW,
      "wait(timeout=None)\n--\n\nTrue when a call can go on, False when the time ran "
      "out." },
    { "fileno", FN(scb_py_fileno), METH_NOARGS,
      "fileno()\n--\n\nThe OS handle an event loop waits on (scb_fd)." },
    { "_info", FN(ring_info), METH_NOARGS, "scb_info as a dict (internal)." },
    { NULL, NULL, 0, NULL },
};

static PyGetSetDef ring_getset[] = {
    { "name", (getter)get, NULL, "The ring's name.", WHICH(GET_NAME) },
    { "backend", (getter)get, NULL, "The libscb backend holding the ring.",
      WHICH(GET_BACKEND) },
    { "item_size", (getter)get, NULL, "Bytes per item (record ring: the largest record).",
      WHICH(GET_ITEM_SIZE) },
    { "length", (getter)get, NULL, "Capacity in items (record ring: bytes of record space).",
      WHICH(GET_LENGTH) },
    { "records", (getter)get, NULL, "True for a record ring.", WHICH(GET_RECORDS) },
    { "lossless", (getter)get, NULL, "True for a SCB_LOSSLESS ring.", WHICH(GET_LOSSLESS) },
    { "is_writer", (getter)get, NULL, "True for the writer (the creator).",
      WHICH(GET_IS_WRITER) },
    { "closed", (getter)get, NULL, "True after cleanup().", WHICH(GET_CLOSED) },
    { "usage", (getter)get, NULL,
      "Items (record ring: bytes) waiting for this reader; for the writer, in the ring.",
      WHICH(GET_USAGE) },
    { "lost", (getter)get, NULL, "Items (records) overwritten before this reader read them.",
      WHICH(GET_LOST) },
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


int scb_py_ring_init(PyObject *module)
{
    PyObject *type = PyType_FromSpec(&ring_spec);
    int rc;

    if (type == NULL)
        return -1;
    rc = PyModule_AddObjectRef(module, "Ring", type);
    Py_DECREF(type);
    return rc;
}
