/* The fuzz target's checks, shared with the corpus replay of the ordinary
 * test suite. */
#ifndef SHARC_TESTS_FUZZ_NPY_H
#define SHARC_TESTS_FUZZ_NPY_H

#include <stddef.h>
#include <stdint.h>

#include <sharc.h>

#include "npy.h"

/* Parses data[0..size) as a .npy file named "fz.npy", aborts when the
 * outcome breaks a promise of the reader, and returns its result with info
 * and msg filled. */
int sharc__fuzz_npy_check(const uint8_t *data, size_t size,
                          sharc__npy_meta *info, char *msg, size_t msglen);

#endif
