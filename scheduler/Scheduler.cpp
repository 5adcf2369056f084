#include "Scheduler.h"

#include "SchedulerEngine.h"

#include <QPromise>

namespace ferry {

namespace {
SchedulerError closedError()
{
    return {SchedulerError::Code::NotOpen, QStringLiteral("the scheduler has shut down")};
}
} // namespace

Scheduler::Scheduler(SchedulerOptions options, QObject *parent)
    : QObject(parent), m_engine(new SchedulerEngine(std::move(options)))
{
    m_thread.setObjectName(QStringLiteral("ferry-scheduler"));
    m_engine->moveToThread(&m_thread);
    // Direct: these signals are emitted on the scheduler thread; each receiver's own
    // connection decides how it gets them (queued to a UI, for instance).
    auto forward = [this](auto engineSignal, auto ownSignal) {
        connect(m_engine, engineSignal, this, ownSignal, Qt::DirectConnection);
    };
    // First, so that whoever hears storageFailed already finds the scheduler closed.
    connect(
        m_engine, &SchedulerEngine::storageFailed, this, [this] { m_open.store(false); },
        Qt::DirectConnection);
    forward(&SchedulerEngine::taskSubmitted, &Scheduler::taskSubmitted);
    forward(&SchedulerEngine::taskStarted, &Scheduler::taskStarted);
    forward(&SchedulerEngine::taskProgress, &Scheduler::taskProgress);
    forward(&SchedulerEngine::taskWaiting, &Scheduler::taskWaiting);
    forward(&SchedulerEngine::taskCompleted, &Scheduler::taskCompleted);
    forward(&SchedulerEngine::taskFailed, &Scheduler::taskFailed);
    forward(&SchedulerEngine::taskCancelled, &Scheduler::taskCancelled);
    forward(&SchedulerEngine::taskSuperseded, &Scheduler::taskSuperseded);
    forward(&SchedulerEngine::cancelledBatch, &Scheduler::cancelledBatch);
    forward(&SchedulerEngine::eventsBatch, &Scheduler::eventsBatch);
    forward(&SchedulerEngine::groupPaused, &Scheduler::groupPaused);
    forward(&SchedulerEngine::groupResumed, &Scheduler::groupResumed);
    forward(&SchedulerEngine::storageFailed, &Scheduler::storageFailed);
    m_thread.start();
}

Scheduler::~Scheduler()
{
    if (!m_closed.load())
        shutdown(5000).waitForFinished();
    m_thread.quit();
    m_thread.wait();
    delete m_engine;
}

template <typename T, typename Call> QFuture<T> Scheduler::post(Call call, T whenClosed)
{
    auto promise = std::make_shared<QPromise<T>>();
    QFuture<T> future = promise->future();
    promise->start();
    if (m_closed.load()) {
        promise->addResult(std::move(whenClosed));
        promise->finish();
        return future;
    }
    SchedulerEngine *engine = m_engine;
    QMetaObject::invokeMethod(
        engine,
        [engine, promise, call = std::move(call)]() mutable {
            promise->addResult(call(*engine));
            promise->finish();
        },
        Qt::QueuedConnection);
    return future;
}

void Scheduler::registerExecutor(const QString &type, std::shared_ptr<TaskExecutor> executor,
                                 const ExecutorOptions &options)
{
    SchedulerEngine *engine = m_engine;
    QMetaObject::invokeMethod(
        engine,
        [engine, type, executor, options] { engine->registerExecutor(type, executor, options); },
        Qt::QueuedConnection);
}

void Scheduler::setGroupConcurrency(const QString &group, int limit)
{
    SchedulerEngine *engine = m_engine;
    QMetaObject::invokeMethod(
        engine, [engine, group, limit] { engine->setGroupConcurrency(group, limit); },
        Qt::QueuedConnection);
}

QFuture<SchedulerResult<void>> Scheduler::open()
{
    return post<SchedulerResult<void>>(
        [this](SchedulerEngine &engine) {
            auto opened = engine.open();
            m_open.store(bool(opened));
            return opened;
        },
        std::unexpected(closedError()));
}

QFuture<void> Scheduler::shutdown(int drainMs)
{
    auto promise = std::make_shared<QPromise<void>>();
    QFuture<void> future = promise->future();
    promise->start();
    if (m_closed.exchange(true)) {
        promise->finish();
        return future;
    }
    SchedulerEngine *engine = m_engine;
    QMetaObject::invokeMethod(
        engine,
        [this, engine, promise, drainMs] {
            engine->shutdown(drainMs, [this, engine, promise] {
                m_open.store(false);
                // Hand the engine back so its owner can delete it after the thread ends.
                engine->moveToThread(thread());
                promise->finish();
            });
        },
        Qt::QueuedConnection);
    return future;
}

QFuture<SchedulerResult<SubmitResult>> Scheduler::submit(TaskSpec spec)
{
    return post<SchedulerResult<SubmitResult>>(
        [spec = std::move(spec)](SchedulerEngine &engine) mutable -> SchedulerResult<SubmitResult> {
            auto results = engine.submit({std::move(spec)});
            if (!results)
                return std::unexpected(results.error());
            return results->first();
        },
        std::unexpected(closedError()));
}

QFuture<SchedulerResult<QList<SubmitResult>>> Scheduler::submitBatch(QList<TaskSpec> specs)
{
    return post<SchedulerResult<QList<SubmitResult>>>(
        [specs = std::move(specs)](SchedulerEngine &engine) mutable {
            return engine.submit(std::move(specs));
        },
        std::unexpected(closedError()));
}

QFuture<SchedulerResult<CancelResult>> Scheduler::cancel(TaskId id, const QString &reason)
{
    return post<SchedulerResult<CancelResult>>(
        [id, reason](SchedulerEngine &engine) { return engine.cancelIds({id}, reason); },
        std::unexpected(closedError()));
}

QFuture<SchedulerResult<CancelResult>> Scheduler::cancelGroup(const QString &group,
                                                              const QString &reason)
{
    return post<SchedulerResult<CancelResult>>(
        [group, reason](SchedulerEngine &engine) { return engine.cancelGroup(group, reason); },
        std::unexpected(closedError()));
}

QFuture<SchedulerResult<CancelResult>> Scheduler::cancelType(const QString &type,
                                                             const QString &reason)
{
    return post<SchedulerResult<CancelResult>>(
        [type, reason](SchedulerEngine &engine) { return engine.cancelType(type, reason); },
        std::unexpected(closedError()));
}

QFuture<SchedulerResult<CancelResult>>
Scheduler::cancelWhere(std::function<bool(const TaskRecord &)> predicate, const QString &reason)
{
    return post<SchedulerResult<CancelResult>>(
        [predicate = std::move(predicate), reason](SchedulerEngine &engine) {
            return engine.cancelWhere(predicate, reason);
        },
        std::unexpected(closedError()));
}

QFuture<SchedulerResult<void>> Scheduler::pauseGroup(const QString &group)
{
    return post<SchedulerResult<void>>(
        [group](SchedulerEngine &engine) { return engine.pauseGroup(group); },
        std::unexpected(closedError()));
}

QFuture<SchedulerResult<void>> Scheduler::resumeGroup(const QString &group)
{
    return post<SchedulerResult<void>>(
        [group](SchedulerEngine &engine) { return engine.resumeGroup(group); },
        std::unexpected(closedError()));
}

QFuture<SchedulerResult<int>> Scheduler::retryCleanupsNow(const QString &group)
{
    return post<SchedulerResult<int>>(
        [group](SchedulerEngine &engine) { return engine.retryCleanupsNow(group); },
        std::unexpected(closedError()));
}

QFuture<SchedulerResult<std::optional<TaskRecord>>> Scheduler::task(TaskId id)
{
    return post<SchedulerResult<std::optional<TaskRecord>>>(
        [id](SchedulerEngine &engine) { return engine.task(id); }, std::unexpected(closedError()));
}

QFuture<SchedulerResult<QList<TaskRecord>>> Scheduler::activeTasks(const QString &group, int limit)
{
    return post<SchedulerResult<QList<TaskRecord>>>(
        [group, limit](SchedulerEngine &engine) { return engine.activeTasks(group, limit); },
        std::unexpected(closedError()));
}

QFuture<SchedulerResult<QHash<QString, QString>>> Scheduler::taskState(TaskId id)
{
    return post<SchedulerResult<QHash<QString, QString>>>(
        [id](SchedulerEngine &engine) { return engine.taskState(id); },
        std::unexpected(closedError()));
}

QFuture<SchedulerResult<QList<HistoryRecord>>> Scheduler::history(const HistoryQuery &query)
{
    return post<SchedulerResult<QList<HistoryRecord>>>(
        [query](SchedulerEngine &engine) { return engine.history(query); },
        std::unexpected(closedError()));
}

QFuture<SchedulerResult<SchedulerStats>> Scheduler::stats()
{
    return post<SchedulerResult<SchedulerStats>>(
        [](SchedulerEngine &engine) { return engine.stats(); }, std::unexpected(closedError()));
}

QFuture<QStringList> Scheduler::pausedGroups()
{
    return post<QStringList>([](SchedulerEngine &engine) { return engine.pausedGroups(); },
                             QStringList{});
}

} // namespace ferry
