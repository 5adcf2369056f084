#pragma once

// Shared pieces of the connectivity suites: a clock whose wall time can jump, and short
// monitor timings so the suites run in seconds.

#include "app/connectivity/ConnectivityClock.h"
#include "app/connectivity/ConnectivityMonitor.h"

#include <QDateTime>

#include <atomic>

namespace ferry::test {

/// The real clocks, with a wall clock the test can move (a wake from sleep).
class JumpingClock : public ConnectivityClock {
public:
    [[nodiscard]] qint64 monotonicMs() const override { return m_real.monotonicMs(); }
    [[nodiscard]] qint64 wallMs() const override { return m_real.wallMs() + m_offset.load(); }
    void jump(qint64 ms) { m_offset += ms; }

private:
    SystemConnectivityClock m_real;
    std::atomic<qint64> m_offset{0};
};

/// Timings that keep a suite fast: checks in tens of milliseconds.
inline ConnectivityOptions fastOptions()
{
    ConnectivityOptions options;
    options.probeTimeout = std::chrono::milliseconds(400);
    options.confirmSpacing = std::chrono::milliseconds(30);
    options.retryInitial = std::chrono::milliseconds(30);
    options.retryMax = std::chrono::milliseconds(150);
    options.heartbeat = std::chrono::milliseconds(0);
    options.clockCheckInterval = std::chrono::milliseconds(50);
    options.clockJumpThreshold = std::chrono::milliseconds(5000);
    return options;
}

} // namespace ferry::test
