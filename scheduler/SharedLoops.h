#pragma once

#include <QList>

#include <memory>

namespace ferry {

class TaskRun;

/**
 * A few event-loop threads that host many executor runs at once (RunOn::SharedLoop). Each
 * run is a coroutine started on the least busy loop; it stays there until it returns, and
 * the loop serves the other runs whenever it awaits.
 *
 * Created, used and destroyed on the scheduler thread; the runs end on the loops.
 */
class SharedLoops {
public:
    /// Starts `threads` loops and returns once each is ready to take runs.
    explicit SharedLoops(int threads);
    /**
     * Stops the loops: idle ones at once (joined here), busy ones when their last run
     * returns (a run that ignored its stop request keeps its loop until it does).
     */
    ~SharedLoops();
    SharedLoops(const SharedLoops &) = delete;
    SharedLoops &operator=(const SharedLoops &) = delete;

    /// Starts `run` on the least busy loop, which deletes it once it returned.
    void start(TaskRun *run);
    /// Runs started and not yet returned.
    [[nodiscard]] int activeRuns() const;

    struct Loop;

private:
    QList<std::shared_ptr<Loop>> m_loops;
};

} // namespace ferry
