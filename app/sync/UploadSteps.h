#pragma once

// Steps the upload executors share (internal to app/sync): the file a task uploads, its
// state writes, progress, the multipart create that never loses an upload id, aborts that
// accept an upload already gone, and the messages for a file that changed under an upload.

#include "SyncExecutors.h"
#include "app/s3/PartSizePolicy.h"
#include "app/s3/S3Client.h"

namespace ferry {

/// How many times one run sends a file that changes while it is uploaded before it gives up.
inline constexpr int kMaxUploadTries = 3;

/// The file of an upload task, from its payload.
struct FileTask {
    QString profile;
    QString relative;
    QString path;
    QString key;
    FileStamp stamp; ///< As planned (scan time, or the upload's start for parts).
};

[[nodiscard]] FileTask fileTask(const QJsonObject &payload);

[[nodiscard]] s3::MultipartUpload uploadOf(const SyncTarget &target, const QString &key,
                                           const QString &id);

/// A part of an upload that read a file which changed meanwhile.
[[nodiscard]] TaskError partChangedError(const QString &relative, int part);
/// The file changed during every one of `tries` uploads of this run.
[[nodiscard]] TaskError keptChangingError(const QString &relative, int tries);

/// Reports progress of one request to the task (offset by `base`) and to the counters.
[[nodiscard]] s3::ProgressCallback
progressTo(TaskContext &ctx, std::shared_ptr<SyncCounters> counters, qint64 base, qint64 total);

/// TaskState::set, tried again a few times: the write can meet a busy database.
SchedulerResult<void> setState(TaskContext &ctx, const QString &key, const QString &value);

/// The part size and count of a multipart upload of `size` bytes (at least one part).
struct PartLayout {
    qint64 partSize = 0;
    int partCount = 1;
    [[nodiscard]] qint64 offset(int part) const { return (part - 1) * partSize; }
    [[nodiscard]] qint64 length(int part, qint64 size) const
    {
        return std::min(partSize, size - offset(part));
    }
};
[[nodiscard]] PartLayout partLayout(qint64 size, qint64 partSize);

/// How the profile uploads a file of `size` bytes (PutObject or parts of which size).
[[nodiscard]] std::expected<s3::UploadPlan, QString> uploadPlan(const Profile &profile,
                                                                qint64 size);

/**
 * CreateMultipartUpload for `file` as it is at `stamp`, never losing the upload's id: an
 * intent is recorded first (should the answer be lost, the sweep and the clean-up hook know
 * the upload is Ferry's), then the id, the stamp and `partSize` go to the task's state
 * (`upload_id`, `size`, `mtime`, `part_size`). The request itself is not cancellable: a
 * cancel that dropped it after the server made the upload would lose the id; once the id is
 * held, a cancel's clean-up aborts the upload.
 */
QCoro::Task<std::expected<QString, TaskError>> createUpload(TaskContext &ctx, AppStore &store,
                                                            s3::S3Client &client, SyncTarget target,
                                                            FileTask file, FileStamp stamp,
                                                            qint64 partSize);

/**
 * When the task's state holds an intent (a create whose answer never came: a crash, a lost
 * answer), aborts the uploads under `file`'s key that the create may have made, and the task
 * lets go of the intent. The app's table keeps it for the sweeps until the upload was found or
 * kLostCreateWindow has passed: a create still in the server's hands can make its upload after
 * this looked. Nothing to do without one. Before a new create (else the lost one is left behind
 * until a later sweep) and in the clean-up hook.
 */
QCoro::Task<TaskResult> abortLostCreate(TaskContext &ctx, AppStore &store, s3::S3Client &client,
                                        SyncTarget target, FileTask file, CancellationToken token);

/// AbortMultipartUpload where an upload already gone counts as aborted; forgets its id.
QCoro::Task<TaskResult> abortUpload(AppStore &store, s3::S3Client &client,
                                    s3::MultipartUpload upload, CancellationToken token);

/// Writes the journal entry of what the server now holds for `file`: `stamp`'s content.
[[nodiscard]] TaskResult journal(AppStore &store, const FileTask &file, const FileStamp &stamp,
                                 const QString &etag);

} // namespace ferry
