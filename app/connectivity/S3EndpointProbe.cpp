#include "S3EndpointProbe.h"

#include "ConnectivityLogging.h"

#include "app/s3/S3Client.h"

#include <QElapsedTimer>
#include <QHash>
#include <QTimer>

#include <QCoro/QCoroTask>

namespace ferry {

namespace {

/// Whether an S3 error still proves the endpoint answered: any S3 answer does; no
/// connection, a timeout or an answer that is not S3 (a captive portal's page) does not.
bool provesReachable(const s3::S3Error &error)
{
    switch (error.kind()) {
    case s3::S3Error::Kind::EndpointUnreachable:
    case s3::S3Error::Kind::InvalidResponse:
    case s3::S3Error::Kind::Cancelled:
        return false;
    default:
        return true;
    }
}

} // namespace

/// Runs the probes on the probe's thread, one S3 client per endpoint and credentials.
class S3EndpointProbe::Worker : public QObject {
public:
    explicit Worker(Resolver resolve) : m_resolve(std::move(resolve)) {}

    /// Probes and calls `done` on this thread when the answer is known.
    void start(QString endpoint, quint64 id, std::chrono::milliseconds timeout,
               std::function<void(ProbeResult)> done)
    {
        run(std::move(endpoint), id, timeout, std::move(done));
    }

private:
    QCoro::Task<void> run(QString endpoint, quint64 id, std::chrono::milliseconds timeout,
                          std::function<void(ProbeResult)> done)
    {
        QElapsedTimer elapsed;
        elapsed.start();
        ProbeResult result;
        auto target = m_resolve(endpoint);
        if (!target) {
            // A probe cannot be signed (no profile, no secret): do not call the endpoint
            // offline for that; the sync itself reports the configuration error.
            result.reachable = true;
            result.detail = S3EndpointProbe::tr("not probed (%1)").arg(target.error());
            done(result);
            co_return;
        }
        s3::S3Client &client = clientFor(*target, timeout);
        CancellationSource deadline;
        // The transfer timeout catches a stalled answer; this also bounds a stuck connect.
        QTimer::singleShot(timeout + std::chrono::milliseconds(250), this,
                           [deadline]() mutable { deadline.cancel(); });
        auto answer = co_await client.headBucket(target->bucket, deadline.token());
        result.elapsedMs = elapsed.elapsed();
        if (answer) {
            result.reachable = true;
            result.detail = S3EndpointProbe::tr("answered in %1 ms").arg(result.elapsedMs);
        } else if (answer.error().isCancelled()) {
            result.detail = S3EndpointProbe::tr("no answer within %1 ms").arg(timeout.count());
        } else {
            result.reachable = provesReachable(answer.error());
            result.detail = result.reachable ? S3EndpointProbe::tr("answered (%1) in %2 ms")
                                                   .arg(answer.error().code())
                                                   .arg(result.elapsedMs)
                                             : answer.error().message();
        }
        qCDebug(lcConnectivity) << "probe" << id << endpoint << result.reachable << result.detail;
        done(result);
    }

    s3::S3Client &clientFor(const ProbeTarget &target, std::chrono::milliseconds timeout)
    {
        const QString key = target.config.endpoint.toString() + QLatin1Char('\n') +
                            target.config.credentials.accessKeyId + QLatin1Char('\n') +
                            QString::number(timeout.count());
        auto &slot = m_clients[key];
        if (!slot) {
            s3::ClientConfig config = target.config;
            config.transferTimeout = timeout;
            slot = std::make_unique<s3::S3Client>(config);
        }
        return *slot;
    }

    Resolver m_resolve;
    // Kept until the thread ends: a client must outlive the requests it started.
    QHash<QString, std::shared_ptr<s3::S3Client>> m_clients;
};

S3EndpointProbe::S3EndpointProbe(Resolver resolve, QObject *parent)
    : EndpointProbe(parent), m_worker(new Worker(std::move(resolve)))
{
    m_thread.setObjectName(QStringLiteral("ferry-probe"));
    m_worker->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
    m_thread.start();
}

S3EndpointProbe::~S3EndpointProbe()
{
    m_thread.quit();
    m_thread.wait();
}

void S3EndpointProbe::probe(const QString &endpoint, quint64 probeId,
                            std::chrono::milliseconds timeout)
{
    // The destructor joins the worker's thread, so `owner` outlives every `done` call;
    // events posted to it while it is being destroyed are dropped by Qt.
    S3EndpointProbe *owner = this;
    auto done = [owner, endpoint, probeId](ProbeResult result) {
        QMetaObject::invokeMethod(
            owner,
            [owner, endpoint, probeId, result] {
                emit owner->probeFinished(endpoint, probeId, result);
            },
            Qt::QueuedConnection);
    };
    QMetaObject::invokeMethod(
        m_worker,
        [worker = m_worker, endpoint, probeId, timeout, done] {
            worker->start(endpoint, probeId, timeout, done);
        },
        Qt::QueuedConnection);
}

} // namespace ferry
