#pragma once

#include <QString>

#include <expected>

namespace ferry {

/// Why a scheduler call was refused. The message names the cause and the fix.
struct SchedulerError {
    enum class Code {
        InvalidArgument, ///< Bad input: nothing was changed.
        NotFound,        ///< No such task.
        Duplicate,       ///< Rejected by DuplicateStrategy::Reject.
        Storage,         ///< The database could not be opened, read or written.
        Locked,          ///< Another process owns the data directory.
        NotOpen,         ///< The scheduler is not open (yet, or any more).
    };

    Code code = Code::InvalidArgument;
    QString message;
};

template <typename T> using SchedulerResult = std::expected<T, SchedulerError>;

[[nodiscard]] inline std::unexpected<SchedulerError> schedulerError(SchedulerError::Code code,
                                                                    QString message)
{
    return std::unexpected(SchedulerError{code, std::move(message)});
}

} // namespace ferry
