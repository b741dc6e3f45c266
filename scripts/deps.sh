#!/bin/sh
# deps.sh - makes sure the tools that build and test libscb are installed.
#
# On Debian and Ubuntu it installs what is missing with apt-get (through sudo
# when not root), running `apt-get update` only when it has to install.
# Elsewhere it says what to install and fails if something is missing.
# Needed: a C compiler, make, autoconf, automake, libtool, pkg-config, Check,
# APR (for the apr backend: libscb builds without it, but CI tests it).
# Optional: a C++ compiler (header test), ipcs and procps (test diagnostics),
# python3 with its headers (the shared_cbuff package: built, installed and
# tested when present; on Debian python3-dev, pip, setuptools, wheel and
# NumPy are installed for its tests).
# SPIN (the model checker of tests/spin.test, which skips without it) and
# libuv (examples/scb-uv, built only when configure finds it) are needed on
# Debian, so that CI checks the models and runs that example, and optional
# elsewhere.  So are the NATS C client and server (libnats-dev, nats-server):
# the bridge scb-bridge is built only when configure finds libnats, and its
# test starts its own nats-server (skipped without one).

set -eu

have() { command -v "$1" >/dev/null 2>&1; }

missing=
optional=
have cc || have gcc || have clang || missing="$missing C-compiler"
have make || missing="$missing make"
have autoconf || missing="$missing autoconf"
have automake || missing="$missing automake"
have libtoolize || have glibtoolize || missing="$missing libtool"
have pkg-config || have pkgconf || missing="$missing pkg-config"
if have pkg-config && ! pkg-config --exists 'check >= 0.9.10' 2>/dev/null; then
    missing="$missing check"
elif ! have pkg-config; then
    missing="$missing check"
fi
if ! have pkg-config || ! pkg-config --exists apr-1 2>/dev/null; then
    missing="$missing apr"
fi
if ! have spin; then
    if [ -f /etc/debian_version ]; then
        missing="$missing spin"
    else
        optional="$optional spin"
    fi
fi

if ! have pkg-config || ! pkg-config --exists 'libuv >= 1.0' 2>/dev/null; then
    if [ -f /etc/debian_version ]; then
        missing="$missing libuv"
    else
        optional="$optional libuv"
    fi
fi

if ! have pkg-config || ! pkg-config --exists libnats 2>/dev/null; then
    if [ -f /etc/debian_version ]; then
        missing="$missing libnats"
    else
        optional="$optional libnats"
    fi
fi
if ! have nats-server && [ ! -x /usr/sbin/nats-server ]; then
    if [ -f /etc/debian_version ]; then
        missing="$missing nats-server"
    else
        optional="$optional nats-server"
    fi
fi

# The Python package: python3 3.11+ with its headers builds it; pip,
# setuptools and wheel build it the way users install it
# (tests/pyinstall.test); NumPy arrays are among the buffers its tests pass.
if [ -f /etc/debian_version ] && have dpkg; then
    for p in python3-dev python3-pip python3-setuptools python3-wheel python3-numpy; do
        dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
    done
elif have python3 && ! python3 -c 'import os, sys, sysconfig
sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' 2>/dev/null; then
    optional="$optional python3-headers"
fi

have c++ || have g++ || have clang++ || optional="$optional C++-compiler"
have ipcs || optional="$optional ipcs"
have python3 || optional="$optional python3"

if [ -z "$missing" ]; then
    if [ -n "$optional" ]; then
        echo "deps.sh: build dependencies present (optional, not installed:$optional)"
    else
        echo "deps.sh: build dependencies present"
    fi
    exit 0
fi

echo "deps.sh: missing:$missing"

if [ -f /etc/debian_version ] && have apt-get; then
    sudo=
    if [ "$(id -u)" -ne 0 ]; then
        if have sudo; then
            sudo=sudo
        else
            echo "deps.sh: not root and no sudo: as root, run" >&2
            echo "  apt-get update && apt-get install build-essential autoconf automake libtool pkg-config check libapr1-dev libuv1-dev g++ procps util-linux python3 python3-dev python3-pip python3-setuptools python3-wheel python3-numpy spin libnats-dev nats-server" >&2
            exit 1
        fi
    fi
    export DEBIAN_FRONTEND=noninteractive
    echo "deps.sh: installing with apt-get"
    $sudo apt-get update
    $sudo apt-get install -y --no-install-recommends \
        build-essential autoconf automake libtool pkg-config check \
        libapr1-dev libuv1-dev g++ procps util-linux python3 python3-dev \
        python3-pip python3-setuptools python3-wheel python3-numpy spin \
        libnats-dev nats-server
    exit 0
fi

# Not Debian: say what to install.
os=$(uname -s 2>/dev/null || echo unknown)
id=
if [ -r /etc/os-release ]; then
    id=$(. /etc/os-release && echo "${ID:-} ${ID_LIKE:-}")
fi
echo "deps.sh: this is not a Debian system; install the missing tools, then re-run:" >&2
case "$os $id" in
    Darwin*)
        echo "  xcode-select --install   # the C compiler and make" >&2
        echo "  brew install autoconf automake libtool pkg-config check apr libuv cnats nats-server" >&2 ;;
    FreeBSD*)
        echo "  pkg install autoconf automake libtool pkgconf check apr libuv gmake" >&2 ;;
    OpenBSD*|NetBSD*)
        echo "  pkg_add autoconf automake libtool pkgconf check apr libuv gmake" >&2 ;;
    *fedora*|*rhel*|*centos*)
        echo "  dnf install gcc gcc-c++ make autoconf automake libtool pkgconf-pkg-config check-devel apr-devel libuv-devel util-linux procps-ng" >&2 ;;
    *suse*)
        echo "  zypper install gcc gcc-c++ make autoconf automake libtool pkg-config check-devel libapr1-devel libuv-devel util-linux procps" >&2 ;;
    *arch*)
        echo "  pacman -S --needed base-devel check apr libuv" >&2 ;;
    *alpine*)
        echo "  apk add build-base autoconf automake libtool pkgconf check-dev apr-dev libuv-dev util-linux procps" >&2 ;;
    *)
        echo "  a C11 compiler, make, autoconf, automake, libtool, pkg-config, Check (libcheck) and APR (apr-1) with their headers; optional: libuv, the NATS C client (libnats) and nats-server" >&2 ;;
esac
exit 1
