#pragma once

#include <QByteArray>
#include <QProcessEnvironment>
#include <QString>
#include <QStringList>

#include <QProcess>

#include <memory>

namespace ferry::test {

/// What one run of the `ferry` binary did.
struct FerryRun {
    bool finished = false; ///< false: it crashed or did not end within the timeout
    int exitCode = -1;
    QByteArray out;
    QByteArray err;
};

/// How to run the `ferry` binary for a bad-input case.
struct FerryOptions {
    QByteArray input; ///< written to stdin, which is then closed
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    qint64 fileSizeLimit = 0; ///< > 0: RLIMIT_FSIZE, so writes past it fail with EFBIG
    int timeoutMs = 60'000;
};

/**
 * Starts `ferry ARGS` (see runFerry()); null when it could not start. Its stdin is closed
 * after `options.input`.
 */
[[nodiscard]] std::unique_ptr<QProcess> startFerry(const QString &binary, const QStringList &args,
                                                   const FerryOptions &options = {});

/// Waits for a started `ferry`, running this thread's event loop meanwhile; kills it after
/// `timeoutMs`.
[[nodiscard]] FerryRun finishFerry(QProcess &process, int timeoutMs);

/**
 * Runs `ferry ARGS` and waits for it, running this thread's event loop meanwhile (a relay in
 * the test process keeps serving). The child never has CAP_DAC_OVERRIDE or
 * CAP_DAC_READ_SEARCH, so file permissions apply to it even when the tests run as root.
 */
[[nodiscard]] FerryRun runFerry(const QString &binary, const QStringList &args,
                                const FerryOptions &options = {});

/**
 * The state of a data directory a bad input must not change: every file's name and bytes,
 * except the database, which is compared by content (each table's rows, the schema
 * version), since SQLite may rewrite pages (WAL checkpoints) without changing anything.
 * A database that cannot be read as one is compared by its bytes.
 */
[[nodiscard]] QString snapshotDataDir(const QString &dir);

/// A line-by-line difference of two snapshots, for a failure message.
[[nodiscard]] QString describeDifference(const QString &before, const QString &after);

/// Whether `text` names what went wrong and what to do: it holds every one of `needles`.
[[nodiscard]] QString missingNeedles(const QByteArray &text, const QStringList &needles);

} // namespace ferry::test
