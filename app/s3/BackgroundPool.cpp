#include "BackgroundPool.h"

#include <QThread>

#include <algorithm>
#include <utility>

#ifdef Q_OS_LINUX
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>
#endif

namespace ferry::s3 {

namespace {

// Lowers the calling thread's CPU priority, once per thread. On Linux the nice value is the
// thread's own; QThread::setPriority() cannot lower a normal (SCHED_OTHER) thread there. The
// thread is also named, so tools (top -H, the S3 benchmark) can tell its CPU from the rest.
void enterBackgroundPriority()
{
    thread_local bool lowered = false;
    if (std::exchange(lowered, true))
        return;
#ifdef Q_OS_LINUX
    (void)::setpriority(PRIO_PROCESS, ::gettid(), BackgroundPool::kNiceness);
    (void)::pthread_setname_np(::pthread_self(), BackgroundPool::kThreadName);
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

BackgroundPool::Ticket BackgroundPool::start(std::function<void()> job)
{
    Ticket ticket = 0;
    {
        QMutexLocker lock(&m_mutex);
        ticket = ++m_lastTicket;
        m_waiting.push_back(Waiting{ticket, std::move(job)});
    }
    m_pool.start([this] { runNext(); });
    return ticket;
}

bool BackgroundPool::withdraw(Ticket ticket)
{
    std::function<void()> withdrawn;
    {
        QMutexLocker lock(&m_mutex);
        const auto it = std::find_if(m_waiting.begin(), m_waiting.end(),
                                     [ticket](const Waiting &w) { return w.ticket == ticket; });
        if (it == m_waiting.end())
            return false;
        withdrawn = std::move(it->job);
        m_waiting.erase(it);
    }
    return true; // `withdrawn` (and what it holds) goes here, outside the lock
}

void BackgroundPool::runNext()
{
    std::function<void()> job;
    {
        QMutexLocker lock(&m_mutex);
        if (m_waiting.empty())
            return; // its job was withdrawn
        job = std::move(m_waiting.front().job);
        m_waiting.pop_front();
    }
    enterBackgroundPriority();
    job();
}

BackgroundPool &BackgroundPool::digests()
{
    static BackgroundPool pool(qMax(2, QThread::idealThreadCount()));
    return pool;
}

} // namespace ferry::s3
