#pragma once

#include "scheduler/CancellationToken.h"

#include <QByteArray>
#include <QString>

#include <QCoro/QCoroTask>

#include <expected>

namespace ferry::s3 {

/// Digests of a body: what Content-MD5 and (optionally) x-amz-content-sha256 carry.
struct ContentDigest {
    QByteArray md5;    ///< Raw 16 bytes.
    QByteArray sha256; ///< Raw 32 bytes, or empty when not asked for.
    qint64 size = 0;
    /// The bytes themselves, when the range was small enough to keep (see digestFileRange()):
    /// the body is then sent from memory, read once, instead of read again while streaming.
    QByteArray content;
    [[nodiscard]] bool hasContent() const { return size == 0 || !content.isEmpty(); }

    /// The `Content-MD5` header value (base64).
    [[nodiscard]] QByteArray contentMd5() const { return md5.toBase64(); }
    /// Lowercase hex MD5: the ETag S3 gives a single-part upload.
    [[nodiscard]] QString md5Hex() const { return QString::fromLatin1(md5.toHex()); }
};

/// Why a digest could not be computed.
struct DigestError {
    bool cancelled = false;
    QString message; ///< The file error, for S3Error::localFile().
};

/**
 * Reads [offset, offset + length) of `path` once, in 1 MiB chunks, and hashes it (MD5, plus
 * SHA-256 when `withSha256`). Checks `token` between chunks. A range of at most `keepUpTo`
 * bytes is read with one read into ContentDigest::content and kept. Blocking file I/O: call
 * it on a worker thread (executors do).
 */
[[nodiscard]] std::expected<ContentDigest, DigestError>
digestFileRange(const QString &path, qint64 offset, qint64 length, bool withSha256,
                const CancellationToken &token = {}, qint64 keepUpTo = 0);

/**
 * digestFileRange() on BackgroundPool::digests(), awaited without blocking the calling
 * thread's event loop: other transfers of the same thread keep moving while a part is hashed,
 * and the threads feeding them preempt the hash. The pool is the module's own, so hashing never
 * queues behind executors occupying the global pool. When `token` fires before a pool thread
 * took the range, the answer (cancelled) comes at once; a range being hashed stops at its next
 * 1 MiB.
 */
[[nodiscard]] QCoro::Task<std::expected<ContentDigest, DigestError>>
digestFileRangeInBackground(QString path, qint64 offset, qint64 length, bool withSha256,
                            CancellationToken token, qint64 keepUpTo = 0);

/// The MD5 (and optionally SHA-256) of bytes in memory.
[[nodiscard]] ContentDigest digestBytes(QByteArrayView data, bool withSha256);

} // namespace ferry::s3
