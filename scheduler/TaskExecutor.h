#pragma once

#include "RetryPolicy.h"
#include "TaskContext.h"
#include "TaskError.h"

#include <QCoro/QCoroTask>

namespace ferry {

/**
 * The work behind one task type. One instance serves every task of its type, on several
 * worker threads at once: keep it free of per-task members (put those in the context's
 * state). Each method is a coroutine run to completion on a QThreadPool worker with that
 * thread's own event loop, or on a shared event-loop thread (ExecutorOptions::runOn), so
 * network objects created inside belong to that thread.
 */
class TaskExecutor {
public:
    virtual ~TaskExecutor() = default;

    /// The work. May spawn children and return: the task then waits for them.
    virtual QCoro::Task<TaskResult> execute(TaskContext &ctx) = 0;

    /// Whether finalize() should run once all children completed (or right after execute).
    [[nodiscard]] virtual bool hasFinalize() const { return false; }
    /// Runs once after every child completed, e.g. CompleteMultipartUpload.
    virtual QCoro::Task<TaskResult> finalize(TaskContext &ctx);

    /// Whether onCancel() exists for this type.
    [[nodiscard]] virtual bool hasCancelHook() const { return false; }
    /**
     * Clean-up for a task that ends without completing (cancelled, superseded or failed)
     * after it started or wrote state, e.g. AbortMultipartUpload with `ctx.state()`'s
     * upload id. Runs after the task and all its descendants stopped, with a fresh token
     * that fires only on the hook's timeout. Must be idempotent: after a crash it runs again.
     */
    virtual QCoro::Task<TaskResult> onCancel(TaskContext &ctx);
};

/// Where an executor type's runs (execute, finalize and onCancel) take place.
enum class RunOn {
    /// A QThreadPool worker of its own per run, with that thread's event loop: any code is
    /// fine, blocking calls included. Each running task costs a thread.
    OwnThread,
    /**
     * One of the scheduler's few shared event-loop threads (SchedulerOptions::sharedLoops),
     * which host many runs at once: for executors that only await (network replies, timers,
     * signals) and never block their thread, since a blocked run stalls the others on its
     * loop: no blocking I/O or waits, and no nested event loop (QCoro::waitFor, exec()),
     * which would run the loop's other runs inside this one. (The context's state writes
     * and spawns wait for the scheduler thread's short answer: those are fine.) 1,000
     * running tasks then cost no 1,000 threads, and a cancel reaches them all with a few
     * thread wake-ups instead of one per task.
     */
    SharedLoop,
};

/// Per-type settings given with the executor.
struct ExecutorOptions {
    RetryPolicy retry;
    int maxConcurrency = 0; ///< Running tasks of this type at once; 0: only the global limit.
    qint64 hookTimeoutMs = 30'000;
    RetryPolicy hookRetry{5, RetryPolicy::Backoff::Exponential, 1000, 60'000, 0.2};
    RunOn runOn = RunOn::OwnThread;
};

} // namespace ferry
