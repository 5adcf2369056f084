#pragma once

#include "CliSupport.h"
#include "app/sync/SyncServices.h"
#include "scheduler/Scheduler.h"

#include <QCoro/QCoroTask>
#include <QJsonObject>

#include <memory>

namespace ferry::cli {

/// A scheduler opened on a data directory, with the sync executors when `services` is given.
struct OpenScheduler {
    std::unique_ptr<Scheduler> scheduler;
    QString error;
    bool locked = false;
};
[[nodiscard]] QCoro::Task<OpenScheduler>
openScheduler(QString dataDir, std::shared_ptr<SyncServices> services, int maxConcurrency = 0);

/// Answers a control request (`history`, `status`, `cancel`) from the scheduler's data: used
/// by the owner of the data directory for its socket, and locally when no process owns it.
[[nodiscard]] QCoro::Task<QList<QJsonObject>> answerRequest(Scheduler *scheduler,
                                                            QJsonObject request);

int profileCommand(const Args &args, const QString &dataDir);
QCoro::Task<int> syncCommand(Args args, QString dataDir);
QCoro::Task<int> cancelCommand(Args args, QString dataDir);
QCoro::Task<int> historyCommand(Args args, QString dataDir);
QCoro::Task<int> statusCommand(Args args, QString dataDir);
QCoro::Task<int> cleanupCommand(Args args, QString dataDir);

} // namespace ferry::cli
