#pragma once

#include "TaskHost.h"
#include "TaskRun.h"

#include <QMutex>
#include <QPointer>

#include <functional>
#include <optional>

namespace ferry {

class SchedulerEngine;

/**
 * The workers' way back to the scheduler thread. Outcomes are posted (queued); state
 * writes and spawns wait for the scheduler thread's answer. Once the engine closes, every
 * call fails fast instead of waiting on a thread that no longer runs an event loop.
 */
class EngineLink final : public TaskHost {
public:
    explicit EngineLink(SchedulerEngine *engine);

    void close();
    [[nodiscard]] bool isClosed() const;

    void reportFinished(RunOutcome outcome);

    SchedulerResult<void> writeState(TaskId task, const QString &key,
                                     const std::optional<QString> &value) override;
    SchedulerResult<QList<TaskId>> spawnChildren(TaskId parent, QList<TaskSpec> children) override;

private:
    template <typename R> std::optional<R> callBlocking(std::function<R(SchedulerEngine &)> call);

    mutable QMutex m_mutex;
    SchedulerEngine *m_engine;
    bool m_closed = false;
};

} // namespace ferry
