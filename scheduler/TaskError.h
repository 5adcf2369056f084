#pragma once

#include <QString>

#include <expected>

namespace ferry {

/**
 * Why an executor's step did not succeed. The kind decides what the scheduler does next:
 * a retryable error is retried per the type's RetryPolicy, a permanent one fails the task,
 * Cancelled ends it as cancelled (only meaningful once its token fired).
 */
struct TaskError {
    enum class Kind {
        Retryable, ///< Transient (network down, 503): try again after a back-off.
        Permanent, ///< Will not get better by retrying (bad input, access denied).
        Cancelled, ///< The executor stopped because its token fired.
    };

    Kind kind = Kind::Permanent;
    QString message;

    [[nodiscard]] static TaskError retryable(QString message)
    {
        return {Kind::Retryable, std::move(message)};
    }
    [[nodiscard]] static TaskError permanent(QString message)
    {
        return {Kind::Permanent, std::move(message)};
    }
    [[nodiscard]] static TaskError cancelled(QString message = QStringLiteral("cancelled"))
    {
        return {Kind::Cancelled, std::move(message)};
    }

    [[nodiscard]] bool isRetryable() const { return kind == Kind::Retryable; }
    [[nodiscard]] bool isCancelled() const { return kind == Kind::Cancelled; }
};

/// The outcome of one executor step: success, or a TaskError.
using TaskResult = std::expected<void, TaskError>;

} // namespace ferry
