#include "TaskRun.h"

#include "EngineLink.h"
#include "SchedulerLog.h"

#include <QTimer>

namespace ferry {

namespace {

QCoro::Task<TaskResult> startStep(RunPhase phase, TaskExecutor &executor, TaskContext &ctx)
{
    switch (phase) {
    case RunPhase::Execute:
        return executor.execute(ctx);
    case RunPhase::Finalize:
        return executor.finalize(ctx);
    case RunPhase::Hook:
        break;
    }
    return executor.onCancel(ctx);
}

} // namespace

TaskRun::TaskRun(Setup setup, std::shared_ptr<EngineLink> link)
    : m_setup(std::move(setup)), m_link(std::move(link))
{
    setAutoDelete(true);
}

void TaskRun::run()
{
    QCoro::waitFor(perform());
}

QCoro::Task<void> TaskRun::perform()
{
    RunOutcome outcome{m_setup.record.id, m_setup.phase, m_setup.serial, {}, false};
    const bool isHook = m_setup.phase == RunPhase::Hook;

    // A task cancelled between dispatch and this worker picking it up never starts.
    if (!isHook && m_setup.token.isCancelled()) {
        outcome.result = std::unexpected(TaskError::cancelled());
        outcome.began = false;
        m_link->reportFinished(std::move(outcome));
        co_return;
    }

    TaskContext ctx(m_setup.record, TaskState(m_setup.record.id, m_setup.state, m_link),
                    m_setup.token, m_setup.progress, m_link);
    bool reported = false;
    std::unique_ptr<QTimer> deadline;
    if (isHook && m_setup.hookTimeoutMs > 0) {
        deadline = std::make_unique<QTimer>();
        deadline->setSingleShot(true);
        QObject::connect(deadline.get(), &QTimer::timeout, [&] {
            qCWarning(lcScheduler) << "clean-up hook of task" << m_setup.record.id
                                   << "timed out after" << m_setup.hookTimeoutMs << "ms";
            m_setup.hookSource->cancel(StopReason::Timeout);
            RunOutcome late{outcome.id, outcome.phase, outcome.serial, {}, true};
            m_link->reportFinished(std::move(late));
            reported = true;
        });
        deadline->start(static_cast<int>(std::min<qint64>(m_setup.hookTimeoutMs, INT_MAX)));
    }

    try {
        outcome.result = co_await startStep(m_setup.phase, *m_setup.executor, ctx);
    } catch (const std::exception &e) {
        outcome.result = std::unexpected(TaskError::permanent(
            QStringLiteral("executor threw: %1").arg(QString::fromLocal8Bit(e.what()))));
    } catch (...) {
        outcome.result = std::unexpected(TaskError::permanent(QStringLiteral("executor threw")));
    }
    deadline.reset();
    if (!reported)
        m_link->reportFinished(std::move(outcome));
}

} // namespace ferry
