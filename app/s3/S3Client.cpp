#include "S3Client.h"

#include "ContentDigest.h"
#include "FileRangeDevice.h"
#include "PartSizePolicy.h"
#include "S3Logging.h"
#include "S3Xml.h"

#include <QFileInfo>
#include <QNetworkAccessManager>
#include <QSaveFile>

#include <optional>

namespace ferry::s3 {

namespace {

constexpr int MaxDeleteBatch = 1000;

std::unexpected<S3Error> fail(S3Error error)
{
    return std::unexpected(std::move(error));
}

template <typename T>
S3Result<T> parsed(std::expected<T, QString> result, int status, const S3ErrorContext &context)
{
    if (!result)
        return fail(S3Error::invalidResponse(result.error(), status, context));
    return std::move(*result);
}

QList<HeaderItem> putHeaders(const PutOptions &options)
{
    QList<HeaderItem> headers;
    if (!options.contentType.isEmpty())
        headers.append(HeaderItem{"content-type", options.contentType.toUtf8()});
    for (auto it = options.userMetadata.cbegin(); it != options.userMetadata.cend(); ++it)
        headers.append(
            HeaderItem{"x-amz-meta-" + it.key().toLower().toUtf8(), it.value().toUtf8()});
    return headers;
}

S3Request makeRequest(QByteArray method, const QString &bucket, const QString &key = {})
{
    S3Request request;
    request.method = std::move(method);
    request.bucket = bucket;
    request.key = key;
    return request;
}

// Puts the file body of `request`: the digest's bytes when it kept them, else a stream of
// [offset, offset + length) of `path`. Returns the device's error when it cannot be opened.
std::optional<QString> setFileBody(S3Request &request, const ContentDigest &digest,
                                   const QString &path, qint64 offset, qint64 length,
                                   bool signPayload)
{
    request.payloadHash = signPayload ? digest.sha256.toHex() : QByteArray(sigv4::UnsignedPayload);
    if (digest.hasContent()) {
        request.body = digest.content;
        return std::nullopt;
    }
    auto body = std::make_shared<FileRangeDevice>(path, offset, length);
    if (!body->open(QIODevice::ReadOnly))
        return body->errorString();
    request.bodyDevice = std::move(body);
    return std::nullopt;
}

QString quotedEtag(const QByteArray &header)
{
    return QString::fromUtf8(header).trimmed().remove(QLatin1Char('"'));
}

} // namespace

std::expected<void, QString> validateObjectKey(const QString &key)
{
    if (key.isEmpty())
        return std::unexpected(S3Client::tr("An object key cannot be empty."));
    if (key.toUtf8().size() > 1024)
        return std::unexpected(
            S3Client::tr("The object key `%1...` is longer than S3's 1024 bytes: shorten the "
                         "file's path.")
                .arg(key.left(40)));
    for (const auto &segment : key.split(QLatin1Char('/')))
        if (segment == QLatin1String(".") || segment == QLatin1String(".."))
            return std::unexpected(
                S3Client::tr("The object key `%1` has a `%2` segment, which Ferry cannot "
                             "address: rename the object.")
                    .arg(key, segment));
    return {};
}

S3Client::S3Client(ClientConfig config, QObject *parent)
    : QObject(parent), m_network(new QNetworkAccessManager(this)),
      m_transport(std::make_unique<S3Transport>(std::move(config), m_network))
{
    qCDebug(lcS3) << "client for" << m_transport->config().endpoint.displayName() << "with"
                  << m_transport->config().credentials;
}

S3Client::~S3Client() = default;

const ClientConfig &S3Client::config() const
{
    return m_transport->config();
}

const Endpoint &S3Client::endpoint() const
{
    return m_transport->config().endpoint;
}

// --- buckets -------------------------------------------------------------------------------

S3Task<void> S3Client::createBucket(QString bucket, CancellationToken token)
{
    const auto context = m_transport->context(tr("creation of bucket `%1`").arg(bucket), bucket);
    S3Request request = makeRequest("PUT", bucket);
    request.body = xml::createBucketBody(endpoint().region());
    if (!request.body.isEmpty())
        request.headers.append(HeaderItem{"content-type", "application/xml"});
    auto response = co_await m_transport->send(std::move(request), context, token);
    if (!response && response.error().kind() != S3Error::Kind::BucketAlreadyOwnedByYou)
        co_return fail(response.error());
    co_return S3Result<void>{};
}

S3Task<void> S3Client::headBucket(QString bucket, CancellationToken token)
{
    const auto context = m_transport->context(tr("check of bucket `%1`").arg(bucket), bucket);
    auto response = co_await m_transport->send(makeRequest("HEAD", bucket), context, token);
    if (!response)
        co_return fail(response.error());
    co_return S3Result<void>{};
}

// --- listing -------------------------------------------------------------------------------

S3Task<ListObjectsPage> S3Client::listObjectsV2(QString bucket, ListObjectsRequest options,
                                                CancellationToken token)
{
    const auto context = m_transport->context(tr("listing of bucket `%1`").arg(bucket), bucket);
    S3Request request = makeRequest("GET", bucket);
    request.query = {{QStringLiteral("list-type"), QStringLiteral("2")},
                     {QStringLiteral("encoding-type"), QStringLiteral("url")},
                     {QStringLiteral("max-keys"), QString::number(options.maxKeys)}};
    if (!options.prefix.isEmpty())
        request.query.append(QueryItem{QStringLiteral("prefix"), options.prefix});
    if (!options.delimiter.isEmpty())
        request.query.append(QueryItem{QStringLiteral("delimiter"), options.delimiter});
    if (!options.continuationToken.isEmpty())
        request.query.append(
            QueryItem{QStringLiteral("continuation-token"), options.continuationToken});
    if (!options.startAfter.isEmpty())
        request.query.append(QueryItem{QStringLiteral("start-after"), options.startAfter});
    auto response = co_await m_transport->send(std::move(request), context, token);
    if (!response)
        co_return fail(response.error());
    co_return parsed(xml::parseListObjectsV2(response->body), response->status, context);
}

S3Task<QList<ObjectSummary>> S3Client::listAllObjects(QString bucket, QString prefix,
                                                      CancellationToken token)
{
    QList<ObjectSummary> objects;
    ListObjectsRequest request;
    request.prefix = prefix;
    for (;;) {
        auto page = co_await listObjectsV2(bucket, request, token);
        if (!page)
            co_return fail(page.error());
        objects.append(page->objects);
        if (!page->isTruncated)
            break;
        request.continuationToken = page->nextContinuationToken;
    }
    co_return objects;
}

// --- objects -------------------------------------------------------------------------------

S3Task<ObjectMetadata> S3Client::headObject(QString bucket, QString key, CancellationToken token)
{
    const auto context = m_transport->context(tr("check of `%1`").arg(key), bucket, key);
    if (auto valid = validateObjectKey(key); !valid)
        co_return fail(S3Error::invalidRequest(valid.error(), context));
    auto response = co_await m_transport->send(makeRequest("HEAD", bucket, key), context, token);
    if (!response)
        co_return fail(response.error());
    co_return response->objectMetadata();
}

S3Task<ObjectMetadata> S3Client::getObject(QString bucket, QString key, QString localPath,
                                           CancellationToken token, ProgressCallback progress)
{
    const auto context = m_transport->context(tr("download of `%1`").arg(key), bucket, key);
    if (auto valid = validateObjectKey(key); !valid)
        co_return fail(S3Error::invalidRequest(valid.error(), context));

    QSaveFile file(localPath);
    if (!file.open(QIODevice::WriteOnly))
        co_return fail(S3Error::localFile(localPath, file.errorString(), context));

    S3Request request = makeRequest("GET", bucket, key);
    request.responseSink = &file;
    request.responseSinkName = localPath;
    request.downloadProgress = std::move(progress);
    auto response = co_await m_transport->send(std::move(request), context, token);
    if (!response) {
        file.cancelWriting();
        co_return fail(response.error());
    }
    ObjectMetadata metadata = response->objectMetadata();
    const bool sizeKnown = !response->header("content-length").isEmpty();
    if (!sizeKnown)
        metadata.size = file.size();
    if (file.size() != metadata.size) {
        file.cancelWriting();
        co_return fail(S3Error::invalidResponse(
            tr("%1 bytes announced, %2 received").arg(metadata.size).arg(file.size()),
            response->status, context));
    }
    if (!file.commit())
        co_return fail(S3Error::localFile(localPath, file.errorString(), context));
    co_return metadata;
}

S3Task<PutObjectResult> S3Client::putObject(QString bucket, QString key, QString localPath,
                                            CancellationToken token, PutOptions options,
                                            ProgressCallback progress)
{
    const auto context = m_transport->context(tr("upload of `%1`").arg(key), bucket, key);
    if (auto valid = validateObjectKey(key); !valid)
        co_return fail(S3Error::invalidRequest(valid.error(), context));
    const QFileInfo info(localPath);
    if (!info.isFile())
        co_return fail(S3Error::localFile(localPath, tr("it is not a readable file"), context));
    const qint64 size = info.size();
    if (size > limits::MaxSinglePutSize)
        co_return fail(S3Error::invalidRequest(
            tr("`%1` is larger than 5 GiB, the largest single upload: upload it in parts.")
                .arg(localPath),
            context));

    const bool signPayload = config().signFilePayloads;
    auto digest = co_await digestFileRangeInBackground(localPath, 0, size, signPayload, token,
                                                       config().inMemoryBodyLimit);
    if (!digest) {
        if (digest.error().cancelled)
            co_return fail(S3Error::cancelled(context));
        co_return fail(S3Error::localFile(localPath, digest.error().message, context));
    }

    S3Request request = makeRequest("PUT", bucket, key);
    request.headers = putHeaders(options);
    request.headers.append(HeaderItem{"content-md5", digest->contentMd5()});
    if (auto error = setFileBody(request, *digest, localPath, 0, size, signPayload))
        co_return fail(S3Error::localFile(localPath, *error, context));
    request.uploadProgress = std::move(progress);
    auto response = co_await m_transport->send(std::move(request), context, token);
    if (!response)
        co_return fail(response.error());
    co_return PutObjectResult{quotedEtag(response->header("etag")),
                              QString::fromLatin1(digest->contentMd5())};
}

S3Task<void> S3Client::deleteObject(QString bucket, QString key, CancellationToken token)
{
    const auto context = m_transport->context(tr("deletion of `%1`").arg(key), bucket, key);
    if (auto valid = validateObjectKey(key); !valid)
        co_return fail(S3Error::invalidRequest(valid.error(), context));
    auto response = co_await m_transport->send(makeRequest("DELETE", bucket, key), context, token);
    if (!response && response.error().kind() != S3Error::Kind::NoSuchKey)
        co_return fail(response.error());
    co_return S3Result<void>{};
}

S3Task<DeleteObjectsResult> S3Client::deleteObjects(QString bucket, QStringList keys,
                                                    CancellationToken token)
{
    const auto context =
        m_transport->context(tr("deletion of %n object(s)", nullptr, int(keys.size())), bucket);
    DeleteObjectsResult result;
    for (qsizetype start = 0; start < keys.size(); start += MaxDeleteBatch) {
        S3Request request = makeRequest("POST", bucket);
        request.query = {{QStringLiteral("delete"), QString()}};
        request.body = xml::deleteObjectsBody(keys.mid(start, MaxDeleteBatch), false);
        request.headers = {{"content-type", "application/xml"},
                           {"content-md5", digestBytes(request.body, false).contentMd5()}};
        auto response = co_await m_transport->send(std::move(request), context, token);
        if (!response)
            co_return fail(response.error());
        auto batch = parsed(xml::parseDeleteResult(response->body), response->status, context);
        if (!batch)
            co_return fail(batch.error());
        result.deleted.append(batch->deleted);
        result.failures.append(batch->failures);
    }
    co_return result;
}

// --- multipart uploads ---------------------------------------------------------------------

S3Task<MultipartUpload> S3Client::createMultipartUpload(QString bucket, QString key,
                                                        CancellationToken token, PutOptions options)
{
    const auto context =
        m_transport->context(tr("start of the multipart upload of `%1`").arg(key), bucket, key);
    if (auto valid = validateObjectKey(key); !valid)
        co_return fail(S3Error::invalidRequest(valid.error(), context));
    S3Request request = makeRequest("POST", bucket, key);
    request.query = {{QStringLiteral("uploads"), QString()}};
    request.headers = putHeaders(options);
    auto response = co_await m_transport->send(std::move(request), context, token);
    if (!response)
        co_return fail(response.error());
    auto upload =
        parsed(xml::parseInitiateMultipartUpload(response->body), response->status, context);
    if (!upload)
        co_return fail(upload.error());
    // Some servers leave out Bucket and Key: what we asked for is what we got.
    upload->bucket = bucket;
    upload->key = key;
    co_return *upload;
}

S3Task<UploadedPart> S3Client::uploadPart(MultipartUpload upload, int partNumber, QString localPath,
                                          qint64 offset, qint64 length, CancellationToken token,
                                          ProgressCallback progress)
{
    const auto context = m_transport->context(
        tr("upload of part %1 of `%2`").arg(partNumber).arg(upload.key), upload.bucket, upload.key);
    if (partNumber < 1 || partNumber > limits::MaxParts)
        co_return fail(S3Error::invalidRequest(
            tr("Part number %1 is out of S3's range 1 to 10000.").arg(partNumber), context));
    if (length > limits::MaxPartSize)
        co_return fail(S3Error::invalidRequest(
            tr("A part of %1 bytes is larger than S3's 5 GiB per part.").arg(length), context));

    const bool signPayload = config().signFilePayloads;
    auto digest = co_await digestFileRangeInBackground(localPath, offset, length, signPayload,
                                                       token, config().inMemoryBodyLimit);
    if (!digest) {
        if (digest.error().cancelled)
            co_return fail(S3Error::cancelled(context));
        co_return fail(S3Error::localFile(localPath, digest.error().message, context));
    }

    S3Request request = makeRequest("PUT", upload.bucket, upload.key);
    request.query = {{QStringLiteral("partNumber"), QString::number(partNumber)},
                     {QStringLiteral("uploadId"), upload.uploadId}};
    request.headers = {{"content-md5", digest->contentMd5()}};
    if (auto error = setFileBody(request, *digest, localPath, offset, length, signPayload))
        co_return fail(S3Error::localFile(localPath, *error, context));
    request.uploadProgress = std::move(progress);
    auto response = co_await m_transport->send(std::move(request), context, token);
    if (!response)
        co_return fail(response.error());
    co_return UploadedPart{partNumber, quotedEtag(response->header("etag")), length,
                           QString::fromLatin1(digest->contentMd5())};
}

S3Task<CompleteMultipartUploadResult> S3Client::completeMultipartUpload(MultipartUpload upload,
                                                                        QList<CompletedPart> parts,
                                                                        CancellationToken token)
{
    const auto context =
        m_transport->context(tr("completion of the multipart upload of `%1`").arg(upload.key),
                             upload.bucket, upload.key);
    if (parts.isEmpty())
        co_return fail(S3Error::invalidRequest(
            tr("A multipart upload cannot be completed without parts."), context));
    S3Request request = makeRequest("POST", upload.bucket, upload.key);
    request.query = {{QStringLiteral("uploadId"), upload.uploadId}};
    request.body = xml::completeMultipartUploadBody(std::move(parts));
    request.headers = {{"content-type", "application/xml"}};
    auto response = co_await m_transport->send(std::move(request), context, token);
    if (!response)
        co_return fail(response.error());
    // S3 may answer 200 and still fail: the error then is the body.
    if (xml::rootElementName(response->body) == QLatin1String("Error")) {
        auto document = xml::parseError(response->body);
        if (!document)
            co_return fail(S3Error::invalidResponse(document.error(), response->status, context));
        co_return fail(S3Error::fromErrorDocument(response->status, *document, context));
    }
    co_return parsed(xml::parseCompleteMultipartUpload(response->body), response->status, context);
}

S3Task<void> S3Client::abortMultipartUpload(MultipartUpload upload, CancellationToken token)
{
    const auto context = m_transport->context(
        tr("abort of the multipart upload of `%1`").arg(upload.key), upload.bucket, upload.key);
    S3Request request = makeRequest("DELETE", upload.bucket, upload.key);
    request.query = {{QStringLiteral("uploadId"), upload.uploadId}};
    auto response = co_await m_transport->send(std::move(request), context, token);
    if (!response && response.error().kind() != S3Error::Kind::NoSuchUpload)
        co_return fail(response.error());
    co_return S3Result<void>{};
}

S3Task<ListMultipartUploadsPage> S3Client::listMultipartUploads(QString bucket,
                                                                ListMultipartUploadsRequest options,
                                                                CancellationToken token)
{
    const auto context =
        m_transport->context(tr("listing of the uploads in bucket `%1`").arg(bucket), bucket);
    S3Request request = makeRequest("GET", bucket);
    request.query = {{QStringLiteral("uploads"), QString()},
                     {QStringLiteral("encoding-type"), QStringLiteral("url")},
                     {QStringLiteral("max-uploads"), QString::number(options.maxUploads)}};
    if (!options.prefix.isEmpty())
        request.query.append(QueryItem{QStringLiteral("prefix"), options.prefix});
    if (!options.delimiter.isEmpty())
        request.query.append(QueryItem{QStringLiteral("delimiter"), options.delimiter});
    if (!options.keyMarker.isEmpty())
        request.query.append(QueryItem{QStringLiteral("key-marker"), options.keyMarker});
    if (!options.uploadIdMarker.isEmpty())
        request.query.append(QueryItem{QStringLiteral("upload-id-marker"), options.uploadIdMarker});
    auto response = co_await m_transport->send(std::move(request), context, token);
    if (!response)
        co_return fail(response.error());
    co_return parsed(xml::parseListMultipartUploads(response->body), response->status, context);
}

S3Task<QList<MultipartUploadSummary>>
S3Client::listAllMultipartUploads(QString bucket, QString prefix, CancellationToken token)
{
    QList<MultipartUploadSummary> uploads;
    ListMultipartUploadsRequest request;
    request.prefix = prefix;
    for (;;) {
        auto page = co_await listMultipartUploads(bucket, request, token);
        if (!page)
            co_return fail(page.error());
        uploads.append(page->uploads);
        if (!page->isTruncated)
            break;
        request.keyMarker = page->nextKeyMarker;
        request.uploadIdMarker = page->nextUploadIdMarker;
    }
    co_return uploads;
}

S3Task<ListPartsPage> S3Client::listParts(MultipartUpload upload, int partNumberMarker,
                                          CancellationToken token, int maxParts)
{
    const auto context = m_transport->context(tr("listing of the parts of `%1`").arg(upload.key),
                                              upload.bucket, upload.key);
    S3Request request = makeRequest("GET", upload.bucket, upload.key);
    request.query = {{QStringLiteral("uploadId"), upload.uploadId},
                     {QStringLiteral("max-parts"), QString::number(maxParts)}};
    if (partNumberMarker > 0)
        request.query.append(
            {QStringLiteral("part-number-marker"), QString::number(partNumberMarker)});
    auto response = co_await m_transport->send(std::move(request), context, token);
    if (!response)
        co_return fail(response.error());
    co_return parsed(xml::parseListParts(response->body), response->status, context);
}

S3Task<QList<PartSummary>> S3Client::listAllParts(MultipartUpload upload, CancellationToken token)
{
    QList<PartSummary> parts;
    int marker = 0;
    for (;;) {
        auto page = co_await listParts(upload, marker, token);
        if (!page)
            co_return fail(page.error());
        parts.append(page->parts);
        if (!page->isTruncated || page->nextPartNumberMarker <= marker)
            break;
        marker = page->nextPartNumberMarker;
    }
    co_return parts;
}

} // namespace ferry::s3
