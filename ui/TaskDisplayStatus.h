#pragma once

#include "scheduler/TaskTypes.h"

#include <QIcon>
#include <QString>

namespace ferry {

/**
 * A task's status as the UI shows it: the scheduler's active statuses, the retrying state
 * the events reveal, and the terminal history statuses. One enum so a view can sort, colour
 * and pick icons by a single value.
 */
enum class TaskDisplayStatus : int {
    Pending,
    Running,
    Waiting,
    Retrying,
    Paused,
    Cancelling,
    Completed,
    Failed,
    Cancelled,
    Superseded,
};

/// True for the statuses a task never leaves (it has its history row, or is about to).
[[nodiscard]] bool isFinished(TaskDisplayStatus status);

/// The status as a translated word for a view ("Running", "Cancelled", ...).
[[nodiscard]] QString displayText(TaskDisplayStatus status);
/// The clean-up outcome as translated words ("clean-up ok", ...); empty for None.
[[nodiscard]] QString displayText(CleanupOutcome outcome);

[[nodiscard]] TaskDisplayStatus displayStatus(TaskStatus status);
[[nodiscard]] TaskDisplayStatus displayStatus(HistoryStatus status);

/// The status icon from the compiled-in resources (`:/icons/status-*.svg`). Cached: cheap to
/// call from data(). Call on the UI thread only.
[[nodiscard]] QIcon statusIcon(TaskDisplayStatus status);

/// Application and tray icons from the resources: "ferry", "idle", "syncing", "offline",
/// "error", "paused". Call on the UI thread only.
[[nodiscard]] QIcon appIcon(const QString &name = QStringLiteral("ferry"));

/// Registers ferry_ui's compiled resources (a static library's resources need it once;
/// every function above calls it).
void initUiResources();

} // namespace ferry
