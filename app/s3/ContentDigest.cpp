#include "ContentDigest.h"

#include "BackgroundPool.h"
#include "FileRangeDevice.h"

#include <QFuture>
#include <QObject>
#include <QPromise>

#include <QCoro/QCoroFuture>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <memory>

namespace ferry::s3 {

namespace {

// OpenSSL initializes itself (and loads its configuration) on first use, else on a worker
// thread that keeps the error state the loading leaves behind until the process ends (a leak
// LeakSanitizer reports). Initialized at start-up, that state belongs to the main thread and
// OpenSSL's exit handler frees it.
[[maybe_unused]] const bool openSslInitialized =
    OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, nullptr) == 1;

// An OpenSSL EVP digest (MD5 or SHA-256): about twice QCryptographicHash's MD5 throughput.
class Hasher {
public:
    explicit Hasher(const EVP_MD *type) : m_context(EVP_MD_CTX_new())
    {
        if (!m_context || EVP_DigestInit_ex(m_context, type, nullptr) != 1)
            qFatal("OpenSSL cannot initialize a digest");
    }
    ~Hasher() { EVP_MD_CTX_free(m_context); }
    Hasher(const Hasher &) = delete;
    Hasher &operator=(const Hasher &) = delete;

    void addData(QByteArrayView data)
    {
        if (EVP_DigestUpdate(m_context, data.data(), size_t(data.size())) != 1)
            qFatal("OpenSSL cannot update a digest");
    }
    [[nodiscard]] QByteArray result()
    {
        QByteArray digest(EVP_MAX_MD_SIZE, Qt::Uninitialized);
        unsigned int size = 0;
        if (EVP_DigestFinal_ex(m_context, reinterpret_cast<unsigned char *>(digest.data()),
                               &size) != 1)
            qFatal("OpenSSL cannot finish a digest");
        digest.truncate(qsizetype(size));
        return digest;
    }

private:
    EVP_MD_CTX *m_context;
};

} // namespace

std::expected<ContentDigest, DigestError> digestFileRange(const QString &path, qint64 offset,
                                                          qint64 length, bool withSha256,
                                                          const CancellationToken &token,
                                                          qint64 keepUpTo)
{
    FileRangeDevice device(path, offset, length);
    if (!device.open(QIODevice::ReadOnly))
        return std::unexpected(DigestError{false, device.errorString()});
    if (length > 0 && length <= keepUpTo) {
        if (token.isCancelled())
            return std::unexpected(DigestError{true, {}});
        QByteArray content(length, Qt::Uninitialized);
        for (qint64 total = 0; total < length;) {
            const qint64 read = device.read(content.data() + total, length - total);
            if (read <= 0)
                return std::unexpected(DigestError{false, device.errorString()});
            total += read;
        }
        ContentDigest digest = digestBytes(content, withSha256);
        digest.content = std::move(content);
        return digest;
    }

    Hasher md5(EVP_md5());
    Hasher sha256(EVP_sha256());
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
    Hasher md5(EVP_md5());
    md5.addData(data);
    digest.md5 = md5.result();
    if (withSha256) {
        Hasher sha256(EVP_sha256());
        sha256.addData(data);
        digest.sha256 = sha256.result();
    }
    digest.size = data.size();
    return digest;
}

} // namespace ferry::s3

namespace ferry::s3 {

QCoro::Task<std::expected<ContentDigest, DigestError>>
digestFileRangeInBackground(QString path, qint64 offset, qint64 length, bool withSha256,
                            CancellationToken token, qint64 keepUpTo)
{
    using Result = std::expected<ContentDigest, DigestError>;
    auto promise = std::make_shared<QPromise<Result>>();
    QFuture<Result> future = promise->future();
    promise->start();
    BackgroundPool &pool = BackgroundPool::digests();
    const BackgroundPool::Ticket ticket =
        pool.start([promise, path, offset, length, withSha256, token, keepUpTo] {
            promise->addResult(digestFileRange(path, offset, length, withSha256, token, keepUpTo));
            promise->finish();
        });
    // Cancelled while it waits for a thread (behind other uploads' hashes), the job is taken
    // back and the answer comes at once. A running job is awaited to its end (it stops at its
    // next check): one that outlived its caller could still be hashing while the process exits.
    QObject callbacks; // on this thread: the token's callback runs here
    const CancellationRegistration registration =
        token.onCancelled(&callbacks, [&pool, ticket, promise] {
            if (pool.withdraw(ticket)) {
                promise->addResult(std::unexpected(DigestError{true, {}}));
                promise->finish();
            }
        });
    co_return co_await future;
}

} // namespace ferry::s3
