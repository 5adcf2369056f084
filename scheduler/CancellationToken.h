#pragma once

#include <QList>
#include <QObject>
#include <QString>

#include <chrono>
#include <functional>
#include <memory>

namespace ferry {

/// Why a running task was asked to stop.
enum class StopReason {
    None,     ///< Not asked to stop.
    Cancel,   ///< The task was cancelled: it will end as Cancelled and its clean-up hook runs.
    Shutdown, ///< The scheduler is shutting down: the task resumes at the next start.
    Timeout,  ///< A clean-up hook ran past its time limit.
};

namespace detail {
struct CancellationState;
}

class CancellationToken;

/**
 * Keeps a callback registered on a CancellationToken alive. Destroying it (or calling
 * reset()) unregisters the callback; after that it is guaranteed not to be queued again.
 */
class [[nodiscard]] CancellationRegistration {
public:
    CancellationRegistration() = default;
    ~CancellationRegistration();
    CancellationRegistration(CancellationRegistration &&other) noexcept;
    CancellationRegistration &operator=(CancellationRegistration &&other) noexcept;
    CancellationRegistration(const CancellationRegistration &) = delete;
    CancellationRegistration &operator=(const CancellationRegistration &) = delete;

    void reset();

private:
    friend class CancellationToken;
    CancellationRegistration(std::weak_ptr<detail::CancellationState> state, quint64 id);

    std::weak_ptr<detail::CancellationState> m_state;
    quint64 m_id = 0;
};

/**
 * The read side of a cooperative stop request. Cheap to copy; all copies share one state.
 * Thread-safe: a token is fired on the scheduler thread and read on worker threads.
 *
 * `isCancelled()` is true once the owner asked the work to stop, whatever the reason
 * (cancel, shutdown, hook timeout): the work should stop at its next check in every case.
 * `reason()` tells the owner's reason when the work needs to know.
 */
class CancellationToken {
public:
    /// A token that never fires (for callers without a scheduler, e.g. a CLI probe).
    CancellationToken();

    [[nodiscard]] bool isCancelled() const;
    [[nodiscard]] StopReason reason() const;

    /**
     * Calls `callback` once, on `context`'s thread (queued), when the token fires. If it
     * already fired, the call is queued at once. The callback is dropped when `context`
     * is destroyed first or when the returned registration is destroyed.
     */
    CancellationRegistration onCancelled(QObject *context, std::function<void()> callback) const;

private:
    friend class CancellationSource;
    explicit CancellationToken(std::shared_ptr<detail::CancellationState> state);
    std::shared_ptr<detail::CancellationState> m_state;
};

/// The write side: the scheduler owns one per execution and fires it.
class CancellationSource {
public:
    CancellationSource();

    [[nodiscard]] CancellationToken token() const;
    [[nodiscard]] bool isCancelled() const;

    /// Fires the token; the first reason wins. Returns false if it had already fired.
    bool cancel(StopReason reason = StopReason::Cancel);

    /// cancel() in two steps, for firing many tokens at once: mark() sets the flag that
    /// isCancelled() reads, notify() then queues the callbacks. Marking every token before
    /// notifying any keeps the flags from waiting behind thread wake-ups.
    bool mark(StopReason reason = StopReason::Cancel);
    void notify();
    /**
     * notify() for many marked sources at once: the callbacks bound for one thread go there
     * in one queued call (in order: source by source, each in registration order), so 1,000
     * tokens watched on one thread cost that thread one wake-up, not 1,000.
     *
     * Returns once the calls are queued. If `deliveredWithin` is positive, the calling
     * thread then steps aside (yields its core, at most that long) until every queued call
     * ran. Linux queues a woken thread behind a busy waker even when another core is idle,
     * for up to a few milliseconds; a firing thread with more work to do (the scheduler's
     * cancel transaction) would otherwise delay the very callbacks it just queued.
     */
    static void notifyAll(const QList<CancellationSource *> &sources,
                          std::chrono::microseconds deliveredWithin = {});

private:
    std::shared_ptr<detail::CancellationState> m_state;
};

} // namespace ferry
