#include "SyncController.h"

namespace ferry {

QString toText(ProfileActivity activity)
{
    switch (activity) {
    case ProfileActivity::Idle:
        return QStringLiteral("idle");
    case ProfileActivity::Starting:
        return QStringLiteral("starting");
    case ProfileActivity::Syncing:
        return QStringLiteral("syncing");
    case ProfileActivity::Cancelling:
        return QStringLiteral("cancelling");
    case ProfileActivity::Paused:
        return QStringLiteral("paused");
    case ProfileActivity::Offline:
        return QStringLiteral("offline");
    }
    return QStringLiteral("idle");
}

} // namespace ferry
