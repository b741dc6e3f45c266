/*
 * error.c - scb_strerror: one table, generated from SCB_ERRNO_MAP in scb.h.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include "scb.h"

const char *scb_strerror(int err)
{
    switch (err) {
    case SCB_OK:
        return "success";
#define SCB_ERR_CASE_(name, value, msg) \
    case SCB_##name:                    \
        return msg;
        SCB_ERRNO_MAP(SCB_ERR_CASE_)
#undef SCB_ERR_CASE_
    default:
        return "unknown error";
    }
}
