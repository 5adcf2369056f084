#include "DataDirLock.h"

#include <QDir>
#include <QFileInfo>

namespace ferry {

DataDirLock::DataDirLock(QString lockPath) : m_path(std::move(lockPath)) {}

DataDirLock::~DataDirLock()
{
    release();
}

SchedulerResult<void> DataDirLock::acquire()
{
    const QString dir = QFileInfo(m_path).absolutePath();
    if (!QDir().mkpath(dir))
        return schedulerError(SchedulerError::Code::Storage,
                              QStringLiteral("cannot create data directory %1: check its parent's "
                                             "permissions or choose another with --data-dir")
                                  .arg(dir));
    m_lock = std::make_unique<QLockFile>(m_path);
    m_lock->setStaleLockTime(0); // a live owner holds it however long it runs
    if (m_lock->tryLock(0))
        return {};
    if (m_lock->error() == QLockFile::LockFailedError) {
        qint64 pid = 0;
        QString host, app;
        m_lock->getLockInfo(&pid, &host, &app);
        m_lock.reset();
        return schedulerError(
            SchedulerError::Code::Locked,
            QStringLiteral("data directory %1 is in use by %2 (PID %3 on %4): stop that process "
                           "or choose another directory with --data-dir")
                .arg(dir, app.isEmpty() ? QStringLiteral("another process") : app)
                .arg(pid)
                .arg(host));
    }
    const auto error = m_lock->error();
    m_lock.reset();
    return schedulerError(SchedulerError::Code::Storage,
                          QStringLiteral("cannot create lock file %1 (%2): check the directory's "
                                         "permissions")
                              .arg(m_path, error == QLockFile::PermissionError
                                               ? QStringLiteral("permission denied")
                                               : QStringLiteral("unknown error")));
}

void DataDirLock::release()
{
    if (m_lock)
        m_lock->unlock();
    m_lock.reset();
}

bool DataDirLock::isLocked() const
{
    return m_lock && m_lock->isLocked();
}

} // namespace ferry
