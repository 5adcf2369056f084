#include "SharedLoops.h"

#include "TaskRun.h"

#include <QCoreApplication>
#include <QEventLoop>
#include <QSemaphore>

#include <atomic>
#include <thread>

namespace ferry {

struct SharedLoops::Loop {
    std::thread thread;
    QEventLoop *events = nullptr; ///< Lives on the loop's thread, as long as the thread runs.
    std::atomic<int> active{0};
    std::atomic<bool> retired{false};

    /// On the loop's thread: ends the loop once it is retired and idle.
    void stopIfDone()
    {
        if (retired.load() && active.load() == 0)
            events->quit();
    }
};

namespace {

// A std::thread rather than a QThread: a loop left running by a stuck run must be able to
// end and free everything on its own after the scheduler is gone, and only a detached
// std::thread can (a QThread object has to be joined before it is deleted).
void loopMain(const std::shared_ptr<SharedLoops::Loop> &loop, QSemaphore *ready)
{
    QEventLoop events;
    loop->events = &events;
    ready->release();
    events.exec();
    // What the last runs handed to deleteLater goes now, while the thread still exists.
    QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
}

QCoro::Task<void> host(std::unique_ptr<TaskRun> run, std::shared_ptr<SharedLoops::Loop> loop)
{
    co_await run->perform();
    run.reset();
    --loop->active;
    loop->stopIfDone();
}

} // namespace

SharedLoops::SharedLoops(int threads)
{
    QSemaphore ready;
    for (int i = 0; i < std::max(1, threads); ++i) {
        auto loop = std::make_shared<Loop>();
        loop->thread = std::thread([loop, &ready] { loopMain(loop, &ready); });
        m_loops.append(std::move(loop));
    }
    ready.acquire(static_cast<int>(m_loops.size()));
}

SharedLoops::~SharedLoops()
{
    for (const auto &loop : m_loops) {
        loop->retired.store(true);
        // Queued to the loop's own thread, where its runs end: an idle loop stops at once,
        // a busy one when its last run returns (host() checks again).
        QMetaObject::invokeMethod(
            loop->events, [loop] { loop->stopIfDone(); }, Qt::QueuedConnection);
        if (loop->active.load() == 0)
            loop->thread.join();
        else
            loop->thread.detach();
    }
}

void SharedLoops::start(TaskRun *run)
{
    auto least =
        std::min_element(m_loops.cbegin(), m_loops.cend(), [](const auto &a, const auto &b) {
            return a->active.load() < b->active.load();
        });
    std::shared_ptr<Loop> loop = *least;
    ++loop->active;
    QMetaObject::invokeMethod(
        loop->events,
        [run, loop] {
            // Eager: runs up to its first suspension now; the frame frees itself at the end.
            (void)host(std::unique_ptr<TaskRun>(run), loop);
        },
        Qt::QueuedConnection);
}

int SharedLoops::activeRuns() const
{
    int total = 0;
    for (const auto &loop : m_loops)
        total += loop->active.load();
    return total;
}

} // namespace ferry
