#include "ContentDigest.h"

#include "FileRangeDevice.h"

#include <QCryptographicHash>
#include <QFuture>
#include <QPromise>
#include <QThread>
#include <QThreadPool>

#include <QCoro/QCoroFuture>

#include <memory>

namespace ferry::s3 {

namespace {

QThreadPool &digestPool()
{
    static QThreadPool pool;
    static const bool configured = [] {
        pool.setMaxThreadCount(qMax(2, QThread::idealThreadCount()));
        pool.setExpiryTimeout(30'000);
        return true;
    }();
    Q_UNUSED(configured);
    return pool;
}

} // namespace

std::expected<ContentDigest, DigestError> digestFileRange(const QString &path, qint64 offset,
                                                          qint64 length, bool withSha256,
                                                          const CancellationToken &token)
{
    FileRangeDevice device(path, offset, length);
    if (!device.open(QIODevice::ReadOnly))
        return std::unexpected(DigestError{false, device.errorString()});

    QCryptographicHash md5(QCryptographicHash::Md5);
    QCryptographicHash sha256(QCryptographicHash::Sha256);
    QByteArray buffer(1 << 20, Qt::Uninitialized);
    qint64 total = 0;
    while (total < length) {
        if (token.isCancelled())
            return std::unexpected(DigestError{true, {}});
        const qint64 read = device.read(buffer.data(), buffer.size());
        if (read <= 0)
            return std::unexpected(DigestError{false, device.errorString()});
        const QByteArrayView chunk(buffer.constData(), read);
        md5.addData(chunk);
        if (withSha256)
            sha256.addData(chunk);
        total += read;
    }
    ContentDigest digest;
    digest.md5 = md5.result();
    if (withSha256)
        digest.sha256 = sha256.result();
    digest.size = total;
    return digest;
}

ContentDigest digestBytes(QByteArrayView data, bool withSha256)
{
    ContentDigest digest;
    digest.md5 = QCryptographicHash::hash(data, QCryptographicHash::Md5);
    if (withSha256)
        digest.sha256 = QCryptographicHash::hash(data, QCryptographicHash::Sha256);
    digest.size = data.size();
    return digest;
}

} // namespace ferry::s3

namespace ferry::s3 {

QCoro::Task<std::expected<ContentDigest, DigestError>>
digestFileRangeInBackground(QString path, qint64 offset, qint64 length, bool withSha256,
                            CancellationToken token)
{
    using Result = std::expected<ContentDigest, DigestError>;
    auto promise = std::make_shared<QPromise<Result>>();
    QFuture<Result> future = promise->future();
    promise->start();
    digestPool().start([promise, path, offset, length, withSha256, token] {
        promise->addResult(digestFileRange(path, offset, length, withSha256, token));
        promise->finish();
    });
    co_return co_await future;
}

} // namespace ferry::s3
