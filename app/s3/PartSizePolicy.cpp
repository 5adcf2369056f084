#include "PartSizePolicy.h"

#include <QCoreApplication>
#include <QLocale>

namespace ferry::s3 {

namespace {

QString tr(const char *text)
{
    return QCoreApplication::translate("ferry::s3::PartSizePolicy", text);
}

QString bytes(qint64 size)
{
    return QLocale::c().formattedDataSize(size, 2, QLocale::DataSizeIecFormat);
}

qint64 ceilDiv(qint64 a, qint64 b)
{
    return (a + b - 1) / b;
}

} // namespace

qint64 UploadPlan::partLength(int partNumber) const
{
    if (partNumber < 1 || partNumber > partCount)
        return 0;
    if (partNumber < partCount)
        return partSize;
    return fileSize - qint64(partCount - 1) * partSize;
}

std::expected<void, QString> PartSizePolicy::validate() const
{
    const auto &s = m_settings;
    if (s.minimumPartSize < 1 || s.minimumPartSize > limits::MinPartSize)
        return std::unexpected(tr("The minimum part size %1 is not possible: it must be between "
                                  "1 byte and %2.")
                                   .arg(bytes(s.minimumPartSize), bytes(limits::MinPartSize)));
    if (s.partSize < s.minimumPartSize || s.partSize > limits::MaxPartSize)
        return std::unexpected(
            tr("The part size %1 is not possible: choose between %2 and %3.")
                .arg(bytes(s.partSize), bytes(s.minimumPartSize), bytes(limits::MaxPartSize)));
    if (s.multipartThreshold < 0 || s.multipartThreshold > limits::MaxSinglePutSize)
        return std::unexpected(
            tr("The multipart threshold %1 is not possible: choose between "
               "0 bytes and %2 (the largest single upload).")
                .arg(bytes(s.multipartThreshold), bytes(limits::MaxSinglePutSize)));
    return {};
}

std::expected<UploadPlan, QString> PartSizePolicy::plan(qint64 fileSize) const
{
    if (auto valid = validate(); !valid)
        return std::unexpected(valid.error());
    if (fileSize < 0)
        return std::unexpected(tr("A file size of %1 bytes is not possible.").arg(fileSize));
    if (fileSize > limits::MaxObjectSize)
        return std::unexpected(tr("The file has %1, more than the %2 an S3 object can hold: it "
                                  "cannot be uploaded. Split it, or exclude it from the sync.")
                                   .arg(bytes(fileSize), bytes(limits::MaxObjectSize)));

    UploadPlan plan;
    plan.fileSize = fileSize;
    if (fileSize <= m_settings.multipartThreshold) {
        plan.partSize = fileSize;
        plan.partCount = 1;
        return plan;
    }

    plan.multipart = true;
    qint64 partSize = m_settings.partSize;
    if (ceilDiv(fileSize, partSize) > limits::MaxParts)
        partSize = ceilDiv(ceilDiv(fileSize, limits::MaxParts), limits::MiB) * limits::MiB;
    // 5 TiB / 10,000 parts rounds up to 525 MiB, far below 5 GiB: the maximum never binds here.
    plan.partSize = qMin(partSize, limits::MaxPartSize);
    plan.partCount = int(ceilDiv(fileSize, plan.partSize));
    return plan;
}

} // namespace ferry::s3
