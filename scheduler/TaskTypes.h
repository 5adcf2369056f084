#pragma once

#include <QString>
#include <QtGlobal>

#include <optional>

namespace ferry {

using TaskId = qint64;

/// Where an active task stands. Values are stored in SQLite: never renumber.
enum class TaskStatus : int {
    Pending = 0,    ///< Ready to run (or to finalize) once its time and a slot come.
    Running = 1,    ///< An executor (execute or finalize) is running it.
    Waiting = 2,    ///< Its execute returned; it waits for its children to settle.
    Paused = 3,     ///< Its group is paused; it keeps its place and runs after resume.
    Cancelling = 4, ///< Cancel (or fail-fast) requested; stopping or cleaning up.
};

/// How a task ended, in its single history row. Values are stored in SQLite.
enum class HistoryStatus : int {
    Completed = 0,
    Failed = 1,
    Cancelled = 2,
    Superseded = 3,
};

/// What the onCancel clean-up hook did for a task that ended without completing.
enum class CleanupOutcome : int {
    None = 0,     ///< No hook was needed (never started, no state) or the type has none.
    Ok = 1,       ///< The hook ran and succeeded.
    Failed = 2,   ///< The hook failed for good or ran out of attempts.
    TimedOut = 3, ///< The hook ran past its time limit.
};

/// What submit does when an active task already holds the same dedup key.
enum class DuplicateStrategy : int {
    Skip = 0,      ///< Keep the existing task (a pending one takes the higher priority).
    Supersede = 1, ///< Replace it: the old one ends as Superseded.
    Reject = 2,    ///< Refuse the new one with an error.
};

/// The well-known cancellation reasons; applications may use their own (e.g. "offline").
namespace CancelReason {
inline const QString User = QStringLiteral("user");
inline const QString Group = QStringLiteral("group");
inline const QString Type = QStringLiteral("type");
inline const QString Predicate = QStringLiteral("predicate");
inline const QString Parent = QStringLiteral("parent");
inline const QString Child = QStringLiteral("child");
inline const QString SiblingFailed = QStringLiteral("sibling-failed");
inline const QString Superseded = QStringLiteral("superseded");
inline const QString Offline = QStringLiteral("offline");
} // namespace CancelReason

[[nodiscard]] QString toText(TaskStatus status);
[[nodiscard]] QString toText(HistoryStatus status);
[[nodiscard]] QString toText(CleanupOutcome outcome);
[[nodiscard]] std::optional<HistoryStatus> historyStatusFromString(const QString &text);

/// Lowest and highest priority values; 0 is the most urgent.
inline constexpr int kMostUrgentPriority = 0;
inline constexpr int kLeastUrgentPriority = 255;
inline constexpr int kDefaultPriority = 128;

} // namespace ferry
