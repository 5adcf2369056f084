#include "SyncExecutors.h"

#include "SyncLogging.h"
#include "app/s3/PartSizePolicy.h"
#include "app/s3/S3Client.h"

#include <QDir>
#include <QDirIterator>
#include <QFileInfo>

namespace ferry {

namespace {

constexpr int kBatch = 500;

/// The child task for one local file, or nothing when it is unchanged since the journal.
std::optional<TaskSpec> planFile(SyncServices &services, const SyncTarget &target,
                                 const QString &path, const QString &relative, QString *problem)
{
    const FileStamp stamp = stampOf(path);
    const QString &name = target.profile.name;
    const auto journal = services.store().journalEntry(name, relative);
    const auto remote = services.store().remoteEntry(name, relative);
    if (journal && remote && journal->size == stamp.size && journal->mtimeMs == stamp.mtimeMs &&
        remote->etag == journal->etag)
        return std::nullopt;
    const QString key = target.objectKey(relative);
    if (auto valid = s3::validateObjectKey(key); !valid) {
        *problem = valid.error();
        return std::nullopt;
    }
    s3::PartSizeSettings settings;
    settings.multipartThreshold = target.profile.multipartThreshold;
    settings.partSize = target.profile.partSize;
    auto plan = s3::PartSizePolicy(settings).plan(stamp.size);
    if (!plan) {
        *problem = plan.error();
        return std::nullopt;
    }
    TaskSpec spec;
    spec.type = plan->multipart ? SyncTypes::UploadMultipart : SyncTypes::UploadObject;
    spec.dedupKey = profileKeyPrefix(name) + QStringLiteral("object:") + relative;
    spec.label = relative;
    spec.bytesTotal = stamp.size;
    spec.onDuplicate = DuplicateStrategy::Skip;
    QJsonObject payload;
    payload[QStringLiteral("profile")] = name;
    payload[QStringLiteral("relative")] = relative;
    payload[QStringLiteral("path")] = path;
    payload[QStringLiteral("key")] = key;
    payload[QStringLiteral("size")] = stamp.size;
    payload[QStringLiteral("mtime")] = stamp.mtimeMs;
    payload[QStringLiteral("partSize")] = plan->partSize;
    payload[QStringLiteral("partCount")] = plan->partCount;
    spec.payload = payload;
    return spec;
}

TaskSpec deleteSpec(const SyncTarget &target, const RemoteEntry &entry)
{
    TaskSpec spec;
    spec.type = SyncTypes::DeleteObject;
    spec.dedupKey = profileKeyPrefix(target.profile.name) + QStringLiteral("delete:") + entry.key;
    spec.label = entry.key;
    QJsonObject payload;
    payload[QStringLiteral("profile")] = target.profile.name;
    payload[QStringLiteral("relative")] = entry.key;
    payload[QStringLiteral("key")] = target.objectKey(entry.key);
    spec.payload = payload;
    return spec;
}

std::expected<void, TaskError> flush(TaskContext &ctx, SyncServices &services,
                                     const QString &profile, QList<TaskSpec> &batch,
                                     QStringList &seen)
{
    if (!seen.isEmpty()) {
        if (auto ok = services.store().markSeen(profile, seen); !ok)
            return std::unexpected(TaskError::permanent(ok.error()));
        seen.clear();
    }
    if (batch.isEmpty())
        return {};
    auto counters = services.counters(profile);
    for (const auto &spec : batch) {
        counters->filesQueued++;
        counters->bytesQueued += spec.bytesTotal;
    }
    auto spawned = ctx.spawnBatch(std::move(batch));
    batch = QList<TaskSpec>();
    if (!spawned)
        return std::unexpected(TaskError::retryable(spawned.error().message));
    return {};
}

/// Scans the folder and spawns uploads; streamed in batches of kBatch.
std::expected<void, TaskError> scan(TaskContext &ctx, SyncServices &services,
                                    const SyncTarget &target)
{
    const QString &name = target.profile.name;
    const QDir root(target.profile.localFolder);
    QList<TaskSpec> batch;
    QStringList seen;
    QDirIterator it(root.absolutePath(), QDir::Files | QDir::Hidden | QDir::NoDotAndDotDot,
                    QDirIterator::Subdirectories);
    while (it.hasNext()) {
        const QString path = it.next();
        const QString relative = root.relativeFilePath(path);
        if (target.profile.isExcluded(relative))
            continue;
        if (ctx.isCancelled())
            return std::unexpected(TaskError::cancelled());
        seen.append(relative);
        QString problem;
        if (auto spec = planFile(services, target, path, relative, &problem))
            batch.append(std::move(*spec));
        else if (!problem.isEmpty()) {
            qCWarning(lcSync) << "skipping" << relative << ":" << problem;
            services.counters(name)->filesFailed++;
        }
        if (batch.size() >= kBatch || seen.size() >= kBatch * 4) {
            if (auto ok = flush(ctx, services, name, batch, seen); !ok)
                return ok;
        }
    }
    if (auto ok = flush(ctx, services, name, batch, seen); !ok)
        return ok;
    if (!target.profile.mirrorDeletes)
        return {};
    QString after;
    for (;;) {
        auto unseen = services.store().unseenRemote(name, after, kBatch);
        if (!unseen)
            return std::unexpected(TaskError::permanent(unseen.error()));
        if (unseen->isEmpty())
            break;
        for (const auto &entry : *unseen) {
            if (target.profile.isExcluded(entry.key))
                continue;
            batch.append(deleteSpec(target, entry));
        }
        after = unseen->last().key;
        if (auto ok = flush(ctx, services, name, batch, seen); !ok)
            return ok;
    }
    return {};
}

std::expected<void, TaskError> checkFolder(const Profile &profile)
{
    const QFileInfo folder(profile.localFolder);
    if (!folder.isDir() || !folder.isReadable())
        return std::unexpected(TaskError::permanent(
            SyncServices::tr("The local folder `%1` of profile `%2` is missing or unreadable. "
                             "Restore it, or change the profile.")
                .arg(profile.localFolder, profile.name)));
    return {};
}

} // namespace

QCoro::Task<TaskResult> SyncRunExecutor::execute(TaskContext &ctx)
{
    const QString name = ctx.payload().value(QStringLiteral("profile")).toString();
    auto target = m_services->target(name);
    if (!target)
        co_return std::unexpected(TaskError::permanent(target.error()));
    if (auto ok = checkFolder(target->profile); !ok)
        co_return ok;
    auto &store = m_services->store();
    if (auto ok = store.clearRemote(name); !ok)
        co_return std::unexpected(TaskError::permanent(ok.error()));

    // The remote listing, page by page, into the app's table (never all in memory).
    s3::S3Client &client = threadClient(target->config);
    s3::ListObjectsRequest request;
    request.prefix = target->url.prefix();
    const int prefixLength = request.prefix.size();
    for (;;) {
        auto page = co_await client.listObjectsV2(target->bucket(), request, ctx.token());
        if (!page)
            co_return std::unexpected(toTaskError(page.error()));
        QList<RemoteEntry> entries;
        entries.reserve(page->objects.size());
        for (const auto &object : page->objects) {
            RemoteEntry entry;
            entry.key = object.key.mid(prefixLength);
            entry.size = object.size;
            entry.etag = object.etag;
            entries.append(entry);
        }
        if (auto ok = store.addRemote(name, entries); !ok)
            co_return std::unexpected(TaskError::permanent(ok.error()));
        if (!page->isTruncated || page->nextContinuationToken.isEmpty())
            break;
        request.continuationToken = page->nextContinuationToken;
    }
    if (ctx.isCancelled())
        co_return std::unexpected(TaskError::cancelled());
    auto scanned = scan(ctx, *m_services, *target);
    if (!scanned)
        co_return scanned;
    m_services->counters(name)->scanned = true;
    co_return TaskResult{};
}

QCoro::Task<TaskResult> SyncRunExecutor::finalize(TaskContext &ctx)
{
    const QString name = ctx.payload().value(QStringLiteral("profile")).toString();
    m_services->counters(name)->scanned = true;
    if (ctx.task().childrenFailed > 0)
        co_return std::unexpected(TaskError::permanent(
            SyncServices::tr("%n file(s) of profile `%1` could not be synced; see `ferry history "
                             "--profile %1 --status failed` for each reason.",
                             nullptr, ctx.task().childrenFailed)
                .arg(name)));
    co_return TaskResult{};
}

} // namespace ferry
