#pragma once

// A sync harness (scheduler + sync executors on a temporary data directory), the app's
// SyncController, and the connectivity monitor + reactions on top, with an injected
// reachability source and, by default, an injected probe.

#include "ConnectivityTestSupport.h"

#include "app/connectivity/ConnectivityReactor.h"
#include "app/connectivity/ManualEndpointProbe.h"
#include "app/connectivity/ManualReachabilitySource.h"
#include "app/connectivity/S3EndpointProbe.h"
#include "app/connectivity/SyncProbeTargets.h"
#include "app/sync/SyncController.h"
#include "support/FaultProxy.h"
#include "sync/SyncTestSupport.h"

#include <QSignalSpy>

namespace ferry::test {

/// Waits (spinning the event loop: continuations run on this thread) for `future`.
template <typename T> T waitResult(QFuture<T> future, int timeoutMs = 60'000)
{
    if (!QTest::qWaitFor([&] { return future.isFinished(); }, timeoutMs))
        qFatal("future not finished after %d ms", timeoutMs);
    return future.result();
}

/**
 * A proxy in front of the test server that can hold a profile's run in flight: once held, the
 * next second part the profile uploads stalls (never answered) until its task is cancelled or
 * the gate is released. One part only: its upload keeps one of the scheduler's slots, the
 * profile's other files and every other profile go on.
 * A test that takes an endpoint away mid-run needs the run still running at that moment; a
 * fast machine could otherwise finish it first. Point the ReactionRig at `port()`.
 */
class UploadGate {
public:
    explicit UploadGate(quint16 serverPort) : m_proxy(serverPort)
    {
        if (!m_proxy.listen())
            qFatal("upload gate: cannot listen on 127.0.0.1");
    }
    [[nodiscard]] quint16 port() const { return m_proxy.port(); }

    /// Stalls the next part 2 uploaded under `bucket`/`profile`/.
    void hold(const QString &bucket, const QString &profile)
    {
        FaultRule rule;
        rule.method = "PUT";
        rule.path = QRegularExpression(QStringLiteral("^/%1/%2/").arg(bucket, profile));
        rule.queryContains = "partNumber=2";
        rule.times = 1;
        rule.fault = Fault::stall(/*forward=*/false);
        m_rules.insert(profile, m_proxy.addRule(std::move(rule)));
    }
    /// Whether one of `profile`'s parts is stalled now (its run cannot finish by itself).
    [[nodiscard]] bool holding(const QString &profile) const
    {
        return m_rules.contains(profile) && m_proxy.applied(m_rules.value(profile)) > 0;
    }
    /// Lets every later request through and resets the stalled ones (their parts are retried).
    void release()
    {
        m_proxy.clearRules();
        m_rules.clear();
        (void)m_proxy.resetStalled();
    }

private:
    FaultProxy m_proxy;
    QHash<QString, int> m_rules;
};

class ReactionRig {
public:
    /// `realProbe`: probe with S3EndpointProbe (signed HeadBucket) instead of a manual one.
    explicit ReactionRig(quint16 port, bool realProbe = false,
                         ConnectivityOptions options = fastOptions(),
                         ReactorOptions reactorOptions = {})
        : harness(port), m_options(options), m_reactorOptions(reactorOptions),
          m_realProbe(realProbe)
    {
    }
    ~ReactionRig()
    {
        delete reactor;
        monitor.reset();
        controller.reset();
        harness.stop();
    }

    /// Starts the scheduler, the controller (profiles loaded) and the monitor.
    void start(int maxConcurrency = 4)
    {
        harness.start(maxConcurrency);
        controller = std::make_unique<SyncController>(harness.scheduler.get(), harness.services,
                                                      harness.secrets);
        auto loaded = waitResult(controller->reload());
        if (!loaded)
            qFatal("reload: %s", qPrintable(loaded.error()));
        auto ownedSource = std::make_unique<ManualReachabilitySource>();
        source = ownedSource.get();
        targets = std::make_shared<SyncProbeTargets>(*harness.services);
        std::unique_ptr<EndpointProbe> ownedProbe;
        if (m_realProbe) {
            ownedProbe = std::make_unique<S3EndpointProbe>(targets->resolver());
        } else {
            auto manual = std::make_unique<ManualEndpointProbe>();
            probe = manual.get();
            ownedProbe = std::move(manual);
        }
        monitor = std::make_unique<ConnectivityMonitor>(std::move(ownedSource),
                                                        std::move(ownedProbe), m_options, clock);
        reactor =
            new ConnectivityReactor(monitor.get(), controller.get(), targets, m_reactorOptions);
    }

    /// A profile on `host` (127.0.0.1 or localhost: two endpoint groups, one server).
    Profile addProfile(const QString &name, const QString &root, const QString &bucket,
                       const QString &host, const std::function<void(Profile &)> &tweak = {})
    {
        return harness.addProfile(name, root, bucket, name, [&](Profile &p) {
            p.remote.replace(QStringLiteral("127.0.0.1"), host);
            if (tweak)
                tweak(p);
        });
    }
    /// Reloads the controller after profiles were added (the reactor follows).
    void reload()
    {
        auto loaded = waitResult(controller->reload());
        if (!loaded)
            qFatal("reload: %s", qPrintable(loaded.error()));
    }

    QString group(const QString &profile) const { return controller->status(profile)->group; }

    TaskId sync(const QString &name)
    {
        auto run = waitResult(controller->sync(name));
        if (!run)
            qFatal("sync %s: %s", qPrintable(name), qPrintable(run.error()));
        return *run;
    }

    /// The sync-run history rows of `profile`, newest first.
    QList<HistoryRecord> runs(const QString &profile)
    {
        HistoryQuery query;
        query.type = SyncTypes::Run;
        query.dedupKeyPrefix = profileKeyPrefix(profile);
        return harness.history(query);
    }

    bool waitForRun(TaskId run, int timeoutMs = 60'000)
    {
        return QTest::qWaitFor([&] { return harness.historyOf(run).has_value(); }, timeoutMs);
    }

    /// Whether some task of the profile moved bytes (its run is in flight).
    bool uploading(const QString &profile)
    {
        return harness.services->counters(profile)->bytesDone.load() > 0;
    }

    QStringList pausedGroups() { return awaitFuture(harness.scheduler->pausedGroups()); }

    SyncHarness harness;
    std::unique_ptr<SyncController> controller;
    std::shared_ptr<JumpingClock> clock = std::make_shared<JumpingClock>();
    std::shared_ptr<SyncProbeTargets> targets;
    std::unique_ptr<ConnectivityMonitor> monitor;
    ConnectivityReactor *reactor = nullptr;
    ManualReachabilitySource *source = nullptr;
    ManualEndpointProbe *probe = nullptr; ///< Null with the real probe.

private:
    ConnectivityOptions m_options;
    ReactorOptions m_reactorOptions;
    bool m_realProbe;
};

} // namespace ferry::test
