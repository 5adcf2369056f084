#include "SigV4.h"

#include <QCryptographicHash>
#include <QMessageAuthenticationCode>

#include <algorithm>

namespace ferry::s3 {

namespace {

bool isUnreserved(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

QByteArray hmac(QByteArrayView key, QByteArrayView message)
{
    return QMessageAuthenticationCode::hash(message.toByteArray(), key.toByteArray(),
                                            QCryptographicHash::Sha256);
}

// Trims and collapses runs of spaces (and tabs) into one space, as SigV4 wants header values.
QByteArray canonicalHeaderValue(const QByteArray &value)
{
    QByteArray out;
    out.reserve(value.size());
    bool pendingSpace = false;
    for (const char c : value.trimmed()) {
        if (c == ' ' || c == '\t') {
            pendingSpace = true;
            continue;
        }
        if (pendingSpace)
            out += ' ';
        pendingSpace = false;
        out += c;
    }
    return out;
}

} // namespace

namespace sigv4 {

QByteArray uriEncode(QByteArrayView utf8, bool encodeSlash)
{
    static constexpr char hex[] = "0123456789ABCDEF";
    QByteArray out;
    out.reserve(utf8.size() * 3);
    for (const char c : utf8) {
        if (isUnreserved(c) || (c == '/' && !encodeSlash)) {
            out += c;
        } else {
            const auto byte = static_cast<unsigned char>(c);
            out += '%';
            out += hex[byte >> 4];
            out += hex[byte & 0x0f];
        }
    }
    return out;
}

QByteArray canonicalUri(const QString &decodedPath)
{
    if (decodedPath.isEmpty())
        return QByteArrayLiteral("/");
    QByteArray uri = uriEncode(decodedPath.toUtf8(), false);
    if (!uri.startsWith('/'))
        uri.prepend('/');
    return uri;
}

QByteArray canonicalQueryString(const QList<QueryItem> &query)
{
    QList<std::pair<QByteArray, QByteArray>> encoded;
    encoded.reserve(query.size());
    for (const auto &[key, value] : query)
        encoded.append({uriEncode(key.toUtf8()), uriEncode(value.toUtf8())});
    std::sort(encoded.begin(), encoded.end());
    QByteArray out;
    for (const auto &[key, value] : encoded) {
        if (!out.isEmpty())
            out += '&';
        out += key + '=' + value;
    }
    return out;
}

QByteArray amzDate(const QDateTime &time)
{
    return time.toUTC().toString(QStringLiteral("yyyyMMdd'T'HHmmss'Z'")).toLatin1();
}

QByteArray payloadHash(QByteArrayView data)
{
    return QCryptographicHash::hash(data, QCryptographicHash::Sha256).toHex();
}

} // namespace sigv4

SigV4Signer::SigV4Signer(Credentials credentials, QString region, QString service)
    : m_credentials(std::move(credentials)), m_region(std::move(region)),
      m_service(std::move(service))
{
}

QByteArray SigV4Signer::signingKey(const QDate &date) const
{
    const QByteArray dateKey = hmac("AWS4" + m_credentials.secretAccessKey.toUtf8(),
                                    date.toString(QStringLiteral("yyyyMMdd")).toLatin1());
    const QByteArray regionKey = hmac(dateKey, m_region.toUtf8());
    const QByteArray serviceKey = hmac(regionKey, m_service.toUtf8());
    return hmac(serviceKey, "aws4_request");
}

SignedRequest SigV4Signer::sign(const SigningRequest &request, const QDateTime &time) const
{
    SignedRequest result;
    const QDateTime utc = time.toUTC();
    const QByteArray timestamp = sigv4::amzDate(utc);

    // Lowercased names; repeated headers joined in their order of appearance.
    QList<std::pair<QByteArray, QByteArray>> headers;
    auto addHeader = [&headers](const QByteArray &name, const QByteArray &value) {
        const QByteArray lower = name.toLower();
        auto it = std::find_if(headers.begin(), headers.end(),
                               [&](const auto &h) { return h.first == lower; });
        if (it == headers.end())
            headers.append({lower, canonicalHeaderValue(value)});
        else
            it->second += ',' + canonicalHeaderValue(value);
    };
    for (const auto &[name, value] : request.headers)
        addHeader(name, value);
    auto has = [&headers](QByteArrayView name) {
        return std::any_of(headers.begin(), headers.end(),
                           [&](const auto &h) { return h.first == name; });
    };
    if (!has("x-amz-date")) {
        addHeader("x-amz-date", timestamp);
        result.headersToAdd.append({"x-amz-date", timestamp});
    }
    if (!m_credentials.sessionToken.isEmpty() && !has("x-amz-security-token")) {
        const QByteArray token = m_credentials.sessionToken.toUtf8();
        addHeader("x-amz-security-token", token);
        result.headersToAdd.append({"x-amz-security-token", token});
    }
    std::sort(headers.begin(), headers.end(),
              [](const auto &a, const auto &b) { return a.first < b.first; });

    QByteArray canonicalHeaders;
    for (const auto &[name, value] : headers) {
        canonicalHeaders += name + ':' + value + '\n';
        if (!result.signedHeaders.isEmpty())
            result.signedHeaders += ';';
        result.signedHeaders += name;
    }

    result.canonicalRequest = request.method.toUpper() + '\n' + sigv4::canonicalUri(request.path) +
                              '\n' + sigv4::canonicalQueryString(request.query) + '\n' +
                              canonicalHeaders + '\n' + result.signedHeaders + '\n' +
                              request.payloadHash;

    const QByteArray date = utc.date().toString(QStringLiteral("yyyyMMdd")).toLatin1();
    const QByteArray scope =
        date + '/' + m_region.toUtf8() + '/' + m_service.toUtf8() + "/aws4_request";
    result.stringToSign = QByteArray(sigv4::Algorithm) + '\n' + timestamp + '\n' + scope + '\n' +
                          sigv4::payloadHash(result.canonicalRequest);

    result.signature = hmac(signingKey(utc.date()), result.stringToSign).toHex();
    result.authorization =
        QByteArray(sigv4::Algorithm) + " Credential=" + m_credentials.accessKeyId.toUtf8() + '/' +
        scope + ", SignedHeaders=" + result.signedHeaders + ", Signature=" + result.signature;
    result.headersToAdd.append({"Authorization", result.authorization});
    return result;
}

} // namespace ferry::s3
