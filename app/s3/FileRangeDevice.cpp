#include "FileRangeDevice.h"

namespace ferry::s3 {

FileRangeDevice::FileRangeDevice(const QString &path, qint64 offset, qint64 length, QObject *parent)
    : QIODevice(parent), m_file(path), m_offset(offset), m_length(length)
{
}

FileRangeDevice::~FileRangeDevice() = default;

bool FileRangeDevice::open(OpenMode mode)
{
    if ((mode & (WriteOnly | Append | Truncate)) || !(mode & ReadOnly)) {
        setErrorString(tr("a file range can only be opened for reading"));
        return false;
    }
    if (m_offset < 0 || m_length < 0) {
        setErrorString(tr("invalid range: offset %1, length %2").arg(m_offset).arg(m_length));
        return false;
    }
    // Unbuffered: reads go straight into the caller's buffer (Qt's upload chunks, digest chunks).
    if (!m_file.open(QIODevice::ReadOnly | QIODevice::Unbuffered)) {
        setErrorString(m_file.errorString());
        return false;
    }
    if (m_file.size() < m_offset + m_length) {
        setErrorString(tr("the file has %1 bytes, fewer than the range's end at %2")
                           .arg(m_file.size())
                           .arg(m_offset + m_length));
        m_file.close();
        return false;
    }
    if (!m_file.seek(m_offset)) {
        setErrorString(m_file.errorString());
        m_file.close();
        return false;
    }
    // Unbuffered: QIODevice's own buffer would only copy what QFile already buffers.
    return QIODevice::open(ReadOnly | Unbuffered);
}

void FileRangeDevice::close()
{
    QIODevice::close();
    m_file.close();
}

bool FileRangeDevice::seek(qint64 pos)
{
    if (pos < 0 || pos > m_length)
        return false;
    if (!QIODevice::seek(pos))
        return false;
    return m_file.seek(m_offset + pos);
}

bool FileRangeDevice::atEnd() const
{
    return !isOpen() || pos() >= m_length;
}

qint64 FileRangeDevice::readData(char *data, qint64 maxSize)
{
    const qint64 remaining = m_length - (m_file.pos() - m_offset);
    if (remaining <= 0)
        return -1; // end of the range
    const qint64 read = m_file.read(data, qMin(maxSize, remaining));
    if (read <= 0) {
        setErrorString(read < 0 ? m_file.errorString()
                                : tr("the file ended before the range did (was it truncated?)"));
        return -1;
    }
    return read;
}

qint64 FileRangeDevice::writeData(const char *, qint64)
{
    setErrorString(tr("a file range is read-only"));
    return -1;
}

} // namespace ferry::s3
