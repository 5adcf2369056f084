// The connectivity monitor driven by an injected reachability source and probe (no network):
// debounce, system disconnection, back-off, wake from sleep; and the real HeadBucket probe
// against a refused port, a stalled socket and the local S3 server.

#include "ConnectivityTestSupport.h"

#include "app/connectivity/ManualEndpointProbe.h"
#include "app/connectivity/ManualReachabilitySource.h"
#include "app/connectivity/S3EndpointProbe.h"
#include "app/connectivity/SystemReachabilitySource.h"
#include "app/s3/S3Client.h"
#include "support/S3TestServer.h"

#include <QCoro/QCoroTask>
#include <QElapsedTimer>
#include <QNetworkInformation>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTest>

using namespace ferry;
using namespace ferry::test;

namespace {
const QString kA = QStringLiteral("s3://a.example:9000");
const QString kB = QStringLiteral("s3://b.example:9000");

/// A monitor with a manual source and probe, owned together.
struct Rig {
    ManualReachabilitySource *source;
    ManualEndpointProbe *probe;
    std::shared_ptr<JumpingClock> clock = std::make_shared<JumpingClock>();
    std::unique_ptr<ConnectivityMonitor> monitor;

    explicit Rig(ConnectivityOptions options = fastOptions())
    {
        auto ownedSource = std::make_unique<ManualReachabilitySource>();
        auto ownedProbe = std::make_unique<ManualEndpointProbe>();
        source = ownedSource.get();
        probe = ownedProbe.get();
        monitor = std::make_unique<ConnectivityMonitor>(std::move(ownedSource),
                                                        std::move(ownedProbe), options, clock);
    }

    bool waitFor(const QString &endpoint, EndpointState state, int ms = 5000)
    {
        return QTest::qWaitFor([&] { return monitor->endpointState(endpoint) == state; }, ms);
    }
};

int countState(const QSignalSpy &spy, EndpointState state)
{
    int n = 0;
    for (const auto &args : spy)
        n += args.at(1).value<EndpointState>() == state;
    return n;
}

ProbeResult probeOnce(S3EndpointProbe &probe, const QString &endpoint, int timeoutMs)
{
    QSignalSpy finished(&probe, &EndpointProbe::probeFinished);
    probe.probe(endpoint, 7, std::chrono::milliseconds(timeoutMs));
    if (!finished.wait(timeoutMs + 5000) || finished.size() != 1)
        return ProbeResult{false, QStringLiteral("no probeFinished"), -1};
    if (finished.at(0).at(1).toULongLong() != 7)
        return ProbeResult{false, QStringLiteral("wrong probe id"), -1};
    return finished.at(0).at(2).value<ProbeResult>();
}

S3EndpointProbe::Resolver resolverFor(quint16 port)
{
    return [port](const QString &) -> std::expected<ProbeTarget, QString> {
        ProbeTarget target;
        target.config.endpoint =
            *s3::Endpoint::fromUrl(QStringLiteral("http://127.0.0.1:%1").arg(port));
        target.config.credentials.accessKeyId = S3TestServer::accessKey();
        target.config.credentials.secretAccessKey = S3TestServer::secretKey();
        target.bucket = QStringLiteral("probe-bucket");
        return target;
    };
}
} // namespace

class TestConnectivityMonitor : public QObject {
    Q_OBJECT

private slots:
    void newEndpointIsProbedAndOnline()
    {
        Rig rig;
        QSignalSpy changed(rig.monitor.get(), &ConnectivityMonitor::endpointStateChanged);
        rig.monitor->setEndpoints({kA, kB});
        QCOMPARE(rig.monitor->endpoints(), QStringList({kA, kB}));
        QVERIFY(rig.waitFor(kA, EndpointState::Online));
        QVERIFY(rig.waitFor(kB, EndpointState::Online));
        QCOMPARE(countState(changed, EndpointState::Online), 2);
        QCOMPARE(rig.probe->probeCount(kA), 1); // one success settles it: no confirming probe
    }

    void oneFailedProbeDoesNotMakeOffline()
    {
        Rig rig;
        rig.monitor->addEndpoint(kA);
        QVERIFY(rig.waitFor(kA, EndpointState::Online));
        QSignalSpy changed(rig.monitor.get(), &ConnectivityMonitor::endpointStateChanged);
        QSignalSpy finished(rig.monitor.get(), &ConnectivityMonitor::probeFinished);
        rig.probe->setHeld(true);
        rig.probe->setReachable(kA, false, "connection refused");
        rig.monitor->suspect(kA, "test");
        QCOMPARE(rig.probe->heldCount(kA), 1);
        QCOMPARE(rig.probe->answer(kA), 1); // one failure
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, 5000);
        QCOMPARE(rig.monitor->endpointState(kA), EndpointState::Online);
        // The confirming probe answers: the endpoint is fine.
        QTRY_VERIFY_WITH_TIMEOUT(rig.probe->heldCount(kA) >= 1, 5000);
        rig.probe->setReachable(kA, true);
        const int answered = rig.probe->answer(kA);
        QTRY_COMPARE_WITH_TIMEOUT(int(finished.size()), 1 + answered, 5000);
        QCOMPARE(rig.monitor->endpointState(kA), EndpointState::Online);
        QCOMPARE(countState(changed, EndpointState::Offline), 0);
        QCOMPARE(finished.at(0).at(1).value<ProbeResult>().reachable, false);
    }

    void threeFailedProbesMakeOffline()
    {
        Rig rig;
        rig.monitor->addEndpoint(kA);
        QVERIFY(rig.waitFor(kA, EndpointState::Online));
        QSignalSpy changed(rig.monitor.get(), &ConnectivityMonitor::endpointStateChanged);
        const int before = rig.probe->probeCount(kA);
        rig.probe->setReachable(kA, false, "connection refused");
        rig.monitor->suspect(kA, "a task failed");
        QVERIFY(rig.waitFor(kA, EndpointState::Offline));
        QCOMPARE(rig.probe->probeCount(kA) - before, 3);
        QCOMPARE(changed.size(), 1);
        QCOMPARE(changed.at(0).at(0).toString(), kA);
        QVERIFY2(changed.at(0).at(2).toString().contains("connection refused"),
                 qPrintable(changed.at(0).at(2).toString()));
        QVERIFY(rig.monitor->endpointReason(kA).contains("3"));
    }

    void stalledProbesOverlap()
    {
        // Held probes never answer by themselves (a stalled endpoint): the check does not
        // wait for one to time out before sending the next.
        Rig rig;
        rig.monitor->addEndpoint(kA);
        QVERIFY(rig.waitFor(kA, EndpointState::Online));
        rig.probe->setHeld(true);
        rig.probe->setReachable(kA, false, "no answer");
        rig.monitor->suspect(kA, "stalled");
        QTRY_COMPARE_WITH_TIMEOUT(rig.probe->heldCount(kA), 3, 5000);
        QCOMPARE(rig.monitor->endpointState(kA), EndpointState::Online);
        QCOMPARE(rig.probe->answer(kA), 3);
        QVERIFY(rig.waitFor(kA, EndpointState::Offline));
    }

    void offlineReprobesWithBackoffAndOneSuccessBringsItBack()
    {
        Rig rig;
        rig.probe->setReachable(kA, false, "connection refused");
        QSignalSpy started(rig.monitor.get(), &ConnectivityMonitor::probeStarted);
        QElapsedTimer clock;
        clock.start();
        QList<qint64> times;
        connect(rig.monitor.get(), &ConnectivityMonitor::probeStarted, this,
                [&](const QString &, const QString &why) {
                    if (why.contains("offline"))
                        times.append(clock.elapsed());
                });
        rig.monitor->addEndpoint(kA);
        QVERIFY(rig.waitFor(kA, EndpointState::Offline));
        QTRY_VERIFY_WITH_TIMEOUT(times.size() >= 5, 10000);
        // Back-off: the gaps grow, up to retryMax.
        const qint64 firstGap = times.at(1) - times.at(0);
        const qint64 lastGap = times.at(4) - times.at(3);
        QVERIFY2(lastGap > firstGap,
                 qPrintable(QStringLiteral("%1 %2").arg(firstGap).arg(lastGap)));
        QVERIFY(lastGap < 150 + 500);
        rig.probe->setReachable(kA, true);
        QVERIFY(rig.waitFor(kA, EndpointState::Online, 5000));
        const int afterOnline = rig.probe->probeCount(kA);
        // Online again: the back-off stops. Watched for two retryMax periods.
        QSignalSpy more(rig.monitor.get(), &ConnectivityMonitor::probeStarted);
        QVERIFY(!more.wait(400));
        QCOMPARE(rig.probe->probeCount(kA), afterOnline);
    }

    void systemDisconnectedMakesEveryEndpointOfflineAtOnce()
    {
        Rig rig;
        rig.monitor->setEndpoints({kA, kB});
        QVERIFY(rig.waitFor(kA, EndpointState::Online));
        QVERIFY(rig.waitFor(kB, EndpointState::Online));
        QSignalSpy changed(rig.monitor.get(), &ConnectivityMonitor::endpointStateChanged);
        QSignalSpy system(rig.monitor.get(), &ConnectivityMonitor::systemStateChanged);
        const int probesBefore = rig.probe->probeCount(kA) + rig.probe->probeCount(kB);
        rig.source->setReachability(SystemReachability::Disconnected);
        // Synchronously, without a probe.
        QCOMPARE(system.size(), 1);
        QCOMPARE(countState(changed, EndpointState::Offline), 2);
        QCOMPARE(rig.monitor->endpointState(kA), EndpointState::Offline);
        QCOMPARE(rig.monitor->endpointState(kB), EndpointState::Offline);
        QVERIFY(!rig.monitor->isSystemOnline());
        // Cut off: nothing is probed (watched for two retryMax periods).
        QSignalSpy started(rig.monitor.get(), &ConnectivityMonitor::probeStarted);
        QVERIFY(!started.wait(300));
        QCOMPARE(rig.probe->probeCount(kA) + rig.probe->probeCount(kB), probesBefore);
        // Back: every endpoint is probed at once, and is online after one success.
        rig.source->setReachability(SystemReachability::Online);
        QVERIFY(rig.waitFor(kA, EndpointState::Online));
        QVERIFY(rig.waitFor(kB, EndpointState::Online));
        QCOMPARE(rig.probe->probeCount(kA) + rig.probe->probeCount(kB), probesBefore + 2);
    }

    void captivePortalIsOfflineUntilSignedIn()
    {
        Rig rig;
        rig.monitor->addEndpoint(kA);
        QVERIFY(rig.waitFor(kA, EndpointState::Online));
        rig.source->setBehindCaptivePortal(true);
        QCOMPARE(rig.monitor->endpointState(kA), EndpointState::Offline);
        QVERIFY(rig.monitor->endpointReason(kA).contains("captive portal"));
        rig.source->setBehindCaptivePortal(false);
        QVERIFY(rig.waitFor(kA, EndpointState::Online));
    }

    void endpointAddedWhileDisconnectedIsOffline()
    {
        Rig rig;
        rig.source->setReachability(SystemReachability::Disconnected);
        rig.monitor->addEndpoint(kA);
        QCOMPARE(rig.monitor->endpointState(kA), EndpointState::Offline);
        QCOMPARE(rig.probe->probeCount(kA), 0);
    }

    void networkChangeRechecksEndpoints()
    {
        Rig rig;
        rig.monitor->addEndpoint(kA);
        QVERIFY(rig.waitFor(kA, EndpointState::Online));
        const int before = rig.probe->probeCount(kA);
        rig.source->setTransportMedium(TransportMedium::WiFi);
        QTRY_COMPARE_WITH_TIMEOUT(rig.probe->probeCount(kA), before + 1, 5000);
        // Metered alone changes no reachability: no probe.
        QSignalSpy system(rig.monitor.get(), &ConnectivityMonitor::systemStateChanged);
        rig.source->setMetered(true);
        QCOMPARE(system.size(), 1);
        QVERIFY(system.at(0).at(0).value<SystemNetworkState>().metered);
        QCOMPARE(rig.probe->probeCount(kA), before + 1); // probes start synchronously
    }

    void wallClockJumpTriggersReprobe()
    {
        Rig rig;
        rig.monitor->setEndpoints({kA, kB});
        QVERIFY(rig.waitFor(kA, EndpointState::Online));
        QVERIFY(rig.waitFor(kB, EndpointState::Online));
        rig.probe->setReachable(kB, false);
        QSignalSpy jumped(rig.monitor.get(), &ConnectivityMonitor::clockJumped);
        QStringList reprobed;
        connect(rig.monitor.get(), &ConnectivityMonitor::probeStarted, this,
                [&](const QString &endpoint, const QString &why) {
                    if (why.contains("clock"))
                        reprobed.append(endpoint);
                });
        rig.clock->jump(3600 * 1000); // an hour asleep
        QVERIFY(jumped.wait(5000));
        QVERIFY(jumped.at(0).at(0).toLongLong() >= 3600 * 1000 - 1000);
        QTRY_VERIFY_WITH_TIMEOUT(reprobed.contains(kA) && reprobed.contains(kB), 5000);
        // B stopped answering while we slept: the re-probe finds out.
        QVERIFY(rig.waitFor(kB, EndpointState::Offline));
        QCOMPARE(rig.monitor->endpointState(kA), EndpointState::Online);
    }

    void noJumpNoReprobe()
    {
        Rig rig;
        rig.monitor->addEndpoint(kA);
        QVERIFY(rig.waitFor(kA, EndpointState::Online));
        QSignalSpy jumped(rig.monitor.get(), &ConnectivityMonitor::clockJumped);
        rig.clock->jump(1000); // below the threshold: an NTP nudge, not a sleep
        rig.monitor->checkClock();
        QCOMPARE(jumped.size(), 0);
        QCOMPARE(rig.probe->probeCount(kA), 1);
    }

    void removedEndpointIsForgotten()
    {
        Rig rig;
        rig.monitor->setEndpoints({kA, kB});
        QVERIFY(rig.waitFor(kB, EndpointState::Online));
        rig.monitor->setEndpoints({kA});
        QCOMPARE(rig.monitor->endpoints(), QStringList({kA}));
        QCOMPARE(rig.monitor->endpointState(kB), EndpointState::Unknown);
    }

    void systemSourceLoadsABackendOrAssumesOnline()
    {
        SystemReachabilitySource source;
        const SystemNetworkState state = source.state();
        qInfo() << "system network here:" << state.backend << toText(state.reachability)
                << "metered" << state.metered << "captive portal" << state.behindCaptivePortal;
        if (source.hasBackend()) {
            QVERIFY2(QNetworkInformation::availableBackends().contains(state.backend),
                     qPrintable(state.backend));
            QCOMPARE(QNetworkInformation::instance()->backendName(), state.backend);
        } else {
            QCOMPARE(state.reachability, SystemReachability::Unknown);
            QVERIFY(!state.isCutOff());
        }
        QCOMPARE(state.metered, state.metered || state.medium == TransportMedium::Cellular);
    }

    void s3ProbeRefusedPortIsUnreachableAtOnce()
    {
        QTcpServer server;
        QVERIFY(server.listen(QHostAddress::LocalHost));
        const quint16 port = server.serverPort();
        server.close(); // nothing listens there now: connections are refused
        S3EndpointProbe probe(resolverFor(port));
        QElapsedTimer timer;
        timer.start();
        const ProbeResult result = probeOnce(probe, "s3://127.0.0.1", 3000);
        QVERIFY2(!result.reachable, qPrintable(result.detail));
        QVERIFY2(result.detail.contains("refused"), qPrintable(result.detail));
        QVERIFY(timer.elapsed() < 2500);
    }

    void s3ProbeStalledEndpointTimesOut()
    {
        QTcpServer server; // accepts connections (the kernel does) and never answers
        QVERIFY(server.listen(QHostAddress::LocalHost));
        S3EndpointProbe probe(resolverFor(server.serverPort()));
        QElapsedTimer timer;
        timer.start();
        const ProbeResult result = probeOnce(probe, "s3://127.0.0.1", 500);
        QVERIFY2(!result.reachable, qPrintable(result.detail));
        QVERIFY(timer.elapsed() >= 450);
        QVERIFY2(timer.elapsed() < 4000, qPrintable(QString::number(timer.elapsed())));
    }

    void s3ProbeOfTheLocalServerIsReachable()
    {
        auto server = S3TestServer::fromEnvironment();
        QVERIFY2(server, qPrintable(S3TestServer::environmentProblem()));
        S3EndpointProbe probe(resolverFor(server->port()));
        // The bucket does not exist: the 404 still proves the endpoint answers.
        const ProbeResult missing = probeOnce(probe, "s3://127.0.0.1", 3000);
        QVERIFY2(missing.reachable, qPrintable(missing.detail));
        QVERIFY2(missing.detail.contains("NoSuchBucket"), qPrintable(missing.detail));
    }

    void s3ProbeWithoutTargetDoesNotCallTheEndpointOffline()
    {
        S3EndpointProbe probe([](const QString &) -> std::expected<ProbeTarget, QString> {
            return std::unexpected(QStringLiteral("no secret"));
        });
        const ProbeResult result = probeOnce(probe, "s3://nowhere", 1000);
        QVERIFY(result.reachable);
        QVERIFY(result.detail.contains("no secret"));
    }
};

QTEST_GUILESS_MAIN(TestConnectivityMonitor)
#include "tst_connectivity_monitor.moc"
