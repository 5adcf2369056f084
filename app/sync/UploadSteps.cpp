#include "UploadSteps.h"

#include "OrphanSweep.h"

#include <QDateTime>
#include <QFileInfo>

namespace ferry {

FileStamp stampOf(const QString &path)
{
    const QFileInfo info(path);
    FileStamp stamp;
    stamp.exists = info.exists();
    if (stamp.exists) {
        stamp.size = info.size();
        stamp.mtimeMs = info.lastModified().toMSecsSinceEpoch();
    }
    return stamp;
}

FileTask fileTask(const QJsonObject &payload)
{
    FileTask t;
    t.profile = payload.value(QStringLiteral("profile")).toString();
    t.relative = payload.value(QStringLiteral("relative")).toString();
    t.path = payload.value(QStringLiteral("path")).toString();
    t.key = payload.value(QStringLiteral("key")).toString();
    t.stamp.exists = true;
    t.stamp.size = payload.value(QStringLiteral("size")).toInteger();
    t.stamp.mtimeMs = payload.value(QStringLiteral("mtime")).toInteger();
    return t;
}

s3::MultipartUpload uploadOf(const SyncTarget &target, const QString &key, const QString &id)
{
    s3::MultipartUpload upload;
    upload.bucket = target.bucket();
    upload.key = key;
    upload.uploadId = id;
    return upload;
}

TaskError partChangedError(const QString &relative, int part)
{
    return TaskError::permanent(
        SyncServices::tr("`%1` changed while part %2 was uploaded; the upload starts again from "
                         "the beginning with the file as it is now.")
            .arg(relative)
            .arg(part));
}

TaskError keptChangingError(const QString &relative, int tries)
{
    return TaskError::permanent(
        SyncServices::tr("`%1` kept changing while it was uploaded (%2 tries); nothing partial "
                         "was stored. Sync again when the file is no longer being written.")
            .arg(relative)
            .arg(tries));
}

s3::ProgressCallback progressTo(TaskContext &ctx, std::shared_ptr<SyncCounters> counters,
                                qint64 base, qint64 total)
{
    auto last = std::make_shared<qint64>(0);
    return [&ctx, counters, base, total, last](qint64 done, qint64) {
        counters->bytesDone += done - *last;
        *last = done;
        ctx.reportProgress(base + done, total);
    };
}

SchedulerResult<void> setState(TaskContext &ctx, const QString &key, const QString &value)
{
    SchedulerResult<void> result;
    for (int attempt = 0; attempt < 5; ++attempt) {
        result = ctx.state().set(key, value);
        if (result)
            break;
    }
    return result;
}

PartLayout partLayout(qint64 size, qint64 partSize)
{
    PartLayout layout;
    layout.partSize = std::max<qint64>(partSize, 1);
    layout.partCount = int(std::max<qint64>(1, (size + layout.partSize - 1) / layout.partSize));
    return layout;
}

std::expected<s3::UploadPlan, QString> uploadPlan(const Profile &profile, qint64 size)
{
    s3::PartSizeSettings settings;
    settings.multipartThreshold = profile.multipartThreshold;
    settings.partSize = profile.partSize;
    return s3::PartSizePolicy(settings).plan(size);
}

namespace {

const QString kIntent = QStringLiteral("intent");
const QString kIntentAt = QStringLiteral("intent_at");

/// Whether an upload initiated at `initiated` can be the one a create begun at `intentAt`
/// made: from a little before (clocks differ) until the create's longest possible wait.
bool withinCreateWindow(const QDateTime &initiated, const QDateTime &intentAt)
{
    constexpr qint64 kSkewSeconds = 600;
    return !initiated.isValid() || (initiated >= intentAt.addSecs(-kSkewSeconds) &&
                                    initiated <= intentAt.addSecs(kLostCreateWindow.count()));
}

TaskError listingError(const s3::S3Error &error)
{
    return error.isCancelled() ? TaskError::retryable(error.message()) : toTaskError(error);
}

} // namespace

QCoro::Task<TaskResult> abortLostCreate(TaskContext &ctx, AppStore &store, s3::S3Client &client,
                                        SyncTarget target, FileTask file, CancellationToken token)
{
    const QString intentId = ctx.state().value(kIntent);
    if (intentId.isEmpty())
        co_return TaskResult{};
    const QDateTime intentAt =
        QDateTime::fromMSecsSinceEpoch(ctx.state().value(kIntentAt).toLongLong(), Qt::UTC);
    auto listed = co_await client.listAllMultipartUploads(target.bucket(), file.key, token);
    if (!listed)
        co_return std::unexpected(listingError(listed.error()));
    bool found = false;
    for (const auto &upload : std::as_const(*listed)) {
        if (upload.key != file.key || !withinCreateWindow(upload.initiated, intentAt))
            continue;
        auto aborted = co_await client.abortMultipartUpload(
            uploadOf(target, file.key, upload.uploadId), token);
        if (!aborted && aborted.error().kind() != s3::S3Error::Kind::NoSuchKey)
            co_return std::unexpected(listingError(aborted.error()));
        found = true;
    }
    // Nothing found yet proves nothing while the create may still be in the server's hands
    // (the client was killed just after sending it): the intent stays for the sweeps, which
    // abort such a late upload. The task itself moves on.
    if (found || intentAt.addSecs(kLostCreateWindow.count()) <= QDateTime::currentDateTimeUtc())
        (void)store.forgetUpload(intentId);
    (void)ctx.state().remove(kIntent);
    (void)ctx.state().remove(kIntentAt);
    co_return TaskResult{};
}

QCoro::Task<std::expected<QString, TaskError>> createUpload(TaskContext &ctx, AppStore &store,
                                                            s3::S3Client &client, SyncTarget target,
                                                            FileTask file, FileStamp stamp,
                                                            qint64 partSize)
{
    // An earlier create of this task whose answer never came may have made an upload.
    auto settled = co_await abortLostCreate(ctx, store, client, target, file, ctx.token());
    if (!settled)
        co_return std::unexpected(settled.error());
    // The intent first: should the answer be lost, the sweep knows the upload is ours...
    KnownUpload intent;
    intent.uploadId = newUploadIntentId();
    intent.profile = file.profile;
    intent.bucket = target.bucket();
    intent.key = file.key;
    intent.createdAt = QDateTime::currentDateTimeUtc();
    (void)store.recordUpload(intent);
    // ...and in the task's state, for its clean-up hook should the task be cancelled.
    (void)setState(ctx, kIntent, intent.uploadId);
    (void)setState(ctx, kIntentAt, QString::number(intent.createdAt.toMSecsSinceEpoch()));
    auto created =
        co_await client.createMultipartUpload(target.bucket(), file.key, CancellationToken());
    if (!created)
        co_return std::unexpected(toTaskError(created.error())); // the intent stays
    const QString uploadId = created->uploadId;
    KnownUpload known = intent;
    known.uploadId = uploadId;
    known.createdAt = QDateTime::currentDateTimeUtc();
    (void)store.recordUpload(known);
    auto held = setState(ctx, QStringLiteral("size"), QString::number(stamp.size));
    if (held)
        held = setState(ctx, QStringLiteral("mtime"), QString::number(stamp.mtimeMs));
    if (held)
        held = setState(ctx, QStringLiteral("part_size"), QString::number(partSize));
    if (held)
        held = setState(ctx, QStringLiteral("upload_id"), uploadId);
    if (!held) {
        // Nothing holds the upload: abort it now rather than leave it to the sweep.
        auto aborted = co_await client.abortMultipartUpload(*created, CancellationToken());
        if (aborted)
            (void)store.forgetUpload(uploadId);
        co_return std::unexpected(TaskError::retryable(held.error().message));
    }
    // The id is held: the intent has served (the hook would otherwise look for its upload).
    (void)store.forgetUpload(intent.uploadId);
    (void)ctx.state().remove(kIntent);
    (void)ctx.state().remove(kIntentAt);
    co_return uploadId;
}

QCoro::Task<TaskResult> abortUpload(AppStore &store, s3::S3Client &client,
                                    s3::MultipartUpload upload, CancellationToken token)
{
    auto aborted = co_await client.abortMultipartUpload(upload, token);
    // Some servers (Swift s3api) answer NoSuchKey for an upload that is already gone.
    if (!aborted && aborted.error().kind() != s3::S3Error::Kind::NoSuchKey)
        co_return std::unexpected(toTaskError(aborted.error()));
    (void)store.forgetUpload(upload.uploadId);
    co_return TaskResult{};
}

TaskResult journal(AppStore &store, const FileTask &file, const FileStamp &stamp,
                   const QString &etag)
{
    JournalEntry entry;
    entry.key = file.relative;
    entry.size = stamp.size;
    entry.mtimeMs = stamp.mtimeMs;
    entry.etag = etag;
    if (auto ok = store.putJournal(file.profile, entry); !ok)
        return std::unexpected(TaskError::permanent(ok.error()));
    return {};
}

} // namespace ferry
