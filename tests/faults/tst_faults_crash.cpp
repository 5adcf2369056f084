// The crash harness: `ferry sync` on a mixed tree (hundreds of small files, several multipart
// files, excluded files) is killed with SIGKILL at seeded random moments — 20 kills, some at a
// random delay after the start, some a random delay after it reported bytes sent — and
// restarted, with a few files changed between runs so every run has work (a run that ends
// before its kill shortens the delays after it, so a fast machine still gets its kills). A final
// sync then runs to completion and every invariant is checked: each object byte-identical to its
// file, no object for an excluded file, no multipart upload in progress, only parts of completed
// objects in the segments container, each task id with exactly one history row and nothing
// still active, and the journal matching the bucket.
//
// The seed is fixed (FERRY_CRASH_SEED overrides it, to explore other schedules). Every run's
// output, with Ferry's info-level log, goes to runs.log in the test's temporary directory,
// which a failure keeps (its path is printed): a rare failure can then be read, not guessed.

#include "FaultTestSupport.h"
#include "FerryProcess.h"
#include "app/DataDirectory.h"
#include "app/profiles/AppStore.h"

#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <array>

using namespace ferry;
using namespace ferry::test;

namespace {

constexpr qint64 MiB = 1024 * 1024;
constexpr int Kills = 20;
constexpr int MaxKillDelayMs = 750;
constexpr int SmallFiles = 300;
constexpr int LargeFiles = 4;
constexpr int ExcludedFiles = 20;
const QString ProfileName = QStringLiteral("crash");
const QString Bucket = QStringLiteral("faults-crash");
const QString Prefix = QStringLiteral("c/");

bool isExcluded(const QString &relative)
{
    return relative.endsWith(QLatin1String(".tmp")) || relative.startsWith(QLatin1String("cache/"));
}

} // namespace

class TestFaultsCrash : public QObject {
    Q_OBJECT

    std::optional<S3TestServer> m_server;
    QTemporaryDir m_tmp;
    quint32 m_seed = 20261129;

    QString root() const { return m_tmp.filePath("tree"); }

    /// Appends one run's output to runs.log.
    void logRun(const QString &what, const QByteArray &out, const QByteArray &err)
    {
        QFile log(m_tmp.filePath("runs.log"));
        if (!log.open(QIODevice::Append))
            return;
        log.write("==== " + what.toUtf8() + "\n" + out + "---- stderr\n" + err + "\n");
    }

    QString smallPath(int i) const
    {
        return root() + QStringLiteral("/docs/%1/f%2.txt").arg(i % 7).arg(i);
    }
    QString largePath(int i) const { return root() + QStringLiteral("/media/large-%1.bin").arg(i); }

    void makeTree(QRandomGenerator &rng)
    {
        for (int i = 0; i < SmallFiles; ++i)
            QVERIFY(writeSeeded(smallPath(i), 512 + rng.bounded(16 * 1024), rng));
        for (int i = 0; i < LargeFiles; ++i)
            QVERIFY(writeSeeded(largePath(i), 11 * MiB + rng.bounded(1024 * 1024), rng));
        for (int i = 0; i < ExcludedFiles; ++i) {
            const QString name = i % 2 ? QStringLiteral("/docs/scratch-%1.tmp")
                                       : QStringLiteral("/cache/blob-%1.bin");
            QVERIFY(writeSeeded(root() + name.arg(i), 1024 + rng.bounded(64 * 1024), rng));
        }
    }

    /// Changes between runs, so each restart finds work of every kind.
    void changeSome(QRandomGenerator &rng, int round)
    {
        for (int n = 0; n < 25; ++n)
            QVERIFY(writeSeeded(smallPath(int(rng.bounded(SmallFiles))),
                                512 + rng.bounded(16 * 1024), rng));
        if (round % 2 == 0)
            QVERIFY(writeSeeded(largePath(int(rng.bounded(LargeFiles))),
                                11 * MiB + rng.bounded(1024 * 1024), rng));
    }

    // The longest delay before a kill, per kind of round (from the start, from the first bytes
    // sent): a run that ends before its kill narrows its kind's window to 90% of how long it
    // lasted, a kill widens it again by a quarter, so kills land while runs still work however
    // fast the machine is, spread over as much of a run as the machine leaves.
    std::array<int, 2> m_killWindowMs = {MaxKillDelayMs, MaxKillDelayMs};

    /// Starts `ferry sync`, kills it at a seeded moment; true when it was still running.
    bool syncAndKill(const FerryCli &cli, QRandomGenerator &rng, int round)
    {
        QProcess process;
        process.setProcessEnvironment(cli.environment());
        process.start(QStringLiteral(FERRY_BINARY),
                      cli.arguments(QStringList() << "sync" << ProfileName << "--json"));
        if (!process.waitForStarted())
            return false;
        QByteArray out;
        if (round % 2 == 1) {
            // Wait for the first progress line with bytes sent (bounded), then a bit more.
            QByteArray seen;
            QElapsedTimer clock;
            clock.start();
            bool sending = false;
            while (!sending && clock.elapsed() < 20'000 && process.state() == QProcess::Running) {
                process.waitForReadyRead(200);
                seen += process.readAllStandardOutput();
                for (const auto &line : jsonLines(seen))
                    sending = sending || line.value("bytesDone").toInteger() > 0;
            }
            out = seen;
        }
        // The injected fault: SIGKILL after a seeded delay (returns early if ferry ended).
        int &window = m_killWindowMs[round % 2];
        const int delayMs = std::min(50 + int(rng.bounded(MaxKillDelayMs - 50)), window);
        QElapsedTimer delay;
        delay.start();
        process.waitForFinished(delayMs);
        const qint64 waitedMs = delay.elapsed();
        const bool killed = process.state() == QProcess::Running;
        window = killed ? std::min(MaxKillDelayMs, window * 5 / 4 + 1)
                        : std::max(1, int(waitedMs * 9 / 10));
        process.kill();
        process.waitForFinished(10'000);
        logRun(QStringLiteral("round %1: %2 %3 ms after %4")
                   .arg(round)
                   .arg(killed ? QStringLiteral("killed") : QStringLiteral("ended"))
                   .arg(waitedMs)
                   .arg(round % 2 ? QStringLiteral("its first bytes sent")
                                  : QStringLiteral("its start")),
               out + process.readAllStandardOutput(), process.readAllStandardError());
        return killed;
    }

    void verifyHistory(const FerryCli &cli)
    {
        const FerryRun history = cli.run({"history", "--json", "--limit", "1000000"});
        QCOMPARE(history.exitCode, 0);
        QHash<qint64, int> rowsPerTask;
        for (const auto &row : jsonLines(history.out))
            ++rowsPerTask[row.value("taskId").toInteger()];
        QVERIFY(rowsPerTask.size() > SmallFiles);
        for (auto it = rowsPerTask.cbegin(); it != rowsPerTask.cend(); ++it)
            QVERIFY2(
                it.value() == 1,
                qPrintable(
                    QStringLiteral("task %1 has %2 history rows").arg(it.key()).arg(it.value())));
        const FerryRun status = cli.run({"status", "--json"});
        QCOMPARE(status.exitCode, 0);
        const auto lines = jsonLines(status.out);
        QVERIFY(!lines.isEmpty());
        const QJsonObject stats = lines.first();
        for (const char *field : {"pending", "running", "waiting", "cancelling", "paused"})
            QVERIFY2(stats.value(QLatin1String(field)).toInteger() == 0,
                     qPrintable(QString::fromUtf8(status.out)));
    }

    void verifyJournal(s3::S3Client &client)
    {
        AppStore store(DataDirectory::databasePath(m_tmp.filePath("data")));
        QVERIFY(store.open().has_value());
        auto objects = QCoro::waitFor(client.listAllObjects(Bucket, Prefix, {}));
        QVERIFY(objects.has_value());
        for (const auto &object : *objects) {
            const auto entry = store.journalEntry(ProfileName, object.key.mid(Prefix.size()));
            QVERIFY2(entry.has_value(), qPrintable(object.key));
            QCOMPARE(entry->size, object.size);
            QCOMPARE(QString(entry->etag).remove('"'), QString(object.etag).remove('"'));
            const QFileInfo local(root() + '/' + object.key.mid(Prefix.size()));
            QCOMPARE(entry->size, local.size());
        }
    }

private slots:
    void initTestCase()
    {
        m_server = S3TestServer::fromEnvironment();
        QVERIFY2(m_server.has_value(), qPrintable(S3TestServer::environmentProblem()));
        qputenv("FERRY_SECRET_STORE", "file");
        if (const QByteArray seed = qgetenv("FERRY_CRASH_SEED"); !seed.isEmpty())
            m_seed = seed.toUInt();
        qInfo() << "seed" << m_seed;
    }

    void cleanup()
    {
        if (!QTest::currentTestFailed())
            return;
        m_tmp.setAutoRemove(false);
        qWarning().noquote() << "kept for diagnosis:" << m_tmp.path()
                             << "(runs.log holds every run's output)";
    }

    void killedAtRandomThenCompletesWithEveryInvariant()
    {
        QRandomGenerator rng(m_seed);
        makeTree(rng);
        auto client = directClient(m_server->port());
        QVERIFY(QCoro::waitFor(client->createBucket(Bucket, {})).has_value());
        FerryCli cli(m_tmp.filePath("data"));
        cli.setVariable(QStringLiteral("QT_LOGGING_RULES"), QStringLiteral("ferry.*.info=true"));
        const FerryRun added =
            cli.addProfile(ProfileName, root(), m_server->port(), Bucket, Prefix,
                           {"--exclude", "*.tmp", "--exclude", "cache/*", "--concurrency", "4"});
        QVERIFY2(added.exitCode == 0, added.err.constData());

        int kills = 0;
        int finishedFirst = 0;
        for (int round = 0; kills < Kills && round < 3 * Kills; ++round) {
            if (syncAndKill(cli, rng, round))
                ++kills;
            else
                ++finishedFirst;
            changeSome(rng, round);
        }
        qInfo() << "kills" << kills << "runs that ended before their kill" << finishedFirst
                << "kill windows (ms)" << m_killWindowMs[0] << m_killWindowMs[1];
        QCOMPARE(kills, Kills);

        // The first sync finishes the interrupted run, which scanned the tree as it was then;
        // the second is a fresh run over the final tree. Both complete: a file that changed
        // since the interrupted run sent some of its parts is aborted and sent again by that
        // same run, never stored half old half new.
        for (int pass = 0; pass < 2; ++pass) {
            const FerryRun last = cli.run({"sync", ProfileName, "--json"}, {}, 120'000);
            const auto lines = jsonLines(last.out);
            QVERIFY2(!lines.isEmpty(), last.err.constData());
            QVERIFY2(last.exitCode == 0, (last.out + last.err).constData());
            QCOMPARE(lines.last().value("status").toString(), QString("completed"));
        }

        // A kill between the server making an upload and Ferry recording it: the intent
        // recorded before the create lets the final syncs' sweeps abort it.
        AppStore store(DataDirectory::databasePath(m_tmp.filePath("data")));
        QVERIFY(store.open().has_value());
        const QStringList unknown =
            abortUnknownUploads(*client, Bucket, Prefix,
                                [&store](const QString &id) { return store.isKnownUpload(id); });
        QVERIFY2(unknown.isEmpty(), qPrintable(unknown.join(", ")));
        const QString problems =
            checkBucketMatchesTree(*client, *m_server, Bucket, Prefix, root(), isExcluded);
        QVERIFY2(problems.isEmpty(), qPrintable(problems));
        verifyHistory(cli);
        verifyJournal(*client);
    }
};

QTEST_GUILESS_MAIN(TestFaultsCrash)
#include "tst_faults_crash.moc"
