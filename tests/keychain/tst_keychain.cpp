// The secret store against a real Secret Service: gnome-keyring on a private D-Bus session with
// a throw-away login keyring, started around this binary by run-keychain-test.sh. Proves that
// SecretStore::create() takes the keychain when it answers; that secrets round-trip and are what
// `secret-tool` finds under QtKeychain's attributes; that a profile added the way users add one
// (`ferry profile add --secret-stdin`) keeps its secret in the keychain, never in the data
// directory or the database; and that without a session bus, or with a keychain that never
// answers, the file store is chosen, with its note.

#include "app/DataDirectory.h"
#include "app/profiles/Profile.h"
#include "app/profiles/SecretStore.h"

#include <QCoreApplication>
#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <QUuid>

#include <cstdio>

using namespace ferry;

namespace {

/// When set, this binary only prints SecretStore::create(<value>)->description() and exits.
constexpr char ProbeVariable[] = "FERRY_KEYCHAIN_PROBE_DIR";
const QString KeychainNote = QStringLiteral("system keychain");

struct Run {
    int exitCode = -1;
    QByteArray out;
    QByteArray err;
};

Run run(const QString &program, const QStringList &arguments,
        const QProcessEnvironment &env = QProcessEnvironment::systemEnvironment(),
        const QByteArray &input = {})
{
    QProcess process;
    process.setProcessEnvironment(env);
    process.start(program, arguments);
    Run result;
    if (!process.waitForStarted(10'000)) {
        result.err = process.errorString().toUtf8();
        return result;
    }
    if (!input.isEmpty())
        process.write(input);
    process.closeWriteChannel();
    if (!process.waitForFinished(30'000)) {
        process.kill();
        process.waitForFinished();
        result.err = QByteArrayLiteral("did not finish within 30 s");
        return result;
    }
    result.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
    result.out = process.readAllStandardOutput();
    result.err = process.readAllStandardError();
    return result;
}

Run runFerry(const QString &dataDir, const QStringList &arguments,
             const QProcessEnvironment &env = QProcessEnvironment::systemEnvironment(),
             const QByteArray &input = {})
{
    return run(QStringLiteral(FERRY_BINARY),
               QStringList{QStringLiteral("--data-dir"), dataDir} + arguments, env, input);
}

/// QtKeychain's Secret Service entry for a key of Ferry's service, as secret-tool sees it:
/// schema `org.qt.keychain`, the service in `server`, the key (the profile name) in `user`.
QStringList attributes(const QString &profile)
{
    return {QStringLiteral("xdg:schema"), QStringLiteral("org.qt.keychain"),
            QStringLiteral("server"),     QStringLiteral("ferry"),
            QStringLiteral("user"),       profile};
}

Run lookup(const QString &profile)
{
    return run(QStringLiteral("secret-tool"),
               QStringList{QStringLiteral("lookup")} + attributes(profile));
}

/// The `secret-tool search --all` listing of the profile's items, both channels (secret-tool
/// prints the attributes on stderr). Each item holds `secret = ...`: never print it.
QByteArray search(const QString &profile)
{
    const Run listed =
        run(QStringLiteral("secret-tool"),
            QStringList{QStringLiteral("search"), QStringLiteral("--all")} + attributes(profile));
    return listed.exitCode == 0 ? listed.out + listed.err : QByteArray();
}

/// A secret unique to this run: finding it anywhere means it was written there.
QString freshSecret()
{
    return QStringLiteral("kc") + QUuid::createUuid().toString(QUuid::Id128);
}

/// Every regular file under `dir` whose bytes contain `needle` (names only, never the content).
QStringList filesHolding(const QString &dir, const QByteArray &needle)
{
    QStringList found;
    QDirIterator it(dir, QDir::Files | QDir::Hidden | QDir::System, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        QFile file(it.next());
        if (file.open(QIODevice::ReadOnly) && file.readAll().contains(needle))
            found.append(file.fileName());
    }
    return found;
}

/// The test's environment without any session bus: no address, and a runtime directory that
/// holds no `bus` socket (GDBus's fallback).
QProcessEnvironment withoutSessionBus(const QString &runtimeDir)
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.remove(QStringLiteral("DBUS_SESSION_BUS_ADDRESS"));
    env.remove(QStringLiteral("DISPLAY"));
    env.insert(QStringLiteral("XDG_RUNTIME_DIR"), runtimeDir);
    return env;
}

bool isEmptyDir(const QString &dir)
{
    return QDir(dir).isEmpty(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden | QDir::System);
}

QString fileNote(const QString &dataDir)
{
    return QStringLiteral("file %1 (readable only by you)")
        .arg(QDir(dataDir).filePath(QStringLiteral("secrets.json")));
}

} // namespace

class TestKeychain : public QObject {
    Q_OBJECT

    QTemporaryDir m_tmp;

    QString newDir(const QString &name)
    {
        const QString path = m_tmp.filePath(name);
        QDir().mkpath(path);
        return path;
    }

private slots:
    void initTestCase()
    {
        // Only ever a throw-away keyring: the wrapper's bus and HOME, never the user's.
        const QString root = qEnvironmentVariable("FERRY_KEYCHAIN_TEST_ROOT");
        QVERIFY2(!root.isEmpty() && qEnvironmentVariableIsSet("DBUS_SESSION_BUS_ADDRESS"),
                 "Run this suite through tests/keychain/run-keychain-test.sh (`ctest -L "
                 "keychain`): it needs the private D-Bus session and keyring the script starts.");
        QVERIFY(QDir::homePath().startsWith(root));
        QVERIFY(qEnvironmentVariable("XDG_DATA_HOME").startsWith(root));
        QVERIFY2(!QStandardPaths::findExecutable(QStringLiteral("secret-tool")).isEmpty(),
                 "secret-tool is missing: run tools/setup.sh (libsecret-tools)");
        QVERIFY(m_tmp.isValid());
        qunsetenv("FERRY_SECRET_STORE");
    }

    void createTakesTheKeychainWhenItAnswers()
    {
        const QString dataDir = newDir(QStringLiteral("create"));
        const auto store = SecretStore::create(dataDir);
        QCOMPARE(store->description(), KeychainNote);
        QVERIFY(isEmptyDir(dataDir)); // the probe wrote nothing, not even an empty file

        // FERRY_SECRET_STORE=file still forces the file, keychain or not.
        qputenv("FERRY_SECRET_STORE", "file");
        const auto forced = SecretStore::create(dataDir);
        qunsetenv("FERRY_SECRET_STORE");
        QCOMPARE(forced->description(), fileNote(dataDir));
    }

    void secretsRoundTripAndSecretToolSeesThem()
    {
        const QString dataDir = newDir(QStringLiteral("roundtrip"));
        const auto store = SecretStore::create(dataDir);
        QCOMPARE(store->description(), KeychainNote);
        const QString profile = QStringLiteral("kc-roundtrip");
        const QString first = freshSecret();
        const QString second = freshSecret();

        QVERIFY(!store->load(profile).value().has_value()); // nothing stored yet
        QVERIFY(store->store(profile, first).has_value());
        QCOMPARE(store->load(profile).value(), std::optional<QString>(first));

        // The same entry from outside, under QtKeychain's attributes.
        Run found = lookup(profile);
        QCOMPARE(found.exitCode, 0);
        QVERIFY(found.out == first.toUtf8() || found.out == first.toUtf8() + '\n');
        const QByteArray listing = search(profile);
        QCOMPARE(listing.count("attribute.user = " + profile.toUtf8()), 1);
        QVERIFY(listing.contains("attribute.server = ferry"));
        QVERIFY(listing.contains("schema = org.qt.keychain"));

        // The credentials a sync signs with come from there.
        Profile p;
        p.name = profile;
        p.accessKeyId = QStringLiteral("AKIDKEYCHAINTEST");
        const auto credentials = resolveCredentials(p, *store);
        QVERIFY2(credentials.has_value(),
                 qPrintable(credentials ? QString() : credentials.error()));
        QCOMPARE(credentials->secretAccessKey, first);

        // Storing again replaces the entry (one item, the new secret).
        QVERIFY(store->store(profile, second).has_value());
        QCOMPARE(store->load(profile).value(), std::optional<QString>(second));
        QCOMPARE(search(profile).count("attribute.user = " + profile.toUtf8()), 1);
        found = lookup(profile);
        QVERIFY(found.out == second.toUtf8() || found.out == second.toUtf8() + '\n');

        // Another profile's key is a separate entry.
        const QString other = QStringLiteral("kc-roundtrip-other");
        QVERIFY(store->store(other, first).has_value());
        QCOMPARE(store->load(profile).value(), std::optional<QString>(second));

        // Removed: gone for the store and for secret-tool; removing again is not an error.
        QVERIFY(store->remove(profile).has_value());
        QVERIFY(!store->load(profile).value().has_value());
        found = lookup(profile);
        QVERIFY(found.exitCode != 0 || found.out.isEmpty());
        QVERIFY(store->remove(profile).has_value());
        QCOMPARE(store->load(other).value(), std::optional<QString>(first));
        QVERIFY(store->remove(other).has_value());

        // Nothing in the data directory; the keyring file is in the throw-away XDG_DATA_HOME and
        // holds no secret in clear text.
        QVERIFY(isEmptyDir(dataDir));
        const QString keyrings =
            QDir(qEnvironmentVariable("XDG_DATA_HOME")).filePath(QStringLiteral("keyrings"));
        QVERIFY(QFileInfo::exists(QDir(keyrings).filePath(QStringLiteral("login.keyring"))));
        QVERIFY(filesHolding(keyrings, first.toUtf8()).isEmpty());
        QVERIFY(filesHolding(keyrings, second.toUtf8()).isEmpty());
    }

    /// The way users add a profile: `ferry profile add ... --secret-stdin`.
    void aSecretSavedToTheFileIsFoundAndMovesToTheKeychain()
    {
        // Saved while no keychain answered (over ssh, say), used later from the desktop.
        const QString dataDir = newDir(QStringLiteral("moves"));
        const QString profile = QStringLiteral("kc-moves");
        const QString secret = freshSecret();
        QVERIFY(SecretStore::createFileStore(dataDir)->store(profile, secret).has_value());
        const auto store = SecretStore::create(dataDir);
        QCOMPARE(store->description(), KeychainNote);
        QCOMPARE(store->load(profile).value(), std::optional<QString>(secret));
        QCOMPARE(lookup(profile).exitCode, 1); // not in the keychain yet

        // Saved again: in the keychain now, and gone from the file.
        QVERIFY(store->store(profile, secret).has_value());
        QCOMPARE(lookup(profile).exitCode, 0);
        QVERIFY(!SecretStore::createFileStore(dataDir)->load(profile).value().has_value());
        QCOMPARE(store->load(profile).value(), std::optional<QString>(secret));

        // Removing it removes every copy.
        QVERIFY(SecretStore::createFileStore(dataDir)->store(profile, secret).has_value());
        QVERIFY(store->remove(profile).has_value());
        QVERIFY(!store->load(profile).value().has_value());
        QVERIFY(!SecretStore::createFileStore(dataDir)->load(profile).value().has_value());
    }

    void profileAddedWithTheCliKeepsItsSecretInTheKeychain()
    {
        const QString dataDir = m_tmp.filePath(QStringLiteral("cli-data"));
        const QString local = newDir(QStringLiteral("cli-local"));
        const QString profile = QStringLiteral("kc-cli");
        const QString secret = freshSecret();

        const Run added = runFerry(
            dataDir,
            {QStringLiteral("profile"), QStringLiteral("add"), profile, QStringLiteral("--local"),
             local, QStringLiteral("--remote"), QStringLiteral("http://127.0.0.1:9/kc-bucket/kc"),
             QStringLiteral("--access-key-id"), QStringLiteral("AKIDKEYCHAINTEST"),
             QStringLiteral("--secret-stdin")},
            QProcessEnvironment::systemEnvironment(), secret.toUtf8() + '\n');
        QVERIFY2(added.exitCode == 0, added.err.constData());
        QVERIFY2(added.out.contains("its secret is kept in the system keychain"),
                 added.out.constData());
        QVERIFY(!added.out.contains(secret.toUtf8()) && !added.err.contains(secret.toUtf8()));

        // In the keychain...
        const Run found = lookup(profile);
        QCOMPARE(found.exitCode, 0);
        QVERIFY(found.out == secret.toUtf8() || found.out == secret.toUtf8() + '\n');
        // ...and in no file of the data directory: not the database (nor its WAL), no
        // secrets file.
        QVERIFY(QFileInfo::exists(DataDirectory::databasePath(dataDir)));
        QVERIFY(!QFileInfo::exists(QDir(dataDir).filePath(QStringLiteral("secrets.json"))));
        QCOMPARE(filesHolding(dataDir, secret.toUtf8()), QStringList());

        // `profile show` says where the secret is, without showing it.
        const Run shown = runFerry(dataDir, {QStringLiteral("profile"), QStringLiteral("show"),
                                             profile, QStringLiteral("--json")});
        QCOMPARE(shown.exitCode, 0);
        QVERIFY(!shown.out.contains(secret.toUtf8()));
        QCOMPARE(QJsonDocument::fromJson(shown.out).object().value(QStringLiteral("secret")),
                 QStringLiteral("stored in the system keychain"));

        // Removing the profile removes its keychain entry.
        const Run removed =
            runFerry(dataDir, {QStringLiteral("profile"), QStringLiteral("remove"), profile});
        QVERIFY2(removed.exitCode == 0, removed.err.constData());
        const Run gone = lookup(profile);
        QVERIFY(gone.exitCode != 0 || gone.out.isEmpty());
        QCOMPARE(filesHolding(dataDir, secret.toUtf8()), QStringList());
    }

    void withoutSessionBusCreateFallsBackToTheFileWithItsNote()
    {
        const QString runtime = newDir(QStringLiteral("no-bus-runtime"));
        QFile::setPermissions(runtime, QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
        const QProcessEnvironment noBus = withoutSessionBus(runtime);

        // create() itself, in a process that never had a bus.
        const QString probeDir = newDir(QStringLiteral("no-bus-probe"));
        QProcessEnvironment probeEnv = noBus;
        probeEnv.insert(QString::fromLatin1(ProbeVariable), probeDir);
        const Run probed = run(QCoreApplication::applicationFilePath(), {}, probeEnv);
        QVERIFY2(probed.exitCode == 0, probed.err.constData());
        QCOMPARE(QString::fromUtf8(probed.out), fileNote(probeDir));

        // The user's path: the note says where the secret went; the file is user-only.
        const QString dataDir = m_tmp.filePath(QStringLiteral("no-bus-data"));
        const QString local = newDir(QStringLiteral("no-bus-local"));
        const QString profile = QStringLiteral("kc-no-bus");
        const QString secret = freshSecret();
        const Run added =
            runFerry(dataDir,
                     {QStringLiteral("profile"), QStringLiteral("add"), profile,
                      QStringLiteral("--local"), local, QStringLiteral("--remote"),
                      QStringLiteral("http://127.0.0.1:9/kc-bucket/nobus"),
                      QStringLiteral("--access-key-id"), QStringLiteral("AKIDKEYCHAINTEST"),
                      QStringLiteral("--secret-stdin")},
                     noBus, secret.toUtf8() + '\n');
        QVERIFY2(added.exitCode == 0, added.err.constData());
        QVERIFY2(
            added.out.contains(
                QStringLiteral("its secret is kept in the %1").arg(fileNote(dataDir)).toUtf8()),
            added.out.constData());
        const QString secretsFile = QDir(dataDir).filePath(QStringLiteral("secrets.json"));
        const auto others = QFile::ReadGroup | QFile::WriteGroup | QFile::ExeGroup |
                            QFile::ReadOther | QFile::WriteOther | QFile::ExeOther;
        QCOMPARE(int(QFile::permissions(secretsFile) & others), 0);
        QCOMPARE(filesHolding(dataDir, secret.toUtf8()), QStringList{secretsFile});
        // Not in the keychain that this process can still reach.
        const Run found = lookup(profile);
        QVERIFY(found.exitCode != 0 || found.out.isEmpty());
    }

    /// A keychain whose answer never arrives must not hang Ferry: with QT_NO_GLIB=1 Qt's event
    /// loop never runs libsecret's GLib callbacks, so the probe's reply is never delivered.
    /// create() gives up after its bound and takes the file.
    void aKeychainThatNeverAnswersFallsBackToTheFile()
    {
        const QString probeDir = newDir(QStringLiteral("stalled-probe"));
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("QT_NO_GLIB"), QStringLiteral("1"));
        env.insert(QString::fromLatin1(ProbeVariable), probeDir);
        const Run probed = run(QCoreApplication::applicationFilePath(), {}, env);
        QVERIFY2(probed.exitCode == 0, probed.err.constData());
        QCOMPARE(QString::fromUtf8(probed.out), fileNote(probeDir));
    }
};

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    if (const QString dir = qEnvironmentVariable(ProbeVariable); !dir.isEmpty()) {
        std::fputs(qPrintable(SecretStore::create(dir)->description()), stdout);
        return 0;
    }
    TestKeychain test;
    QTEST_SET_MAIN_SOURCE_PATH
    return QTest::qExec(&test, argc, argv);
}

#include "tst_keychain.moc"
