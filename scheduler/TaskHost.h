#pragma once

#include "SchedulerError.h"
#include "TaskSpec.h"
#include "TaskTypes.h"

#include <QList>
#include <QString>

#include <optional>

namespace ferry {

/**
 * What a running task may ask of the scheduler from its worker thread. Implemented by the
 * scheduler; each call is thread-safe and returns once the scheduler thread has applied it
 * (state writes are in SQLite when set() returns).
 */
class TaskHost {
public:
    virtual ~TaskHost() = default;

    /// Writes (or, with no value, removes) one key of a task's persistent state.
    virtual SchedulerResult<void> writeState(TaskId task, const QString &key,
                                             const std::optional<QString> &value) = 0;

    /// Submits children of `parent` in one transaction.
    virtual SchedulerResult<QList<TaskId>> spawnChildren(TaskId parent,
                                                         QList<TaskSpec> children) = 0;
};

} // namespace ferry
