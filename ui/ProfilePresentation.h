#pragma once

#include "app/sync/SyncController.h"

#include <QString>

namespace ferry {

/// The state a set of profiles shows as one icon (tray, window): the most urgent wins.
enum class OverallState { Idle, Syncing, Paused, Offline, Error };

/// Texts and numbers the window and the tray show for a profile; all translated.
namespace presentation {

/// "idle", "syncing 42 %", "offline", "paused", "cancelling (cleaning up)", "error".
[[nodiscard]] QString stateText(const ProfileStatus &status);
/// Bytes done in percent 0..100 while it syncs, -1 when unknown or not syncing.
[[nodiscard]] int percent(const ProfileStatus &status);
/// "Completed 14:02", "Failed 14:02: <error>", "Cancelled (user) 14:02", or "never run".
[[nodiscard]] QString lastRunText(const ProfileStatus &status);
/// Whether the profile's last run failed (its row and the tray show an error).
[[nodiscard]] bool isError(const ProfileStatus &status);

/// The icon name (TaskDisplayStatus.h appIcon()) of an overall state.
[[nodiscard]] QString iconName(OverallState state);
/// "Idle", "Syncing", ... translated.
[[nodiscard]] QString stateName(OverallState state);

/// The overall state of every profile of `controller`, given which endpoints are offline.
[[nodiscard]] OverallState overallState(const SyncController &controller, bool systemOnline);
/// One line per profile: "name: state", for the tray tooltip.
[[nodiscard]] QString summary(const SyncController &controller);

/// 1.5 MiB
[[nodiscard]] QString bytes(qint64 value);
/// 1.5 MiB/s
[[nodiscard]] QString rate(double bytesPerSecond);

} // namespace presentation
} // namespace ferry
