#pragma once

#include "Credentials.h"

#include <QByteArray>
#include <QDateTime>
#include <QList>
#include <QString>

#include <utility>

namespace ferry::s3 {

/// One query parameter, decoded (the signer encodes it).
using QueryItem = std::pair<QString, QString>;
/// One header as it goes on the wire.
using HeaderItem = std::pair<QByteArray, QByteArray>;

/**
 * AWS Signature Version 4 for header-based authentication (`Authorization: AWS4-HMAC-SHA256 ...`).
 *
 * The canonical pieces follow the S3 rules: each path segment is percent-encoded once (S3 does
 * not double-encode, unlike the other AWS services), slashes are kept; query parameters are
 * encoded with the RFC 3986 unreserved set (`A-Z a-z 0-9 - _ . ~`, space as `%20`, never `+`)
 * and sorted by encoded key, then value; header names are lowercased and sorted, values trimmed
 * with inner runs of spaces collapsed, repeated headers joined with `,`.
 *
 * The time is a parameter, so tests sign the published example requests at their dates.
 */
namespace sigv4 {

inline constexpr auto Algorithm = "AWS4-HMAC-SHA256";
/// The payload hash of a body that is streamed unsigned (`x-amz-content-sha256`).
inline constexpr auto UnsignedPayload = "UNSIGNED-PAYLOAD";
/// SHA-256 of the empty body.
inline constexpr auto EmptyPayloadHash =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Percent-encodes UTF-8 bytes: everything but the unreserved set, upper-case hex digits;
/// `/` is kept when `encodeSlash` is false.
[[nodiscard]] QByteArray uriEncode(QByteArrayView utf8, bool encodeSlash = true);

/// The canonical URI of a decoded path (`/bucket/my key` → `/bucket/my%20key`).
[[nodiscard]] QByteArray canonicalUri(const QString &decodedPath);

/// The canonical query string of decoded parameters; also what goes on the wire.
[[nodiscard]] QByteArray canonicalQueryString(const QList<QueryItem> &query);

/// `20130524T000000Z` (UTC).
[[nodiscard]] QByteArray amzDate(const QDateTime &time);

/// Lowercase hex SHA-256 of `data`: the signed payload hash of a body held in memory.
[[nodiscard]] QByteArray payloadHash(QByteArrayView data);

} // namespace sigv4

/// What is signed: method, decoded path and query, and the headers to sign (including `host`).
struct SigningRequest {
    QByteArray method;
    QString path = QStringLiteral("/");
    QList<QueryItem> query;
    QList<HeaderItem> headers;
    /// Hex SHA-256 of the body, or sigv4::UnsignedPayload.
    QByteArray payloadHash = sigv4::EmptyPayloadHash;
};

/// The signature and everything that led to it (kept for tests and for debugging mismatches).
struct SignedRequest {
    /// Headers the caller must send in addition to its own: `x-amz-date`,
    /// `x-amz-security-token` (with temporary credentials) and `Authorization`.
    QList<HeaderItem> headersToAdd;
    QByteArray authorization;
    QByteArray canonicalRequest;
    QByteArray stringToSign;
    QByteArray signedHeaders;
    QByteArray signature; ///< Lowercase hex.
};

/**
 * Signs requests for one set of credentials in one region and service.
 * Cheap to copy; holds the credentials, never prints them.
 */
class SigV4Signer {
public:
    SigV4Signer(Credentials credentials, QString region, QString service = QStringLiteral("s3"));

    /**
     * Signs `request` as sent at `time`. Adds `x-amz-date` (and `x-amz-security-token` when the
     * credentials have a session token) to the signed headers unless already present.
     */
    [[nodiscard]] SignedRequest sign(const SigningRequest &request, const QDateTime &time) const;

    /// The derived key: HMAC chain of date, region, service and `aws4_request`.
    [[nodiscard]] QByteArray signingKey(const QDate &date) const;

    [[nodiscard]] QString region() const { return m_region; }
    [[nodiscard]] QString service() const { return m_service; }
    [[nodiscard]] const Credentials &credentials() const { return m_credentials; }

private:
    Credentials m_credentials;
    QString m_region;
    QString m_service;
};

} // namespace ferry::s3
