#pragma once

#include "Endpoint.h"

#include <QString>

#include <expected>

namespace ferry::s3 {

/**
 * A place in S3: endpoint, bucket and key prefix — what a sync profile points at.
 *
 * Text form: `s3://HOST[:PORT]/BUCKET[/PREFIX]` (HTTPS), `https://...` (the same) and
 * `http://...` (plain HTTP, only when spelled out), with the endpoint options of Endpoint
 * (`?region=...&addressing=...`). The URL always names the bucket in its path, whatever
 * addressing style the requests then use.
 *
 * The prefix is a folder: it is percent-decoded, and a trailing `/` is added when missing
 * (`s3://h/b/photos` and `s3://h/b/photos/` both give the prefix `photos/`). Empty folder names
 * (`a//b`) and `.`/`..` segments are rejected.
 */
class RemoteUrl {
public:
    [[nodiscard]] static std::expected<RemoteUrl, UrlError> parse(const QString &text);

    [[nodiscard]] const Endpoint &endpoint() const { return m_endpoint; }
    [[nodiscard]] QString bucket() const { return m_bucket; }
    /// Empty, or ends with `/`.
    [[nodiscard]] QString prefix() const { return m_prefix; }

    /// The canonical text form: parse(toString()) gives an equal RemoteUrl.
    [[nodiscard]] QString toString() const;

    /// For people: `play.min.io/photos/2024/` (decoded; plain HTTP shown as `http://...`).
    [[nodiscard]] QString displayName() const;

    bool operator==(const RemoteUrl &) const = default;

private:
    Endpoint m_endpoint;
    QString m_bucket;
    QString m_prefix;
};

} // namespace ferry::s3
