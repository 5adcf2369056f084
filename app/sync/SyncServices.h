#pragma once

#include "app/profiles/AppStore.h"
#include "app/profiles/SecretStore.h"
#include "app/s3/RemoteUrl.h"
#include "app/s3/S3Error.h"
#include "app/s3/S3Transport.h"
#include "scheduler/TaskError.h"

#include <QHash>
#include <QMutex>
#include <QString>

#include <atomic>
#include <expected>
#include <memory>

namespace ferry {

class Scheduler;

/// Task types of the sync engine.
namespace SyncTypes {
inline const QString Run = QStringLiteral("sync-run");
inline const QString UploadObject = QStringLiteral("upload-object");
inline const QString UploadMultipart = QStringLiteral("upload-multipart");
inline const QString UploadPart = QStringLiteral("upload-part");
inline const QString DeleteObject = QStringLiteral("delete-object");
inline const QString Sweep = QStringLiteral("sweep-uploads");
} // namespace SyncTypes

/// Everything a sync task needs to talk to its profile's bucket.
struct SyncTarget {
    Profile profile;
    s3::RemoteUrl url;
    s3::ClientConfig config;
    /// The scheduler group: the endpoint, `s3://host:port`.
    [[nodiscard]] QString group() const { return url.endpoint().group(); }
    [[nodiscard]] QString bucket() const { return url.bucket(); }
    /// The object key of a file at `relativePath` under the profile's folder.
    [[nodiscard]] QString objectKey(const QString &relativePath) const
    {
        return url.prefix() + relativePath;
    }
};

/// Live counters of one profile's run, for progress displays. Thread-safe.
struct SyncCounters {
    std::atomic<qint64> filesQueued{0};
    std::atomic<qint64> filesDone{0};
    std::atomic<qint64> filesFailed{0};
    std::atomic<qint64> bytesQueued{0};
    std::atomic<qint64> bytesDone{0};
    std::atomic<bool> scanned{false};
};

/// The dedup key prefix of everything a profile runs: `profile:<name>:`.
[[nodiscard]] inline QString profileKeyPrefix(const QString &profile)
{
    return QStringLiteral("profile:") + profile + QLatin1Char(':');
}

namespace s3 {
class S3Client;
}

/**
 * The calling worker thread's client for `config`, created on first use and kept until the
 * thread ends (the client's network objects belong to that thread; destroying them while Qt's
 * HTTP thread still delivers to them is what a per-task client would risk).
 */
[[nodiscard]] s3::S3Client &threadClient(const s3::ClientConfig &config);

/// An S3 error as the scheduler sees it: cancelled, retryable or permanent.
[[nodiscard]] TaskError toTaskError(const s3::S3Error &error);

/**
 * What the sync executors share: the app store, the secret store, resolved targets (cached)
 * and the live counters. Created by the composition root; outlives the scheduler's tasks.
 */
class SyncServices {
    Q_DECLARE_TR_FUNCTIONS(ferry::SyncServices)
public:
    SyncServices(std::shared_ptr<AppStore> store, std::shared_ptr<SecretStore> secrets);

    [[nodiscard]] AppStore &store() { return *m_store; }
    /// The profile, its parsed remote and the client configuration with its credentials.
    [[nodiscard]] std::expected<SyncTarget, QString> target(const QString &profile);
    /// Drops the cached target, so the next target() reads the changed profile and secret.
    void forgetTarget(const QString &profile);
    [[nodiscard]] std::shared_ptr<SyncCounters> counters(const QString &profile);
    void resetCounters(const QString &profile);

    /// The scheduler, for the sweep's question "which uploads do live tasks hold".
    void setScheduler(Scheduler *scheduler) { m_scheduler.store(scheduler); }
    [[nodiscard]] Scheduler *scheduler() const { return m_scheduler.load(); }

    /// Registers every sync task type on `scheduler` (call before open()).
    static void registerExecutors(Scheduler &scheduler, std::shared_ptr<SyncServices> services);

private:
    std::shared_ptr<AppStore> m_store;
    std::shared_ptr<SecretStore> m_secrets;
    QMutex m_mutex;
    QHash<QString, SyncTarget> m_targets;
    QHash<QString, std::shared_ptr<SyncCounters>> m_counters;
    std::atomic<Scheduler *> m_scheduler{nullptr};
};

} // namespace ferry
