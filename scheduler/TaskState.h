#pragma once

#include "SchedulerError.h"
#include "TaskTypes.h"

#include <QHash>
#include <QString>

#include <memory>

namespace ferry {

class TaskHost;

/**
 * A task's persistent string-keyed state, e.g. the `upload_id` of a multipart upload.
 * Reads are local; each write goes through to SQLite before it returns, so clean-up hooks
 * see it even after a crash. Belongs to one execution; not shared between threads.
 */
class TaskState {
public:
    TaskState(TaskId task, QHash<QString, QString> values, std::shared_ptr<TaskHost> host);

    [[nodiscard]] QString value(const QString &key, const QString &fallback = {}) const;
    [[nodiscard]] bool contains(const QString &key) const { return m_values.contains(key); }
    [[nodiscard]] const QHash<QString, QString> &values() const { return m_values; }

    /// Stores `value` under `key`, durably.
    SchedulerResult<void> set(const QString &key, const QString &value);
    /// Removes `key`, durably.
    SchedulerResult<void> remove(const QString &key);

private:
    TaskId m_task;
    QHash<QString, QString> m_values;
    std::shared_ptr<TaskHost> m_host;
};

} // namespace ferry
