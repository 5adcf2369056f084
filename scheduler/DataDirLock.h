#pragma once

#include "SchedulerError.h"

#include <QLockFile>
#include <QString>

#include <memory>

namespace ferry {

/**
 * Keeps one process per data directory: a QLockFile beside the database. A second
 * process gets an error naming the owner's PID and host. A lock left by a crashed
 * process (its PID is gone) is taken over.
 */
class DataDirLock {
public:
    explicit DataDirLock(QString lockPath);
    ~DataDirLock();

    [[nodiscard]] SchedulerResult<void> acquire();
    void release();
    [[nodiscard]] bool isLocked() const;

private:
    QString m_path;
    std::unique_ptr<QLockFile> m_lock;
};

} // namespace ferry
