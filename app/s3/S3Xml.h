#pragma once

#include "S3Types.h"

#include <QByteArray>
#include <QMap>
#include <QString>

#include <expected>

/**
 * The XML of the S3 REST API: pure functions from response bodies to typed results (and from
 * typed requests to bodies). No I/O, no state, no Qt event loop: each parser takes any bytes
 * (they are fuzz targets) and returns the result or a description of what is wrong with the
 * document. Element names are matched without their namespace; unknown elements are skipped;
 * text is kept verbatim (keys may have leading or trailing spaces). Documents with a DTD are
 * refused.
 */
namespace ferry::s3::xml {

/// An S3 `<Error>` document.
struct ErrorDocument {
    QString code;
    QString message;
    QString resource;
    QString requestId;
    QString bucketName;
    QString key;
    QString region;                ///< AuthorizationHeaderMalformed / PermanentRedirect name it.
    QMap<QString, QString> fields; ///< Every simple child element, by name (incl. the above).
};

/// The local name of the document's root element, or empty when `body` is not XML.
[[nodiscard]] QString rootElementName(const QByteArray &body);

[[nodiscard]] std::expected<ErrorDocument, QString> parseError(const QByteArray &body);
[[nodiscard]] std::expected<ListObjectsPage, QString> parseListObjectsV2(const QByteArray &body);
[[nodiscard]] std::expected<MultipartUpload, QString>
parseInitiateMultipartUpload(const QByteArray &body);
[[nodiscard]] std::expected<CompleteMultipartUploadResult, QString>
parseCompleteMultipartUpload(const QByteArray &body);
[[nodiscard]] std::expected<ListMultipartUploadsPage, QString>
parseListMultipartUploads(const QByteArray &body);
[[nodiscard]] std::expected<ListPartsPage, QString> parseListParts(const QByteArray &body);
[[nodiscard]] std::expected<DeleteObjectsResult, QString> parseDeleteResult(const QByteArray &body);

/// `<CompleteMultipartUpload>` naming `parts` (sorted by part number, ETags quoted).
[[nodiscard]] QByteArray completeMultipartUploadBody(QList<CompletedPart> parts);
/// `<Delete>` for at most 1000 keys; `quiet` asks the server to report failures only.
[[nodiscard]] QByteArray deleteObjectsBody(const QStringList &keys, bool quiet);
/// `<CreateBucketConfiguration>` naming `region`; empty for us-east-1 (which takes no body).
[[nodiscard]] QByteArray createBucketBody(const QString &region);

/// Decodes a value of a listing sent with `encoding-type=url` (`+` is a space, `%XX` a byte).
[[nodiscard]] QString decodeUrlEncoded(const QString &value);

} // namespace ferry::s3::xml
