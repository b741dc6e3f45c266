/*
 * scb.h - libscb, a shared circular buffer for C.
 *
 * One writer process pushes fixed-size items into a named ring in shared
 * memory; any number of reader processes each read every item, in order, at
 * their own pace.  By default the writer never waits: when the ring is full it
 * overwrites the oldest item, and a reader that fell behind learns exactly how
 * many items it missed (scb_lost).  With SCB_LOSSLESS the writer instead
 * waits for its slowest live reader: readers register in one of max_readers
 * slots, and a reader whose process dies stops holding the writer back
 * within a second.
 *
 * Thread and process safety: a handle (scb_t) is used by one thread at a
 * time.  Separate handles, in one process or many, are independent: any number
 * of threads or processes may each hold their own handle on the same ring.
 * A handle belongs to the process that opened it (liveness is judged by
 * that process): a forked child opens handles of its own.
 * Every function validates its arguments and returns one of the SCB_E* codes
 * below; nothing that another process writes into the shared segment can make
 * a call on a handle read or write outside that handle's mapping.
 *
 * This header is self-contained C99 and C++.
 */
#ifndef SCB_H
#define SCB_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* SCB_API marks the exported functions.  On Windows a program using
 * libscb-0.dll needs nothing; one linking the static libscb.a defines
 * SCB_STATIC before including this header. */
#if defined(_WIN32) || defined(__CYGWIN__)
#  if defined(SCB_BUILDING) && defined(DLL_EXPORT)
#    define SCB_API __declspec(dllexport)
#  elif defined(SCB_BUILDING) || defined(SCB_STATIC)
#    define SCB_API
#  else
#    define SCB_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#  define SCB_API __attribute__((visibility("default")))
#else
#  define SCB_API
#endif

/* The longest ring name any backend accepts (semantics 8: names of 1 to 30
 * characters of [A-Za-z0-9._-] work on every backend; longer ones up to this
 * bound work where the backend allows, else SCB_ENAMETOOLONG). */
#define SCB_NAME_MAX 255

/*
 * Error codes.  Every int function returns SCB_OK (0) or one of these
 * negative values.  The values are ABI: they are never renumbered.
 * After SCB_ESYS the native OS error is left in errno (GetLastError() on
 * Windows) for the calling thread.
 */
#define SCB_ERRNO_MAP(XX)                                                     \
    XX(EAGAIN, -1, "nothing to read, or no room in a lossless ring")          \
    XX(ETIMEDOUT, -2, "timed out")                                            \
    XX(EINVAL, -3, "invalid argument")                                        \
    XX(EEXIST, -4, "a ring of that name exists")                              \
    XX(ENOENT, -5, "no ring of that name")                                    \
    XX(ENOTWRITER, -6, "operation needs the writer handle")                   \
    XX(ENOTREADER, -7, "operation needs a reader handle")                     \
    XX(EBUSY, -8, "a live writer holds the ring")                             \
    XX(ELIMIT, -9, "every reader slot is taken")                              \
    XX(EBADFORMAT, -10, "segment is not a ring this version can read")        \
    XX(EACCES, -11, "permission denied")                                      \
    XX(ENOMEM, -12, "out of memory or shared memory")                         \
    XX(ENOTSUP, -13, "not supported by this build or backend")                \
    XX(ENAMETOOLONG, -14, "name too long for the backend")                    \
    XX(ESYS, -15, "operating system error")

enum {
    SCB_OK = 0,
#define SCB_ERR_ENUM_(name, value, msg) SCB_##name = (value),
    SCB_ERRNO_MAP(SCB_ERR_ENUM_)
#undef SCB_ERR_ENUM_
    SCB_ERR_LAST_ = -16
};

/* Flags for scb_create (kept in the ring; scb_open ignores them). */
#define SCB_LOSSLESS        0x0001u /* writer never overwrites an item a live reader has not read */
#define SCB_UNLINK_ON_CLOSE 0x0002u /* the writer's scb_close also removes the name */
/* Flags for scb_open (scb_create ignores them). */
#define SCB_WRITER          0x0100u /* open to take over the writer role */
#define SCB_LATEST          0x0200u /* a new reader starts at the next item pushed, not the oldest kept */

/* One process's handle on one ring; opaque. */
typedef struct scb scb_t;

/*
 * Configuration for scb_create, scb_open and scb_unlink.  Always fill it with
 * scb_config_init first, then change the fields you need: fields may be added
 * at the end in later versions.
 */
typedef struct scb_config {
    uint32_t item_size;   /* bytes per item, >= 1; 0 means default 1 */
    uint64_t length;      /* capacity in items, >= 1; 0 means default 2 */
    uint32_t flags;       /* SCB_* flags above */
    uint32_t max_readers; /* SCB_LOSSLESS only: reader slots; 0 means default 64 */
    uint32_t mode;        /* permission bits of the segment; 0 means 0600 */
    const char *backend;  /* "posix", "sysv", "apr"...; NULL = configured default */
} scb_config_t;

/* What scb_info reports about a ring, as seen through one handle. */
typedef struct scb_info {
    char name[SCB_NAME_MAX + 1]; /* the ring's name */
    const char *backend;         /* the backend's name (static string) */
    uint32_t item_size;          /* bytes per item */
    uint64_t length;             /* capacity in items */
    uint32_t flags;              /* ring flags (SCB_LOSSLESS, SCB_UNLINK_ON_CLOSE) */
    uint64_t pushed;             /* items ever pushed into the ring */
    uint64_t usage;              /* as scb_usage for this handle */
    uint64_t lost;               /* as scb_lost for this handle (0 for the writer) */
    uint32_t max_readers;        /* reader slots (SCB_LOSSLESS), else 0 */
    uint32_t readers;            /* registered readers (SCB_LOSSLESS), else 0 */
    int writer_alive;            /* 1 if a live writer holds the ring, else 0 */
    int64_t writer_pid;          /* its process id when writer_alive, else 0 */
    int is_writer;               /* 1 if this handle is the writer */
    uint32_t mode;               /* permission bits the ring was created with */
} scb_info_t;

/* Fills cfg with the defaults: item_size 1, length 2, no flags, max_readers
 * 64, mode 0600, the configured default backend.  NULL is a no-op. */
SCB_API void scb_config_init(scb_config_t *cfg);

/*
 * Creates the ring `name` and makes the caller its writer.  cfg NULL means
 * the defaults.  The segment is created with exactly cfg->mode (the umask does
 * not apply).  Flags other than SCB_LOSSLESS and SCB_UNLINK_ON_CLOSE are
 * ignored if they are SCB_* flags, SCB_EINVAL otherwise.
 * Returns SCB_OK and sets *out, or: SCB_EINVAL (NULL out, bad name, zero or
 * overflowing sizes, unknown flags or mode bits), SCB_EEXIST, SCB_EACCES,
 * SCB_ENOMEM, SCB_ENOTSUP (backend not built in), SCB_ENAMETOOLONG,
 * SCB_ESYS.  max_readers (SCB_LOSSLESS) is 1 to 4096.  On failure *out is
 * NULL and nothing is left behind.
 */
SCB_API int scb_create(scb_t **out, const char *name, const scb_config_t *cfg);

/*
 * Opens the existing ring `name`.  Only cfg->flags and cfg->backend are used
 * (cfg may be NULL: a reader on the default backend); the geometry, mode and
 * reader slots come from the ring.  Without SCB_WRITER the handle is a reader
 * that starts at the oldest item kept (SCB_LATEST: at the next item pushed).
 * With SCB_WRITER it takes the writer role over when no live writer holds it
 * (the last one closed, or its process died), else fails with SCB_EBUSY.
 * A reader of a SCB_LOSSLESS ring takes a reader slot (SCB_ELIMIT when every
 * slot is held by a live reader) and so needs write access to the segment
 * (SCB_EACCES without it); a reader of an overwrite ring needs only read
 * access.  Readers map the header and the items read-only where the backend
 * allows, so a stray write faults.
 * The segment is validated against the size the OS reports before any byte
 * of it is trusted: SCB_EBADFORMAT if it is not a ring this version reads.
 * A ring still being created (scb_create reserving a large segment) is
 * waited for while its creator lives, up to a minute; one whose creator
 * died before finishing it is SCB_EBADFORMAT at once (scb_unlink removes
 * it).
 * Other errors: SCB_EINVAL, SCB_ENOENT, SCB_EACCES, SCB_ENOMEM, SCB_ENOTSUP,
 * SCB_ENAMETOOLONG, SCB_ESYS.
 */
SCB_API int scb_open(scb_t **out, const char *name, const scb_config_t *cfg);

/* Closes the handle.  A writer gives up the writer role; with
 * SCB_UNLINK_ON_CLOSE the writer also removes the name, unless the name
 * leads to another ring by then (this one was removed and a new one made
 * under its name; posix and apr check that just before the removal, so a
 * ring made again in between is still removed).  NULL is a no-op.
 * Returns SCB_OK, or SCB_ESYS if the OS failed to release the mapping or to
 * remove the name (the handle is freed all the same). */
SCB_API int scb_close(scb_t *h);

/* Removes the name `name` from cfg->backend (NULL cfg: default backend).
 * Handles already open keep working; a later scb_open gets SCB_ENOENT.
 * Errors: SCB_EINVAL, SCB_ENOENT, SCB_EACCES, SCB_ENOTSUP,
 * SCB_ENAMETOOLONG, SCB_ESYS, and SCB_EBADFORMAT when what sits at the name
 * is no ring and is left as it is (posix: a directory; a symbolic link there
 * is removed, never what it points to). */
SCB_API int scb_unlink(const char *name, const scb_config_t *cfg);

/*
 * Writer: pushes one item of item_size bytes.  In overwrite mode it never
 * waits and always succeeds (the oldest item is overwritten when full).
 * Errors: SCB_EINVAL (NULL), SCB_ENOTWRITER, SCB_EAGAIN (lossless: no room).
 */
SCB_API int scb_push(scb_t *w, const void *item);

/* Writer: pushes n items stored back to back.  Overwrite mode pushes all n;
 * SCB_LOSSLESS pushes as many as fit now and returns SCB_EAGAIN only if none
 * fit.  *count is always set (count must not be NULL).  n == 0 is SCB_OK
 * with *count == 0.  Errors: SCB_EINVAL (NULL count, NULL items with n > 0),
 * SCB_ENOTWRITER, SCB_EAGAIN. */
SCB_API int scb_push_many(scb_t *w, const void *items, size_t n, size_t *count);

/* Writer: pushes one item, waiting up to timeout_ms for room in a
 * SCB_LOSSLESS ring (0 = do not wait, negative = forever): it sleeps until a
 * reader makes room, or a reader holding it back is found dead.  In
 * overwrite mode there is always room and it is scb_push.
 * Errors: as scb_push, and SCB_ETIMEDOUT. */
SCB_API int scb_push_wait(scb_t *w, const void *item, int64_t timeout_ms);

/*
 * Reader: copies the next item into `item` (item_size bytes).  Returns SCB_OK,
 * or SCB_EAGAIN when there is nothing to read (the buffer's contents are then
 * unspecified).  Items the writer overwrote before this reader got to them
 * are skipped and counted by scb_lost: the reader resumes at the oldest item
 * kept, or, if the writer overran it twice in one call (it overwrote the
 * item the reader was copying, then the next), a sixteenth of the ring
 * further on, out of the writer's way.
 * Errors: SCB_EINVAL, SCB_ENOTREADER.
 */
SCB_API int scb_pop(scb_t *r, void *item);

/* Reader: copies up to max items into `items`, back to back.  Returns SCB_OK
 * when it copied at least one, SCB_EAGAIN when none; *count is always set
 * (count must not be NULL).  Errors: SCB_EINVAL, SCB_ENOTREADER. */
SCB_API int scb_pop_many(scb_t *r, void *items, size_t max, size_t *count);

/* Reader: as scb_pop, waiting up to timeout_ms for an item (0 = do not
 * wait, negative = forever); SCB_ETIMEDOUT when the time runs out.  It
 * first polls for 50 us (the environment variable SCB_SPIN_US, read when
 * the handle is opened, changes that; 0 = sleep at once), then sleeps on a
 * futex (Linux; umtx on FreeBSD) that the writer wakes only
 * when a reader sleeps, so pushes make no system call otherwise.  A reader
 * without write access to the segment, and systems without such a wait,
 * poll with sleeps backing off from microseconds to 1 ms instead. */
SCB_API int scb_pop_wait(scb_t *r, void *item, int64_t timeout_ms);

/* Reader: items waiting for it (at most length).  Writer: items in the ring
 * (at most length); in a SCB_LOSSLESS ring with live readers, the items the
 * slowest of them has not read.  NULL: 0. */
SCB_API uint64_t scb_usage(const scb_t *h);

/* Reader: items the writer overwrote before this reader read them, since it
 * opened (including those it will skip on its next pop).  Writer or NULL: 0. */
SCB_API uint64_t scb_lost(const scb_t *r);

/* Fills *out.  Errors: SCB_EINVAL (NULL). */
SCB_API int scb_info(const scb_t *h, scb_info_t *out);

/* A static message for an SCB_* code; "unknown error" for anything else. */
SCB_API const char *scb_strerror(int err);

/* The library's version, "MAJOR.MINOR.PATCH". */
SCB_API const char *scb_version(void);

/* NULL-terminated list of the backends built in, the default first. */
SCB_API const char *const *scb_backends(void);

/* Called by scb_list once per ring found, with its name (valid during the
 * call only) and scb_list's `arg`; return non-zero to stop the listing. */
typedef int (*scb_list_cb)(const char *name, void *arg);

/*
 * Lists the rings of `backend` (NULL: the default backend) that this process
 * can see: calls cb(name, arg) once per ring, in no particular order, until
 * cb returns non-zero.  "posix" lists the objects /dev/shm/scb.NAME
 * (Linux; not directories or symbolic links there); "sysv" lists the
 * segments this process may attach read-only whose header is a valid ring
 * and whose name's key leads to them (Linux); "apr" lists the ring files in
 * C:\ProgramData\libscb (Windows).  A ring created
 * or removed during the call may or may not be reported.  Returns SCB_OK
 * (also when cb stopped the listing), or: SCB_EINVAL (NULL cb), SCB_ENOTSUP
 * (backend not built in, or it cannot list on this system), SCB_EACCES,
 * SCB_ESYS (the enumeration itself failed).
 */
SCB_API int scb_list(const char *backend, scb_list_cb cb, void *arg);

#ifdef __cplusplus
}
#endif

#endif /* SCB_H */
