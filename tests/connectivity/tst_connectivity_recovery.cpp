// The whole loop against a real endpoint that goes away: a local S3 server of the suite's
// own is stopped mid-sync (multipart uploads in flight); the monitor (real HeadBucket
// probes) declares the endpoint offline, its group is cancelled and the aborts wait; the
// server comes back on the same port and data: the aborts succeed, the sweep finds nothing
// left, the profile syncs again to completion, every byte identical, no upload left.

#include "ReactionRig.h"

#include <QCoro/QCoroTask>

#include <atomic>

using namespace ferry;
using namespace ferry::test;

namespace {
constexpr qint64 MiB = 1024 * 1024;

ConnectivityOptions recoveryOptions()
{
    ConnectivityOptions options = fastOptions();
    options.probeTimeout = std::chrono::milliseconds(1000);
    options.confirmSpacing = std::chrono::milliseconds(100);
    options.retryInitial = std::chrono::milliseconds(200);
    options.retryMax = std::chrono::milliseconds(1000);
    return options;
}
} // namespace

class TestConnectivityRecovery : public QObject {
    Q_OBJECT

    QTemporaryDir m_tmp;
    std::unique_ptr<S3TestServerProcess> m_server;

    int multipartUploads(ReactionRig &rig, const QString &bucket)
    {
        auto client = rig.harness.client();
        auto uploads = QCoro::waitFor(client->listAllMultipartUploads(bucket, "", {}));
        return uploads ? int(uploads->size()) : -1;
    }

private slots:
    void initTestCase()
    {
        QString error;
        m_server = S3TestServerProcess::start(m_tmp.filePath("server"), 0,
                                              S3TestServer::DefaultMinSegmentSize, &error);
        QVERIFY2(m_server, qPrintable(error));
    }

    void endpointGoneMidSyncThenBack()
    {
        ReactionRig rig(m_server->port(), /*realProbe=*/true, recoveryOptions());
        const QString root = m_tmp.filePath("tree");
        for (int i = 0; i < 6; ++i)
            writeFile(root, QStringLiteral("big-%1.bin").arg(i), 12 * MiB);
        writeFile(root, "small.txt", 0, "a small file\n");
        {
            auto client = rig.harness.client();
            QVERIFY(QCoro::waitFor(client->createBucket("recovery", {})).has_value());
        }
        rig.harness.addProfile("rec", root, "recovery", "r/",
                               [](Profile &p) { p.concurrency = 2; });
        rig.start(3);
        const QString group = rig.group("rec");
        QTRY_VERIFY_WITH_TIMEOUT(rig.monitor->endpointState(group) == EndpointState::Online,
                                 10'000);

        std::atomic<bool> cleanupRetrying{false};
        connect(rig.harness.scheduler.get(), &Scheduler::eventsBatch, this,
                [&cleanupRetrying](const TaskEvents &events) {
                    for (const auto &event : events)
                        if (event.kind == TaskEvent::Kind::Cancelling &&
                            event.detail.startsWith("clean-up will retry"))
                            cleanupRetrying = true;
                });
        QSignalSpy states(rig.monitor.get(), &ConnectivityMonitor::endpointStateChanged);
        const TaskId run = rig.sync("rec");
        // Multipart uploads in flight on the server.
        QTRY_VERIFY_WITH_TIMEOUT(rig.uploading("rec") && multipartUploads(rig, "recovery") > 0,
                                 60'000);

        (void)m_server->stop(); // exits non-zero when requests were in flight
        QVERIFY(!m_server->isRunning());
        // The monitor notices by itself (the tasks' errors, then its probes).
        QTRY_VERIFY_WITH_TIMEOUT(rig.monitor->endpointState(group) == EndpointState::Offline,
                                 30'000);
        QVERIFY2(rig.monitor->endpointReason(group).contains("refused"),
                 qPrintable(rig.monitor->endpointReason(group)));
        // The group is cancelled; the aborts cannot reach the endpoint and wait.
        QTRY_VERIFY_WITH_TIMEOUT(cleanupRetrying.load(), 60'000);
        QVERIFY(awaitFuture(rig.harness.scheduler->stats())->cancelling > 0);
        QVERIFY(!rig.harness.historyOf(run).has_value()); // its clean-up is not over
        QCOMPARE(rig.controller->status("rec")->activity, ProfileActivity::Cancelling);

        // Back on the same port and data.
        QVERIFY2(m_server->restart(), qPrintable(m_server->errorString()));
        QTRY_VERIFY_WITH_TIMEOUT(rig.monitor->endpointState(group) == EndpointState::Online,
                                 30'000);
        QVERIFY(rig.waitForRun(run, 60'000));
        QCOMPARE(rig.harness.historyOf(run)->status, HistoryStatus::Cancelled);
        QCOMPARE(rig.harness.historyOf(run)->reason, CancelReason::Offline);
        HistoryQuery multipart;
        multipart.type = SyncTypes::UploadMultipart;
        int aborted = 0;
        for (const auto &row : rig.harness.history(multipart)) {
            if (row.status != HistoryStatus::Cancelled)
                continue;
            QCOMPARE(row.reason, CancelReason::Offline);
            QVERIFY2(row.cleanup != CleanupOutcome::Failed &&
                         row.cleanup != CleanupOutcome::TimedOut,
                     qPrintable(row.label + ": " + row.error));
            aborted += row.cleanup == CleanupOutcome::Ok;
        }
        QVERIFY(aborted > 0);

        // The profile syncs again by itself, to completion.
        QTRY_VERIFY_WITH_TIMEOUT(rig.runs("rec").size() == 2 &&
                                     rig.runs("rec").first().status == HistoryStatus::Completed,
                                 120'000);
        QCOMPARE(states.size(), 2); // offline, then online: no flapping

        // The sweep finds nothing left; every byte is there; no upload, no stray segment.
        auto sweep = QCoro::waitFor(sweepOrphans(rig.harness.services, "rec", kDefaultOrphanAge,
                                                 /*dryRun=*/true, CancellationToken()));
        QVERIFY(sweep.has_value());
        QVERIFY2(sweep->aborted.isEmpty(), qPrintable(sweep->aborted.join(", ")));
        QVERIFY(rig.harness.store->knownUploads("rec")->isEmpty());
        QCOMPARE(multipartUploads(rig, "recovery"), 0);
        auto client = rig.harness.client();
        QTemporaryDir downloads;
        const QStringList names = QDir(root).entryList(QDir::Files);
        QCOMPARE(names.size(), 7);
        for (const QString &name : names) {
            auto got = QCoro::waitFor(
                client->getObject("recovery", "r/" + name, downloads.filePath(name), {}));
            QVERIFY2(got.has_value(), qPrintable(name));
            QVERIFY2(readAll(downloads.filePath(name)) == readAll(QDir(root).filePath(name)),
                     qPrintable(name));
        }
        auto objects = QCoro::waitFor(client->listAllObjects("recovery", "", {}));
        QVERIFY(objects.has_value());
        const auto segments = m_server->server().listSegments("recovery");
        QVERIFY2(segments.ok(), qPrintable(segments.error));
        for (const auto &segment : segments.names) {
            bool owned = false;
            for (const auto &object : *objects)
                owned = owned || segment.startsWith(object.key + '/');
            QVERIFY2(owned, qPrintable(segment));
        }
    }
};

QTEST_GUILESS_MAIN(TestConnectivityRecovery)
#include "tst_connectivity_recovery.moc"
