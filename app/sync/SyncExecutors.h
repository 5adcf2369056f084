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

class UploadMultipartExecutor : public SyncExecutorBase {
public:
    using SyncExecutorBase::SyncExecutorBase;
    QCoro::Task<TaskResult> execute(TaskContext &ctx) override;
    bool hasFinalize() const override { return true; }
    QCoro::Task<TaskResult> finalize(TaskContext &ctx) override;
    bool hasCancelHook() const override { return true; }
    QCoro::Task<TaskResult> onCancel(TaskContext &ctx) override;

private:
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
