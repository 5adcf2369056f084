// S3 upload benchmark: Ferry's client against rclone and curl, in one run, on one local S3
// test server (tools/s3-test-server, started here through ferry_test_support).
//
//   s3_upload_bench [--large-mib 256] [--small-count 1000] [--small-kib 64] [--part-mib 16]
//                   [--large-concurrency 4] [--small-concurrency 6] [--in-memory-kib 1024]
//                   [--rounds 1] [--warmup-rounds 1]
//
// Workloads: one large file uploaded in parts with several parts in flight, and many small
// files uploaded with several objects in flight. rclone uploads the same files (multipart
// with the same part size and concurrency). curl is the server's ceiling: the large file as
// the same multipart upload (CreateMultipartUpload, the same parts from pre-split files PUT
// with the same concurrency, CompleteMultipartUpload), the small files as parallel SigV4 PUTs;
// for reference also the large file as plain parallel PUTs of equal slices, one object each
// ("large_plain_put"). With --rounds N every tool uploads once per round, taking turns in an
// order that rotates from round to round, after --warmup-rounds rounds that are not counted;
// its fastest round counts (each round's time is listed). Prints JSON: MB/s (10^6 bytes per
// second) for each tool and workload, the CPU seconds the client and the server used during
// it (they share the machine's cores), and Ferry's ratios to the others: best round against
// best round ("ratios"), and the median of the rounds' own ratios ("median_round_ratios"),
// with a 95% confidence interval for it from 6 rounds on.
// Run by hand; never part of the test run. Nothing leaves 127.0.0.1.

#include "app/s3/BackgroundPool.h"
#include "app/s3/PartSizePolicy.h"
#include "app/s3/S3Client.h"
#include "support/S3TestServer.h"

#include <QCoreApplication>
#include <QCoro/QCoroTask>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMap>
#include <QProcess>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTextStream>
#include <QUrl>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <functional>
#include <optional>
#include <sys/resource.h>
#include <unistd.h>

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
    qint64 inMemoryBytes = ClientConfig().inMemoryBodyLimit; // Ferry's in-memory body limit
    int rounds = 1; ///< Every tool uploads once per round, taking turns; the best round counts.
    int warmupRounds = 1; ///< Rounds uploaded first and not counted.
};

// CPU seconds (user + system) used so far by this process (`self`) or its reaped children.
double cpuSeconds(bool self)
{
    rusage usage{};
    getrusage(self ? RUSAGE_SELF : RUSAGE_CHILDREN, &usage);
    return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
           (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// The CPU seconds (user + system) of a /proc `stat` line; 0 when it cannot be read.
double statCpuSeconds(const QByteArray &line)
{
    // Fields after the command name, which is in parentheses and may hold spaces: the first
    // is field 3 (state), so utime (field 14) and stime (15) are the 12th and 13th.
    const QList<QByteArray> fields = line.mid(line.lastIndexOf(')') + 2).split(' ');
    if (fields.size() < 13)
        return 0;
    return (fields.at(11).toLongLong() + fields.at(12).toLongLong()) / double(sysconf(_SC_CLK_TCK));
}

// CPU seconds (user + system, all threads) used so far by process `pid`, from /proc; 0 when
// it cannot be read.
double processCpuSeconds(qint64 pid)
{
    QFile stat(QStringLiteral("/proc/%1/stat").arg(pid));
    return stat.open(QIODevice::ReadOnly) ? statCpuSeconds(stat.readAll()) : 0;
}

// How the scheduler treated process `pid` so far, summed over its threads: the seconds they
// spent runnable but waiting for a core, and how often they were preempted. The server needs
// one of the 2 cores to itself; these say how much a client's threads took it away.
struct Scheduling {
    double waitSeconds = 0;
    qint64 preemptions = 0;
};

Scheduling processScheduling(qint64 pid)
{
    Scheduling total;
    const QDir tasks(QStringLiteral("/proc/%1/task").arg(pid));
    for (const QString &task : tasks.entryList(QDir::Dirs | QDir::NoDotAndDotDot)) {
        QFile schedstat(tasks.filePath(task + QStringLiteral("/schedstat")));
        if (schedstat.open(QIODevice::ReadOnly)) // on-CPU ns, run-queue wait ns, time slices
            total.waitSeconds += schedstat.readAll().split(' ').value(1).toLongLong() / 1e9;
        QFile status(tasks.filePath(task + QStringLiteral("/status")));
        if (!status.open(QIODevice::ReadOnly))
            continue;
        for (const QByteArray &line : status.readAll().split('\n'))
            if (line.startsWith("nonvoluntary_ctxt_switches:"))
                total.preemptions += line.mid(line.indexOf(':') + 1).trimmed().toLongLong();
    }
    return total;
}

// CPU seconds (user + system) used so far by each of this process's threads, by thread id,
// with the thread's name.
struct ThreadCpu {
    QByteArray name;
    double seconds = 0;
};

QMap<qint64, ThreadCpu> threadCpuSeconds()
{
    QMap<qint64, ThreadCpu> threads;
    const QDir tasks(QStringLiteral("/proc/self/task"));
    for (const QString &task : tasks.entryList(QDir::Dirs | QDir::NoDotAndDotDot)) {
        QFile stat(tasks.filePath(task + QStringLiteral("/stat")));
        if (!stat.open(QIODevice::ReadOnly))
            continue;
        const QByteArray line = stat.readAll();
        const qsizetype open = line.indexOf('(');
        const qsizetype close = line.lastIndexOf(')');
        if (open >= 0 && close > open)
            threads.insert(task.toLongLong(),
                           {line.mid(open + 1, close - open - 1), statCpuSeconds(line)});
    }
    return threads;
}

// Ferry's client CPU between two threadCpuSeconds() samples, split by the threads' roles:
// Qt's HTTP thread, the thread the replies and coroutines run on (this benchmark's main
// thread), the background pool's (the Content-MD5 digests), and the rest (threads that ended
// meanwhile included: `total` is the process's).
QJsonObject cpuByThread(const QMap<qint64, ThreadCpu> &before, const QMap<qint64, ThreadCpu> &after,
                        double total)
{
    double http = 0, replies = 0, background = 0;
    for (auto it = after.cbegin(); it != after.cend(); ++it) {
        const double used = it->seconds - before.value(it.key()).seconds;
        if (it->name.startsWith("QNetworkAccessM"))
            http += used;
        else if (it.key() == ::getpid())
            replies += used;
        else if (it->name == BackgroundPool::kThreadName)
            background += used;
    }
    return {{QStringLiteral("qt_http_thread"), http},
            {QStringLiteral("reply_thread"), replies},
            {QStringLiteral("digest_threads"), background},
            {QStringLiteral("other"), std::max(0.0, total - http - replies - background)}};
}

struct Measure {
    double seconds = 0;
    QList<double> rounds;          ///< Seconds of every round, when this is the best of several.
    double clientCpu = 0;          ///< CPU seconds the uploading client used (not the server's).
    QJsonObject clientCpuByThread; ///< Ferry's: clientCpu by its threads' roles.
    double serverCpu = 0;          ///< CPU seconds the server used meanwhile.
    Scheduling server;             ///< How often the server lost its core meanwhile.
    qint64 bytes = 0;
    bool ok = false;
    QString error;
    [[nodiscard]] double mbps() const { return seconds > 0 ? bytes / 1e6 / seconds : 0; }
    [[nodiscard]] QJsonObject json() const
    {
        QJsonObject o{{QStringLiteral("seconds"), seconds},
                      {QStringLiteral("bytes"), bytes},
                      {QStringLiteral("MBps"), ok ? mbps() : 0.0},
                      {QStringLiteral("ok"), ok},
                      {QStringLiteral("client_cpu_seconds"), clientCpu},
                      {QStringLiteral("server_cpu_seconds"), serverCpu},
                      {QStringLiteral("server_runqueue_wait_seconds"), server.waitSeconds},
                      {QStringLiteral("server_preemptions"), server.preemptions}};
        if (!error.isEmpty())
            o.insert(QStringLiteral("error"), error);
        if (!clientCpuByThread.isEmpty())
            o.insert(QStringLiteral("client_cpu_seconds_by_thread"), clientCpuByThread);
        if (rounds.size() > 1) {
            QJsonArray all;
            for (double round : rounds)
                all.append(round);
            o.insert(QStringLiteral("rounds_seconds"), all);
        }
        return o;
    }
};

/// The best (fastest successful) of `measures`, carrying every round's time; the first
/// failure when none succeeded.
Measure best(const QList<Measure> &measures)
{
    Measure result = measures.value(0);
    QList<double> rounds;
    for (const Measure &m : measures) {
        rounds.append(m.ok ? m.seconds : -1);
        if (m.ok && (!result.ok || m.seconds < result.seconds))
            result = m;
    }
    result.rounds = rounds;
    return result;
}

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

Measure ferryLarge(S3Client &client, const QString &path, const QString &key,
                   const Options &options)
{
    Measure m;
    m.bytes = options.largeBytes;
    const auto plan =
        PartSizePolicy({64 * MiB, options.partBytes, limits::MinPartSize}).plan(m.bytes);
    if (!plan) {
        m.error = plan.error();
        return m;
    }
    const double cpu = cpuSeconds(true);
    const auto threadsBefore = threadCpuSeconds();
    QElapsedTimer timer;
    timer.start();
    const auto upload = QCoro::waitFor(client.createMultipartUpload(Bucket, key, {}));
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
    m.clientCpu = cpuSeconds(true) - cpu;
    m.clientCpuByThread = cpuByThread(threadsBefore, threadCpuSeconds(), m.clientCpu);
    m.ok = m.error.isEmpty();
    if (!m.ok)
        (void)QCoro::waitFor(client.abortMultipartUpload(*upload, {}));
    return m;
}

Measure ferrySmall(S3Client &client, const QStringList &files, const QString &prefix,
                   const Options &options)
{
    Measure m;
    m.bytes = files.size() * options.smallBytes;
    const double cpu = cpuSeconds(true);
    const auto threadsBefore = threadCpuSeconds();
    QElapsedTimer timer;
    timer.start();
    int next = 0;
    std::vector<QCoro::Task<std::optional<S3Error>>> workers;
    for (int i = 0; i < options.smallConcurrency; ++i)
        workers.push_back(fileWorker(client, files, prefix, next));
    for (auto &worker : workers)
        if (auto error = QCoro::waitFor(worker); error && m.error.isEmpty())
            m.error = error->toString();
    m.seconds = timer.nsecsElapsed() / 1e9;
    m.clientCpu = cpuSeconds(true) - cpu;
    m.clientCpuByThread = cpuByThread(threadsBefore, threadCpuSeconds(), m.clientCpu);
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
    const double cpu = cpuSeconds(false);
    QElapsedTimer timer;
    timer.start();
    process.start(program, arguments);
    if (!process.waitForStarted(10000) || !process.waitForFinished(30 * 60 * 1000)) {
        m.error = QStringLiteral("%1 did not run: %2").arg(program, process.errorString());
        return m;
    }
    m.seconds = timer.nsecsElapsed() / 1e9;
    m.clientCpu = cpuSeconds(false) - cpu;
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

void writeCurlCommon(QTextStream &out)
{
    out << "aws-sigv4 = \"aws:amz:" << S3TestServer::region() << ":s3\"\n"
        << "user = \"" << S3TestServer::accessKey() << ':' << S3TestServer::secretKey() << "\"\n"
        << "header = \"x-amz-content-sha256: UNSIGNED-PAYLOAD\"\n"
        << "fail\nsilent\nshow-error\n";
}

QString writeCurlConfig(const QString &path, const QString &endpoint, const QStringList &files,
                        const QString &prefix, int parallel)
{
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Text))
        die(QStringLiteral("cannot write %1").arg(path));
    QTextStream out(&file);
    writeCurlCommon(out);
    out << "parallel\nparallel-max = " << parallel << "\n";
    for (const QString &f : files)
        out << "upload-file = \"" << f << "\"\nurl = \"" << endpoint << '/' << Bucket << '/'
            << prefix << QFileInfo(f).fileName() << "\"\noutput = \"/dev/null\"\n";
    return path;
}

// One curl invocation, its output kept; `m` accumulates the time.
bool runCurlStep(const QString &configPath, Measure &m, QByteArray *output)
{
    QProcess process;
    process.setProcessEnvironment(localOnlyEnvironment());
    process.setProcessChannelMode(QProcess::SeparateChannels);
    const double cpu = cpuSeconds(false);
    QElapsedTimer timer;
    timer.start();
    process.start(QStringLiteral("curl"), {QStringLiteral("-K"), configPath});
    const bool ran = process.waitForStarted(10000) && process.waitForFinished(30 * 60 * 1000);
    m.seconds += timer.nsecsElapsed() / 1e9;
    m.clientCpu += cpuSeconds(false) - cpu;
    *output = process.readAllStandardOutput();
    if (!ran || process.exitStatus() != QProcess::NormalExit || process.exitCode() != 0) {
        m.error = QStringLiteral("curl (%1) failed with %2: %3")
                      .arg(QFileInfo(configPath).fileName())
                      .arg(process.exitCode())
                      .arg(QString::fromLocal8Bit(process.readAllStandardError().right(400) +
                                                  output->right(400)));
        return false;
    }
    return true;
}

// The like-for-like ceiling for the large file: what Ferry does, done by curl. POST ?uploads,
// the same parts (pre-split files, so curl reads them as plainly as possible) PUT with the
// same concurrency as `?partNumber=N&uploadId=...`, then CompleteMultipartUpload with the
// ETags the part answers carried. Timed from the first request to the completion's answer.
Measure curlMultipart(const QString &dir, const QString &endpoint, const QString &key,
                      const QStringList &parts, qint64 bytes, int parallel)
{
    Measure m;
    m.bytes = bytes;
    const QString objectUrl = endpoint + QLatin1Char('/') + Bucket + QLatin1Char('/') + key;
    auto writeConfig = [&](const QString &name, const std::function<void(QTextStream &)> &body) {
        const QString path = QDir(dir).filePath(name);
        QFile file(path);
        if (!file.open(QIODevice::WriteOnly | QIODevice::Text))
            die(QStringLiteral("cannot write %1").arg(path));
        QTextStream out(&file);
        writeCurlCommon(out);
        body(out);
        return path;
    };

    QByteArray output;
    // `uploads=`: curl signs the query as written, and SigV4's canonical form has the `=`.
    const QString create = writeConfig(QStringLiteral("curl-mpu-create.cfg"), [&](auto &out) {
        out << "request = \"POST\"\ndata-binary = \"\"\nurl = \"" << objectUrl << "?uploads=\"\n";
    });
    if (!runCurlStep(create, m, &output))
        return m;
    const auto match = QRegularExpression(QStringLiteral("<UploadId>([^<]+)</UploadId>"))
                           .match(QString::fromUtf8(output));
    if (!match.hasMatch()) {
        m.error = QStringLiteral("no UploadId in %1").arg(QString::fromUtf8(output.left(400)));
        return m;
    }
    const QString uploadId =
        QString::fromLatin1(QUrl::toPercentEncoding(match.captured(1), {}, {}));

    const QString put = writeConfig(QStringLiteral("curl-mpu-parts.cfg"), [&](auto &out) {
        out << "parallel\nparallel-max = " << parallel << "\n"
            << "write-out = \"%{urlnum} %header{etag}\\n\"\n";
        for (qsizetype i = 0; i < parts.size(); ++i)
            out << "upload-file = \"" << parts.at(i) << "\"\nurl = \"" << objectUrl
                << "?partNumber=" << (i + 1) << "&uploadId=" << uploadId
                << "\"\noutput = \"/dev/null\"\n";
    });
    if (!runCurlStep(put, m, &output))
        return m;
    QMap<int, QString> etags;
    for (const QByteArray &line : output.split('\n')) {
        const QList<QByteArray> fields = line.trimmed().split(' ');
        if (fields.size() == 2)
            etags.insert(fields.at(0).toInt() + 1,
                         QString::fromLatin1(fields.at(1)).remove(QLatin1Char('"')));
    }
    if (etags.size() != parts.size()) {
        m.error = QStringLiteral("%1 part ETags for %2 parts").arg(etags.size()).arg(parts.size());
        return m;
    }

    const QString xmlPath = QDir(dir).filePath(QStringLiteral("curl-mpu-complete.xml"));
    {
        QFile xml(xmlPath);
        if (!xml.open(QIODevice::WriteOnly))
            die(QStringLiteral("cannot write %1").arg(xmlPath));
        QTextStream out(&xml);
        out << "<CompleteMultipartUpload>";
        for (auto it = etags.cbegin(); it != etags.cend(); ++it)
            out << "<Part><PartNumber>" << it.key() << "</PartNumber><ETag>\"" << it.value()
                << "\"</ETag></Part>";
        out << "</CompleteMultipartUpload>";
    }
    const QString complete = writeConfig(QStringLiteral("curl-mpu-complete.cfg"), [&](auto &out) {
        out << "request = \"POST\"\nheader = \"Content-Type: application/xml\"\n"
            << "data-binary = \"@" << xmlPath << "\"\nurl = \"" << objectUrl
            << "?uploadId=" << uploadId << "\"\n";
    });
    if (!runCurlStep(complete, m, &output))
        return m;
    // S3 may report a failed completion inside a 200 answer.
    if (!output.contains("CompleteMultipartUploadResult")) {
        m.error = QStringLiteral("completion answered %1").arg(QString::fromUtf8(output.left(400)));
        return m;
    }
    m.ok = true;
    return m;
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

// a's throughput over b's in each round, in the rounds' order (0 for a round in which either
// failed). The two uploaded within seconds of each other, so a drift in the machine's speed
// between rounds, which can pair one tool's lucky round with the other's unlucky one in
// ratio(), cancels out.
QList<double> roundRatios(const QList<Measure> &as, const QList<Measure> &bs)
{
    QList<double> ratios;
    for (qsizetype i = 0; i < qMin(as.size(), bs.size()); ++i)
        ratios.append(ratio(as.at(i), bs.at(i)));
    return ratios;
}

QList<double> sorted(QList<double> values)
{
    std::sort(values.begin(), values.end());
    return values;
}

QJsonArray jsonArray(const QList<double> &values)
{
    QJsonArray array;
    for (double value : values)
        array.append(value);
    return array;
}

double median(const QList<double> &ascending)
{
    if (ascending.isEmpty())
        return 0.0;
    const qsizetype middle = ascending.size() / 2;
    return ascending.size() % 2 ? ascending.at(middle)
                                : (ascending.at(middle - 1) + ascending.at(middle)) / 2;
}

// An interval that holds the median of the rounds' ratios (what more rounds would converge to)
// with at least 95% confidence, whatever their distribution: the k-th smallest and the k-th
// largest of the n rounds, for the largest k with P(Binomial(n, 1/2) < k) <= 2.5%. Each round
// falls below the true median with probability 1/2, independently of the others. Empty below 6
// rounds, too few for 95%.
QJsonArray medianInterval(const QList<double> &ascending)
{
    const qsizetype n = ascending.size();
    double below = 0;  // P(Binomial(n, 1/2) < k)
    double choose = 1; // C(n, k)
    const double all = std::pow(2.0, double(n));
    qsizetype k = 0;
    while (k < n && below + choose / all <= 0.025) {
        below += choose / all;
        choose = choose * double(n - k) / double(k + 1);
        ++k;
    }
    if (k == 0)
        return {};
    return {ascending.at(k - 1), ascending.at(n - k)};
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    Options options;
    const QStringList args = app.arguments();
    if (args.contains(QLatin1String("--help")) || args.size() % 2 == 0) {
        std::printf("usage: s3_upload_bench [--large-mib 256] [--small-count 1000] "
                    "[--small-kib 64] [--part-mib 16] [--large-concurrency 4] "
                    "[--small-concurrency 6] [--in-memory-kib 1024] [--rounds 1] "
                    "[--warmup-rounds 1]\n");
        return args.contains(QLatin1String("--help")) ? 0 : 2;
    }
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
        else if (name == QLatin1String("--in-memory-kib"))
            options.inMemoryBytes = value * 1024;
        else if (name == QLatin1String("--rounds") && value >= 1)
            options.rounds = int(value);
        else if (name == QLatin1String("--warmup-rounds") && value >= 0)
            options.warmupRounds = int(value);
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

    // curl's multipart ceiling: the large file's parts, as Ferry plans them, as files.
    const auto largePlan =
        PartSizePolicy({64 * MiB, options.partBytes, limits::MinPartSize}).plan(options.largeBytes);
    if (!largePlan)
        die(largePlan.error());
    QStringList partFiles;
    {
        QFile source(large);
        if (!source.open(QIODevice::ReadOnly))
            die(QStringLiteral("cannot read %1").arg(large));
        for (int number = 1; number <= largePlan->partCount; ++number) {
            partFiles.append(work.filePath(QStringLiteral("part-%1.bin").arg(number)));
            QFile part(partFiles.last());
            if (!source.seek(largePlan->partOffset(number)) || !part.open(QIODevice::WriteOnly) ||
                part.write(source.read(largePlan->partLength(number))) !=
                    largePlan->partLength(number))
                die(QStringLiteral("cannot write %1").arg(partFiles.last()));
        }
    }

    ClientConfig config;
    config.endpoint = Endpoint::fromUrl(endpoint).value();
    config.credentials = {S3TestServer::accessKey(), S3TestServer::secretKey(), {}};
    config.inMemoryBodyLimit = options.inMemoryBytes;
    S3Client client(config);
    if (auto created = QCoro::waitFor(client.createBucket(Bucket, {})); !created)
        die(created.error().toString());

    // rclone: same part size and concurrency.
    const QString rcloneConfig = work.filePath(QStringLiteral("rclone.conf"));
    QFile(rcloneConfig).open(QIODevice::WriteOnly);
    const QProcessEnvironment rcloneEnv = rcloneEnvironment(endpoint, rcloneConfig);
    const QString partMib = QStringLiteral("%1M").arg(options.partBytes / MiB);
    const QStringList rcloneCommon = {QStringLiteral("--s3-no-check-bucket"),
                                      QStringLiteral("--s3-chunk-size"), partMib,
                                      QStringLiteral("--s3-upload-cutoff"), partMib};

    // The tools take turns in every round, each round to its own prefix: a slow moment of
    // the machine (the server's disk writes back) then costs one round, not one tool. The
    // order rotates from round to round, so each tool goes first in as many rounds as the
    // others (with a multiple of 3 rounds); the warm-up rounds (the server's first requests, its
    // first multipart upload, each client's first connections) are uploaded and checked but not
    // counted.
    QList<Measure> ferryLs, ferrySs, rcloneLs, rcloneSs, curlLs, curlPlainLs, curlSs;
    QJsonObject verified;
    // Each measure also carries the CPU the server spent meanwhile, and how often it had to
    // wait for a core: the machine has 2 cores.
    const auto withServerCpu = [&server](const std::function<Measure()> &measure) {
        const double before = processCpuSeconds(server->processId());
        const Scheduling scheduled = processScheduling(server->processId());
        Measure m = measure();
        m.serverCpu = processCpuSeconds(server->processId()) - before;
        const Scheduling after = processScheduling(server->processId());
        m.server = {after.waitSeconds - scheduled.waitSeconds,
                    after.preemptions - scheduled.preemptions};
        return m;
    };
    const auto ferryTurn = [&](const QString &r) {
        ferryLs.append(withServerCpu([&] {
            return ferryLarge(client, large, r + QStringLiteral("ferry/large.bin"), options);
        }));
        ferrySs.append(withServerCpu([&] {
            return ferrySmall(client, smallFiles, r + QStringLiteral("ferry/small/"), options);
        }));
    };
    const auto rcloneTurn = [&](const QString &r) {
        rcloneLs.append(withServerCpu([&] {
            return runTool(QStringLiteral("rclone"),
                           QStringList{QStringLiteral("copyto"), large,
                                       QStringLiteral("bench:%1/%2rclone/large.bin").arg(Bucket, r),
                                       QStringLiteral("--s3-upload-concurrency"),
                                       QString::number(options.largeConcurrency)} +
                               rcloneCommon,
                           rcloneEnv, options.largeBytes);
        }));
        rcloneSs.append(withServerCpu([&] {
            return runTool(
                QStringLiteral("rclone"),
                QStringList{QStringLiteral("copy"), work.filePath(QStringLiteral("small")),
                            QStringLiteral("bench:%1/%2rclone/small").arg(Bucket, r),
                            QStringLiteral("--transfers"),
                            QString::number(options.smallConcurrency), QStringLiteral("--checkers"),
                            QString::number(options.smallConcurrency),
                            QStringLiteral("--no-traverse")} +
                    rcloneCommon,
                rcloneEnv, options.smallCount * options.smallBytes);
        }));
    };
    // curl, the server's ceiling: the large file as the same multipart upload Ferry does,
    // and (for reference) as plain parallel PUTs of equal slices, one object each.
    const auto curlTurn = [&](const QString &r) {
        curlLs.append(withServerCpu([&] {
            return curlMultipart(work.path(), endpoint, r + QStringLiteral("curl/large.bin"),
                                 partFiles, options.largeBytes, options.largeConcurrency);
        }));
        curlPlainLs.append(withServerCpu([&] {
            return runTool(
                QStringLiteral("curl"),
                {QStringLiteral("-K"),
                 writeCurlConfig(work.filePath(QStringLiteral("curl-large.cfg")), endpoint, slices,
                                 r + QStringLiteral("curl/large-put/"), options.largeConcurrency)},
                localOnlyEnvironment(), sliceCount * (options.largeBytes / sliceCount));
        }));
        curlSs.append(withServerCpu([&] {
            return runTool(QStringLiteral("curl"),
                           {QStringLiteral("-K"),
                            writeCurlConfig(work.filePath(QStringLiteral("curl-small.cfg")),
                                            endpoint, smallFiles, r + QStringLiteral("curl/small/"),
                                            options.smallConcurrency)},
                           localOnlyEnvironment(), options.smallCount * options.smallBytes);
        }));
    };
    const std::array<std::function<void(const QString &)>, 3> turns{ferryTurn, rcloneTurn,
                                                                    curlTurn};
    QStringList firsts; // which tool went first in each counted round
    for (int round = 1 - options.warmupRounds; round <= options.rounds; ++round) {
        const QString r = round < 1 ? QStringLiteral("warmup-%1/").arg(1 - round)
                                    : QStringLiteral("round-%1/").arg(round);
        const std::size_t first = std::size_t(round + options.warmupRounds) % turns.size();
        for (std::size_t i = 0; i < turns.size(); ++i)
            turns.at((first + i) % turns.size())(r);
        if (round >= 1)
            firsts.append(QLatin1String(std::array{"ferry", "rclone", "curl"}.at(first)));

        // What arrived.
        for (const auto &[name, prefix, count, bytes] :
             std::initializer_list<std::tuple<const char *, QString, int, qint64>>{
                 {"ferry", r + QStringLiteral("ferry/"), options.smallCount + 1,
                  options.largeBytes + options.smallCount * options.smallBytes},
                 {"rclone", r + QStringLiteral("rclone/"), options.smallCount + 1,
                  options.largeBytes + options.smallCount * options.smallBytes},
                 {"curl", r + QStringLiteral("curl/"), int(options.smallCount + 1 + sliceCount),
                  options.largeBytes + sliceCount * (options.largeBytes / sliceCount) +
                      options.smallCount * options.smallBytes}}) {
            qint64 stored = 0;
            const int objects = countObjects(client, prefix, &stored);
            verified.insert(QLatin1String(name), verified.value(QLatin1String(name)).toBool(true) &&
                                                     objects == count && stored == bytes);
        }
        if (round == 0) // the last warm-up round: start counting afresh
            for (QList<Measure> *measures :
                 {&ferryLs, &ferrySs, &rcloneLs, &rcloneSs, &curlLs, &curlPlainLs, &curlSs})
                measures->clear();
    }
    const QList<double> vsRcloneLarge = sorted(roundRatios(ferryLs, rcloneLs)),
                        vsRcloneSmall = sorted(roundRatios(ferrySs, rcloneSs)),
                        vsCurlLarge = sorted(roundRatios(ferryLs, curlLs)),
                        vsCurlSmall = sorted(roundRatios(ferrySs, curlSs));
    const Measure ferryL = best(ferryLs), ferryS = best(ferrySs), rcloneL = best(rcloneLs),
                  rcloneS = best(rcloneSs), curlL = best(curlLs), curlPlainL = best(curlPlainLs),
                  curlS = best(curlSs);

    const QJsonObject report{
        {QStringLiteral("workload"),
         QJsonObject{
             {QStringLiteral("large_bytes"), options.largeBytes},
             {QStringLiteral("part_bytes"), options.partBytes},
             {QStringLiteral("large_concurrency"), options.largeConcurrency},
             {QStringLiteral("small_files"), options.smallCount},
             {QStringLiteral("small_bytes"), options.smallBytes},
             {QStringLiteral("small_concurrency"), options.smallConcurrency},
             {QStringLiteral("ferry_in_memory_body_limit"), options.inMemoryBytes},
             {QStringLiteral("rounds"), options.rounds},
             {QStringLiteral("warmup_rounds"), options.warmupRounds},
             {QStringLiteral("server"), QStringLiteral("tools/s3-test-server (Swift s3api)")}}},
        {QStringLiteral("ferry"), QJsonObject{{QStringLiteral("large"), ferryL.json()},
                                              {QStringLiteral("small"), ferryS.json()}}},
        {QStringLiteral("rclone"), QJsonObject{{QStringLiteral("large"), rcloneL.json()},
                                               {QStringLiteral("small"), rcloneS.json()}}},
        {QStringLiteral("curl"), QJsonObject{{QStringLiteral("large"), curlL.json()},
                                             {QStringLiteral("large_plain_put"), curlPlainL.json()},
                                             {QStringLiteral("small"), curlS.json()}}},
        {QStringLiteral("ratios"),
         QJsonObject{{QStringLiteral("ferry_vs_rclone_large"), ratio(ferryL, rcloneL)},
                     {QStringLiteral("ferry_vs_rclone_small"), ratio(ferryS, rcloneS)},
                     {QStringLiteral("ferry_vs_curl_large"), ratio(ferryL, curlL)},
                     {QStringLiteral("ferry_vs_curl_large_plain_put"), ratio(ferryL, curlPlainL)},
                     {QStringLiteral("ferry_vs_curl_small"), ratio(ferryS, curlS)}}},
        {QStringLiteral("median_round_ratios"),
         QJsonObject{{QStringLiteral("ferry_vs_rclone_large"), median(vsRcloneLarge)},
                     {QStringLiteral("ferry_vs_rclone_small"), median(vsRcloneSmall)},
                     {QStringLiteral("ferry_vs_curl_large"), median(vsCurlLarge)},
                     {QStringLiteral("ferry_vs_curl_small"), median(vsCurlSmall)}}},
        {QStringLiteral("median_round_ratios_95pct_interval"),
         QJsonObject{{QStringLiteral("ferry_vs_rclone_large"), medianInterval(vsRcloneLarge)},
                     {QStringLiteral("ferry_vs_rclone_small"), medianInterval(vsRcloneSmall)},
                     {QStringLiteral("ferry_vs_curl_large"), medianInterval(vsCurlLarge)},
                     {QStringLiteral("ferry_vs_curl_small"), medianInterval(vsCurlSmall)}}},
        {QStringLiteral("round_ratios"),
         QJsonObject{
             {QStringLiteral("ferry_vs_curl_large"), jsonArray(roundRatios(ferryLs, curlLs))},
             {QStringLiteral("ferry_vs_curl_small"), jsonArray(roundRatios(ferrySs, curlSs))}}},
        {QStringLiteral("first_in_round"), QJsonArray::fromStringList(firsts)},
        {QStringLiteral("verified"), verified},
    };
    std::printf("%s", QJsonDocument(report).toJson(QJsonDocument::Indented).constData());
    (void)server->stop();
    return ferryL.ok && ferryS.ok ? 0 : 1;
}
