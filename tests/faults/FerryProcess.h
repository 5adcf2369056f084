#pragma once

// The real `ferry` binary driven through QProcess, for the crash harness and the cancel storm.

#include "support/S3TestServer.h"

#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRandomGenerator>

namespace ferry::test {

/// What one finished `ferry` command printed and how it ended.
struct FerryRun {
    int exitCode = -1; ///< -1: crashed, killed or timed out.
    QByteArray out;
    QByteArray err;
};

/// The JSON objects of @p text, one per line (other lines are ignored).
inline QList<QJsonObject> jsonLines(const QByteArray &text)
{
    QList<QJsonObject> lines;
    for (const QByteArray &line : text.split('\n'))
        if (line.startsWith('{'))
            lines.append(QJsonDocument::fromJson(line).object());
    return lines;
}

/// `ferry --data-dir DIR ...` commands for one data directory.
class FerryCli {
public:
    explicit FerryCli(QString dataDir) : m_dataDir(std::move(dataDir)) {}

    [[nodiscard]] QStringList arguments(const QStringList &args) const
    {
        QStringList all;
        all << QStringLiteral("--data-dir") << m_dataDir;
        all << args;
        return all;
    }

    /// Sets an environment variable for every command started after this.
    void setVariable(const QString &name, const QString &value)
    {
        m_environment.insert(name, value);
    }

    /// The environment commands run with: this process's, plus setVariable()'s.
    [[nodiscard]] QProcessEnvironment environment() const { return m_environment; }

    /// Runs a command to its end (bounded by @p timeoutMs).
    FerryRun run(const QStringList &args, const QByteArray &input = {},
                 int timeoutMs = 120'000) const
    {
        QProcess process;
        process.setProcessEnvironment(m_environment);
        process.start(QStringLiteral(FERRY_BINARY), arguments(args));
        FerryRun result;
        if (!process.waitForStarted())
            return result;
        if (!input.isEmpty())
            process.write(input);
        process.closeWriteChannel();
        if (!process.waitForFinished(timeoutMs)) {
            process.kill();
            process.waitForFinished();
        }
        result.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
        result.out = process.readAllStandardOutput();
        result.err = process.readAllStandardError();
        return result;
    }

    /// Adds a profile for the local S3 test server at @p port (5 MiB parts and threshold).
    FerryRun addProfile(const QString &name, const QString &local, quint16 port,
                        const QString &bucket, const QString &prefix,
                        const QStringList &extra = {}) const
    {
        QStringList args;
        args << "profile"
             << "add" << name << "--local" << local << "--remote"
             << QStringLiteral("http://127.0.0.1:%1/%2/%3").arg(port).arg(bucket, prefix)
             << "--access-key-id" << S3TestServer::accessKey() << "--secret-stdin"
             << "--part-size" << QString::number(5 * 1024 * 1024) << "--multipart-threshold"
             << QString::number(5 * 1024 * 1024);
        args << extra;
        return run(args, S3TestServer::secretKey().toUtf8() + '\n');
    }

    [[nodiscard]] QString dataDir() const { return m_dataDir; }

private:
    QString m_dataDir;
    QProcessEnvironment m_environment = QProcessEnvironment::systemEnvironment();
};

/// Writes @p size bytes drawn from @p rng to @p path (parents created).
inline bool writeSeeded(const QString &path, qint64 size, QRandomGenerator &rng)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        return false;
    QByteArray chunk(1024 * 1024, Qt::Uninitialized);
    for (qint64 left = size; left > 0; left -= chunk.size()) {
        rng.fillRange(reinterpret_cast<quint32 *>(chunk.data()), chunk.size() / 4);
        if (file.write(chunk.constData(), std::min<qint64>(left, chunk.size())) < 0)
            return false;
    }
    return true;
}

} // namespace ferry::test
