#include "RetryPolicy.h"

#include <QRandomGenerator>

#include <algorithm>
#include <cmath>

namespace ferry {

qint64 RetryPolicy::delayMs(int failedAttempts) const
{
    const int n = std::max(1, failedAttempts);
    double delay = static_cast<double>(initialDelayMs);
    switch (backoff) {
    case Backoff::Constant:
        break;
    case Backoff::Linear:
        delay *= n;
        break;
    case Backoff::Exponential:
        delay *= std::pow(2.0, std::min(n - 1, 40));
        break;
    }
    delay = std::min(delay, static_cast<double>(maxDelayMs));
    if (jitter > 0.0) {
        const double spread = (QRandomGenerator::global()->generateDouble() * 2.0 - 1.0) * jitter;
        delay *= 1.0 + spread;
    }
    return std::max<qint64>(0, static_cast<qint64>(delay));
}

} // namespace ferry
