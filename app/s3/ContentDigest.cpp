#include "ContentDigest.h"

#include "FileRangeDevice.h"

#include <QCryptographicHash>

namespace ferry::s3 {

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
