#include "SyncExecutors.h"

#include "SyncLogging.h"
#include "UploadSteps.h"
#include "scheduler/Scheduler.h"

#include <QCoroFuture>
#include <QDateTime>

namespace ferry {

namespace {

constexpr int kPartBatch = 500;

/// The stamp of the content the upload in the task's state was begun for.
FileStamp heldStamp(const TaskContext &ctx)
{
    FileStamp held;
    held.exists = true;
    held.size = ctx.state().value(QStringLiteral("size")).toLongLong();
    held.mtimeMs = ctx.state().value(QStringLiteral("mtime")).toLongLong();
    return held;
}

/// The part size of the upload in the task's state (tasks from before it was kept there:
/// the scan's).
qint64 heldPartSize(const TaskContext &ctx)
{
    const qint64 held = ctx.state().value(QStringLiteral("part_size")).toLongLong();
    return held > 0 ? held : ctx.payload().value(QStringLiteral("partSize")).toInteger();
}

const QString kUploadId = QStringLiteral("upload_id");
/// The try under way when the task sends the file itself (after a change; see sendAgain).
const QString kTry = QStringLiteral("try");

} // namespace

QCoro::Task<TaskResult> UploadMultipartExecutor::execute(TaskContext &ctx)
{
    const FileTask file = fileTask(ctx.payload());
    auto target = m_services->target(file.profile);
    if (!target)
        co_return std::unexpected(TaskError::permanent(target.error()));
    auto &store = m_services->store();
    s3::S3Client &client = threadClient(target->config);
    const FileStamp now = stampOf(file.path);
    if (!now.exists)
        co_return TaskResult{}; // gone since the scan: finalize counts it done

    QString uploadId = ctx.state().value(kUploadId);
    QHash<int, QString> stored;
    if (!uploadId.isEmpty()) {
        // An execute interrupted after the create: go on only if the file is the one the
        // upload was begun for.
        if (heldStamp(ctx) == now) {
            auto listed =
                co_await client.listAllParts(uploadOf(*target, file.key, uploadId), ctx.token());
            if (!listed)
                co_return std::unexpected(toTaskError(listed.error()));
            for (const auto &part : *listed)
                stored.insert(part.partNumber, part.etag);
        } else {
            auto aborted = co_await abortUpload(store, client,
                                                uploadOf(*target, file.key, uploadId), ctx.token());
            if (!aborted)
                co_return aborted;
            (void)ctx.state().remove(kUploadId);
            uploadId.clear();
        }
    }
    qint64 partSize = heldPartSize(ctx);
    if (uploadId.isEmpty()) {
        // Planned for the file as it is now: it may have changed since the scan.
        auto plan = uploadPlan(target->profile, now.size);
        if (!plan)
            co_return std::unexpected(TaskError::permanent(plan.error()));
        if (!plan->multipart)
            co_return TaskResult{}; // smaller than the threshold now: finalize sends it whole
        partSize = plan->partSize;
        auto created = co_await createUpload(ctx, store, client, *target, file, now, partSize);
        if (!created)
            co_return std::unexpected(created.error());
        uploadId = *created;
        if (ctx.isCancelled())
            co_return ctx.checkCancelled(); // the clean-up hook aborts the upload
    }

    // The parts not yet stored, spawned in batches. Each checks the file's stamp before and
    // after it reads; a part that finds it changed fails, and finalize starts over.
    const PartLayout layout = partLayout(now.size, partSize);
    QList<TaskSpec> batch;
    for (int part = 1; part <= layout.partCount; ++part) {
        if (stored.contains(part))
            continue;
        TaskSpec spec;
        spec.type = SyncTypes::UploadPart;
        spec.dedupKey = profileKeyPrefix(file.profile) + QStringLiteral("part:") + file.relative +
                        QLatin1Char('#') + QString::number(part);
        spec.label = file.relative + QStringLiteral(" part ") + QString::number(part);
        spec.bytesTotal = layout.length(part, now.size);
        QJsonObject payload = ctx.payload();
        payload[QStringLiteral("uploadId")] = uploadId;
        payload[QStringLiteral("part")] = part;
        payload[QStringLiteral("offset")] = layout.offset(part);
        payload[QStringLiteral("length")] = spec.bytesTotal;
        payload[QStringLiteral("size")] = now.size;
        payload[QStringLiteral("mtime")] = now.mtimeMs;
        spec.payload = payload;
        batch.append(spec);
        if (batch.size() >= kPartBatch || part == layout.partCount) {
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
    if (ctx.state().contains(kTry)) // sending the file again when it was interrupted
        co_return co_await sendAgain(ctx, *target, ctx.state().value(kTry).toInt());
    const QString uploadId = ctx.state().value(kUploadId);
    if (uploadId.isEmpty()) {
        if (!stampOf(file.path).exists) { // the file vanished before the upload began
            counters->filesDone++;
            co_return TaskResult{};
        }
        co_return co_await sendAgain(ctx, *target, 1); // it no longer needs parts
    }
    s3::S3Client &client = threadClient(target->config);
    const auto upload = uploadOf(*target, file.key, uploadId);
    const FileStamp planned = heldStamp(ctx);
    // Changed now, or at a part's read (even if it looks the same again, e.g. restored).
    bool changed = stampOf(file.path) != planned;
    PartFailures failures;
    if (!changed && ctx.task().childrenFailed > 0) {
        failures = co_await partFailures(ctx, file);
        changed = failures.fileChanged;
        if (!changed) { // the clean-up hook aborts the upload
            counters->filesFailed++;
            co_return std::unexpected(failures.error);
        }
    }
    if (changed) {
        // The parts hold (some of) another version: abort them, send the file as it is now.
        qCInfo(lcSync) << file.relative << "changed during its upload: aborted, sent again";
        auto aborted = co_await abortUpload(store, client, upload, ctx.token());
        if (!aborted)
            co_return aborted;
        (void)ctx.state().remove(kUploadId);
        co_return co_await sendAgain(ctx, *target, 2);
    }
    const PartLayout layout = partLayout(planned.size, heldPartSize(ctx));
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
    if (parts.size() != layout.partCount)
        co_return std::unexpected(TaskError::permanent(
            SyncServices::tr("Upload of `%1`: the server holds %2 of %3 parts. Sync again to "
                             "upload it anew.")
                .arg(file.relative)
                .arg(parts.size())
                .arg(layout.partCount)));
    auto completed = co_await client.completeMultipartUpload(upload, parts, ctx.token());
    if (!completed)
        co_return std::unexpected(toTaskError(completed.error()));
    (void)journal(store, file, planned, completed->etag);
    (void)store.forgetUpload(uploadId);
    counters->filesDone++;
    co_return TaskResult{};
}

QCoro::Task<TaskResult> UploadMultipartExecutor::sendAgain(TaskContext &ctx, SyncTarget target,
                                                           int firstTry)
{
    const FileTask file = fileTask(ctx.payload());
    auto &store = m_services->store();
    auto counters = m_services->counters(file.profile);
    s3::S3Client &client = threadClient(target.config);
    // At function scope: GCC 12 and nested locals across co_await.
    QHash<int, QString> stored;
    QList<s3::CompletedPart> parts;
    s3::MultipartUpload upload;
    for (int attempt = std::max(firstTry, 1); attempt <= kMaxUploadTries; ++attempt) {
        // Kept first: interrupted, the task goes on with this try (and its upload, if any).
        if (auto held = setState(ctx, kTry, QString::number(attempt)); !held)
            co_return std::unexpected(TaskError::retryable(held.error().message));
        const FileStamp now = stampOf(file.path);
        QString uploadId = ctx.state().value(kUploadId);
        upload = uploadOf(target, file.key, uploadId);
        if (!uploadId.isEmpty() && heldStamp(ctx) != now) {
            // This try's upload from before an interruption, of content that changed since.
            auto aborted = co_await abortUpload(store, client, upload, ctx.token());
            if (!aborted)
                co_return aborted;
            (void)ctx.state().remove(kUploadId);
            uploadId.clear();
        }
        if (!now.exists) {
            counters->filesDone++;
            co_return TaskResult{}; // deleted meanwhile: nothing to upload
        }
        auto plan = uploadPlan(target.profile, now.size);
        if (!plan) {
            counters->filesFailed++;
            co_return std::unexpected(TaskError::permanent(plan.error()));
        }
        if (attempt > 1 && uploadId.isEmpty())
            counters->bytesQueued += now.size;

        if (!plan->multipart && uploadId.isEmpty()) {
            auto put =
                co_await client.putObject(target.bucket(), file.key, file.path, ctx.token(),
                                          s3::PutOptions(), progressTo(ctx, counters, 0, now.size));
            if (!put && (put.error().isCancelled() || stampOf(file.path) == now))
                co_return std::unexpected(toTaskError(put.error()));
            if (put && stampOf(file.path) == now) {
                (void)journal(store, file, now, put->etag);
                counters->filesDone++;
                co_return TaskResult{};
            }
            qCInfo(lcSync) << file.relative << "changed during its upload; sending it again";
            continue;
        }

        stored.clear();
        qint64 partSize = heldPartSize(ctx);
        if (uploadId.isEmpty()) {
            partSize = plan->partSize;
            auto created = co_await createUpload(ctx, store, client, target, file, now, partSize);
            if (!created)
                co_return std::unexpected(created.error());
            uploadId = *created;
            upload = uploadOf(target, file.key, uploadId);
            if (ctx.isCancelled())
                co_return ctx.checkCancelled(); // the clean-up hook aborts the upload
        } else {
            // Resumed after an interruption: the parts the server holds are not sent again.
            auto listed = co_await client.listAllParts(upload, ctx.token());
            if (!listed)
                co_return std::unexpected(toTaskError(listed.error()));
            for (const auto &part : *listed)
                stored.insert(part.partNumber, part.etag);
        }

        // The parts one after the other, the file's stamp checked around each read.
        const PartLayout layout = partLayout(now.size, partSize);
        parts.clear();
        bool changed = false;
        qint64 base = 0;
        for (int part = 1; part <= layout.partCount && !changed; ++part) {
            const qint64 length = layout.length(part, now.size);
            if (stored.contains(part)) {
                parts.append(s3::CompletedPart{part, stored.value(part)});
                base += length;
                continue;
            }
            changed = stampOf(file.path) != now;
            if (changed)
                break;
            auto sent =
                co_await client.uploadPart(upload, part, file.path, layout.offset(part), length,
                                           ctx.token(), progressTo(ctx, counters, base, now.size));
            if (!sent && sent.error().isCancelled())
                co_return std::unexpected(TaskError::cancelled());
            changed = stampOf(file.path) != now;
            if (!changed && !sent)
                co_return std::unexpected(toTaskError(sent.error())); // retried: resumes
            if (!changed)
                parts.append(sent->completed());
            base += length;
        }
        if (!changed) {
            auto completed = co_await client.completeMultipartUpload(upload, parts, ctx.token());
            if (!completed)
                co_return std::unexpected(toTaskError(completed.error()));
            (void)journal(store, file, now, completed->etag);
            (void)store.forgetUpload(uploadId);
            counters->filesDone++;
            co_return TaskResult{};
        }
        qCInfo(lcSync) << file.relative << "changed during its upload: aborted, sent again";
        auto aborted = co_await abortUpload(store, client, upload, ctx.token());
        if (!aborted)
            co_return aborted;
        (void)ctx.state().remove(kUploadId);
    }
    counters->filesFailed++;
    co_return std::unexpected(keptChangingError(file.relative, kMaxUploadTries));
}

QCoro::Task<UploadMultipartExecutor::PartFailures>
UploadMultipartExecutor::partFailures(TaskContext &ctx, FileTask file)
{
    // The parent tolerates failed parts (to start over when the file changed): their reasons
    // are in history.
    PartFailures failures;
    const int failed = ctx.task().childrenFailed;
    QString reason;
    if (Scheduler *scheduler = m_services->scheduler()) {
        HistoryQuery query;
        query.status = HistoryStatus::Failed;
        query.type = SyncTypes::UploadPart;
        query.dedupKeyPrefix = profileKeyPrefix(file.profile) + QStringLiteral("part:") +
                               file.relative + QLatin1Char('#');
        query.limit = std::min(failed + 100, 10'100);
        const auto rows = co_await scheduler->history(query);
        for (const auto &row : rows.value_or(QList<HistoryRecord>())) {
            if (row.parentId != ctx.id())
                continue;
            const int part = row.dedupKey.mid(query.dedupKeyPrefix.size()).toInt();
            if (row.error == partChangedError(file.relative, part).message)
                failures.fileChanged = true;
            else if (reason.isEmpty())
                reason = row.label + QStringLiteral(": ") + row.error;
        }
    }
    if (reason.isEmpty())
        reason = SyncServices::tr("%n part(s) failed; see `ferry history --status failed`.",
                                  nullptr, failed);
    failures.error = TaskError::permanent(
        SyncServices::tr("`%1` could not be uploaded: %2").arg(file.relative, reason));
    co_return failures;
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
    const FileTask file = fileTask(ctx.payload());
    auto target = m_services->target(file.profile);
    if (!target)
        co_return std::unexpected(TaskError::permanent(target.error()));
    // The hook's token is fresh: it only fires on the hook's own timeout.
    co_return co_await abortLostCreate(ctx, m_services->store(), threadClient(target->config),
                                       *target, file, ctx.token());
}

} // namespace ferry
