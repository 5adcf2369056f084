#include "BackgroundPool.h"

#include <QThread>

#include <utility>

#ifdef Q_OS_LINUX
#include <sys/resource.h>
#include <unistd.h>
#endif

namespace ferry::s3 {

namespace {

// Lowers the calling thread's CPU priority, once per thread. On Linux the nice value is the
// thread's own; QThread::setPriority() cannot lower a normal (SCHED_OTHER) thread there.
void enterBackgroundPriority()
{
    thread_local bool lowered = false;
    if (std::exchange(lowered, true))
        return;
#ifdef Q_OS_LINUX
    (void)::setpriority(PRIO_PROCESS, ::gettid(), BackgroundPool::kNiceness);
#else
    QThread::currentThread()->setPriority(QThread::LowestPriority);
#endif
}

} // namespace

BackgroundPool::BackgroundPool(int maxThreads)
{
    m_pool.setMaxThreadCount(maxThreads);
    m_pool.setExpiryTimeout(30'000);
}

void BackgroundPool::start(std::function<void()> job)
{
    m_pool.start([job = std::move(job)] {
        enterBackgroundPriority();
        job();
    });
}

BackgroundPool &BackgroundPool::digests()
{
    static BackgroundPool pool(qMax(2, QThread::idealThreadCount()));
    return pool;
}

} // namespace ferry::s3
