// Security properties of Ferry, checked on the real `ferry` binary and the S3 client against the
// local S3 server:
//  - a profile's secret access key never appears in the data directory (database, WAL, lock,
//    anything but the user-only secrets file), in any command's output (text and --json), in
//    the debug logs of every category, in history, or in what a crashing process prints;
//  - the data directory, the database (and its WAL files), the secrets file and the control
//    socket are accessible to the user only;
//  - a TLS certificate the system does not trust fails the connection with a clear error, and
//    no request reaches that server;
//  - plain HTTP is only used when the remote says `http://`, and a profile that sends its data
//    unencrypted to a non-loopback host says so in `ferry profile show`.

#include "app/s3/RemoteUrl.h"
#include "app/s3/S3Client.h"
#include "support/S3TestServer.h"

#include <QCoro/QCoroTask>
#include <QDir>
#include <QDirIterator>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QTest>
#include <QUrl>

#include <csignal>
#include <sys/stat.h>

using namespace ferry;
using namespace ferry::test;

namespace {

constexpr qint64 MiB = 1024 * 1024;

/// The secret of the profile `wrong`: distinctive, so finding it anywhere is never a
/// coincidence; the server rejects it (SignatureDoesNotMatch), which drives the error paths.
const QByteArray CanarySecret = QByteArrayLiteral("Cnry+Secret/Zq8Xw3Lr5Tn7Vb9Pk2Mh6Gd4");

struct Run {
    QString what;
    int exitCode = -1;
    QByteArray out;
    QByteArray err;
};

/// The forms a secret takes when written as text, in UTF-16, base64, percent-encoded or hex.
QList<std::pair<QString, QByteArray>> secretForms(const QByteArray &secret)
{
    QList<std::pair<QString, QByteArray>> forms;
    forms.append({QStringLiteral("UTF-8"), secret});
    const QString text = QString::fromUtf8(secret);
    forms.append({QStringLiteral("UTF-16"),
                  QByteArray(reinterpret_cast<const char *>(text.utf16()), text.size() * 2)});
    QByteArray base64 = secret.toBase64(QByteArray::OmitTrailingEquals);
    base64.chop(base64.size() % 4); // the last group depends on what follows the secret
    forms.append({QStringLiteral("base64"), base64});
    forms.append({QStringLiteral("percent-encoded"), QUrl::toPercentEncoding(text)});
    forms.append({QStringLiteral("hex"), secret.toHex()});
    return forms;
}

/// Empty when no form of `secret` is in `haystack`, else which form and where.
QString findSecret(const QByteArray &haystack, const QByteArray &secret)
{
    for (const auto &[form, bytes] : secretForms(secret)) {
        const auto at = haystack.indexOf(bytes);
        if (at >= 0)
            return QStringLiteral("%1 form at offset %2: …%3…")
                .arg(form)
                .arg(at)
                .arg(QString::fromLatin1(haystack.mid(std::max<qsizetype>(0, at - 60), 140)
                                             .toPercentEncoding(" /:.,-_=[]{}\"'()<>")));
    }
    return {};
}

QString modeText(const QString &path)
{
    struct stat info {};
    if (::lstat(QFile::encodeName(path).constData(), &info) != 0)
        return QStringLiteral("missing");
    return QString::number(info.st_mode & 07777, 8);
}

void writeRandomFile(const QString &path, qint64 size)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    QByteArray chunk(std::min<qint64>(size, MiB), Qt::Uninitialized);
    for (qint64 left = size; left > 0; left -= chunk.size()) {
        QRandomGenerator::global()->fillRange(reinterpret_cast<quint32 *>(chunk.data()),
                                              chunk.size() / 4);
        QCOMPARE(file.write(chunk.constData(), std::min<qint64>(left, chunk.size())),
                 std::min<qint64>(left, chunk.size()));
    }
}

QList<QJsonObject> jsonLines(const QByteArray &text)
{
    QList<QJsonObject> lines;
    for (const QByteArray &line : text.split('\n'))
        if (line.startsWith('{'))
            lines.append(QJsonDocument::fromJson(line).object());
    return lines;
}

} // namespace

class TestSecurity : public QObject {
    Q_OBJECT

    std::optional<S3TestServer> m_server;
    std::unique_ptr<s3::S3Client> m_client;
    QTemporaryDir m_tmp;
    QList<Run> m_runs; ///< Every command run so far, searched for the secrets at the end.
    QMap<QString, QString> m_modes; ///< Path → octal mode, taken while a sync runs.

    QString dataDir() const { return m_tmp.filePath(QStringLiteral("data")); }

    /// The environment of every `ferry` run: file secrets, every logging category at debug
    /// level, printed on stderr.
    static QProcessEnvironment environment()
    {
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("FERRY_SECRET_STORE"), QStringLiteral("file"));
        env.insert(QStringLiteral("QT_LOGGING_RULES"), QStringLiteral("*.debug=true"));
        env.insert(QStringLiteral("QT_FORCE_STDERR_LOGGING"), QStringLiteral("1"));
        env.insert(QStringLiteral("QT_MESSAGE_PATTERN"),
                   QStringLiteral("%{category} %{type}: %{message}"));
        return env;
    }

    std::unique_ptr<QProcess> start(const QStringList &args)
    {
        auto process = std::make_unique<QProcess>();
        process->setProcessEnvironment(environment());
        process->setWorkingDirectory(m_tmp.path());
        QStringList all{QStringLiteral("--data-dir"), dataDir()};
        all.append(args);
        process->start(QStringLiteral(FERRY_BINARY), all);
        return process;
    }

    /// Waits for `process` to end and records what it printed (after `printed`, read earlier).
    Run finish(QProcess &process, const QString &what, const QByteArray &printed = {})
    {
        process.closeWriteChannel();
        process.waitForFinished(120'000);
        Run run;
        run.what = what;
        run.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
        run.out = printed + process.readAllStandardOutput();
        run.err = process.readAllStandardError();
        m_runs.append(run);
        return run;
    }

    Run ferry(const QStringList &args, const QByteArray &input = {})
    {
        auto process = start(args);
        if (!process->waitForStarted())
            return {};
        process->write(input);
        return finish(*process, args.join(QLatin1Char(' ')));
    }

    /// Starts `ferry sync NAME --json` and waits until it reports bytes sent (null if it ended
    /// or sent nothing within a minute).
    std::unique_ptr<QProcess> startSyncAndWaitForBytes(const QString &name, QByteArray &seen)
    {
        auto process = start({QStringLiteral("sync"), name, QStringLiteral("--json")});
        if (!process->waitForStarted())
            return nullptr;
        QElapsedTimer clock;
        clock.start();
        bool sending = false;
        while (!sending && clock.elapsed() < 60'000 && process->state() == QProcess::Running) {
            process->waitForReadyRead(1000);
            seen += process->readAllStandardOutput();
            for (const auto &line : jsonLines(seen))
                sending = sending || line.value(QStringLiteral("bytesDone")).toInteger() > 0;
        }
        if (!sending || process->state() != QProcess::Running)
            return nullptr;
        return process;
    }

    QString remote(const QString &bucket, const QString &prefix) const
    {
        return QStringLiteral("http://127.0.0.1:%1/%2/%3")
            .arg(m_server->port())
            .arg(bucket, prefix);
    }

    void addProfile(const QString &name, const QString &remoteUrl, const QByteArray &secret)
    {
        const Run run =
            ferry({QStringLiteral("profile"), QStringLiteral("add"), name,
                   QStringLiteral("--local"), m_tmp.filePath(QStringLiteral("tree")),
                   QStringLiteral("--remote"), remoteUrl, QStringLiteral("--access-key-id"),
                   S3TestServer::accessKey(), QStringLiteral("--secret-stdin"),
                   QStringLiteral("--part-size"), QString::number(5 * MiB),
                   QStringLiteral("--multipart-threshold"), QString::number(5 * MiB)},
                  secret + '\n');
        QVERIFY2(run.exitCode == 0, run.err.constData());
    }

    /// Every file the data directory holds, as {path, bytes}.
    QList<std::pair<QString, QByteArray>> dataFiles() const
    {
        QList<std::pair<QString, QByteArray>> files;
        QDirIterator it(dataDir(), QDir::Files | QDir::Hidden | QDir::System,
                        QDirIterator::Subdirectories);
        while (it.hasNext()) {
            const QString path = it.next();
            QFile file(path);
            if (file.open(QIODevice::ReadOnly))
                files.append({path, file.readAll()});
        }
        return files;
    }

private slots:
    void initTestCase()
    {
        m_server = S3TestServer::fromEnvironment();
        QVERIFY2(m_server.has_value(), qPrintable(S3TestServer::environmentProblem()));
        QVERIFY(m_tmp.isValid());
        s3::ClientConfig config;
        config.endpoint =
            *s3::Endpoint::fromUrl(QStringLiteral("http://127.0.0.1:%1").arg(m_server->port()));
        config.credentials.accessKeyId = S3TestServer::accessKey();
        config.credentials.secretAccessKey = S3TestServer::secretKey();
        m_client = std::make_unique<s3::S3Client>(config);
        auto created = QCoro::waitFor(m_client->createBucket(QStringLiteral("sec-leak"), {}));
        // QVERIFY2 evaluates its message even when the check passes: error() only on failure.
        if (!created)
            QFAIL(qPrintable(created.error().message()));

        // Several multipart files (so that a sync runs long enough to be interrupted) and
        // small ones.
        for (int i = 0; i < 6; ++i)
            writeRandomFile(m_tmp.filePath(QStringLiteral("tree/large-%1.bin").arg(i)), 32 * MiB);
        for (int i = 0; i < 40; ++i)
            writeRandomFile(m_tmp.filePath(QStringLiteral("tree/small/%1.txt").arg(i)), 3000 + i);
    }

    /// The commands of a user's session: profiles, a sync cancelled over the control socket, a
    /// sync that crashes (SIGABRT), a sync to the end, a sync with the wrong secret, history,
    /// status and cleanup; the permissions are checked while a sync holds the database and the
    /// socket open.
    void session()
    {
        addProfile(QStringLiteral("good"),
                   remote(QStringLiteral("sec-leak"), QStringLiteral("good")),
                   S3TestServer::secretKey().toUtf8());
        addProfile(QStringLiteral("wrong"),
                   remote(QStringLiteral("sec-leak"), QStringLiteral("wrong")), CanarySecret);
        for (const QStringList &args :
             {QStringList{"profile", "list"}, QStringList{"profile", "list", "--json"},
              QStringList{"profile", "show", "good"},
              QStringList{"profile", "show", "good", "--json"},
              QStringList{"profile", "show", "wrong", "--json"}}) {
            const Run run = ferry(args);
            QVERIFY2(run.exitCode == 0, run.err.constData());
        }

        // A sync cancelled over the control socket; the files are checked while it runs.
        QByteArray seen;
        auto sync = startSyncAndWaitForBytes(QStringLiteral("good"), seen);
        QVERIFY2(sync, "the first sync never sent bytes");
        const QDir data(dataDir());
        for (const QString &name :
             {QString(), QStringLiteral("secrets.json"), QStringLiteral("ferry.sock"),
              QStringLiteral("ferry.sqlite"), QStringLiteral("ferry.sqlite-wal")})
            m_modes.insert(name.isEmpty() ? data.path() : data.filePath(name),
                           modeText(name.isEmpty() ? data.path() : data.filePath(name)));
        for (const auto &[path, bytes] : dataFiles())
            m_modes.insert(path, modeText(path));
        const Run cancel = ferry({QStringLiteral("cancel"), QStringLiteral("good")});
        const Run cancelled = finish(*sync, QStringLiteral("sync good (cancelled)"), seen);
        // The cancel reached the sync, unless the sync had just finished on its own.
        QVERIFY2(cancel.exitCode == 0 || cancelled.exitCode == 0, cancel.err.constData());

        // A sync that crashes: what it printed, and what it left behind, hold no secret.
        seen.clear();
        sync = startSyncAndWaitForBytes(QStringLiteral("good"), seen);
        QVERIFY2(sync, "the second sync never sent bytes");
        QCOMPARE(::kill(pid_t(sync->processId()), SIGABRT), 0);
        const Run crashed = finish(*sync, QStringLiteral("sync good (SIGABRT)"), seen);
        QCOMPARE(crashed.exitCode, -1);

        const Run completed =
            ferry({QStringLiteral("sync"), QStringLiteral("good"), QStringLiteral("--json")});
        QVERIFY2(completed.exitCode == 0, completed.err.constData());
        const Run rejected =
            ferry({QStringLiteral("sync"), QStringLiteral("wrong"), QStringLiteral("--json")});
        QVERIFY(rejected.exitCode != 0);
        QVERIFY2((rejected.out + rejected.err).contains("secret access key is wrong"),
                 rejected.err.constData());

        for (const QStringList &args :
             {QStringList{"history"}, QStringList{"history", "--json"}, QStringList{"status"},
              QStringList{"status", "--json"}, QStringList{"cleanup", "good", "--dry-run"},
              QStringList{"cleanup", "wrong", "--dry-run"}}) {
            const Run run = ferry(args);
            QVERIFY2(!run.out.isEmpty() || !run.err.isEmpty(), qPrintable(args.join(' ')));
        }
    }

    /// The data directory (0700) and everything in it, the database with its WAL and lock,
    /// the secrets file and the control socket, as seen while a sync runs: user-only.
    void userOnlyFiles()
    {
        QVERIFY(m_modes.size() >= 5);
        QStringList open;
        for (auto it = m_modes.cbegin(); it != m_modes.cend(); ++it) {
            QVERIFY2(it.value() != QLatin1String("missing"), qPrintable(it.key()));
            if (it.value().toInt(nullptr, 8) & (S_IRWXG | S_IRWXO))
                open.append(QStringLiteral("%1 (mode %2)").arg(it.key(), it.value()));
        }
        QVERIFY2(open.isEmpty(), qPrintable(QStringLiteral("the group or others may access: ") +
                                            open.join(QStringLiteral(", "))));
        QCOMPARE(m_modes.value(dataDir()), QStringLiteral("700"));
    }

    /// No form of either secret in any output of the session, debug logs included.
    void secretNotInOutput()
    {
        QVERIFY(m_runs.size() >= 15);
        qsizetype logged = 0;
        for (const Run &run : std::as_const(m_runs)) {
            logged += run.err.size();
            for (const QByteArray &secret : {S3TestServer::secretKey().toUtf8(), CanarySecret}) {
                const QString inOut = findSecret(run.out, secret);
                QVERIFY2(
                    inOut.isEmpty(),
                    qPrintable(QStringLiteral("`%1` printed the secret: %2").arg(run.what, inOut)));
                const QString inErr = findSecret(run.err, secret);
                QVERIFY2(
                    inErr.isEmpty(),
                    qPrintable(QStringLiteral("`%1` logged the secret: %2").arg(run.what, inErr)));
            }
        }
        // The debug categories were on: the search looked at real logs.
        QVERIFY2(logged > 10'000, qPrintable(QString::number(logged)));
    }

    /// No form of either secret in any file of the data directory but the secrets file, which
    /// holds both (the search finds them there: it would find them anywhere).
    void secretOnlyInSecretsFile()
    {
        const QString secretsFile = QDir(dataDir()).filePath(QStringLiteral("secrets.json"));
        const auto files = dataFiles();
        QVERIFY(files.size() >= 2);
        bool sawDatabase = false;
        for (const auto &[path, bytes] : files) {
            sawDatabase = sawDatabase || path.endsWith(QLatin1String("ferry.sqlite"));
            for (const QByteArray &secret : {S3TestServer::secretKey().toUtf8(), CanarySecret}) {
                const QString found = findSecret(bytes, secret);
                if (path == secretsFile)
                    QVERIFY2(!found.isEmpty(), "the secrets file lacks a secret it should hold");
                else
                    QVERIFY2(found.isEmpty(), qPrintable(path + QStringLiteral(": ") + found));
            }
        }
        QVERIFY(sawDatabase);
    }

    /// A self-signed certificate fails the connection: the client says so and sends nothing.
    void untrustedCertificateFails()
    {
        QTemporaryDir tls;
        QVERIFY(tls.isValid());
        const QString cert = tls.filePath(QStringLiteral("cert.pem"));
        const QString key = tls.filePath(QStringLiteral("key.pem"));
        QProcess openssl;
        openssl.start(QStringLiteral("openssl"),
                      {"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out",
                       cert, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
                       "subjectAltName=IP:127.0.0.1,DNS:localhost"});
        QVERIFY2(openssl.waitForFinished(60'000) && openssl.exitCode() == 0,
                 openssl.readAllStandardError().constData());

        QProcess server;
        server.start(QStringLiteral("/usr/bin/python3"),
                     {QStringLiteral(FERRY_TLS_TEST_SERVER), cert, key});
        QVERIFY(server.waitForStarted());
        QByteArray events;
        QTRY_VERIFY_WITH_TIMEOUT((events += server.readAllStandardOutput()).contains('\n'), 30'000);
        QVERIFY2(events.startsWith("PORT="), events.constData());
        const int port = events.mid(5, events.indexOf('\n') - 5).toInt();
        QVERIFY(port > 0);

        // The client library: a clear TLS error, classified as such.
        s3::ClientConfig config;
        config.endpoint = *s3::Endpoint::fromUrl(QStringLiteral("s3://127.0.0.1:%1").arg(port));
        QVERIFY(config.endpoint.isSecure());
        config.credentials.accessKeyId = S3TestServer::accessKey();
        config.credentials.secretAccessKey = QString::fromUtf8(CanarySecret);
        s3::S3Client client(config);
        auto listed = QCoro::waitFor(client.headBucket(QStringLiteral("sec-tls"), {}));
        QVERIFY(!listed.has_value());
        QCOMPARE(listed.error().kind(), s3::S3Error::Kind::EndpointUnreachable);
        QCOMPARE(listed.error().code(), QStringLiteral("TlsError"));
        QVERIFY2(listed.error().message().contains(QLatin1String("secure connection")),
                 qPrintable(listed.error().message()));
        QVERIFY2(
            listed.error().message().contains(QLatin1String("certificate"), Qt::CaseInsensitive),
            qPrintable(listed.error().message()));

        // The binary: `ferry sync` to an https:// remote with that certificate fails clearly
        // (after the sync's retries: a TLS failure counts as the endpoint being unreachable).
        const Run added = ferry(
            {QStringLiteral("profile"), QStringLiteral("add"), QStringLiteral("tls"),
             QStringLiteral("--local"), m_tmp.filePath(QStringLiteral("tree/small")),
             QStringLiteral("--remote"), QStringLiteral("https://127.0.0.1:%1/sec-tls/x").arg(port),
             QStringLiteral("--access-key-id"), S3TestServer::accessKey(),
             QStringLiteral("--secret-stdin")},
            CanarySecret + '\n');
        QVERIFY2(added.exitCode == 0, added.err.constData());
        const Run synced =
            ferry({QStringLiteral("sync"), QStringLiteral("tls"), QStringLiteral("--json")});
        QVERIFY(synced.exitCode != 0);
        QVERIFY2((synced.out + synced.err).contains("secure connection"),
                 (synced.out + synced.err).right(3000).constData());
        QVERIFY(findSecret(synced.out + synced.err, CanarySecret).isEmpty());

        server.closeWriteChannel();
        QVERIFY(server.waitForFinished(10'000));
        events += server.readAllStandardOutput();
        QVERIFY2(events.contains("HANDSHAKE-FAILED"), events.constData());
        // Not one request (with its signature) got through to the untrusted server.
        QVERIFY2(!events.contains("REQUEST"), events.constData());
    }

    /// Plain HTTP only when spelled out; flagged in the profile view for a non-loopback host.
    void plainHttpIsExplicitAndFlagged()
    {
        for (const QString &tls : {QStringLiteral("s3://storage.example.com/bucket"),
                                   QStringLiteral("https://storage.example.com:8443/bucket"),
                                   QStringLiteral("s3://203.0.113.10:9000/bucket/x"),
                                   QStringLiteral("S3://storage.example.com:80/bucket")}) {
            const auto url = s3::RemoteUrl::parse(tls);
            QVERIFY2(url.has_value(), qPrintable(tls));
            QVERIFY2(url->endpoint().isSecure(), qPrintable(tls));
            QCOMPARE(url->endpoint().scheme(), QStringLiteral("https"));
        }
        const auto plain =
            s3::RemoteUrl::parse(QStringLiteral("http://203.0.113.10:9000/bucket/x"));
        QVERIFY(plain.has_value());
        QVERIFY(!plain->endpoint().isSecure());
        QVERIFY(plain->displayName().startsWith(QLatin1String("http://")));

        const Run added = ferry(
            {QStringLiteral("profile"), QStringLiteral("add"), QStringLiteral("lan"),
             QStringLiteral("--local"), m_tmp.filePath(QStringLiteral("tree/small")),
             QStringLiteral("--remote"), QStringLiteral("http://203.0.113.10:9000/sec-plain/x"),
             QStringLiteral("--access-key-id"), S3TestServer::accessKey(),
             QStringLiteral("--secret-stdin")},
            CanarySecret + '\n');
        QVERIFY2(added.exitCode == 0, added.err.constData());
        const Run shown = ferry({QStringLiteral("profile"), QStringLiteral("show"),
                                 QStringLiteral("lan"), QStringLiteral("--json")});
        QCOMPARE(shown.exitCode, 0);
        const QJsonObject view = QJsonDocument::fromJson(shown.out).object();
        QCOMPARE(view.value(QStringLiteral("remote")).toString(),
                 QStringLiteral("http://203.0.113.10:9000/sec-plain/x"));
        QVERIFY2(view.value(QStringLiteral("plainHttp")).toBool(), shown.out.constData());
        const Run text =
            ferry({QStringLiteral("profile"), QStringLiteral("show"), QStringLiteral("lan")});
        QVERIFY2(text.out.contains("plain HTTP"), text.out.constData());

        // A TLS profile is not flagged.
        const Run secure =
            ferry({QStringLiteral("profile"), QStringLiteral("add"), QStringLiteral("secure"),
                   QStringLiteral("--local"), m_tmp.filePath(QStringLiteral("tree/small")),
                   QStringLiteral("--remote"), QStringLiteral("s3://203.0.113.10:9000/sec-plain/x"),
                   QStringLiteral("--access-key-id"), S3TestServer::accessKey(),
                   QStringLiteral("--secret-stdin")},
                  CanarySecret + '\n');
        QVERIFY2(secure.exitCode == 0, secure.err.constData());
        const Run good = ferry({QStringLiteral("profile"), QStringLiteral("show"),
                                QStringLiteral("secure"), QStringLiteral("--json")});
        QCOMPARE(good.exitCode, 0);
        const QJsonObject secureView = QJsonDocument::fromJson(good.out).object();
        QVERIFY2(secureView.contains(QStringLiteral("remote")), good.out.constData());
        QVERIFY(!secureView.value(QStringLiteral("plainHttp")).toBool());
    }
};

QTEST_GUILESS_MAIN(TestSecurity)
#include "tst_security.moc"
