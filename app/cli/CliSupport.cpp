#include "CliSupport.h"

#include "app/DataDirectory.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonDocument>
#include <QRegularExpression>

namespace ferry::cli {

Args parseArgs(const QStringList &args, const QStringList &valued)
{
    Args parsed;
    for (qsizetype i = 0; i < args.size(); ++i) {
        const QString &arg = args.at(i);
        if (!arg.startsWith(QLatin1String("--")) || arg == QLatin1String("--")) {
            parsed.words.append(arg);
            continue;
        }
        QString name = arg.mid(2);
        QString value;
        bool hasValue = false;
        if (const auto eq = name.indexOf(QLatin1Char('=')); eq > 0) {
            value = name.mid(eq + 1);
            name = name.left(eq);
            hasValue = true;
        }
        if (valued.contains(name)) {
            if (!hasValue) {
                if (i + 1 >= args.size()) {
                    parsed.error = QStringLiteral("--%1 needs a value: write it after the option, "
                                                  "as in `--%1 VALUE`.")
                                       .arg(name);
                    return parsed;
                }
                value = args.at(++i);
            }
            parsed.options.insert(name, value);
        } else {
            parsed.switches.append(name);
            if (hasValue)
                parsed.switchesWithValue.append(name);
        }
    }
    return parsed;
}

QTextStream &out()
{
    static QTextStream stream(stdout);
    return stream;
}

QTextStream &err()
{
    static QTextStream stream(stderr);
    return stream;
}

void printJson(const QJsonObject &object)
{
    out() << QString::fromUtf8(QJsonDocument(object).toJson(QJsonDocument::Compact)) << '\n';
    out().flush();
}

std::optional<std::chrono::seconds> parseDuration(const QString &text)
{
    static const QRegularExpression pattern(QStringLiteral("^(\\d+)([smhd]?)$"));
    const auto match = pattern.match(text.trimmed());
    if (!match.hasMatch())
        return std::nullopt;
    bool ok = false;
    const qint64 value = match.captured(1).toLongLong(&ok);
    const QString unit = match.captured(2);
    qint64 scale = 1;
    if (unit == QLatin1String("m"))
        scale = 60;
    else if (unit == QLatin1String("h"))
        scale = 3600;
    else if (unit == QLatin1String("d"))
        scale = 86400;
    // An overflowing number must not turn into 0 (which would mean "every upload").
    if (!ok || value > kMaxDuration.count() / scale)
        return std::nullopt;
    return std::chrono::seconds(value * scale);
}

QString formatBytes(double bytes)
{
    const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int unit = 0;
    while (bytes >= 1024 && unit < 4) {
        bytes /= 1024;
        ++unit;
    }
    return QStringLiteral("%1 %2")
        .arg(bytes, 0, 'f', unit == 0 ? 0 : 1)
        .arg(QLatin1String(units[unit]));
}

QJsonObject historyToJson(const HistoryRecord &row)
{
    QJsonObject json;
    json[QStringLiteral("id")] = row.id;
    json[QStringLiteral("taskId")] = row.taskId;
    json[QStringLiteral("parentId")] = row.parentId;
    json[QStringLiteral("type")] = row.type;
    json[QStringLiteral("group")] = row.group;
    json[QStringLiteral("dedupKey")] = row.dedupKey;
    json[QStringLiteral("label")] = row.label;
    json[QStringLiteral("status")] = toText(row.status);
    json[QStringLiteral("reason")] = row.reason;
    json[QStringLiteral("cleanup")] = toText(row.cleanup);
    json[QStringLiteral("error")] = row.error;
    json[QStringLiteral("note")] = row.note;
    json[QStringLiteral("startedAt")] =
        row.startedAt.isValid() ? row.startedAt.toUTC().toString(Qt::ISODateWithMs) : QString();
    json[QStringLiteral("finishedAt")] = row.finishedAt.toUTC().toString(Qt::ISODateWithMs);
    json[QStringLiteral("bytes")] = row.bytes;
    return json;
}

QString historyLine(const QJsonObject &row)
{
    QString line = QStringLiteral("%1  %2  %3  %4  %5")
                       .arg(row.value(QStringLiteral("finishedAt")).toString(),
                            row.value(QStringLiteral("status")).toString().leftJustified(9),
                            row.value(QStringLiteral("type")).toString().leftJustified(16),
                            row.value(QStringLiteral("label")).toString(),
                            formatBytes(row.value(QStringLiteral("bytes")).toDouble()));
    if (const QString reason = row.value(QStringLiteral("reason")).toString(); !reason.isEmpty())
        line += QStringLiteral("  reason=") + reason;
    if (row.value(QStringLiteral("status")).toString() == QLatin1String("cancelled"))
        line += QStringLiteral("  cleanup=") + row.value(QStringLiteral("cleanup")).toString();
    if (const QString error = row.value(QStringLiteral("error")).toString(); !error.isEmpty())
        line += QStringLiteral("  error: ") + error;
    return line;
}

QString missingDataDirMessage(const QString &dataDir)
{
    return QStringLiteral("The data directory %1 does not exist, so it holds no profiles. Check "
                          "--data-dir (or FERRY_DATA_DIR), or add a profile first with `ferry "
                          "profile add`.")
        .arg(dataDir);
}

std::expected<AppContext, QString> openApp(const QString &dataDir, bool create)
{
    AppContext context;
    context.dataDir = dataDir;
    if (!create && !QFileInfo::exists(dataDir))
        return std::unexpected(missingDataDirMessage(dataDir));
    if (!QDir().mkpath(dataDir))
        return std::unexpected(QStringLiteral("Cannot create the data directory %1. Check the "
                                              "path and its permissions, or pass another "
                                              "--data-dir.")
                                   .arg(dataDir));
    QFile::setPermissions(dataDir, QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
    context.store = std::make_shared<AppStore>(DataDirectory::databasePath(dataDir));
    if (auto opened = context.store->open(); !opened)
        return std::unexpected(opened.error());
    context.secrets = std::shared_ptr<SecretStore>(SecretStore::create(dataDir));
    return context;
}

} // namespace ferry::cli
