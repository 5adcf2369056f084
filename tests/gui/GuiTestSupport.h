#pragma once

// Shared pieces of the GUI suites: a data directory with the app store, a file secret store,
// a scheduler running the sync executors and a SyncController, as the application composes
// them; buckets on the local S3 server; and look-ups into the window's widgets and models.

#include "app/DataDirectory.h"
#include "app/profiles/AppStore.h"
#include "app/profiles/SecretStore.h"
#include "app/s3/S3Client.h"
#include "app/sync/SyncController.h"
#include "app/sync/SyncServices.h"
#include "scheduler/Scheduler.h"
#include "support/S3TestServer.h"
#include "ui/TaskTreeModel.h"

#include <QAbstractItemModel>
#include <QDir>
#include <QFile>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QTest>

#include <QCoro/QCoroTask>

#include <functional>
#include <memory>

namespace ferry::test {

/// Waits for `future` while this thread's event loop turns (the controller answers on it).
inline bool waitForFuture(const QFuture<void> &future)
{
    return QTest::qWaitFor([&future] { return future.isFinished(); }, 60'000);
}
template <typename T> T awaitFuture(QFuture<T> future)
{
    if (!waitForFuture(QFuture<void>(future)))
        qFatal("a future did not finish within 60 s");
    return future.result();
}
inline void awaitFuture(QFuture<void> future)
{
    if (!waitForFuture(future))
        qFatal("a future did not finish within 60 s");
}

/// Writes `size` pseudo-random bytes to `root/relative`.
inline void writeFile(const QString &root, const QString &relative, qint64 size)
{
    const QString path = QDir(root).filePath(relative);
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        qFatal("cannot write %s", qPrintable(path));
    QByteArray chunk(1024 * 1024, Qt::Uninitialized);
    for (qint64 left = size; left > 0; left -= chunk.size()) {
        QRandomGenerator::global()->fillRange(reinterpret_cast<quint32 *>(chunk.data()),
                                              chunk.size() / 4);
        file.write(chunk.constData(), std::min<qint64>(left, chunk.size()));
    }
}

/// The application's pieces on a temporary data directory.
class GuiHarness {
public:
    explicit GuiHarness(quint16 port) : m_port(port)
    {
        store = std::make_shared<AppStore>(DataDirectory::databasePath(m_tmp.path()));
        if (!store->open())
            qFatal("app store failed");
        secrets = std::shared_ptr<SecretStore>(SecretStore::createFileStore(m_tmp.path()));
        services = std::make_shared<SyncServices>(store, secrets);
        SchedulerOptions options;
        options.databasePath = DataDirectory::databasePath(m_tmp.path());
        options.maxConcurrency = 4;
        options.eventIntervalMs = 20;
        scheduler = std::make_unique<Scheduler>(options);
        SyncServices::registerExecutors(*scheduler, services);
        auto opened = awaitFuture(scheduler->open());
        if (!opened)
            qFatal("open failed: %s", qPrintable(opened.error().message));
        services->setScheduler(scheduler.get());
        controller = std::make_unique<SyncController>(scheduler.get(), services, secrets);
        if (!awaitFuture(controller->reload()))
            qFatal("reload failed");
    }
    ~GuiHarness()
    {
        controller.reset();
        if (scheduler)
            awaitFuture(scheduler->shutdown(5000));
    }

    QString endpoint() const { return QStringLiteral("http://127.0.0.1:%1").arg(m_port); }
    QString remote(const QString &bucket, const QString &prefix) const
    {
        return endpoint() + QLatin1Char('/') + bucket + QLatin1Char('/') + prefix;
    }
    QString group() const { return QStringLiteral("s3://127.0.0.1:%1").arg(m_port); }
    QString path(const QString &relative) const { return m_tmp.filePath(relative); }

    void createBucket(const QString &bucket)
    {
        s3::ClientConfig config;
        config.endpoint = *s3::Endpoint::fromUrl(endpoint());
        config.credentials.accessKeyId = S3TestServer::accessKey();
        config.credentials.secretAccessKey = S3TestServer::secretKey();
        s3::S3Client client(config);
        auto created = QCoro::waitFor(client.createBucket(bucket, {}));
        if (!created)
            qFatal("bucket: %s", qPrintable(created.error().message()));
    }

    /// Adds a profile through the controller (what the dialog's Save does); `tweak` may change
    /// it first (e.g. point its remote at a FaultProxy).
    void addProfile(const QString &name, const QString &local, const QString &bucket,
                    const std::function<void(Profile &)> &tweak = {})
    {
        Profile p;
        p.name = name;
        p.localFolder = local;
        p.remote = remote(bucket, name);
        p.accessKeyId = S3TestServer::accessKey();
        p.partSize = 5 * 1024 * 1024;
        p.multipartThreshold = 5 * 1024 * 1024;
        if (tweak)
            tweak(p);
        auto saved = awaitFuture(controller->saveProfile(p, S3TestServer::secretKey(), false));
        if (!saved)
            qFatal("profile: %s", qPrintable(saved.error().message));
    }

    std::shared_ptr<AppStore> store;
    std::shared_ptr<SecretStore> secrets;
    std::shared_ptr<SyncServices> services;
    std::unique_ptr<Scheduler> scheduler;
    std::unique_ptr<SyncController> controller;

private:
    QTemporaryDir m_tmp;
    quint16 m_port;
};

/// Every index (column 0) of `model`, depth first.
inline QModelIndexList allRows(const QAbstractItemModel &model, const QModelIndex &parent = {})
{
    QModelIndexList rows;
    for (int row = 0; row < model.rowCount(parent); ++row) {
        const QModelIndex index = model.index(row, 0, parent);
        rows.append(index);
        rows.append(allRows(model, index));
    }
    return rows;
}

/// The root (sync run) row of profile `name` in the task tree, or an invalid index.
inline QModelIndex runRow(const TaskTreeModel &model, const QString &name)
{
    const QString prefix = profileKeyPrefix(name);
    for (int row = model.rowCount() - 1; row >= 0; --row) {
        const QModelIndex index = model.index(row, 0);
        if (index.data(TaskTreeModel::DedupKeyRole).toString().startsWith(prefix))
            return index;
    }
    return {};
}

inline TaskDisplayStatus statusOf(const QModelIndex &index)
{
    return TaskDisplayStatus(index.data(TaskTreeModel::StatusRole).toInt());
}

} // namespace ferry::test
