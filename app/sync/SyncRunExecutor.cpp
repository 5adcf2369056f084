#include "SyncExecutors.h"

#include "SyncLogging.h"
#include "app/s3/PartSizePolicy.h"
#include "app/s3/S3Client.h"

#include <QDir>
#include <QDirIterator>
#include <QFileInfo>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ferry {

namespace {

constexpr int kBatch = 500;
/// Skipped files named in the run's error; the rest are counted.
constexpr int kNamedProblems = 20;

/// What the scan found at a listed path.
struct Entry {
    enum class Kind { File, Folder, Gone, Problem };
    Kind kind = Kind::File;
    QString problem;    ///< Why it cannot be uploaded (Kind::Problem).
    bool blind = false; ///< A folder whose files the scan cannot see.
};

Entry problemEntry(QString why, bool blind = false)
{
    return Entry{Entry::Kind::Problem, std::move(why), blind};
}

/// Tells regular files from folders (walked by the iterator itself) and from what cannot be
/// uploaded: special files, links that lead nowhere or to folders, unreadable folders.
Entry classify(const QString &path)
{
    const QByteArray encoded = QFile::encodeName(path);
    struct stat linkInfo {};
    if (::lstat(encoded.constData(), &linkInfo) != 0)
        return Entry{Entry::Kind::Gone, {}}; // vanished since it was listed
    struct stat target {};
    if (::stat(encoded.constData(), &target) != 0)
        return problemEntry(SyncServices::tr("it is a symbolic link that leads nowhere (a loop "
                                             "or a missing target): fix or remove the link, or "
                                             "exclude it"));
    if (S_ISDIR(target.st_mode) && S_ISLNK(linkInfo.st_mode))
        return problemEntry(SyncServices::tr("it is a link to a folder, which Ferry does not "
                                             "follow (a loop would never end): exclude it, or "
                                             "replace the link with the folder"),
                            true);
    if (S_ISDIR(target.st_mode)) {
        if (::access(encoded.constData(), R_OK | X_OK) != 0)
            return problemEntry(SyncServices::tr("the folder cannot be read by this user, so "
                                                 "its files were not seen: fix its permissions "
                                                 "(e.g. chmod u+rx) or exclude it"),
                                true);
        return Entry{Entry::Kind::Folder, {}};
    }
    if (S_ISREG(target.st_mode))
        return Entry{};
    const QString kind = S_ISFIFO(target.st_mode)   ? SyncServices::tr("a FIFO")
                         : S_ISSOCK(target.st_mode) ? SyncServices::tr("a socket")
                                                    : SyncServices::tr("a device");
    return problemEntry(SyncServices::tr("it is %1, not a regular file: Ferry uploads regular "
                                         "files only; exclude it with --exclude")
                            .arg(kind));
}

/// Entries of `folder` whose names are not valid UTF-8: QDirIterator leaves them out, so the
/// scan looks for them itself, to name them rather than skip them silently.
QStringList undecodableNames(const QString &folder)
{
    QStringList names;
    DIR *dir = ::opendir(QFile::encodeName(folder).constData());
    if (!dir)
        return names;
    while (const dirent *entry = ::readdir(dir)) {
        const QByteArrayView name(entry->d_name);
        if (!QUtf8StringView(name).isValidUtf8())
            names.append(QString::fromUtf8(name));
    }
    ::closedir(dir);
    return names;
}

bool isBelow(const QString &key, const QStringList &folders)
{
    for (const auto &folder : folders)
        if (key.startsWith(folder))
            return true;
    return false;
}

/// What the scan skipped, for the run's outcome.
struct ScanProblems {
    QStringList named;
    qint64 count = 0;

    void add(const QString &relative, const QString &why)
    {
        if (named.size() < kNamedProblems)
            named.append(QStringLiteral("`%1`: %2").arg(relative, why));
        ++count;
    }
};

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
    if (::access(QFile::encodeName(path).constData(), R_OK) != 0 && QFileInfo::exists(path)) {
        *problem = SyncServices::tr("it cannot be read by this user: fix its permissions (e.g. "
                                    "chmod u+r) or exclude it");
        return std::nullopt;
    }
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
    // A part that finds the file changed fails; the upload then starts over (finalize).
    if (plan->multipart)
        spec.childPolicy = ChildPolicy::TolerateFailed;
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
                                    const SyncTarget &target, ScanProblems &problems)
{
    const QString &name = target.profile.name;
    const QDir root(target.profile.localFolder);
    QList<TaskSpec> batch;
    QStringList seen;
    QStringList blindFolders; // their objects are never deleted by a mirroring run
    // System: FIFOs, sockets, devices and dangling links are listed too, and Dirs, to be
    // named when skipped. Links to folders are not followed: a link loop cannot trap the scan.
    QDirIterator it(root.absolutePath(),
                    QDir::Files | QDir::Dirs | QDir::System | QDir::Hidden | QDir::NoDotAndDotDot,
                    QDirIterator::Subdirectories);
    const QString badName = SyncServices::tr("its name is not valid UTF-8, so it cannot be an S3 "
                                             "key: rename it (e.g. with `convmv -f latin1 -t "
                                             "utf-8`)");
    for (const auto &undecodable : undecodableNames(root.absolutePath()))
        if (!target.profile.isExcluded(undecodable))
            problems.add(undecodable, badName);
    while (it.hasNext()) {
        const QString path = it.next();
        const QString relative = root.relativeFilePath(path);
        if (target.profile.isExcluded(relative))
            continue;
        if (ctx.isCancelled())
            return std::unexpected(TaskError::cancelled());
        const Entry entry = classify(path);
        if (entry.kind == Entry::Kind::Folder) {
            for (const auto &undecodable : undecodableNames(path)) {
                const QString inside = relative + QLatin1Char('/') + undecodable;
                if (!target.profile.isExcluded(inside))
                    problems.add(inside, badName);
            }
        }
        if (entry.kind == Entry::Kind::Folder || entry.kind == Entry::Kind::Gone)
            continue;
        // Seen even when it cannot be uploaded: mirrored deletions must not remove its object.
        seen.append(relative);
        if (entry.blind)
            blindFolders.append(relative + QLatin1Char('/'));
        QString problem = entry.problem;
        if (entry.kind == Entry::Kind::File) {
            if (auto spec = planFile(services, target, path, relative, &problem))
                batch.append(std::move(*spec));
        }
        if (!problem.isEmpty()) {
            qCWarning(lcSync) << "skipping" << relative << ":" << problem;
            services.counters(name)->filesFailed++;
            problems.add(relative, problem);
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
            if (target.profile.isExcluded(entry.key) || isBelow(entry.key, blindFolders))
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
    ScanProblems problems;
    auto scanned = scan(ctx, *m_services, *target, problems);
    if (!scanned)
        co_return scanned;
    if (problems.count > 0) {
        // Kept durably: finalize names them once the uploads are done.
        QString text = problems.named.join(QStringLiteral("; "));
        if (problems.count > problems.named.size())
            text += SyncServices::tr("; and %1 more (see the log)")
                        .arg(problems.count - problems.named.size());
        if (auto ok = ctx.state().set(QStringLiteral("skipped"), text); !ok)
            co_return std::unexpected(TaskError::retryable(ok.error().message));
        if (auto ok =
                ctx.state().set(QStringLiteral("skipped_count"), QString::number(problems.count));
            !ok)
            co_return std::unexpected(TaskError::retryable(ok.error().message));
    }
    m_services->counters(name)->scanned = true;
    co_return TaskResult{};
}

QCoro::Task<TaskResult> SyncRunExecutor::finalize(TaskContext &ctx)
{
    const QString name = ctx.payload().value(QStringLiteral("profile")).toString();
    m_services->counters(name)->scanned = true;
    QStringList reasons;
    if (ctx.task().childrenFailed > 0)
        reasons.append(SyncServices::tr("%n file(s) of profile `%1` could not be synced; see "
                                        "`ferry history --profile %1 --status failed` for each "
                                        "reason.",
                                        nullptr, ctx.task().childrenFailed)
                           .arg(name));
    if (const QString skipped = ctx.state().value(QStringLiteral("skipped")); !skipped.isEmpty())
        reasons.append(SyncServices::tr("%1 file(s) of profile `%2` were skipped: %3.")
                           .arg(ctx.state().value(QStringLiteral("skipped_count")), name, skipped));
    if (!reasons.isEmpty())
        co_return std::unexpected(TaskError::permanent(reasons.join(QLatin1Char(' '))));
    co_return TaskResult{};
}

} // namespace ferry
