#pragma once

#include <QtGlobal>

namespace ferry {

/**
 * How often and how soon a step that failed with a retryable error is tried again.
 * `maxAttempts` counts every attempt, the first included: 1 means never retry.
 */
struct RetryPolicy {
    enum class Backoff { Constant, Linear, Exponential };

    int maxAttempts = 3;
    Backoff backoff = Backoff::Exponential;
    qint64 initialDelayMs = 1000;
    qint64 maxDelayMs = 5 * 60 * 1000;
    /// Spread each delay by up to ±jitter (0..1) so retries of many tasks do not align.
    double jitter = 0.2;

    /// Delay before the attempt that follows `failedAttempts` failures (1 = after the first).
    [[nodiscard]] qint64 delayMs(int failedAttempts) const;

    [[nodiscard]] static RetryPolicy none() { return {1, Backoff::Constant, 0, 0, 0.0}; }
};

} // namespace ferry
