#include "EngineLink.h"

#include "SchedulerEngine.h"

#include <QSemaphore>

namespace ferry {

EngineLink::EngineLink(SchedulerEngine *engine) : m_engine(engine) {}

void EngineLink::close()
{
    QMutexLocker lock(&m_mutex);
    m_closed = true;
}

bool EngineLink::isClosed() const
{
    QMutexLocker lock(&m_mutex);
    return m_closed;
}

void EngineLink::reportFinished(RunOutcome outcome)
{
    QMutexLocker lock(&m_mutex);
    if (m_closed)
        return;
    m_outcomes.append(std::move(outcome));
    if (m_wakePosted)
        return;
    m_wakePosted = true;
    SchedulerEngine *engine = m_engine;
    QMetaObject::invokeMethod(
        engine, [engine] { engine->drainOutcomes(); }, Qt::QueuedConnection);
}

QList<RunOutcome> EngineLink::takeOutcomes()
{
    QMutexLocker lock(&m_mutex);
    m_wakePosted = false;
    return std::exchange(m_outcomes, {});
}

template <typename R>
std::optional<R> EngineLink::callBlocking(std::function<R(SchedulerEngine &)> call)
{
    auto done = std::make_shared<QSemaphore>(0);
    auto result = std::make_shared<std::optional<R>>();
    {
        QMutexLocker lock(&m_mutex);
        if (m_closed)
            return std::nullopt;
        SchedulerEngine *engine = m_engine;
        QMetaObject::invokeMethod(
            engine,
            [engine, call = std::move(call), done, result] {
                *result = call(*engine);
                done->release();
            },
            Qt::QueuedConnection);
    }
    // Wait in slices so a scheduler that shut down meanwhile does not hang this worker.
    while (!done->tryAcquire(1, 100)) {
        if (isClosed())
            return done->tryAcquire(1, 0) ? *result : std::nullopt;
    }
    return *result;
}

SchedulerResult<void> EngineLink::writeState(TaskId task, const QString &key,
                                             const std::optional<QString> &value)
{
    auto answer = callBlocking<SchedulerResult<void>>([task, key, value](SchedulerEngine &engine) {
        return engine.writeState(task, key, value);
    });
    if (!answer)
        return schedulerError(SchedulerError::Code::NotOpen,
                              QStringLiteral("the scheduler shut down before the state was saved"));
    return *answer;
}

SchedulerResult<QList<TaskId>> EngineLink::spawnChildren(TaskId parent, QList<TaskSpec> children)
{
    auto answer = callBlocking<SchedulerResult<QList<TaskId>>>(
        [parent, children = std::move(children)](SchedulerEngine &engine) mutable {
            return engine.spawnChildren(parent, std::move(children));
        });
    if (!answer)
        return schedulerError(
            SchedulerError::Code::NotOpen,
            QStringLiteral("the scheduler shut down before the children were added"));
    return *answer;
}

} // namespace ferry
