// The part-size policy at S3's edges, and the streamed bodies of uploads: a QIODevice over a
// byte range of a file, and the one-pass digests of such a range.

#include "app/s3/BackgroundPool.h"
#include "app/s3/ContentDigest.h"
#include "app/s3/FileRangeDevice.h"
#include "app/s3/PartSizePolicy.h"

#include <QCryptographicHash>
#include <QScopeGuard>
#include <QSemaphore>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

using namespace ferry::s3;
using namespace ferry::s3::limits;

class TestS3PartSize : public QObject {
    Q_OBJECT
private slots:
    void plansUploads_data();
    void plansUploads();
    void coversEveryByteOnce_data();
    void coversEveryByteOnce();
    void refusesImpossibleSizes();
    void refusesImpossibleSettings_data();
    void refusesImpossibleSettings();
    void readsAFileRange();
    void seeksWithinTheRange();
    void refusesBadRanges();
    void digestsARangeInOnePass();
    void stopsDigestingWhenCancelled();
    void digestsInTheBackground();
    void runsBackgroundJobsAtLowPriority();
    void withdrawsJobsNotYetStarted();
    void cancelsADigestWaitingForAThread();

private:
    QTemporaryDir m_dir;
    QString writeFile(const QString &name, const QByteArray &content);
};

QString TestS3PartSize::writeFile(const QString &name, const QByteArray &content)
{
    const QString path = m_dir.filePath(name);
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(content) != content.size())
        qFatal("cannot write %s", qPrintable(path));
    return path;
}

void TestS3PartSize::plansUploads_data()
{
    QTest::addColumn<qint64>("threshold");
    QTest::addColumn<qint64>("partSize");
    QTest::addColumn<qint64>("fileSize");
    QTest::addColumn<bool>("multipart");
    QTest::addColumn<qint64>("plannedPartSize");
    QTest::addColumn<int>("partCount");
    QTest::addColumn<qint64>("lastPart");

    const qint64 t = 5 * MiB; // threshold = part size = the minimum: the sharpest edges
    QTest::newRow("0 B") << t << t << qint64(0) << false << qint64(0) << 1 << qint64(0);
    QTest::newRow("1 B") << t << t << qint64(1) << false << qint64(1) << 1 << qint64(1);
    QTest::newRow("5 MiB - 1") << t << t << 5 * MiB - 1 << false << 5 * MiB - 1 << 1 << 5 * MiB - 1;
    QTest::newRow("5 MiB") << t << t << 5 * MiB << false << 5 * MiB << 1 << 5 * MiB;
    QTest::newRow("5 MiB + 1") << t << t << 5 * MiB + 1 << true << 5 * MiB << 2 << qint64(1);
    QTest::newRow("48 GiB at 5 MiB")
        << t << t << 48 * GiB << true << 5 * MiB << 9831 << 48 * GiB - 9830 * 5 * MiB;
    QTest::newRow("48 GiB at 16 MiB")
        << 64 * MiB << 16 * MiB << 48 * GiB << true << 16 * MiB << 3072 << 16 * MiB;
    // 10,000 parts of 16 MiB hold 156.25 GiB: beyond that the part size grows.
    QTest::newRow("grows past 10000 parts") << 64 * MiB << 16 * MiB << 200 * GiB << true << 21 * MiB
                                            << 9753 << 200 * GiB - 9752 * 21 * MiB;
    QTest::newRow("exactly 10000 parts")
        << t << t << 10000 * 5 * MiB << true << 5 * MiB << 10000 << 5 * MiB;
    QTest::newRow("10000 parts + 1 B") << t << t << 10000 * 5 * MiB + 1 << true << 6 * MiB << 8334
                                       << 10000 * 5 * MiB + 1 - 8333 * 6 * MiB;
    QTest::newRow("5 TiB") << 64 * MiB << 16 * MiB << 5 * TiB << true << 525 * MiB << 9987
                           << 5 * TiB - 9986 * 525 * MiB;
    QTest::newRow("default settings, 100 MiB")
        << 64 * MiB << 16 * MiB << 100 * MiB << true << 16 * MiB << 7 << 4 * MiB;
    QTest::newRow("threshold 0, 1 B")
        << qint64(0) << t << qint64(1) << true << 5 * MiB << 1 << qint64(1);
}

void TestS3PartSize::plansUploads()
{
    QFETCH(qint64, threshold);
    QFETCH(qint64, partSize);
    QFETCH(qint64, fileSize);
    PartSizeSettings settings;
    settings.multipartThreshold = threshold;
    settings.partSize = partSize;
    const auto plan = PartSizePolicy(settings).plan(fileSize);
    QVERIFY2(plan.has_value(), qPrintable(plan ? QString() : plan.error()));
    QTEST(plan->multipart, "multipart");
    QTEST(plan->partSize, "plannedPartSize");
    QTEST(plan->partCount, "partCount");
    QTEST(plan->lastPartSize(), "lastPart");
    QCOMPARE(plan->fileSize, fileSize);
    // S3's limits hold for every plan.
    QVERIFY(plan->partCount <= MaxParts);
    QVERIFY(plan->partSize <= MaxPartSize);
    if (plan->multipart) {
        QVERIFY(plan->partSize >= MinPartSize);
        QVERIFY(plan->lastPartSize() >= 1);
        QVERIFY(plan->lastPartSize() <= plan->partSize);
    } else {
        QVERIFY(fileSize <= MaxSinglePutSize);
    }
}

void TestS3PartSize::coversEveryByteOnce_data()
{
    QTest::addColumn<qint64>("fileSize");
    QTest::newRow("5 MiB + 1") << 5 * MiB + 1;
    QTest::newRow("48 GiB") << 48 * GiB;
    QTest::newRow("5 TiB") << 5 * TiB;
}

void TestS3PartSize::coversEveryByteOnce()
{
    QFETCH(qint64, fileSize);
    PartSizeSettings settings;
    settings.multipartThreshold = 5 * MiB;
    settings.partSize = 5 * MiB;
    const auto plan = PartSizePolicy(settings).plan(fileSize).value();
    qint64 expectedOffset = 0;
    for (int part = 1; part <= plan.partCount; ++part) {
        QCOMPARE(plan.partOffset(part), expectedOffset);
        if (part < plan.partCount)
            QCOMPARE(plan.partLength(part), plan.partSize);
        expectedOffset += plan.partLength(part);
    }
    QCOMPARE(expectedOffset, fileSize);
    QCOMPARE(plan.partLength(0), 0);
    QCOMPARE(plan.partLength(plan.partCount + 1), 0);
}

void TestS3PartSize::refusesImpossibleSizes()
{
    const PartSizePolicy policy;
    QVERIFY(policy.plan(5 * TiB).has_value());
    const auto tooLarge = policy.plan(5 * TiB + 1);
    QVERIFY(!tooLarge.has_value());
    QVERIFY2(tooLarge.error().contains(QLatin1String("5.00 TiB")), qPrintable(tooLarge.error()));
    QVERIFY(tooLarge.error().contains(QLatin1String("cannot be uploaded")));
    QVERIFY(!policy.plan(6 * TiB).has_value());
    QVERIFY(!policy.plan(std::numeric_limits<qint64>::max()).has_value());
    const auto negative = policy.plan(-1);
    QVERIFY(!negative.has_value());
    QVERIFY(negative.error().contains(QLatin1String("-1")));
}

void TestS3PartSize::refusesImpossibleSettings_data()
{
    QTest::addColumn<qint64>("threshold");
    QTest::addColumn<qint64>("partSize");
    QTest::addColumn<qint64>("minimum");
    QTest::addColumn<QString>("hint");
    QTest::newRow("part below 5 MiB") << 64 * MiB << 5 * MiB - 1 << MinPartSize << "part size";
    QTest::newRow("part above 5 GiB") << 64 * MiB << 5 * GiB + 1 << MinPartSize << "part size";
    QTest::newRow("threshold above 5 GiB") << 5 * GiB + 1 << 16 * MiB << MinPartSize << "threshold";
    QTest::newRow("negative threshold") << qint64(-1) << 16 * MiB << MinPartSize << "threshold";
    QTest::newRow("minimum above S3's") << 64 * MiB << 16 * MiB << 6 * MiB << "minimum";
    QTest::newRow("minimum zero") << 64 * MiB << 16 * MiB << qint64(0) << "minimum";
}

void TestS3PartSize::refusesImpossibleSettings()
{
    QFETCH(qint64, threshold);
    QFETCH(qint64, partSize);
    QFETCH(qint64, minimum);
    QFETCH(QString, hint);
    PartSizeSettings settings{threshold, partSize, minimum};
    const PartSizePolicy policy(settings);
    QVERIFY(!policy.validate().has_value());
    const auto plan = policy.plan(100 * MiB);
    QVERIFY(!plan.has_value());
    QVERIFY2(plan.error().contains(hint), qPrintable(plan.error()));

    // A test server's lowered minimum allows small parts.
    const PartSizePolicy lowered({1024, 1024, 1024});
    const auto small = lowered.plan(2500).value();
    QCOMPARE(small.partCount, 3);
    QCOMPARE(small.lastPartSize(), 452);
}

void TestS3PartSize::readsAFileRange()
{
    QByteArray content;
    for (int i = 0; i < 100000; ++i)
        content += char('a' + i % 26);
    const QString path = writeFile(QStringLiteral("range.bin"), content);

    FileRangeDevice device(path, 1000, 50000);
    QVERIFY(device.open(QIODevice::ReadOnly));
    QVERIFY(!device.isSequential());
    QCOMPARE(device.size(), 50000);
    QCOMPARE(device.bytesAvailable(), 50000);
    QByteArray read;
    while (!device.atEnd()) {
        const QByteArray chunk = device.read(4096);
        QVERIFY(!chunk.isEmpty());
        read += chunk;
    }
    QCOMPARE(read, content.mid(1000, 50000));
    QVERIFY(device.read(10).isEmpty());
    QCOMPARE(device.pos(), 50000);

    // The last bytes of the file.
    FileRangeDevice tail(path, 99990, 10);
    QVERIFY(tail.open(QIODevice::ReadOnly));
    QCOMPARE(tail.readAll(), content.right(10));

    // An empty range.
    FileRangeDevice empty(path, 5, 0);
    QVERIFY(empty.open(QIODevice::ReadOnly));
    QVERIFY(empty.atEnd());
    QVERIFY(empty.readAll().isEmpty());
}

void TestS3PartSize::seeksWithinTheRange()
{
    const QString path = writeFile(QStringLiteral("seek.bin"), "0123456789abcdefghij");
    FileRangeDevice device(path, 5, 10); // "56789abcde"
    QVERIFY(device.open(QIODevice::ReadOnly));
    QCOMPARE(device.read(3), QByteArray("567"));
    QVERIFY(device.seek(8));
    QCOMPARE(device.readAll(), QByteArray("de"));
    QVERIFY(device.reset()); // what Qt does to resend a body
    QCOMPARE(device.readAll(), QByteArray("56789abcde"));
    QVERIFY(!device.seek(11));
    QVERIFY(!device.seek(-1));
    QCOMPARE(device.write("x"), -1);
}

void TestS3PartSize::refusesBadRanges()
{
    const QString path = writeFile(QStringLiteral("short.bin"), "0123456789");
    FileRangeDevice beyond(path, 5, 6);
    QVERIFY(!beyond.open(QIODevice::ReadOnly));
    QVERIFY(beyond.errorString().contains(QLatin1String("10 bytes")));
    FileRangeDevice missing(m_dir.filePath(QStringLiteral("missing.bin")), 0, 1);
    QVERIFY(!missing.open(QIODevice::ReadOnly));
    QVERIFY(!missing.errorString().isEmpty());
    FileRangeDevice writable(path, 0, 1);
    QVERIFY(!writable.open(QIODevice::ReadWrite));
    FileRangeDevice negative(path, -1, 1);
    QVERIFY(!negative.open(QIODevice::ReadOnly));
}

void TestS3PartSize::digestsARangeInOnePass()
{
    QByteArray content(3 * 1024 * 1024 + 17, Qt::Uninitialized);
    for (qsizetype i = 0; i < content.size(); ++i)
        content[i] = char((i * 7919) % 251);
    const QString path = writeFile(QStringLiteral("digest.bin"), content);

    const auto whole = digestFileRange(path, 0, content.size(), true);
    QVERIFY(whole.has_value());
    QCOMPARE(whole->size, content.size());
    QCOMPARE(whole->md5, QCryptographicHash::hash(content, QCryptographicHash::Md5));
    QCOMPARE(whole->sha256, QCryptographicHash::hash(content, QCryptographicHash::Sha256));
    QCOMPARE(whole->contentMd5(),
             QCryptographicHash::hash(content, QCryptographicHash::Md5).toBase64());

    const auto part = digestFileRange(path, 1024 * 1024 + 3, 2 * 1024 * 1024, false);
    QVERIFY(part.has_value());
    QCOMPARE(part->md5, QCryptographicHash::hash(content.mid(1024 * 1024 + 3, 2 * 1024 * 1024),
                                                 QCryptographicHash::Md5));
    QVERIFY(part->sha256.isEmpty());

    // A range within `keepUpTo` comes back with its bytes (sent from memory), a larger not.
    const auto kept = digestFileRange(path, 5, 64 * 1024, true, {}, 64 * 1024);
    QVERIFY(kept.has_value());
    QVERIFY(kept->hasContent());
    QCOMPARE(kept->content, content.mid(5, 64 * 1024));
    QCOMPARE(kept->md5, QCryptographicHash::hash(kept->content, QCryptographicHash::Md5));
    QCOMPARE(kept->sha256, QCryptographicHash::hash(kept->content, QCryptographicHash::Sha256));
    QCOMPARE(kept->size, 64 * 1024);
    const auto streamed = digestFileRange(path, 5, 64 * 1024 + 1, false, {}, 64 * 1024);
    QVERIFY(streamed.has_value());
    QVERIFY(!streamed->hasContent());
    QCOMPARE(streamed->md5,
             QCryptographicHash::hash(content.mid(5, 64 * 1024 + 1), QCryptographicHash::Md5));
    const auto beyond = digestFileRange(path, content.size() - 10, 11, false, {}, 64 * 1024);
    QVERIFY(!beyond.has_value());

    // Empty body: the well-known MD5 of nothing.
    QCOMPARE(digestBytes({}, false).contentMd5(), QByteArray("1B2M2Y8AsgTpgAmY7PhCfg=="));
    QCOMPARE(digestBytes("hello", false).md5Hex(),
             QStringLiteral("5d41402abc4b2a76b9719d911017c592"));

    const auto missing = digestFileRange(m_dir.filePath(QStringLiteral("nope")), 0, 1, false);
    QVERIFY(!missing.has_value());
    QVERIFY(!missing.error().cancelled);
}

void TestS3PartSize::stopsDigestingWhenCancelled()
{
    const QString path = writeFile(QStringLiteral("cancel.bin"), QByteArray(2 * 1024 * 1024, 'x'));
    ferry::CancellationSource source;
    source.cancel();
    const auto digest = digestFileRange(path, 0, 2 * 1024 * 1024, false, source.token());
    QVERIFY(!digest.has_value());
    QVERIFY(digest.error().cancelled);
}

void TestS3PartSize::digestsInTheBackground()
{
    const QByteArray content(3 * 1024 * 1024 + 5, 'z');
    const QString path = writeFile(QStringLiteral("background.bin"), content);
    const auto digest =
        QCoro::waitFor(digestFileRangeInBackground(path, 5, 3 * 1024 * 1024, true, {}));
    QVERIFY(digest.has_value());
    QCOMPARE(digest->md5, QCryptographicHash::hash(content.mid(5), QCryptographicHash::Md5));
    QCOMPARE(digest->sha256, QCryptographicHash::hash(content.mid(5), QCryptographicHash::Sha256));

    ferry::CancellationSource source;
    source.cancel();
    const auto cancelled =
        QCoro::waitFor(digestFileRangeInBackground(path, 0, content.size(), false, source.token()));
    QVERIFY(!cancelled.has_value());
    QVERIFY(cancelled.error().cancelled);
}

void TestS3PartSize::runsBackgroundJobsAtLowPriority()
{
    const int ownBefore = getpriority(PRIO_PROCESS, gettid());
    QSemaphore done;
    std::atomic_int niceness = -100;
    std::atomic<pid_t> thread = 0;
    char name[16] = {};
    BackgroundPool pool(2); // goes first, waiting for its job, before what the job uses
    pool.start([&] {
        niceness = getpriority(PRIO_PROCESS, gettid());
        thread = gettid();
        pthread_getname_np(pthread_self(), name, sizeof name);
        done.release();
    });
    QVERIFY(done.tryAcquire(1, 10'000));
    QCOMPARE(niceness.load(), BackgroundPool::kNiceness);
    QCOMPARE(QByteArray(name), QByteArray(BackgroundPool::kThreadName)); // its CPU can be told
    QVERIFY(thread.load() != gettid());
    // Only the pool's threads: the caller's priority is its own.
    QCOMPARE(getpriority(PRIO_PROCESS, gettid()), ownBefore);
}

void TestS3PartSize::withdrawsJobsNotYetStarted()
{
    // Jobs start in order and the pool has one thread: while the first job holds it (however
    // late the thread gets to run it), the ones after it wait in the queue. Declared in this
    // order so the pool (waiting for its jobs) goes before the state they use.
    QSemaphore release, ran;
    std::atomic_bool withdrawnRan = false;
    BackgroundPool pool(1);
    const auto releaseOnExit = qScopeGuard([&] { release.release(); });
    pool.start([&] { release.acquire(); });
    const auto withdrawn = pool.start([&] { withdrawnRan = true; });
    pool.start([&] { ran.release(); });
    QVERIFY(pool.withdraw(withdrawn));
    QVERIFY(!pool.withdraw(withdrawn)); // only once
    release.release();
    // Bounds, not waits: the jobs run at background priority on a machine that may be busy.
    QVERIFY(ran.tryAcquire(1, 60'000)); // the job after it still runs
    QVERIFY(!withdrawnRan);
    const auto finished = pool.start([&] { ran.release(); });
    QVERIFY(ran.tryAcquire(1, 60'000));
    QVERIFY(!pool.withdraw(finished)); // it ran
}

namespace {
// A coroutine of its own (not a lambda's: its captures would die with the temporary closure).
QCoro::Task<void> digestInto(std::optional<std::expected<ContentDigest, DigestError>> *answer,
                             QString path, qint64 length, ferry::CancellationToken token)
{
    *answer = co_await digestFileRangeInBackground(path, 0, length, false, token);
}
} // namespace

void TestS3PartSize::cancelsADigestWaitingForAThread()
{
    // Every digest thread taken (as by other uploads' parts) by a job that holds it until
    // released; jobs start in order, so a part's digest queued after them waits for a thread
    // until then, and its upload is cancelled meanwhile.
    BackgroundPool &pool = BackgroundPool::digests();
    // Shared with the blockers: they may still be waking from it after this test returned.
    const auto release = std::make_shared<QSemaphore>();
    const auto releaseOnExit = qScopeGuard([&] { release->release(pool.maxThreadCount()); });
    for (int i = 0; i < pool.maxThreadCount(); ++i)
        pool.start([release] { release->acquire(); });

    const QString path = writeFile(QStringLiteral("waiting.bin"), QByteArray(2 * 1024 * 1024, 'w'));
    ferry::CancellationSource source;
    std::optional<std::expected<ContentDigest, DigestError>> answer;
    auto waiting = digestInto(&answer, path, 2 * 1024 * 1024, source.token());
    QVERIFY(!answer);
    source.cancel();
    // Answered while no thread is free: the digest did not wait for one.
    QVERIFY(QTest::qWaitFor([&] { return answer.has_value(); }, 60'000));
    QVERIFY(!answer->has_value());
    QVERIFY(answer->error().cancelled);
    QCoro::waitFor(std::move(waiting));
}

QTEST_GUILESS_MAIN(TestS3PartSize)
#include "tst_s3partsize.moc"
