// The S3 client against the real local S3 server of the `s3server` fixture (OpenStack Swift
// with s3api): every operation, a multipart round trip compared byte for byte, aborts that
// leave neither uploads nor segments behind, the errors users meet (wrong secret, unknown
// key, clock skew, missing bucket/key/upload, part too small, endpoint unreachable) and
// cancellation that aborts a transfer at once.
//
// Known differences of the server (Swift s3api): ListParts on a completed upload answers 200;
// aws-chunked streaming signatures are unsupported (the client never uses them); the minimum
// part size is 5 MiB unless the fixture lowers it; an unknown access key is reported as
// SignatureDoesNotMatch, not InvalidAccessKeyId.

#include "app/s3/NetworkThreadScheduling.h"
#include "app/s3/S3Client.h"
#include "app/s3/TcpNoDelay.h"
#include "support/S3TestServer.h"

#include <QCoro/QCoroTask>

#include <QCryptographicHash>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QMap>
#include <QRandomGenerator>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>
#include <QTimer>
#include <QUuid>

#include <thread>

#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/socket.h>

using namespace ferry::s3;
using ferry::CancellationSource;
using ferry::CancellationToken;
using ferry::test::S3TestServer;
using Kind = S3Error::Kind;

namespace {

constexpr qint64 MiB = 1024 * 1024;

QByteArray randomBytes(qint64 size)
{
    QByteArray bytes(size, Qt::Uninitialized);
    auto *words = reinterpret_cast<quint32 *>(bytes.data());
    QRandomGenerator::global()->fillRange(words, size / 4);
    for (qint64 i = size / 4 * 4; i < size; ++i)
        bytes[i] = char(QRandomGenerator::global()->bounded(256));
    return bytes;
}

QByteArray readAll(const QString &path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray("<unreadable>");
}

QString md5Hex(QByteArrayView data)
{
    return QString::fromLatin1(QCryptographicHash::hash(data, QCryptographicHash::Md5).toHex());
}

template <typename T> QString describe(const S3Result<T> &result)
{
    return result ? QStringLiteral("success") : result.error().toString();
}

// Each evaluates its argument once (it is usually the operation itself).
#define VERIFY_OK(expression)                                                                      \
    do {                                                                                           \
        const auto &verified = (expression);                                                       \
        QVERIFY2(verified.has_value(), qPrintable(describe(verified)));                            \
    } while (false)
#define VERIFY_KIND(expression, expectedKind)                                                      \
    do {                                                                                           \
        const auto &verified = (expression);                                                       \
        QVERIFY2(!verified.has_value(), "expected an error, got success");                         \
        QCOMPARE(kindName(verified.error().kind()), kindName(expectedKind));                       \
    } while (false)

/// The TCP_NODELAY option of a socket descriptor (-1 when it cannot be read).
int tcpNoDelay(int fd)
{
    int value = 0;
    socklen_t length = sizeof value;
    return ::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &value, &length) == 0 ? value : -1;
}

/// This process's sockets connected to 127.0.0.1:`port`.
QList<int> socketsConnectedTo(quint16 port)
{
    QList<int> found;
    DIR *directory = ::opendir("/proc/self/fd");
    if (!directory)
        return found;
    while (const dirent *entry = ::readdir(directory)) {
        bool isNumber = false;
        const int fd = QByteArray(entry->d_name).toInt(&isNumber);
        sockaddr_in peer{};
        socklen_t length = sizeof peer;
        if (isNumber && ::getpeername(fd, reinterpret_cast<sockaddr *>(&peer), &length) == 0 &&
            peer.sin_family == AF_INET && ntohs(peer.sin_port) == port &&
            ntohl(peer.sin_addr.s_addr) == INADDR_LOOPBACK)
            found.append(fd);
    }
    ::closedir(directory);
    return found;
}

/// The scheduling policy of each of this process's threads Qt named "QNetworkAccessManager
/// thread" (Linux keeps 15 characters of a thread's name), by thread id.
QMap<int, int> qtNetworkThreadPolicies()
{
    QMap<int, int> policies;
    const QDir tasks(QStringLiteral("/proc/self/task"));
    for (const QString &task : tasks.entryList(QDir::Dirs | QDir::NoDotAndDotDot)) {
        QFile name(tasks.filePath(task + QStringLiteral("/comm")));
        if (name.open(QIODevice::ReadOnly) && name.readAll().trimmed() == "QNetworkAccessM")
            policies.insert(task.toInt(), ::sched_getscheduler(pid_t(task.toInt())));
    }
    return policies;
}

} // namespace

class TestS3Client : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void cleanupTestCase();

    void createsAndChecksBuckets();
    void putsHeadsGetsAndDeletesObjects();
    void keepsKeysWithSpecialCharactersIntact();
    void uploadsEmptyFiles();
    void disablesNaglesAlgorithmOnTcpSockets();
    void sendsRequestsWithoutNaglesDelay();
    void runsQtsNetworkThreadAsBatchWork();
    void listsWithPaginationAndDelimiter();
    void deletesManyObjects();
    void roundTripsAMultipartUpload();
    void pagesThroughParts();
    void pagesThroughMultipartUploads();
    void abortLeavesNoUploadAndNoSegments();
    void reportsTooSmallParts();
    void reportsMissingUploadsAndKeys();
    void reportsAWrongSecret();
    void reportsAnUnknownAccessKey();
    void reportsClockSkew();
    void reportsAnUnreachableEndpoint();
    void reportsTlsFailures();
    void timesOutOnASilentServer();
    void sendsNothingWithACancelledToken();
    void cancelsASilentRequestAtOnce();
    void cancelsFromAnotherThread();
    void worksOnAWorkerThread();
    void cancelsAnUploadPartAtOnce();
    void cancelsADownloadAtOnce();

private:
    std::unique_ptr<S3Client> makeClient(const QString &secret = S3TestServer::secretKey(),
                                         const QString &accessKey = S3TestServer::accessKey());
    QString writeFile(const QString &name, const QByteArray &content);
    QString newBucket();

    std::optional<S3TestServer> m_server;
    std::unique_ptr<S3Client> m_client;
    QTemporaryDir m_dir;
    QString m_bucket;
    QStringList m_buckets;
};

std::unique_ptr<S3Client> TestS3Client::makeClient(const QString &secret, const QString &accessKey)
{
    ClientConfig config;
    config.endpoint = Endpoint::fromUrl(m_server->endpoint().toString()).value();
    config.credentials = {accessKey, secret, {}};
    return std::make_unique<S3Client>(config);
}

QString TestS3Client::writeFile(const QString &name, const QByteArray &content)
{
    const QString path = m_dir.filePath(name);
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(content) != content.size())
        qFatal("cannot write %s", qPrintable(path));
    return path;
}

QString TestS3Client::newBucket()
{
    const QString bucket =
        QStringLiteral("ferry-%1").arg(QUuid::createUuid().toString(QUuid::Id128).left(16));
    const auto created = QCoro::waitFor(m_client->createBucket(bucket, {}));
    if (!created)
        qFatal("cannot create bucket %s: %s", qPrintable(bucket),
               qPrintable(created.error().toString()));
    m_buckets.append(bucket);
    return bucket;
}

void TestS3Client::initTestCase()
{
    m_server = S3TestServer::fromEnvironment();
    QVERIFY2(m_server.has_value(), qPrintable(S3TestServer::environmentProblem()));
    QVERIFY(m_dir.isValid());
    m_client = makeClient();
    m_bucket = newBucket();
}

void TestS3Client::cleanupTestCase()
{
    // Buckets stay: the fixture wipes the server's data at every start.
    m_client.reset();
}

void TestS3Client::createsAndChecksBuckets()
{
    const QString bucket =
        QStringLiteral("ferry-created-%1").arg(QRandomGenerator::global()->bounded(1000000));
    VERIFY_KIND(QCoro::waitFor(m_client->headBucket(bucket, {})), Kind::NoSuchBucket);
    const auto missing = QCoro::waitFor(m_client->headBucket(bucket, {}));
    QVERIFY(missing.error().message().contains(bucket));
    QVERIFY(missing.error().message().contains(m_client->endpoint().displayName()));

    VERIFY_OK(QCoro::waitFor(m_client->createBucket(bucket, {})));
    VERIFY_OK(QCoro::waitFor(m_client->headBucket(bucket, {})));
    // Creating it again is fine: it is ours.
    VERIFY_OK(QCoro::waitFor(m_client->createBucket(bucket, {})));

    // Listing a bucket that does not exist says so.
    const auto list =
        QCoro::waitFor(m_client->listObjectsV2(QStringLiteral("ferry-no-such-bucket"), {}, {}));
    VERIFY_KIND(list, Kind::NoSuchBucket);
    QCOMPARE(list.error().httpStatus(), 404);
    QCOMPARE(list.error().code(), QStringLiteral("NoSuchBucket"));
}

void TestS3Client::putsHeadsGetsAndDeletesObjects()
{
    const QByteArray content = randomBytes(MiB + 3);
    const QString source = writeFile(QStringLiteral("put.bin"), content);
    const QString key = QStringLiteral("objects/put.bin");

    qint64 lastSent = 0;
    PutOptions options;
    options.contentType = QStringLiteral("application/x-test");
    options.userMetadata.insert(QStringLiteral("origin"), QStringLiteral("ferry-test"));
    const auto put = QCoro::waitFor(m_client->putObject(
        m_bucket, key, source, {}, options, [&](qint64 sent, qint64) { lastSent = sent; }));
    VERIFY_OK(put);
    QCOMPARE(put->etag, md5Hex(content));
    QCOMPARE(lastSent, content.size());

    const auto head = QCoro::waitFor(m_client->headObject(m_bucket, key, {}));
    VERIFY_OK(head);
    QCOMPARE(head->size, content.size());
    QCOMPARE(head->etag, md5Hex(content));
    QCOMPARE(head->contentType, QStringLiteral("application/x-test"));
    QCOMPARE(head->userMetadata.value(QStringLiteral("origin")), QStringLiteral("ferry-test"));
    QVERIFY(head->lastModified.isValid());
    QVERIFY(qAbs(head->lastModified.secsTo(QDateTime::currentDateTimeUtc())) < 3600);

    const QString target = m_dir.filePath(QStringLiteral("got.bin"));
    qint64 lastReceived = 0;
    const auto got = QCoro::waitFor(m_client->getObject(
        m_bucket, key, target, {}, [&](qint64 received, qint64) { lastReceived = received; }));
    VERIFY_OK(got);
    QCOMPARE(got->size, content.size());
    QCOMPARE(lastReceived, content.size());
    QVERIFY(readAll(target) == content);

    VERIFY_OK(QCoro::waitFor(m_client->deleteObject(m_bucket, key, {})));
    VERIFY_KIND(QCoro::waitFor(m_client->headObject(m_bucket, key, {})), Kind::NoSuchKey);
    // Deleting what is gone succeeds, as in S3.
    VERIFY_OK(QCoro::waitFor(m_client->deleteObject(m_bucket, key, {})));

    // A failed download leaves no file behind and keeps what was there.
    const QString untouched = writeFile(QStringLiteral("keep.bin"), "previous");
    const auto missing = QCoro::waitFor(m_client->getObject(m_bucket, key, untouched, {}));
    VERIFY_KIND(missing, Kind::NoSuchKey);
    QVERIFY(missing.error().message().contains(key));
    QCOMPARE(readAll(untouched), QByteArray("previous"));
}

void TestS3Client::keepsKeysWithSpecialCharactersIntact()
{
    const QStringList keys = {
        QStringLiteral("special/a b+c=d&e?f#g%h~i.txt"),
        QStringLiteral("special/été/日本語 ファイル.txt"),
        QStringLiteral("special/$dollar;semi,comma:colon@at!bang'quote(paren)*star"),
        QStringLiteral("special/ leading and trailing "),
        QStringLiteral("special/double//slash"),
        QStringLiteral("special/%2F-not-a-slash"),
    };
    for (const QString &key : keys) {
        const QByteArray content = key.toUtf8();
        const QString path = writeFile(QStringLiteral("special.bin"), content);
        VERIFY_OK(QCoro::waitFor(m_client->putObject(m_bucket, key, path, {})));
        const auto head = QCoro::waitFor(m_client->headObject(m_bucket, key, {}));
        VERIFY_OK(head);
        QCOMPARE(head->size, content.size());
        const QString target = m_dir.filePath(QStringLiteral("special-got.bin"));
        VERIFY_OK(QCoro::waitFor(m_client->getObject(m_bucket, key, target, {})));
        QCOMPARE(readAll(target), content);
    }
    const auto listed =
        QCoro::waitFor(m_client->listAllObjects(m_bucket, QStringLiteral("special/"), {}));
    VERIFY_OK(listed);
    QStringList listedKeys;
    for (const auto &object : *listed)
        listedKeys.append(object.key);
    QStringList expected = keys;
    expected.sort();
    listedKeys.sort();
    QCOMPARE(listedKeys, expected);

    // A prefix with special characters is signed and matched as such.
    const auto accented =
        QCoro::waitFor(m_client->listAllObjects(m_bucket, QStringLiteral("special/été/"), {}));
    VERIFY_OK(accented);
    QCOMPARE(accented->size(), 1);
    QCOMPARE(accented->first().key, keys.at(1));

    // Keys Qt's HTTP stack would rewrite are refused before anything is sent.
    const auto dotted =
        QCoro::waitFor(m_client->headObject(m_bucket, QStringLiteral("special/../escape"), {}));
    VERIFY_KIND(dotted, Kind::InvalidRequest);
    QVERIFY(dotted.error().message().contains(QLatin1String("`..`")));
}

void TestS3Client::uploadsEmptyFiles()
{
    const QString path = writeFile(QStringLiteral("empty.bin"), {});
    const auto put =
        QCoro::waitFor(m_client->putObject(m_bucket, QStringLiteral("empty"), path, {}));
    VERIFY_OK(put);
    QCOMPARE(put->etag, QStringLiteral("d41d8cd98f00b204e9800998ecf8427e"));
    const QString target = m_dir.filePath(QStringLiteral("empty-got.bin"));
    const auto got =
        QCoro::waitFor(m_client->getObject(m_bucket, QStringLiteral("empty"), target, {}));
    VERIFY_OK(got);
    QCOMPARE(got->size, 0);
    QVERIFY(QFile::exists(target));
    QCOMPARE(QFileInfo(target).size(), 0);
}

void TestS3Client::disablesNaglesAlgorithmOnTcpSockets()
{
    QTcpServer listener;
    QVERIFY(listener.listen(QHostAddress::LocalHost));
    QTcpSocket client;
    client.connectToHost(QHostAddress::LocalHost, listener.serverPort());
    QVERIFY(client.waitForConnected(5000));
    QVERIFY(listener.waitForNewConnection(5000));
    std::unique_ptr<QTcpSocket> accepted(listener.nextPendingConnection());
    QVERIFY(accepted);
    const int listening = int(listener.socketDescriptor());
    const int connecting = int(client.socketDescriptor());
    const int answering = int(accepted->socketDescriptor());
    QCOMPARE(tcpNoDelay(connecting), 0); // Qt's default, the reason for the function

    QVERIFY(disableNagleOnTcpSockets() >= 2);
    QCOMPARE(tcpNoDelay(connecting), 1);
    QCOMPARE(tcpNoDelay(answering), 1);
    QCOMPARE(tcpNoDelay(listening), 0);      // listening sockets are left alone
    QCOMPARE(disableNagleOnTcpSockets(), 0); // nothing left to change
}

void TestS3Client::sendsRequestsWithoutNaglesDelay()
{
    // A client of its own: its connections are new, opened by the requests below.
    auto client = makeClient();
    const QList<int> before = socketsConnectedTo(m_server->port());
    const QString path = writeFile(QStringLiteral("nagle.bin"), randomBytes(64 * 1024));
    VERIFY_OK(QCoro::waitFor(client->headBucket(m_bucket, {})));
    VERIFY_OK(QCoro::waitFor(client->putObject(m_bucket, QStringLiteral("nagle"), path, {})));

    // Qt keeps the connection open for the next request: it must not delay small segments.
    QList<int> opened;
    for (int fd : socketsConnectedTo(m_server->port()))
        if (!before.contains(fd))
            opened.append(fd);
    QVERIFY2(!opened.isEmpty(), "the client's keep-alive connection was not found");
    for (int fd : opened)
        QCOMPARE(tcpNoDelay(fd), 1);
}

void TestS3Client::runsQtsNetworkThreadAsBatchWork()
{
    // A client of its own: its manager starts a new HTTP thread with its first request.
    const QMap<int, int> before = qtNetworkThreadPolicies();
    auto client = makeClient();
    VERIFY_OK(QCoro::waitFor(client->headBucket(m_bucket, {})));
    const QMap<int, int> after = qtNetworkThreadPolicies();
    QList<int> started;
    for (auto it = after.cbegin(); it != after.cend(); ++it) {
        QCOMPARE(it.value(), int(SCHED_BATCH));
        if (!before.contains(it.key()))
            started.append(it.key());
    }
    QCOMPARE(started.size(), 1);
    QCOMPARE(runNetworkThreadsAsBatch(), 0);             // nothing left to change
    QCOMPARE(::sched_getscheduler(0), int(SCHED_OTHER)); // the caller's thread is left alone
}

void TestS3Client::listsWithPaginationAndDelimiter()
{
    const QStringList keys = {
        QStringLiteral("list/a/1"), QStringLiteral("list/a/2"), QStringLiteral("list/b/1"),
        QStringLiteral("list/c"),   QStringLiteral("list/d"),   QStringLiteral("list/e"),
        QStringLiteral("list/f"),
    };
    const QString path = writeFile(QStringLiteral("small.bin"), "x");
    for (const QString &key : keys)
        VERIFY_OK(QCoro::waitFor(m_client->putObject(m_bucket, key, path, {})));

    // Pages of 3, chained by continuation tokens.
    QStringList seen;
    ListObjectsRequest request;
    request.prefix = QStringLiteral("list/");
    request.maxKeys = 3;
    int pages = 0;
    for (;;) {
        const auto page = QCoro::waitFor(m_client->listObjectsV2(m_bucket, request, {}));
        VERIFY_OK(page);
        ++pages;
        QVERIFY(page->objects.size() <= 3);
        for (const auto &object : page->objects) {
            seen.append(object.key);
            QCOMPARE(object.size, 1);
            QCOMPARE(object.etag, md5Hex("x"));
        }
        if (!page->isTruncated)
            break;
        QVERIFY(!page->nextContinuationToken.isEmpty());
        request.continuationToken = page->nextContinuationToken;
        QVERIFY(pages < 10);
    }
    QCOMPARE(pages, 3);
    QCOMPARE(seen, keys);

    // One folder level.
    ListObjectsRequest folder;
    folder.prefix = QStringLiteral("list/");
    folder.delimiter = QStringLiteral("/");
    const auto level = QCoro::waitFor(m_client->listObjectsV2(m_bucket, folder, {}));
    VERIFY_OK(level);
    QCOMPARE(level->commonPrefixes,
             QStringList({QStringLiteral("list/a/"), QStringLiteral("list/b/")}));
    QCOMPARE(level->objects.size(), 4);
    QCOMPARE(level->objects.first().key, QStringLiteral("list/c"));

    const auto all =
        QCoro::waitFor(m_client->listAllObjects(m_bucket, QStringLiteral("list/"), {}));
    VERIFY_OK(all);
    QCOMPARE(all->size(), keys.size());
}

void TestS3Client::deletesManyObjects()
{
    const QString path = writeFile(QStringLiteral("small.bin"), "y");
    QStringList keys;
    for (int i = 0; i < 5; ++i) {
        keys.append(QStringLiteral("bulk/%1 & <%1>").arg(i));
        VERIFY_OK(QCoro::waitFor(m_client->putObject(m_bucket, keys.last(), path, {})));
    }
    const auto result = QCoro::waitFor(m_client->deleteObjects(
        m_bucket, keys + QStringList{QStringLiteral("bulk/never-existed")}, {}));
    VERIFY_OK(result);
    QVERIFY2(result->failures.isEmpty(), qPrintable(result->failures.value(0).message));
    for (const QString &key : keys)
        QVERIFY2(result->deleted.contains(key), qPrintable(key));
    const auto left =
        QCoro::waitFor(m_client->listAllObjects(m_bucket, QStringLiteral("bulk/"), {}));
    VERIFY_OK(left);
    QVERIFY(left->isEmpty());
}

void TestS3Client::roundTripsAMultipartUpload()
{
    const qint64 partSize = 5 * MiB;
    const QByteArray content = randomBytes(2 * partSize + 1234);
    const QString source = writeFile(QStringLiteral("multipart.bin"), content);
    const QString key = QStringLiteral("multipart/big file.bin");

    const auto upload = QCoro::waitFor(m_client->createMultipartUpload(m_bucket, key, {}));
    VERIFY_OK(upload);
    QVERIFY(!upload->uploadId.isEmpty());
    QCOMPARE(upload->key, key);

    const auto inProgress = QCoro::waitFor(
        m_client->listAllMultipartUploads(m_bucket, QStringLiteral("multipart/"), {}));
    VERIFY_OK(inProgress);
    QCOMPARE(inProgress->size(), 1);
    QCOMPARE(inProgress->first().key, key);
    QCOMPARE(inProgress->first().uploadId, upload->uploadId);

    // Three parts in flight at once, the last one short.
    auto first = m_client->uploadPart(*upload, 1, source, 0, partSize, {});
    auto second = m_client->uploadPart(*upload, 2, source, partSize, partSize, {});
    auto third = m_client->uploadPart(*upload, 3, source, 2 * partSize, 1234, {});
    const auto part1 = QCoro::waitFor(first);
    const auto part2 = QCoro::waitFor(second);
    const auto part3 = QCoro::waitFor(third);
    VERIFY_OK(part1);
    VERIFY_OK(part2);
    VERIFY_OK(part3);
    QCOMPARE(part1->etag, md5Hex(content.first(partSize)));
    QCOMPARE(part2->etag, md5Hex(content.mid(partSize, partSize)));
    QCOMPARE(part3->etag, md5Hex(content.mid(2 * partSize)));
    QCOMPARE(part3->size, 1234);

    const auto parts = QCoro::waitFor(m_client->listAllParts(*upload, {}));
    VERIFY_OK(parts);
    QCOMPARE(parts->size(), 3);
    QCOMPARE(parts->at(0).partNumber, 1);
    QCOMPARE(parts->at(0).size, partSize);
    QCOMPARE(parts->at(1).etag, part2->etag);
    QCOMPARE(parts->at(2).size, 1234);

    // Given out of order: the client sorts them.
    const auto completed = QCoro::waitFor(m_client->completeMultipartUpload(
        *upload, {part3->completed(), part1->completed(), part2->completed()}, {}));
    VERIFY_OK(completed);
    QVERIFY2(completed->etag.endsWith(QLatin1String("-3")), qPrintable(completed->etag));

    const QString target = m_dir.filePath(QStringLiteral("multipart-got.bin"));
    const auto got = QCoro::waitFor(m_client->getObject(m_bucket, key, target, {}));
    VERIFY_OK(got);
    QCOMPARE(got->size, content.size());
    QCOMPARE(got->etag, completed->etag);
    QVERIFY2(readAll(target) == content, "the downloaded bytes differ from the uploaded ones");

    const auto after = QCoro::waitFor(
        m_client->listAllMultipartUploads(m_bucket, QStringLiteral("multipart/"), {}));
    VERIFY_OK(after);
    QVERIFY(after->isEmpty());
}

void TestS3Client::pagesThroughParts()
{
    const QString source = writeFile(QStringLiteral("parts.bin"), randomBytes(3 * 1024));
    const auto upload = QCoro::waitFor(
        m_client->createMultipartUpload(m_bucket, QStringLiteral("parts/paged.bin"), {}));
    VERIFY_OK(upload);
    for (int part = 1; part <= 3; ++part)
        VERIFY_OK(QCoro::waitFor(
            m_client->uploadPart(*upload, part, source, (part - 1) * 1024, 1024, {})));

    const auto firstPage = QCoro::waitFor(m_client->listParts(*upload, 0, {}, 2));
    VERIFY_OK(firstPage);
    QCOMPARE(firstPage->parts.size(), 2);
    QVERIFY(firstPage->isTruncated);
    QCOMPARE(firstPage->nextPartNumberMarker, 2);
    const auto secondPage =
        QCoro::waitFor(m_client->listParts(*upload, firstPage->nextPartNumberMarker, {}, 2));
    VERIFY_OK(secondPage);
    QCOMPARE(secondPage->parts.size(), 1);
    QCOMPARE(secondPage->parts.first().partNumber, 3);
    QVERIFY(!secondPage->isTruncated);

    const auto all = QCoro::waitFor(m_client->listAllParts(*upload, {}));
    VERIFY_OK(all);
    QCOMPARE(all->size(), 3);
    VERIFY_OK(QCoro::waitFor(m_client->abortMultipartUpload(*upload, {})));
}

void TestS3Client::pagesThroughMultipartUploads()
{
    QList<MultipartUpload> uploads;
    for (int i = 0; i < 3; ++i) {
        const auto upload = QCoro::waitFor(
            m_client->createMultipartUpload(m_bucket, QStringLiteral("uploads/%1.bin").arg(i), {}));
        VERIFY_OK(upload);
        uploads.append(*upload);
    }
    ListMultipartUploadsRequest request;
    request.prefix = QStringLiteral("uploads/");
    request.maxUploads = 2;
    const auto firstPage = QCoro::waitFor(m_client->listMultipartUploads(m_bucket, request, {}));
    VERIFY_OK(firstPage);
    QCOMPARE(firstPage->uploads.size(), 2);
    QVERIFY(firstPage->isTruncated);
    request.keyMarker = firstPage->nextKeyMarker;
    request.uploadIdMarker = firstPage->nextUploadIdMarker;
    const auto secondPage = QCoro::waitFor(m_client->listMultipartUploads(m_bucket, request, {}));
    VERIFY_OK(secondPage);
    QCOMPARE(secondPage->uploads.size(), 1);
    QCOMPARE(secondPage->uploads.first().key, QStringLiteral("uploads/2.bin"));

    const auto all =
        QCoro::waitFor(m_client->listAllMultipartUploads(m_bucket, QStringLiteral("uploads/"), {}));
    VERIFY_OK(all);
    QCOMPARE(all->size(), 3);
    for (const auto &upload : uploads)
        VERIFY_OK(QCoro::waitFor(m_client->abortMultipartUpload(upload, {})));
    const auto none =
        QCoro::waitFor(m_client->listAllMultipartUploads(m_bucket, QStringLiteral("uploads/"), {}));
    VERIFY_OK(none);
    QVERIFY(none->isEmpty());
}

void TestS3Client::abortLeavesNoUploadAndNoSegments()
{
    const QString bucket = newBucket(); // its own segments container
    const QString source = writeFile(QStringLiteral("abort.bin"), randomBytes(2 * 4096));
    const auto upload =
        QCoro::waitFor(m_client->createMultipartUpload(bucket, QStringLiteral("abort/me.bin"), {}));
    VERIFY_OK(upload);
    VERIFY_OK(QCoro::waitFor(m_client->uploadPart(*upload, 1, source, 0, 4096, {})));
    VERIFY_OK(QCoro::waitFor(m_client->uploadPart(*upload, 2, source, 4096, 4096, {})));

    const auto before = m_server->listSegments(bucket);
    QVERIFY2(before.ok(), qPrintable(before.error));
    QVERIFY2(!before.names.isEmpty(), "the parts should be stored as segments");

    VERIFY_OK(QCoro::waitFor(m_client->abortMultipartUpload(*upload, {})));

    const auto uploads = QCoro::waitFor(m_client->listAllMultipartUploads(bucket, {}, {}));
    VERIFY_OK(uploads);
    QVERIFY(uploads->isEmpty());
    const auto after = m_server->listSegments(bucket);
    QVERIFY2(after.ok(), qPrintable(after.error));
    QVERIFY2(after.names.isEmpty(), qPrintable(after.names.join(QLatin1String(", "))));

    // Aborts are idempotent: the upload being gone counts as done.
    VERIFY_OK(QCoro::waitFor(m_client->abortMultipartUpload(*upload, {})));
    // But the parts' operations report it.
    VERIFY_KIND(QCoro::waitFor(m_client->uploadPart(*upload, 3, source, 0, 10, {})),
                Kind::NoSuchUpload);
}

void TestS3Client::reportsTooSmallParts()
{
    const QString source = writeFile(QStringLiteral("tiny.bin"), randomBytes(2048));
    const auto upload = QCoro::waitFor(
        m_client->createMultipartUpload(m_bucket, QStringLiteral("tiny/parts.bin"), {}));
    VERIFY_OK(upload);
    const auto part1 = QCoro::waitFor(m_client->uploadPart(*upload, 1, source, 0, 1024, {}));
    const auto part2 = QCoro::waitFor(m_client->uploadPart(*upload, 2, source, 1024, 1024, {}));
    VERIFY_OK(part1);
    VERIFY_OK(part2);
    const auto completed = QCoro::waitFor(
        m_client->completeMultipartUpload(*upload, {part1->completed(), part2->completed()}, {}));
    VERIFY_KIND(completed, Kind::EntityTooSmall);
    QVERIFY(completed.error().message().contains(QLatin1String("part size")));
    QVERIFY(!completed.error().isRetryable());
    VERIFY_OK(QCoro::waitFor(m_client->abortMultipartUpload(*upload, {})));
}

void TestS3Client::reportsMissingUploadsAndKeys()
{
    const MultipartUpload bogus{m_bucket, QStringLiteral("nothing.bin"),
                                QStringLiteral("bm90LWFuLXVwbG9hZA")};
    const QString source = writeFile(QStringLiteral("bogus.bin"), "data");
    VERIFY_KIND(QCoro::waitFor(m_client->uploadPart(bogus, 1, source, 0, 4, {})),
                Kind::NoSuchUpload);
    VERIFY_KIND(QCoro::waitFor(m_client->listParts(bogus, 0, {})), Kind::NoSuchUpload);
    VERIFY_OK(QCoro::waitFor(m_client->abortMultipartUpload(bogus, {})));
    VERIFY_KIND(QCoro::waitFor(m_client->headObject(m_bucket, QStringLiteral("nothing.bin"), {})),
                Kind::NoSuchKey);
    // Local problems are local errors, not server ones.
    VERIFY_KIND(QCoro::waitFor(m_client->putObject(m_bucket, QStringLiteral("x"),
                                                   m_dir.filePath(QStringLiteral("absent")), {})),
                Kind::LocalFileError);
    VERIFY_KIND(QCoro::waitFor(m_client->uploadPart(bogus, 1, source, 0, 400, {})),
                Kind::LocalFileError);
}

void TestS3Client::reportsAWrongSecret()
{
    const auto client = makeClient(QStringLiteral("not-the-secret"));
    const auto head = QCoro::waitFor(client->headBucket(m_bucket, {}));
    QVERIFY(!head.has_value()); // HEAD has no body: denied, without the reason
    const auto list = QCoro::waitFor(client->listObjectsV2(m_bucket, {}, {}));
    VERIFY_KIND(list, Kind::WrongSecret);
    QCOMPARE(list.error().code(), QStringLiteral("SignatureDoesNotMatch"));
    QCOMPARE(list.error().httpStatus(), 403);
    QVERIFY(!list.error().isRetryable());
    QVERIFY(list.error().message().contains(QLatin1String("secret access key is wrong")));
    QVERIFY(list.error().message().contains(S3TestServer::accessKey()));
    QVERIFY(!list.error().message().contains(QLatin1String("not-the-secret")));

    const QString source = writeFile(QStringLiteral("denied.bin"), randomBytes(4096));
    VERIFY_KIND(QCoro::waitFor(client->putObject(m_bucket, QStringLiteral("denied"), source, {})),
                Kind::WrongSecret);
}

void TestS3Client::reportsAnUnknownAccessKey()
{
    // AWS answers InvalidAccessKeyId (see tst_s3xml); Swift's s3api cannot tell an unknown key
    // from a wrong secret and answers SignatureDoesNotMatch for both. Either way the message
    // names the key and sends the user to the credentials.
    const auto client = makeClient(S3TestServer::secretKey(), QStringLiteral("nobody"));
    const auto list = QCoro::waitFor(client->listObjectsV2(m_bucket, {}, {}));
    QVERIFY(!list.has_value());
    QVERIFY2(list.error().kind() == Kind::UnknownAccessKey ||
                 list.error().kind() == Kind::WrongSecret,
             qPrintable(list.error().toString()));
    QVERIFY(list.error().message().contains(QLatin1String("`nobody`")));
    QVERIFY(list.error().message().contains(QLatin1String("credentials")));
    QVERIFY(!list.error().isRetryable());
}

void TestS3Client::reportsClockSkew()
{
    const auto client = makeClient();
    client->transport().setClock([] { return QDateTime::currentDateTimeUtc().addSecs(-3600); });
    const auto list = QCoro::waitFor(client->listObjectsV2(m_bucket, {}, {}));
    VERIFY_KIND(list, Kind::ClockSkew);
    QVERIFY(list.error().message().contains(QLatin1String("clock")));
}

void TestS3Client::reportsAnUnreachableEndpoint()
{
    // A port nobody listens on: bind one, then free it.
    QTcpServer probe;
    QVERIFY(probe.listen(QHostAddress::LocalHost));
    const quint16 port = probe.serverPort();
    probe.close();

    ClientConfig config;
    config.endpoint = Endpoint::fromUrl(QStringLiteral("http://127.0.0.1:%1").arg(port)).value();
    config.credentials = {S3TestServer::accessKey(), S3TestServer::secretKey(), {}};
    S3Client client(config);
    const auto refused = QCoro::waitFor(client.headBucket(m_bucket, {}));
    VERIFY_KIND(refused, Kind::EndpointUnreachable);
    QCOMPARE(refused.error().code(), QStringLiteral("ConnectionRefused"));
    QVERIFY(refused.error().isRetryable());
    QCOMPARE(refused.error().httpStatus(), 0);
    QVERIFY(refused.error().message().contains(QStringLiteral("127.0.0.1:%1").arg(port)));

    config.endpoint = Endpoint::fromUrl(QStringLiteral("http://ferry-test.invalid:9000")).value();
    S3Client nowhere(config);
    const auto notFound = QCoro::waitFor(nowhere.headBucket(m_bucket, {}));
    VERIFY_KIND(notFound, Kind::EndpointUnreachable);
    QCOMPARE(notFound.error().code(), QStringLiteral("HostNotFound"));
    QVERIFY(notFound.error().isRetryable());
}

void TestS3Client::reportsTlsFailures()
{
    // A "server" that answers the TLS handshake with plain text.
    QTcpServer plain;
    QVERIFY(plain.listen(QHostAddress::LocalHost));
    connect(&plain, &QTcpServer::newConnection, &plain, [&plain] {
        QTcpSocket *socket = plain.nextPendingConnection();
        socket->write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        socket->disconnectFromHost();
    });
    ClientConfig config;
    config.endpoint =
        Endpoint::fromUrl(QStringLiteral("s3://127.0.0.1:%1").arg(plain.serverPort())).value();
    config.credentials = {S3TestServer::accessKey(), S3TestServer::secretKey(), {}};
    S3Client client(config);
    const auto result = QCoro::waitFor(client.headBucket(m_bucket, {}));
    VERIFY_KIND(result, Kind::EndpointUnreachable);
    QVERIFY2(result.error().code() == QLatin1String("TlsError") ||
                 result.error().code() == QLatin1String("NetworkError"),
             qPrintable(result.error().toString()));
    QVERIFY(result.error().isRetryable());
}

void TestS3Client::timesOutOnASilentServer()
{
    // Accepts connections and never answers.
    QTcpServer silent;
    QVERIFY(silent.listen(QHostAddress::LocalHost));
    ClientConfig config;
    config.endpoint =
        Endpoint::fromUrl(QStringLiteral("http://127.0.0.1:%1").arg(silent.serverPort())).value();
    config.credentials = {S3TestServer::accessKey(), S3TestServer::secretKey(), {}};
    config.transferTimeout = std::chrono::milliseconds(300);
    S3Client client(config);
    const auto result = QCoro::waitFor(client.headBucket(m_bucket, {}));
    VERIFY_KIND(result, Kind::EndpointUnreachable);
    QCOMPARE(result.error().code(), QStringLiteral("Timeout"));
    QVERIFY(result.error().isRetryable());
}

void TestS3Client::sendsNothingWithACancelledToken()
{
    CancellationSource source;
    source.cancel();
    const QString path = writeFile(QStringLiteral("never.bin"), "never sent");
    const auto put = QCoro::waitFor(
        m_client->putObject(m_bucket, QStringLiteral("never-sent"), path, source.token()));
    VERIFY_KIND(put, Kind::Cancelled);
    QVERIFY(put.error().isCancelled());
    QVERIFY(!put.error().isRetryable());
    VERIFY_KIND(QCoro::waitFor(m_client->headObject(m_bucket, QStringLiteral("never-sent"), {})),
                Kind::NoSuchKey);
    VERIFY_KIND(QCoro::waitFor(m_client->headBucket(m_bucket, source.token())), Kind::Cancelled);
}

void TestS3Client::cancelsASilentRequestAtOnce()
{
    // The server never answers and the timeout is far away: only the token can end this.
    QTcpServer silent;
    QVERIFY(silent.listen(QHostAddress::LocalHost));
    QSignalSpy connected(&silent, &QTcpServer::newConnection);
    ClientConfig config;
    config.endpoint =
        Endpoint::fromUrl(QStringLiteral("http://127.0.0.1:%1").arg(silent.serverPort())).value();
    config.credentials = {S3TestServer::accessKey(), S3TestServer::secretKey(), {}};
    config.transferTimeout = std::chrono::minutes(10);
    S3Client client(config);

    CancellationSource source;
    QElapsedTimer sinceCancel;
    connect(&silent, &QTcpServer::newConnection, this, [&] {
        QTimer::singleShot(50, this, [&] {
            sinceCancel.start();
            source.cancel();
        });
    });
    const QString path = writeFile(QStringLiteral("silent.bin"), randomBytes(8 * MiB));
    const auto put =
        QCoro::waitFor(client.putObject(m_bucket, QStringLiteral("silent"), path, source.token()));
    VERIFY_KIND(put, Kind::Cancelled);
    QCOMPARE(connected.size(), 1);
    QVERIFY(sinceCancel.isValid());
    qInfo("returned %lld ms after the token fired", sinceCancel.elapsed());
    QVERIFY(sinceCancel.elapsed() < 5000); // the alternative is the 10-minute timeout
}

void TestS3Client::cancelsFromAnotherThread()
{
    // The scheduler fires tokens on its own thread: the abort still happens on the client's.
    QTcpServer silent;
    QVERIFY(silent.listen(QHostAddress::LocalHost));
    ClientConfig config;
    config.endpoint =
        Endpoint::fromUrl(QStringLiteral("http://127.0.0.1:%1").arg(silent.serverPort())).value();
    config.credentials = {S3TestServer::accessKey(), S3TestServer::secretKey(), {}};
    config.transferTimeout = std::chrono::minutes(10);
    S3Client client(config);

    CancellationSource source;
    std::thread firing;
    connect(&silent, &QTcpServer::newConnection, this,
            [&] { firing = std::thread([&source] { source.cancel(); }); });
    const auto list = QCoro::waitFor(client.listObjectsV2(m_bucket, {}, source.token()));
    if (firing.joinable())
        firing.join();
    VERIFY_KIND(list, Kind::Cancelled);
}

void TestS3Client::worksOnAWorkerThread()
{
    // Executors run on pool threads with their own event loops, one client per thread.
    S3Result<ObjectMetadata> head = std::unexpected(S3Error::invalidRequest({}, {}));
    QString threadOfClient;
    const QString key = QStringLiteral("thread/object.bin");
    const QString path = writeFile(QStringLiteral("thread.bin"), "from a worker thread");
    std::unique_ptr<QThread> worker(QThread::create([&] {
        S3Client client(m_client->config());
        threadOfClient = QString::number(quintptr(client.thread()));
        const auto put = QCoro::waitFor(client.putObject(m_bucket, key, path, {}));
        if (put)
            head = QCoro::waitFor(client.headObject(m_bucket, key, {}));
        else
            head = std::unexpected(put.error());
    }));
    QSignalSpy finished(worker.get(), &QThread::finished);
    worker->start();
    QVERIFY(finished.wait(60000));
    VERIFY_OK(head);
    QCOMPARE(head->size, 20);
    QVERIFY(threadOfClient != QString::number(quintptr(QThread::currentThread())));
}

void TestS3Client::cancelsAnUploadPartAtOnce()
{
    const qint64 length = 64 * MiB;
    const QString source = writeFile(QStringLiteral("cancel-part.bin"), randomBytes(length));
    const auto upload = QCoro::waitFor(
        m_client->createMultipartUpload(m_bucket, QStringLiteral("cancel/part.bin"), {}));
    VERIFY_OK(upload);

    CancellationSource cancellation;
    QElapsedTimer sinceCancel;
    qint64 maxSent = 0;
    const auto progress = [&](qint64 sent, qint64) {
        maxSent = qMax(maxSent, sent);
        if (sent > 0 && !sinceCancel.isValid()) {
            sinceCancel.start();
            // From a timer, as a scheduler would: not from inside Qt's signal.
            QTimer::singleShot(0, this, [&] { cancellation.cancel(); });
        }
    };
    const auto part = QCoro::waitFor(
        m_client->uploadPart(*upload, 1, source, 0, length, cancellation.token(), progress));
    VERIFY_KIND(part, Kind::Cancelled);
    QCOMPARE(part.error().code(), QStringLiteral("Cancelled"));
    QVERIFY(part.error().message().contains(QLatin1String("part 1")));
    qInfo("returned %lld ms after the upload started; %lld of %lld bytes sent",
          sinceCancel.elapsed(), maxSent, length);
    QVERIFY2(maxSent < length, "the transfer finished before the cancellation took effect");

    // The aborted part is not stored.
    const auto parts = QCoro::waitFor(m_client->listAllParts(*upload, {}));
    VERIFY_OK(parts);
    QVERIFY(parts->isEmpty());

    // Clean-up runs with a fresh token: the cancelled one would send nothing.
    VERIFY_KIND(QCoro::waitFor(m_client->abortMultipartUpload(*upload, cancellation.token())),
                Kind::Cancelled);
    VERIFY_OK(QCoro::waitFor(m_client->abortMultipartUpload(*upload, {})));
    const auto uploads =
        QCoro::waitFor(m_client->listAllMultipartUploads(m_bucket, QStringLiteral("cancel/"), {}));
    VERIFY_OK(uploads);
    QVERIFY(uploads->isEmpty());
}

void TestS3Client::cancelsADownloadAtOnce()
{
    const qint64 length = 64 * MiB;
    const QString source = writeFile(QStringLiteral("cancel-get.bin"), randomBytes(length));
    VERIFY_OK(QCoro::waitFor(
        m_client->putObject(m_bucket, QStringLiteral("cancel/download.bin"), source, {})));

    CancellationSource cancellation;
    qint64 maxReceived = 0;
    const auto progress = [&](qint64 received, qint64) {
        maxReceived = qMax(maxReceived, received);
        if (received > 0 && !cancellation.isCancelled())
            QTimer::singleShot(0, this, [&] { cancellation.cancel(); });
    };
    const QString target = m_dir.filePath(QStringLiteral("cancel-got.bin"));
    const auto got = QCoro::waitFor(m_client->getObject(
        m_bucket, QStringLiteral("cancel/download.bin"), target, cancellation.token(), progress));
    VERIFY_KIND(got, Kind::Cancelled);
    QVERIFY(maxReceived < length);
    QVERIFY2(!QFile::exists(target), "a cancelled download must not leave a partial file");
}

QTEST_GUILESS_MAIN(TestS3Client)
#include "tst_s3client.moc"
