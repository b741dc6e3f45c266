#!/bin/sh
# autogen.sh - generates configure and Makefile.in from configure.ac and
# Makefile.am (needs autoconf, automake, libtool and pkg-config's pkg.m4).
set -e
cd "$(dirname "$0")"
mkdir -p m4 build-aux
autoreconf -fi
