#pragma once

// Checks shared by the suites that change a file under its upload (tst_sync_files,
// tst_sync_recovery): rewriting a file visibly, the upload ids a FaultProxy saw, and what the
// server and Ferry hold once a run sent a file.

#include "SyncTestSupport.h"
#include "app/sync/SyncExecutors.h"
#include "support/FaultProxy.h"

#include <QCoro/QCoroTask>
#include <QUrlQuery>

namespace ferry::test {

/// Rewrites `path` with `content` and moves its mtime forward by `shiftSeconds`, so the change
/// is visible whatever the file system's timestamp granularity.
inline void rewrite(const QString &path, const QByteArray &content, int shiftSeconds = 60)
{
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate))
        qFatal("cannot rewrite %s", qPrintable(path));
    file.write(content);
    file.setFileTime(QDateTime::currentDateTime().addSecs(shiftSeconds),
                     QFileDevice::FileModificationTime);
}

inline QByteArray randomBytes(qint64 size)
{
    QByteArray bytes(size, Qt::Uninitialized);
    QRandomGenerator::global()->fillRange(reinterpret_cast<quint32 *>(bytes.data()), size / 4);
    return bytes;
}

/// A client of the server at 127.0.0.1:`port` itself (around any proxy).
inline std::unique_ptr<s3::S3Client> serverClient(quint16 port)
{
    s3::ClientConfig config;
    config.endpoint = *s3::Endpoint::fromUrl(QStringLiteral("http://127.0.0.1:%1").arg(port));
    config.credentials.accessKeyId = S3TestServer::accessKey();
    config.credentials.secretAccessKey = S3TestServer::secretKey();
    return std::make_unique<s3::S3Client>(config);
}

/// Whether the server holds part `part` of `upload`.
inline bool serverHoldsPart(s3::S3Client &client, const s3::MultipartUpload &upload, int part)
{
    auto parts = QCoro::waitFor(client.listAllParts(upload, {}));
    if (!parts)
        return false;
    for (const auto &summary : *parts)
        if (summary.partNumber == part)
            return true;
    return false;
}

/// The `uploadId` of a request's query, or an empty string.
inline QString uploadIdOf(const ProxiedRequest &request)
{
    return QUrlQuery(QString::fromUtf8(request.query)).queryItemValue("uploadId");
}

/// How many requests the proxy saw with `method` whose query contains `query`.
inline int countRequests(const FaultProxy &proxy, const QByteArray &method, const QByteArray &query)
{
    int n = 0;
    for (const auto &request : proxy.requests())
        n += request.method == method && request.query.contains(query);
    return n;
}

/// Whether the proxy saw an AbortMultipartUpload of `uploadId`.
inline bool sawAbort(const FaultProxy &proxy, const QString &uploadId)
{
    for (const auto &request : proxy.requests())
        if (request.method == "DELETE" && uploadIdOf(request) == uploadId)
            return true;
    return false;
}

/**
 * What must hold once a run sent `relative` (object `key`) of `profile` whose file now has
 * `content`: the object has exactly those bytes, no multipart upload is in progress, the only
 * segments are the object's own, Ferry remembers no upload, and the journal holds the file's
 * current size and mtime with the object's ETag. Returns the problems, empty when none.
 */
inline QString sentOnceAsNow(SyncHarness &h, const S3TestServer &server, const QString &bucket,
                             const QString &profile, const QString &relative, const QString &key,
                             const QString &path, const QByteArray &content)
{
    QStringList problems;
    auto client = h.client();
    QTemporaryDir downloads;
    const QString local = downloads.filePath("object");
    auto got = QCoro::waitFor(client->getObject(bucket, key, local, {}));
    if (!got)
        problems << "the object cannot be downloaded: " + got.error().message();
    else if (readAll(local) != content)
        problems << QStringLiteral("the object has %1 bytes that are not the file's %2")
                        .arg(QFileInfo(local).size())
                        .arg(content.size());
    auto uploads = QCoro::waitFor(client->listAllMultipartUploads(bucket, "", {}));
    if (!uploads || !uploads->isEmpty())
        problems << QStringLiteral("multipart uploads in progress: %1")
                        .arg(uploads ? uploads->size() : -1);
    const auto segments = server.listSegments(bucket);
    if (!segments.ok())
        problems << "segments: " + segments.error;
    for (const auto &segment : segments.names)
        if (!segment.startsWith(key + '/'))
            problems << "a stray segment: " + segment;
    auto known = h.store->knownUploads(profile);
    if (!known || !known->isEmpty())
        problems << QStringLiteral("uploads still remembered: %1").arg(known ? known->size() : -1);
    auto objects = QCoro::waitFor(client->listAllObjects(bucket, key, {}));
    const auto entry = h.store->journalEntry(profile, relative);
    const FileStamp stamp = stampOf(path);
    if (!entry) {
        problems << "no journal entry";
    } else {
        if (entry->size != stamp.size || entry->mtimeMs != stamp.mtimeMs)
            problems << QStringLiteral("the journal holds size %1 mtime %2, the file %3 and %4")
                            .arg(entry->size)
                            .arg(entry->mtimeMs)
                            .arg(stamp.size)
                            .arg(stamp.mtimeMs);
        if (!objects || objects->size() != 1 ||
            QString(objects->first().etag).remove('"') != QString(entry->etag).remove('"'))
            problems << "the journal's ETag is not the object's: " + entry->etag;
    }
    return problems.join("; ");
}

} // namespace ferry::test
