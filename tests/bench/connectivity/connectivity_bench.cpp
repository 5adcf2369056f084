// How fast Ferry reacts to an endpoint going away and coming back, with the production
// timings (ConnectivityOptions / ReactorOptions defaults), real HeadBucket probes, the real
// sync engine and a local S3 server of its own:
//  - refused: the server is stopped mid-sync (connections refused);
//  - stalled: a relay in front of the server stops moving bytes mid-sync (no error ever
//    arrives; only the probes' timeout tells);
// measuring the time from the endpoint going away to its group cancelled, and from its
// return to the re-sync starting. Prints JSON. Usage: connectivity_bench [--rounds N]

#include "StallingProxy.h"
#include "connectivity/ReactionRig.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>
#include <cstdio>

using namespace ferry;
using namespace ferry::test;

namespace {

constexpr qint64 MiB = 1024 * 1024;

struct Round {
    qint64 stopMs = -1;          ///< How long stopping the endpoint took (refused only).
    qint64 goneToCancelMs = -1;  ///< Endpoint gone → cancelGroup(endpoint, offline) done.
    qint64 goneToOfflineMs = -1; ///< Endpoint gone → the monitor says offline.
    qint64 backToOnlineMs = -1;  ///< Endpoint back → the monitor says online.
    qint64 backToResyncSubmittedMs = -1;
    qint64 backToResyncStartedMs = -1;
    bool completed = false; ///< The re-sync ran to completion.
};

void fail(const char *what)
{
    std::fprintf(stderr, "connectivity_bench: %s\n", what);
    std::exit(1);
}

/// One round: sync, take the endpoint away (`goAway`), bring it back (`comeBack`).
Round runRound(quint16 port, const QString &root, const QString &bucket,
               const std::function<qint64()> &goAway, const std::function<void()> &comeBack)
{
    Round round;
    ReactionRig rig(port, /*realProbe=*/true, ConnectivityOptions{}, ReactorOptions{});
    {
        auto client = rig.harness.client();
        if (!QCoro::waitFor(client->createBucket(bucket, {})))
            fail("cannot create the bucket");
    }
    rig.harness.addProfile("bench", root, bucket, "b/", [](Profile &p) { p.concurrency = 2; });
    rig.start(3);
    const QString group = rig.group("bench");
    if (!QTest::qWaitFor([&] { return rig.monitor->endpointState(group) == EndpointState::Online; },
                         30'000))
        fail("endpoint never online");

    QElapsedTimer clock;
    qint64 cancelledAt = -1;
    qint64 offlineAt = -1;
    qint64 onlineAt = -1;
    qint64 submittedAt = -1;
    qint64 startedAt = -1;
    TaskId firstRun = 0;
    TaskId resync = 0;
    QObject context;
    QObject::connect(rig.harness.scheduler.get(), &Scheduler::cancelledBatch, &context,
                     [&](const QList<TaskId> &, const QString &reason) {
                         if (reason == CancelReason::Offline && cancelledAt < 0)
                             cancelledAt = clock.elapsed();
                     });
    QObject::connect(rig.monitor.get(), &ConnectivityMonitor::endpointStateChanged, &context,
                     [&](const QString &, EndpointState state, const QString &) {
                         if (state == EndpointState::Offline && offlineAt < 0)
                             offlineAt = clock.elapsed();
                         if (state == EndpointState::Online && offlineAt >= 0 && onlineAt < 0)
                             onlineAt = clock.elapsed();
                     });
    QObject::connect(rig.harness.scheduler.get(), &Scheduler::eventsBatch, &context,
                     [&](const TaskEvents &events) {
                         for (const auto &event : events) {
                             if (event.kind == TaskEvent::Kind::Submitted &&
                                 event.type == SyncTypes::Run && event.id != firstRun &&
                                 submittedAt < 0 && firstRun != 0) {
                                 submittedAt = clock.elapsed();
                                 resync = event.id;
                             }
                             if (event.kind == TaskEvent::Kind::Started && event.id == resync &&
                                 resync != 0 && startedAt < 0)
                                 startedAt = clock.elapsed();
                         }
                     });
    firstRun = rig.sync("bench");
    if (!QTest::qWaitFor([&] { return rig.controller->status("bench")->bytesDone > 20 * MiB; },
                         60'000))
        fail("the sync never moved");

    clock.start();
    round.stopMs = goAway();
    const qint64 goneAt = round.stopMs < 0 ? 0 : round.stopMs;
    if (!QTest::qWaitFor([&] { return cancelledAt >= 0; }, 60'000))
        fail("the group was never cancelled");
    round.goneToCancelMs = cancelledAt - goneAt;
    round.goneToOfflineMs = offlineAt - goneAt;

    const qint64 backAt = clock.elapsed();
    comeBack();
    const qint64 backDone = clock.elapsed();
    if (!QTest::qWaitFor([&] { return startedAt >= 0; }, 60'000))
        fail("no re-sync");
    round.backToOnlineMs = onlineAt - backDone;
    round.backToResyncSubmittedMs = submittedAt - backDone;
    round.backToResyncStartedMs = startedAt - backDone;
    Q_UNUSED(backAt);
    round.completed = rig.waitForRun(resync, 120'000) &&
                      rig.harness.historyOf(resync)->status == HistoryStatus::Completed;
    return round;
}

QJsonObject summary(const QList<Round> &rounds, qint64 Round::*field)
{
    QList<qint64> values;
    QJsonArray all;
    for (const Round &round : rounds) {
        values.append(round.*field);
        all.append(round.*field);
    }
    std::sort(values.begin(), values.end());
    QJsonObject object;
    object["runs_ms"] = all;
    object["median_ms"] = values.isEmpty() ? -1 : values.at(values.size() / 2);
    object["max_ms"] = values.isEmpty() ? -1 : values.last();
    return object;
}

QJsonObject report(const QList<Round> &rounds, bool withStop)
{
    QJsonObject object;
    object["gone_to_group_cancelled"] = summary(rounds, &Round::goneToCancelMs);
    object["gone_to_offline"] = summary(rounds, &Round::goneToOfflineMs);
    object["back_to_online"] = summary(rounds, &Round::backToOnlineMs);
    object["back_to_resync_submitted"] = summary(rounds, &Round::backToResyncSubmittedMs);
    object["back_to_resync_started"] = summary(rounds, &Round::backToResyncStartedMs);
    if (withStop)
        object["server_stop_duration"] = summary(rounds, &Round::stopMs);
    bool completed = true;
    for (const Round &round : rounds)
        completed = completed && round.completed;
    object["resyncs_completed"] = completed;
    return object;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    qputenv("FERRY_SECRET_STORE", "file");
    QCommandLineParser parser;
    parser.setApplicationDescription(
        "Connectivity reaction times against a local S3 server (JSON on stdout).");
    parser.addHelpOption();
    parser.addOption({"rounds", "Rounds per scenario (default 3).", "N", "3"});
    parser.process(app);
    const int rounds = std::max(1, parser.value("rounds").toInt());

    QTemporaryDir tmp;
    QString error;
    auto server = S3TestServerProcess::start(tmp.filePath("server"), 0,
                                             S3TestServer::DefaultMinSegmentSize, &error);
    if (!server)
        fail(qPrintable(error));
    const QString root = tmp.filePath("tree");
    for (int i = 0; i < 8; ++i)
        writeFile(root, QStringLiteral("big-%1.bin").arg(i), 24 * MiB);

    QList<Round> refused;
    for (int i = 0; i < rounds; ++i) {
        refused.append(runRound(
            server->port(), root, QStringLiteral("refused-%1").arg(i),
            [&] {
                QElapsedTimer stop;
                stop.start();
                (void)server->stop(); // the endpoint is gone once the process exited
                return stop.elapsed();
            },
            [&] {
                if (!server->restart())
                    fail(qPrintable(server->errorString()));
            }));
    }

    QList<Round> stalled;
    for (int i = 0; i < rounds; ++i) {
        ferry::bench::StallingProxy proxy(server->port());
        stalled.append(runRound(
            proxy.port(), root, QStringLiteral("stalled-%1").arg(i),
            [&] {
                proxy.setStalled(true);
                return qint64(-1);
            },
            [&] { proxy.setStalled(false); }));
    }

    const ConnectivityOptions options;
    const ReactorOptions reactorOptions;
    QJsonObject config;
    config["probe_timeout_ms"] = qint64(options.probeTimeout.count());
    config["failures_to_offline"] = options.failuresToOffline;
    config["confirm_spacing_ms"] = qint64(options.confirmSpacing.count());
    config["retry_initial_ms"] = qint64(options.retryInitial.count());
    config["retry_max_ms"] = qint64(options.retryMax.count());
    config["stall_threshold_ms"] = qint64(reactorOptions.stallThreshold.count());
    config["rounds"] = rounds;
    config["data"] = "8 files x 24 MiB, 5 MiB parts, concurrency 2";
    QJsonObject targets;
    targets["refused_gone_to_cancelled_ms"] = 2000;
    targets["stalled_gone_to_cancelled_ms"] = qint64(options.probeTimeout.count()) + 2000;
    targets["back_to_resync_started_ms"] = 5000;
    QJsonObject out;
    out["benchmark"] = "connectivity";
    out["config"] = config;
    out["targets"] = targets;
    out["refused"] = report(refused, true);
    out["stalled"] = report(stalled, false);
    std::printf("%s\n", QJsonDocument(out).toJson(QJsonDocument::Indented).constData());
    return 0;
}
