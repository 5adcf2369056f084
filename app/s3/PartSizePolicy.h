#pragma once

#include <QString>

#include <expected>

namespace ferry::s3 {

/// S3's size limits.
namespace limits {
inline constexpr qint64 KiB = 1024;
inline constexpr qint64 MiB = 1024 * KiB;
inline constexpr qint64 GiB = 1024 * MiB;
inline constexpr qint64 TiB = 1024 * GiB;
inline constexpr qint64 MinPartSize = 5 * MiB; ///< Every part but the last.
inline constexpr qint64 MaxPartSize = 5 * GiB;
inline constexpr int MaxParts = 10'000;
inline constexpr qint64 MaxObjectSize = 5 * TiB;
inline constexpr qint64 MaxSinglePutSize = 5 * GiB;
} // namespace limits

/// The settings behind a PartSizePolicy (user-visible in the preferences).
struct PartSizeSettings {
    /// Files larger than this are uploaded in parts; others with one PutObject.
    qint64 multipartThreshold = 64 * limits::MiB;
    /// The preferred part size; grown for files that would need more than 10,000 parts.
    qint64 partSize = 16 * limits::MiB;
    /// The server's minimum part size. S3's 5 MiB; lower only for test servers that allow it.
    qint64 minimumPartSize = limits::MinPartSize;
};

/// How one file is uploaded.
struct UploadPlan {
    bool multipart = false;
    qint64 fileSize = 0;
    qint64 partSize = 0; ///< Every part's size but the last; the file size for a single PUT.
    int partCount = 1;   ///< 1 for a single PUT (also for an empty file).

    /// The byte offset of part `partNumber` (1-based).
    [[nodiscard]] qint64 partOffset(int partNumber) const { return (partNumber - 1) * partSize; }
    /// The size of part `partNumber` (1-based): partSize, or the rest for the last part.
    [[nodiscard]] qint64 partLength(int partNumber) const;
    [[nodiscard]] qint64 lastPartSize() const { return partLength(partCount); }
};

/**
 * Decides between PutObject and a multipart upload, and the part size, within S3's limits:
 * parts of at least the minimum part size (5 MiB) except the last, at most 10,000 parts, at
 * most 5 GiB per part, at most 5 TiB per object. For files that would need more than 10,000
 * parts of the preferred size, the part size grows (in whole MiB) to the smallest that fits.
 */
class PartSizePolicy {
public:
    /// Settings are checked by plan(): impossible settings are reported there.
    explicit PartSizePolicy(PartSizeSettings settings = {}) : m_settings(settings) {}

    [[nodiscard]] const PartSizeSettings &settings() const { return m_settings; }

    /// The plan for a file of `fileSize` bytes, or a message for the user saying why it cannot
    /// be uploaded (negative size, larger than 5 TiB, or impossible settings).
    [[nodiscard]] std::expected<UploadPlan, QString> plan(qint64 fileSize) const;

    /// Whether the settings are usable; the message names the setting and the allowed range.
    [[nodiscard]] std::expected<void, QString> validate() const;

private:
    PartSizeSettings m_settings;
};

} // namespace ferry::s3
