#pragma once

#include "TaskTypes.h"

#include <QList>
#include <QMetaType>
#include <QString>

namespace ferry {

/// One lifecycle change, as delivered in Scheduler::eventsBatch for views that follow many.
struct TaskEvent {
    enum class Kind {
        Submitted, ///< New task: all descriptive fields are set.
        Started,   ///< execute (or finalize, when `finalizing`) began.
        Progress,  ///< bytesDone/bytesTotal changed.
        Waiting,   ///< execute returned; waiting for children.
        Retrying,  ///< Failed with a retryable error; `detail` holds it.
        Paused,
        Resumed,
        Cancelling, ///< Cancel requested; `detail` holds the reason.
        Completed,
        Failed,    ///< `detail` holds the error.
        Cancelled, ///< `detail` holds the reason; `cleanup` the hook's outcome.
        Superseded,
    };

    Kind kind = Kind::Submitted;
    TaskId id = 0;
    TaskId parentId = 0;
    QString type;
    QString group;
    QString dedupKey;
    QString label;
    qint64 bytesDone = 0;
    qint64 bytesTotal = 0;
    bool finalizing = false;
    CleanupOutcome cleanup = CleanupOutcome::None;
    QString detail;
    qint64 timestampMs = 0;
};

using TaskEvents = QList<TaskEvent>;

/// An event that describes task `id` (type, group, dedup key, label, parent, bytes total), from
/// its TaskRecord or its TaskSpec: their fields have the same names.
template <typename Task>
TaskEvent describedTaskEvent(TaskEvent::Kind kind, TaskId id, const Task &task, qint64 atMs)
{
    TaskEvent e;
    e.kind = kind;
    e.id = id;
    e.parentId = task.parentId;
    e.type = task.type;
    e.group = task.group;
    e.dedupKey = task.dedupKey;
    e.label = task.label;
    e.bytesTotal = task.bytesTotal;
    e.timestampMs = atMs;
    return e;
}

} // namespace ferry

Q_DECLARE_METATYPE(ferry::TaskEvent)
Q_DECLARE_METATYPE(ferry::TaskEvents)
