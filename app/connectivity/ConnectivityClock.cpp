#include "ConnectivityClock.h"

#include <QDateTime>
#include <QElapsedTimer>

namespace ferry {

qint64 SystemConnectivityClock::monotonicMs() const
{
    // QElapsedTimer's clock is CLOCK_MONOTONIC on Linux: it does not count suspend.
    QElapsedTimer timer;
    timer.start();
    return timer.msecsSinceReference();
}

qint64 SystemConnectivityClock::wallMs() const
{
    return QDateTime::currentMSecsSinceEpoch();
}

} // namespace ferry
