#pragma once

// Shared checks of the fault suites: the invariants that must hold after any fault, crash or
// cancel — each object byte-identical to its file, no object for an excluded file, no
// multipart upload in progress, only parts of completed objects in the segments container.

#include "app/s3/S3Client.h"
#include "support/S3TestServer.h"

#include <QCoro/QCoroTask>
#include <QCryptographicHash>
#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QHash>
#include <QStringList>
#include <QTemporaryDir>

#include <functional>
#include <memory>

namespace ferry::test {

/// MD5 of a file's bytes (hex), or an empty string when unreadable.
inline QString fileMd5(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    QCryptographicHash hash(QCryptographicHash::Md5);
    hash.addData(&file);
    return QString::fromLatin1(hash.result().toHex());
}

/// Relative paths of every regular file under @p root, sorted.
inline QStringList filesUnder(const QString &root)
{
    QStringList files;
    QDirIterator it(root, QDir::Files | QDir::Hidden, QDirIterator::Subdirectories);
    while (it.hasNext())
        files.append(QDir(root).relativeFilePath(it.next()));
    files.sort();
    return files;
}

/// A client straight to the server (no proxy), for assertions.
inline std::unique_ptr<s3::S3Client> directClient(quint16 port)
{
    s3::ClientConfig config;
    config.endpoint = *s3::Endpoint::fromUrl(QStringLiteral("http://127.0.0.1:%1").arg(port));
    config.credentials.accessKeyId = S3TestServer::accessKey();
    config.credentials.secretAccessKey = S3TestServer::secretKey();
    return std::make_unique<s3::S3Client>(config);
}

/**
 * Aborts the uploads in progress under @p prefix that @p isKnown says Ferry never recorded
 * (the known Ferry bug of a CreateMultipartUpload whose answer was lost or aborted: see the
 * fault suites), so the remaining invariants can still be checked strictly. Returns them.
 */
inline QStringList abortUnknownUploads(s3::S3Client &client, const QString &bucket,
                                       const QString &prefix,
                                       const std::function<bool(const QString &)> &isKnown)
{
    QStringList aborted;
    auto uploads = QCoro::waitFor(client.listAllMultipartUploads(bucket, prefix, {}));
    for (const auto &upload : uploads.value_or(QList<s3::MultipartUploadSummary>())) {
        if (isKnown(upload.uploadId))
            continue;
        s3::MultipartUpload handle;
        handle.bucket = bucket;
        handle.key = upload.key;
        handle.uploadId = upload.uploadId;
        if (QCoro::waitFor(client.abortMultipartUpload(handle, {})))
            aborted.append(upload.key + QStringLiteral(" (") + upload.uploadId + ')');
    }
    return aborted;
}

/**
 * Checks the bucket against the local tree: every file not excluded is an object under
 * @p prefix with identical bytes (downloaded and hashed), no other object exists under the
 * prefix, nothing is in progress, and the segments container holds only parts of objects.
 * Returns an empty string when all hold, else what failed (for QVERIFY2).
 */
inline QString checkBucketMatchesTree(s3::S3Client &client, const S3TestServer &server,
                                      const QString &bucket, const QString &prefix,
                                      const QString &root,
                                      const std::function<bool(const QString &)> &excluded)
{
    auto objects = QCoro::waitFor(client.listAllObjects(bucket, prefix, {}));
    if (!objects)
        return QStringLiteral("listing failed: ") + objects.error().toString();
    QHash<QString, QString> remote; // key -> etag
    for (const auto &object : *objects)
        remote.insert(object.key, object.etag);
    QStringList problems;
    QTemporaryDir downloads;
    int expected = 0;
    for (const QString &relative : filesUnder(root)) {
        const QString key = prefix + relative;
        if (excluded && excluded(relative)) {
            if (remote.contains(key))
                problems.append(QStringLiteral("excluded file uploaded: ") + key);
            continue;
        }
        ++expected;
        if (!remote.contains(key)) {
            problems.append(QStringLiteral("missing: ") + key);
            continue;
        }
        const QString target = downloads.filePath(QString::number(expected));
        // A loaded local server may drop a download now and then: that is not a difference.
        auto got = QCoro::waitFor(client.getObject(bucket, key, target, {}));
        for (int retry = 0; !got && got.error().isRetryable() && retry < 3; ++retry)
            got = QCoro::waitFor(client.getObject(bucket, key, target, {}));
        if (!got)
            problems.append(
                QStringLiteral("download failed: %1: %2").arg(key, got.error().toString()));
        else if (fileMd5(target) != fileMd5(QDir(root).filePath(relative)))
            problems.append(QStringLiteral("bytes differ: %1 (object %2 bytes, file %3)")
                                .arg(key)
                                .arg(QFileInfo(target).size())
                                .arg(QFileInfo(QDir(root).filePath(relative)).size()));
        QFile::remove(target);
    }
    if (remote.size() != expected)
        problems.append(QStringLiteral("%1 objects for %2 files").arg(remote.size()).arg(expected));
    auto uploads = QCoro::waitFor(client.listAllMultipartUploads(bucket, prefix, {}));
    if (!uploads)
        problems.append(QStringLiteral("upload listing failed: ") + uploads.error().toString());
    else
        for (const auto &upload : *uploads)
            problems.append(
                QStringLiteral("upload in progress: %1 (%2)").arg(upload.key, upload.uploadId));
    const auto segments = server.listSegments(bucket);
    if (!segments.ok())
        problems.append(QStringLiteral("segments: ") + segments.error);
    for (const auto &segment : segments.names) {
        if (!segment.startsWith(prefix))
            continue;
        // `<key>/<upload id>/<part>`: a part of a completed object starts with its key.
        bool owned = false;
        for (auto it = remote.cbegin(); it != remote.cend() && !owned; ++it)
            owned = segment.startsWith(it.key() + QLatin1Char('/'));
        if (!owned)
            problems.append(QStringLiteral("orphaned segment: ") + segment);
    }
    return problems.mid(0, 20).join(QLatin1Char('\n'));
}

} // namespace ferry::test
