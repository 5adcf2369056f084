#pragma once

#include <QFile>
#include <QIODevice>

namespace ferry::s3 {

/**
 * A read-only, random-access QIODevice over the bytes [offset, offset + length) of a file:
 * the body of an UploadPart request. The file is read in the chunks the consumer asks for, so
 * a part is never held in memory whole.
 *
 * open() fails (with errorString()) when the file cannot be opened or is shorter than the
 * range; a file that shrinks while being read ends the read with an error.
 */
class FileRangeDevice : public QIODevice {
    Q_OBJECT
public:
    FileRangeDevice(const QString &path, qint64 offset, qint64 length, QObject *parent = nullptr);
    ~FileRangeDevice() override;

    /// Only QIODevice::ReadOnly is accepted.
    bool open(OpenMode mode) override;
    void close() override;

    [[nodiscard]] bool isSequential() const override { return false; }
    [[nodiscard]] qint64 size() const override { return m_length; }
    bool seek(qint64 pos) override;
    [[nodiscard]] bool atEnd() const override;

    [[nodiscard]] QString path() const { return m_file.fileName(); }
    [[nodiscard]] qint64 offset() const { return m_offset; }

protected:
    qint64 readData(char *data, qint64 maxSize) override;
    qint64 writeData(const char *data, qint64 maxSize) override;

private:
    QFile m_file;
    qint64 m_offset;
    qint64 m_length;
};

} // namespace ferry::s3
