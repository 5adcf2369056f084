// Fuzz target: every S3 XML response parser (S3Xml) and the error mapping built on them
// (S3Error::fromResponse). Any body must give a result or an error message: no crash, no hang,
// no undefined behaviour; a parsed listing keeps the invariants the sync engine relies on.

#include "FuzzCheck.h"
#include "app/s3/S3Error.h"
#include "app/s3/S3Xml.h"

#include <cstddef>
#include <cstdint>

using namespace ferry::s3;

namespace {

template <typename Result> void checkErrorText(const Result &result)
{
    if (!result)
        FUZZ_CHECK(!result.error().isEmpty());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const QByteArray body =
        QByteArray::fromRawData(reinterpret_cast<const char *>(data), static_cast<qsizetype>(size));

    (void)xml::rootElementName(body);

    const auto error = xml::parseError(body);
    checkErrorText(error);
    if (error)
        FUZZ_CHECK(!error->code.isEmpty());

    const auto objects = xml::parseListObjectsV2(body);
    checkErrorText(objects);
    if (objects) {
        FUZZ_CHECK(!objects->isTruncated || !objects->nextContinuationToken.isEmpty());
        for (const auto &object : objects->objects)
            FUZZ_CHECK(object.size >= 0);
    }

    checkErrorText(xml::parseInitiateMultipartUpload(body));
    checkErrorText(xml::parseCompleteMultipartUpload(body));

    const auto uploads = xml::parseListMultipartUploads(body);
    checkErrorText(uploads);
    if (uploads)
        for (const auto &upload : uploads->uploads)
            FUZZ_CHECK(!upload.uploadId.isEmpty());

    const auto parts = xml::parseListParts(body);
    checkErrorText(parts);
    if (parts)
        for (const auto &part : parts->parts)
            FUZZ_CHECK(part.partNumber >= 0 && part.size >= 0);

    checkErrorText(xml::parseDeleteResult(body));

    // The error mapping for a spread of statuses; the first byte picks one.
    static constexpr int statuses[] = {200, 301, 307, 400, 403, 404, 409, 500, 503, 599};
    const int status = statuses[size == 0 ? 0 : data[0] % std::size(statuses)];
    S3ErrorContext context;
    context.operation = QStringLiteral("fuzzed request");
    context.endpoint = QStringLiteral("127.0.0.1:9000");
    context.bucket = QStringLiteral("bucket");
    context.key = size % 2 ? QStringLiteral("key") : QString();
    const S3Error mapped = S3Error::fromResponse(
        status, body, context, size % 3 ? QString() : QStringLiteral("eu-west-1"));
    FUZZ_CHECK(!mapped.message().isEmpty());
    FUZZ_CHECK(!mapped.isCancelled());
    (void)mapped.toString();
    return 0;
}
