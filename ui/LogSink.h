#pragma once

#include <QObject>
#include <QString>

namespace ferry {

/**
 * Forwards the application's log messages (every logging category) to the log view.
 * install() chains Qt's message handler: messages still reach the terminal or journal, and
 * messageLogged() is emitted from whichever thread logged (connect queued).
 */
class LogSink : public QObject {
    Q_OBJECT
public:
    /// The process-wide sink (created on first use).
    static LogSink *instance();
    /// Installs the message handler once; later calls do nothing.
    static void install();

signals:
    void messageLogged(int type, const QString &category, const QString &message);

private:
    LogSink() = default;
};

} // namespace ferry
