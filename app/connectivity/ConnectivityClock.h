#pragma once

#include <QtGlobal>

namespace ferry {

/**
 * The two clocks the ConnectivityMonitor compares to notice a wake from sleep: the monotonic
 * clock stops while the machine sleeps, the wall clock does not, so a jump of the wall clock
 * against the monotonic one means "we were away" (or the clock was set): re-probe at once.
 * Injectable so tests can jump the wall clock.
 */
class ConnectivityClock {
public:
    virtual ~ConnectivityClock() = default;
    /// Milliseconds on a clock that never jumps (and, on Linux, stops during suspend).
    [[nodiscard]] virtual qint64 monotonicMs() const = 0;
    /// Milliseconds since the epoch on the wall clock.
    [[nodiscard]] virtual qint64 wallMs() const = 0;
};

/// The real clocks: QElapsedTimer (CLOCK_MONOTONIC) and QDateTime::currentMSecsSinceEpoch.
class SystemConnectivityClock : public ConnectivityClock {
public:
    [[nodiscard]] qint64 monotonicMs() const override;
    [[nodiscard]] qint64 wallMs() const override;
};

} // namespace ferry
