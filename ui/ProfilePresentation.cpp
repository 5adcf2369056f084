#include "ProfilePresentation.h"

#include <QCoreApplication>
#include <QLocale>

namespace ferry::presentation {

namespace {

QString tr(const char *text)
{
    return QCoreApplication::translate("ferry::presentation", text);
}

} // namespace

int percent(const ProfileStatus &status)
{
    if (status.activity != ProfileActivity::Syncing || status.bytesTotal <= 0)
        return -1;
    return int(std::clamp<qint64>(status.bytesDone * 100 / status.bytesTotal, 0, 100));
}

bool isError(const ProfileStatus &status)
{
    return status.activity == ProfileActivity::Idle && status.lastResult &&
           *status.lastResult == HistoryStatus::Failed;
}

QString stateText(const ProfileStatus &status)
{
    switch (status.activity) {
    case ProfileActivity::Idle:
        return isError(status) ? tr("error") : tr("idle");
    case ProfileActivity::Starting:
        return tr("starting");
    case ProfileActivity::Syncing: {
        const int p = percent(status);
        return p < 0 ? tr("syncing") : tr("syncing %1 %").arg(p);
    }
    case ProfileActivity::Cancelling:
        return tr("cancelling (cleaning up)");
    case ProfileActivity::Paused:
        return tr("paused");
    case ProfileActivity::Offline:
        return tr("offline");
    }
    return {};
}

QString lastRunText(const ProfileStatus &status)
{
    if (!status.lastResult)
        return tr("never run");
    const QString when =
        QLocale().toString(status.lastFinished.toLocalTime(), QLocale::ShortFormat);
    switch (*status.lastResult) {
    case HistoryStatus::Completed:
        return tr("Completed %1").arg(when);
    case HistoryStatus::Failed:
        return status.lastError.isEmpty() ? tr("Failed %1").arg(when)
                                          : tr("Failed %1: %2").arg(when, status.lastError);
    case HistoryStatus::Cancelled:
        return tr("Cancelled (%1) %2")
            .arg(status.lastStopReason.isEmpty() ? status.lastError : status.lastStopReason, when);
    case HistoryStatus::Superseded:
        return tr("Superseded %1").arg(when);
    }
    return {};
}

QString iconName(OverallState state)
{
    switch (state) {
    case OverallState::Idle:
        return QStringLiteral("idle");
    case OverallState::Syncing:
        return QStringLiteral("syncing");
    case OverallState::Paused:
        return QStringLiteral("paused");
    case OverallState::Offline:
        return QStringLiteral("offline");
    case OverallState::Error:
        return QStringLiteral("error");
    }
    return QStringLiteral("idle");
}

QString stateName(OverallState state)
{
    switch (state) {
    case OverallState::Idle:
        return tr("Idle");
    case OverallState::Syncing:
        return tr("Syncing");
    case OverallState::Paused:
        return tr("Paused");
    case OverallState::Offline:
        return tr("Offline");
    case OverallState::Error:
        return tr("Error");
    }
    return {};
}

OverallState overallState(const SyncController &controller, bool systemOnline)
{
    if (!systemOnline)
        return OverallState::Offline;
    bool syncing = false;
    bool paused = false;
    bool error = false;
    bool offline = false;
    for (const QString &name : controller.profileNames()) {
        const auto status = controller.status(name);
        if (!status)
            continue;
        switch (status->activity) {
        case ProfileActivity::Starting:
        case ProfileActivity::Syncing:
        case ProfileActivity::Cancelling:
            syncing = true;
            break;
        case ProfileActivity::Paused:
            paused = true;
            break;
        case ProfileActivity::Offline:
            offline = true;
            break;
        case ProfileActivity::Idle:
            error = error || isError(*status);
            break;
        }
        if (!status->group.isEmpty() && !controller.isGroupOnline(status->group))
            offline = true;
    }
    if (offline)
        return OverallState::Offline;
    if (error)
        return OverallState::Error;
    if (syncing)
        return OverallState::Syncing;
    if (paused)
        return OverallState::Paused;
    return OverallState::Idle;
}

QString summary(const SyncController &controller)
{
    QStringList lines;
    lines.append(tr("Ferry"));
    const QStringList names = controller.profileNames();
    if (names.isEmpty())
        lines.append(tr("No profiles yet"));
    for (const QString &name : names)
        if (const auto status = controller.status(name))
            lines.append(tr("%1: %2").arg(name, stateText(*status)));
    return lines.join(QLatin1Char('\n'));
}

QString bytes(qint64 value)
{
    return QLocale().formattedDataSize(value, 1, QLocale::DataSizeIecFormat);
}

QString rate(double bytesPerSecond)
{
    return tr("%1/s").arg(bytes(qint64(bytesPerSecond)));
}

} // namespace ferry::presentation
