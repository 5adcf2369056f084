// Fuzz target: the remote and endpoint address parsers (RemoteUrl::parse, Endpoint::fromUrl).
// Any input, UTF-8 or not, must give a value or an error with a message; an accepted address
// must survive its documented round trip through toString().

#include "FuzzCheck.h"
#include "app/s3/Endpoint.h"
#include "app/s3/RemoteUrl.h"

#include <cstddef>
#include <cstdint>

using namespace ferry::s3;

namespace {

void checkEndpoint(const Endpoint &endpoint)
{
    FUZZ_CHECK(!endpoint.host().isEmpty());
    FUZZ_CHECK(endpoint.effectivePort() > 0 && endpoint.effectivePort() <= 65535);
    const auto again = Endpoint::fromUrl(endpoint.toString());
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(*again == endpoint);
    FUZZ_CHECK(!endpoint.group().isEmpty());
    FUZZ_CHECK(!endpoint.displayName().isEmpty());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const QString text =
        QString::fromUtf8(reinterpret_cast<const char *>(data), static_cast<qsizetype>(size));

    if (const auto url = RemoteUrl::parse(text)) {
        FUZZ_CHECK(!url->bucket().isEmpty());
        FUZZ_CHECK(url->prefix().isEmpty() || url->prefix().endsWith(QLatin1Char('/')));
        checkEndpoint(url->endpoint());
        const auto again = RemoteUrl::parse(url->toString());
        FUZZ_CHECK(again.has_value());
        FUZZ_CHECK(*again == *url);
        FUZZ_CHECK(!url->displayName().isEmpty());
        (void)url->endpoint().hostHeader(url->bucket());
    } else {
        FUZZ_CHECK(!url.error().message.isEmpty());
    }

    if (const auto endpoint = Endpoint::fromUrl(text))
        checkEndpoint(*endpoint);
    else
        FUZZ_CHECK(!endpoint.error().message.isEmpty());

    (void)regionFromAwsHost(text);
    return 0;
}
