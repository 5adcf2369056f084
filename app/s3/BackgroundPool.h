#pragma once

#include <QThreadPool>

#include <functional>

namespace ferry::s3 {

/**
 * A thread pool whose jobs run at background CPU priority (nice 19 on Linux, set on each of
 * its threads; the rest of the process keeps its own).
 *
 * Why: hashing a part for its Content-MD5 is the only CPU-heavy work of an upload, while the
 * threads that keep the connections fed (Qt's HTTP thread and the replies' threads) wake
 * every 16 KiB for a few microseconds. At the same priority a running hash makes them wait
 * for a time slice and the sockets run dry; at background priority each wake-up preempts the
 * hash, which gets the CPU nobody else wants. The README's S3 section has the figures. Under
 * full load a nice-19 thread still gets a share of its core (about 1.4% beside one busy
 * nice-0 thread, some 10 MB/s of MD5), so uploads slow down but never stop.
 */
class BackgroundPool {
public:
    /// Destroying the pool waits for its jobs (QThreadPool's own destructor does).
    explicit BackgroundPool(int maxThreads);
    BackgroundPool(const BackgroundPool &) = delete;
    BackgroundPool &operator=(const BackgroundPool &) = delete;

    /// Runs `job` on one of the pool's threads, at background priority, after the jobs
    /// started before it.
    void start(std::function<void()> job);

    /// The pool for digests of uploaded files: one thread per core, at least two.
    static BackgroundPool &digests();

    /// The nice value background jobs run at (where the platform has one).
    static constexpr int kNiceness = 19;

private:
    QThreadPool m_pool;
};

} // namespace ferry::s3
