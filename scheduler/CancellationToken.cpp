#include "CancellationToken.h"

#include <QMetaObject>
#include <QMutex>
#include <QPointer>

#include <atomic>
#include <vector>

namespace ferry {
namespace detail {

struct CancellationCallback {
    quint64 id;
    QPointer<QObject> context;
    std::function<void()> callback;
};

struct CancellationState {
    std::atomic<int> reason{static_cast<int>(StopReason::None)};
    QMutex mutex;
    quint64 nextId = 1;
    std::vector<CancellationCallback> callbacks;
};

} // namespace detail

namespace {

// Queued so the callback runs on the context's own thread, never on the firing thread.
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
    detail::CancellationCallback entry{0, context, std::move(callback)};
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
    std::vector<detail::CancellationCallback> toCall;
    {
        QMutexLocker lock(&m_state->mutex);
        toCall.swap(m_state->callbacks);
    }
    for (const auto &entry : toCall)
        post(entry);
}

} // namespace ferry
