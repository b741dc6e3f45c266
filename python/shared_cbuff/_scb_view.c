/*
 * _scb_view.c - records in place: Ring.peek (scb_peek / scb_release) and
 * Ring.reserve (scb_reserve / scb_commit / scb_discard), each a View.
 *
 * A View exports the record's bytes inside the ring through the buffer
 * protocol while it is open, and refuses once its with block ended (the
 * record released, committed or discarded).  Every buffer exported over
 * the ring's memory is counted on the Ring, whose cleanup() refuses while
 * any is alive, so that no view can outlive the mapping it points into.
 * A View keeps only a weak reference to the memoryview it handed out, so
 * there is no reference cycle between them.
 */
#include "_scb.h"

enum { VIEW_PEEK, VIEW_RESERVE };
enum { VIEW_EMPTY, VIEW_OPEN, VIEW_DONE };

typedef struct {
    PyObject_HEAD
    RingObject *ring;      /* strong */
    char *ptr;             /* the record in the ring */
    Py_ssize_t len;        /* its bytes (reserve: reserved) */
    int kind;
    int state;
    Py_ssize_t commit_len; /* reserve: set by commit(k), else -1 */
    Py_ssize_t exports;    /* buffers exported by this view */
    PyObject *handed;      /* peek: weak reference to the memoryview handed out */
} ViewObject;

static PyObject *new_view(RingObject *ring, int kind, int state, void *ptr, size_t len)
{
    allocfunc alloc = (allocfunc)PyType_GetSlot((PyTypeObject *)scb_py_view_type, Py_tp_alloc);
    ViewObject *v = (ViewObject *)alloc((PyTypeObject *)scb_py_view_type, 0);

    if (v == NULL)
        return NULL;
    Py_INCREF((PyObject *)ring);
    v->ring = ring;
    v->ptr = ptr;
    v->len = (Py_ssize_t)len;
    v->kind = kind;
    v->state = state;
    v->commit_len = -1;
    if (state == VIEW_OPEN) {
        ring->open_view = v;
        ring->view_thread = PyThread_get_thread_ident();
    }
    return (PyObject *)v;
}

static int released_error(void)
{
    PyErr_SetString(PyExc_ValueError,
                    "operation forbidden on a released view (its with block ended)");
    return -1;
}

/*
 * Ends an open view: releases the memoryview handed out, then releases
 * (peek), commits (reserve, ok) or discards (reserve, !ok) the record.
 * With ok, a failure raises and returns -1; without (the block raised),
 * errors are dropped so that the block's own exception goes on.
 */
static int finish(ViewObject *v, int ok, int quietly)
{
    RingObject *ring = v->ring;
    int rc;

    if (v->state != VIEW_OPEN) {
        v->state = VIEW_DONE;
        return 0;
    }
    /* The handle first: while this thread queues for it, the view is still
     * the ring's open one and no other call can peek or reserve. */
    if ((quietly ? scb_py_take_quietly(ring) : scb_py_take(ring)) < 0) {
        if (ring->h != NULL && ring->fork_gen == scb_py_fork_gen) {
            /* Interrupted (a signal handler raised; its exception goes
             * on, even over the block's): the view stays open, ended when
             * it goes or the buffer closes. */
            return -1;
        }
        v->state = VIEW_DONE; /* closed meanwhile: the close dropped it */
        if (ring->open_view == v)
            ring->open_view = NULL;
        Py_CLEAR(v->handed);
        if (ok)
            return -1;
        PyErr_Clear();
        return 0;
    }
    if (v->state != VIEW_OPEN) { /* ended by another thread meanwhile */
        scb_py_give(ring);
        return 0;
    }
    v->state = VIEW_DONE;
    if (ring->open_view == v)
        ring->open_view = NULL;
    if (v->handed != NULL) {
        PyObject *mv = PyObject_CallNoArgs(v->handed); /* the referent, or None */

        if (mv == NULL) {
            PyErr_Clear();
        } else if (mv != Py_None) {
            PyObject *r = PyObject_CallMethod(mv, "release", NULL);

            if (r == NULL)
                PyErr_Clear(); /* re-exported: still counted on the ring */
            Py_XDECREF(r);
        }
        Py_XDECREF(mv);
        Py_CLEAR(v->handed);
    }
    if (v->kind == VIEW_PEEK) {
        rc = scb_release(ring->h);
    } else if (ok) {
        rc = scb_commit(ring->h, (size_t)(v->commit_len >= 0 ? v->commit_len : v->len));
        if (rc != SCB_OK)
            (void)scb_discard(ring->h); /* never leave the writer reserved */
    } else {
        rc = scb_discard(ring->h);
    }
    scb_py_give(ring);
    if (rc == SCB_OK || !ok)
        return 0;
    scb_py_error(ring, rc, v->kind == VIEW_PEEK ? "peek" : "commit");
    return -1;
}

/* The ring is closing: its open view (never exported, or the close would
 * have been refused) ends without a call, the handle's close dropping the
 * record peeked or reserved. */
void scb_py_view_detach(RingObject *ring)
{
    ViewObject *v = ring->open_view;

    if (v == NULL)
        return;
    ring->open_view = NULL;
    v->state = VIEW_DONE;
    v->ptr = NULL;
    Py_CLEAR(v->handed);
}

static void view_dealloc(PyObject *obj)
{
    ViewObject *v = (ViewObject *)obj;
    PyTypeObject *tp = Py_TYPE(obj);
    freefunc tp_free = (freefunc)PyType_GetSlot(tp, Py_tp_free);
    PyObject *et, *ev, *tb;

    /* Never entered or never left: a peeked record is released, a
     * reservation discarded. */
    PyErr_Fetch(&et, &ev, &tb);
    if (v->state == VIEW_OPEN && finish(v, v->kind == VIEW_PEEK, 1) < 0)
        PyErr_Clear();
    if (v->ring != NULL && v->ring->open_view == v)
        v->ring->open_view = NULL;
    PyErr_Restore(et, ev, tb);
    Py_CLEAR(v->handed);
    Py_XDECREF((PyObject *)v->ring);
    v->ring = NULL;
    tp_free(obj);
    Py_DECREF(tp);
}

static int view_getbuffer(PyObject *obj, Py_buffer *view, int flags)
{
    ViewObject *v = (ViewObject *)obj;

    if (v->state != VIEW_OPEN)
        return released_error();
    if (PyBuffer_FillInfo(view, obj, v->ptr, v->len, v->kind == VIEW_PEEK, flags) < 0)
        return -1;
    v->exports++;
    v->ring->exports++;
    return 0;
}

static void view_releasebuffer(PyObject *obj, Py_buffer *view)
{
    ViewObject *v = (ViewObject *)obj;

    (void)view;
    v->exports--;
    v->ring->exports--;
}

/* A memoryview of the view for one operation, or NULL with an error. */
static PyObject *temp_mv(ViewObject *v)
{
    if (v->state != VIEW_OPEN) {
        released_error();
        return NULL;
    }
    return PyMemoryView_FromObject((PyObject *)v);
}

static PyObject *view_enter(ViewObject *v, PyObject *unused)
{
    PyObject *mv;

    (void)unused;
    if (v->state == VIEW_EMPTY)
        Py_RETURN_NONE;
    if (v->state != VIEW_OPEN) {
        released_error();
        return NULL;
    }
    if (v->kind == VIEW_RESERVE)
        return Py_NewRef((PyObject *)v);
    if (v->handed != NULL) {
        /* One memoryview per block: the end of the block releases it. */
        PyErr_SetString(PyExc_ValueError, "this peek's with block is already entered");
        return NULL;
    }
    mv = PyMemoryView_FromObject((PyObject *)v);
    if (mv == NULL)
        return NULL;
    Py_CLEAR(v->handed);
    v->handed = PyWeakref_NewRef(mv, NULL);
    if (v->handed == NULL) {
        Py_DECREF(mv);
        return NULL;
    }
    return mv;
}

static PyObject *view_exit(ViewObject *v, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "__exit__ takes 3 arguments");
        return NULL;
    }
    if (finish(v, args[0] == Py_None, 0) < 0)
        return NULL;
    Py_RETURN_FALSE;
}

/* commit(k=None): the length the reservation is committed with at the end
 * of its block (None: all of it). */
static PyObject *view_commit(ViewObject *v, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t k;

    if (v->kind != VIEW_RESERVE) {
        PyErr_SetString(PyExc_TypeError, "commit() is for a view of reserve()");
        return NULL;
    }
    if (v->state != VIEW_OPEN) {
        released_error();
        return NULL;
    }
    if (nargs > 1) {
        PyErr_SetString(PyExc_TypeError, "commit() takes at most 1 argument");
        return NULL;
    }
    if (nargs == 0 || args[0] == Py_None) {
        v->commit_len = -1;
        Py_RETURN_NONE;
    }
    if (!PyLong_Check(args[0]) || PyBool_Check(args[0])) {
        scb_py_type_error("commit() takes an int", args[0]);
        return NULL;
    }
    k = PyLong_AsSsize_t(args[0]);
    if (k == -1 && PyErr_Occurred())
        return NULL;
    if (k < 0 || k > v->len) {
        PyErr_Format(PyExc_ValueError, "commit(%zd): the reservation has %zd bytes", k, v->len);
        return NULL;
    }
    if (!v->ring->records && k != v->len) {
        PyErr_Format(PyExc_ValueError,
                     "commit(%zd): an item of a fixed-size ring has %zd bytes, no fewer", k,
                     v->len);
        return NULL;
    }
    v->commit_len = k;
    Py_RETURN_NONE;
}

static Py_ssize_t view_length(PyObject *obj)
{
    ViewObject *v = (ViewObject *)obj;

    if (v->state != VIEW_OPEN)
        return released_error();
    return v->len;
}

static PyObject *view_getitem(PyObject *obj, PyObject *key)
{
    PyObject *mv = temp_mv((ViewObject *)obj), *r;

    if (mv == NULL)
        return NULL;
    r = PyObject_GetItem(mv, key);
    Py_DECREF(mv);
    return r;
}

static int view_setitem(PyObject *obj, PyObject *key, PyObject *value)
{
    PyObject *mv;
    int r;

    if (value == NULL) {
        PyErr_SetString(PyExc_TypeError, "cannot delete the bytes of a view");
        return -1;
    }
    mv = temp_mv((ViewObject *)obj);
    if (mv == NULL)
        return -1;
    r = PyObject_SetItem(mv, key, value);
    Py_DECREF(mv);
    return r;
}

/* Attributes of memoryview (tobytes, hex, nbytes, cast...) on an open view. */
static PyObject *view_getattro(PyObject *obj, PyObject *name)
{
    PyObject *r = PyObject_GenericGetAttr(obj, name), *mv;

    if (r != NULL || !PyErr_ExceptionMatches(PyExc_AttributeError))
        return r;
    PyErr_Clear();
    mv = temp_mv((ViewObject *)obj);
    if (mv == NULL)
        return NULL;
    r = PyObject_GetAttr(mv, name);
    Py_DECREF(mv);
    return r;
}

static PyObject *view_repr(PyObject *obj)
{
    ViewObject *v = (ViewObject *)obj;
    const char *state = v->state == VIEW_OPEN ? (v->kind == VIEW_PEEK ? "peeked" : "reserved")
                        : v->state == VIEW_EMPTY ? "empty"
                                                 : "released";

    return PyUnicode_FromFormat("<shared_cbuff.View %s, %zd bytes>", state, v->len);
}

static PyMethodDef view_methods[] = {
    { "__enter__", (PyCFunction)(void (*)(void))view_enter, METH_NOARGS, NULL },
    { "__exit__", (PyCFunction)(void (*)(void))view_exit, METH_FASTCALL, NULL },
    { "commit", (PyCFunction)(void (*)(void))view_commit, METH_FASTCALL,
      "commit(k=None)\n--\n\nCommit k bytes (None: all) at the end of the with block." },
    { NULL, NULL, 0, NULL },
};

static PyType_Slot view_slots[] = {
    { Py_tp_dealloc, (void *)view_dealloc },
    { Py_tp_methods, view_methods },
    { Py_tp_getattro, (void *)view_getattro },
    { Py_tp_repr, (void *)view_repr },
    { Py_bf_getbuffer, (void *)view_getbuffer },
    { Py_bf_releasebuffer, (void *)view_releasebuffer },
    { Py_mp_length, (void *)view_length },
    { Py_mp_subscript, (void *)view_getitem },
    { Py_mp_ass_subscript, (void *)view_setitem },
    { Py_tp_doc, (void *)"A record in place: the context manager of peek() and reserve(), "
                         "and reserve's writable bytes (a buffer, like a memoryview)." },
    { 0, NULL },
};

static PyType_Spec view_spec = {
    "shared_cbuff._scb.View",
    sizeof(ViewObject),
    0,
    Py_TPFLAGS_DEFAULT,
    view_slots,
};

int scb_py_view_init(PyObject *module)
{
    scb_py_view_type = PyType_FromSpec(&view_spec);
    if (scb_py_view_type == NULL)
        return -1;
    return PyModule_AddObjectRef(module, "View", scb_py_view_type);
}

/* ---------------------------------------------------------------------------
 * Ring.peek and Ring.reserve
 */

/* A code of the ops below: another View of the ring is open. */
#define VIEW_BUSY (SCB_PY_ERR - 1)

/* The op fills the View made beforehand, under the handle, so that one
 * thread's peek or reserve and the View that owns it are one step: no
 * other thread can peek the same record or reserve in between. */
static int op_place(RingObject *self, void *arg)
{
    ViewObject *v = arg;
    const void *p = NULL;
    size_t len = (size_t)v->len;
    void *w = NULL;
    int rc;

    if (self->open_view != NULL)
        return VIEW_BUSY;
    if (v->kind == VIEW_PEEK) {
        rc = scb_peek(self->h, &p, &len);
        w = (void *)p;
    } else {
        rc = scb_reserve(self->h, len, &w);
    }
    if (rc != SCB_OK)
        return rc;
    v->ptr = w;
    v->len = (Py_ssize_t)len;
    v->state = VIEW_OPEN;
    self->open_view = v;
    self->view_thread = PyThread_get_thread_ident();
    return SCB_OK;
}

static PyObject *view_busy(RingObject *self, const char *what)
{
    PyErr_Format(PyExc_ValueError,
                 "%s %R: a record of this buffer is already peeked or reserved (%s)",
                 what, self->name,
                 self->view_thread == PyThread_get_thread_ident()
                     ? "leave its with block first"
                     : "by another thread, until it leaves its with block");
    return NULL;
}

PyObject *scb_py_peek(RingObject *self, PyObject *const *args, Py_ssize_t nargs,
                      PyObject *kwnames)
{
    ViewObject *v;
    int64_t ms;
    int rc;

    if (scb_py_timeout_arg("peek", args, nargs, kwnames, NULL, &ms) < 0 ||
        scb_py_need_reader(self) < 0 ||
        (self->open_view != NULL && view_busy(self, "peek") == NULL))
        return NULL;
    v = (ViewObject *)new_view(self, VIEW_PEEK, VIEW_EMPTY, NULL, 0);
    if (v == NULL)
        return NULL;
    rc = scb_py_retry(self, op_place, v, ms);
    if (rc == SCB_OK || rc == SCB_EAGAIN || rc == SCB_ETIMEDOUT)
        return (PyObject *)v; /* open, or empty: nothing to read */
    Py_DECREF((PyObject *)v);
    if (rc == VIEW_BUSY)
        return view_busy(self, "peek");
    return scb_py_error(self, rc, "peek");
}

PyObject *scb_py_reserve(RingObject *self, PyObject *const *args, Py_ssize_t nargs,
                         PyObject *kwnames)
{
    PyObject *n, *timeout = NULL;
    ViewObject *v;
    Py_ssize_t len;
    int64_t ms;
    int rc;

    if (scb_py_args("reserve", args, nargs, kwnames, 1, 1, &n, &timeout) < 0 ||
        scb_py_timeout(timeout, &ms) < 0 || scb_py_need_writer(self) < 0 ||
        (self->open_view != NULL && view_busy(self, "reserve") == NULL))
        return NULL;
    if (!PyLong_Check(n) || PyBool_Check(n)) {
        scb_py_type_error("reserve() takes an int", n);
        return NULL;
    }
    len = PyLong_AsSsize_t(n);
    if (len == -1 && PyErr_Occurred())
        return NULL;
    if (len < 0) {
        PyErr_Format(PyExc_ValueError, "reserve(%zd): a length must be at least 0", len);
        return NULL;
    }
    if (!self->records && (size_t)len != self->item_size) {
        PyErr_Format(PyExc_ValueError,
                     "reserve(%zd): a fixed-size ring reserves one item of %u bytes", len,
                     (unsigned)self->item_size);
        return NULL;
    }
    v = (ViewObject *)new_view(self, VIEW_RESERVE, VIEW_EMPTY, NULL, (size_t)len);
    if (v == NULL)
        return NULL;
    rc = scb_py_retry(self, op_place, v, ms);
    if (rc == SCB_OK)
        return (PyObject *)v;
    Py_DECREF((PyObject *)v);
    if (rc == VIEW_BUSY)
        return view_busy(self, "reserve");
    if (rc == SCB_EAGAIN)
        return scb_py_error_cls(self, rc, "reserve: ring full", "BufferFull");
    if (rc == SCB_EMSGSIZE)
        return scb_py_too_large("reserve %R: %zd bytes, the ring's largest %s is %u",
                                self->name, len, self->records ? "record" : "item",
                                (unsigned)self->item_size);
    return scb_py_error(self, rc, "reserve");
}
