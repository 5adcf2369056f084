#include "TaskContext.h"

#include "TaskHost.h"

namespace ferry {

TaskContext::TaskContext(TaskRecord record, TaskState state, CancellationToken token,
                         std::shared_ptr<TaskProgress> progress, std::shared_ptr<TaskHost> host)
    : m_record(std::move(record)), m_state(std::move(state)), m_token(std::move(token)),
      m_progress(progress ? std::move(progress) : std::make_shared<TaskProgress>()),
      m_host(std::move(host))
{
}

TaskResult TaskContext::checkCancelled() const
{
    if (m_token.isCancelled())
        return std::unexpected(TaskError::cancelled());
    return {};
}

SchedulerResult<TaskId> TaskContext::spawn(TaskSpec child)
{
    auto ids = spawnBatch({std::move(child)});
    if (!ids)
        return std::unexpected(ids.error());
    return ids->value(0);
}

SchedulerResult<QList<TaskId>> TaskContext::spawnBatch(QList<TaskSpec> children)
{
    if (!m_host)
        return schedulerError(SchedulerError::Code::NotOpen,
                              QStringLiteral("this context has no scheduler to spawn children in"));
    for (auto &child : children) {
        child.parentId = m_record.id;
        if (child.group.isEmpty())
            child.group = m_record.group;
    }
    return m_host->spawnChildren(m_record.id, std::move(children));
}

} // namespace ferry
