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

    /// Queues an outcome; the scheduler thread is woken once per batch, not per outcome.
    void reportFinished(RunOutcome outcome);
    /// Takes every queued outcome (scheduler thread).
    [[nodiscard]] QList<RunOutcome> takeOutcomes();

    SchedulerResult<void> writeState(TaskId task, const QString &key,
                                     const std::optional<QString> &value) override;
    SchedulerResult<QList<TaskId>> spawnChildren(TaskId parent, QList<TaskSpec> children) override;

private:
    template <typename R> std::optional<R> callBlocking(std::function<R(SchedulerEngine &)> call);

    mutable QMutex m_mutex;
    SchedulerEngine *m_engine;
    bool m_closed = false;
    QList<RunOutcome> m_outcomes;
    bool m_wakePosted = false;
};

} // namespace ferry
