// Soak benchmark (about 10 minutes; not run by CTest): 10,000 small files and 20 large ones
// over three profiles on one endpoint (a local S3 server of its own), synced by one in-process
// scheduler while seeded random cancels and restarts hit the profiles; then every profile
// syncs to its end. Prints JSON: resident memory at the start, after the warm-up (60 s) and at
// the end, orphans (uploads in progress, segments of no object, objects missing or different)
// and throughput (over the whole run, and over the time the uploads took).
//
// Memory samples (every --sample-s, also printed to stderr as they are taken) split the
// resident memory: heap in use, free heap glibc holds on to (arena fragmentation), SQLite's
// own share, threads. The bench limits malloc arenas as the ferry binary does (MallocArenas.h);
// MALLOC_ARENA_MAX=16 in the environment (glibc's default on two cores) measures without it.
//
//   soak_bench [--duration-s 540] [--small 10000] [--large 20] [--large-mib 24] [--seed 7]
//              [--sample-s 60] [--trim-samples]

#include "app/MallocArenas.h"
#include "sync/SyncTestSupport.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTimer>

#include <sqlite3.h>

#include <cstdio>
#include <malloc.h>

using namespace ferry;
using namespace ferry::test;

namespace {

constexpr qint64 MiB = 1024 * 1024;
const QString Bucket = QStringLiteral("soak");
const QStringList Profiles = {QStringLiteral("soak-a"), QStringLiteral("soak-b"),
                              QStringLiteral("soak-c")};

qint64 residentKiB()
{
    QFile status(QStringLiteral("/proc/self/status"));
    if (!status.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray &line : status.readAll().split('\n'))
        if (line.startsWith("VmRSS:"))
            return line.mid(6).trimmed().split(' ').value(0).toLongLong();
    return -1;
}

int threadCount()
{
    QFile status(QStringLiteral("/proc/self/status"));
    if (!status.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray &line : status.readAll().split('\n'))
        if (line.startsWith("Threads:"))
            return line.mid(8).trimmed().toInt();
    return -1;
}

/// Where the resident memory is: the heap in use, free heap glibc keeps (fragmentation),
/// SQLite's own share (page caches, statements) and the threads.
QJsonObject memorySample(qint64 atMs)
{
    const struct mallinfo2 info = mallinfo2();
    QJsonObject sample;
    sample["s"] = double(atMs / 100) / 10.0;
    sample["rssKiB"] = residentKiB();
    sample["heapInUseKiB"] = qint64((info.uordblks + info.hblkhd) / 1024);
    sample["heapFreeKiB"] = qint64(info.fordblks / 1024);
    sample["sqliteKiB"] = qint64(sqlite3_memory_used() / 1024);
    sample["threads"] = threadCount();
    return sample;
}

void writeSeeded(const QString &path, qint64 size, QRandomGenerator &rng)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        qFatal("cannot write %s", qPrintable(path));
    QByteArray chunk(MiB, Qt::Uninitialized);
    for (qint64 left = size; left > 0; left -= chunk.size()) {
        rng.fillRange(reinterpret_cast<quint32 *>(chunk.data()), chunk.size() / 4);
        file.write(chunk.constData(), std::min<qint64>(left, chunk.size()));
    }
}

QString md5Of(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    QCryptographicHash hash(QCryptographicHash::Md5);
    hash.addData(&file);
    return QString::fromLatin1(hash.result().toHex());
}

struct Options {
    int durationS = 540;
    int small = 10'000;
    int large = 20;
    int largeMiB = 24;
    quint32 seed = 7;
    int sampleS = 60;
    bool trimSamples = false;
};

Options parseOptions(const QCoreApplication &app)
{
    QCommandLineParser parser;
    parser.addOption({"duration-s", "Seconds of cancel storm before the final syncs.", "s"});
    parser.addOption({"small", "Small files in all.", "n"});
    parser.addOption({"large", "Large (multipart) files in all.", "n"});
    parser.addOption({"large-mib", "Size of each large file in MiB.", "n"});
    parser.addOption({"seed", "Seed of the files and the storm.", "n"});
    parser.addOption(
        {"trim-samples",
         "Diagnosis: malloc_trim(0) after each sample, and report what it gave back."});
    parser.addOption({"sample-s", "Seconds between memory samples (also printed to stderr).", "s"});
    parser.addHelpOption();
    parser.process(app);
    Options options;
    if (parser.isSet("duration-s"))
        options.durationS = parser.value("duration-s").toInt();
    if (parser.isSet("small"))
        options.small = parser.value("small").toInt();
    if (parser.isSet("large"))
        options.large = parser.value("large").toInt();
    if (parser.isSet("large-mib"))
        options.largeMiB = parser.value("large-mib").toInt();
    if (parser.isSet("seed"))
        options.seed = parser.value("seed").toUInt();
    options.trimSamples = parser.isSet("trim-samples");
    if (parser.isSet("sample-s"))
        options.sampleS = std::max(1, parser.value("sample-s").toInt());
    return options;
}

/// Objects missing or different (small: ETag = MD5; large: downloaded and hashed), uploads in
/// progress and segments of no object, over the whole bucket.
QJsonObject orphans(s3::S3Client &client, const S3TestServer &server, const QString &tmp,
                    const QHash<QString, QString> &keyToPath, AppStore &store)
{
    QJsonObject json;
    auto objects = QCoro::waitFor(client.listAllObjects(Bucket, "", {}));
    auto uploads = QCoro::waitFor(client.listAllMultipartUploads(Bucket, "", {}));
    const auto segments = server.listSegments(Bucket);
    QSet<QString> keys;
    int different = 0;
    for (const auto &object : objects.value_or(QList<s3::ObjectSummary>())) {
        keys.insert(object.key);
        const QString local = keyToPath.value(object.key);
        const QString etag = QString(object.etag).remove('"');
        if (local.isEmpty()) {
            ++different; // an object of no file
        } else if (etag.contains('-')) {
            const QString target = tmp + QStringLiteral("/check.bin");
            auto got = QCoro::waitFor(client.getObject(Bucket, object.key, target, {}));
            different += !got || md5Of(target) != md5Of(local);
            QFile::remove(target);
        } else {
            different += etag != md5Of(local);
        }
    }
    int missing = 0;
    for (auto it = keyToPath.cbegin(); it != keyToPath.cend(); ++it)
        missing += !keys.contains(it.key());
    int orphanSegments = 0;
    for (const auto &segment : segments.names) {
        const QString key = segment.section('/', 0, -3);
        orphanSegments += !keys.contains(key);
    }
    json["objects"] = qint64(keys.size());
    json["objectsMissing"] = missing;
    json["objectsDifferent"] = different;
    json["uploadsInProgress"] = uploads ? qint64(uploads->size()) : -1;
    int unknown = 0;
    for (const auto &upload : uploads.value_or(QList<s3::MultipartUploadSummary>()))
        unknown += !store.isKnownUpload(upload.uploadId);
    json["uploadsUnknownToFerry"] = unknown;
    json["orphanSegments"] = segments.ok() ? orphanSegments : -1;
    json["listingOk"] = objects.has_value() && uploads.has_value() && segments.ok();
    return json;
}

} // namespace

int main(int argc, char **argv)
{
    // What the ferry binary does first; MALLOC_ARENA_MAX=16 (glibc's default on two cores)
    // in the environment measures without the limit.
    const int arenaLimit = limitMallocArenas();
    QCoreApplication app(argc, argv);
    const Options options = parseOptions(app);
    qputenv("FERRY_SECRET_STORE", "file");
    QTemporaryDir tmp;
    QString error;
    auto server = S3TestServerProcess::start(tmp.filePath("server"), 0,
                                             S3TestServer::DefaultMinSegmentSize, &error);
    if (!server)
        qFatal("S3 test server: %s", qPrintable(error));

    QRandomGenerator rng(options.seed);
    QHash<QString, QString> keyToPath;
    QElapsedTimer clock;
    clock.start();
    for (int i = 0; i < options.small; ++i) {
        const QString profile = Profiles.at(i % Profiles.size());
        const QString relative = QStringLiteral("d%1/f%2.txt").arg(i % 50).arg(i);
        const QString path = tmp.filePath(profile + '/' + relative);
        writeSeeded(path, 256 + rng.bounded(8 * 1024), rng);
        keyToPath.insert(profile + '/' + relative, path);
    }
    for (int i = 0; i < options.large; ++i) {
        const QString profile = Profiles.at(i % Profiles.size());
        const QString relative = QStringLiteral("large-%1.bin").arg(i);
        const QString path = tmp.filePath(profile + '/' + relative);
        writeSeeded(path, options.largeMiB * MiB + rng.bounded(MiB), rng);
        keyToPath.insert(profile + '/' + relative, path);
    }
    const double generateS = clock.elapsed() / 1000.0;

    SyncHarness h(server->port());
    auto client = h.client();
    if (!QCoro::waitFor(client->createBucket(Bucket, {})))
        qFatal("bucket");
    for (const auto &profile : Profiles)
        h.addProfile(profile, tmp.filePath(profile), Bucket, profile + '/',
                     [](Profile &p) { p.partSize = 8 * MiB; });
    h.start(8);
    const qint64 rssStart = residentKiB();

    QHash<QString, TaskId> runs;
    QSet<TaskId> ended; // of the runs only: a set of every task would grow with the soak
    qint64 completed = 0;
    auto runEnded = [&runs, &ended](TaskId id) {
        for (const TaskId run : std::as_const(runs))
            if (run == id)
                ended.insert(id);
    };
    auto watch = [&] {
        QObject::connect(h.scheduler.get(), &Scheduler::taskCompleted, &app,
                         [&runEnded, &completed](TaskId id) {
                             runEnded(id);
                             ++completed;
                         });
        QObject::connect(h.scheduler.get(), &Scheduler::taskFailed, &app,
                         [&runEnded](TaskId id, const QString &) { runEnded(id); });
        QObject::connect(h.scheduler.get(), &Scheduler::taskCancelled, &app,
                         [&runEnded](TaskId id, const QString &) { runEnded(id); });
    };
    watch();
    auto active = [&](const QString &profile) {
        return runs.contains(profile) && !ended.contains(runs.value(profile));
    };

    // The storm: every 1-6 s a seeded action; ended runs start again at once.
    int cancels = 0, restarts = 0;
    qint64 rssWarm = -1;
    clock.restart();
    const QDateTime stormStart = QDateTime::currentDateTimeUtc();
    // One every --sample-s, to tell a plateau from steady growth and a leak from fragmentation.
    QJsonArray memorySamples;
    QTimer sampler;
    QObject::connect(&sampler, &QTimer::timeout, &app, [&] {
        QJsonObject sample = memorySample(clock.elapsed());
        sample["tasksCompleted"] = completed;
        if (options.trimSamples) {
            malloc_trim(0);
            sample["rssAfterTrimKiB"] = residentKiB();
        }
        memorySamples.append(sample);
        std::fprintf(stderr, "memory %s\n",
                     QJsonDocument(sample).toJson(QJsonDocument::Compact).constData());
    });
    sampler.start(options.sampleS * 1000);
    QTimer tick;
    QObject::connect(&tick, &QTimer::timeout, &app, [&] {
        for (const auto &profile : Profiles)
            if (!active(profile)) {
                runs[profile] = h.submitSync(profile);
                ++restarts;
            }
        if (rssWarm < 0 && clock.elapsed() > 60'000)
            rssWarm = residentKiB();
    });
    tick.start(500);
    QTimer storm;
    storm.setSingleShot(true);
    QObject::connect(&storm, &QTimer::timeout, &app, [&] {
        const QString profile = Profiles.at(int(rng.bounded(Profiles.size())));
        const QString prefix = profileKeyPrefix(profile);
        (void)awaitFuture(h.scheduler->cancelWhere(
            [prefix](const TaskRecord &task) { return task.dedupKey.startsWith(prefix); },
            CancelReason::User));
        ++cancels;
        storm.start(1000 + int(rng.bounded(5000)));
    });
    storm.start(2000);
    QTimer::singleShot(options.durationS * 1000, &app, [&] {
        storm.stop();
        tick.stop();
        sampler.stop();
        app.quit();
    });
    app.exec();
    const double stormS = clock.elapsed() / 1000.0;

    // Settle, then every profile syncs to its end.
    const bool settled = QTest::qWaitFor(
        [&] {
            auto stats = awaitFuture(h.scheduler->stats());
            return stats &&
                   stats->pending + stats->running + stats->waiting + stats->cancelling == 0;
        },
        300'000);
    for (const auto &profile : Profiles)
        runs[profile] = h.submitSync(profile);
    const bool finalEnded = QTest::qWaitFor(
        [&] {
            for (const auto &profile : Profiles)
                if (active(profile))
                    return false;
            return true;
        },
        900'000);
    const double totalS = clock.elapsed() / 1000.0;
    const qint64 rssEnd = residentKiB();
    const QJsonObject memoryEnd = memorySample(clock.elapsed());
    int finalCompleted = 0;
    for (const auto &profile : Profiles) {
        const auto row = h.historyOf(runs.value(profile));
        finalCompleted += row && row->status == HistoryStatus::Completed;
    }

    qint64 bytesCompleted = 0, bytesCancelled = 0, filesCompleted = 0, historyRows = 0;
    QDateTime lastUpload = stormStart; // once every file is up, the runs only rescan
    for (const auto &row : h.history()) {
        ++historyRows;
        const bool transfer =
            row.type == SyncTypes::UploadObject || row.type == SyncTypes::UploadPart;
        if (transfer && row.status == HistoryStatus::Completed) {
            bytesCompleted += row.bytes;
            lastUpload = std::max(lastUpload, row.finishedAt);
        }
        if (transfer && row.status == HistoryStatus::Cancelled)
            bytesCancelled += row.bytes;
        filesCompleted +=
            (row.type == SyncTypes::UploadObject || row.type == SyncTypes::UploadMultipart) &&
            row.status == HistoryStatus::Completed;
    }
    QJsonObject json;
    json["benchmark"] = "soak";
    json["smallFiles"] = options.small;
    json["largeFiles"] = options.large;
    json["largeMiB"] = options.largeMiB;
    json["profiles"] = qint64(Profiles.size());
    json["seed"] = qint64(options.seed);
    json["mallocArenaLimit"] = arenaLimit != 0
                                   ? QJsonValue(arenaLimit)
                                   : QJsonValue(qEnvironmentVariable("MALLOC_ARENA_MAX"));
    json["generateSeconds"] = generateS;
    json["stormSeconds"] = stormS;
    json["totalSeconds"] = totalS;
    json["cancels"] = cancels;
    json["runsStarted"] = restarts;
    json["stormSettled"] = settled;
    json["finalRunsEnded"] = finalEnded;
    json["finalRunsCompleted"] = finalCompleted;
    json["rssStartKiB"] = rssStart;
    json["rssWarmKiB"] = rssWarm;
    json["rssEndKiB"] = rssEnd;
    json["rssGrowthFromWarmPercent"] =
        rssWarm > 0 ? 100.0 * double(rssEnd - rssWarm) / double(rssWarm) : -1.0;
    json["historyRows"] = historyRows;
    json["filesCompleted"] = filesCompleted;
    json["bytesCompleted"] = bytesCompleted;
    json["bytesCancelled"] = bytesCancelled;
    json["throughputMBps"] = bytesCompleted / 1e6 / totalS;
    json["filesPerSecond"] = filesCompleted / totalS;
    // The same over the time the uploads took (storm start to the last completed transfer).
    const double uploadS = std::max<qint64>(1, stormStart.msecsTo(lastUpload)) / 1000.0;
    json["uploadSeconds"] = uploadS;
    json["uploadThroughputMBps"] = bytesCompleted / 1e6 / uploadS;
    json["uploadFilesPerSecond"] = filesCompleted / uploadS;
    json["memorySamples"] = memorySamples;
    json["memoryEnd"] = memoryEnd;
    json["orphans"] = orphans(*client, server->server(), tmp.path(), keyToPath, *h.store);
    // What the next start's sweep (`ferry sync`, the window) leaves behind.
    for (const auto &profile : Profiles)
        (void)QCoro::waitFor(
            sweepOrphans(h.services, profile, kDefaultOrphanAge, false, CancellationToken()));
    json["orphansAfterSweep"] = orphans(*client, server->server(), tmp.path(), keyToPath, *h.store);
    h.stop();
    std::printf("%s\n", QJsonDocument(json).toJson(QJsonDocument::Indented).constData());
    return 0;
}
