#include "SyncExecutors.h"

#include "SyncLogging.h"
#include "UploadSteps.h"

namespace ferry {

// --- upload-object ------------------------------------------------------------------------

QCoro::Task<TaskResult> UploadObjectExecutor::execute(TaskContext &ctx)
{
    const FileTask file = fileTask(ctx.payload());
    auto target = m_services->target(file.profile);
    if (!target)
        co_return std::unexpected(TaskError::permanent(target.error()));
    auto counters = m_services->counters(file.profile);
    s3::S3Client &client = threadClient(target->config);
    for (int attempt = 1; attempt <= kMaxUploadTries; ++attempt) {
        const FileStamp before = stampOf(file.path);
        if (!before.exists) {
            counters->filesDone++;
            co_return TaskResult{}; // deleted since the scan: nothing to upload
        }
        if (attempt > 1)
            counters->bytesQueued += before.size;
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
        // The server holds what was read between the two stamps: `before`'s content.
        if (auto ok = journal(m_services->store(), file, before, put->etag); !ok)
            co_return ok;
        counters->filesDone++;
        co_return TaskResult{};
    }
    counters->filesFailed++;
    co_return std::unexpected(keptChangingError(file.relative, kMaxUploadTries));
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
    // A part of an upload whose file changed is not sent: the parent starts the upload again.
    if (stampOf(file.path) != file.stamp)
        co_return std::unexpected(partChangedError(file.relative, part));
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
        co_return std::unexpected(partChangedError(file.relative, part));
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
