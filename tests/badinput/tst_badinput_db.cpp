// Bad-input catalogue, the database: corrupt or truncated, read-only,
// locked by another process (the data directory's owner lock, or an SQLite write lock), from
// a newer Ferry, and a full disk (RLIMIT_FSIZE on the child: its writes fail with EFBIG, the
// way they fail with ENOSPC on a full disk). Each row runs the real `ferry` on a fresh copy
// of a data directory and checks the exit code, the message (cause and fix) and that the
// data directory is exactly as before.

#include "BadInputSupport.h"

#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QLockFile>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>
#include <QUuid>

using namespace ferry::test;

namespace {

void copyTree(const QString &from, const QString &to)
{
    QDir().mkpath(to);
    QDirIterator it(from, QDir::Files | QDir::Hidden | QDir::NoDotAndDotDot);
    while (it.hasNext()) {
        const QString path = it.next();
        QFile::copy(path, QDir(to).filePath(it.fileName()));
        QFile::setPermissions(QDir(to).filePath(it.fileName()), QFileInfo(path).permissions());
    }
}

/// Runs `sql` on the database at `path` from the test process.
bool execSql(const QString &path, const QString &sql)
{
    const QString name = QUuid::createUuid().toString();
    bool ok = false;
    {
        auto db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
        db.setDatabaseName(path);
        ok = db.open() && QSqlQuery(db).exec(sql);
        db.close();
    }
    QSqlDatabase::removeDatabase(name);
    return ok;
}

} // namespace

class TestBadInputDb : public QObject {
    Q_OBJECT

    QTemporaryDir m_tmp;
    QString m_template;
    QProcessEnvironment m_env;
    int m_row = 0;

    FerryRun ferry(const QString &dataDir, const QStringList &args, qint64 fileSizeLimit = 0,
                   const QByteArray &input = {})
    {
        QStringList all;
        all << QStringLiteral("--data-dir") << dataDir << args;
        FerryOptions options;
        options.environment = m_env;
        options.fileSizeLimit = fileSizeLimit;
        options.input = input;
        return runFerry(QStringLiteral(FERRY_BINARY), all, options);
    }

private slots:
    void initTestCase()
    {
        QVERIFY(m_tmp.isValid());
        m_env = QProcessEnvironment::systemEnvironment();
        m_env.insert("FERRY_SECRET_STORE", "file");
        m_env.insert("HOME", m_tmp.filePath("home"));
        m_env.remove("AWS_ACCESS_KEY_ID");
        m_env.remove("AWS_SECRET_ACCESS_KEY");
        m_template = m_tmp.filePath("template");
        QDir().mkpath(m_tmp.filePath("src"));
        const FerryRun added = ferry(
            m_template,
            {"profile", "add", "existing", "--local", m_tmp.filePath("src"), "--remote",
             "http://127.0.0.1:9/bucket/prefix", "--access-key-id", "AKEXAMPLE", "--secret-stdin"},
            0, "s3cr3t\n");
        QVERIFY2(added.exitCode == 0, added.err.constData());
        const FerryRun status = ferry(m_template, {"status"});
        QVERIFY2(status.exitCode == 0, status.err.constData());
        // Everything in the main file: the copies must not depend on a WAL.
        QVERIFY(execSql(m_template + "/ferry.sqlite", "PRAGMA wal_checkpoint(TRUNCATE)"));
    }

    void rejected_data()
    {
        QTest::addColumn<QString>("setup");
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<qint64>("fileSizeLimit");
        QTest::addColumn<QStringList>("needles");
        const QStringList add = {"profile",
                                 "add",
                                 "second",
                                 "--local",
                                 "@src@",
                                 "--remote",
                                 "http://127.0.0.1:9/bucket/second"};
        auto row = [](const char *name, const char *setup, const QStringList &args,
                      const QStringList &needles, qint64 limit = 0) {
            QTest::newRow(name) << QString::fromLatin1(setup) << args << limit << needles;
        };
        const QStringList corrupt = {"damaged or not a database", "move it away"};
        row("db: garbage file (profile list)", "corrupt", {"profile", "list"}, corrupt);
        row("db: garbage file (profile add)", "corrupt", add, corrupt);
        row("db: garbage file (sync)", "corrupt", {"sync", "existing"}, corrupt);
        row("db: garbage file (status)", "corrupt", {"status"},
            {"not a usable SQLite database", "move it away"});
        row("db: garbage file (history)", "corrupt", {"history"},
            {"not a usable SQLite database", "move it away"});
        row("db: truncated file (profile show)", "truncated", {"profile", "show", "existing"},
            corrupt);
        row("db: database path is a folder (profile list)", "folder", {"profile", "list"},
            {"ferry.sqlite", "move it away"});
        row("db: read-only file (profile add)", "readonly-file", add, {"read-only", "chmod u+w"});
        row("db: read-only file (profile remove)", "readonly-file",
            {"profile", "remove", "existing"}, {"read-only", "chmod u+w"});
        row("db: read-only file (sync)", "readonly-file", {"sync", "existing"},
            {"read-only", "chmod u+w"});
        row("db: read-only file (history)", "readonly-file", {"history"},
            {"read-only", "chmod u+w"});
        row("db: data directory owned by another process (sync)", "owner-lock",
            {"sync", "existing"}, {"is in use by", "stop that process"});
        row("db: data directory owned by another process (cleanup)", "owner-lock",
            {"cleanup", "existing"}, {"is in use by", "ferry cancel existing"});
        row("db: write lock held by another program (profile add)", "sqlite-lock", add,
            {"locked by another program", "close it"});
        row("db: app tables from a newer Ferry (profile list)", "newer-app", {"profile", "list"},
            {"newer Ferry", "Update Ferry"});
        row("db: app tables from a newer Ferry (sync)", "newer-app", {"sync", "existing"},
            {"newer Ferry", "Update Ferry"});
        row("db: scheduler tables from a newer Ferry (status)", "newer-scheduler", {"status"},
            {"newer than this Ferry knows", "upgrade Ferry"});
        row("db: scheduler tables from a newer Ferry (history)", "newer-scheduler", {"history"},
            {"newer than this Ferry knows", "upgrade Ferry"});
        row("db: disk full (profile add)", "full", add, {"disk", "full"}, 1);
        row("db: disk full (profile remove)", "full", {"profile", "remove", "existing"},
            {"disk", "full"}, 1);
        row("secrets: file is a folder (profile add --secret-stdin)", "secrets-folder",
            add + QStringList{"--access-key-id", "AKEXAMPLE", "--secret-stdin"},
            {"secrets file", "secrets.json"});
        row("secrets: file readable by others (sync)", "secrets-open", {"sync", "existing"},
            {"can be read by other users", "chmod 600", "rotate"});
        row("secrets: file readable by others (profile add --secret-stdin)", "secrets-open",
            add + QStringList{"--access-key-id", "AKEXAMPLE", "--secret-stdin"},
            {"can be read by other users", "chmod 600"});
    }

    void rejected()
    {
        QFETCH(QString, setup);
        QFETCH(QStringList, args);
        QFETCH(qint64, fileSizeLimit);
        QFETCH(QStringList, needles);
        const QString dir = m_tmp.filePath(QStringLiteral("row%1").arg(++m_row));
        copyTree(m_template, dir);
        const QString db = dir + "/ferry.sqlite";
        for (auto &arg : args)
            arg.replace("@src@", m_tmp.filePath("src"));
        std::unique_ptr<QLockFile> ownerLock;
        QString heldConnection;
        QByteArray input;
        if (args.contains("--secret-stdin"))
            input = "n3w-s3cr3t\n";

        if (setup == "corrupt") {
            QFile file(db);
            QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
            file.write(QByteArray(64 * 1024, '\x5a'));
        } else if (setup == "truncated") {
            QVERIFY(QFile::resize(db, 2048));
        } else if (setup == "folder") {
            QVERIFY(QFile::remove(db));
            QVERIFY(QDir().mkpath(db));
        } else if (setup == "readonly-file") {
            QVERIFY(QFile::setPermissions(db, QFile::ReadOwner));
        } else if (setup == "owner-lock") {
            ownerLock = std::make_unique<QLockFile>(db + ".lock");
            QVERIFY(ownerLock->tryLock(0));
        } else if (setup == "sqlite-lock") {
            heldConnection = QUuid::createUuid().toString();
            auto held = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), heldConnection);
            held.setDatabaseName(db);
            QVERIFY(held.open());
            QVERIFY(QSqlQuery(held).exec("PRAGMA journal_mode=WAL"));
            QVERIFY(QSqlQuery(held).exec("BEGIN EXCLUSIVE"));
        } else if (setup == "newer-app") {
            QVERIFY(execSql(db, "UPDATE app_schema SET version = 99"));
            QVERIFY(execSql(db, "PRAGMA wal_checkpoint(TRUNCATE)"));
        } else if (setup == "newer-scheduler") {
            QVERIFY(execSql(db, "PRAGMA user_version = 99"));
        } else if (setup == "secrets-folder") {
            QVERIFY(QFile::remove(dir + "/secrets.json"));
            QVERIFY(QDir().mkpath(dir + "/secrets.json"));
        } else if (setup == "secrets-open") {
            QVERIFY(QFile::setPermissions(dir + "/secrets.json",
                                          QFile::ReadOwner | QFile::WriteOwner | QFile::ReadOther));
        }

        const QString before = snapshotDataDir(dir);
        const FerryRun run = ferry(dir, args, fileSizeLimit, input);
        if (!heldConnection.isEmpty()) {
            {
                auto held = QSqlDatabase::database(heldConnection);
                QSqlQuery(held).exec("ROLLBACK");
                held.close();
            }
            QSqlDatabase::removeDatabase(heldConnection);
        }
        ownerLock.reset();
        const QString after = snapshotDataDir(dir);
        (void)QFile::setPermissions(dir, QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
        (void)QFile::setPermissions(db, QFile::ReadOwner | QFile::WriteOwner);

        QVERIFY2(run.finished, "ferry crashed or hung");
        QVERIFY2(run.exitCode == 2, qPrintable(QStringLiteral("exit %1, stderr: %2")
                                                   .arg(run.exitCode)
                                                   .arg(QString::fromUtf8(run.err))));
        const QString missing = missingNeedles(run.err, needles);
        QVERIFY2(
            missing.isEmpty(),
            qPrintable(
                QStringLiteral("stderr lacks %1:\n%2").arg(missing, QString::fromUtf8(run.err))));
        QVERIFY2(!run.err.contains("s3cr3t") && !run.out.contains("s3cr3t"), "a secret leaked");
        QVERIFY2(before == after, qPrintable(describeDifference(before, after)));
    }
};

QTEST_GUILESS_MAIN(TestBadInputDb)
#include "tst_badinput_db.moc"
