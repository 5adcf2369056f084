#pragma once

#include <QDateTime>
#include <QList>
#include <QMap>
#include <QString>
#include <QStringList>

namespace ferry::s3 {

/*
 * The typed results of the S3 operations (requests' options and responses' contents).
 * ETags are stored without their surrounding quotes; sizes are bytes.
 */

/// One object of a listing.
struct ObjectSummary {
    QString key;
    qint64 size = 0;
    QString etag;
    QDateTime lastModified; ///< Invalid when the server sent none or an unreadable one.
    QString storageClass;
};

/// Options of one ListObjectsV2 request.
struct ListObjectsRequest {
    QString prefix;
    QString delimiter;         ///< Usually `/` to list one folder level; empty lists all keys.
    QString continuationToken; ///< From the previous page's nextContinuationToken.
    QString startAfter;
    int maxKeys = 1000; ///< The server may return fewer.
};

/// One page of ListObjectsV2.
struct ListObjectsPage {
    QString bucket;
    QString prefix;
    QString delimiter;
    QList<ObjectSummary> objects;
    QStringList commonPrefixes; ///< "Folders" below the prefix when a delimiter was given.
    bool isTruncated = false;
    QString continuationToken;
    QString nextContinuationToken; ///< Set when isTruncated.
    QString startAfter;
    int keyCount = 0;
    int maxKeys = 0;
    QString encodingType; ///< `url` when the server percent-encoded keys (already decoded here).
};

/// HeadObject, and what GetObject learnt about the object it downloaded.
struct ObjectMetadata {
    qint64 size = 0;
    QString etag;
    QDateTime lastModified;
    QString contentType;
    QMap<QString, QString> userMetadata; ///< `x-amz-meta-*` headers, names without the prefix.
};

/// PutObject's answer.
struct PutObjectResult {
    QString etag;
    QString contentMd5; ///< Base64 MD5 that was sent (and checked by the server).
};

/// Options of PutObject and CreateMultipartUpload.
struct PutOptions {
    QString contentType = QStringLiteral("application/octet-stream");
    QMap<QString, QString> userMetadata; ///< Sent as `x-amz-meta-<name>`.
};

/// CreateMultipartUpload's answer.
struct MultipartUpload {
    QString bucket;
    QString key;
    QString uploadId;
};

/// A part to name in CompleteMultipartUpload: its number (1..10000) and its ETag.
struct CompletedPart {
    int partNumber = 0;
    QString etag;
    bool operator==(const CompletedPart &) const = default;
};

/// UploadPart's answer.
struct UploadedPart {
    int partNumber = 0;
    QString etag;
    qint64 size = 0;
    QString contentMd5;
    [[nodiscard]] CompletedPart completed() const { return {partNumber, etag}; }
};

/// CompleteMultipartUpload's answer.
struct CompleteMultipartUploadResult {
    QString location;
    QString bucket;
    QString key;
    QString etag; ///< The multipart ETag (`<md5 of md5s>-<part count>`).
};

/// One in-progress upload of ListMultipartUploads.
struct MultipartUploadSummary {
    QString key;
    QString uploadId;
    QDateTime initiated;
    QString storageClass;
};

/// Options of one ListMultipartUploads request.
struct ListMultipartUploadsRequest {
    QString prefix;
    QString delimiter;
    QString keyMarker;      ///< From the previous page's nextKeyMarker.
    QString uploadIdMarker; ///< From the previous page's nextUploadIdMarker.
    int maxUploads = 1000;
};

/// One page of ListMultipartUploads.
struct ListMultipartUploadsPage {
    QString bucket;
    QString prefix;
    QList<MultipartUploadSummary> uploads;
    QStringList commonPrefixes;
    bool isTruncated = false;
    QString nextKeyMarker;
    QString nextUploadIdMarker;
    QString encodingType;
};

/// One stored part of ListParts.
struct PartSummary {
    int partNumber = 0;
    QString etag;
    qint64 size = 0;
    QDateTime lastModified;
};

/// One page of ListParts.
struct ListPartsPage {
    QString bucket;
    QString key;
    QString uploadId;
    QList<PartSummary> parts;
    bool isTruncated = false;
    int partNumberMarker = 0;
    int nextPartNumberMarker = 0; ///< Pass as the marker of the next page when isTruncated.
    int maxParts = 0;
};

/// One key that DeleteObjects could not delete.
struct DeleteFailure {
    QString key;
    QString code;
    QString message;
};

/// DeleteObjects' answer (merged over the batches of 1000 keys).
struct DeleteObjectsResult {
    QStringList deleted;
    QList<DeleteFailure> failures;
};

} // namespace ferry::s3
