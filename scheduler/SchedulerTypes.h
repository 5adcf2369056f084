#pragma once

#include "TaskTypes.h"

#include <QList>
#include <QMetaType>
#include <QString>

namespace ferry {

/// What submit did with one TaskSpec.
struct SubmitResult {
    enum class Outcome {
        Created,    ///< A new task `id`.
        Skipped,    ///< A duplicate: the existing task `id` stays (DuplicateStrategy::Skip).
        Superseded, ///< A new task `id` replaced `replacedId`.
        Rejected,   ///< A duplicate of `replacedId` refused (DuplicateStrategy::Reject).
    };
    TaskId id = 0;
    Outcome outcome = Outcome::Created;
    TaskId replacedId = 0;
    QString message;
};

/// One task a cancel call ended (or is ending), and why.
struct CancelledTask {
    TaskId id = 0;
    QString reason;
};

/// What one cancel call did: every task it cancelled, the cascaded ones included.
struct CancelResult {
    QString reason; ///< The call's own reason; cascaded tasks carry "parent" or "child".
    QList<CancelledTask> tasks;

    [[nodiscard]] QList<TaskId> ids() const
    {
        QList<TaskId> out;
        out.reserve(tasks.size());
        for (const auto &task : tasks)
            out.append(task.id);
        return out;
    }
    [[nodiscard]] qsizetype size() const { return tasks.size(); }
};

/// Counts of active tasks and history, for status displays.
struct SchedulerStats {
    qint64 pending = 0;
    qint64 running = 0;
    qint64 waiting = 0;
    qint64 paused = 0;
    qint64 cancelling = 0;
    qint64 history = 0;
    qint64 transactions = 0; ///< Transactions committed since open.
};

} // namespace ferry

Q_DECLARE_METATYPE(ferry::CancelResult)
