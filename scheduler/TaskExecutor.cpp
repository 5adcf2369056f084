#include "TaskExecutor.h"

namespace ferry {

QCoro::Task<TaskResult> TaskExecutor::finalize(TaskContext &)
{
    co_return TaskResult{};
}

QCoro::Task<TaskResult> TaskExecutor::onCancel(TaskContext &)
{
    co_return TaskResult{};
}

} // namespace ferry
