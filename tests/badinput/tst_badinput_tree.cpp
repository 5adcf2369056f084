// Bad-input catalogue, the local tree: FIFOs, sockets, dangling links and link loops,
// unreadable files and folders, names that are not valid UTF-8 and keys longer than S3's
// 1,024 bytes, each next to ordinary files. `ferry sync` (the real binary, against the local
// S3 server) must upload the ordinary files byte for byte, exit 1 naming the bad entry with
// the reason and the fix, upload nothing for it, keep what the bucket held, leave no
// multipart upload behind and change nothing in the local folder.

#include "BadInputSupport.h"
#include "ServerCase.h"
#include "app/s3/S3Client.h"
#include "support/S3TestServer.h"

#include <QCoro/QCoroTask>
#include <QCryptographicHash>
#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

using namespace ferry;
using namespace ferry::test;

namespace {

const QString kBucket = QStringLiteral("badinput-tree");

/// Every entry below `root` with its type, mode and content hash (links by their target).
QString snapshotTree(const QString &root)
{
    QStringList lines;
    QDirIterator it(root, QDir::AllEntries | QDir::System | QDir::Hidden | QDir::NoDotAndDotDot,
                    QDirIterator::Subdirectories);
    while (it.hasNext()) {
        const QString path = it.next();
        const QByteArray encoded = QFile::encodeName(path);
        struct stat info {};
        if (::lstat(encoded.constData(), &info) != 0)
            continue;
        QString line =
            QDir(root).relativeFilePath(path) + QStringLiteral(" mode %1").arg(info.st_mode, 0, 8);
        if (S_ISLNK(info.st_mode)) {
            line += QStringLiteral(" -> ") + QFileInfo(path).symLinkTarget();
        } else if (S_ISREG(info.st_mode)) {
            const int fd = ::open(encoded.constData(), O_RDONLY);
            QCryptographicHash hash(QCryptographicHash::Sha256);
            char buffer[65536];
            for (ssize_t n; fd >= 0 && (n = ::read(fd, buffer, sizeof buffer)) > 0;)
                hash.addData(QByteArrayView(buffer, n));
            if (fd >= 0)
                ::close(fd);
            line += QLatin1Char(' ') + QString::fromLatin1(hash.result().toHex());
        }
        lines.append(line);
    }
    lines.sort();
    return lines.join(QLatin1Char('\n'));
}

/// Creates the row's bad entry in `root`; returns how messages name it.
QString createBadEntry(const QString &kind, const QString &root)
{
    const QByteArray base = QFile::encodeName(root) + '/';
    if (kind == QLatin1String("fifo")) {
        if (::mkfifo(base + "pipe", 0600) != 0)
            qFatal("mkfifo failed");
        return QStringLiteral("pipe");
    }
    if (kind == QLatin1String("socket")) {
        const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        const QByteArray path = base + "control.sock";
        if (size_t(path.size()) >= sizeof address.sun_path)
            qFatal("socket path too long");
        std::memcpy(address.sun_path, path.constData(), size_t(path.size()));
        if (::bind(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0)
            qFatal("bind failed");
        ::close(fd); // the socket file stays
        return QStringLiteral("control.sock");
    }
    if (kind == QLatin1String("self-loop")) {
        if (::symlink("loop", base + "loop") != 0)
            qFatal("symlink failed");
        return QStringLiteral("loop");
    }
    if (kind == QLatin1String("dangling")) {
        if (::symlink("/nonexistent/target", base + "dangling") != 0)
            qFatal("symlink failed");
        return QStringLiteral("dangling");
    }
    if (kind == QLatin1String("folder-loop")) {
        if (::symlink("..", base + "sub/up") != 0)
            qFatal("symlink failed");
        return QStringLiteral("sub/up");
    }
    if (kind == QLatin1String("unreadable-file")) {
        writeFile(root + "/secret.txt", "private\n");
        QFile::setPermissions(root + "/secret.txt", {});
        return QStringLiteral("secret.txt");
    }
    if (kind == QLatin1String("unreadable-folder")) {
        writeFile(root + "/closed/inside.txt", "inside\n");
        QFile::setPermissions(root + "/closed", {});
        return QStringLiteral("closed");
    }
    if (kind == QLatin1String("latin1-name")) {
        const int fd = ::open(base + "caf\xe9.txt", O_CREAT | O_WRONLY, 0600);
        if (fd < 0 || ::write(fd, "latin-1\n", 8) != 8)
            qFatal("cannot create the latin-1 name");
        ::close(fd);
        return QStringLiteral("caf");
    }
    if (kind == QLatin1String("long-key")) {
        // 5 folders of 210 bytes: a relative path of more than 1,024 bytes.
        QString relative;
        for (int i = 0; i < 5; ++i)
            relative += QString(210, QLatin1Char('a' + i)) + QLatin1Char('/');
        relative += QStringLiteral("file.txt");
        writeFile(root + QLatin1Char('/') + relative, "deep\n");
        return QString(210, QLatin1Char('a'));
    }
    qFatal("unknown kind");
}

/// Lets QTemporaryDir remove what the rows locked.
void makeWritable(const QString &root)
{
    (void)QFile::setPermissions(root + "/closed",
                                QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
    (void)QFile::setPermissions(root + "/secret.txt", QFile::ReadOwner | QFile::WriteOwner);
    // QDir cannot name (so not remove) a file whose name is not UTF-8.
    (void)::unlink(QFile::encodeName(root) + "/caf\xe9.txt");
}

} // namespace

class TestBadInputTree : public QObject {
    Q_OBJECT

    std::optional<S3TestServer> m_server;
    QTemporaryDir m_tmp;
    std::unique_ptr<s3::S3Client> m_client;
    QProcessEnvironment m_env;
    int m_row = 0;

    QString dataDir() const { return m_tmp.filePath("data"); }

    FerryRun ferry(const QStringList &args, const QByteArray &input = {})
    {
        QStringList all;
        all << QStringLiteral("--data-dir") << dataDir() << args;
        FerryOptions options;
        options.environment = m_env;
        options.input = input;
        return runFerry(QStringLiteral(FERRY_BINARY), all, options);
    }

    QHash<QString, QByteArray> objects(const QString &prefix)
    {
        QHash<QString, QByteArray> result;
        auto listed = QCoro::waitFor(m_client->listAllObjects(kBucket, prefix, {}));
        if (!listed)
            qFatal("listing failed");
        for (const auto &object : *listed) {
            const QString local = m_tmp.filePath("download");
            auto got = QCoro::waitFor(m_client->getObject(kBucket, object.key, local, {}));
            QFile file(local);
            result.insert(object.key.mid(prefix.size()),
                          got && file.open(QIODevice::ReadOnly) ? file.readAll() : "<failed>");
        }
        return result;
    }

private slots:
    void initTestCase()
    {
        m_server = S3TestServer::fromEnvironment();
        QVERIFY2(m_server.has_value(), qPrintable(S3TestServer::environmentProblem()));
        m_env = ferryEnvironment(m_tmp.filePath("home"));
        m_client = testServerClient(m_server->port());
        auto created = QCoro::waitFor(m_client->createBucket(kBucket, {}));
        QVERIFY(created.has_value());
    }

    void skippedAndNamed_data()
    {
        QTest::addColumn<QString>("kind");
        QTest::addColumn<QStringList>("needles");
        QTest::newRow("tree: FIFO") << "fifo" << QStringList{"a FIFO", "--exclude"};
        QTest::newRow("tree: socket") << "socket" << QStringList{"a socket", "--exclude"};
        QTest::newRow("tree: symbolic link to itself")
            << "self-loop" << QStringList{"leads nowhere", "fix or remove the link"};
        QTest::newRow("tree: dangling symbolic link")
            << "dangling" << QStringList{"leads nowhere", "fix or remove the link"};
        QTest::newRow("tree: link loop to a parent folder")
            << "folder-loop" << QStringList{"link to a folder", "does not follow"};
        QTest::newRow("tree: unreadable file")
            << "unreadable-file" << QStringList{"cannot be read", "chmod u+r"};
        QTest::newRow("tree: unreadable folder")
            << "unreadable-folder" << QStringList{"cannot be read", "chmod u+rx"};
        QTest::newRow("tree: name not valid UTF-8")
            << "latin1-name" << QStringList{"not valid UTF-8", "rename it"};
        QTest::newRow("tree: key longer than 1024 bytes")
            << "long-key" << QStringList{"longer than S3's 1024 bytes", "shorten"};
    }

    void skippedAndNamed()
    {
        QFETCH(QString, kind);
        QFETCH(QStringList, needles);
        const QString name = QStringLiteral("tree%1").arg(++m_row);
        const QString prefix = name + QLatin1Char('/');
        const QString root = m_tmp.filePath(name);
        writeFile(root + "/ok.txt", "ordinary\n");
        writeFile(root + "/sub/nested.txt", QByteArray(70 * 1024, 'n'));
        // An object only the bucket holds: a sync without --mirror-deletes keeps it.
        writeFile(m_tmp.filePath("only-remote.txt"), "remote\n");
        auto kept = QCoro::waitFor(m_client->putObject(kBucket, prefix + "only-remote.txt",
                                                       m_tmp.filePath("only-remote.txt"), {}));
        QVERIFY(kept.has_value());
        needles.prepend(createBadEntry(kind, root));

        QStringList add;
        add << "profile"
            << "add" << name << "--local" << root << "--remote"
            << QStringLiteral("http://127.0.0.1:%1/%2/%3").arg(m_server->port()).arg(kBucket, name)
            << "--access-key-id" << S3TestServer::accessKey() << "--secret-stdin";
        const FerryRun added = ferry(add, S3TestServer::secretKey().toUtf8() + '\n');
        QVERIFY2(added.exitCode == 0, added.err.constData());

        const QString localBefore = snapshotTree(root);
        const FerryRun run = ferry({"sync", name});
        const QString localAfter = snapshotTree(root);
        makeWritable(root);
        QVERIFY2(run.finished, "ferry crashed or hung");
        QVERIFY2(run.exitCode == 1, qPrintable(QStringLiteral("exit %1, stderr: %2")
                                                   .arg(run.exitCode)
                                                   .arg(QString::fromUtf8(run.err))));
        const QString missing = missingNeedles(run.err, needles);
        QVERIFY2(
            missing.isEmpty(),
            qPrintable(
                QStringLiteral("stderr lacks %1:\n%2").arg(missing, QString::fromUtf8(run.err))));

        // The ordinary files arrived byte for byte, nothing else was added, nothing lost.
        const auto stored = objects(prefix);
        QCOMPARE(stored.value("ok.txt"), QByteArray("ordinary\n"));
        QCOMPARE(stored.value("sub/nested.txt"), QByteArray(70 * 1024, 'n'));
        QCOMPARE(stored.value("only-remote.txt"), QByteArray("remote\n"));
        QStringList keys = stored.keys();
        keys.sort();
        QCOMPARE(keys, (QStringList{"ok.txt", "only-remote.txt", "sub/nested.txt"}));
        auto uploads = QCoro::waitFor(m_client->listAllMultipartUploads(kBucket, prefix, {}));
        QVERIFY(uploads.has_value());
        QCOMPARE(uploads->size(), 0);
        QCOMPARE(localAfter, localBefore);
    }
};

QTEST_GUILESS_MAIN(TestBadInputTree)
#include "tst_badinput_tree.moc"
