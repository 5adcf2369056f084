#pragma once

#include "SchedulerError.h"
#include "TaskTypes.h"

#include <QJsonObject>
#include <QString>

namespace ferry {

/// Per-task choices about how a parent treats its children's endings.
enum class ChildPolicy : int {
    Strict = 0,            ///< A failed child fails the parent; a cancelled one cancels it.
    TolerateCancelled = 1, ///< Cancelled children are noted; the parent still finalizes.
    TolerateFailed = 2,    ///< Failed children are noted; the parent still finalizes.
    TolerateBoth = 3,
};

/**
 * Everything needed to submit a task. Only `type` is required.
 * The payload must be a JSON object; use the task state for what changes while it runs.
 */
struct TaskSpec {
    QString type;
    QString group;
    QString dedupKey; ///< Unique among active tasks when not empty, e.g. "profile:x:file:a.txt".
    QString label;
    int priority = kDefaultPriority; ///< 0 (most urgent) .. 255.
    TaskId parentId = 0;             ///< 0: a root task.
    QJsonObject payload;
    DuplicateStrategy onDuplicate = DuplicateStrategy::Skip;
    ChildPolicy childPolicy = ChildPolicy::Strict;
    qint64 bytesTotal = 0; ///< Known size of the work, for progress before it starts.

    /// Parses a payload given as JSON text (e.g. from a command line); it must be an object.
    [[nodiscard]] static SchedulerResult<QJsonObject> parsePayload(const QByteArray &json);
};

} // namespace ferry
