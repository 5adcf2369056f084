#pragma once

#include "TaskExecutor.h"

#include <functional>

namespace ferry {

/**
 * A TaskExecutor assembled from callables, for small task types and tests:
 * `FunctionExecutor([](TaskContext &ctx) -> QCoro::Task<TaskResult> { co_return {}; })`.
 * The callables must be safe to call from several worker threads at once.
 */
class FunctionExecutor : public TaskExecutor {
public:
    using Step = std::function<QCoro::Task<TaskResult>(TaskContext &)>;

    explicit FunctionExecutor(Step execute, Step finalize = {}, Step onCancel = {})
        : m_execute(std::move(execute)), m_finalize(std::move(finalize)),
          m_onCancel(std::move(onCancel))
    {
    }

    QCoro::Task<TaskResult> execute(TaskContext &ctx) override { return m_execute(ctx); }
    bool hasFinalize() const override { return bool(m_finalize); }
    QCoro::Task<TaskResult> finalize(TaskContext &ctx) override { return m_finalize(ctx); }
    bool hasCancelHook() const override { return bool(m_onCancel); }
    QCoro::Task<TaskResult> onCancel(TaskContext &ctx) override { return m_onCancel(ctx); }

private:
    Step m_execute;
    Step m_finalize;
    Step m_onCancel;
};

} // namespace ferry
