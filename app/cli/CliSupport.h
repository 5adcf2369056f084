#pragma once

#include "app/profiles/AppStore.h"
#include "app/profiles/SecretStore.h"
#include "scheduler/TaskRecord.h"

#include <QJsonObject>
#include <QString>
#include <QStringList>
#include <QTextStream>

#include <chrono>
#include <memory>
#include <optional>

namespace ferry::cli {

/// Parsed arguments: positional words, `--flag value` options (repeatable) and switches.
struct Args {
    QStringList words;
    QMultiHash<QString, QString> options;
    QStringList switches;
    QStringList switchesWithValue; ///< Switches written `--name=value`, which is an error.
    QString error;                 ///< Set when the arguments could not be parsed.

    [[nodiscard]] QString option(const QString &name, const QString &fallback = {}) const
    {
        return options.contains(name) ? options.values(name).last() : fallback;
    }
    [[nodiscard]] bool has(const QString &name) const { return switches.contains(name); }
};

/// Splits `args`; `valued` names the options that take a value.
[[nodiscard]] Args parseArgs(const QStringList &args, const QStringList &valued);

QTextStream &out();
QTextStream &err();
void printJson(const QJsonObject &object);

/// `90s`, `30m`, `24h`, `7d` or a number of seconds; at most kMaxDuration.
inline constexpr std::chrono::seconds kMaxDuration = std::chrono::hours(24 * 36500);
[[nodiscard]] std::optional<std::chrono::seconds> parseDuration(const QString &text);
/// `1.5 MiB`
[[nodiscard]] QString formatBytes(double bytes);

[[nodiscard]] QJsonObject historyToJson(const HistoryRecord &row);
/// One human-readable line for a history row given as JSON.
[[nodiscard]] QString historyLine(const QJsonObject &row);

/// The app store and secret store of a data directory.
struct AppContext {
    QString dataDir;
    std::shared_ptr<AppStore> store;
    std::shared_ptr<SecretStore> secrets;
};
/// Opens the data directory's app tables; the error names the cause and fix. Only `create`
/// makes a directory that does not exist yet (a mistyped --data-dir must not leave one behind).
[[nodiscard]] std::expected<AppContext, QString> openApp(const QString &dataDir,
                                                         bool create = false);
/// Why a data directory that does not exist cannot hold what a command looks for.
[[nodiscard]] QString missingDataDirMessage(const QString &dataDir);

} // namespace ferry::cli
