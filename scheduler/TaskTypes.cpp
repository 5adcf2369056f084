#include "TaskTypes.h"

namespace ferry {

QString toText(TaskStatus status)
{
    switch (status) {
    case TaskStatus::Pending:
        return QStringLiteral("pending");
    case TaskStatus::Running:
        return QStringLiteral("running");
    case TaskStatus::Waiting:
        return QStringLiteral("waiting");
    case TaskStatus::Paused:
        return QStringLiteral("paused");
    case TaskStatus::Cancelling:
        return QStringLiteral("cancelling");
    }
    return QStringLiteral("unknown");
}

QString toText(HistoryStatus status)
{
    switch (status) {
    case HistoryStatus::Completed:
        return QStringLiteral("completed");
    case HistoryStatus::Failed:
        return QStringLiteral("failed");
    case HistoryStatus::Cancelled:
        return QStringLiteral("cancelled");
    case HistoryStatus::Superseded:
        return QStringLiteral("superseded");
    }
    return QStringLiteral("unknown");
}

QString toText(CleanupOutcome outcome)
{
    switch (outcome) {
    case CleanupOutcome::None:
        return QStringLiteral("none");
    case CleanupOutcome::Ok:
        return QStringLiteral("ok");
    case CleanupOutcome::Failed:
        return QStringLiteral("failed");
    case CleanupOutcome::TimedOut:
        return QStringLiteral("timed_out");
    }
    return QStringLiteral("unknown");
}

std::optional<HistoryStatus> historyStatusFromString(const QString &text)
{
    for (auto status : {HistoryStatus::Completed, HistoryStatus::Failed, HistoryStatus::Cancelled,
                        HistoryStatus::Superseded}) {
        if (text.compare(toText(status), Qt::CaseInsensitive) == 0)
            return status;
    }
    return std::nullopt;
}

} // namespace ferry
