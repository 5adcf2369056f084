// CancellationToken callbacks: delivered on their context's thread, in order, batched per
// thread when many tokens fire at once, and never to a context or thread that is gone.
#include "SchedulerTestSupport.h"

#include <QElapsedTimer>
#include <QSemaphore>
#include <QThread>

#include <functional>

using namespace ferry;
using namespace ferry::test;

namespace {

/// A thread with an event loop, and a way to run code there and wait for it.
class Worker {
public:
    Worker()
    {
        thread.start();
        context = new QObject;
        context->moveToThread(&thread);
    }
    ~Worker()
    {
        if (thread.isRunning())
            runThere([this] { delete context; });
        stop();
    }
    void runThere(const std::function<void()> &work)
    {
        QMetaObject::invokeMethod(context, work, Qt::BlockingQueuedConnection);
    }
    void stop()
    {
        thread.quit();
        thread.wait();
    }

    QThread thread;
    QObject *context = nullptr; ///< Lives on the worker; deleted there by ~Worker.
};

/// What the callbacks saw, filled on the worker thread and read after a QTRY wait.
struct Calls {
    QMutex mutex;
    QStringList names;
    bool allOnWorker = true;
    void add(const QString &name, QThread *expected)
    {
        QMutexLocker lock(&mutex);
        names.append(name);
        allOnWorker = allOnWorker && QThread::currentThread() == expected;
    }
    QStringList snapshot()
    {
        QMutexLocker lock(&mutex);
        return names;
    }
};

} // namespace

class TestSchedulerToken : public QObject {
    Q_OBJECT
private slots:
    void manyTokensDeliverInOrderOnTheContextsThread();
    void callbackOfDestroyedContextOrResetRegistrationIsDropped();
    void contextOfAnotherThreadGetsItsCallbackThere();
    void callbacksForAnEndedThreadAreDropped();
    void registeringAfterTheTokenFiredCallsAtOnce();
    void notifyAllCanWaitUntilTheCallbacksRan();
    void notifyAllWaitIsBoundedWhenTheThreadIsBusy();
};

void TestSchedulerToken::manyTokensDeliverInOrderOnTheContextsThread()
{
    Worker worker;
    Calls calls;
    std::vector<CancellationSource> sources(3);
    std::vector<CancellationRegistration> registrations;
    worker.runThere([&] {
        for (int s = 0; s < 3; ++s) {
            for (const char *which : {"a", "b"}) {
                const QString name = QStringLiteral("%1%2").arg(s).arg(which);
                registrations.push_back(sources[s].token().onCancelled(
                    worker.context, [&calls, &worker, name] { calls.add(name, &worker.thread); }));
            }
        }
    });
    QList<CancellationSource *> marked;
    for (auto &source : sources) {
        QVERIFY(source.mark());
        QVERIFY(source.token().isCancelled()); // the flag is up before any callback
        marked.append(&source);
    }
    CancellationSource::notifyAll(marked);
    QTRY_COMPARE(calls.snapshot().size(), 6);
    QCOMPARE(calls.snapshot(), QStringList({"0a", "0b", "1a", "1b", "2a", "2b"}));
    QVERIFY(calls.allOnWorker);
    worker.runThere([&] { registrations.clear(); });
}

void TestSchedulerToken::callbackOfDestroyedContextOrResetRegistrationIsDropped()
{
    Worker worker;
    Calls calls;
    CancellationSource source;
    QObject *doomed = nullptr;
    CancellationRegistration kept, dropped, orphaned;
    worker.runThere([&] {
        doomed = new QObject;
        orphaned = source.token().onCancelled(
            doomed, [&calls, &worker] { calls.add("destroyed", &worker.thread); });
        dropped = source.token().onCancelled(
            worker.context, [&calls, &worker] { calls.add("reset", &worker.thread); });
        kept = source.token().onCancelled(worker.context,
                                          [&calls, &worker] { calls.add("kept", &worker.thread); });
        delete doomed;
        dropped.reset();
    });
    QVERIFY(source.cancel());
    QTRY_COMPARE(calls.snapshot().size(), 1);
    // A marker queued after the callbacks: once it ran, nothing else can still arrive.
    worker.runThere([] {});
    QCOMPARE(calls.snapshot(), QStringList{"kept"});
    QVERIFY(!source.cancel()); // the first reason wins; no second delivery
    worker.runThere([&] { kept.reset(); });
    QCOMPARE(calls.snapshot(), QStringList{"kept"});
}

void TestSchedulerToken::contextOfAnotherThreadGetsItsCallbackThere()
{
    Worker worker;
    Calls calls;
    CancellationSource source;
    // Registered from this thread for a context that lives on the worker.
    auto registration = source.token().onCancelled(
        worker.context, [&calls, &worker] { calls.add("cross", &worker.thread); });
    QVERIFY(source.cancel());
    QTRY_COMPARE(calls.snapshot(), QStringList{"cross"});
    QVERIFY(calls.allOnWorker);
    registration.reset();
}

void TestSchedulerToken::callbacksForAnEndedThreadAreDropped()
{
    // The thread-exit path under the sanitizers: the worker's mailbox goes with its thread,
    // and firing afterwards must neither touch it nor run the callback anywhere.
    auto worker = std::make_unique<Worker>();
    CancellationSource source;
    CancellationRegistration registration;
    std::atomic<int> called{0};
    worker->runThere([&] {
        registration = source.token().onCancelled(worker->context, [&called] { called++; });
    });
    QObject *const survivor = worker->context;
    worker->stop(); // the thread ends; its context object is left behind, its loop is gone
    QVERIFY(source.cancel());
    QVERIFY(source.token().isCancelled());
    worker->context = nullptr;
    worker.reset();
    registration.reset();
    delete survivor;
    QCOMPARE(called.load(), 0);
}

void TestSchedulerToken::registeringAfterTheTokenFiredCallsAtOnce()
{
    Worker worker;
    Calls calls;
    CancellationSource source;
    QVERIFY(source.cancel(StopReason::Shutdown));
    CancellationRegistration registration;
    worker.runThere([&] {
        registration = source.token().onCancelled(
            worker.context, [&calls, &worker] { calls.add("late", &worker.thread); });
    });
    QTRY_COMPARE(calls.snapshot(), QStringList{"late"});
    QCOMPARE(source.token().reason(), StopReason::Shutdown);
}

void TestSchedulerToken::notifyAllCanWaitUntilTheCallbacksRan()
{
    Worker worker;
    Calls calls;
    std::vector<CancellationSource> sources(50);
    std::vector<CancellationRegistration> registrations;
    worker.runThere([&] {
        for (auto &source : sources)
            registrations.push_back(source.token().onCancelled(
                worker.context, [&calls, &worker] { calls.add("w", &worker.thread); }));
    });
    QList<CancellationSource *> marked;
    for (auto &source : sources) {
        QVERIFY(source.mark());
        marked.append(&source);
    }
    // Generous bound: the call returns as soon as the worker ran the batch.
    CancellationSource::notifyAll(marked, std::chrono::seconds(60));
    QCOMPARE(calls.snapshot().size(), 50); // already ran: no wait needed here
    QVERIFY(calls.allOnWorker);
    worker.runThere([&] { registrations.clear(); });
}

void TestSchedulerToken::notifyAllWaitIsBoundedWhenTheThreadIsBusy()
{
    Worker worker;
    std::atomic<int> called{0};
    CancellationSource source;
    CancellationRegistration registration;
    worker.runThere([&] {
        registration = source.token().onCancelled(worker.context, [&called] { called++; });
    });
    // The worker is stuck in a blocking call and cannot run its events.
    QSemaphore stuck, release;
    QMetaObject::invokeMethod(
        worker.context,
        [&] {
            stuck.release();
            release.acquire();
        },
        Qt::QueuedConnection);
    stuck.acquire();
    QVERIFY(source.mark());
    QElapsedTimer timer;
    timer.start();
    CancellationSource::notifyAll({&source}, std::chrono::milliseconds(100));
    QVERIFY2(timer.elapsed() >= 100, qPrintable(QString::number(timer.elapsed())));
    QCOMPARE(called.load(), 0);
    release.release();
    QTRY_COMPARE(called.load(), 1); // delivered once the worker is free again
    worker.runThere([&] { registration.reset(); });
}

QTEST_GUILESS_MAIN(TestSchedulerToken)
#include "tst_scheduler_token.moc"
