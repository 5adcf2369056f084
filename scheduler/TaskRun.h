#pragma once

#include "CancellationToken.h"
#include "TaskError.h"
#include "TaskExecutor.h"
#include "TaskProgress.h"
#include "TaskRecord.h"

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
 * One executor step on a QThreadPool worker: runs the coroutine to completion with the
 * worker's own event loop, then reports the outcome through the link. A hook run also
 * arms its timeout: on expiry it fires the hook's token and reports TimedOut at once.
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
    };

    TaskRun(Setup setup, std::shared_ptr<EngineLink> link);
    void run() override;
    [[nodiscard]] int priority() const { return m_setup.record.priority; }

private:
    Setup m_setup;
    std::shared_ptr<EngineLink> m_link;
};

} // namespace ferry
