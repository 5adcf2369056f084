// The reactions to the connectivity monitor's verdicts, with an injected reachability source
// and probe, on the real sync engine against the shared local S3 server. Two endpoint groups
// on one server: `127.0.0.1:PORT` and `localhost:PORT`.

#include "ReactionRig.h"

using namespace ferry;
using namespace ferry::test;

namespace {
constexpr qint64 MiB = 1024 * 1024;
const QString kLocal = QStringLiteral("127.0.0.1");
const QString kLocalhost = QStringLiteral("localhost");
} // namespace

class TestConnectivityReactions : public QObject {
    Q_OBJECT

    QTemporaryDir m_tmp;
    std::optional<S3TestServer> m_server;
    int m_serial = 0;

    /// A fresh folder of `files` multipart-sized files and a fresh bucket.
    QString makeTree(const QString &bucket, int files, qint64 size = 12 * MiB)
    {
        const QString root = m_tmp.filePath(bucket);
        for (int i = 0; i < files; ++i)
            writeFile(root, QStringLiteral("big-%1.bin").arg(i), size);
        return root;
    }

    QString uniqueBucket(const char *stem)
    {
        // Unique across runs and concurrent instances too: the shared server keeps its buckets
        // for the whole ctest run.
        return QStringLiteral("%1-%2-%3-%4")
            .arg(QLatin1String(stem))
            .arg(QDateTime::currentMSecsSinceEpoch())
            .arg(QCoreApplication::applicationPid())
            .arg(++m_serial);
    }

    void createBucket(ReactionRig &rig, const QString &bucket)
    {
        auto client = rig.harness.client();
        QVERIFY(QCoro::waitFor(client->createBucket(bucket, {})).has_value());
    }

    /// Every byte of `root` is in `bucket` under `prefix`, and no upload Ferry knows of is
    /// left. `noUploadAtAll`: nor any other multipart upload on the server. (Not for a profile
    /// cancelled against a live server: a cancel that lands while CreateMultipartUpload is in
    /// flight loses its answer, and with it the upload id; see the report to the sync
    /// engine's owner. tst_connectivity_recovery checks the outage case with zero uploads.)
    void verifyUploaded(ReactionRig &rig, const QString &root, const QString &bucket,
                        const QString &prefix, bool noUploadAtAll)
    {
        auto client = rig.harness.client();
        QTemporaryDir downloads;
        const auto names = QDir(root).entryList(QDir::Files);
        QVERIFY(!names.isEmpty());
        for (const QString &name : names) {
            auto got = QCoro::waitFor(
                client->getObject(bucket, prefix + name, downloads.filePath(name), {}));
            QVERIFY2(got.has_value(), qPrintable(name));
            QVERIFY(readAll(downloads.filePath(name)) == readAll(QDir(root).filePath(name)));
        }
        const QString profile = prefix.chopped(1);
        QVERIFY(rig.harness.store->knownUploads(profile)->isEmpty());
        auto sweep = QCoro::waitFor(sweepOrphans(rig.harness.services, profile, kDefaultOrphanAge,
                                                 /*dryRun=*/true, CancellationToken()));
        QVERIFY(sweep.has_value());
        QVERIFY2(sweep->aborted.isEmpty(), qPrintable(sweep->aborted.join(", ")));
        if (!noUploadAtAll)
            return;
        auto uploads = QCoro::waitFor(client->listAllMultipartUploads(bucket, prefix, {}));
        QVERIFY(uploads.has_value());
        for (const auto &upload : *uploads)
            qWarning() << "left behind:" << upload.key << upload.uploadId << upload.initiated;
        QCOMPARE(uploads->size(), 0);
    }

    void makeUnreachable(ReactionRig &rig, const QString &group)
    {
        rig.probe->setReachable(group, false, QStringLiteral("connection refused (test)"));
        rig.monitor->suspect(group, QStringLiteral("test"));
    }

private slots:
    void initTestCase()
    {
        m_server = S3TestServer::fromEnvironment();
        QVERIFY2(m_server, qPrintable(S3TestServer::environmentProblem()));
    }

    void disconnectedCancelsEveryEndpointWithReasonOffline()
    {
        UploadGate gate(m_server->port());
        ReactionRig rig(gate.port());
        const QString bucket = uniqueBucket("disc");
        createBucket(rig, bucket);
        const QString root = makeTree(bucket, 4);
        rig.addProfile("near", root, bucket, kLocal, [](Profile &p) { p.concurrency = 1; });
        rig.addProfile("far", root, bucket, kLocalhost, [](Profile &p) { p.concurrency = 1; });
        gate.hold(bucket, "near");
        gate.hold(bucket, "far");
        rig.start();
        QVERIFY(rig.group("near") != rig.group("far"));
        QTRY_VERIFY(rig.monitor->endpointState(rig.group("near")) == EndpointState::Online);
        QTRY_VERIFY(rig.monitor->endpointState(rig.group("far")) == EndpointState::Online);
        const TaskId near = rig.sync("near");
        const TaskId far = rig.sync("far");
        QTRY_VERIFY_WITH_TIMEOUT(gate.holding("near") && gate.holding("far"), 60'000);

        rig.source->setReachability(SystemReachability::Disconnected);
        QCOMPARE(rig.monitor->endpointState(rig.group("near")), EndpointState::Offline);
        QCOMPARE(rig.monitor->endpointState(rig.group("far")), EndpointState::Offline);
        QVERIFY(rig.waitForRun(near));
        QVERIFY(rig.waitForRun(far));
        for (const TaskId run : {near, far}) {
            const auto row = rig.harness.historyOf(run);
            QCOMPARE(row->status, HistoryStatus::Cancelled);
            QCOMPARE(row->reason, CancelReason::Offline);
        }
        // Every task the outage stopped says so in its history row.
        HistoryQuery cancelled;
        cancelled.status = HistoryStatus::Cancelled;
        const auto rows = rig.harness.history(cancelled);
        QVERIFY(rows.size() > 2);
        for (const auto &row : rows)
            QVERIFY2(row.reason == CancelReason::Offline || row.reason == CancelReason::Parent,
                     qPrintable(row.label + ": " + row.reason));
        QTRY_COMPARE(rig.controller->status("near")->activity, ProfileActivity::Offline);
        QVERIFY(!rig.controller->isGroupOnline(rig.group("far")));

        // Back: both were cancelled by the outage, both sync again, to completion.
        QSignalSpy reacted(rig.reactor, &ConnectivityReactor::reacted);
        gate.release();
        rig.source->setReachability(SystemReachability::Online);
        QTRY_VERIFY_WITH_TIMEOUT(rig.runs("near").size() == 2 && rig.runs("far").size() == 2 &&
                                     rig.runs("near").first().status == HistoryStatus::Completed &&
                                     rig.runs("far").first().status == HistoryStatus::Completed,
                                 120'000);
        verifyUploaded(rig, root, bucket, "near/", false);
        verifyUploaded(rig, root, bucket, "far/", false);
        QStringList resynced;
        for (const auto &args : reacted)
            if (args.at(1).toString() == "resync")
                resynced += args.at(2).toStringList();
        resynced.sort();
        QCOMPARE(resynced, QStringList({"far", "near"}));
    }

    void oneFailedProbeDoesNotCancelThreeDo()
    {
        UploadGate gate(m_server->port());
        ReactionRig rig(gate.port());
        const QString bucket = uniqueBucket("debounce");
        createBucket(rig, bucket);
        const QString root = makeTree(bucket, 4);
        rig.addProfile("steady", root, bucket, kLocal, [](Profile &p) { p.concurrency = 1; });
        rig.start();
        const QString group = rig.group("steady");
        QTRY_VERIFY(rig.monitor->endpointState(group) == EndpointState::Online);
        const TaskId run = rig.sync("steady");
        QTRY_VERIFY_WITH_TIMEOUT(rig.uploading("steady"), 60'000);

        // One slow request: one probe fails, the next answers. Nothing is cancelled.
        QSignalSpy finished(rig.monitor.get(), &ConnectivityMonitor::probeFinished);
        rig.probe->setHeld(true);
        makeUnreachable(rig, group);
        QTRY_VERIFY(rig.probe->heldCount(group) >= 1);
        rig.probe->answer(group);
        QTRY_VERIFY(!finished.isEmpty());
        rig.probe->setReachable(group, true);
        QTRY_VERIFY_WITH_TIMEOUT(rig.probe->heldCount(group) >= 1, 5000);
        rig.probe->setHeld(false);
        rig.probe->answer(group);
        QVERIFY(rig.waitForRun(run, 120'000));
        QCOMPARE(rig.harness.historyOf(run)->status, HistoryStatus::Completed);
        QCOMPARE(rig.monitor->endpointState(group), EndpointState::Online);
        verifyUploaded(rig, root, bucket, "steady/", true);

        // Three failed probes: offline, the run is cancelled with reason offline.
        writeFile(root, "big-0.bin", 12 * MiB); // changed: the next run uploads again
        writeFile(root, "big-1.bin", 12 * MiB);
        gate.hold(bucket, "steady");
        const TaskId second = rig.sync("steady");
        QTRY_VERIFY_WITH_TIMEOUT(gate.holding("steady"), 60'000);
        QTRY_VERIFY(rig.controller->status("steady")->bytesDone > 0);
        makeUnreachable(rig, group);
        QTRY_VERIFY(rig.monitor->endpointState(group) == EndpointState::Offline);
        QVERIFY(rig.waitForRun(second));
        QCOMPARE(rig.harness.historyOf(second)->status, HistoryStatus::Cancelled);
        QCOMPARE(rig.harness.historyOf(second)->reason, CancelReason::Offline);
    }

    void offlineEndpointLeavesTheOtherRunningToCompletion()
    {
        UploadGate gate(m_server->port());
        ReactionRig rig(gate.port());
        const QString bucket = uniqueBucket("split");
        createBucket(rig, bucket);
        const QString root = makeTree(bucket, 4);
        const QString goneRoot = makeTree(bucket + "-gone", 4);
        rig.addProfile("gone", goneRoot, bucket, kLocal, [](Profile &p) { p.concurrency = 1; });
        rig.addProfile("stays", root, bucket, kLocalhost, [](Profile &p) { p.concurrency = 1; });
        gate.hold(bucket, "gone");
        rig.start();
        QTRY_VERIFY(rig.monitor->endpointState(rig.group("stays")) == EndpointState::Online);
        const TaskId gone = rig.sync("gone");
        const TaskId stays = rig.sync("stays");
        QTRY_VERIFY_WITH_TIMEOUT(gate.holding("gone") && rig.uploading("stays"), 60'000);
        makeUnreachable(rig, rig.group("gone"));
        QTRY_VERIFY(rig.monitor->endpointState(rig.group("gone")) == EndpointState::Offline);
        QVERIFY(rig.waitForRun(gone));
        QCOMPARE(rig.harness.historyOf(gone)->status, HistoryStatus::Cancelled);
        QCOMPARE(rig.harness.historyOf(gone)->reason, CancelReason::Offline);
        QVERIFY(rig.waitForRun(stays, 120'000));
        QCOMPARE(rig.harness.historyOf(stays)->status, HistoryStatus::Completed);
        QCOMPARE(rig.monitor->endpointState(rig.group("stays")), EndpointState::Online);
        // No task of the endpoint that stayed was cancelled.
        HistoryQuery other;
        other.group = rig.group("stays");
        for (const auto &row : rig.harness.history(other))
            QCOMPARE(row.status, HistoryStatus::Completed);
        verifyUploaded(rig, root, bucket, "stays/", true);
    }

    void onlineAgainResyncsTheCancelledProfileNotTheUserCancelledOne()
    {
        UploadGate gate(m_server->port());
        ReactionRig rig(gate.port());
        const QString bucket = uniqueBucket("back");
        createBucket(rig, bucket);
        const QString root = makeTree(bucket, 4);
        rig.addProfile("auto", root, bucket, kLocal, [](Profile &p) { p.concurrency = 1; });
        rig.addProfile("manual", root, bucket, kLocal, [](Profile &p) { p.concurrency = 1; });
        gate.hold(bucket, "auto");
        gate.hold(bucket, "manual");
        rig.start();
        const QString group = rig.group("auto");
        QTRY_VERIFY(rig.monitor->endpointState(group) == EndpointState::Online);
        const TaskId autoRun = rig.sync("auto");
        const TaskId manualRun = rig.sync("manual");
        QTRY_VERIFY_WITH_TIMEOUT(gate.holding("auto") && gate.holding("manual"), 60'000);
        makeUnreachable(rig, group);
        QTRY_VERIFY(rig.monitor->endpointState(group) == EndpointState::Offline);
        QVERIFY(rig.waitForRun(autoRun));
        QVERIFY(rig.waitForRun(manualRun));
        QCOMPARE(rig.harness.historyOf(autoRun)->reason, CancelReason::Offline);
        QCOMPARE(rig.harness.historyOf(manualRun)->reason, CancelReason::Offline);
        // The controller has seen the outage's cancel end (see the report: a user cancel
        // before that is overwritten by the run's Cancelled event in SyncController).
        QTRY_COMPARE(rig.controller->status("manual")->lastResult,
                     std::optional<HistoryStatus>(HistoryStatus::Cancelled));
        // While it is away, the user cancels one of them by hand: it stays cancelled.
        QVERIFY(waitResult(rig.controller->cancel("manual")).has_value());
        QCOMPARE(rig.controller->status("manual")->lastStopReason, CancelReason::User);

        QSignalSpy reacted(rig.reactor, &ConnectivityReactor::reacted);
        gate.release();
        rig.probe->setReachable(group, true);
        QTRY_VERIFY_WITH_TIMEOUT(rig.monitor->endpointState(group) == EndpointState::Online,
                                 10'000);
        QTRY_VERIFY_WITH_TIMEOUT(rig.runs("auto").size() == 2 &&
                                     rig.runs("auto").first().status == HistoryStatus::Completed,
                                 120'000);
        verifyUploaded(rig, root, bucket, "auto/", false);
        QCOMPARE(rig.runs("manual").size(), 1);
        QCOMPARE(rig.controller->status("manual")->activity, ProfileActivity::Idle);
        QVERIFY(rig.reactor->pendingResyncs().isEmpty());
        QStringList actions;
        for (const auto &args : reacted)
            actions.append(args.at(1).toString() + ":" + args.at(2).toStringList().join(","));
        QVERIFY2(actions.contains("resync:auto"), qPrintable(actions.join(" ")));
        QVERIFY2(actions.contains("retry-cleanups:auto,manual"), qPrintable(actions.join(" ")));
        QVERIFY2(actions.contains("sweep:manual"), qPrintable(actions.join(" ")));
        QVERIFY(!actions.join(" ").contains("resync:manual"));
    }

    void pauseReactionPausesAndResumes()
    {
        UploadGate gate(m_server->port());
        ReactionRig rig(gate.port());
        const QString bucket = uniqueBucket("hold");
        createBucket(rig, bucket);
        const QString root = makeTree(bucket, 4);
        rig.addProfile("holder", root, bucket, kLocal, [](Profile &p) {
            p.concurrency = 1;
            p.onOffline = OfflineReaction::Pause;
        });
        gate.hold(bucket, "holder");
        rig.start();
        const QString group = rig.group("holder");
        QTRY_VERIFY(rig.monitor->endpointState(group) == EndpointState::Online);
        const TaskId run = rig.sync("holder");
        QTRY_VERIFY_WITH_TIMEOUT(gate.holding("holder"), 60'000);
        makeUnreachable(rig, group);
        QTRY_VERIFY(rig.monitor->endpointState(group) == EndpointState::Offline);
        QTRY_COMPARE(rig.pausedGroups(), QStringList({group}));
        QCOMPARE(rig.reactor->pauseClaims(group), QSet<QString>({CancelReason::Offline}));
        QVERIFY(!rig.harness.historyOf(run).has_value()); // paused, not cancelled
        gate.release(); // the network came back: the held part fails and is sent again
        rig.probe->setReachable(group, true);
        QTRY_VERIFY_WITH_TIMEOUT(rig.pausedGroups().isEmpty(), 10'000);
        QVERIFY(rig.waitForRun(run, 120'000));
        QCOMPARE(rig.harness.historyOf(run)->status, HistoryStatus::Completed);
        verifyUploaded(rig, root, bucket, "holder/", true);
    }

    void meteredPausesOnlyTheProfilesThatAskedForIt()
    {
        ReactionRig rig(m_server->port());
        const QString bucket = uniqueBucket("metered");
        createBucket(rig, bucket);
        const QString root = makeTree(bucket, 3);
        rig.addProfile("frugal", root, bucket, kLocal, [](Profile &p) {
            p.concurrency = 1;
            p.pauseOnMetered = true;
        });
        rig.addProfile("eager", root, bucket, kLocalhost, [](Profile &p) { p.concurrency = 1; });
        rig.start();
        const QString frugalGroup = rig.group("frugal");
        QTRY_VERIFY(rig.monitor->endpointState(frugalGroup) == EndpointState::Online);
        rig.source->setMetered(true);
        QTRY_COMPARE(rig.pausedGroups(), QStringList({frugalGroup}));
        const TaskId frugal = rig.sync("frugal");
        const TaskId eager = rig.sync("eager");
        QVERIFY(rig.waitForRun(eager, 120'000));
        QCOMPARE(rig.harness.historyOf(eager)->status, HistoryStatus::Completed);
        QVERIFY(!rig.harness.historyOf(frugal).has_value());
        QCOMPARE(rig.controller->status("frugal")->activity, ProfileActivity::Paused);
        QCOMPARE(rig.controller->status("frugal")->bytesDone, 0);
        rig.source->setMetered(false);
        QVERIFY(rig.waitForRun(frugal, 120'000));
        QCOMPARE(rig.harness.historyOf(frugal)->status, HistoryStatus::Completed);
        QVERIFY(rig.pausedGroups().isEmpty());
        verifyUploaded(rig, root, bucket, "frugal/", true);
    }

    void automaticResumeNeverOverridesTheUsersPause()
    {
        ReactionRig rig(m_server->port());
        const QString bucket = uniqueBucket("userpause");
        createBucket(rig, bucket);
        const QString root = makeTree(bucket, 1, 1 * MiB);
        rig.addProfile("mine", root, bucket, kLocal, [](Profile &p) { p.pauseOnMetered = true; });
        rig.start();
        const QString group = rig.group("mine");
        QTRY_VERIFY(rig.monitor->endpointState(group) == EndpointState::Online);
        rig.source->setMetered(true);
        QTRY_COMPARE(rig.pausedGroups(), QStringList({group}));
        rig.controller->pause("mine"); // the user pauses it too, by hand
        rig.source->setMetered(false);
        QCOMPARE(rig.reactor->pauseClaims(group), QSet<QString>());
        // The user's own pause was paused already before the outage: offline and back.
        makeUnreachable(rig, group);
        QTRY_VERIFY(rig.monitor->endpointState(group) == EndpointState::Offline);
        rig.probe->setReachable(group, true);
        QTRY_VERIFY_WITH_TIMEOUT(rig.monitor->endpointState(group) == EndpointState::Online,
                                 10'000);
        QCOMPARE(rig.pausedGroups(), QStringList({group}));
        QCOMPARE(rig.controller->status("mine")->activity, ProfileActivity::Paused);
        // The user resumes: from then on it is theirs, nothing pauses it but metered.
        rig.controller->resume("mine");
        QTRY_VERIFY(rig.pausedGroups().isEmpty());
    }
};

QTEST_GUILESS_MAIN(TestConnectivityReactions)
#include "tst_connectivity_reactions.moc"
