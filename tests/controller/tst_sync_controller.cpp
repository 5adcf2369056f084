// The SyncController against the real local S3 server: profiles saved with their secret, runs
// started and cancelled per profile, activity followed from the scheduler's signals.

#include "app/sync/SyncController.h"
#include "sync/SyncTestSupport.h"

#include <QSignalSpy>

using namespace ferry;
using namespace ferry::test;

namespace {
constexpr qint64 MiB = 1024 * 1024;

/// The controller continues its futures on this thread: wait with the event loop running.
template <typename T> T settle(QFuture<T> future)
{
    if (!QTest::qWaitFor([&] { return future.isFinished(); }, 120'000))
        qFatal("a controller future never finished");
    return future.result();
}
} // namespace

class TestSyncController : public QObject {
    Q_OBJECT

    std::optional<S3TestServer> m_server;
    QTemporaryDir m_tmp;

    void createBucket(SyncHarness &h, const QString &bucket)
    {
        auto created = QCoro::waitFor(h.client()->createBucket(bucket, {}));
        QVERIFY2(created.has_value(), qPrintable(created ? QString() : created.error().message()));
    }

    /// A profile as the window's dialog would build it (not yet stored).
    Profile profile(SyncHarness &h, const QString &name, const QString &root, const QString &bucket,
                    const QString &host = QStringLiteral("127.0.0.1"))
    {
        Profile p;
        p.name = name;
        p.localFolder = root;
        p.remote =
            QStringLiteral("http://%1:%2/%3/%4").arg(host).arg(m_server->port()).arg(bucket, name);
        p.accessKeyId = S3TestServer::accessKey();
        p.partSize = 5 * MiB;
        p.multipartThreshold = 5 * MiB;
        Q_UNUSED(h);
        return p;
    }

    void save(SyncController &controller, const Profile &p)
    {
        auto saved = settle(controller.saveProfile(p, S3TestServer::secretKey(), false));
        QVERIFY2(saved.has_value(), qPrintable(saved ? QString() : saved.error().message));
        QTRY_VERIFY(controller.status(p.name).has_value());
    }

    static HistoryStatus waitForRun(QSignalSpy &finished, const QString &name)
    {
        for (;;) {
            for (const auto &args : finished)
                if (args.at(0).toString() == name)
                    return args.at(1).value<HistoryStatus>();
            if (!finished.wait(60'000))
                qFatal("no runFinished for %s", qPrintable(name));
        }
    }

private slots:
    void initTestCase()
    {
        m_server = S3TestServer::fromEnvironment();
        QVERIFY2(m_server.has_value(), qPrintable(S3TestServer::environmentProblem()));
    }

    void savesValidatesReplacesAndRemovesProfiles()
    {
        SyncHarness h(m_server->port());
        h.start();
        SyncController controller(h.scheduler.get(), h.services, h.secrets);
        QVERIFY(settle(controller.reload()).has_value());
        QVERIFY(controller.profileNames().isEmpty());

        const QString root = m_tmp.filePath("profiles");
        QDir().mkpath(root);
        Profile bad = profile(h, "bad", root, "bucket");
        bad.partSize = 1024;
        auto refused = settle(controller.saveProfile(bad, {}, false));
        QVERIFY(!refused.has_value());
        QCOMPARE(refused.error().field, ProfileError::Field::PartSize);

        QSignalSpy changed(&controller, &SyncController::profilesChanged);
        Profile p = profile(h, "docs", root, "bucket");
        save(controller, p);
        QVERIFY(changed.count() >= 1);
        QCOMPARE(controller.profileNames(), QStringList{"docs"});
        QCOMPARE(*h.secrets->load("docs"), std::optional<QString>(S3TestServer::secretKey()));
        QCOMPARE(controller.status("docs")->group,
                 QStringLiteral("s3://127.0.0.1:%1").arg(m_server->port()));
        QCOMPARE(controller.status("docs")->activity, ProfileActivity::Idle);

        auto taken = settle(controller.saveProfile(p, {}, false));
        QVERIFY(!taken.has_value());
        QCOMPARE(taken.error().field, ProfileError::Field::Name);

        p.concurrency = 7;
        QVERIFY(settle(controller.saveProfile(p, {}, true)).has_value());
        QTRY_COMPARE(controller.status("docs")->profile.concurrency, 7);
        QCOMPARE(h.store->profile("docs")->value().concurrency, 7);

        QVERIFY(settle(controller.removeProfile("docs")).has_value());
        QTRY_VERIFY(controller.profileNames().isEmpty());
        QVERIFY(!h.secrets->load("docs")->has_value());
        QVERIFY(!settle(controller.removeProfile("docs")).has_value());
    }

    void syncRunsToCompletionAndIsRefusedTwice()
    {
        SyncHarness h(m_server->port());
        createBucket(h, "ctl-sync");
        const QString root = m_tmp.filePath("sync");
        for (int i = 0; i < 10; ++i)
            writeFile(root, QStringLiteral("f-%1.txt").arg(i), 0, QByteArray::number(i));
        writeFile(root, QStringLiteral("big.bin"), 11 * MiB);
        h.start();
        SyncController controller(h.scheduler.get(), h.services, h.secrets);
        save(controller, profile(h, "docs", root, "ctl-sync"));

        QSignalSpy finished(&controller, &SyncController::runFinished);
        auto started = controller.sync("docs");
        QCOMPARE(controller.status("docs")->activity, ProfileActivity::Starting);
        auto again = settle(controller.sync("docs"));
        QVERIFY(!again.has_value());
        QVERIFY(again.error().contains("already syncing"));
        auto id = settle(started);
        QVERIFY2(id.has_value(), qPrintable(id ? QString() : id.error()));
        QCOMPARE(waitForRun(finished, "docs"), HistoryStatus::Completed);
        const auto status = *controller.status("docs");
        QCOMPARE(status.activity, ProfileActivity::Idle);
        QVERIFY(!status.running);
        QCOMPARE(status.runId, *id);
        QCOMPARE(status.lastResult, std::optional(HistoryStatus::Completed));
        QCOMPARE(status.filesDone, qint64(11));
        QCOMPARE(status.bytesDone, status.bytesTotal);

        // A second controller on the same data sees the last result from history.
        SyncController later(h.scheduler.get(), h.services, h.secrets);
        QVERIFY(settle(later.reload()).has_value());
        QCOMPARE(later.status("docs")->lastResult, std::optional(HistoryStatus::Completed));
    }

    void cancelStopsOnlyThatProfile()
    {
        SyncHarness h(m_server->port());
        createBucket(h, "ctl-two");
        const QString rootA = m_tmp.filePath("ctl-a");
        const QString rootB = m_tmp.filePath("ctl-b");
        for (int i = 0; i < 4; ++i)
            writeFile(rootA, QStringLiteral("a-%1.bin").arg(i), 12 * MiB);
        for (int i = 0; i < 10; ++i)
            writeFile(rootB, QStringLiteral("b-%1.txt").arg(i), 0, QByteArray::number(i));
        h.start(3);
        SyncController controller(h.scheduler.get(), h.services, h.secrets);
        save(controller, profile(h, "alpha", rootA, "ctl-two"));
        save(controller, profile(h, "beta", rootB, "ctl-two"));
        QSignalSpy finished(&controller, &SyncController::runFinished);
        QVERIFY(settle(controller.sync("alpha")).has_value());
        QVERIFY(settle(controller.sync("beta")).has_value());
        QTRY_VERIFY_WITH_TIMEOUT(controller.status("alpha")->bytesDone > 0, 60'000);
        QVERIFY(controller.status("alpha")->running);
        auto cancelled = settle(controller.cancel("alpha"));
        QVERIFY(cancelled.has_value());
        QVERIFY(*cancelled > 0);
        QCOMPARE(waitForRun(finished, "alpha"), HistoryStatus::Cancelled);
        QCOMPARE(waitForRun(finished, "beta"), HistoryStatus::Completed);
        QCOMPARE(controller.status("alpha")->lastStopReason, CancelReason::User);
        QCOMPARE(controller.status("alpha")->activity, ProfileActivity::Idle);
        QCOMPARE(controller.status("beta")->filesDone, qint64(10));
    }

    void offlineAndPausedShowInActivity()
    {
        SyncHarness h(m_server->port());
        const QString root = m_tmp.filePath("ctl-state");
        writeFile(root, QStringLiteral("one.txt"), 0, "1");
        h.start();
        SyncController controller(h.scheduler.get(), h.services, h.secrets);
        save(controller, profile(h, "near", root, "ctl-state"));
        save(controller, profile(h, "far", root, "ctl-state", QStringLiteral("localhost")));
        const QString group = controller.status("near")->group;
        QCOMPARE(controller.profilesOnGroup(group), QStringList{"near"});
        QCOMPARE(controller.groups().size(), 2);

        QSignalSpy changed(&controller, &SyncController::profileChanged);
        controller.setGroupOnline(group, false);
        QCOMPARE(changed.count(), 1);
        QCOMPARE(controller.status("near")->activity, ProfileActivity::Offline);
        QCOMPARE(controller.status("far")->activity, ProfileActivity::Idle);
        controller.setGroupOnline(group, false);
        QCOMPARE(changed.count(), 1);
        controller.setGroupOnline(group, true);
        QCOMPARE(controller.status("near")->activity, ProfileActivity::Idle);

        controller.pause("far", CancelReason::Offline);
        QTRY_COMPARE(controller.status("far")->activity, ProfileActivity::Paused);
        QVERIFY(!controller.status("far")->running); // paused, with nothing to cancel
        QCOMPARE(controller.status("far")->lastStopReason, CancelReason::Offline);
        QCOMPARE(controller.status("near")->activity, ProfileActivity::Idle);
        controller.resume("far");
        QTRY_COMPARE(controller.status("far")->activity, ProfileActivity::Idle);
    }

    void usersCancelDuringAnOutageStaysTheUsers()
    {
        SyncHarness h(m_server->port());
        createBucket(h, "ctl-outage");
        const QString root = m_tmp.filePath("ctl-outage");
        for (int i = 0; i < 3; ++i)
            writeFile(root, QStringLiteral("big-%1.bin").arg(i), 11 * MiB);
        h.start(3);
        SyncController controller(h.scheduler.get(), h.services, h.secrets);
        save(controller, profile(h, "trip", root, "ctl-outage"));
        QSignalSpy finished(&controller, &SyncController::runFinished);
        QVERIFY(settle(controller.sync("trip")).has_value());
        QTRY_VERIFY_WITH_TIMEOUT(controller.status("trip")->bytesDone > 0, 60'000);
        // The outage cancels the endpoint; the user then cancels the profile as well.
        auto outage = settle(
            h.scheduler->cancelGroup(controller.status("trip")->group, CancelReason::Offline));
        QVERIFY(outage.has_value());
        QSignalSpy changed(&controller, &SyncController::profileChanged);
        QVERIFY(settle(controller.cancel("trip")).has_value());
        QVERIFY(changed.count() >= 1);
        QCOMPARE(waitForRun(finished, "trip"), HistoryStatus::Cancelled);
        QCOMPARE(controller.status("trip")->lastStopReason, CancelReason::User);
    }

    void cancelWhileStartingNeverRuns()
    {
        SyncHarness h(m_server->port());
        createBucket(h, "ctl-early");
        const QString root = m_tmp.filePath("ctl-early");
        writeFile(root, QStringLiteral("one.txt"), 0, "1");
        h.start();
        SyncController controller(h.scheduler.get(), h.services, h.secrets);
        save(controller, profile(h, "early", root, "ctl-early"));
        auto started = controller.sync("early");
        QVERIFY(settle(controller.cancel("early")).has_value());
        const auto id = settle(started);
        if (id) {
            // The submission won the race: the run is then cancelled, never completed.
            QTRY_VERIFY_WITH_TIMEOUT(h.historyOf(*id).has_value(), 30'000);
            QCOMPARE(h.historyOf(*id)->status, HistoryStatus::Cancelled);
        } else {
            QVERIFY(id.error().contains("Cancelled before"));
        }
        QTRY_COMPARE(controller.status("early")->activity, ProfileActivity::Idle);
    }
};

QTEST_GUILESS_MAIN(TestSyncController)
#include "tst_sync_controller.moc"
