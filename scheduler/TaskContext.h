#pragma once

#include "CancellationToken.h"
#include "SchedulerError.h"
#include "TaskError.h"
#include "TaskProgress.h"
#include "TaskRecord.h"
#include "TaskState.h"

#include <QList>

#include <functional>
#include <memory>

namespace ferry {

class TaskHost;

/**
 * What an executor sees of its task: the record and payload, the persistent state, a
 * progress reporter, a child spawner and the cancellation token. One context per run
 * (execute, finalize or onCancel), used on that run's worker thread only.
 *
 * The hook's context carries a fresh token of its own: clean-up must still be able to
 * send its requests although the task itself was cancelled.
 */
class TaskContext {
public:
    TaskContext(TaskRecord record, TaskState state, CancellationToken token,
                std::shared_ptr<TaskProgress> progress, std::shared_ptr<TaskHost> host);

    [[nodiscard]] TaskId id() const { return m_record.id; }
    [[nodiscard]] const TaskRecord &task() const { return m_record; }
    [[nodiscard]] const QJsonObject &payload() const { return m_record.payload; }
    /// How many earlier attempts ended in a retryable error (0 on the first attempt).
    [[nodiscard]] int attempt() const { return m_record.attempts; }

    [[nodiscard]] TaskState &state() { return m_state; }
    [[nodiscard]] const TaskState &state() const { return m_state; }

    /// True once the task was asked to stop (cancelled, or the scheduler shuts down).
    [[nodiscard]] bool isCancelled() const { return m_token.isCancelled(); }
    /// Success while the task may go on; the Cancelled error to `co_return` once it may not.
    [[nodiscard]] TaskResult checkCancelled() const;
    [[nodiscard]] const CancellationToken &token() const { return m_token; }
    /// Runs `callback` on `context`'s thread when the token fires (e.g. to abort a reply).
    CancellationRegistration onCancelled(QObject *context, std::function<void()> callback) const
    {
        return m_token.onCancelled(context, std::move(callback));
    }

    /// Reports bytes done out of bytes total; the scheduler derives throughput and ETA.
    void reportProgress(qint64 bytesDone, qint64 bytesTotal)
    {
        m_progress->report(bytesDone, bytesTotal);
    }

    /// Submits one child of this task (its group defaults to this task's group).
    SchedulerResult<TaskId> spawn(TaskSpec child);
    /// Submits children in one transaction; ids in the same order.
    SchedulerResult<QList<TaskId>> spawnBatch(QList<TaskSpec> children);

private:
    TaskRecord m_record;
    TaskState m_state;
    CancellationToken m_token;
    std::shared_ptr<TaskProgress> m_progress;
    std::shared_ptr<TaskHost> m_host;
};

} // namespace ferry
