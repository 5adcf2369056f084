// S3 upload benchmark: Ferry's client against rclone and curl, in one run, on one local S3
// test server (tools/s3-test-server, started here through ferry_test_support).
//
//   s3_upload_bench [--large-mib 256] [--small-count 1000] [--small-kib 64] [--part-mib 16]
//                   [--large-concurrency 4] [--small-concurrency 6]
//
// Workloads: one large file uploaded in parts with several parts in flight, and many small
// files uploaded with several objects in flight. rclone uploads the same files (multipart
// with the same part size and concurrency); curl sends plain parallel SigV4 PUTs (the large
// file as equal slices, one object each) as the server's ceiling. Prints JSON: MB/s
// (10^6 bytes per second) for each tool and workload, and Ferry's ratios to the others.
// Run by hand; never part of the test run. Nothing leaves 127.0.0.1.

#include "app/s3/PartSizePolicy.h"
#include "app/s3/S3Client.h"
#include "support/S3TestServer.h"

#include <QCoreApplication>
#include <QCoro/QCoroTask>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QTextStream>

#include <cstdio>
#include <optional>

using namespace ferry::s3;
using ferry::test::S3TestServer;
using ferry::test::S3TestServerProcess;

namespace {

constexpr qint64 MiB = 1024 * 1024;
const QString Bucket = QStringLiteral("bench");

struct Options {
    qint64 largeBytes = 256 * MiB;
    int smallCount = 1000;
    qint64 smallBytes = 64 * 1024;
    qint64 partBytes = 16 * MiB;
    int largeConcurrency = 4;
    int smallConcurrency = 6; // QNetworkAccessManager opens at most 6 connections per host
};

struct Measure {
    double seconds = 0;
    qint64 bytes = 0;
    bool ok = false;
    QString error;
    [[nodiscard]] double mbps() const { return seconds > 0 ? bytes / 1e6 / seconds : 0; }
    [[nodiscard]] QJsonObject json() const
    {
        QJsonObject o{{QStringLiteral("seconds"), seconds},
                      {QStringLiteral("bytes"), bytes},
                      {QStringLiteral("MBps"), ok ? mbps() : 0.0},
                      {QStringLiteral("ok"), ok}};
        if (!error.isEmpty())
            o.insert(QStringLiteral("error"), error);
        return o;
    }
};

[[noreturn]] void die(const QString &message)
{
    std::fprintf(stderr, "s3_upload_bench: %s\n", qPrintable(message));
    std::exit(1);
}

void writeRandomFile(const QString &path, qint64 size)
{
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        die(QStringLiteral("cannot write %1").arg(path));
    QByteArray chunk(4 * MiB, Qt::Uninitialized);
    for (qint64 written = 0; written < size;) {
        QRandomGenerator::global()->fillRange(reinterpret_cast<quint32 *>(chunk.data()),
                                              chunk.size() / 4);
        const qint64 n = qMin<qint64>(chunk.size(), size - written);
        if (file.write(chunk.constData(), n) != n)
            die(QStringLiteral("cannot write %1").arg(path));
        written += n;
    }
}

// --- Ferry ---------------------------------------------------------------------------------

QCoro::Task<std::optional<S3Error>> partWorker(S3Client &client, MultipartUpload upload,
                                               QString path, UploadPlan plan, int &next,
                                               QList<CompletedPart> &done)
{
    for (;;) {
        const int number = next++;
        if (number > plan.partCount)
            co_return std::nullopt;
        auto part = co_await client.uploadPart(upload, number, path, plan.partOffset(number),
                                               plan.partLength(number), {});
        if (!part)
            co_return part.error();
        done.append(part->completed());
    }
}

QCoro::Task<std::optional<S3Error>> fileWorker(S3Client &client, QStringList files, QString prefix,
                                               int &next)
{
    for (;;) {
        const int index = next++;
        if (index >= files.size())
            co_return std::nullopt;
        const QString path = files.at(index);
        auto put = co_await client.putObject(Bucket, prefix + QFileInfo(path).fileName(), path, {});
        if (!put)
            co_return put.error();
    }
}

Measure ferryLarge(S3Client &client, const QString &path, const Options &options)
{
    Measure m;
    m.bytes = options.largeBytes;
    const auto plan =
        PartSizePolicy({64 * MiB, options.partBytes, limits::MinPartSize}).plan(m.bytes);
    if (!plan) {
        m.error = plan.error();
        return m;
    }
    QElapsedTimer timer;
    timer.start();
    const auto upload =
        QCoro::waitFor(client.createMultipartUpload(Bucket, QStringLiteral("ferry/large.bin"), {}));
    if (!upload) {
        m.error = upload.error().toString();
        return m;
    }
    int next = 1;
    QList<CompletedPart> done;
    std::vector<QCoro::Task<std::optional<S3Error>>> workers;
    for (int i = 0; i < options.largeConcurrency; ++i)
        workers.push_back(partWorker(client, *upload, path, *plan, next, done));
    for (auto &worker : workers)
        if (auto error = QCoro::waitFor(worker); error && m.error.isEmpty())
            m.error = error->toString();
    if (m.error.isEmpty()) {
        const auto completed = QCoro::waitFor(client.completeMultipartUpload(*upload, done, {}));
        if (!completed)
            m.error = completed.error().toString();
    }
    m.seconds = timer.nsecsElapsed() / 1e9;
    m.ok = m.error.isEmpty();
    if (!m.ok)
        (void)QCoro::waitFor(client.abortMultipartUpload(*upload, {}));
    return m;
}

Measure ferrySmall(S3Client &client, const QStringList &files, const Options &options)
{
    Measure m;
    m.bytes = files.size() * options.smallBytes;
    QElapsedTimer timer;
    timer.start();
    int next = 0;
    std::vector<QCoro::Task<std::optional<S3Error>>> workers;
    for (int i = 0; i < options.smallConcurrency; ++i)
        workers.push_back(fileWorker(client, files, QStringLiteral("ferry/small/"), next));
    for (auto &worker : workers)
        if (auto error = QCoro::waitFor(worker); error && m.error.isEmpty())
            m.error = error->toString();
    m.seconds = timer.nsecsElapsed() / 1e9;
    m.ok = m.error.isEmpty();
    return m;
}

// --- external tools ------------------------------------------------------------------------

QProcessEnvironment localOnlyEnvironment()
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    for (const char *name : {"http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
                             "all_proxy", "AWS_CA_BUNDLE", "AWS_PROFILE", "AWS_CONFIG_FILE"})
        env.remove(QString::fromLatin1(name));
    env.insert(QStringLiteral("NO_PROXY"), QStringLiteral("127.0.0.1"));
    return env;
}

Measure runTool(const QString &program, const QStringList &arguments,
                const QProcessEnvironment &env, qint64 bytes)
{
    Measure m;
    m.bytes = bytes;
    QProcess process;
    process.setProcessEnvironment(env);
    process.setProcessChannelMode(QProcess::MergedChannels);
    QElapsedTimer timer;
    timer.start();
    process.start(program, arguments);
    if (!process.waitForStarted(10000) || !process.waitForFinished(30 * 60 * 1000)) {
        m.error = QStringLiteral("%1 did not run: %2").arg(program, process.errorString());
        return m;
    }
    m.seconds = timer.nsecsElapsed() / 1e9;
    m.ok = process.exitStatus() == QProcess::NormalExit && process.exitCode() == 0;
    if (!m.ok)
        m.error = QStringLiteral("%1 exited with %2: %3")
                      .arg(program)
                      .arg(process.exitCode())
                      .arg(QString::fromLocal8Bit(process.readAll().right(400)));
    return m;
}

QProcessEnvironment rcloneEnvironment(const QString &endpoint, const QString &configFile)
{
    QProcessEnvironment env = localOnlyEnvironment();
    env.insert(QStringLiteral("RCLONE_CONFIG"), configFile);
    const QList<std::pair<const char *, QString>> settings = {
        {"TYPE", QStringLiteral("s3")},
        {"PROVIDER", QStringLiteral("Other")},
        {"ACCESS_KEY_ID", S3TestServer::accessKey()},
        {"SECRET_ACCESS_KEY", S3TestServer::secretKey()},
        {"ENDPOINT", endpoint},
        {"REGION", S3TestServer::region()},
        {"FORCE_PATH_STYLE", QStringLiteral("true")},
    };
    for (const auto &[name, value] : settings)
        env.insert(QStringLiteral("RCLONE_CONFIG_BENCH_") + QLatin1String(name), value);
    return env;
}

QString writeCurlConfig(const QString &path, const QString &endpoint, const QStringList &files,
                        const QString &prefix, int parallel)
{
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Text))
        die(QStringLiteral("cannot write %1").arg(path));
    QTextStream out(&file);
    out << "aws-sigv4 = \"aws:amz:" << S3TestServer::region() << ":s3\"\n"
        << "user = \"" << S3TestServer::accessKey() << ':' << S3TestServer::secretKey() << "\"\n"
        << "header = \"x-amz-content-sha256: UNSIGNED-PAYLOAD\"\n"
        << "parallel\nparallel-max = " << parallel << "\n"
        << "fail\nsilent\nshow-error\n";
    for (const QString &f : files)
        out << "upload-file = \"" << f << "\"\nurl = \"" << endpoint << '/' << Bucket << '/'
            << prefix << QFileInfo(f).fileName() << "\"\noutput = \"/dev/null\"\n";
    return path;
}

int countObjects(S3Client &client, const QString &prefix, qint64 *bytes)
{
    const auto objects = QCoro::waitFor(client.listAllObjects(Bucket, prefix, {}));
    if (!objects)
        return -1;
    *bytes = 0;
    for (const auto &object : *objects)
        *bytes += object.size;
    return int(objects->size());
}

double ratio(const Measure &a, const Measure &b)
{
    return a.ok && b.ok && b.mbps() > 0 ? a.mbps() / b.mbps() : 0.0;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    Options options;
    const QStringList args = app.arguments();
    for (int i = 1; i + 1 < args.size(); i += 2) {
        const QString name = args.at(i);
        const qint64 value = args.at(i + 1).toLongLong();
        if (name == QLatin1String("--large-mib"))
            options.largeBytes = value * MiB;
        else if (name == QLatin1String("--small-count"))
            options.smallCount = int(value);
        else if (name == QLatin1String("--small-kib"))
            options.smallBytes = value * 1024;
        else if (name == QLatin1String("--part-mib"))
            options.partBytes = value * MiB;
        else if (name == QLatin1String("--large-concurrency"))
            options.largeConcurrency = int(value);
        else if (name == QLatin1String("--small-concurrency"))
            options.smallConcurrency = int(value);
        else
            die(QStringLiteral("unknown option %1").arg(name));
    }

    QTemporaryDir work;
    if (!work.isValid())
        die(QStringLiteral("no temporary directory"));
    QString error;
    auto server = S3TestServerProcess::start(work.filePath(QStringLiteral("server")), 0,
                                             S3TestServer::DefaultMinSegmentSize, &error);
    if (!server)
        die(QStringLiteral("the S3 test server did not start: %1").arg(error));
    const QString endpoint = server->server().endpoint().toString();

    // Inputs (not timed).
    const QString large = work.filePath(QStringLiteral("large.bin"));
    writeRandomFile(large, options.largeBytes);
    QDir().mkpath(work.filePath(QStringLiteral("small")));
    QStringList smallFiles;
    for (int i = 0; i < options.smallCount; ++i) {
        smallFiles.append(
            work.filePath(QStringLiteral("small/%1.bin").arg(i, 4, 10, QLatin1Char('0'))));
        writeRandomFile(smallFiles.last(), options.smallBytes);
    }
    const qint64 sliceCount = options.largeConcurrency;
    QStringList slices; // curl: the large file as equal slices, one object each
    for (qint64 i = 0; i < sliceCount; ++i) {
        slices.append(work.filePath(QStringLiteral("slice-%1.bin").arg(i)));
        writeRandomFile(slices.last(), options.largeBytes / sliceCount);
    }

    ClientConfig config;
    config.endpoint = Endpoint::fromUrl(endpoint).value();
    config.credentials = {S3TestServer::accessKey(), S3TestServer::secretKey(), {}};
    S3Client client(config);
    if (auto created = QCoro::waitFor(client.createBucket(Bucket, {})); !created)
        die(created.error().toString());

    // Ferry.
    const Measure ferryL = ferryLarge(client, large, options);
    const Measure ferryS = ferrySmall(client, smallFiles, options);

    // rclone: same part size and concurrency.
    const QString rcloneConfig = work.filePath(QStringLiteral("rclone.conf"));
    QFile(rcloneConfig).open(QIODevice::WriteOnly);
    const QProcessEnvironment rcloneEnv = rcloneEnvironment(endpoint, rcloneConfig);
    const QString partMib = QStringLiteral("%1M").arg(options.partBytes / MiB);
    const QStringList rcloneCommon = {QStringLiteral("--s3-no-check-bucket"),
                                      QStringLiteral("--s3-chunk-size"), partMib,
                                      QStringLiteral("--s3-upload-cutoff"), partMib};
    const Measure rcloneL =
        runTool(QStringLiteral("rclone"),
                QStringList{QStringLiteral("copyto"), large,
                            QStringLiteral("bench:%1/rclone/large.bin").arg(Bucket),
                            QStringLiteral("--s3-upload-concurrency"),
                            QString::number(options.largeConcurrency)} +
                    rcloneCommon,
                rcloneEnv, options.largeBytes);
    const Measure rcloneS = runTool(
        QStringLiteral("rclone"),
        QStringList{QStringLiteral("copy"), work.filePath(QStringLiteral("small")),
                    QStringLiteral("bench:%1/rclone/small").arg(Bucket),
                    QStringLiteral("--transfers"), QString::number(options.smallConcurrency),
                    QStringLiteral("--checkers"), QString::number(options.smallConcurrency),
                    QStringLiteral("--no-traverse")} +
            rcloneCommon,
        rcloneEnv, options.smallCount * options.smallBytes);

    // curl: parallel SigV4 PUTs, the server's ceiling.
    const Measure curlL =
        runTool(QStringLiteral("curl"),
                {QStringLiteral("-K"),
                 writeCurlConfig(work.filePath(QStringLiteral("curl-large.cfg")), endpoint, slices,
                                 QStringLiteral("curl/large/"), options.largeConcurrency)},
                localOnlyEnvironment(), sliceCount * (options.largeBytes / sliceCount));
    const Measure curlS = runTool(
        QStringLiteral("curl"),
        {QStringLiteral("-K"),
         writeCurlConfig(work.filePath(QStringLiteral("curl-small.cfg")), endpoint, smallFiles,
                         QStringLiteral("curl/small/"), options.smallConcurrency)},
        localOnlyEnvironment(), options.smallCount * options.smallBytes);

    // What arrived.
    QJsonObject verified;
    for (const auto &[name, prefix, count, bytes] :
         std::initializer_list<std::tuple<const char *, QString, int, qint64>>{
             {"ferry", QStringLiteral("ferry/"), options.smallCount + 1,
              options.largeBytes + options.smallCount * options.smallBytes},
             {"rclone", QStringLiteral("rclone/"), options.smallCount + 1,
              options.largeBytes + options.smallCount * options.smallBytes},
             {"curl", QStringLiteral("curl/"), int(options.smallCount + sliceCount),
              sliceCount * (options.largeBytes / sliceCount) +
                  options.smallCount * options.smallBytes}}) {
        qint64 stored = 0;
        const int objects = countObjects(client, prefix, &stored);
        verified.insert(QLatin1String(name), objects == count && stored == bytes);
    }

    const QJsonObject report{
        {QStringLiteral("workload"),
         QJsonObject{
             {QStringLiteral("large_bytes"), options.largeBytes},
             {QStringLiteral("part_bytes"), options.partBytes},
             {QStringLiteral("large_concurrency"), options.largeConcurrency},
             {QStringLiteral("small_files"), options.smallCount},
             {QStringLiteral("small_bytes"), options.smallBytes},
             {QStringLiteral("small_concurrency"), options.smallConcurrency},
             {QStringLiteral("server"), QStringLiteral("tools/s3-test-server (Swift s3api)")}}},
        {QStringLiteral("ferry"), QJsonObject{{QStringLiteral("large"), ferryL.json()},
                                              {QStringLiteral("small"), ferryS.json()}}},
        {QStringLiteral("rclone"), QJsonObject{{QStringLiteral("large"), rcloneL.json()},
                                               {QStringLiteral("small"), rcloneS.json()}}},
        {QStringLiteral("curl"), QJsonObject{{QStringLiteral("large"), curlL.json()},
                                             {QStringLiteral("small"), curlS.json()}}},
        {QStringLiteral("ratios"),
         QJsonObject{{QStringLiteral("ferry_vs_rclone_large"), ratio(ferryL, rcloneL)},
                     {QStringLiteral("ferry_vs_rclone_small"), ratio(ferryS, rcloneS)},
                     {QStringLiteral("ferry_vs_curl_large"), ratio(ferryL, curlL)},
                     {QStringLiteral("ferry_vs_curl_small"), ratio(ferryS, curlS)}}},
        {QStringLiteral("verified"), verified},
    };
    std::printf("%s", QJsonDocument(report).toJson(QJsonDocument::Indented).constData());
    (void)server->stop();
    return ferryL.ok && ferryS.ok ? 0 : 1;
}
