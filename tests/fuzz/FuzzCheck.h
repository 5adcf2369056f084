#pragma once

#include <cstdio>
#include <cstdlib>

/// Aborts with a message when a property the fuzz target checks does not hold: libFuzzer
/// records the input as a crash, the replay test fails.
#define FUZZ_CHECK(condition)                                                                      \
    do {                                                                                           \
        if (!(condition)) {                                                                        \
            std::fprintf(stderr, "FUZZ_CHECK failed: %s (%s:%d)\n", #condition, __FILE__,          \
                         __LINE__);                                                                \
            std::abort();                                                                          \
        }                                                                                          \
    } while (false)
