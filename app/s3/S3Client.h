#pragma once

#include "S3Transport.h"
#include "S3Types.h"
#include "scheduler/CancellationToken.h"

#include <QObject>
#include <QStringList>

#include <QCoro/QCoroTask>

#include <memory>

class QNetworkAccessManager;

namespace ferry::s3 {

template <typename T> using S3Task = QCoro::Task<S3Result<T>>;

/**
 * The S3 client: one coroutine per S3 operation, each returning its typed result or an
 * S3Error (errors are values; nothing throws).
 *
 * Threading: the client and its QNetworkAccessManager belong to the thread that created the
 * client; call it and await it there (an executor creates one per worker thread). The client
 * must outlive the operations it started.
 *
 * Cancellation: every operation takes a CancellationToken. When it fires, the running request
 * is aborted at once and the operation returns S3Error::Kind::Cancelled (never a network
 * error). An operation whose token already fired sends nothing. Clean-up (e.g. aborting a
 * multipart upload) must therefore be called with a fresh token.
 *
 * Bodies: uploads stream from the file (PutObject) or from a byte range of it (UploadPart),
 * downloads stream to a temporary file that replaces the target only when complete; none is
 * ever held in memory whole, except bodies of at most ClientConfig::inMemoryBodyLimit
 * (1 MiB): those are read once, with their digest, and sent from memory. Content-MD5 is
 * computed by reading the file (range) once before sending, on a background thread so the
 * other transfers of this thread keep moving; file bodies are sent as UNSIGNED-PAYLOAD unless
 * ClientConfig::signFilePayloads.
 *
 * Keys: any UTF-8 string of 1 to 1024 bytes, except keys with `.` or `..` segments
 * (`a/../b`), which Qt's HTTP stack would normalize away; those are refused up front.
 */
class S3Client : public QObject {
    Q_OBJECT
public:
    explicit S3Client(ClientConfig config, QObject *parent = nullptr);
    ~S3Client() override;

    [[nodiscard]] const ClientConfig &config() const;
    [[nodiscard]] const Endpoint &endpoint() const;
    /// The transport, for tests (request preparation) and for the clock.
    [[nodiscard]] S3Transport &transport() { return *m_transport; }

    // --- buckets -------------------------------------------------------------------------

    /// CreateBucket in the endpoint's region. A bucket that exists and is ours counts as
    /// created (BucketAlreadyOwnedByYou is not an error).
    [[nodiscard]] S3Task<void> createBucket(QString bucket, CancellationToken token);
    /// HeadBucket: succeeds when the bucket exists and the credentials may use it.
    [[nodiscard]] S3Task<void> headBucket(QString bucket, CancellationToken token);

    // --- listing -------------------------------------------------------------------------

    /// One page of ListObjectsV2 (keys come back decoded; `encoding-type=url` is requested).
    [[nodiscard]] S3Task<ListObjectsPage> listObjectsV2(QString bucket, ListObjectsRequest request,
                                                        CancellationToken token);
    /// Every object under `prefix`, following continuation tokens.
    [[nodiscard]] S3Task<QList<ObjectSummary>> listAllObjects(QString bucket, QString prefix,
                                                              CancellationToken token);

    // --- objects -------------------------------------------------------------------------

    [[nodiscard]] S3Task<ObjectMetadata> headObject(QString bucket, QString key,
                                                    CancellationToken token);
    /// Downloads `key` to `localPath`, streamed through a temporary file in the same folder.
    [[nodiscard]] S3Task<ObjectMetadata> getObject(QString bucket, QString key, QString localPath,
                                                   CancellationToken token,
                                                   ProgressCallback progress = {});
    /// Uploads the file `localPath` (at most 5 GiB) as `key`, streamed, with Content-MD5.
    [[nodiscard]] S3Task<PutObjectResult> putObject(QString bucket, QString key, QString localPath,
                                                    CancellationToken token,
                                                    PutOptions options = {},
                                                    ProgressCallback progress = {});
    /// DeleteObject; deleting a key that does not exist succeeds (as in S3).
    [[nodiscard]] S3Task<void> deleteObject(QString bucket, QString key, CancellationToken token);
    /// DeleteObjects, in batches of 1000 keys. Per-key failures are in the result.
    [[nodiscard]] S3Task<DeleteObjectsResult> deleteObjects(QString bucket, QStringList keys,
                                                            CancellationToken token);

    // --- multipart uploads ---------------------------------------------------------------

    [[nodiscard]] S3Task<MultipartUpload> createMultipartUpload(QString bucket, QString key,
                                                                CancellationToken token,
                                                                PutOptions options = {});
    /**
     * Uploads part `partNumber` (1..10000) from bytes [offset, offset + length) of
     * `localPath`, streamed from the file with the part's Content-MD5 (read once before).
     */
    [[nodiscard]] S3Task<UploadedPart> uploadPart(MultipartUpload upload, int partNumber,
                                                  QString localPath, qint64 offset, qint64 length,
                                                  CancellationToken token,
                                                  ProgressCallback progress = {});
    /// CompleteMultipartUpload; also detects the error S3 may send inside a 200 answer.
    [[nodiscard]] S3Task<CompleteMultipartUploadResult>
    completeMultipartUpload(MultipartUpload upload, QList<CompletedPart> parts,
                            CancellationToken token);
    /// AbortMultipartUpload. Idempotent: an upload that no longer exists (NoSuchUpload)
    /// counts as aborted.
    [[nodiscard]] S3Task<void> abortMultipartUpload(MultipartUpload upload,
                                                    CancellationToken token);
    /// One page of ListMultipartUploads.
    [[nodiscard]] S3Task<ListMultipartUploadsPage>
    listMultipartUploads(QString bucket, ListMultipartUploadsRequest request,
                         CancellationToken token);
    /// Every in-progress upload under `prefix`, following the key / upload-id markers.
    [[nodiscard]] S3Task<QList<MultipartUploadSummary>>
    listAllMultipartUploads(QString bucket, QString prefix, CancellationToken token);
    /// One page of ListParts, starting after part `partNumberMarker`.
    [[nodiscard]] S3Task<ListPartsPage> listParts(MultipartUpload upload, int partNumberMarker,
                                                  CancellationToken token, int maxParts = 1000);
    /// Every stored part of `upload`, following the part-number markers.
    [[nodiscard]] S3Task<QList<PartSummary>> listAllParts(MultipartUpload upload,
                                                          CancellationToken token);

private:
    QNetworkAccessManager *m_network;
    std::unique_ptr<S3Transport> m_transport;
};

/// Why `key` cannot be used as an object key, or nothing when it can (see S3Client).
[[nodiscard]] std::expected<void, QString> validateObjectKey(const QString &key);

} // namespace ferry::s3
