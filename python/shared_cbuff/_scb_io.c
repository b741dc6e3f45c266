/*
 * _scb_io.c - the Ring's calls that move items and records: push,
 * push_bytes, push_many, popitem, pop, pop_bytes, popmany, popmany_bytes,
 * pop_into, wait and fileno.  Each parses its arguments, then makes its
 * libscb call(s) through scb_py_retry with an op below (handle taken, GIL
 * held) that also builds the result.
 */
#include "_scb.h"

#include <string.h>

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
        return scb_py_error_cls(self, rc, "push: ring full", "BufferFull");
    if (rc == SCB_EMSGSIZE && self->records)
        return scb_py_too_large("push %R: a record of %zd bytes, the ring's largest is %u",
                                self->name, view.len, (unsigned)self->item_size);
    return scb_py_error_cls(self, rc, "push", NULL);
}

PyObject *scb_py_push(RingObject *self, PyObject *const *args, Py_ssize_t nargs,
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
        return scb_py_error_cls(self, rc, "push: ring full", "BufferFull");
    return scb_py_error_cls(self, rc, "push", NULL);
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
        return scb_py_error_cls(self, rc, "push: ring full", "BufferFull");
    return scb_py_error_cls(self, rc, "push", NULL);
}

/* push_bytes(data, *, timeout=0): raw items of a fixed-size ring. */
PyObject *scb_py_push_bytes(RingObject *self, PyObject *const *args, Py_ssize_t nargs,
                                 PyObject *kwnames)
{
    PyObject *data, *timeout = NULL, *res;
    Py_buffer view;
    int64_t ms = 0;

    if (scb_py_args("push_bytes", args, nargs, kwnames, 1, 1, &data, &timeout) < 0 ||
        scb_py_timeout(timeout, &ms) < 0 || scb_py_need_writer(self) < 0)
        return NULL;
    if (self->records)
        return scb_py_error_cls(self, SCB_EINVAL, "push_bytes: a record ring (use push)", NULL);
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

/* push_many of a record ring: every record is checked (bytes-like, not
 * larger than the ring's largest) before the first goes in, so a bad one
 * pushes nothing.  Records pushed stay pushed: a lossless ring that stays
 * full returns how many went in. */
static PyObject *push_records(RingObject *self, PyObject *obj, int64_t ms)
{
    PyObject *list = PySequence_List(obj), *res = NULL;
    Py_ssize_t i, n;

    if (list == NULL)
        return NULL;
    n = PyList_Size(list);
    for (i = 0; i < n; i++) {
        PyObject *x = PyList_GetItem(list, i);
        Py_buffer view;

        if (!PyObject_CheckBuffer(x)) {
            PyErr_Format(PyExc_TypeError,
                         "push_many: record %zd is not a bytes-like object (nothing was "
                         "pushed)", i);
            goto done;
        }
        if (PyObject_GetBuffer(x, &view, PyBUF_SIMPLE) < 0)
            goto done;
        PyBuffer_Release(&view);
        if ((size_t)view.len > self->item_size) {
            scb_py_too_large("push_many %R: record %zd has %zd bytes, the ring's largest is "
                             "%u (nothing was pushed)",
                             self->name, i, view.len, (unsigned)self->item_size);
            goto done;
        }
    }
    for (i = 0; i < n; i++) {
        PyObject *r = push_buffer(self, PyList_GetItem(list, i), ms);

        if (r == NULL) {
            if (i > 0 && scb_py_stopped_by_full()) {
                PyErr_Clear();
                break;
            }
            goto done;
        }
        Py_DECREF(r);
    }
    res = PyLong_FromSsize_t(i);
done:
    Py_DECREF(list);
    return res;
}

/* push_many(items, *, timeout=0): a fixed-size ring takes a bytes-like
 * object of whole items or an iterable of ints; a record ring an iterable
 * of bytes-like objects.  Returns the number pushed. */
PyObject *scb_py_push_many(RingObject *self, PyObject *const *args, Py_ssize_t nargs,
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
    if (self->records)
        return push_records(self, obj, ms);
    it = PyObject_GetIter(obj);
    if (it == NULL)
        return NULL;
    while ((x = PyIter_Next(it)) != NULL) {
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
    return scb_py_error_cls(self, rc, "pop", NULL);
}

PyObject *scb_py_popitem(RingObject *self, PyObject *unused)
{
    struct pop_arg a = { NULL, NULL, 0, 0 };

    (void)unused;
    if (scb_py_need_reader(self) < 0)
        return NULL;
    return pop_result(self, scb_py_retry(self, op_pop, &a, 0), &a);
}

/* pop(timeout=None): as popitem, waiting up to timeout seconds. */
PyObject *scb_py_pop(RingObject *self, PyObject *const *args, Py_ssize_t nargs,
                          PyObject *kwnames)
{
    struct pop_arg a = { NULL, NULL, 0, 0 };
    int64_t ms;

    if (scb_py_timeout_arg("pop", args, nargs, kwnames, Py_None, &ms) < 0 ||
        scb_py_need_reader(self) < 0)
        return NULL;
    return pop_result(self, scb_py_retry(self, op_pop, &a, ms), &a);
}

/* pop_bytes(timeout=0): the next item's raw bytes, or None. */
PyObject *scb_py_pop_bytes(RingObject *self, PyObject *const *args, Py_ssize_t nargs,
                                PyObject *kwnames)
{
    struct pop_arg a = { NULL, NULL, 0, 0 };
    int64_t ms;

    if (scb_py_timeout_arg("pop_bytes", args, nargs, kwnames, NULL, &ms) < 0 ||
        scb_py_need_reader(self) < 0)
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
            if (rc != SCB_OK) {
                /* Keep what was popped: an error other than nothing to
                 * read comes again at the next call. */
                if (i > 0 && rc != SCB_PY_ERR)
                    return SCB_OK;
                return rc;
            }
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
        return scb_py_error_cls(self, SCB_EINVAL, "popmany_bytes: a record ring (use popmany)", NULL);
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
    return scb_py_error_cls(self, rc, "pop", NULL);
}

PyObject *scb_py_popmany(RingObject *self, PyObject *n)
{
    return popmany(self, n, 0);
}

PyObject *scb_py_popmany_bytes(RingObject *self, PyObject *n)
{
    return popmany(self, n, 1);
}

/* pop_into(buffer, *, timeout=0): fixed-size ring: as many whole items as
 * fit, the count returned; record ring: the next record, its length
 * returned (None when there is none). */
PyObject *scb_py_pop_into(RingObject *self, PyObject *const *args, Py_ssize_t nargs,
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
    if (PyObject_GetBuffer(obj, &view, PyBUF_WRITABLE) < 0) {
        if (PyErr_ExceptionMatches(PyExc_BufferError) || PyErr_ExceptionMatches(PyExc_TypeError)) {
            PyErr_Clear();
            scb_py_type_error("pop_into needs a writable bytes-like object", obj);
        }
        return NULL;
    }
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
    if (rc == SCB_EMSGSIZE)
        return scb_py_too_large("pop_into %R: the next record has %zu bytes, the buffer %zd",
                                self->name, a.count, view.len);
    return scb_py_error_cls(self, rc, "pop", NULL);
}

/* wait(timeout=None): True when a call can go on (scb_wait), False when
 * the time ran out. */
PyObject *scb_py_wait(RingObject *self, PyObject *const *args, Py_ssize_t nargs,
                           PyObject *kwnames)
{
    int64_t ms;
    int rc;

    if (scb_py_timeout_arg("wait", args, nargs, kwnames, Py_None, &ms) < 0)
        return NULL;
    rc = scb_py_retry(self, op_wait, NULL, ms);
    if (rc == SCB_OK)
        Py_RETURN_TRUE;
    if (rc == SCB_EAGAIN || rc == SCB_ETIMEDOUT)
        Py_RETURN_FALSE;
    return scb_py_error_cls(self, rc, "wait", NULL);
}

PyObject *scb_py_fileno(RingObject *self, PyObject *unused)
{
    scb_fd_t fd;
    int rc;

    (void)unused;
    if (scb_py_take(self) < 0)
        return NULL;
    rc = scb_fd(self->h, &fd);
    scb_py_give(self);
    if (rc != SCB_OK)
        return scb_py_error_cls(self, rc, "fd of", NULL);
#ifdef _WIN32
    return PyLong_FromVoidPtr(fd);
#else
    return PyLong_FromLong(fd);
#endif
}

