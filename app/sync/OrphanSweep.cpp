#include "OrphanSweep.h"

#include "SyncExecutors.h"
#include "SyncLogging.h"
#include "app/s3/S3Client.h"
#include "scheduler/Scheduler.h"

#include <QCoroFuture>
#include <QSet>
#include <QUuid>

namespace ferry {

namespace {

/// What the profile's active upload-multipart tasks hold: upload ids, and the keys they
/// upload (a task may not have stored the id of the upload it just created yet).
struct LiveUploads {
    QSet<QString> ids;
    QSet<QString> keys;
};

QCoro::Task<std::expected<LiveUploads, TaskError>> liveUploads(Scheduler *scheduler, QString group,
                                                               QString profile)
{
    LiveUploads live;
    if (!scheduler)
        co_return live;
    auto active = co_await scheduler->activeTasks(group);
    if (!active)
        co_return std::unexpected(TaskError::retryable(active.error().message));
    const QString prefix = profileKeyPrefix(profile);
    for (const auto &task : *active) {
        if (task.type != SyncTypes::UploadMultipart || !task.dedupKey.startsWith(prefix))
            continue;
        live.keys.insert(task.payload.value(QStringLiteral("key")).toString());
        auto state = co_await scheduler->taskState(task.id);
        if (state && state->contains(QStringLiteral("upload_id")))
            live.ids.insert(state->value(QStringLiteral("upload_id")));
    }
    co_return live;
}

/// Clock differences between Ferry and the server tolerated when matching an intent.
constexpr qint64 kIntentSkewSeconds = 600;

const QString kIntentPrefix = QStringLiteral("intent:");

} // namespace

QString newUploadIntentId()
{
    return kIntentPrefix + QUuid::createUuid().toString(QUuid::WithoutBraces);
}

bool isUploadIntent(const QString &uploadId)
{
    return uploadId.startsWith(kIntentPrefix);
}

QCoro::Task<std::expected<SweepReport, TaskError>>
sweepOrphans(std::shared_ptr<SyncServices> services, QString profile,
             std::chrono::seconds olderThan, bool dryRun, CancellationToken token)
{
    auto target = services->target(profile);
    if (!target)
        co_return std::unexpected(TaskError::permanent(target.error()));
    // Uploads recorded before the sweep began: one created while it runs is never an orphan.
    QSet<QString> ours;
    QList<KnownUpload> intents;
    if (auto known = services->store().knownUploads(profile)) {
        for (const auto &upload : *known) {
            if (isUploadIntent(upload.uploadId))
                intents.append(upload);
            else
                ours.insert(upload.uploadId);
        }
    }
    // Whether an upload with this key and start is one whose CreateMultipartUpload answer
    // Ferry never got.
    const auto intended = [&intents](const s3::MultipartUploadSummary &upload) {
        for (const auto &intent : intents)
            if (intent.key == upload.key &&
                (!upload.initiated.isValid() ||
                 upload.initiated >= intent.createdAt.addSecs(-kIntentSkewSeconds)))
                return true;
        return false;
    };
    auto live = co_await liveUploads(services->scheduler(), target->group(), profile);
    if (!live)
        co_return std::unexpected(live.error());
    s3::S3Client client(target->config);
    auto uploads =
        co_await client.listAllMultipartUploads(target->bucket(), target->url.prefix(), token);
    if (!uploads)
        co_return std::unexpected(toTaskError(uploads.error()));
    SweepReport report;
    const QDateTime cutoff = QDateTime::currentDateTimeUtc().addSecs(-olderThan.count());
    for (const auto &upload : *uploads) {
        const QString label =
            upload.key + QStringLiteral(" (") + upload.uploadId + QLatin1Char(')');
        const bool old =
            olderThan.count() <= 0 || (upload.initiated.isValid() && upload.initiated <= cutoff);
        const bool held = live->ids.contains(upload.uploadId) || live->keys.contains(upload.key);
        if (held || !(ours.contains(upload.uploadId) || old || intended(upload))) {
            report.kept.append(label);
            continue;
        }
        if (dryRun) {
            report.aborted.append(label);
            continue;
        }
        s3::MultipartUpload handle;
        handle.bucket = target->bucket();
        handle.key = upload.key;
        handle.uploadId = upload.uploadId;
        auto aborted = co_await client.abortMultipartUpload(handle, token);
        if (!aborted) {
            if (aborted.error().isRetryable() || aborted.error().isCancelled())
                co_return std::unexpected(toTaskError(aborted.error()));
            report.failures.append(label + QStringLiteral(": ") + aborted.error().message());
            continue;
        }
        (void)services->store().forgetUpload(upload.uploadId);
        report.aborted.append(label);
    }
    // Uploads we remember that the server no longer has are settled.
    if (!dryRun) {
        QSet<QString> listed;
        QSet<QString> keysLeft;
        for (const auto &upload : *uploads) {
            listed.insert(upload.uploadId);
            if (!report.aborted.contains(upload.key + QStringLiteral(" (") + upload.uploadId +
                                         QLatin1Char(')')))
                keysLeft.insert(upload.key);
        }
        for (const auto &id : std::as_const(ours))
            if (!listed.contains(id) && !live->ids.contains(id))
                (void)services->store().forgetUpload(id);
        // An intent is settled once no task works on its key, nothing under it is left, and
        // its create can no longer make an upload.
        const QDateTime settledBefore =
            QDateTime::currentDateTimeUtc().addSecs(-kLostCreateWindow.count());
        for (const auto &intent : std::as_const(intents))
            if (!live->keys.contains(intent.key) && !keysLeft.contains(intent.key) &&
                intent.createdAt <= settledBefore)
                (void)services->store().forgetUpload(intent.uploadId);
    }
    co_return report;
}

QCoro::Task<TaskResult> SweepExecutor::execute(TaskContext &ctx)
{
    const QString profile = ctx.payload().value(QStringLiteral("profile")).toString();
    const auto age = std::chrono::seconds(
        ctx.payload().value(QStringLiteral("olderThan")).toInteger(kDefaultOrphanAge.count()));
    auto report = co_await sweepOrphans(m_services, profile, age, false, ctx.token());
    if (!report)
        co_return std::unexpected(report.error());
    if (!report->aborted.isEmpty())
        qCInfo(lcSync) << "profile" << profile << ": aborted orphaned uploads" << report->aborted;
    co_return TaskResult{};
}

TaskSpec sweepSpec(const SyncTarget &target)
{
    TaskSpec spec;
    spec.type = SyncTypes::Sweep;
    spec.group = target.group();
    spec.dedupKey = profileKeyPrefix(target.profile.name) + QStringLiteral("sweep");
    spec.label = SyncServices::tr("Clean up interrupted uploads of %1").arg(target.profile.name);
    spec.priority = kMostUrgentPriority + 10;
    QJsonObject payload;
    payload[QStringLiteral("profile")] = target.profile.name;
    payload[QStringLiteral("olderThan")] = qint64(kDefaultOrphanAge.count());
    spec.payload = payload;
    return spec;
}

TaskSpec syncRunSpec(const SyncTarget &target)
{
    TaskSpec spec;
    spec.type = SyncTypes::Run;
    spec.group = target.group();
    spec.dedupKey = profileKeyPrefix(target.profile.name) + QStringLiteral("sync-run");
    spec.label = SyncServices::tr("Sync %1").arg(target.profile.name);
    spec.childPolicy = ChildPolicy::TolerateFailed;
    QJsonObject payload;
    payload[QStringLiteral("profile")] = target.profile.name;
    spec.payload = payload;
    return spec;
}

} // namespace ferry
