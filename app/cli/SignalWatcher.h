#pragma once

#include <QObject>

class QSocketNotifier;

namespace ferry::cli {

/**
 * Turns SIGINT and SIGTERM into a Qt signal on the thread that created the watcher
 * (self-pipe: the handler only writes the signal number to a pipe).
 */
class SignalWatcher : public QObject {
    Q_OBJECT
public:
    explicit SignalWatcher(QObject *parent = nullptr);
    ~SignalWatcher() override;

signals:
    void signalled(int signalNumber);

private:
    QSocketNotifier *m_notifier = nullptr;
};

} // namespace ferry::cli
