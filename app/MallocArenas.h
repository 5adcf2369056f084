#pragma once

namespace ferry {

/// The number of glibc malloc arenas Ferry allows itself (glibc's default: 8 per core).
inline constexpr int kMallocArenaLimit = 2;

/**
 * Caps glibc's malloc arenas at kMallocArenaLimit. Call it first thing in main(), before any
 * thread starts: arenas already created stay.
 *
 * Why: every worker, HTTP and SQLite-using thread otherwise gets an arena of its own (16 on
 * two cores, 64 on eight), and each keeps the high-water mark of whatever ran on it as free
 * but resident memory that malloc_trim() cannot give back, because small live blocks stay
 * scattered through it. In the soak (tests/bench/soak, two cores) Ferry's heap in use stays
 * at 9-13 MiB while the free memory held in 16 arenas grows from 22 to 46 MiB (resident
 * memory +17-41% after the first minute); with 2 arenas it stays at 18-21 MiB (+3-9%) and
 * throughput is unchanged within the noise (transfers are network-bound; glibc's per-thread
 * cache serves most small allocations without taking an arena's lock).
 *
 * A user's own choice wins: with MALLOC_ARENA_MAX or a glibc.malloc.arena_max tunable in the
 * environment nothing changes. Returns the limit set, or 0 when it left malloc alone (that
 * choice, or a C library other than glibc).
 */
int limitMallocArenas();

} // namespace ferry
