// Sync upload benchmark: `ferry sync` end to end against `rclone copy`, `s3cmd sync` and
// `aws s3 sync` (Debian's awscli, /usr/bin/aws), in one run, on one data set, against one local S3
// test server (tools/s3-test-server, started here).
//
//   sync_upload_bench [--small-count 1000] [--small-kib 32] [--large-count 3] [--large-mib 80]
//                     [--part-mib 16] [--threshold-mib 64] [--concurrency 4] [--rounds 1]
//                     [--tools ferry,rclone,s3cmd,awscli]
//
// The data set mixes many small files with a few files above the multipart threshold. Each
// tool uploads the whole folder to its own prefix of one bucket, with the same part size,
// multipart threshold and number of transfers where the tool has the setting (s3cmd uploads
// one file at a time; it has no such option). awscli gets them from a temporary config file
// (with path-style addressing) and its credentials from the environment, never printed. Ferry is
// the built `ferry` binary with a fresh data directory and a profile added by `ferry profile add
// ... --secret-stdin`. With several rounds the tools take turns and each gets fresh prefixes; the
// best round counts. Prints JSON: seconds and MB/s (10^6 bytes per second) per tool, the tools'
// versions, Ferry ÷ each other tool and Ferry ÷ the fastest other. Run by hand; never part of the
// test run. Nothing leaves 127.0.0.1.

#include "app/s3/S3Client.h"
#include "support/S3TestServer.h"

#include <QCoreApplication>
#include <QCoro/QCoroTask>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QTextStream>

#include <cstdio>
#include <sys/resource.h>

using namespace ferry::s3;
using ferry::test::S3TestServer;
using ferry::test::S3TestServerProcess;

namespace {

constexpr qint64 MiB = 1024 * 1024;
const QString Bucket = QStringLiteral("syncbench");

struct Options {
    int smallCount = 1000;
    qint64 smallBytes = 32 * 1024;
    int largeCount = 3;
    qint64 largeBytes = 80 * MiB;
    qint64 partBytes = 16 * MiB;
    qint64 thresholdBytes = 64 * MiB;
    int concurrency = 4;
    int rounds = 1;
    QStringList tools = {QStringLiteral("ferry"), QStringLiteral("rclone"), QStringLiteral("s3cmd"),
                         QStringLiteral("awscli")};

    [[nodiscard]] qint64 totalBytes() const
    {
        return smallCount * smallBytes + largeCount * largeBytes;
    }
    [[nodiscard]] int fileCount() const { return smallCount + largeCount; }
};

[[noreturn]] void die(const QString &message)
{
    std::fprintf(stderr, "sync_upload_bench: %s\n", qPrintable(message));
    std::exit(1);
}

/// CPU seconds (user + system) of the reaped child processes so far.
double childCpuSeconds()
{
    rusage usage{};
    getrusage(RUSAGE_CHILDREN, &usage);
    return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
           (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

struct Measure {
    double seconds = 0;
    double clientCpu = 0;
    qint64 bytes = 0;
    bool ok = false;
    bool verified = false;
    QString error;
    [[nodiscard]] double mbps() const { return ok && seconds > 0 ? bytes / 1e6 / seconds : 0; }
    [[nodiscard]] QJsonObject json() const
    {
        QJsonObject o{{QStringLiteral("seconds"), seconds},
                      {QStringLiteral("MBps"), mbps()},
                      {QStringLiteral("bytes"), bytes},
                      {QStringLiteral("ok"), ok},
                      {QStringLiteral("verified"), verified},
                      {QStringLiteral("client_cpu_seconds"), clientCpu}};
        if (!error.isEmpty())
            o.insert(QStringLiteral("error"), error);
        return o;
    }
};

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

/// The data set: small files spread over a few folders, large files at the top.
void writeDataSet(const QString &root, const Options &options)
{
    QDir().mkpath(root);
    for (int i = 0; i < options.smallCount; ++i) {
        const QString dir = QStringLiteral("%1/small-%2").arg(root).arg(i % 10);
        QDir().mkpath(dir);
        writeRandomFile(QStringLiteral("%1/file-%2.bin").arg(dir).arg(i, 5, 10, QLatin1Char('0')),
                        options.smallBytes);
    }
    for (int i = 0; i < options.largeCount; ++i)
        writeRandomFile(QStringLiteral("%1/large-%2.bin").arg(root).arg(i), options.largeBytes);
}

/// No proxies, no user configuration of the tools: only the files this bench writes.
QProcessEnvironment localOnlyEnvironment(const QString &home)
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    for (const char *name :
         {"http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy",
          "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
          "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CA_BUNDLE",
          "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_PAGER"})
        env.remove(QString::fromLatin1(name));
    env.insert(QStringLiteral("NO_PROXY"), QStringLiteral("127.0.0.1"));
    env.insert(QStringLiteral("HOME"), home);
    return env;
}

/// Runs one command to its end; timed from start to exit.
Measure runTool(const QString &program, const QStringList &arguments,
                const QProcessEnvironment &env, qint64 bytes, const QByteArray &input = {})
{
    Measure m;
    m.bytes = bytes;
    QProcess process;
    process.setProcessEnvironment(env);
    process.setProcessChannelMode(QProcess::MergedChannels);
    const double cpu = childCpuSeconds();
    QElapsedTimer timer;
    timer.start();
    process.start(program, arguments);
    if (!process.waitForStarted(10000)) {
        m.error = QStringLiteral("%1 did not start: %2").arg(program, process.errorString());
        return m;
    }
    if (!input.isEmpty())
        process.write(input);
    process.closeWriteChannel();
    if (!process.waitForFinished(60 * 60 * 1000)) {
        m.error = QStringLiteral("%1 did not finish: %2").arg(program, process.errorString());
        return m;
    }
    m.seconds = timer.nsecsElapsed() / 1e9;
    m.clientCpu = childCpuSeconds() - cpu;
    m.ok = process.exitStatus() == QProcess::NormalExit && process.exitCode() == 0;
    if (!m.ok)
        m.error = QStringLiteral("%1 exited with %2: %3")
                      .arg(program)
                      .arg(process.exitCode())
                      .arg(QString::fromLocal8Bit(process.readAll().right(600)));
    return m;
}

// --- the tools --------------------------------------------------------------------------

struct Setup {
    QString work;     ///< temporary directory of this bench
    QString source;   ///< the data set
    QString endpoint; ///< http://127.0.0.1:PORT
    quint16 port = 0;
    Options options;
};

Measure runFerry(const Setup &s, const QString &prefix)
{
    const QString dataDir = QDir(s.work).filePath(QStringLiteral("ferry-data-") + prefix);
    QProcessEnvironment env = localOnlyEnvironment(s.work);
    env.insert(QStringLiteral("FERRY_SECRET_STORE"), QStringLiteral("file"));
    const QStringList add = {QStringLiteral("--data-dir"),
                             dataDir,
                             QStringLiteral("profile"),
                             QStringLiteral("add"),
                             QStringLiteral("bench"),
                             QStringLiteral("--local"),
                             s.source,
                             QStringLiteral("--remote"),
                             s.endpoint + QLatin1Char('/') + Bucket + QLatin1Char('/') + prefix,
                             QStringLiteral("--region"),
                             S3TestServer::region(),
                             QStringLiteral("--access-key-id"),
                             S3TestServer::accessKey(),
                             QStringLiteral("--secret-stdin"),
                             QStringLiteral("--part-size"),
                             QString::number(s.options.partBytes),
                             QStringLiteral("--multipart-threshold"),
                             QString::number(s.options.thresholdBytes),
                             QStringLiteral("--concurrency"),
                             QString::number(s.options.concurrency)};
    const Measure added = runTool(QStringLiteral(FERRY_BINARY), add, env, 0,
                                  S3TestServer::secretKey().toUtf8() + '\n');
    if (!added.ok)
        return added;
    return runTool(QStringLiteral(FERRY_BINARY),
                   {QStringLiteral("--data-dir"), dataDir, QStringLiteral("sync"),
                    QStringLiteral("bench"), QStringLiteral("--json")},
                   env, s.options.totalBytes());
}

Measure runRclone(const Setup &s, const QString &prefix)
{
    QProcessEnvironment env = localOnlyEnvironment(s.work);
    const QString config = QDir(s.work).filePath(QStringLiteral("rclone.conf"));
    QFile(config).open(QIODevice::WriteOnly); // empty: the remote comes from the environment
    env.insert(QStringLiteral("RCLONE_CONFIG"), config);
    const QList<std::pair<const char *, QString>> settings = {
        {"TYPE", QStringLiteral("s3")},
        {"PROVIDER", QStringLiteral("Other")},
        {"ACCESS_KEY_ID", S3TestServer::accessKey()},
        {"SECRET_ACCESS_KEY", S3TestServer::secretKey()},
        {"ENDPOINT", s.endpoint},
        {"REGION", S3TestServer::region()},
        {"FORCE_PATH_STYLE", QStringLiteral("true")},
    };
    for (const auto &[name, value] : settings)
        env.insert(QStringLiteral("RCLONE_CONFIG_BENCH_") + QLatin1String(name), value);
    const QString concurrency = QString::number(s.options.concurrency);
    return runTool(
        QStringLiteral("rclone"),
        {QStringLiteral("copy"), s.source, QStringLiteral("bench:%1/%2").arg(Bucket, prefix),
         QStringLiteral("--s3-no-check-bucket"), QStringLiteral("--transfers"), concurrency,
         QStringLiteral("--s3-upload-concurrency"), concurrency, QStringLiteral("--s3-chunk-size"),
         QStringLiteral("%1M").arg(s.options.partBytes / MiB), QStringLiteral("--s3-upload-cutoff"),
         QStringLiteral("%1M").arg(s.options.thresholdBytes / MiB)},
        env, s.options.totalBytes());
}

Measure runS3cmd(const Setup &s, const QString &prefix)
{
    const QString config = QDir(s.work).filePath(QStringLiteral("s3cmd.cfg"));
    {
        QFile file(config);
        if (!file.open(QIODevice::WriteOnly | QIODevice::Text))
            die(QStringLiteral("cannot write %1").arg(config));
        const QString host = QStringLiteral("127.0.0.1:%1").arg(s.port);
        QTextStream out(&file);
        out << "[default]\naccess_key = " << S3TestServer::accessKey()
            << "\nsecret_key = " << S3TestServer::secretKey() << "\nhost_base = " << host
            << "\nhost_bucket = " << host << "\nbucket_location = " << S3TestServer::region()
            << "\nuse_https = False\nsignature_v2 = False\nproxy_host =\nenable_multipart = True"
            << "\nmultipart_chunk_size_mb = " << s.options.partBytes / MiB
            << "\nprogress_meter = False\n";
    }
    // s3cmd splits files larger than the chunk size; its threshold is the chunk size.
    return runTool(QStringLiteral("s3cmd"),
                   {QStringLiteral("-c"), config, QStringLiteral("--no-check-md5"),
                    QStringLiteral("sync"), s.source + QLatin1Char('/'),
                    QStringLiteral("s3://%1/%2/").arg(Bucket, prefix)},
                   localOnlyEnvironment(s.work), s.options.totalBytes());
}

/// Debian's awscli (2.x): /usr/bin/aws, not another `aws` earlier in PATH (a pip or pyenv
/// awscli 1.x is a different program).
const QString AwsProgram = QStringLiteral("/usr/bin/aws");

Measure runAwscli(const Setup &s, const QString &prefix)
{
    if (!QFileInfo(AwsProgram).isExecutable())
        die(QStringLiteral("%1 is missing: run tools/setup.sh (Debian's awscli), or leave awscli "
                           "out of --tools")
                .arg(AwsProgram));
    const QString config = QDir(s.work).filePath(QStringLiteral("aws.config"));
    {
        QFile file(config);
        if (!file.open(QIODevice::WriteOnly | QIODevice::Text))
            die(QStringLiteral("cannot write %1").arg(config));
        QTextStream out(&file);
        out << "[default]\nregion = " << S3TestServer::region() << "\ns3 =\n"
            << "    addressing_style = path\n"
            << "    multipart_threshold = " << s.options.thresholdBytes / MiB << "MB\n"
            << "    multipart_chunksize = " << s.options.partBytes / MiB << "MB\n"
            << "    max_concurrent_requests = " << s.options.concurrency << "\n";
    }
    QProcessEnvironment env = localOnlyEnvironment(s.work);
    env.insert(QStringLiteral("AWS_CONFIG_FILE"), config);
    // No shared credentials file: the keys come from the environment only.
    env.insert(QStringLiteral("AWS_SHARED_CREDENTIALS_FILE"),
               QDir(s.work).filePath(QStringLiteral("aws.no-credentials")));
    env.insert(QStringLiteral("AWS_ACCESS_KEY_ID"), S3TestServer::accessKey());
    env.insert(QStringLiteral("AWS_SECRET_ACCESS_KEY"), S3TestServer::secretKey());
    env.insert(QStringLiteral("AWS_EC2_METADATA_DISABLED"), QStringLiteral("true"));
    env.insert(QStringLiteral("AWS_PAGER"), QString());
    return runTool(AwsProgram,
                   {QStringLiteral("s3"), QStringLiteral("sync"), s.source,
                    QStringLiteral("s3://%1/%2").arg(Bucket, prefix),
                    QStringLiteral("--endpoint-url"), s.endpoint, QStringLiteral("--no-progress"),
                    QStringLiteral("--only-show-errors")},
                   env, s.options.totalBytes());
}

/// The first line of `program --version` (or `program version`), for the record.
QString toolVersion(const QString &program, const QString &argument)
{
    QProcess process;
    process.setProcessChannelMode(QProcess::MergedChannels);
    process.start(program, {argument});
    if (!process.waitForFinished(30'000))
        return QStringLiteral("unknown");
    return QString::fromLocal8Bit(process.readAll()).section(QLatin1Char('\n'), 0, 0).trimmed();
}

/// Whether `prefix` holds the whole data set (object count and bytes).
bool verify(S3Client &client, const QString &prefix, const Options &options, QString *error)
{
    auto listed = QCoro::waitFor(client.listAllObjects(Bucket, prefix + QLatin1Char('/'), {}));
    if (!listed) {
        *error = listed.error().toString();
        return false;
    }
    qint64 bytes = 0;
    for (const auto &object : *listed)
        bytes += object.size;
    if (listed->size() != options.fileCount() || bytes != options.totalBytes()) {
        *error = QStringLiteral("%1 holds %2 objects, %3 bytes; expected %4, %5")
                     .arg(prefix)
                     .arg(listed->size())
                     .arg(bytes)
                     .arg(options.fileCount())
                     .arg(options.totalBytes());
        return false;
    }
    return true;
}

Options parseOptions(const QStringList &args)
{
    Options options;
    for (qsizetype i = 1; i < args.size(); ++i) {
        const QString &name = args.at(i);
        if (i + 1 >= args.size())
            die(QStringLiteral("%1 needs a value").arg(name));
        if (name == QLatin1String("--tools")) {
            options.tools = args.at(++i).split(QLatin1Char(','));
            continue;
        }
        bool ok = false;
        const qint64 value = args.at(++i).toLongLong(&ok);
        if (!ok || value < 0)
            die(QStringLiteral("%1: `%2` is not a number").arg(name, args.at(i)));
        if (name == QLatin1String("--small-count"))
            options.smallCount = int(value);
        else if (name == QLatin1String("--small-kib"))
            options.smallBytes = value * 1024;
        else if (name == QLatin1String("--large-count"))
            options.largeCount = int(value);
        else if (name == QLatin1String("--large-mib"))
            options.largeBytes = value * MiB;
        else if (name == QLatin1String("--part-mib"))
            options.partBytes = value * MiB;
        else if (name == QLatin1String("--threshold-mib"))
            options.thresholdBytes = value * MiB;
        else if (name == QLatin1String("--concurrency"))
            options.concurrency = int(value);
        else if (name == QLatin1String("--rounds"))
            options.rounds = std::max(1, int(value));
        else
            die(QStringLiteral("unknown option %1").arg(name));
    }
    return options;
}

using Runner = Measure (*)(const Setup &, const QString &);

struct Tool {
    QString name;
    Runner run;
    QList<Measure> rounds;
    [[nodiscard]] Measure best() const
    {
        Measure best;
        for (const auto &m : rounds)
            if (m.ok && m.verified && (!best.ok || m.seconds < best.seconds))
                best = m;
        return best.ok || rounds.isEmpty() ? best : rounds.last();
    }
};

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    Setup setup;
    setup.options = parseOptions(app.arguments());
    QTemporaryDir work;
    if (!work.isValid())
        die(QStringLiteral("no temporary directory"));
    setup.work = work.path();
    setup.source = work.filePath(QStringLiteral("source"));
    writeDataSet(setup.source, setup.options);

    QString error;
    auto server = S3TestServerProcess::start(work.filePath(QStringLiteral("server")), 0,
                                             S3TestServer::DefaultMinSegmentSize, &error);
    if (!server)
        die(QStringLiteral("the S3 test server did not start: %1").arg(error));
    setup.port = server->port();
    setup.endpoint = server->server().endpoint().toString();

    ClientConfig config;
    config.endpoint = Endpoint::fromUrl(setup.endpoint).value();
    config.credentials = {S3TestServer::accessKey(), S3TestServer::secretKey(), {}};
    S3Client client(config);
    if (auto created = QCoro::waitFor(client.createBucket(Bucket, {})); !created)
        die(created.error().toString());

    QList<Tool> tools;
    for (const Tool &tool : {Tool{QStringLiteral("ferry"), runFerry, {}},
                             Tool{QStringLiteral("rclone"), runRclone, {}},
                             Tool{QStringLiteral("s3cmd"), runS3cmd, {}},
                             Tool{QStringLiteral("awscli"), runAwscli, {}}})
        if (setup.options.tools.contains(tool.name))
            tools.append(tool);
    if (tools.isEmpty() || tools.first().name != QLatin1String("ferry"))
        die(QStringLiteral("--tools must name ferry (and may name rclone, s3cmd, awscli)"));
    for (int round = 0; round < setup.options.rounds; ++round) {
        for (qsizetype turn = 0; turn < tools.size(); ++turn) {
            Tool &tool = tools[(turn + round) % tools.size()];
            const QString prefix = QStringLiteral("%1-%2").arg(tool.name).arg(round);
            Measure m = tool.run(setup, prefix);
            if (m.ok) {
                QString why;
                m.verified = verify(client, prefix, setup.options, &why);
                if (!m.verified)
                    m.error = why;
            }
            std::fprintf(stderr, "round %d %s: %.2f s %s\n", round, qPrintable(tool.name),
                         m.seconds, qPrintable(m.error));
            tool.rounds.append(m);
        }
    }

    const double ferryMbps = tools.first().best().mbps();
    QJsonObject results;
    QJsonObject ratios; // Ferry ÷ each other tool, best rounds
    QJsonObject versions;
    double fastestOther = 0;
    QString fastestName;
    for (const Tool &tool : tools) {
        if (tool.name == QLatin1String("rclone"))
            versions.insert(tool.name,
                            toolVersion(QStringLiteral("rclone"), QStringLiteral("version")));
        else if (tool.name == QLatin1String("s3cmd"))
            versions.insert(tool.name,
                            toolVersion(QStringLiteral("s3cmd"), QStringLiteral("--version")));
        else if (tool.name == QLatin1String("awscli"))
            versions.insert(tool.name, toolVersion(AwsProgram, QStringLiteral("--version")));
        const Measure best = tool.best();
        QJsonObject entry = best.json();
        QJsonArray all;
        for (const auto &m : tool.rounds)
            all.append(m.json());
        entry.insert(QStringLiteral("rounds"), all);
        results.insert(tool.name, entry);
        if (tool.name == QLatin1String("ferry"))
            continue;
        ratios.insert(tool.name, best.mbps() > 0 ? ferryMbps / best.mbps() : 0);
        if (best.mbps() > fastestOther) {
            fastestOther = best.mbps();
            fastestName = tool.name;
        }
    }
    const QJsonObject report{
        {QStringLiteral("workload"),
         QJsonObject{
             {QStringLiteral("small_files"), setup.options.smallCount},
             {QStringLiteral("small_bytes"), setup.options.smallBytes},
             {QStringLiteral("large_files"), setup.options.largeCount},
             {QStringLiteral("large_bytes"), setup.options.largeBytes},
             {QStringLiteral("total_bytes"), setup.options.totalBytes()},
             {QStringLiteral("part_bytes"), setup.options.partBytes},
             {QStringLiteral("multipart_threshold"), setup.options.thresholdBytes},
             {QStringLiteral("concurrency"), setup.options.concurrency},
             {QStringLiteral("rounds"), setup.options.rounds},
             {QStringLiteral("server"), QStringLiteral("tools/s3-test-server (Swift s3api)")}}},
        {QStringLiteral("results"), results},
        {QStringLiteral("versions"), versions},
        {QStringLiteral("ferry_vs"), ratios},
        {QStringLiteral("fastest_other"), fastestName},
        {QStringLiteral("ferry_vs_fastest_other"), fastestOther > 0 ? ferryMbps / fastestOther : 0},
    };
    std::printf("%s", QJsonDocument(report).toJson(QJsonDocument::Indented).constData());
    (void)server->stop();
    return tools.first().best().ok ? 0 : 1;
}
