#include "CancellationAwait.h"

#include <QCoro/QCoroSignal>

#include <algorithm>
#include <vector>

namespace ferry {

QCoro::Task<bool> untilAnyCancelled(QList<CancellationToken> tokens,
                                    std::chrono::milliseconds timeout)
{
    const auto anyFired = [&tokens] {
        return std::any_of(tokens.cbegin(), tokens.cend(),
                           [](const auto &t) { return t.isCancelled(); });
    };
    if (anyFired())
        co_return true;
    CancellationNotifier notifier;
    // Queued to this thread: no callback is delivered before the co_await below suspends.
    std::vector<CancellationRegistration> registrations;
    for (const auto &token : tokens)
        registrations.push_back(
            token.onCancelled(&notifier, [&notifier] { emit notifier.fired(); }));
    const auto fired = co_await qCoro(&notifier, &CancellationNotifier::fired, timeout);
    co_return fired.has_value() || anyFired();
}

QCoro::Task<bool> untilCancelled(CancellationToken token, std::chrono::milliseconds timeout)
{
    QList<CancellationToken> tokens;
    tokens.append(std::move(token));
    co_return co_await untilAnyCancelled(std::move(tokens), timeout);
}

} // namespace ferry
