#pragma once

#include <QMutex>
#include <QThreadPool>

#include <deque>
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
 *
 * A job waits in the pool's own queue until a thread is free, and its owner can take it back
 * from there (withdraw()): a cancelled upload then never waits behind other uploads' hashes.
 */
class BackgroundPool {
public:
    /// Destroying the pool waits for its jobs (QThreadPool's own destructor does).
    explicit BackgroundPool(int maxThreads);
    BackgroundPool(const BackgroundPool &) = delete;
    BackgroundPool &operator=(const BackgroundPool &) = delete;

    /// A started job, for withdraw().
    using Ticket = quint64;

    /// Runs `job` on one of the pool's threads, at background priority, after the jobs
    /// started before it.
    Ticket start(std::function<void()> job);

    /**
     * Takes the job back if no thread has begun it: true when it will never run (it is
     * destroyed here, on the calling thread); false when it ran or is running. Thread-safe.
     */
    bool withdraw(Ticket ticket);

    /// How many jobs may run at once.
    [[nodiscard]] int maxThreadCount() const { return m_pool.maxThreadCount(); }

    /// The pool for digests of uploaded files: one thread per core, at least two.
    static BackgroundPool &digests();

    /// The nice value background jobs run at (where the platform has one).
    static constexpr int kNiceness = 19;
    /// The name of the pools' threads, as the system shows it (15 characters at most).
    static constexpr char kThreadName[] = "FerryBackground";

private:
    struct Waiting {
        Ticket ticket;
        std::function<void()> job;
    };
    // Runs the first waiting job, if any is left: one call per start(), on a pool thread.
    void runNext();

    QMutex m_mutex;
    std::deque<Waiting> m_waiting; // in start() order
    Ticket m_lastTicket = 0;
    QThreadPool m_pool; // last: destroyed first, waiting for the running jobs
};

} // namespace ferry::s3
