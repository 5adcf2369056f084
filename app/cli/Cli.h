#pragma once

#include <QCoreApplication>
#include <QStringList>

#include <QCoro/QCoroTask>

namespace ferry::cli {

/// Exit codes of the command line.
namespace ExitCode {
inline constexpr int Ok = 0;
inline constexpr int SomeFailed = 1;
inline constexpr int Usage = 2;
inline constexpr int Cancelled = 3;
inline constexpr int Interrupted = 130; ///< SIGINT
inline constexpr int Terminated = 143;  ///< SIGTERM
} // namespace ExitCode

/// The usage text.
[[nodiscard]] QString usage();

/**
 * The command line of `ferry` (see usage()): profiles, sync, cancel, history, cleanup, status.
 * Output goes to stdout (JSON with --json), errors to stderr, each naming cause and fix.
 */
class Cli {
    Q_DECLARE_TR_FUNCTIONS(ferry::cli::Cli)
public:
    /// Runs the command in `args` (without the program name); yields the exit code.
    QCoro::Task<int> run(QStringList args);
};

} // namespace ferry::cli
