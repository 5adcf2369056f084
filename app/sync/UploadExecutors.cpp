#include "SyncExecutors.h"

#include "OrphanSweep.h"
#include "SyncLogging.h"
#include "app/s3/S3Client.h"

#include <QDateTime>
#include <QFileInfo>

namespace ferry {

namespace {

constexpr int kPartBatch = 500;

struct FileTask {
    QString profile;
    QString relative;
    QString path;
    QString key;
    FileStamp stamp; ///< As planned (scan time, or the upload's start for parts).
};

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

TaskError changedError(const QString &relative)
{
    return TaskError::permanent(
        SyncServices::tr("`%1` changed while it was uploaded; nothing partial was stored. Sync "
                         "again once the file is no longer being written.")
            .arg(relative));
}

/// Reports progress of one request to the task and to the profile's counters.
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

/// TaskState::set, tried again a few times: the write can meet a busy database.
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

/// Whether an upload initiated at `initiated` can be the one a create begun at `intentAt`
/// made: from a little before (clocks differ) until the create's longest possible wait.
bool withinCreateWindow(const QDateTime &initiated, const QDateTime &intentAt)
{
    constexpr qint64 kSkewSeconds = 600;
    constexpr qint64 kCreateWaitSeconds = 300;
    return !initiated.isValid() || (initiated >= intentAt.addSecs(-kSkewSeconds) &&
                                    initiated <= intentAt.addSecs(kCreateWaitSeconds));
}

} // namespace

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

// --- upload-object ------------------------------------------------------------------------

QCoro::Task<TaskResult> UploadObjectExecutor::execute(TaskContext &ctx)
{
    const FileTask file = fileTask(ctx.payload());
    auto target = m_services->target(file.profile);
    if (!target)
        co_return std::unexpected(TaskError::permanent(target.error()));
    auto counters = m_services->counters(file.profile);
    s3::S3Client &client = threadClient(target->config);
    for (int round = 0; round < 3; ++round) {
        const FileStamp before = stampOf(file.path);
        if (!before.exists) {
            counters->filesDone++;
            co_return TaskResult{}; // deleted since the scan: nothing to upload
        }
        auto put =
            co_await client.putObject(target->bucket(), file.key, file.path, ctx.token(),
                                      s3::PutOptions(), progressTo(ctx, counters, 0, before.size));
        // A file rewritten while it was read can also make the request fail (BadDigest):
        // a change is a reason to send it again, not an error.
        if (!put && (put.error().isCancelled() || stampOf(file.path) == before))
            co_return std::unexpected(toTaskError(put.error()));
        if (!put || stampOf(file.path) != before) {
            qCInfo(lcSync) << file.relative << "changed during its upload; sending it again";
            continue;
        }
        JournalEntry entry;
        entry.key = file.relative;
        entry.size = before.size;
        entry.mtimeMs = before.mtimeMs;
        entry.etag = put->etag;
        if (auto ok = m_services->store().putJournal(file.profile, entry); !ok)
            co_return std::unexpected(TaskError::permanent(ok.error()));
        counters->filesDone++;
        co_return TaskResult{};
    }
    counters->filesFailed++;
    co_return std::unexpected(changedError(file.relative));
}

// --- upload-multipart ---------------------------------------------------------------------

QCoro::Task<TaskResult> UploadMultipartExecutor::execute(TaskContext &ctx)
{
    const FileTask file = fileTask(ctx.payload());
    auto target = m_services->target(file.profile);
    if (!target)
        co_return std::unexpected(TaskError::permanent(target.error()));
    auto &store = m_services->store();
    s3::S3Client &client = threadClient(target->config);
    const FileStamp now = stampOf(file.path);
    if (!now.exists) {
        m_services->counters(file.profile)->filesDone++;
        co_return TaskResult{};
    }

    QString uploadId = ctx.state().value(QStringLiteral("upload_id"));
    QHash<int, QString> stored;
    if (!uploadId.isEmpty()) {
        // A resumed upload: go on only if the file is the one whose parts were sent.
        const bool same = ctx.state().value(QStringLiteral("size")).toLongLong() == now.size &&
                          ctx.state().value(QStringLiteral("mtime")).toLongLong() == now.mtimeMs;
        if (same) {
            auto listed =
                co_await client.listAllParts(uploadOf(*target, file.key, uploadId), ctx.token());
            if (!listed)
                co_return std::unexpected(toTaskError(listed.error()));
            for (const auto &part : *listed)
                stored.insert(part.partNumber, part.etag);
        } else {
            auto aborted = co_await client.abortMultipartUpload(
                uploadOf(*target, file.key, uploadId), ctx.token());
            if (!aborted)
                co_return std::unexpected(toTaskError(aborted.error()));
            (void)store.forgetUpload(uploadId);
            (void)ctx.state().remove(QStringLiteral("upload_id"));
            uploadId.clear();
        }
    }
    KnownUpload intent; // at function scope: GCC 12 and nested locals across co_await
    if (uploadId.isEmpty()) {
        // The intent first: should the answer be lost, the sweep knows the upload is ours.
        intent.uploadId = newUploadIntentId();
        intent.profile = file.profile;
        intent.bucket = target->bucket();
        intent.key = file.key;
        intent.createdAt = QDateTime::currentDateTimeUtc();
        (void)store.recordUpload(intent);
        // ...and in the task's state, for its clean-up hook should the task be cancelled.
        (void)setState(ctx, QStringLiteral("intent"), intent.uploadId);
        (void)setState(ctx, QStringLiteral("intent_at"),
                       QString::number(intent.createdAt.toMSecsSinceEpoch()));
        // Not cancellable: a cancel that dropped the request after the server made the upload
        // would lose its id. The request is short and has its own timeout; once the id is
        // held in the task's state, the cancel's clean-up aborts the upload.
        auto created =
            co_await client.createMultipartUpload(target->bucket(), file.key, CancellationToken());
        if (!created)
            co_return std::unexpected(toTaskError(created.error())); // the intent stays
        uploadId = created->uploadId;
        KnownUpload known;
        known.uploadId = uploadId;
        known.profile = file.profile;
        known.bucket = target->bucket();
        known.key = file.key;
        known.createdAt = QDateTime::currentDateTimeUtc();
        (void)store.recordUpload(known);
        auto held = setState(ctx, QStringLiteral("size"), QString::number(now.size));
        if (held)
            held = setState(ctx, QStringLiteral("mtime"), QString::number(now.mtimeMs));
        if (held)
            held = setState(ctx, QStringLiteral("upload_id"), uploadId);
        if (!held) {
            // Nothing holds the upload: abort it now rather than leave it to the sweep.
            auto aborted = co_await client.abortMultipartUpload(*created, CancellationToken());
            if (aborted)
                (void)store.forgetUpload(uploadId);
            co_return std::unexpected(TaskError::retryable(held.error().message));
        }
        (void)store.forgetUpload(intent.uploadId);
        if (ctx.isCancelled())
            co_return ctx.checkCancelled(); // the clean-up hook aborts the upload
    }

    // The parts not yet stored, spawned in batches.
    const qint64 partSize = ctx.payload().value(QStringLiteral("partSize")).toInteger();
    const int partCount = ctx.payload().value(QStringLiteral("partCount")).toInt();
    QList<TaskSpec> batch;
    for (int part = 1; part <= partCount; ++part) {
        if (stored.contains(part))
            continue;
        const qint64 offset = (part - 1) * partSize;
        TaskSpec spec;
        spec.type = SyncTypes::UploadPart;
        spec.dedupKey = profileKeyPrefix(file.profile) + QStringLiteral("part:") + file.relative +
                        QLatin1Char('#') + QString::number(part);
        spec.label = file.relative + QStringLiteral(" part ") + QString::number(part);
        spec.bytesTotal = std::min(partSize, now.size - offset);
        QJsonObject payload = ctx.payload();
        payload[QStringLiteral("uploadId")] = uploadId;
        payload[QStringLiteral("part")] = part;
        payload[QStringLiteral("offset")] = offset;
        payload[QStringLiteral("length")] = spec.bytesTotal;
        payload[QStringLiteral("size")] = now.size;
        payload[QStringLiteral("mtime")] = now.mtimeMs;
        spec.payload = payload;
        batch.append(spec);
        if (batch.size() >= kPartBatch || part == partCount) {
            auto spawned = ctx.spawnBatch(std::move(batch));
            batch = QList<TaskSpec>();
            if (!spawned)
                co_return std::unexpected(TaskError::retryable(spawned.error().message));
        }
    }
    co_return TaskResult{};
}

QCoro::Task<TaskResult> UploadMultipartExecutor::finalize(TaskContext &ctx)
{
    const FileTask file = fileTask(ctx.payload());
    auto target = m_services->target(file.profile);
    if (!target)
        co_return std::unexpected(TaskError::permanent(target.error()));
    auto &store = m_services->store();
    auto counters = m_services->counters(file.profile);
    const QString uploadId = ctx.state().value(QStringLiteral("upload_id"));
    if (uploadId.isEmpty()) { // the file vanished before the upload began
        counters->filesDone++;
        co_return TaskResult{};
    }
    s3::S3Client &client = threadClient(target->config);
    const auto upload = uploadOf(*target, file.key, uploadId);
    FileStamp planned;
    planned.exists = true;
    planned.size = ctx.state().value(QStringLiteral("size")).toLongLong();
    planned.mtimeMs = ctx.state().value(QStringLiteral("mtime")).toLongLong();
    if (stampOf(file.path) != planned) {
        auto aborted = co_await client.abortMultipartUpload(upload, ctx.token());
        if (!aborted)
            co_return std::unexpected(toTaskError(aborted.error()));
        (void)store.forgetUpload(uploadId);
        counters->filesFailed++;
        co_return std::unexpected(changedError(file.relative));
    }
    const int partCount = ctx.payload().value(QStringLiteral("partCount")).toInt();
    // The parts' ETags as the server holds them (each part also keeps its own in its state).
    auto listed = co_await client.listAllParts(upload, ctx.token());
    if (!listed)
        co_return std::unexpected(toTaskError(listed.error()));
    QList<s3::CompletedPart> parts;
    for (const auto &summary : *listed) {
        s3::CompletedPart part;
        part.partNumber = summary.partNumber;
        part.etag = summary.etag;
        parts.append(part);
    }
    if (parts.size() != partCount)
        co_return std::unexpected(TaskError::permanent(
            SyncServices::tr("Upload of `%1`: the server holds %2 of %3 parts. Sync again to "
                             "upload it anew.")
                .arg(file.relative)
                .arg(parts.size())
                .arg(partCount)));
    auto completed = co_await client.completeMultipartUpload(upload, parts, ctx.token());
    if (!completed)
        co_return std::unexpected(toTaskError(completed.error()));
    JournalEntry entry;
    entry.key = file.relative;
    entry.size = planned.size;
    entry.mtimeMs = planned.mtimeMs;
    entry.etag = completed->etag;
    (void)store.putJournal(file.profile, entry);
    (void)store.forgetUpload(uploadId);
    counters->filesDone++;
    co_return TaskResult{};
}

QCoro::Task<TaskResult> UploadMultipartExecutor::onCancel(TaskContext &ctx)
{
    const QString uploadId = ctx.state().value(QStringLiteral("upload_id"));
    if (uploadId.isEmpty()) {
        if (ctx.state().contains(QStringLiteral("intent")))
            co_return co_await abortIntended(ctx);
        co_return TaskResult{};
    }
    const FileTask file = fileTask(ctx.payload());
    auto target = m_services->target(file.profile);
    if (!target)
        co_return std::unexpected(TaskError::permanent(target.error()));
    s3::S3Client &client = threadClient(target->config);
    // The hook's token is fresh: it only fires on the hook's own timeout.
    auto aborted =
        co_await client.abortMultipartUpload(uploadOf(*target, file.key, uploadId), ctx.token());
    // Some servers (Swift s3api) answer NoSuchKey for an upload that is already gone.
    if (!aborted && aborted.error().kind() != s3::S3Error::Kind::NoSuchKey) {
        if (aborted.error().isCancelled())
            co_return std::unexpected(TaskError::retryable(aborted.error().message()));
        co_return std::unexpected(toTaskError(aborted.error()));
    }
    (void)m_services->store().forgetUpload(uploadId);
    co_return TaskResult{};
}

QCoro::Task<TaskResult> UploadMultipartExecutor::abortIntended(TaskContext &ctx)
{
    // The create's answer never came: abort what the server started under this key while
    // that create could have been in flight.
    const FileTask file = fileTask(ctx.payload());
    auto target = m_services->target(file.profile);
    if (!target)
        co_return std::unexpected(TaskError::permanent(target.error()));
    const QString intentId = ctx.state().value(QStringLiteral("intent"));
    const QDateTime intentAt = QDateTime::fromMSecsSinceEpoch(
        ctx.state().value(QStringLiteral("intent_at")).toLongLong(), Qt::UTC);
    s3::S3Client &client = threadClient(target->config);
    auto listed = co_await client.listAllMultipartUploads(target->bucket(), file.key, ctx.token());
    if (!listed)
        co_return std::unexpected(listed.error().isCancelled()
                                      ? TaskError::retryable(listed.error().message())
                                      : toTaskError(listed.error()));
    for (const auto &upload : std::as_const(*listed)) {
        if (upload.key != file.key || !withinCreateWindow(upload.initiated, intentAt))
            continue;
        auto aborted = co_await client.abortMultipartUpload(
            uploadOf(*target, file.key, upload.uploadId), ctx.token());
        if (!aborted && aborted.error().kind() != s3::S3Error::Kind::NoSuchKey)
            co_return std::unexpected(aborted.error().isCancelled()
                                          ? TaskError::retryable(aborted.error().message())
                                          : toTaskError(aborted.error()));
    }
    (void)m_services->store().forgetUpload(intentId);
    co_return TaskResult{};
}

// --- upload-part --------------------------------------------------------------------------

QCoro::Task<TaskResult> UploadPartExecutor::execute(TaskContext &ctx)
{
    const FileTask file = fileTask(ctx.payload());
    const QString uploadId = ctx.payload().value(QStringLiteral("uploadId")).toString();
    const int part = ctx.payload().value(QStringLiteral("part")).toInt();
    if (ctx.state().contains(QStringLiteral("etag")))
        co_return TaskResult{}; // sent before a restart
    auto target = m_services->target(file.profile);
    if (!target)
        co_return std::unexpected(TaskError::permanent(target.error()));
    if (stampOf(file.path) != file.stamp)
        co_return std::unexpected(changedError(file.relative));
    const qint64 offset = ctx.payload().value(QStringLiteral("offset")).toInteger();
    const qint64 length = ctx.payload().value(QStringLiteral("length")).toInteger();
    s3::S3Client &client = threadClient(target->config);
    auto sent = co_await client.uploadPart(
        uploadOf(*target, file.key, uploadId), part, file.path, offset, length, ctx.token(),
        progressTo(ctx, m_services->counters(file.profile), 0, length));
    // Checked after a failure too: a part read while the file was rewritten can fail its
    // digest check, and the change is then the reason to report.
    if (!sent && sent.error().isCancelled())
        co_return std::unexpected(TaskError::cancelled());
    if (stampOf(file.path) != file.stamp)
        co_return std::unexpected(changedError(file.relative));
    if (!sent)
        co_return std::unexpected(toTaskError(sent.error()));
    if (auto ok = setState(ctx, QStringLiteral("etag"), sent->etag); !ok)
        co_return std::unexpected(TaskError::retryable(ok.error().message));
    co_return TaskResult{};
}

// --- delete-object ------------------------------------------------------------------------

QCoro::Task<TaskResult> DeleteObjectExecutor::execute(TaskContext &ctx)
{
    const QString profile = ctx.payload().value(QStringLiteral("profile")).toString();
    const QString relative = ctx.payload().value(QStringLiteral("relative")).toString();
    const QString key = ctx.payload().value(QStringLiteral("key")).toString();
    auto target = m_services->target(profile);
    if (!target)
        co_return std::unexpected(TaskError::permanent(target.error()));
    s3::S3Client &client = threadClient(target->config);
    auto deleted = co_await client.deleteObject(target->bucket(), key, ctx.token());
    if (!deleted)
        co_return std::unexpected(toTaskError(deleted.error()));
    (void)m_services->store().removeJournal(profile, relative);
    co_return TaskResult{};
}

} // namespace ferry
