#include "SyncServices.h"

#include "SyncExecutors.h"
#include "app/s3/S3Client.h"
#include "scheduler/Scheduler.h"

#include <QThreadStorage>

#include <map>

namespace ferry {

namespace {

struct ClientCache {
    std::map<QString, std::unique_ptr<s3::S3Client>> clients;
};

} // namespace

s3::S3Client &threadClient(const s3::ClientConfig &config)
{
    static QThreadStorage<ClientCache *> storage;
    if (!storage.hasLocalData())
        storage.setLocalData(new ClientCache);
    // In memory only: the key is never printed.
    const QString key = config.endpoint.toString() + QLatin1Char('\n') +
                        config.credentials.accessKeyId + QLatin1Char('\n') +
                        config.credentials.secretAccessKey + QLatin1Char('\n') +
                        config.credentials.sessionToken;
    auto &slot = storage.localData()->clients[key];
    if (!slot)
        slot = std::make_unique<s3::S3Client>(config);
    return *slot;
}

TaskError toTaskError(const s3::S3Error &error)
{
    if (error.isCancelled())
        return TaskError::cancelled();
    if (error.isRetryable())
        return TaskError::retryable(error.message());
    return TaskError::permanent(error.message());
}

SyncServices::SyncServices(std::shared_ptr<AppStore> store, std::shared_ptr<SecretStore> secrets)
    : m_store(std::move(store)), m_secrets(std::move(secrets))
{
}

void SyncServices::forgetTarget(const QString &profile)
{
    const QMutexLocker lock(&m_mutex);
    m_targets.remove(profile);
}

std::expected<SyncTarget, QString> SyncServices::target(const QString &profile)
{
    QMutexLocker lock(&m_mutex);
    if (auto it = m_targets.constFind(profile); it != m_targets.constEnd())
        return *it;
    auto loaded = m_store->profile(profile);
    if (!loaded)
        return std::unexpected(loaded.error());
    if (!loaded->has_value())
        return std::unexpected(tr("There is no profile named `%1`. Add it with `ferry profile "
                                  "add %1 ...`, or see `ferry profile list`.")
                                   .arg(profile));
    SyncTarget target;
    target.profile = **loaded;
    auto url = s3::RemoteUrl::parse(target.profile.remote);
    if (!url)
        return std::unexpected(url.error().message);
    target.url = *url;
    auto credentials = resolveCredentials(target.profile, *m_secrets);
    if (!credentials)
        return std::unexpected(credentials.error());
    target.config.endpoint = target.url.endpoint();
    if (!target.profile.region.isEmpty())
        target.config.endpoint.setRegion(target.profile.region);
    target.config.credentials = *credentials;
    m_targets.insert(profile, target);
    return target;
}

std::shared_ptr<SyncCounters> SyncServices::counters(const QString &profile)
{
    QMutexLocker lock(&m_mutex);
    auto &slot = m_counters[profile];
    if (!slot)
        slot = std::make_shared<SyncCounters>();
    return slot;
}

void SyncServices::resetCounters(const QString &profile)
{
    QMutexLocker lock(&m_mutex);
    m_counters.insert(profile, std::make_shared<SyncCounters>());
}

void SyncServices::registerExecutors(Scheduler &scheduler, std::shared_ptr<SyncServices> services)
{
    ExecutorOptions transfer;
    transfer.retry = RetryPolicy{6, RetryPolicy::Backoff::Exponential, 1000, 30'000, 0.2};
    ExecutorOptions hooks = transfer;
    hooks.hookRetry = RetryPolicy{20, RetryPolicy::Backoff::Exponential, 500, 30'000, 0.2};
    scheduler.registerExecutor(SyncTypes::Run, std::make_shared<SyncRunExecutor>(services),
                               transfer);
    scheduler.registerExecutor(SyncTypes::UploadObject,
                               std::make_shared<UploadObjectExecutor>(services), transfer);
    scheduler.registerExecutor(SyncTypes::UploadMultipart,
                               std::make_shared<UploadMultipartExecutor>(services), hooks);
    scheduler.registerExecutor(SyncTypes::UploadPart,
                               std::make_shared<UploadPartExecutor>(services), transfer);
    scheduler.registerExecutor(SyncTypes::DeleteObject,
                               std::make_shared<DeleteObjectExecutor>(services), transfer);
    ExecutorOptions sweep;
    sweep.retry = RetryPolicy{30, RetryPolicy::Backoff::Exponential, 500, 60'000, 0.2};
    scheduler.registerExecutor(SyncTypes::Sweep, std::make_shared<SweepExecutor>(services), sweep);
    services->setScheduler(&scheduler);
}

} // namespace ferry
