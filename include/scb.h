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
 * that process): in a child made by fork() every call on an inherited
 * handle returns SCB_EINVAL (scb_usage and scb_lost 0), and scb_close there
 * only unmaps it, releasing nothing the parent holds; the child opens
 * handles of its own.
 * Every function validates its arguments and returns one of the SCB_E* codes
 * below; nothing that another process writes into the shared segment can make
 * a call on a handle read or write outside that handle's mapping.  (A process
 * with write permission to a posix or apr object can shrink the object
 * itself under live mappings, and their next access then faults: System V
 * segments cannot shrink.)
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
 * libscb-1.dll needs nothing; one linking the static libscb.a defines
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
    XX(ESYS, -15, "operating system error")                                   \
    XX(EMSGSIZE, -16, "record too large for the buffer or the ring")           \
    XX(EOVERRUN, -17, "the writer overwrote the record while it was peeked")

enum {
    SCB_OK = 0,
#define SCB_ERR_ENUM_(name, value, msg) SCB_##name = (value),
    SCB_ERRNO_MAP(SCB_ERR_ENUM_)
#undef SCB_ERR_ENUM_
    SCB_ERR_LAST_ = -18
};

/* Flags for scb_create (kept in the ring; scb_open ignores them). */
#define SCB_LOSSLESS        0x0001u /* writer never overwrites an item a live reader has not read */
#define SCB_UNLINK_ON_CLOSE 0x0002u /* the writer's scb_close also removes the name */
#define SCB_RECORDS         0x0004u /* the ring holds records of 0..item_size bytes */
#define SCB_ASYM_BARRIERS   0x0008u /* push and pop without fences, paid for by membarrier on the rare side (Linux; see scb_create) */
/* Flags for scb_open (scb_create ignores them). */
#define SCB_WRITER          0x0100u /* open to take over the writer role */
#define SCB_LATEST          0x0200u /* a new reader starts at the next item pushed, not the oldest kept */
#define SCB_OBSERVE         0x0400u /* an observer: a reader that takes no slot and holds nothing back */

/* One process's handle on one ring; opaque. */
typedef struct scb scb_t;

/*
 * Configuration for scb_create, scb_open and scb_unlink.  Always fill it with
 * scb_config_init first, then change the fields you need.  Fields may be
 * added at the end in later versions: scb_config_init records the size of
 * the struct as the caller's compiler saw it (struct_size), and the library
 * reads only the fields that size covers, so a program built against an
 * older <scb.h> keeps working with a newer library of the same soname.
 * A config zeroed by hand (struct_size 0) counts as this version's.
 */
typedef struct scb_config {
    uint32_t item_size;   /* bytes per item, >= 1; 0 means default 1
                           * (SCB_RECORDS: the largest record) */
    uint64_t length;      /* capacity in items, >= 1; 0 means default 2
                           * (SCB_RECORDS: bytes of record space; 0 means
                           * room for two of the largest records) */
    uint32_t flags;       /* SCB_* flags above */
    uint32_t max_readers; /* SCB_LOSSLESS only: reader slots; 0 means default 64 */
    uint32_t mode;        /* permission bits of the segment; 0 means 0600 */
    const char *backend;  /* "posix", "sysv", "apr"...; NULL = configured default */
    uint32_t struct_size; /* set by scb_config_init; leave it alone */
} scb_config_t;

/* What scb_info reports about a ring, as seen through one handle.  Fields
 * may be added at the end in later versions: scb_info writes only as many
 * bytes as the caller's compiler says the struct has (see scb_info). */
typedef struct scb_info {
    char name[SCB_NAME_MAX + 1]; /* the ring's name */
    const char *backend;         /* the backend's name (static string) */
    uint32_t item_size;          /* bytes per item (SCB_RECORDS: the largest
                                  * record) */
    uint64_t length;             /* capacity in items (SCB_RECORDS: bytes of
                                  * record space) */
    uint32_t flags;              /* ring flags (SCB_LOSSLESS, SCB_UNLINK_ON_CLOSE,
                                  * SCB_RECORDS, SCB_ASYM_BARRIERS when in
                                  * force) */
    uint64_t pushed;             /* items (records) ever pushed into the ring */
    uint64_t usage;              /* as scb_usage for this handle */
    uint64_t lost;               /* as scb_lost for this handle (0 for the writer) */
    uint32_t max_readers;        /* reader slots (SCB_LOSSLESS), else 0 */
    uint32_t readers;            /* live registered readers (SCB_LOSSLESS), else 0 */
    int writer_alive;            /* 1 if a live writer holds the ring, else 0 */
    int64_t writer_pid;          /* its process id when writer_alive, else 0 */
    int is_writer;               /* 1 if this handle is the writer */
    uint32_t mode;               /* permission bits the ring was created with */
} scb_info_t;

/*
 * Fills cfg with the defaults: item_size 1, length 2, no flags, max_readers
 * 64, mode 0600, the configured default backend.  NULL is a no-op.
 * scb_config_init(cfg) is a macro over scb_config_init_size(cfg,
 * sizeof *cfg), which fills `size` bytes (the fields of this version that
 * fit, the rest zero) and records `size` in struct_size.  The function
 * scb_config_init itself (for bindings that cannot use the macro, e.g.
 * through (scb_config_init)(cfg) or a foreign function interface) assumes
 * this version's sizeof(scb_config_t).
 */
SCB_API void scb_config_init_size(scb_config_t *cfg, size_t size);
SCB_API void scb_config_init(scb_config_t *cfg);
#define scb_config_init(cfg) scb_config_init_size((cfg), sizeof *(cfg))

/*
 * Creates the ring `name` and makes the caller its writer.  cfg NULL means
 * the defaults.  The segment is created with exactly cfg->mode (the umask does
 * not apply).  Flags other than SCB_LOSSLESS, SCB_UNLINK_ON_CLOSE,
 * SCB_RECORDS and SCB_ASYM_BARRIERS are ignored if they are SCB_* flags,
 * SCB_EINVAL otherwise.  SCB_RECORDS makes a record ring (see "Records"
 * below): item_size is then the largest record and length the bytes of
 * record space, a multiple of 8 and at least 2 * (item_size + 16).
 * SCB_ASYM_BARRIERS (Linux 4.16 and later; elsewhere the ring uses full
 * fences and scb_info's flags do not show it): the handshakes between
 * sleepers and wakers, and between registering lossless readers and the
 * writer, take a full fence off the push and pop paths and put a
 * membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED) on the rare side instead (a
 * _wait call about to sleep, a lossless reader registering).  Every process
 * that opens such a ring registers for it, for its lifetime; each such
 * membarrier interrupts every CPU running a registered process, whatever
 * ring that process uses, so rings whose waiters sleep often make their
 * neighbours pay.  A process that cannot issue membarrier polls in the
 * _wait calls and cannot register as a lossless reader (SCB_ENOTSUP).
 * Returns SCB_OK and sets *out, or: SCB_EINVAL (NULL out, bad name, sizes
 * out of bounds or overflowing, unknown flags or mode bits), SCB_EEXIST,
 * SCB_EACCES, SCB_ENOMEM, SCB_ENOTSUP (backend not built in),
 * SCB_ENAMETOOLONG, SCB_ESYS.  A size field of 0 means its default.
 * Bounds: item_size 1 to 2^30 bytes (1 GiB), length 1 to 2^48 items (or
 * bytes of record space), their product (the record space) at most 2^61
 * bytes and what the address space can map,
 * max_readers (SCB_LOSSLESS) 1 to 4096, mode at most 0777.  On failure
 * *out is NULL and nothing is left behind.
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
 * access.  Its registration waits for a push under way to end: SCB_EBUSY
 * if the live writer is still in the same push after a second (stopped by
 * a signal or a debugger).  On a ring created for asymmetric barriers
 * (Linux membarrier) a process that cannot issue membarrier cannot register:
 * SCB_ENOTSUP.  Readers map the header and the items read-only where the backend
 * allows, so a stray write faults.
 * With SCB_OBSERVE (an addition to the contract: for inspecting a ring
 * without disturbing it) the handle is an observer: a reader that opens the
 * segment read-only (and writes nothing to it, also where the backend
 * cannot map it read-only), needs only read access, never takes a reader
 * slot (so it never gets SCB_ELIMIT), is not counted in scb_info's
 * readers, and never holds a lossless writer back.  It reads as a reader
 * of an overwrite ring does, also on a SCB_LOSSLESS ring: items the writer
 * overwrites before it reads them are skipped and counted by scb_lost.
 * scb_pop_wait on it polls.  SCB_OBSERVE with SCB_WRITER is SCB_EINVAL;
 * SCB_LATEST applies to it as to any reader.
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
 * ring made again in between is still removed).  Readers are not told:
 * they read what was pushed and then find nothing more, as when a writer
 * dies; scb_info's writer_alive says whether a live writer holds the ring.
 * NULL is a no-op.
 * Returns SCB_OK, or SCB_ESYS if the OS failed to release the mapping or to
 * remove the name (the handle is freed all the same). */
SCB_API int scb_close(scb_t *h);

/* Removes the name `name` from cfg->backend (NULL cfg: default backend).
 * Handles already open keep working; a later scb_open gets SCB_ENOENT.
 * Errors: SCB_EINVAL, SCB_ENOENT, SCB_EACCES, SCB_ENOTSUP,
 * SCB_ENAMETOOLONG, SCB_ESYS, and SCB_EBADFORMAT when what sits at the name
 * is no ring and is left as it is (posix: a directory; a symbolic link or a
 * FIFO there is removed, never what a link points to). */
SCB_API int scb_unlink(const char *name, const scb_config_t *cfg);

/*
 * Writer: pushes one item of item_size bytes.  In overwrite mode it never
 * waits and always succeeds (the oldest item is overwritten when full).
 * Errors: SCB_EINVAL (NULL; a record ring; a reservation open),
 * SCB_ENOTWRITER, SCB_EAGAIN (lossless: no room).
 */
SCB_API int scb_push(scb_t *w, const void *item);

/* Writer: pushes n items stored back to back.  Overwrite mode pushes all n;
 * SCB_LOSSLESS pushes as many as fit now and returns SCB_EAGAIN only if none
 * fit.  *count is always set (count must not be NULL).  n == 0 is SCB_OK
 * with *count == 0.  Errors: SCB_EINVAL (NULL count, NULL items with n > 0,
 * n * item_size beyond PTRDIFF_MAX, a record ring, a reservation open),
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
 * Errors: SCB_EINVAL (NULL; a record ring; a record peeked),
 * SCB_ENOTREADER.
 */
SCB_API int scb_pop(scb_t *r, void *item);

/* Reader: copies up to max items into `items`, back to back.  Returns SCB_OK
 * when it copied at least one, SCB_EAGAIN when none; *count is always set
 * (count must not be NULL).  Errors: SCB_EINVAL (as scb_pop),
 * SCB_ENOTREADER. */
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
 * slowest of them has not read.  Record rings count bytes of record space
 * instead of items (headers and padding included).  NULL: 0. */
SCB_API uint64_t scb_usage(const scb_t *h);

/* Reader: items (records) the writer overwrote before this reader read
 * them, since it opened (including those it will skip on its next pop; on
 * a record ring that part is an estimate until the pop counts it exactly),
 * and the items or records whose scb_release returned SCB_EOVERRUN.
 * Writer or NULL: 0. */
SCB_API uint64_t scb_lost(const scb_t *r);

/*
 * Fills *out.  scb_info(h, out) is a macro over scb_info_size(h, out,
 * sizeof *out), which writes at most `size` bytes: a program built against
 * an older <scb.h> is never overrun.  The function scb_info itself assumes
 * this version's sizeof(scb_info_t).  Errors: SCB_EINVAL (NULL, or a size
 * smaller than version 0.1's scb_info_t).
 */
SCB_API int scb_info_size(const scb_t *h, scb_info_t *out, size_t size);
SCB_API int scb_info(const scb_t *h, scb_info_t *out);
#define scb_info(h, out) scb_info_size((h), (out), sizeof *(out))

/*
 * Whether the ring's name still leads to the ring this handle has open (an
 * addition to the contract, for programs that follow a ring by name): a
 * handle keeps working on its ring after scb_unlink, and a ring created
 * later under the same name is another ring.  Returns SCB_OK when the name
 * leads to this very ring; SCB_ENOENT when the name was removed, or leads to
 * another ring (removed and created again since); other errors as
 * scb_open (SCB_EACCES, SCB_EBADFORMAT, ...).  It opens the name read-only
 * for the check, taking no slot and changing nothing; call it now and then
 * (it costs an open and a close), not per item.  Errors: SCB_EINVAL (NULL,
 * or a handle used in a forked child).
 */
SCB_API int scb_check_name(const scb_t *h);

/*
 * Records (SCB_RECORDS).  A ring created with SCB_RECORDS holds records:
 * byte strings of 0 to item_size bytes, packed back to back.  Its length is
 * the bytes of record space, a multiple of 8 and at least
 * 2 * (item_size + 16); each record takes 16 bytes of header plus its
 * length rounded up to a multiple of 8.  scb_usage and scb_info's usage
 * count bytes there; scb_lost and pushed count records.  The fixed-size
 * calls (scb_push, scb_push_many, scb_push_wait, scb_pop, scb_pop_many,
 * scb_pop_wait) on a record ring are SCB_EINVAL.  The record calls and the
 * zero-copy calls below work on fixed-size rings too, where a record is
 * exactly item_size bytes.
 */

/* Writer: copies a record of len bytes in (data may be NULL only when len
 * is 0).  An overwrite ring always has room (the oldest whole records are
 * overwritten); a lossless one returns SCB_EAGAIN when the record does not
 * fit now.  Errors: SCB_EINVAL (NULL, a reservation open), SCB_ENOTWRITER,
 * SCB_EMSGSIZE (len > item_size; on a fixed-size ring len != item_size),
 * SCB_EAGAIN. */
SCB_API int scb_push_record(scb_t *w, const void *data, size_t len);

/* Reader: copies the next record into buf (cap bytes) and sets *len to its
 * length.  A record longer than cap is SCB_EMSGSIZE with *len set to its
 * length, and nothing is consumed: scb_pop_record(r, NULL, 0, &len) asks
 * for the next length; a buffer of item_size bytes is always enough.
 * SCB_EAGAIN when there is nothing (*len 0).  Records the writer
 * overwrote before this reader got to them are skipped and counted by
 * scb_lost; the reader resumes at the oldest record kept.  Errors:
 * SCB_EINVAL (NULL r or len, NULL buf with cap > 0, a record peeked),
 * SCB_ENOTREADER, SCB_EBADFORMAT (a record header in the segment that
 * cannot be: a length beyond item_size or the ring, a header that does not
 * belong where it is, a sequence number going backwards). */
SCB_API int scb_pop_record(scb_t *r, void *buf, size_t cap, size_t *len);

/*
 * Writer, zero-copy: hands out len writable bytes inside the ring in *ptr
 * for the next record, 8-byte aligned on a record ring (on a fixed-size
 * ring len must be item_size, and the items are back to back: *ptr is
 * 8-byte aligned when item_size is a multiple of 8).  One reservation at a time: while it is open, scb_reserve and
 * every push call are SCB_EINVAL.  A lossless ring returns SCB_EAGAIN when
 * there is no room now; an overwrite ring makes room.  Nothing of the
 * reservation is published before scb_commit; a writer that dies with one
 * open publishes nothing of it.  In an overwrite ring the room is made at
 * once, as for a push: the oldest records are given up even if the
 * reservation is then discarded.  Errors: SCB_EINVAL (NULL, a reservation
 * open), SCB_ENOTWRITER, SCB_EMSGSIZE (len > item_size; on a fixed-size
 * ring len != item_size), SCB_EAGAIN; *ptr is NULL on error.
 */
SCB_API int scb_reserve(scb_t *w, size_t len, void **ptr);

/* Writer: publishes the reserved record with its final length (at most the
 * reserved length; on a fixed-size ring item_size).  Errors: SCB_EINVAL
 * (NULL, no reservation open), SCB_ENOTWRITER, SCB_EMSGSIZE (len longer
 * than reserved, or on a fixed-size ring not item_size: the reservation
 * stays open). */
SCB_API int scb_commit(scb_t *w, size_t len);

/* Writer: drops the open reservation; nothing is published.  Errors:
 * SCB_EINVAL (NULL, no reservation open), SCB_ENOTWRITER. */
SCB_API int scb_discard(scb_t *w);

/*
 * Reader, zero-copy: gives the next record (or item) in place, read-only,
 * in *ptr and *len, without consuming it; peeking again before scb_release
 * gives the same record.  SCB_EAGAIN when there is none.  On a record ring
 * *ptr is 8-byte aligned (on a fixed-size ring, as item_size allows).
 * While a record is peeked the pop calls are SCB_EINVAL.  Errors:
 * SCB_EINVAL (NULL),
 * SCB_ENOTREADER, SCB_EBADFORMAT (as scb_pop_record), SCB_EAGAIN.
 */
SCB_API int scb_peek(scb_t *r, const void **ptr, size_t *len);

/* Reader: consumes the peeked record.  SCB_OK when it stayed intact for the
 * whole time it was peeked.  In an overwrite ring the writer may have
 * overwritten it meanwhile: then SCB_EOVERRUN, whatever was read through
 * the pointer must be thrown away, and the record counts in scb_lost.  In a
 * lossless ring a registered reader's peeked record is never overwritten
 * before its release.  Errors: SCB_EINVAL (NULL, nothing peeked),
 * SCB_ENOTREADER, SCB_EOVERRUN. */
SCB_API int scb_release(scb_t *r);

/*
 * Waits until the handle can go on: a reader until a pop would return
 * something (at once while a record is peeked); a writer until a push of
 * item_size bytes would not return SCB_EAGAIN (at once in an overwrite
 * ring, or while a reservation is open).  timeout_ms: 0 = only check,
 * negative = forever.  Returns SCB_OK or SCB_ETIMEDOUT; SCB_EINVAL (NULL).
 * It sleeps on the same futex words as the _wait calls (which are built on
 * it), so it costs a pusher nothing while nobody waits.
 */
SCB_API int scb_wait(scb_t *h, int64_t timeout_ms);

/*
 * An OS handle for an event loop: a file descriptor readable for poll,
 * epoll, select and kqueue on POSIX systems, an event for
 * WaitForMultipleObjects on Windows.  It is owned by `h`: scb_close closes
 * it; the caller must not close it, read from it or reset it.  Calling
 * scb_fd again gives the same handle.
 *
 * Once scb_fd was called, every call on `h` that returns SCB_EAGAIN (the
 * pop calls and scb_peek on a reader; the push calls and scb_reserve on a
 * lossless writer) leaves the handle armed: it becomes ready as soon as
 * that call would succeed (at once, if that happened in between), and
 * stays ready until the next call that returns SCB_EAGAIN.  Spurious
 * readiness is possible, a lost one is not; a lossless writer's handle
 * also becomes ready every 100 ms or so while it is armed, to look for
 * dead readers.  So: pop until SCB_EAGAIN, then wait on the handle.
 * Handles that never call scb_fd pay nothing for it, and a writer makes a
 * system call on a push only while an armed handle waits for it.
 *
 * Errors: SCB_EINVAL (NULL, or a handle used in a forked child),
 * SCB_ENOTSUP (no such handles on this system, a reader that maps the
 * ring read-only and so cannot tell the writer where it waits, a process
 * that cannot give its doorbell the ring's group where only that group may
 * write the ring, or a ring with asymmetric barriers in a process whose
 * heavy barrier fails), SCB_ELIMIT (every doorbell of the ring, 128, held
 * by a live handle),
 * SCB_ENOMEM, SCB_ESYS.
 */
#ifdef _WIN32
typedef void *scb_fd_t; /* a HANDLE */
#else
typedef int scb_fd_t; /* a file descriptor */
#endif
SCB_API int scb_fd(scb_t *h, scb_fd_t *out);

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
 * (Linux; regular files only, not directories, symbolic links or FIFOs
 * there); "sysv" lists the
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
