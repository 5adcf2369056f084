// Large-tree benchmark: the memory a sync run needs to scan a folder and submit its files.
//
//   sync_scan_bench [--files 100000] [--compare 10000]
//
// For each size (the compared size first, each in a child process of its own so peaks do not
// mix) it writes that many empty files in 100 folders, runs the real sync-run executor (remote
// listing against a local S3 test server, scan, journal compare, children submitted in
// batches) on a scheduler whose upload executors complete at once (the server is not what is
// measured), and samples the process's resident memory every 10 ms. Prints JSON: seconds, peak
// RSS (VmHWM), RSS growth over the opened-scheduler baseline (also at each tenth of the files
// submitted), and the growth per extra file between the two sizes. A scan that held every
// file's task would grow by its payload (about a kilobyte) per file all the way; a streamed one
// grows only until SQLite's page caches (16 MB for the scheduler's connection) are full.
// Run by hand; never part of the test run.

#include "app/DataDirectory.h"
#include "app/profiles/AppStore.h"
#include "app/profiles/SecretStore.h"
#include "app/s3/S3Client.h"
#include "app/sync/OrphanSweep.h"
#include "app/sync/SyncServices.h"
#include "scheduler/Scheduler.h"
#include "scheduler/TaskExecutor.h"
#include "support/S3TestServer.h"

#include <QCoreApplication>
#include <QCoro/QCoroTask>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTimer>

#include <atomic>
#include <cstdio>

using namespace ferry;
using ferry::test::S3TestServer;
using ferry::test::S3TestServerProcess;

namespace {

[[noreturn]] void die(const QString &message)
{
    std::fprintf(stderr, "sync_scan_bench: %s\n", qPrintable(message));
    std::exit(1);
}

/// A field of /proc/self/status in bytes (VmRSS, VmHWM).
qint64 statusBytes(const char *field)
{
    QFile status(QStringLiteral("/proc/self/status"));
    if (!status.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray &line : status.readAll().split('\n'))
        if (line.startsWith(field))
            return line.mid(qstrlen(field) + 1).trimmed().split(' ').first().toLongLong() * 1024;
    return -1;
}

/// Completes every upload at once: the scan and the submissions are what is measured.
class DoneExecutor : public TaskExecutor {
public:
    explicit DoneExecutor(std::shared_ptr<SyncServices> services) : m_services(std::move(services))
    {
    }
    QCoro::Task<TaskResult> execute(TaskContext &ctx) override
    {
        m_services->counters(ctx.payload().value(QStringLiteral("profile")).toString())
            ->filesDone++;
        co_return TaskResult{};
    }

private:
    std::shared_ptr<SyncServices> m_services;
};

template <typename T> T await(QFuture<T> future)
{
    future.waitForFinished();
    return future.result();
}
void await(QFuture<void> future)
{
    future.waitForFinished();
}

void writeTree(const QString &root, int files)
{
    for (int dir = 0; dir < 100; ++dir)
        QDir().mkpath(QStringLiteral("%1/d%2").arg(root).arg(dir));
    for (int i = 0; i < files; ++i) {
        QFile file(QStringLiteral("%1/d%2/f%3").arg(root).arg(i % 100).arg(i));
        if (!file.open(QIODevice::WriteOnly))
            die(QStringLiteral("cannot write %1").arg(file.fileName()));
    }
}

/// One size, in this process: prints one JSON object.
int measure(int files)
{
    QTemporaryDir work;
    const QString root = work.filePath(QStringLiteral("tree"));
    writeTree(root, files);
    QString error;
    auto server = S3TestServerProcess::start(work.filePath(QStringLiteral("server")), 0,
                                             S3TestServer::DefaultMinSegmentSize, &error);
    if (!server)
        die(QStringLiteral("the S3 test server did not start: %1").arg(error));
    const QString endpoint = server->server().endpoint().toString();
    {
        s3::ClientConfig config;
        config.endpoint = *s3::Endpoint::fromUrl(endpoint);
        config.credentials = {S3TestServer::accessKey(), S3TestServer::secretKey(), {}};
        s3::S3Client client(config);
        if (auto created = QCoro::waitFor(client.createBucket(QStringLiteral("scan"), {}));
            !created)
            die(created.error().toString());
    }

    const QString dataDir = work.filePath(QStringLiteral("data"));
    QDir().mkpath(dataDir);
    auto store = std::make_shared<AppStore>(DataDirectory::databasePath(dataDir));
    if (!store->open())
        die(QStringLiteral("the app store did not open"));
    auto secrets = std::shared_ptr<SecretStore>(SecretStore::createFileStore(dataDir));
    auto services = std::make_shared<SyncServices>(store, secrets);
    Profile profile;
    profile.name = QStringLiteral("tree");
    profile.localFolder = root;
    profile.remote = endpoint + QStringLiteral("/scan/t");
    profile.accessKeyId = S3TestServer::accessKey();
    if (auto added = store->addProfile(profile); !added)
        die(added.error().message);
    if (!secrets->store(profile.name, S3TestServer::secretKey()))
        die(QStringLiteral("the secret store failed"));

    SchedulerOptions options;
    options.databasePath = DataDirectory::databasePath(dataDir);
    Scheduler scheduler(options);
    SyncServices::registerExecutors(scheduler, services);
    scheduler.registerExecutor(SyncTypes::UploadObject, std::make_shared<DoneExecutor>(services));
    if (auto opened = await(scheduler.open()); !opened)
        die(opened.error().message);
    auto target = services->target(profile.name);
    if (!target)
        die(target.error());

    const qint64 baseline = statusBytes("VmRSS:");
    std::atomic<qint64> peak{baseline};
    auto counters = services->counters(profile.name);
    // RSS growth each time another tenth of the files was submitted: flat once the SQLite
    // page caches are warm when the scan streams, a straight line when it accumulates.
    QJsonArray byTenth;
    QTimer sampler;
    QObject::connect(&sampler, &QTimer::timeout, [&] {
        const qint64 rss = statusBytes("VmRSS:");
        peak = std::max(peak.load(), rss);
        while (byTenth.size() < 10 &&
               counters->filesQueued.load() >= qint64(files) * (byTenth.size() + 1) / 10)
            byTenth.append(rss - baseline);
    });
    sampler.start(10);
    std::atomic<bool> ended{false};
    TaskId run = 0;
    QObject context;
    auto end = [&](TaskId id) {
        if (id == run)
            ended = true;
    };
    QObject::connect(&scheduler, &Scheduler::taskCompleted, &context, end);
    QObject::connect(&scheduler, &Scheduler::taskFailed, &context,
                     [&](TaskId id, const QString &why) {
                         if (id == run)
                             die(QStringLiteral("the run failed: %1").arg(why));
                     });
    QElapsedTimer clock;
    clock.start();
    auto submitted = await(scheduler.submit(syncRunSpec(*target)));
    if (!submitted)
        die(submitted.error().message);
    run = submitted->id;
    while (!ended)
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents, 50);
    const double seconds = clock.nsecsElapsed() / 1e9;
    sampler.stop();
    const QJsonObject result{
        {QStringLiteral("files"), files},
        {QStringLiteral("submitted"), counters->filesQueued.load()},
        {QStringLiteral("seconds"), seconds},
        {QStringLiteral("files_per_second"), files / seconds},
        {QStringLiteral("baseline_rss_bytes"), baseline},
        {QStringLiteral("peak_rss_bytes"), peak.load()},
        {QStringLiteral("peak_hwm_bytes"), statusBytes("VmHWM:")},
        {QStringLiteral("growth_bytes"), peak.load() - baseline},
        {QStringLiteral("growth_bytes_at_each_tenth_submitted"), byTenth},
    };
    await(scheduler.shutdown(5000));
    (void)server->stop();
    std::printf("%s\n", QJsonDocument(result).toJson(QJsonDocument::Compact).constData());
    return counters->filesQueued.load() == files ? 0 : 1;
}

QJsonObject child(const QString &program, int files)
{
    QProcess process;
    process.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    process.start(program, {QStringLiteral("--child"), QString::number(files)});
    if (!process.waitForFinished(30 * 60 * 1000) || process.exitCode() != 0)
        die(QStringLiteral("the %1-file run failed (exit %2)").arg(files).arg(process.exitCode()));
    return QJsonDocument::fromJson(process.readAllStandardOutput().trimmed()).object();
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments();
    int files = 100'000;
    int compare = 10'000;
    for (qsizetype i = 1; i + 1 < args.size(); i += 2) {
        if (args.at(i) == QLatin1String("--child"))
            return measure(args.at(i + 1).toInt());
        if (args.at(i) == QLatin1String("--files"))
            files = args.at(i + 1).toInt();
        else if (args.at(i) == QLatin1String("--compare"))
            compare = args.at(i + 1).toInt();
        else
            die(QStringLiteral("unknown option %1").arg(args.at(i)));
    }
    const QJsonObject small = child(app.applicationFilePath(), compare);
    const QJsonObject large = child(app.applicationFilePath(), files);
    const double extraFiles = files - compare;
    const double perFile = extraFiles > 0
                               ? (large.value(QStringLiteral("growth_bytes")).toDouble() -
                                  small.value(QStringLiteral("growth_bytes")).toDouble()) /
                                     extraFiles
                               : 0;
    const QJsonObject report{
        {QStringLiteral("compare"), small},
        {QStringLiteral("large"), large},
        {QStringLiteral("growth_bytes_per_extra_file"), perFile},
    };
    std::printf("%s", QJsonDocument(report).toJson(QJsonDocument::Indented).constData());
    return 0;
}
