#include "RunTracker.h"

#include "app/sync/SyncController.h"

namespace ferry {

RunTracker::RunTracker(SyncController *controller, QObject *parent)
    : QObject(parent), m_controller(controller)
{
    // Connected before the views' own handlers: they ask right after the signal.
    connect(controller, &SyncController::runFinished, this, [this](const QString &name) {
        if (const auto status = m_controller ? m_controller->status(name) : std::nullopt)
            m_finishedRuns.insert(name, status->runId);
    });
}

bool RunTracker::isRunActive(const ProfileStatus &status) const
{
    return status.runId != 0 && m_finishedRuns.value(status.profile.name) != status.runId;
}

bool RunTracker::hasWork(const ProfileStatus &status) const
{
    switch (status.activity) {
    case ProfileActivity::Starting:
    case ProfileActivity::Syncing:
        return true;
    case ProfileActivity::Paused:
    case ProfileActivity::Offline:
        return isRunActive(status);
    case ProfileActivity::Idle:
    case ProfileActivity::Cancelling:
        return false;
    }
    return false;
}

} // namespace ferry
