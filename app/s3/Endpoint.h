#pragma once

#include <QString>

#include <expected>

namespace ferry::s3 {

/// Why an address could not be parsed; `message` names the cause and the fix, for the user.
struct UrlError {
    enum class Cause {
        Empty,            ///< Nothing was entered.
        Malformed,        ///< Not an address at all (no scheme, fragment, empty path segment...).
        UnknownScheme,    ///< A scheme other than s3, https, http.
        CredentialsInUrl, ///< user:password@host — credentials belong in the keychain.
        MissingHost,      ///< Nothing between `//` and the path.
        InvalidHost,      ///< Characters a host name cannot contain.
        InvalidPort,      ///< Empty, not a number, 0 or above 65535.
        MissingBucket,    ///< No bucket after the host (where one is required).
        InvalidBucket,    ///< A bucket name that breaks S3's naming rules.
        UnexpectedPath,   ///< A path where only an endpoint was expected.
        InvalidOption,    ///< An unknown query option, or a bad value for a known one.
    };
    Cause cause = Cause::Malformed;
    QString message;
};

/// How requests name the bucket: in the path or in the host name.
enum class AddressingStyle {
    /// Virtual-hosted style on AWS hosts (`*.amazonaws.com`, no explicit port, no dot in the
    /// bucket name), path style everywhere else. See Endpoint::usesPathStyle().
    Auto,
    Path,          ///< `https://host/bucket/key`
    VirtualHosted, ///< `https://bucket.host/key`
};

/**
 * An S3-compatible service: scheme, host, port, region and addressing style.
 *
 * Text form (parsed by fromUrl(), or as the first half of a RemoteUrl):
 *  - `s3://HOST[:PORT]` — HTTPS (the default, TLS always verified);
 *  - `https://HOST[:PORT]` — the same;
 *  - `http://HOST[:PORT]` — plain HTTP, only when spelled out;
 *  - options as a query: `?region=eu-west-1&addressing=path|virtual|auto`.
 *
 * The region defaults to `us-east-1`, or to the region named in an AWS host
 * (`s3.eu-west-1.amazonaws.com`).
 *
 * Addressing decision (AddressingStyle::Auto): path style unless the host is an AWS host.
 * S3-compatible servers (MinIO, Ceph RGW, Swift s3api) answer path-style requests out of the
 * box, while virtual-hosted style needs wildcard DNS that IP addresses, `localhost` and most
 * self-hosted names (typically reached through an explicit port) do not have. On AWS, buckets
 * whose names contain dots also use path style, since `a.b.s3.amazonaws.com` does not match
 * the wildcard TLS certificate.
 */
class Endpoint {
public:
    /// Parses an endpoint address (no bucket). See the class comment for the accepted forms.
    [[nodiscard]] static std::expected<Endpoint, UrlError> fromUrl(const QString &text);

    [[nodiscard]] bool isSecure() const { return m_secure; }
    [[nodiscard]] QString scheme() const;
    /// Lowercase host; IPv6 addresses without brackets.
    [[nodiscard]] QString host() const { return m_host; }
    /// The explicit port, or -1 when the scheme's default port is used.
    [[nodiscard]] int port() const { return m_port; }
    [[nodiscard]] int effectivePort() const;
    [[nodiscard]] QString region() const { return m_region; }
    [[nodiscard]] AddressingStyle addressingStyle() const { return m_style; }

    void setRegion(const QString &region) { m_region = region; }
    void setAddressingStyle(AddressingStyle style) { m_style = style; }

    /// Whether requests for `bucket` name the bucket in the path (see the class comment).
    [[nodiscard]] bool usesPathStyle(const QString &bucket) const;

    /// The `Host` header value for `bucket` (empty for service-level requests).
    [[nodiscard]] QString hostHeader(const QString &bucket = {}) const;

    /// `host` or `host:port` (port only when explicit), IPv6 in brackets.
    [[nodiscard]] QString authority() const;

    /**
     * The scheduler group of the endpoint: `s3://host` for HTTPS on port 443, else
     * `s3://host:port` (e.g. `s3://127.0.0.1:9000`, `s3://example.com:80` for plain HTTP).
     */
    [[nodiscard]] QString group() const;

    /// For messages: `play.min.io`, `minio.lan:9000`, `http://127.0.0.1:9000` (HTTP is shown).
    [[nodiscard]] QString displayName() const;

    /// The canonical text form, parseable by fromUrl(): `s3://host[:port]` or `http://...`,
    /// with `?region=` / `?addressing=` when they differ from what the host implies.
    [[nodiscard]] QString toString() const;

    /// `s3://host[:port]` or `http://host[:port]`: toString() without the options.
    [[nodiscard]] QString baseUrl() const;

    /// The options part of toString() without the `?` (empty when all options are implied).
    [[nodiscard]] QString optionsQuery() const;

    bool operator==(const Endpoint &) const = default;

private:
    friend struct EndpointParser;
    bool m_secure = true;
    QString m_host;
    int m_port = -1;
    QString m_region = QStringLiteral("us-east-1");
    AddressingStyle m_style = AddressingStyle::Auto;
};

/// The region S3 uses when none is given.
inline constexpr auto DefaultRegion = "us-east-1";

/// The region named by an AWS host name (`s3.eu-west-1.amazonaws.com` → `eu-west-1`), else
/// an empty string.
[[nodiscard]] QString regionFromAwsHost(const QString &host);

namespace detail {

/// An endpoint plus the percent-decoded path that followed it (starting with `/`, or empty).
struct ParsedAddress {
    Endpoint endpoint;
    QString path;
};

/// The shared first half of Endpoint::fromUrl() and RemoteUrl::parse().
[[nodiscard]] std::expected<ParsedAddress, UrlError> parseAddress(const QString &text);

} // namespace detail

} // namespace ferry::s3
