#include "Endpoint.h"

#include <QCoreApplication>
#include <QHostAddress>
#include <QRegularExpression>
#include <QUrl>
#include <QUrlQuery>

namespace ferry::s3 {

namespace {

QString tr(const char *text)
{
    return QCoreApplication::translate("ferry::s3::Endpoint", text);
}

std::unexpected<UrlError> fail(UrlError::Cause cause, const QString &message)
{
    return std::unexpected(UrlError{cause, message});
}

bool isAwsHost(const QString &host)
{
    return host.endsWith(QLatin1String(".amazonaws.com")) ||
           host.endsWith(QLatin1String(".amazonaws.com.cn"));
}

bool isValidRegion(const QString &region)
{
    static const QRegularExpression pattern(QStringLiteral("^[a-z0-9]+(-[a-z0-9]+)*$"));
    return pattern.match(region).hasMatch();
}

} // namespace

QString regionFromAwsHost(const QString &host)
{
    // s3.eu-west-1.amazonaws.com, s3-eu-west-1.amazonaws.com, s3.dualstack.eu-west-1...,
    // bucket.s3.eu-west-1.amazonaws.com; plain s3.amazonaws.com is us-east-1.
    static const QRegularExpression pattern(QStringLiteral(
        "(?:^|\\.)s3(?:[.-]dualstack)?[.-]([a-z0-9-]+)\\.amazonaws\\.com(?:\\.cn)?$"));
    const auto match = pattern.match(host);
    if (!match.hasMatch())
        return {};
    const QString region = match.captured(1);
    if (region == QLatin1String("external-1"))
        return QStringLiteral("us-east-1");
    return region;
}

struct EndpointParser {
    static std::expected<detail::ParsedAddress, UrlError> parse(const QString &input);
    static std::expected<void, UrlError> parseAuthority(const QString &authority,
                                                        const QString &input, Endpoint &out);
    static std::expected<void, UrlError> parseOptions(const QString &query, Endpoint &out);
};

std::expected<void, UrlError> EndpointParser::parseAuthority(const QString &authority,
                                                             const QString &input, Endpoint &out)
{
    using Cause = UrlError::Cause;
    if (authority.contains(QLatin1Char('@')))
        return fail(Cause::CredentialsInUrl,
                    tr("The address `%1` contains a user name or password: remove the part "
                       "before `@` and enter the keys in the profile's credentials instead.")
                        .arg(input));
    if (authority.isEmpty())
        return fail(Cause::MissingHost,
                    tr("The address `%1` has no host: write it as s3://HOST/BUCKET.").arg(input));

    QString host;
    QString portText;
    bool hasPort = false;
    if (authority.startsWith(QLatin1Char('['))) {
        const auto close = authority.indexOf(QLatin1Char(']'));
        if (close < 0)
            return fail(Cause::InvalidHost,
                        tr("The IPv6 address in `%1` lacks its closing `]`.").arg(input));
        host = authority.mid(1, close - 1);
        QHostAddress address;
        if (!address.setAddress(host) || address.protocol() != QAbstractSocket::IPv6Protocol)
            return fail(Cause::InvalidHost, tr("`%1` is not a valid IPv6 address.").arg(host));
        const QString rest = authority.mid(close + 1);
        if (!rest.isEmpty()) {
            if (!rest.startsWith(QLatin1Char(':')))
                return fail(Cause::InvalidHost,
                            tr("Unexpected `%1` after the IPv6 address in `%2`.").arg(rest, input));
            hasPort = true;
            portText = rest.mid(1);
        }
    } else {
        const auto colons = authority.count(QLatin1Char(':'));
        if (colons > 1)
            return fail(Cause::InvalidHost,
                        tr("The host in `%1` has several `:`: write IPv6 addresses in brackets, "
                           "as in s3://[::1]:9000/BUCKET.")
                            .arg(input));
        const auto colon = authority.indexOf(QLatin1Char(':'));
        host = colon < 0 ? authority : authority.left(colon);
        if (colon >= 0) {
            hasPort = true;
            portText = authority.mid(colon + 1);
        }
        if (host.isEmpty())
            return fail(Cause::MissingHost,
                        tr("The address `%1` has a port but no host: write it as "
                           "s3://HOST:PORT/BUCKET.")
                            .arg(input));
        for (const QChar c : host) {
            if (!(c.isLetterOrNumber() || c == QLatin1Char('-') || c == QLatin1Char('.') ||
                  c == QLatin1Char('_')))
                return fail(Cause::InvalidHost,
                            tr("The host `%1` contains `%2`, which a host name cannot contain.")
                                .arg(host, QString(c)));
        }
        if (host.startsWith(QLatin1Char('.')) || host.endsWith(QLatin1Char('.')) ||
            host.contains(QLatin1String("..")))
            return fail(Cause::InvalidHost,
                        tr("The host `%1` has an empty label (a leading, trailing or doubled "
                           "dot).")
                            .arg(host));
        const QByteArray ace = QUrl::toAce(host);
        if (ace.isEmpty())
            return fail(Cause::InvalidHost, tr("`%1` is not a valid host name.").arg(host));
        host = QString::fromLatin1(ace).toLower();
    }
    out.m_host = host.toLower();

    if (hasPort) {
        if (portText.isEmpty())
            return fail(Cause::InvalidPort,
                        tr("The address `%1` has a `:` but no port after it: add the port "
                           "number or remove the `:`.")
                            .arg(input));
        for (const QChar c : portText)
            if (!c.isDigit() || c.unicode() > 127)
                return fail(Cause::InvalidPort,
                            tr("The port `%1` in `%2` is not a number: ports are numbers "
                               "from 1 to 65535.")
                                .arg(portText, input));
        const qint64 port = portText.size() > 6 ? 1'000'000 : portText.toLongLong();
        if (port == 0 || port > 65535)
            return fail(Cause::InvalidPort, tr("The port %1 in `%2` is out of range: ports are "
                                               "numbers from 1 to 65535.")
                                                .arg(portText, input));
        const int defaultPort = out.m_secure ? 443 : 80;
        out.m_port = port == defaultPort ? -1 : int(port);
    }
    return {};
}

std::expected<void, UrlError> EndpointParser::parseOptions(const QString &query, Endpoint &out)
{
    using Cause = UrlError::Cause;
    const QUrlQuery options(query);
    for (const auto &[key, value] : options.queryItems(QUrl::FullyDecoded)) {
        if (key == QLatin1String("region")) {
            if (!isValidRegion(value))
                return fail(Cause::InvalidOption,
                            tr("The region `%1` is not valid: regions look like `us-east-1` "
                               "(lowercase letters, digits and hyphens).")
                                .arg(value));
            out.m_region = value;
        } else if (key == QLatin1String("addressing")) {
            if (value == QLatin1String("path"))
                out.m_style = AddressingStyle::Path;
            else if (value == QLatin1String("virtual"))
                out.m_style = AddressingStyle::VirtualHosted;
            else if (value == QLatin1String("auto"))
                out.m_style = AddressingStyle::Auto;
            else
                return fail(Cause::InvalidOption,
                            tr("The addressing `%1` is unknown: use `path`, `virtual` or "
                               "`auto`.")
                                .arg(value));
        } else {
            return fail(Cause::InvalidOption,
                        tr("The option `%1` is unknown: the address accepts `region` and "
                           "`addressing`.")
                            .arg(key));
        }
    }
    return {};
}

std::expected<detail::ParsedAddress, UrlError> EndpointParser::parse(const QString &input)
{
    using Cause = UrlError::Cause;
    const QString text = input.trimmed();
    if (text.isEmpty())
        return fail(Cause::Empty, tr("The address is empty: enter one like s3://HOST/BUCKET."));

    const auto schemeEnd = text.indexOf(QLatin1String("://"));
    if (schemeEnd <= 0)
        return fail(Cause::Malformed,
                    tr("`%1` is not an address: write it as s3://HOST/BUCKET (HTTPS) or "
                       "http://HOST:PORT/BUCKET (plain HTTP).")
                        .arg(text));
    const QString scheme = text.left(schemeEnd).toLower();
    detail::ParsedAddress parsed;
    Endpoint &endpoint = parsed.endpoint;
    if (scheme == QLatin1String("s3") || scheme == QLatin1String("https")) {
        endpoint.m_secure = true;
    } else if (scheme == QLatin1String("http")) {
        endpoint.m_secure = false;
    } else {
        return fail(Cause::UnknownScheme,
                    tr("The scheme `%1` in `%2` is not supported: use s3:// or https:// for "
                       "HTTPS, or http:// for plain HTTP.")
                        .arg(text.left(schemeEnd), text));
    }

    QString rest = text.mid(schemeEnd + 3);
    if (rest.contains(QLatin1Char('#')))
        return fail(Cause::Malformed,
                    tr("The address `%1` contains `#`: remove it and what follows.").arg(text));
    QString query;
    if (const auto q = rest.indexOf(QLatin1Char('?')); q >= 0) {
        query = rest.mid(q + 1);
        rest.truncate(q);
    }
    const auto slash = rest.indexOf(QLatin1Char('/'));
    const QString authority = slash < 0 ? rest : rest.left(slash);
    const QString rawPath = slash < 0 ? QString() : rest.mid(slash);

    if (auto ok = parseAuthority(authority, text, endpoint); !ok)
        return std::unexpected(ok.error());

    if (const QString inferred = regionFromAwsHost(endpoint.m_host); !inferred.isEmpty())
        endpoint.m_region = inferred;
    if (auto ok = parseOptions(query, endpoint); !ok)
        return std::unexpected(ok.error());

    parsed.path = QUrl::fromPercentEncoding(rawPath.toUtf8());
    return parsed;
}

std::expected<detail::ParsedAddress, UrlError> detail::parseAddress(const QString &text)
{
    return EndpointParser::parse(text);
}

std::expected<Endpoint, UrlError> Endpoint::fromUrl(const QString &text)
{
    auto parsed = detail::parseAddress(text);
    if (!parsed)
        return std::unexpected(parsed.error());
    if (!parsed->path.isEmpty() && parsed->path != QLatin1String("/"))
        return fail(UrlError::Cause::UnexpectedPath,
                    tr("`%1` names a path (`%2`) where only an endpoint is expected: remove "
                       "it.")
                        .arg(text.trimmed(), parsed->path));
    return parsed->endpoint;
}

QString Endpoint::scheme() const
{
    return m_secure ? QStringLiteral("https") : QStringLiteral("http");
}

int Endpoint::effectivePort() const
{
    if (m_port > 0)
        return m_port;
    return m_secure ? 443 : 80;
}

bool Endpoint::usesPathStyle(const QString &bucket) const
{
    switch (m_style) {
    case AddressingStyle::Path:
        return true;
    case AddressingStyle::VirtualHosted:
        return bucket.isEmpty();
    case AddressingStyle::Auto:
        break;
    }
    return bucket.isEmpty() || !isAwsHost(m_host) || m_port > 0 ||
           bucket.contains(QLatin1Char('.'));
}

QString Endpoint::authority() const
{
    QString text =
        m_host.contains(QLatin1Char(':')) ? QLatin1Char('[') + m_host + QLatin1Char(']') : m_host;
    if (m_port > 0)
        text += QLatin1Char(':') + QString::number(m_port);
    return text;
}

QString Endpoint::hostHeader(const QString &bucket) const
{
    if (usesPathStyle(bucket))
        return authority();
    return bucket + QLatin1Char('.') + authority();
}

QString Endpoint::group() const
{
    const QString host =
        m_host.contains(QLatin1Char(':')) ? QLatin1Char('[') + m_host + QLatin1Char(']') : m_host;
    if (m_secure && effectivePort() == 443)
        return QStringLiteral("s3://") + host;
    return QStringLiteral("s3://%1:%2").arg(host).arg(effectivePort());
}

QString Endpoint::displayName() const
{
    return m_secure ? authority() : QStringLiteral("http://") + authority();
}

QString Endpoint::baseUrl() const
{
    return (m_secure ? QStringLiteral("s3://") : QStringLiteral("http://")) + authority();
}

QString Endpoint::optionsQuery() const
{
    QUrlQuery options;
    const QString implied = regionFromAwsHost(m_host);
    if (m_region != (implied.isEmpty() ? QLatin1String(DefaultRegion) : implied))
        options.addQueryItem(QStringLiteral("region"), m_region);
    if (m_style == AddressingStyle::Path)
        options.addQueryItem(QStringLiteral("addressing"), QStringLiteral("path"));
    else if (m_style == AddressingStyle::VirtualHosted)
        options.addQueryItem(QStringLiteral("addressing"), QStringLiteral("virtual"));
    return options.toString(QUrl::FullyEncoded);
}

QString Endpoint::toString() const
{
    const QString options = optionsQuery();
    return options.isEmpty() ? baseUrl() : baseUrl() + QLatin1Char('?') + options;
}

} // namespace ferry::s3
