#pragma once

#include "TaskSpec.h"
#include "TaskTypes.h"

#include <QDateTime>
#include <QJsonObject>
#include <QString>

namespace ferry {

/// An active task as stored: what cancelWhere predicates and queries see.
struct TaskRecord {
    TaskId id = 0;
    QString type;
    QString group;
    QString dedupKey;
    QString label;
    int priority = kDefaultPriority;
    TaskId parentId = 0;
    QJsonObject payload;
    TaskStatus status = TaskStatus::Pending;
    bool finalizing = false; ///< Its next (or current) run is finalize, not execute.
    ChildPolicy childPolicy = ChildPolicy::Strict;
    int attempts = 0; ///< Attempts that ended in a retryable error so far.
    QDateTime createdAt;
    QDateTime startedAt; ///< First start; invalid when it never started.
    qint64 bytesDone = 0;
    qint64 bytesTotal = 0;
    QString cancelReason; ///< Set while Cancelling.
    int childrenCancelled = 0;
    int childrenFailed = 0;

    [[nodiscard]] bool hasStarted() const { return startedAt.isValid(); }
};

/// One finished task: exactly one row per task id.
struct HistoryRecord {
    qint64 id = 0;
    TaskId taskId = 0;
    TaskId parentId = 0;
    QString type;
    QString group;
    QString dedupKey;
    QString label;
    HistoryStatus status = HistoryStatus::Completed;
    QString reason; ///< Why it was cancelled or superseded ("user", "offline", ...).
    CleanupOutcome cleanup = CleanupOutcome::None;
    QString error; ///< Why it failed, or why its clean-up failed.
    QString note;  ///< e.g. "2 children cancelled" for a tolerant parent.
    int attempts = 0;
    QDateTime createdAt;
    QDateTime startedAt;
    QDateTime finishedAt;
    qint64 bytes = 0;
};

/// A filter over history; empty fields match everything.
struct HistoryQuery {
    std::optional<HistoryStatus> status;
    QString group;
    QString type;
    QString dedupKeyPrefix;
    QString reason;
    std::optional<CleanupOutcome> cleanup;
    QDateTime finishedAfter;
    QDateTime finishedBefore;
    qint64 beforeId = 0; ///< For paging newest-first: only rows with id < beforeId.
    int limit = 1000;
};

} // namespace ferry
