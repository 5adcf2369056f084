#pragma once

#include "SyncServices.h"
#include "scheduler/TaskExecutor.h"

#include <memory>

namespace ferry {

/**
 * The sync engine's task types. A run for a profile is a tree in the endpoint's group:
 *
 *   sync-run             lists the bucket, scans the folder, compares with the journal and
 *   │                    spawns children in batches (streamed: the scan never holds all files)
 *   ├── upload-object    one PutObject; re-sent when the file changed during the upload
 *   ├── upload-multipart CreateMultipartUpload (state `upload_id`); finalize completes it from
 *   │   └── upload-part  the parts' ETags (state `etag`, reported in the journal's part table);
 *   │                    onCancel aborts it (idempotent, with the hook's fresh token)
 *   └── delete-object    when the profile mirrors deletions
 *
 * A file that changes while it is uploaded is sent again by the same run, from the start, at
 * most kMaxUploadTries (3) times in all; then its task fails naming the cause and the fix.
 * Nothing is ever stored half old, half new: the stamp (size, mtime) is compared before and
 * after the bytes are read, and the journal records the stamp of the content sent.
 *
 * Payloads carry the profile name and the file; credentials come from SyncServices.
 */
class SyncExecutorBase : public TaskExecutor {
public:
    explicit SyncExecutorBase(std::shared_ptr<SyncServices> services)
        : m_services(std::move(services))
    {
    }

protected:
    std::shared_ptr<SyncServices> m_services;
};

class SyncRunExecutor : public SyncExecutorBase {
public:
    using SyncExecutorBase::SyncExecutorBase;
    QCoro::Task<TaskResult> execute(TaskContext &ctx) override;
    bool hasFinalize() const override { return true; }
    QCoro::Task<TaskResult> finalize(TaskContext &ctx) override;
};

class UploadObjectExecutor : public SyncExecutorBase {
public:
    using SyncExecutorBase::SyncExecutorBase;
    QCoro::Task<TaskResult> execute(TaskContext &ctx) override;
};

struct FileTask;

/**
 * A large file: execute creates the upload and spawns its parts (the task tolerates failed
 * parts); finalize completes it. A part that finds the file changed (or, after a restart, a
 * `waiting` upload whose file changed) fails without sending; finalize then aborts the upload
 * and sends the file again itself (sendAgain). An upload resumed for the same file sends only
 * the parts the server lacks (ListParts).
 */
class UploadMultipartExecutor : public SyncExecutorBase {
public:
    using SyncExecutorBase::SyncExecutorBase;
    QCoro::Task<TaskResult> execute(TaskContext &ctx) override;
    bool hasFinalize() const override { return true; }
    QCoro::Task<TaskResult> finalize(TaskContext &ctx) override;
    bool hasCancelHook() const override { return true; }
    QCoro::Task<TaskResult> onCancel(TaskContext &ctx) override;

private:
    /**
     * Sends the file as it is now from the start, within this task (its parts one after the
     * other), beginning with try `firstTry` of kMaxUploadTries: a change during a try aborts
     * that try's upload and begins the next. The try and its upload are kept in the state, so
     * an interrupted finalize goes on where it was (ListParts), or starts over if the file
     * changed meanwhile. A file that shrank below the multipart threshold goes as one PUT.
     */
    QCoro::Task<TaskResult> sendAgain(TaskContext &ctx, SyncTarget target, int firstTry);
    /// What this upload's failed parts say (from history): whether one found the file
    /// changed, and otherwise the error naming the first part's reason.
    struct PartFailures {
        bool fileChanged = false;
        TaskError error;
    };
    QCoro::Task<PartFailures> partFailures(TaskContext &ctx, FileTask file);
    /// The clean-up when the create's answer never came: aborts the uploads under the key
    /// that the create may have made.
    QCoro::Task<TaskResult> abortIntended(TaskContext &ctx);
};

class UploadPartExecutor : public SyncExecutorBase {
public:
    using SyncExecutorBase::SyncExecutorBase;
    QCoro::Task<TaskResult> execute(TaskContext &ctx) override;
};

class DeleteObjectExecutor : public SyncExecutorBase {
public:
    using SyncExecutorBase::SyncExecutorBase;
    QCoro::Task<TaskResult> execute(TaskContext &ctx) override;
};

/// The orphan sweep as a task (retried with back-off while the endpoint is unreachable).
class SweepExecutor : public SyncExecutorBase {
public:
    using SyncExecutorBase::SyncExecutorBase;
    QCoro::Task<TaskResult> execute(TaskContext &ctx) override;
};

/// A file's size and modification time, to tell whether it changed.
struct FileStamp {
    bool exists = false;
    qint64 size = 0;
    qint64 mtimeMs = 0;
    bool operator==(const FileStamp &) const = default;
};
[[nodiscard]] FileStamp stampOf(const QString &path);

} // namespace ferry
