#pragma once

#include "scheduler/TaskTypes.h"

#include <QHash>
#include <QObject>
#include <QPointer>

namespace ferry {

class SyncController;
struct ProfileStatus;

/**
 * Whether a profile's run is in flight, also while its endpoint is paused or offline (where
 * the controller's activity says Paused/Offline whether a run waits or not): a run is in
 * flight from the moment the status names its id until runFinished reports it.
 *
 * Workaround until ProfileStatus says so itself.
 */
class RunTracker : public QObject {
    Q_OBJECT
public:
    explicit RunTracker(SyncController *controller, QObject *parent = nullptr);

    /// Whether `status`'s run is in flight.
    [[nodiscard]] bool isRunActive(const ProfileStatus &status) const;
    /// Whether a Cancel would stop something of the profile.
    [[nodiscard]] bool hasWork(const ProfileStatus &status) const;

private:
    QPointer<SyncController> m_controller;
    QHash<QString, TaskId> m_finishedRuns; ///< profile → id of its last finished run
};

} // namespace ferry
