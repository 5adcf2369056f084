#include "CancellationToken.h"

#include <QDeadlineTimer>
#include <QHash>
#include <QMetaObject>
#include <QMutex>
#include <QPointer>
#include <QThread>

#include <atomic>
#include <vector>

namespace ferry {
namespace detail {

/**
 * Where the callbacks bound for one thread are batched: a QObject living on that thread.
 * Shared with the entries registered there; emptied (under the mutex) when the thread ends,
 * so a firing thread never posts to a receiver being destroyed.
 */
struct Mailbox {
    QMutex mutex;
    QObject *receiver = nullptr;
};

struct CancellationCallback {
    quint64 id;
    QPointer<QObject> context;
    std::function<void()> callback;
    std::shared_ptr<Mailbox> mailbox; ///< The context's thread's, when registered there.
};

struct CancellationState {
    std::atomic<int> reason{static_cast<int>(StopReason::None)};
    QMutex mutex;
    quint64 nextId = 1;
    std::vector<CancellationCallback> callbacks;
};

} // namespace detail

namespace {

/// The calling thread's mailbox; its receiver goes with the thread (thread_local).
class ThreadMailbox {
public:
    ThreadMailbox() : m_box(std::make_shared<detail::Mailbox>()) { m_box->receiver = new QObject; }
    ~ThreadMailbox()
    {
        QMutexLocker lock(&m_box->mutex);
        delete std::exchange(m_box->receiver, nullptr);
    }
    ThreadMailbox(const ThreadMailbox &) = delete;
    ThreadMailbox &operator=(const ThreadMailbox &) = delete;
    [[nodiscard]] const std::shared_ptr<detail::Mailbox> &box() const { return m_box; }

private:
    std::shared_ptr<detail::Mailbox> m_box;
};

std::shared_ptr<detail::Mailbox> mailboxFor(const QObject *context)
{
    // Only a context of the registering thread: another thread's mailbox cannot be reached
    // safely from here. Those entries are posted one by one, as before batching.
    if (!context || context->thread() != QThread::currentThread())
        return {};
    thread_local ThreadMailbox mailbox;
    return mailbox.box();
}

void runIfAlive(const detail::CancellationCallback &entry)
{
    if (entry.context) // checked on the context's own thread
        entry.callback();
}

// Queued so the callback runs on the context's own thread, never on the calling thread.
void post(const detail::CancellationCallback &entry)
{
    if (entry.context)
        QMetaObject::invokeMethod(entry.context, entry.callback, Qt::QueuedConnection);
}

} // namespace

CancellationRegistration::CancellationRegistration(std::weak_ptr<detail::CancellationState> state,
                                                   quint64 id)
    : m_state(std::move(state)), m_id(id)
{
}

CancellationRegistration::~CancellationRegistration()
{
    reset();
}

CancellationRegistration::CancellationRegistration(CancellationRegistration &&other) noexcept
    : m_state(std::move(other.m_state)), m_id(std::exchange(other.m_id, 0))
{
}

CancellationRegistration &
CancellationRegistration::operator=(CancellationRegistration &&other) noexcept
{
    if (this != &other) {
        reset();
        m_state = std::move(other.m_state);
        m_id = std::exchange(other.m_id, 0);
    }
    return *this;
}

void CancellationRegistration::reset()
{
    if (auto state = m_state.lock(); state && m_id != 0) {
        QMutexLocker lock(&state->mutex);
        std::erase_if(state->callbacks, [this](const auto &entry) { return entry.id == m_id; });
    }
    m_state.reset();
    m_id = 0;
}

CancellationToken::CancellationToken() : m_state(std::make_shared<detail::CancellationState>()) {}

CancellationToken::CancellationToken(std::shared_ptr<detail::CancellationState> state)
    : m_state(std::move(state))
{
}

bool CancellationToken::isCancelled() const
{
    return m_state->reason.load(std::memory_order_acquire) != static_cast<int>(StopReason::None);
}

StopReason CancellationToken::reason() const
{
    return static_cast<StopReason>(m_state->reason.load(std::memory_order_acquire));
}

CancellationRegistration CancellationToken::onCancelled(QObject *context,
                                                        std::function<void()> callback) const
{
    detail::CancellationCallback entry{0, context, std::move(callback), mailboxFor(context)};
    {
        QMutexLocker lock(&m_state->mutex);
        if (!isCancelled()) {
            entry.id = m_state->nextId++;
            const quint64 id = entry.id;
            m_state->callbacks.push_back(std::move(entry));
            return CancellationRegistration(m_state, id);
        }
    }
    post(entry);
    return {};
}

CancellationSource::CancellationSource() : m_state(std::make_shared<detail::CancellationState>()) {}

CancellationToken CancellationSource::token() const
{
    return CancellationToken(m_state);
}

bool CancellationSource::isCancelled() const
{
    return token().isCancelled();
}

bool CancellationSource::cancel(StopReason reason)
{
    if (!mark(reason))
        return false;
    notify();
    return true;
}

bool CancellationSource::mark(StopReason reason)
{
    QMutexLocker lock(&m_state->mutex);
    int expected = static_cast<int>(StopReason::None);
    return m_state->reason.compare_exchange_strong(expected, static_cast<int>(reason),
                                                   std::memory_order_acq_rel);
}

void CancellationSource::notify()
{
    notifyAll({this});
}

void CancellationSource::notifyAll(const QList<CancellationSource *> &sources,
                                   std::chrono::microseconds deliveredWithin)
{
    std::vector<detail::CancellationCallback> single;
    QHash<detail::Mailbox *, std::vector<detail::CancellationCallback>> batches;
    for (CancellationSource *source : sources) {
        std::vector<detail::CancellationCallback> toCall;
        {
            QMutexLocker lock(&source->m_state->mutex);
            toCall.swap(source->m_state->callbacks);
        }
        for (auto &entry : toCall) {
            if (entry.mailbox)
                batches[entry.mailbox.get()].push_back(std::move(entry));
            else
                single.push_back(std::move(entry));
        }
    }
    // Queued calls not yet run; a call dropped with its receiver never counts down, which
    // the bounded wait below allows for.
    auto undelivered = std::make_shared<std::atomic<int>>(0);
    for (auto &batch : batches) {
        const std::shared_ptr<detail::Mailbox> box = batch.front().mailbox;
        QMutexLocker lock(&box->mutex);
        if (!box->receiver)
            continue; // the thread has ended, and every context on it with it
        ++*undelivered;
        QMetaObject::invokeMethod(
            box->receiver,
            [entries = std::move(batch), undelivered] {
                for (const auto &entry : entries)
                    runIfAlive(entry);
                --*undelivered;
            },
            Qt::QueuedConnection);
    }
    for (const auto &entry : single) {
        if (!entry.context)
            continue;
        ++*undelivered;
        QMetaObject::invokeMethod(
            entry.context,
            [callback = entry.callback, undelivered] {
                callback();
                --*undelivered;
            },
            Qt::QueuedConnection);
    }
    if (deliveredWithin.count() <= 0)
        return;
    const QDeadlineTimer deadline(
        std::chrono::duration_cast<std::chrono::nanoseconds>(deliveredWithin));
    while (undelivered->load() > 0 && !deadline.hasExpired())
        QThread::yieldCurrentThread();
}

} // namespace ferry
