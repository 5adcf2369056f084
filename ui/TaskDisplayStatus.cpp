#include "TaskDisplayStatus.h"

#include <QCoreApplication>
#include <QHash>

#include <array>

// Q_INIT_RESOURCE declares the initializer in the current scope: keep it outside ferry.
static void initFerryUiResourcesOnce()
{
    static const bool done = [] {
        Q_INIT_RESOURCE(resources);
        return true;
    }();
    Q_UNUSED(done);
}

namespace ferry {

namespace {
constexpr int kStatusCount = static_cast<int>(TaskDisplayStatus::Superseded) + 1;

QString tr(const char *text)
{
    return QCoreApplication::translate("ferry::TaskDisplayStatus", text);
}

QString iconName(TaskDisplayStatus status)
{
    switch (status) {
    case TaskDisplayStatus::Pending:
        return QStringLiteral("pending");
    case TaskDisplayStatus::Running:
        return QStringLiteral("running");
    case TaskDisplayStatus::Waiting:
        return QStringLiteral("running");
    case TaskDisplayStatus::Retrying:
        return QStringLiteral("offline");
    case TaskDisplayStatus::Paused:
        return QStringLiteral("paused");
    case TaskDisplayStatus::Cancelling:
        return QStringLiteral("cancelled");
    case TaskDisplayStatus::Completed:
        return QStringLiteral("completed");
    case TaskDisplayStatus::Failed:
        return QStringLiteral("failed");
    case TaskDisplayStatus::Cancelled:
        return QStringLiteral("cancelled");
    case TaskDisplayStatus::Superseded:
        return QStringLiteral("cancelled");
    }
    return QStringLiteral("pending");
}
} // namespace

void initUiResources()
{
    initFerryUiResourcesOnce();
}

bool isFinished(TaskDisplayStatus status)
{
    return status == TaskDisplayStatus::Completed || status == TaskDisplayStatus::Failed ||
           status == TaskDisplayStatus::Cancelled || status == TaskDisplayStatus::Superseded;
}

QString displayText(TaskDisplayStatus status)
{
    switch (status) {
    case TaskDisplayStatus::Pending:
        return tr("Pending");
    case TaskDisplayStatus::Running:
        return tr("Running");
    case TaskDisplayStatus::Waiting:
        return tr("Waiting");
    case TaskDisplayStatus::Retrying:
        return tr("Retrying");
    case TaskDisplayStatus::Paused:
        return tr("Paused");
    case TaskDisplayStatus::Cancelling:
        return tr("Cancelling");
    case TaskDisplayStatus::Completed:
        return tr("Completed");
    case TaskDisplayStatus::Failed:
        return tr("Failed");
    case TaskDisplayStatus::Cancelled:
        return tr("Cancelled");
    case TaskDisplayStatus::Superseded:
        return tr("Superseded");
    }
    return {};
}

QString displayText(CleanupOutcome outcome)
{
    switch (outcome) {
    case CleanupOutcome::None:
        return {};
    case CleanupOutcome::Ok:
        return tr("clean-up ok");
    case CleanupOutcome::Failed:
        return tr("clean-up failed");
    case CleanupOutcome::TimedOut:
        return tr("clean-up timed out");
    }
    return {};
}

TaskDisplayStatus displayStatus(TaskStatus status)
{
    switch (status) {
    case TaskStatus::Pending:
        return TaskDisplayStatus::Pending;
    case TaskStatus::Running:
        return TaskDisplayStatus::Running;
    case TaskStatus::Waiting:
        return TaskDisplayStatus::Waiting;
    case TaskStatus::Paused:
        return TaskDisplayStatus::Paused;
    case TaskStatus::Cancelling:
        return TaskDisplayStatus::Cancelling;
    }
    return TaskDisplayStatus::Pending;
}

TaskDisplayStatus displayStatus(HistoryStatus status)
{
    switch (status) {
    case HistoryStatus::Completed:
        return TaskDisplayStatus::Completed;
    case HistoryStatus::Failed:
        return TaskDisplayStatus::Failed;
    case HistoryStatus::Cancelled:
        return TaskDisplayStatus::Cancelled;
    case HistoryStatus::Superseded:
        return TaskDisplayStatus::Superseded;
    }
    return TaskDisplayStatus::Completed;
}

QIcon statusIcon(TaskDisplayStatus status)
{
    static std::array<QIcon, kStatusCount> cache;
    const int index = static_cast<int>(status);
    if (index < 0 || index >= kStatusCount)
        return {};
    if (cache[index].isNull()) {
        initUiResources();
        cache[index] = QIcon(QStringLiteral(":/icons/status-%1.svg").arg(iconName(status)));
    }
    return cache[index];
}

QIcon appIcon(const QString &name)
{
    static QHash<QString, QIcon> cache;
    auto it = cache.find(name);
    if (it == cache.end()) {
        initUiResources();
        const QString path = name == QLatin1String("ferry")
                                 ? QStringLiteral(":/icons/ferry.svg")
                                 : QStringLiteral(":/icons/status-%1.svg").arg(name);
        it = cache.insert(name, QIcon(path));
    }
    return *it;
}

} // namespace ferry
