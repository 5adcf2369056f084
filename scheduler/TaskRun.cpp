#include "TaskRun.h"

#include "EngineLink.h"
#include "SchedulerLog.h"

#include <QCoro/QCoroTask>
#include <QTimer>

namespace ferry {

TaskRun::TaskRun(Setup setup, std::shared_ptr<EngineLink> link)
    : m_setup(std::move(setup)), m_link(std::move(link))
{
    setAutoDelete(true);
}

void TaskRun::run()
{
    RunOutcome outcome{m_setup.record.id, m_setup.phase, m_setup.serial, {}, false};
    const bool isHook = m_setup.phase == RunPhase::Hook;

    // A task cancelled between dispatch and this worker picking it up never starts.
    if (!isHook && m_setup.token.isCancelled()) {
        outcome.result = std::unexpected(TaskError::cancelled());
        outcome.began = false;
        m_link->reportFinished(std::move(outcome));
        return;
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
        switch (m_setup.phase) {
        case RunPhase::Execute:
            outcome.result = QCoro::waitFor(m_setup.executor->execute(ctx));
            break;
        case RunPhase::Finalize:
            outcome.result = QCoro::waitFor(m_setup.executor->finalize(ctx));
            break;
        case RunPhase::Hook:
            outcome.result = QCoro::waitFor(m_setup.executor->onCancel(ctx));
            break;
        }
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
