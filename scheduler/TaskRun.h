#pragma once

#include "CancellationToken.h"
#include "TaskError.h"
#include "TaskExecutor.h"
#include "TaskProgress.h"
#include "TaskRecord.h"

#include <QCoro/QCoroTask>
#include <QHash>
#include <QRunnable>
#include <QString>

#include <memory>

namespace ferry {

class EngineLink;

/// Which executor step a run performs.
enum class RunPhase { Execute, Finalize, Hook };

/// What a finished run reports back to the scheduler thread.
struct RunOutcome {
    TaskId id = 0;
    RunPhase phase = RunPhase::Execute;
    quint64 serial = 0; ///< Tells a stale report (an earlier run of the same task) apart.
    TaskResult result;
    bool timedOut = false; ///< A hook ran past its limit (the run itself may still go on).
    bool began = true;     ///< False when the token had fired before the executor was called.
};

/**
 * One executor step: runs the coroutine to completion, then reports the outcome through the
 * link. On a QThreadPool worker (run()) it drives the worker's own event loop; on a shared
 * loop (SharedLoops) perform() is awaited there among other runs. A hook run also arms its
 * timeout: on expiry it fires the hook's token and reports TimedOut at once.
 */
class TaskRun : public QRunnable {
public:
    struct Setup {
        RunPhase phase = RunPhase::Execute;
        quint64 serial = 0;
        TaskRecord record;
        QHash<QString, QString> state;
        std::shared_ptr<TaskExecutor> executor;
        CancellationToken token;
        std::shared_ptr<CancellationSource> hookSource; ///< Only for hooks: their own token.
        std::shared_ptr<TaskProgress> progress;
        qint64 hookTimeoutMs = 30'000;
        RunOn runOn = RunOn::OwnThread; ///< Where the scheduler starts this run.
    };

    TaskRun(Setup setup, std::shared_ptr<EngineLink> link);
    /// The whole run on the calling thread's event loop; reports before it returns.
    QCoro::Task<void> perform();
    /// QRunnable: perform() to completion on this pool worker.
    void run() override;
    [[nodiscard]] int priority() const { return m_setup.record.priority; }
    [[nodiscard]] RunOn runOn() const { return m_setup.runOn; }

private:
    Setup m_setup;
    std::shared_ptr<EngineLink> m_link;
};

} // namespace ferry
