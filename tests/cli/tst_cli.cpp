// The `ferry` binary itself, run through QProcess against the local S3 server: profiles,
// sync with its exit codes and JSON output, history, status, cancel over the control socket,
// SIGINT and SIGTERM (exit 130 / 143, uploads aborted, history Cancelled), and cleanup of
// orphaned uploads.

#include "app/s3/S3Client.h"
#include "support/S3TestServer.h"

#include <QCoro/QCoroTask>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>
#include <sys/stat.h>

using namespace ferry;
using namespace ferry::test;

namespace {

constexpr qint64 MiB = 1024 * 1024;

struct Run {
    int exitCode = -1;
    QByteArray out;
    QByteArray err;
};

QList<QJsonObject> jsonLines(const QByteArray &text)
{
    QList<QJsonObject> lines;
    for (const QByteArray &line : text.split('\n'))
        if (line.startsWith('{'))
            lines.append(QJsonDocument::fromJson(line).object());
    return lines;
}

void writeFile(const QString &path, qint64 size, const QByteArray &content = {})
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    if (!content.isEmpty()) {
        file.write(content);
        return;
    }
    QByteArray chunk(MiB, Qt::Uninitialized);
    for (qint64 left = size; left > 0; left -= chunk.size()) {
        QRandomGenerator::global()->fillRange(reinterpret_cast<quint32 *>(chunk.data()),
                                              chunk.size() / 4);
        file.write(chunk.constData(), std::min<qint64>(left, chunk.size()));
    }
}

} // namespace

class TestCli : public QObject {
    Q_OBJECT

    std::optional<S3TestServer> m_server;
    QTemporaryDir m_tmp;
    std::unique_ptr<s3::S3Client> m_client;

    QString dataDir() const { return m_tmp.filePath("data"); }

    QStringList withDataDir(const QStringList &args) const
    {
        QStringList all;
        all << "--data-dir" << dataDir();
        all << args;
        return all;
    }

    Run ferry(const QStringList &args, const QByteArray &input = {}, int timeoutMs = 120'000)
    {
        QProcess process;
        process.start(FERRY_BINARY, withDataDir(args));
        if (!process.waitForStarted())
            return {};
        if (!input.isEmpty())
            process.write(input);
        process.closeWriteChannel();
        process.waitForFinished(timeoutMs);
        Run run;
        run.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
        run.out = process.readAllStandardOutput();
        run.err = process.readAllStandardError();
        return run;
    }

    QString remote(const QString &bucket, const QString &prefix) const
    {
        return QStringLiteral("http://127.0.0.1:%1/%2/%3")
            .arg(m_server->port())
            .arg(bucket, prefix);
    }

    void addProfile(const QString &name, const QString &local, const QString &bucket,
                    const QString &prefix, const QStringList &extra = {})
    {
        QStringList args;
        args << "profile"
             << "add" << name << "--local" << local << "--remote" << remote(bucket, prefix)
             << "--access-key-id" << S3TestServer::accessKey() << "--secret-stdin"
             << "--part-size" << QString::number(5 * MiB) << "--multipart-threshold"
             << QString::number(5 * MiB);
        args << extra;
        const Run run = ferry(args, S3TestServer::secretKey().toUtf8() + '\n');
        QVERIFY2(run.exitCode == 0, run.err.constData());
        QVERIFY(!run.out.contains(S3TestServer::secretKey().toUtf8() + "\n"));
    }

    void createBucket(const QString &bucket)
    {
        auto created = QCoro::waitFor(m_client->createBucket(bucket, {}));
        QVERIFY(created.has_value());
    }

    /// Starts `ferry sync NAME --json` and waits until it reports bytes sent.
    std::unique_ptr<QProcess> startSyncAndWaitForBytes(const QString &name)
    {
        auto process = std::make_unique<QProcess>();
        process->setProcessChannelMode(QProcess::SeparateChannels);
        process->start(FERRY_BINARY, withDataDir(QStringList{"sync", name, "--json"}));
        if (!process->waitForStarted())
            return nullptr;
        QByteArray seen;
        bool sending = false;
        QElapsedTimer clock;
        clock.start();
        while (!sending && clock.elapsed() < 60'000 && process->state() == QProcess::Running) {
            process->waitForReadyRead(1000);
            seen += process->readAllStandardOutput();
            for (const auto &line : jsonLines(seen))
                sending = sending || line.value("bytesDone").toInteger() > 0;
        }
        if (!sending) {
            qWarning() << "sync never reported bytes:" << seen << process->readAllStandardError();
            return nullptr;
        }
        return process;
    }

    void verifyNoUploadsLeft(const QString &bucket)
    {
        auto uploads = QCoro::waitFor(m_client->listAllMultipartUploads(bucket, "", {}));
        QVERIFY(uploads.has_value());
        QCOMPARE(uploads->size(), 0);
        // Segments may only belong to objects that were completed before the stop.
        auto objects = QCoro::waitFor(m_client->listAllObjects(bucket, "", {}));
        QVERIFY(objects.has_value());
        QStringList completed;
        for (const auto &object : *objects)
            completed.append(object.key + '/');
        const auto segments = m_server->listSegments(bucket);
        QVERIFY2(segments.ok(), qPrintable(segments.error));
        for (const auto &segment : segments.names) {
            bool owned = false;
            for (const auto &key : completed)
                owned = owned || segment.startsWith(key);
            QVERIFY2(owned, qPrintable(segment));
        }
    }

private slots:
    void initTestCase()
    {
        m_server = S3TestServer::fromEnvironment();
        QVERIFY2(m_server.has_value(), qPrintable(S3TestServer::environmentProblem()));
        qputenv("FERRY_SECRET_STORE", "file");
        s3::ClientConfig config;
        config.endpoint =
            *s3::Endpoint::fromUrl(QStringLiteral("http://127.0.0.1:%1").arg(m_server->port()));
        config.credentials.accessKeyId = S3TestServer::accessKey();
        config.credentials.secretAccessKey = S3TestServer::secretKey();
        m_client = std::make_unique<s3::S3Client>(config);
    }

    void helpPrintsUsage()
    {
        // Without a subcommand (or --help) `ferry` opens the window: the ui suites cover that.
        const Run run = ferry({"--help"});
        QCOMPARE(run.exitCode, 0);
        QVERIFY(run.out.contains("Usage:"));
        const Run bad = ferry({"frobnicate"});
        QCOMPARE(bad.exitCode, 2);
        QVERIFY(bad.err.contains("Unknown command"));
    }

    void profileCommands()
    {
        const QString local = m_tmp.filePath("profiles-src");
        QDir().mkpath(local);
        addProfile("docs", local, "cli-profiles", "docs", {"--exclude", "*.tmp"});
        const Run taken = ferry(
            {"profile", "add", "docs", "--local", local, "--remote", remote("cli-profiles", "x")});
        QCOMPARE(taken.exitCode, 2);
        QVERIFY(taken.err.contains("already exists"));
        const Run missing = ferry({"profile", "add", "other", "--local", m_tmp.filePath("nope"),
                                   "--remote", remote("cli-profiles", "x")});
        QCOMPARE(missing.exitCode, 2);
        QVERIFY(missing.err.contains("does not exist"));
        const Run malformed =
            ferry({"profile", "add", "other", "--local", local, "--remote", "ftp://x/y"});
        QCOMPARE(malformed.exitCode, 2);
        QVERIFY(malformed.err.contains("not usable"));
        const Run small = ferry({"profile", "add", "other", "--local", local, "--remote",
                                 remote("cli-profiles", "x"), "--part-size", "1024"});
        QCOMPARE(small.exitCode, 2);
        QVERIFY(small.err.contains("5 MiB"));

        const Run list = ferry({"profile", "list", "--json"});
        QCOMPARE(list.exitCode, 0);
        const QJsonArray profiles = QJsonDocument::fromJson(list.out).array();
        QCOMPARE(profiles.size(), 1);
        QCOMPARE(profiles.first().toObject().value("name").toString(), QString("docs"));
        QCOMPARE(profiles.first().toObject().value("excludes").toArray().size(), 1);
        const Run show = ferry({"profile", "show", "docs"});
        QCOMPARE(show.exitCode, 0);
        QVERIFY(show.out.contains("secret: stored in the file"));
        QVERIFY(!show.out.contains("testing\n"));
        QFile db(QDir(dataDir()).filePath("ferry.sqlite"));
        QVERIFY(db.open(QIODevice::ReadOnly));
        QVERIFY(!db.readAll().contains("\"secret"));
        const Run removed = ferry({"profile", "remove", "docs"});
        QCOMPARE(removed.exitCode, 0);
        QCOMPARE(ferry({"profile", "show", "docs"}).exitCode, 2);
    }

    void secretGoesToAPrivateFileWhenNoKeychainAnswers()
    {
        // No session bus at all: neither the Secret Service nor KWallet can answer, whatever
        // this machine runs, so Ferry must choose the file on its own and say so.
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.remove("FERRY_SECRET_STORE");
        env.insert("DBUS_SESSION_BUS_ADDRESS", "unix:path=" + m_tmp.filePath("no-such-bus"));
        const QString data = m_tmp.filePath("keychain-data");
        const QString local = m_tmp.filePath("keychain-src");
        QDir().mkpath(local);
        const QStringList add = {"--data-dir",
                                 data,
                                 "profile",
                                 "add",
                                 "vault",
                                 "--local",
                                 local,
                                 "--remote",
                                 remote("cli-vault", "v"),
                                 "--access-key-id",
                                 S3TestServer::accessKey(),
                                 "--secret-stdin"};
        QProcess process;
        process.setProcessEnvironment(env);
        process.start(FERRY_BINARY, add);
        QVERIFY(process.waitForStarted());
        process.write("vault-secret-value\n");
        process.closeWriteChannel();
        QVERIFY(process.waitForFinished(60'000));
        const QByteArray out = process.readAllStandardOutput();
        QVERIFY2(process.exitCode() == 0, process.readAllStandardError().constData());
        const QString secretsFile = QDir(data).filePath("secrets.json");
        QVERIFY2(out.contains("kept in the file " + secretsFile.toUtf8()), out.constData());
        QVERIFY(!out.contains("vault-secret-value"));
        struct stat info {};
        QCOMPARE(::stat(QFile::encodeName(secretsFile).constData(), &info), 0);
        QCOMPARE(info.st_mode & 0777, mode_t(0600));
        process.start(FERRY_BINARY, {"--data-dir", data, "profile", "show", "vault"});
        QVERIFY(process.waitForFinished(60'000));
        const QByteArray shown = process.readAllStandardOutput();
        QVERIFY2(shown.contains("secret: stored in the file " + secretsFile.toUtf8()),
                 shown.constData());
        QVERIFY(!shown.contains("vault-secret-value"));
        QFile secrets(secretsFile);
        QVERIFY(secrets.open(QIODevice::ReadOnly));
        QVERIFY(secrets.readAll().contains("vault-secret-value"));
        QFile db(QDir(data).filePath("ferry.sqlite"));
        QVERIFY(db.open(QIODevice::ReadOnly));
        QVERIFY(!db.readAll().contains("vault-secret-value"));
    }

    void commandsPrintNoLogLines()
    {
        // A fresh data directory: the first sync creates the scheduler's schema, which Ferry
        // logs at info level; only QT_LOGGING_RULES brings such lines to the terminal.
        const QString local = m_tmp.filePath("quiet-src");
        writeFile(local + "/a.txt", 0, "quiet\n");
        createBucket("cli-quiet");
        auto runIn = [&](const QString &dataDir, const QStringList &args,
                         const QString &loggingRules) {
            QProcess process;
            QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
            env.insert("FERRY_SECRET_STORE", "file");
            env.insert("QT_LOGGING_RULES", loggingRules);
            process.setProcessEnvironment(env);
            process.start(FERRY_BINARY, QStringList{"--data-dir", dataDir} + args);
            process.write(S3TestServer::secretKey().toUtf8() + '\n');
            process.closeWriteChannel();
            if (!process.waitForFinished(120'000))
                return Run{};
            return Run{process.exitCode(), process.readAllStandardOutput(),
                       process.readAllStandardError()};
        };
        for (const QString rules : {"", "ferry.*.info=true"}) {
            const QString dataDir = m_tmp.filePath(rules.isEmpty() ? "quiet" : "verbose");
            const Run added =
                runIn(dataDir,
                      {"profile", "add", "q", "--local", local, "--remote",
                       remote("cli-quiet", dataDir.section('/', -1)), "--access-key-id",
                       S3TestServer::accessKey(), "--secret-stdin"},
                      rules);
            QVERIFY2(added.exitCode == 0, added.err.constData());
            const Run synced = runIn(dataDir, {"sync", "q"}, rules);
            QVERIFY2(synced.exitCode == 0, synced.err.constData());
            QVERIFY(synced.out.contains("completed, 1 file(s)"));
            if (rules.isEmpty())
                QVERIFY2(synced.err.isEmpty(), synced.err.constData());
            else
                QVERIFY2(synced.err.contains("created scheduler schema"), synced.err.constData());
        }
    }

    void syncHistoryStatus()
    {
        const QString local = m_tmp.filePath("sync-src");
        writeFile(local + "/a.txt", 0, "alpha\n");
        writeFile(local + QString::fromUtf8("/dir/ünï.txt"), 0, "unicode\n");
        writeFile(local + "/big.bin", 11 * MiB);
        createBucket("cli-sync");
        addProfile("main", local, "cli-sync", "m");
        const Run first = ferry({"sync", "main", "--json"});
        QVERIFY2(first.exitCode == 0, first.err.constData());
        const auto lines = jsonLines(first.out);
        QVERIFY(!lines.isEmpty());
        const QJsonObject result = lines.last();
        QCOMPARE(result.value("event").toString(), QString("result"));
        QCOMPARE(result.value("status").toString(), QString("completed"));
        QCOMPARE(result.value("filesDone").toInt(), 3);
        auto listed = QCoro::waitFor(m_client->listAllObjects("cli-sync", "m/", {}));
        QVERIFY(listed.has_value());
        QCOMPARE(listed->size(), 3);

        const Run second = ferry({"sync", "main", "--json"});
        QCOMPARE(second.exitCode, 0);
        QCOMPARE(jsonLines(second.out).last().value("filesDone").toInt(), 0);

        const Run history = ferry({"history", "--profile", "main", "--json", "--limit", "50"});
        QCOMPARE(history.exitCode, 0);
        const auto rows = jsonLines(history.out);
        QVERIFY(rows.size() >= 6);
        for (const char *field : {"id", "taskId", "type", "group", "dedupKey", "label", "status",
                                  "reason", "cleanup", "error", "startedAt", "finishedAt", "bytes"})
            QVERIFY2(rows.first().contains(field), field);
        for (const auto &row : rows)
            QVERIFY(row.value("dedupKey").toString().startsWith("profile:main:"));
        const Run completed = ferry({"history", "--status", "completed", "--limit", "1"});
        QCOMPARE(completed.exitCode, 0);
        QVERIFY(completed.out.contains("completed"));
        QCOMPARE(ferry({"history", "--status", "bogus"}).exitCode, 2);

        const Run status = ferry({"status", "--json"});
        QCOMPARE(status.exitCode, 0);
        QCOMPARE(jsonLines(status.out).first().value("kind").toString(), QString("stats"));
    }

    void syncFailureExitsOne()
    {
        const QString local = m_tmp.filePath("fail-src");
        writeFile(local + "/a.txt", 0, "alpha\n");
        addProfile("nobucket", local, "cli-no-such-bucket", "");
        const Run run = ferry({"sync", "nobucket"});
        QCOMPARE(run.exitCode, 1);
        QVERIFY2(run.err.contains("cli-no-such-bucket"), run.err.constData());
        QCOMPARE(ferry({"sync", "unknown-profile"}).exitCode, 2);
    }

    void signalCancelsAndCleansUp_data()
    {
        QTest::addColumn<int>("signal");
        QTest::addColumn<int>("exitCode");
        QTest::newRow("SIGINT") << int(SIGINT) << 130;
        QTest::newRow("SIGTERM") << int(SIGTERM) << 143;
    }

    void signalCancelsAndCleansUp()
    {
        QFETCH(int, signal);
        QFETCH(int, exitCode);
        const QString tag = QString::fromLatin1(QTest::currentDataTag()).toLower();
        const QString local = m_tmp.filePath(tag + "-src");
        for (int i = 0; i < 10; ++i)
            writeFile(local + QStringLiteral("/large-%1.bin").arg(i), 12 * MiB);
        const QString bucket = "cli-" + tag;
        createBucket(bucket);
        addProfile(tag, local, bucket, "b", {"--concurrency", "1"});
        auto process = startSyncAndWaitForBytes(tag);
        QVERIFY(process);
        QElapsedTimer stopping;
        stopping.start();
        ::kill(pid_t(process->processId()), signal);
        QVERIFY(process->waitForFinished(30'000));
        const qint64 stopMs = stopping.elapsed();
        QCOMPARE(process->exitStatus(), QProcess::NormalExit);
        QCOMPARE(process->exitCode(), exitCode);
        QVERIFY2(stopMs < 10'000, qPrintable(QString::number(stopMs) + " ms to stop"));
        const auto lines = jsonLines(process->readAllStandardOutput());
        QVERIFY(!lines.isEmpty());
        QCOMPARE(lines.last().value("event").toString(), QString("result"));
        QCOMPARE(lines.last().value("status").toString(), QString("cancelled"));

        const Run history = ferry(
            {"history", "--profile", tag, "--status", "cancelled", "--json", "--limit", "1000"});
        QCOMPARE(history.exitCode, 0);
        const auto rows = jsonLines(history.out);
        QVERIFY(!rows.isEmpty());
        int hooked = 0;
        bool runCancelled = false;
        for (const auto &row : rows) {
            runCancelled = runCancelled || row.value("type").toString() == "sync-run";
            if (row.value("type").toString() == "upload-multipart" &&
                row.value("startedAt").toString() != "") {
                QCOMPARE(row.value("cleanup").toString(), QString("ok"));
                ++hooked;
            }
        }
        QVERIFY(runCancelled);
        QVERIFY(hooked > 0);
        verifyNoUploadsLeft(bucket);
    }

    void cancelOverTheSocket()
    {
        const QString local = m_tmp.filePath("cancel-src");
        for (int i = 0; i < 10; ++i)
            writeFile(local + QStringLiteral("/large-%1.bin").arg(i), 12 * MiB);
        createBucket("cli-cancel");
        addProfile("remote-cancel", local, "cli-cancel", "", {"--concurrency", "1"});
        auto process = startSyncAndWaitForBytes("remote-cancel");
        QVERIFY(process);
        const Run cancel = ferry({"cancel", "remote-cancel"});
        QVERIFY2(cancel.exitCode == 0, cancel.err.constData());
        QVERIFY(cancel.out.contains("Cancelled"));
        QVERIFY(process->waitForFinished(30'000));
        QCOMPARE(process->exitCode(), 3);
        const auto lines = jsonLines(process->readAllStandardOutput());
        QCOMPARE(lines.last().value("status").toString(), QString("cancelled"));
        verifyNoUploadsLeft("cli-cancel");
    }

    void killNineThenResume()
    {
        const QString local = m_tmp.filePath("kill-src");
        for (int i = 0; i < 6; ++i)
            writeFile(local + QStringLiteral("/large-%1.bin").arg(i), 12 * MiB);
        writeFile(local + "/small.txt", 0, "small\n");
        createBucket("cli-kill");
        addProfile("crash", local, "cli-kill", "k", {"--concurrency", "1"});
        auto process = startSyncAndWaitForBytes("crash");
        QVERIFY(process);
        process->kill(); // SIGKILL: no clean-up, no shutdown
        QVERIFY(process->waitForFinished(10'000));
        QCOMPARE(process->exitStatus(), QProcess::CrashExit);

        const Run resumed = ferry({"sync", "crash", "--json"});
        QVERIFY2(resumed.exitCode == 0, resumed.err.constData());
        QCOMPARE(jsonLines(resumed.out).last().value("status").toString(), QString("completed"));
        QTemporaryDir downloads;
        QDir source(local);
        for (const QString &name : source.entryList(QDir::Files)) {
            auto got = QCoro::waitFor(
                m_client->getObject("cli-kill", "k/" + name, downloads.filePath(name), {}));
            QVERIFY2(got.has_value(), qPrintable(name));
            QFile a(downloads.filePath(name));
            QFile b(source.filePath(name));
            QVERIFY(a.open(QIODevice::ReadOnly) && b.open(QIODevice::ReadOnly));
            QVERIFY2(a.readAll() == b.readAll(), qPrintable(name));
        }
        verifyNoUploadsLeft("cli-kill");
        const Run again = ferry({"sync", "crash", "--json"});
        QCOMPARE(again.exitCode, 0);
        QCOMPARE(jsonLines(again.out).last().value("filesDone").toInt(), 0);
    }

    void cleanupAbortsOrphans()
    {
        const QString local = m_tmp.filePath("cleanup-src");
        QDir().mkpath(local);
        createBucket("cli-cleanup");
        addProfile("tidy", local, "cli-cleanup", "t");
        auto orphan = QCoro::waitFor(m_client->createMultipartUpload("cli-cleanup", "t/x.bin", {}));
        QVERIFY(orphan.has_value());
        const Run dry = ferry({"cleanup", "tidy", "--older-than", "0s", "--dry-run"});
        QCOMPARE(dry.exitCode, 0);
        QVERIFY(dry.out.contains("would abort t/x.bin"));
        const Run young = ferry({"cleanup", "tidy"});
        QCOMPARE(young.exitCode, 0);
        QVERIFY(young.out.contains("kept t/x.bin"));
        const Run run = ferry({"cleanup", "tidy", "--older-than", "0s"});
        QCOMPARE(run.exitCode, 0);
        QVERIFY(run.out.contains("aborted t/x.bin"));
        verifyNoUploadsLeft("cli-cleanup");
        QCOMPARE(ferry({"cleanup", "tidy", "--older-than", "soon"}).exitCode, 2);
    }
};

QTEST_GUILESS_MAIN(TestCli)
#include "tst_cli.moc"
