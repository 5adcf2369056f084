#pragma once

// Shared pieces of the sync suites: a scheduler with the sync executors on a temporary data
// directory, profiles pointing at the local S3 server, and synchronous S3 helpers.

#include "app/DataDirectory.h"
#include "app/profiles/AppStore.h"
#include "app/profiles/SecretStore.h"
#include "app/s3/S3Client.h"
#include "app/sync/OrphanSweep.h"
#include "app/sync/SyncServices.h"
#include "scheduler/Scheduler.h"
#include "support/S3TestServer.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

namespace ferry::test {

template <typename T> T awaitFuture(QFuture<T> future)
{
    future.waitForFinished();
    return future.result();
}
inline void awaitFuture(QFuture<void> future)
{
    future.waitForFinished();
}

/// Writes `size` pseudo-random bytes (or `content` when given) to `root/relative`.
inline void writeFile(const QString &root, const QString &relative, qint64 size,
                      const QByteArray &content = {})
{
    const QString path = QDir(root).filePath(relative);
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        qFatal("cannot write %s", qPrintable(path));
    if (!content.isEmpty() || size == 0) {
        file.write(content);
        return;
    }
    QByteArray chunk(1024 * 1024, Qt::Uninitialized);
    qint64 left = size;
    while (left > 0) {
        const qint64 n = std::min<qint64>(left, chunk.size());
        QRandomGenerator::global()->fillRange(reinterpret_cast<quint32 *>(chunk.data()),
                                              chunk.size() / 4);
        file.write(chunk.constData(), n);
        left -= n;
    }
}

/// A data directory with the app store, a file secret store and a scheduler running the
/// sync executors.
class SyncHarness {
public:
    explicit SyncHarness(quint16 port, QString dataDir = {}) : m_port(port)
    {
        m_dataDir = dataDir.isEmpty() ? m_tmp.path() : dataDir;
        store = std::make_shared<AppStore>(DataDirectory::databasePath(m_dataDir));
        if (!store->open())
            qFatal("app store failed");
        secrets = std::shared_ptr<SecretStore>(SecretStore::createFileStore(m_dataDir));
        services = std::make_shared<SyncServices>(store, secrets);
    }
    ~SyncHarness() { stop(); }

    void start(int maxConcurrency = 4)
    {
        SchedulerOptions options;
        options.databasePath = DataDirectory::databasePath(m_dataDir);
        options.maxConcurrency = maxConcurrency;
        options.eventIntervalMs = 20;
        scheduler = std::make_unique<Scheduler>(options);
        SyncServices::registerExecutors(*scheduler, services);
        auto opened = awaitFuture(scheduler->open());
        if (!opened)
            qFatal("open failed: %s", qPrintable(opened.error().message));
    }

    void stop()
    {
        if (scheduler)
            awaitFuture(scheduler->shutdown(5000));
        scheduler.reset();
    }

    QString endpoint() const { return QStringLiteral("http://127.0.0.1:%1").arg(m_port); }

    /// Adds a profile for `localDir` uploading to `bucket/prefix`.
    Profile addProfile(const QString &name, const QString &localDir, const QString &bucket,
                       const QString &prefix, const std::function<void(Profile &)> &tweak = {})
    {
        Profile p;
        p.name = name;
        p.localFolder = localDir;
        p.remote = endpoint() + QLatin1Char('/') + bucket + QLatin1Char('/') + prefix;
        p.accessKeyId = S3TestServer::accessKey();
        p.partSize = 5 * 1024 * 1024;
        p.multipartThreshold = 5 * 1024 * 1024;
        if (tweak)
            tweak(p);
        auto added = store->addProfile(p);
        if (!added)
            qFatal("profile: %s", qPrintable(added.error().message));
        if (!secrets->store(name, S3TestServer::secretKey()))
            qFatal("secret store failed");
        return p;
    }

    SyncTarget target(const QString &name)
    {
        auto t = services->target(name);
        if (!t)
            qFatal("target: %s", qPrintable(t.error()));
        return *t;
    }

    TaskId submitSync(const QString &name)
    {
        auto submitted = awaitFuture(scheduler->submit(syncRunSpec(target(name))));
        if (!submitted)
            qFatal("submit: %s", qPrintable(submitted.error().message));
        return submitted->id;
    }

    QList<HistoryRecord> history(HistoryQuery query = {})
    {
        query.limit = 1'000'000;
        auto rows = awaitFuture(scheduler->history(query));
        if (!rows)
            qFatal("history: %s", qPrintable(rows.error().message));
        return *rows;
    }

    std::optional<HistoryRecord> historyOf(TaskId id)
    {
        for (const auto &row : history())
            if (row.taskId == id)
                return row;
        return std::nullopt;
    }

    std::unique_ptr<s3::S3Client> client()
    {
        s3::ClientConfig config;
        config.endpoint = *s3::Endpoint::fromUrl(endpoint());
        config.credentials.accessKeyId = S3TestServer::accessKey();
        config.credentials.secretAccessKey = S3TestServer::secretKey();
        return std::make_unique<s3::S3Client>(config);
    }

    QString dataDir() const { return m_dataDir; }

    std::shared_ptr<AppStore> store;
    std::shared_ptr<SecretStore> secrets;
    std::shared_ptr<SyncServices> services;
    std::unique_ptr<Scheduler> scheduler;

private:
    QTemporaryDir m_tmp;
    QString m_dataDir;
    quint16 m_port;
};

inline QByteArray readAll(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return file.readAll();
}

} // namespace ferry::test
