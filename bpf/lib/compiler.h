/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * compiler.h - branch hints. The hot paths (a packet that is not for a
 * service, a packet of an established flow) are laid out straight, with
 * errors and rare cases out of line: with a cold instruction cache, every
 * extra code line a packet's path touches costs time.
 */
#ifndef DSRLB_COMPILER_H
#define DSRLB_COMPILER_H

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#endif /* DSRLB_COMPILER_H */
