#pragma once

#include <QtGlobal>

#include <atomic>

namespace ferry {

/**
 * A running task's latest progress, written by the worker and read by the scheduler's
 * periodic sampling: no queued call per update, so reporting every few KiB costs nothing.
 */
struct TaskProgress {
    std::atomic<qint64> done{0};
    std::atomic<qint64> total{0};
    std::atomic<bool> changed{false};

    void report(qint64 bytesDone, qint64 bytesTotal)
    {
        done.store(bytesDone, std::memory_order_relaxed);
        total.store(bytesTotal, std::memory_order_relaxed);
        changed.store(true, std::memory_order_release);
    }
};

} // namespace ferry
