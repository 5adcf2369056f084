// Bad-input catalogue, command line: every option of `ferry` with a missing, malformed or
// out-of-range value, and profile fields Ferry must refuse. One row per case: the run must
// exit 2, say what is wrong and what to do (every needle in stderr), and leave the data
// directory exactly as it was (profiles, journal, history, secrets).

#include "BadInputSupport.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

using namespace ferry::test;

namespace {

/// Placeholders in a row's arguments, replaced by the fixture's paths.
struct Paths {
    QString data;       ///< @data@: the data directory with the existing profiles
    QString src;        ///< @src@: a readable folder
    QString file;       ///< @file@: a regular file
    QString unreadable; ///< @unreadable@: a folder of mode 000
    QString readOnly;   ///< @readonly@: a folder of mode 555
    QString missing;    ///< @missing@: a path that does not exist
};

QString expand(QString text, const Paths &p)
{
    text.replace(QStringLiteral("@data@"), p.data);
    text.replace(QStringLiteral("@src@"), p.src);
    text.replace(QStringLiteral("@file@"), p.file);
    text.replace(QStringLiteral("@unreadable@"), p.unreadable);
    text.replace(QStringLiteral("@readonly@"), p.readOnly);
    text.replace(QStringLiteral("@missing@"), p.missing);
    return text;
}

const QString kRemote = QStringLiteral("http://127.0.0.1:9/bucket/prefix");

/// `profile add NAME --local @src@ --remote REMOTE` followed by `extra`.
QStringList add(const QString &name, const QStringList &extra = {}, const QString &remote = kRemote)
{
    QStringList args;
    args << QStringLiteral("profile") << QStringLiteral("add") << name << QStringLiteral("--local")
         << QStringLiteral("@src@") << QStringLiteral("--remote") << remote;
    args << extra;
    return args;
}

QStringList withRemote(const QString &remote)
{
    return add(QStringLiteral("newprofile"), {}, remote);
}

} // namespace

class TestBadInputCli : public QObject {
    Q_OBJECT

    QTemporaryDir m_tmp;
    Paths m_paths;
    QProcessEnvironment m_env;

    FerryRun ferry(const QStringList &args, const QByteArray &input = {})
    {
        FerryOptions options;
        options.environment = m_env;
        options.input = input;
        return runFerry(QStringLiteral(FERRY_BINARY), args, options);
    }

    FerryRun ferryIn(const QStringList &args, const QByteArray &input = {})
    {
        QStringList all;
        all << QStringLiteral("--data-dir") << m_paths.data << args;
        return ferry(all, input);
    }

    void makeProfile(const QString &name, const QString &folder, const QStringList &extra = {})
    {
        QDir().mkpath(folder);
        QStringList args;
        args << "profile"
             << "add" << name << "--local" << folder << "--remote" << kRemote << extra;
        const FerryRun run = ferryIn(args, extra.contains("--secret-stdin") ? "s3cr3t\n" : "");
        QVERIFY2(run.exitCode == 0, run.err.constData());
    }

private slots:
    void initTestCase()
    {
        QVERIFY(m_tmp.isValid());
        m_paths.data = m_tmp.filePath("data");
        m_paths.src = m_tmp.filePath("src");
        m_paths.file = m_tmp.filePath("plain.txt");
        m_paths.unreadable = m_tmp.filePath("unreadable");
        m_paths.readOnly = m_tmp.filePath("readonly");
        m_paths.missing = m_tmp.filePath("missing");
        QDir().mkpath(m_paths.src);
        QDir().mkpath(m_paths.unreadable);
        QDir().mkpath(m_paths.readOnly);
        QFile file(m_paths.file);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write("not a folder\n");
        file.close();

        // Never the user's own data directory or secrets.
        m_env = QProcessEnvironment::systemEnvironment();
        m_env.insert("HOME", m_tmp.filePath("home"));
        m_env.insert("XDG_DATA_HOME", m_tmp.filePath("home/.local/share"));
        m_env.insert("FERRY_SECRET_STORE", "file");
        for (const char *name :
             {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "FERRY_DATA_DIR"})
            m_env.remove(QString::fromLatin1(name));

        // The state every case must leave alone: profiles (one with a secret), the journal
        // and scheduler tables.
        makeProfile("existing", m_paths.src, {"--access-key-id", "AKEXAMPLE", "--secret-stdin"});
        makeProfile("gone", m_tmp.filePath("gone"),
                    {"--access-key-id", "AKEXAMPLE", "--secret-stdin"});
        makeProfile("replaced", m_tmp.filePath("replaced"),
                    {"--access-key-id", "AKEXAMPLE", "--secret-stdin"});
        makeProfile("locked", m_tmp.filePath("locked"),
                    {"--access-key-id", "AKEXAMPLE", "--secret-stdin"});
        makeProfile("nokey", m_tmp.filePath("nokey"));
        QVERIFY(QDir(m_tmp.filePath("gone")).removeRecursively());
        QVERIFY(QDir(m_tmp.filePath("replaced")).removeRecursively());
        QFile replaced(m_tmp.filePath("replaced"));
        QVERIFY(replaced.open(QIODevice::WriteOnly));
        replaced.close();
        QVERIFY(QFile::setPermissions(m_tmp.filePath("locked"), {}));
        QVERIFY(QFile::setPermissions(m_paths.unreadable, {}));
        QVERIFY(QFile::setPermissions(m_paths.readOnly, QFile::ReadOwner | QFile::ExeOwner));
        const FerryRun status = ferryIn({"status"});
        QVERIFY2(status.exitCode == 0, status.err.constData());
    }

    void cleanupTestCase()
    {
        // QTemporaryDir cannot remove what it may not enter.
        (void)QFile::setPermissions(m_tmp.filePath("locked"),
                                    QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
        (void)QFile::setPermissions(m_paths.unreadable,
                                    QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
        (void)QFile::setPermissions(m_paths.readOnly,
                                    QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
    }

    void rejected_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QByteArray>("input");
        QTest::addColumn<QStringList>("needles");
        QTest::addColumn<QStringList>("env");
        const QStringList dataDir = {"--data-dir", "@data@"};
        auto row = [&](const char *name, const QStringList &args, const QStringList &needles,
                       const QByteArray &input = {}, const QStringList &env = {}) {
            QTest::newRow(name) << (dataDir + args) << input << needles << env;
        };
        auto rowNoDataDir = [&](const char *name, const QStringList &args,
                                const QStringList &needles) {
            QTest::newRow(name) << args << QByteArray() << needles << QStringList();
        };

        // --- global options and commands -----------------------------------------------------
        rowNoDataDir("global: --data-dir without a value", {"--data-dir"},
                     {"--data-dir needs a value", "Usage:"});
        rowNoDataDir("global: --data-dir empty", {"--data-dir", "", "profile", "list"},
                     {"--data-dir", "empty", "Usage:"});
        rowNoDataDir("global: --data-dir is a file", {"--data-dir", "@file@", "profile", "list"},
                     {"@file@", "is a file", "--data-dir"});
        rowNoDataDir("global: --data-dir below a file",
                     {"--data-dir", "@file@/data", "profile", "add", "p", "--local", "@src@",
                      "--remote", kRemote},
                     {"Cannot create the data directory", "another --data-dir"});
        rowNoDataDir("global: --data-dir in a read-only folder",
                     {"--data-dir", "@readonly@/data", "profile", "add", "p", "--local", "@src@",
                      "--remote", kRemote},
                     {"Cannot create the data directory", "permissions"});
        rowNoDataDir("global: --data-dir missing for a reading command",
                     {"--data-dir", "@missing@", "profile", "show", "existing"},
                     {"@missing@", "does not exist", "--data-dir"});
        row("global: unknown command", {"frobnicate"}, {"Unknown command `frobnicate`", "Usage:"});
        row("global: unknown option", {"profile", "list", "--jsn"},
            {"Unknown option `--jsn`", "Usage:"});
        row("global: option of another command", {"status", "--limit", "5"},
            {"`--limit`", "`status`", "Usage:"});
        row("global: switch given a value", {"status", "--json=yes"},
            {"`--json`", "takes no value", "Usage:"});

        // --- profile ----------------------------------------------------------------------------
        row("profile: no subcommand", {"profile"}, {"add, list, show or remove", "Usage:"});
        row("profile: unknown subcommand", {"profile", "rename", "existing"},
            {"Unknown profile command `rename`", "Usage:"});
        row("profile list: a name", {"profile", "list", "existing"},
            {"`profile list` takes no NAME", "profile show"});
        row("profile show: no name", {"profile", "show"}, {"`profile show` takes one NAME"});
        row("profile show: two names", {"profile", "show", "existing", "gone"},
            {"`profile show` takes one NAME"});
        row("profile show: unknown name", {"profile", "show", "nosuch"},
            {"no profile named `nosuch`", "ferry profile list"});
        row("profile remove: no name", {"profile", "remove"}, {"`profile remove` takes one NAME"});
        row("profile remove: unknown name", {"profile", "remove", "nosuch"},
            {"no profile named `nosuch`", "ferry profile list"});

        // --- profile add: name, folder -------------------------------------------------------
        row("profile add: no name", {"profile", "add", "--local", "@src@", "--remote", kRemote},
            {"`profile add` takes one NAME"});
        row("profile add: two names", add("one", {"two"}), {"`profile add` takes one NAME"});
        row("profile add: name with a slash", add("bad/name"),
            {"`bad/name` is not usable", "letters, digits"});
        row("profile add: name with a space", add("bad name"), {"`bad name` is not usable"});
        row("profile add: name too long", add(QString(65, QLatin1Char('a'))),
            {"is not usable", "1 to 64"});
        row("profile add: name taken", add("existing"),
            {"`existing` already exists", "ferry profile remove existing"});
        row("profile add: no --local", {"profile", "add", "newprofile", "--remote", kRemote},
            {"No local folder", "--local DIR"});
        row("profile add: --local without a value",
            {"profile", "add", "newprofile", "--remote", kRemote, "--local"},
            {"--local needs a value"});
        row("profile add: --local missing",
            {"profile", "add", "newprofile", "--local", "@missing@", "--remote", kRemote},
            {"@missing@", "does not exist", "Create it"});
        row("profile add: --local is a file",
            {"profile", "add", "newprofile", "--local", "@file@", "--remote", kRemote},
            {"@file@", "is a file, not a folder"});
        row("profile add: --local unreadable",
            {"profile", "add", "newprofile", "--local", "@unreadable@", "--remote", kRemote},
            {"@unreadable@", "cannot be read", "chmod u+rx"});

        // --- profile add: remote ----------------------------------------------------------------
        row("profile add: no --remote", {"profile", "add", "newprofile", "--local", "@src@"},
            {"No remote was given", "--remote s3://"});
        row("profile add: remote empty", withRemote(""), {"--remote", "empty"});
        row("profile add: remote scheme ftp", withRemote("ftp://127.0.0.1/bucket"),
            {"scheme `ftp`", "s3://"});
        row("profile add: remote not a URL", withRemote("just-words"),
            {"not an address", "s3://HOST/BUCKET"});
        row("profile add: remote without host", withRemote("s3:///bucket"),
            {"has no host", "s3://HOST/BUCKET"});
        row("profile add: remote without bucket", withRemote("http://127.0.0.1:9000/"),
            {"names no bucket", "s3://HOST/BUCKET"});
        row("profile add: remote with credentials", withRemote("s3://key:secret@host/bucket"),
            {"user name or password", "remove"});
        row("profile add: port 0", withRemote("http://127.0.0.1:0/bucket"),
            {"port 0", "out of range"});
        row("profile add: port 70000", withRemote("http://127.0.0.1:70000/bucket"),
            {"port 70000", "out of range"});
        row("profile add: port not a number", withRemote("http://127.0.0.1:http/bucket"),
            {"`http`", "not a number"});
        row("profile add: bucket with uppercase", withRemote("http://127.0.0.1:9/MyBucket"),
            {"`MyBucket`", "uppercase"});
        row("profile add: bucket too short", withRemote("http://127.0.0.1:9/ab"),
            {"`ab`", "characters"});
        row("profile add: bucket too long",
            withRemote("http://127.0.0.1:9/" + QString(64, QLatin1Char('b'))), {"characters"});
        row("profile add: bucket with underscore", withRemote("http://127.0.0.1:9/my_bucket"),
            {"`my_bucket`", "`_`"});
        row("profile add: bucket like an IP address", withRemote("http://127.0.0.1:9/192.168.1.1"),
            {"`192.168.1.1`", "IP address"});
        row("profile add: bucket starting with a dash", withRemote("http://127.0.0.1:9/-bucket"),
            {"`-bucket`", "start and end"});
        row("profile add: bucket with adjacent dots", withRemote("http://127.0.0.1:9/a..b"),
            {"two adjacent dots"});
        row("profile add: prefix with ..", withRemote("http://127.0.0.1:9/bucket/a/../b"),
            {"`..`", "without it"});
        row("profile add: prefix with //", withRemote("http://127.0.0.1:9/bucket/a//b"),
            {"empty folder name", "`//`"});
        row("profile add: unknown remote option",
            withRemote("http://127.0.0.1:9/bucket?colour=red"), {"`colour`", "unknown"});

        // --- profile add: sizes, numbers, choices ----------------------------------------------
        row("profile add: --part-size not a number", add("newprofile", {"--part-size", "big"}),
            {"--part-size `big` is not a size", "number of bytes"});
        row("profile add: --part-size negative", add("newprofile", {"--part-size", "-5"}),
            {"--part-size `-5` is not a size"});
        row("profile add: --part-size below 5 MiB", add("newprofile", {"--part-size", "1024"}),
            {"1024", "5 MiB (5242880)"});
        row("profile add: --part-size above 5 GiB",
            add("newprofile", {"--part-size", "5368709121"}), {"5368709121", "5 GiB (5368709120)"});
        row("profile add: --part-size overflows",
            add("newprofile", {"--part-size", "99999999999999999999"}),
            {"`99999999999999999999` is not a size"});
        row("profile add: --multipart-threshold not a number",
            add("newprofile", {"--multipart-threshold", "1MB"}),
            {"--multipart-threshold `1MB` is not a size"});
        row("profile add: --multipart-threshold negative",
            add("newprofile", {"--multipart-threshold", "-1"}),
            {"--multipart-threshold `-1` is not a size"});
        row("profile add: --concurrency not a number", add("newprofile", {"--concurrency", "many"}),
            {"--concurrency `many`", "1 to 64"});
        row("profile add: --concurrency 0", add("newprofile", {"--concurrency", "0"}),
            {"concurrency 0", "1 to 64"});
        row("profile add: --concurrency 65", add("newprofile", {"--concurrency", "65"}),
            {"concurrency 65", "1 to 64"});
        row("profile add: --on-offline unknown", add("newprofile", {"--on-offline", "wait"}),
            {"--on-offline `wait`", "`cancel` or `pause`"});
        row("profile add: --region with a space", add("newprofile", {"--region", "us east"}),
            {"region `us east`", "us-east-1"});
        row("profile add: --exclude empty", add("newprofile", {"--exclude", ""}),
            {"--exclude", "empty"});
        row("profile add: --exclude unbalanced bracket", add("newprofile", {"--exclude", "[a-"}),
            {"`[a-`", "not a valid pattern"});

        // --- profile add: credentials ----------------------------------------------------------
        row("profile add: --access-key-id with a newline",
            add("newprofile", {"--access-key-id", "AKIA\nEVIL"}), {"access key id", "line break"});
        row("profile add: --access-key-id with a space",
            add("newprofile", {"--access-key-id", "AKIA EVIL"}), {"access key id", "space"});
        row("profile add: --secret-stdin empty", add("newprofile", {"--secret-stdin"}),
            {"empty secret", "Pipe the secret"}, "\n");
        row("profile add: --secret-stdin with a newline inside",
            add("newprofile", {"--secret-stdin"}), {"secret", "line break", "one line"},
            "first-half\nsecond-half\n");
        row("profile add: --secret-stdin with a control character",
            add("newprofile", {"--secret-stdin"}), {"secret", "control character"},
            QByteArray("abc\x01"
                       "def\n"));
        row("profile add: --secret-stdin with a carriage return inside",
            add("newprofile", {"--secret-stdin"}), {"secret", "line break"}, "abc\rdef\n");

        // --- sync -------------------------------------------------------------------------------
        row("sync: no name", {"sync"}, {"`sync` needs at least one profile NAME"});
        row("sync: unknown profile", {"sync", "nosuch"},
            {"no profile named `nosuch`", "ferry profile list"});
        row("sync: one of two profiles unknown", {"sync", "existing", "nosuch"},
            {"no profile named `nosuch`"});
        row("sync: the same profile twice", {"sync", "existing", "existing"},
            {"`existing`", "more than once"});
        row("sync: folder removed", {"sync", "gone"}, {"does not exist", "--local"});
        row("sync: folder replaced by a file", {"sync", "replaced"}, {"is a file, not a folder"});
        row("sync: folder unreadable", {"sync", "locked"}, {"cannot be read", "chmod u+rx"});
        row("sync: no access key", {"sync", "nokey"}, {"no access key id", "AWS_ACCESS_KEY_ID"});
        const QStringList envKey = {"AWS_ACCESS_KEY_ID=AKEXAMPLE"};
        row("sync: AWS_SECRET_ACCESS_KEY with a newline", {"sync", "nokey"},
            {"AWS_SECRET_ACCESS_KEY holds a line break", "one line"}, {},
            envKey + QStringList{"AWS_SECRET_ACCESS_KEY=first\nsecond"});
        row("sync: AWS_ACCESS_KEY_ID with a newline", {"sync", "nokey"},
            {"AWS_ACCESS_KEY_ID holds a line break", "one line"}, {},
            {"AWS_ACCESS_KEY_ID=AK\nEVIL", "AWS_SECRET_ACCESS_KEY=s3cr3t"});
        row("sync: AWS_SESSION_TOKEN with a control character", {"sync", "nokey"},
            {"AWS_SESSION_TOKEN holds a control character"}, {},
            envKey + QStringList{"AWS_SECRET_ACCESS_KEY=s3cr3t", "AWS_SESSION_TOKEN=tok\x07"
                                                                 "en"});
        row("sync: unknown option", {"sync", "existing", "--dry-run"},
            {"Unknown option `--dry-run`"});

        // --- cancel -----------------------------------------------------------------------------
        row("cancel: no name", {"cancel"}, {"`cancel` takes one profile NAME"});
        row("cancel: two names", {"cancel", "existing", "gone"},
            {"`cancel` takes one profile NAME"});
        row("cancel: unknown profile", {"cancel", "nosuch"},
            {"no profile named `nosuch`", "ferry profile list"});

        // --- history ----------------------------------------------------------------------------
        row("history: a word", {"history", "existing"}, {"`history` takes no NAME", "--profile"});
        row("history: --status unknown", {"history", "--status", "done"},
            {"--status `done` is unknown", "completed, failed or cancelled"});
        row("history: --status superseded", {"history", "--status", "superseded"},
            {"--status `superseded` is unknown"});
        row("history: --status without a value", {"history", "--status"},
            {"--status needs a value"});
        row("history: --limit 0", {"history", "--limit", "0"}, {"--limit", "positive number"});
        row("history: --limit negative", {"history", "--limit", "-3"},
            {"--limit", "positive number"});
        row("history: --limit not a number", {"history", "--limit", "ten"},
            {"--limit", "positive number"});
        row("history: --limit overflows", {"history", "--limit", "99999999999"},
            {"--limit", "positive number"});
        row("history: --profile without a value", {"history", "--profile"},
            {"--profile needs a value"});

        // --- cleanup ----------------------------------------------------------------------------
        row("cleanup: no name", {"cleanup"}, {"`cleanup` takes one profile NAME"});
        row("cleanup: unknown profile", {"cleanup", "nosuch"}, {"no profile named `nosuch`"});
        row("cleanup: --older-than not a duration", {"cleanup", "existing", "--older-than", "soon"},
            {"--older-than `soon` is not a duration", "24h"});
        row("cleanup: --older-than negative", {"cleanup", "existing", "--older-than", "-5m"},
            {"--older-than `-5m` is not a duration"});
        row("cleanup: --older-than unknown unit", {"cleanup", "existing", "--older-than", "2y"},
            {"--older-than `2y` is not a duration"});
        row("cleanup: --older-than overflows",
            {"cleanup", "existing", "--older-than", "99999999999999999999d"},
            {"`99999999999999999999d`", "at most 36500d"});
        row("cleanup: --older-than without a value", {"cleanup", "existing", "--older-than"},
            {"--older-than needs a value"});

        // --- status -----------------------------------------------------------------------------
        row("status: a word", {"status", "existing"}, {"`status` takes no NAME"});
    }

    void rejected()
    {
        QFETCH(QStringList, args);
        QFETCH(QByteArray, input);
        QFETCH(QStringList, needles);
        QFETCH(QStringList, env);
        for (auto &arg : args)
            arg = expand(arg, m_paths);
        for (auto &needle : needles)
            needle = expand(needle, m_paths);
        const QString before = snapshotDataDir(m_paths.data);
        QProcessEnvironment environment = m_env;
        for (const auto &pair : std::as_const(env))
            environment.insert(pair.section(QLatin1Char('='), 0, 0),
                               pair.section(QLatin1Char('='), 1));
        FerryOptions options;
        options.environment = environment;
        options.input = input;
        const FerryRun run = runFerry(QStringLiteral(FERRY_BINARY), args, options);
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
        const QString after = snapshotDataDir(m_paths.data);
        QVERIFY2(before == after, qPrintable(describeDifference(before, after)));
        QVERIFY2(!QFileInfo::exists(m_paths.missing), "a missing data directory was created");
    }
};

QTEST_GUILESS_MAIN(TestBadInputCli)
#include "tst_badinput_cli.moc"
