/*
 * version.c - scb_version: the package version, defined once in configure.ac.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include "scb.h"

const char *scb_version(void)
{
    return PACKAGE_VERSION;
}
