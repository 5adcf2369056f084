#include "BadInputSupport.h"

#include <QCryptographicHash>
#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QSqlRecord>
#include <QTest>
#include <QUuid>
#include <QVariant>

#include <csignal>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>

namespace ferry::test {

std::unique_ptr<QProcess> startFerry(const QString &binary, const QStringList &args,
                                     const FerryOptions &options)
{
    auto process = std::make_unique<QProcess>();
    process->setProcessEnvironment(options.environment);
    const qint64 limit = options.fileSizeLimit;
    process->setChildProcessModifier([limit] {
        // Only async-signal-safe calls here. Failures are fine: a non-root user never had
        // these capabilities.
        (void)::prctl(PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, 0, 0, 0);
        (void)::prctl(PR_CAPBSET_DROP, CAP_DAC_READ_SEARCH, 0, 0, 0);
        if (limit > 0) {
            ::signal(SIGXFSZ, SIG_IGN); // the write fails with EFBIG instead of killing
            rlimit rl{};
            rl.rlim_cur = rlim_t(limit);
            rl.rlim_max = rlim_t(limit);
            (void)::setrlimit(RLIMIT_FSIZE, &rl);
        }
    });
    process->start(binary, args);
    if (!process->waitForStarted())
        return nullptr;
    if (!options.input.isEmpty())
        process->write(options.input);
    process->closeWriteChannel();
    return process;
}

FerryRun finishFerry(QProcess &process, int timeoutMs)
{
    FerryRun run;
    QByteArray out;
    QByteArray err;
    // Drained while it runs: a full pipe would block the child.
    const bool ended = QTest::qWaitFor(
        [&] {
            out += process.readAllStandardOutput();
            err += process.readAllStandardError();
            return process.state() == QProcess::NotRunning;
        },
        timeoutMs);
    if (!ended) {
        process.kill();
        process.waitForFinished();
    } else {
        run.finished = process.exitStatus() == QProcess::NormalExit;
    }
    run.exitCode = run.finished ? process.exitCode() : -1;
    run.out = out + process.readAllStandardOutput();
    run.err = err + process.readAllStandardError();
    return run;
}

FerryRun runFerry(const QString &binary, const QStringList &args, const FerryOptions &options)
{
    auto process = startFerry(binary, args, options);
    if (!process)
        return {};
    return finishFerry(*process, options.timeoutMs);
}

namespace {

QString hashOf(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return QStringLiteral("<unreadable>");
    QCryptographicHash hash(QCryptographicHash::Sha256);
    hash.addData(&file);
    return QString::fromLatin1(hash.result().toHex());
}

/// The database's rows, table by table, in a stable order; empty when it is not readable.
QStringList databaseContent(const QString &path)
{
    const QString name = QStringLiteral("snapshot-") + QUuid::createUuid().toString();
    QStringList lines;
    bool ok = true;
    {
        auto db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
        db.setDatabaseName(path);
        db.setConnectOptions(QStringLiteral("QSQLITE_OPEN_READONLY;QSQLITE_BUSY_TIMEOUT=5000"));
        ok = db.open();
        QSqlQuery query(db);
        ok = ok && query.exec(QStringLiteral("PRAGMA user_version")) && query.next();
        if (ok)
            lines.append(QStringLiteral("user_version ") + query.value(0).toString());
        QStringList tables;
        ok = ok && query.exec(QStringLiteral(
                       "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"));
        while (ok && query.next())
            tables.append(query.value(0).toString());
        for (const auto &table : std::as_const(tables)) {
            QStringList rows;
            ok = ok && query.exec(QStringLiteral("SELECT * FROM \"%1\"").arg(table));
            while (ok && query.next()) {
                QStringList values;
                for (int i = 0; i < query.record().count(); ++i)
                    values.append(query.value(i).toString());
                rows.append(table + QStringLiteral(": ") + values.join(QStringLiteral(" | ")));
            }
            rows.sort();
            lines.append(table + QStringLiteral(" (%1 rows)").arg(rows.size()));
            lines.append(rows);
        }
        db.close();
    }
    QSqlDatabase::removeDatabase(name);
    return ok ? lines : QStringList();
}

} // namespace

QString snapshotDataDir(const QString &dir)
{
    QStringList lines;
    if (!QFileInfo(dir).exists())
        return QStringLiteral("<no directory>");
    QDirIterator it(dir, QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot,
                    QDirIterator::Subdirectories);
    QStringList paths;
    while (it.hasNext())
        paths.append(it.next());
    paths.sort();
    const QDir root(dir);
    for (const auto &path : std::as_const(paths)) {
        const QFileInfo info(path);
        const QString relative = root.relativeFilePath(path);
        // SQLite's side files and the live owner's lock and socket come and go.
        if (relative.endsWith(QLatin1String("-wal")) || relative.endsWith(QLatin1String("-shm")) ||
            relative.endsWith(QLatin1String(".lock")) || !(info.isFile() || info.isDir()))
            continue;
        if (info.isDir()) {
            lines.append(relative + QStringLiteral("/"));
        } else if (relative.endsWith(QLatin1String(".sqlite"))) {
            const QStringList content = databaseContent(path);
            if (content.isEmpty())
                lines.append(relative + QStringLiteral(" bytes ") + hashOf(path));
            for (const auto &line : content)
                lines.append(relative + QStringLiteral(" ") + line);
        } else {
            lines.append(relative + QStringLiteral(" ") + hashOf(path));
        }
        lines.append(relative + QStringLiteral(" mode ") +
                     QString::number(int(info.permissions()), 16));
    }
    return lines.join(QLatin1Char('\n'));
}

QString describeDifference(const QString &before, const QString &after)
{
    const QStringList a = before.split(QLatin1Char('\n'));
    const QStringList b = after.split(QLatin1Char('\n'));
    QStringList diff;
    for (const auto &line : a)
        if (!b.contains(line))
            diff.append(QStringLiteral("- ") + line);
    for (const auto &line : b)
        if (!a.contains(line))
            diff.append(QStringLiteral("+ ") + line);
    return diff.join(QLatin1Char('\n'));
}

QString missingNeedles(const QByteArray &text, const QStringList &needles)
{
    const QString haystack = QString::fromUtf8(text);
    QStringList missing;
    for (const auto &needle : needles)
        if (!haystack.contains(needle, Qt::CaseInsensitive))
            missing.append(QLatin1Char('`') + needle + QLatin1Char('`'));
    return missing.join(QStringLiteral(", "));
}

} // namespace ferry::test
