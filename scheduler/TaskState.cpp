#include "TaskState.h"

#include "TaskHost.h"

namespace ferry {

TaskState::TaskState(TaskId task, QHash<QString, QString> values, std::shared_ptr<TaskHost> host)
    : m_task(task), m_values(std::move(values)), m_host(std::move(host))
{
}

QString TaskState::value(const QString &key, const QString &fallback) const
{
    return m_values.value(key, fallback);
}

SchedulerResult<void> TaskState::set(const QString &key, const QString &value)
{
    if (key.isEmpty())
        return schedulerError(SchedulerError::Code::InvalidArgument,
                              QStringLiteral("task state keys must not be empty"));
    if (m_host) {
        if (auto written = m_host->writeState(m_task, key, value); !written)
            return written;
    }
    m_values.insert(key, value);
    return {};
}

SchedulerResult<void> TaskState::remove(const QString &key)
{
    if (m_host) {
        if (auto written = m_host->writeState(m_task, key, std::nullopt); !written)
            return written;
    }
    m_values.remove(key);
    return {};
}

} // namespace ferry
