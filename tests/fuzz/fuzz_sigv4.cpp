// Fuzz target: the SigV4 canonicalizer and signer (SigV4).
//
// Input format (so that seeds stay readable): line 1 the method, line 2 the decoded path, then
// `key=value` query lines up to an empty line, then `Name: value` header lines. Checks: the
// URI encoding decodes back to its input and uses only the unreserved set and `%XX`; the
// canonical query string does not depend on the parameters' order; the signature is 64 hex
// digits and the secret never appears in what is sent or logged.

#include "FuzzCheck.h"
#include "app/s3/SigV4.h"

#include <QDateTime>

#include <algorithm>
#include <cstddef>
#include <cstdint>

using namespace ferry::s3;

namespace {

bool isCanonicalEncoding(const QByteArray &encoded, bool slashAllowed)
{
    for (qsizetype i = 0; i < encoded.size(); ++i) {
        const char c = encoded.at(i);
        const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                                (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
                                c == '~' || (slashAllowed && c == '/');
        if (unreserved)
            continue;
        if (c != '%' || i + 2 >= encoded.size())
            return false;
        for (const char digit : {encoded.at(i + 1), encoded.at(i + 2)})
            if (!((digit >= '0' && digit <= '9') || (digit >= 'A' && digit <= 'F')))
                return false;
        i += 2;
    }
    return true;
}

SigningRequest requestFrom(const QByteArray &input)
{
    const QList<QByteArray> lines = input.split('\n');
    SigningRequest request;
    request.method = lines.value(0);
    request.path = QString::fromUtf8(lines.value(1));
    qsizetype i = 2;
    for (; i < lines.size() && !lines.at(i).isEmpty(); ++i) {
        const QByteArray &line = lines.at(i);
        const auto eq = line.indexOf('=');
        request.query.append({QString::fromUtf8(eq < 0 ? line : line.left(eq)),
                              eq < 0 ? QString() : QString::fromUtf8(line.mid(eq + 1))});
    }
    for (++i; i < lines.size(); ++i) {
        const QByteArray &line = lines.at(i);
        const auto colon = line.indexOf(':');
        if (colon > 0)
            request.headers.append({line.left(colon), line.mid(colon + 1)});
    }
    if (!std::any_of(request.headers.cbegin(), request.headers.cend(),
                     [](const HeaderItem &h) { return h.first.toLower() == "host"; }))
        request.headers.append(HeaderItem("Host", "127.0.0.1:9000"));
    return request;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const QByteArray input(reinterpret_cast<const char *>(data), static_cast<qsizetype>(size));

    for (const bool encodeSlash : {true, false}) {
        const QByteArray encoded = sigv4::uriEncode(input, encodeSlash);
        FUZZ_CHECK(isCanonicalEncoding(encoded, !encodeSlash));
        FUZZ_CHECK(QByteArray::fromPercentEncoding(encoded) == input);
    }

    const SigningRequest request = requestFrom(input);
    const QByteArray uri = sigv4::canonicalUri(request.path);
    FUZZ_CHECK(uri.startsWith('/'));
    FUZZ_CHECK(isCanonicalEncoding(uri, true));

    QList<QueryItem> reversed = request.query;
    std::reverse(reversed.begin(), reversed.end());
    FUZZ_CHECK(sigv4::canonicalQueryString(reversed) == sigv4::canonicalQueryString(request.query));

    static const QByteArray secret = "fuzzSECRETkey/wJalrXUtnFEMIK7MDENGbPxRfiCY";
    const SigV4Signer signer(
        Credentials{QStringLiteral("AKIAFUZZ"), QString::fromLatin1(secret), QString()},
        QStringLiteral("us-east-1"));
    const QDateTime time(QDate(2024, 5, 24), QTime(12, 0), Qt::UTC);
    const SignedRequest signedRequest = signer.sign(request, time);
    FUZZ_CHECK(signedRequest.signature.size() == 64);
    FUZZ_CHECK(!signedRequest.signature.contains(secret));
    FUZZ_CHECK(!signedRequest.authorization.contains(secret) || input.contains(secret));
    FUZZ_CHECK(signedRequest.signedHeaders.contains("host"));
    FUZZ_CHECK(signedRequest.signedHeaders.contains("x-amz-date"));
    // Signing is a pure function of the request and the time.
    FUZZ_CHECK(signer.sign(request, time).signature == signedRequest.signature);
    return 0;
}
