#pragma once

#include <QJsonObject>
#include <QObject>
#include <QString>

#include <QCoro/QCoroTask>

#include <functional>
#include <optional>

class QLocalServer;
class QLocalSocket;

namespace ferry::cli {

/**
 * The control socket of the process that owns a data directory (`<dir>/ferry.sock`, readable
 * and writable by the user only). One JSON object per line in each direction: a request
 * (`{"cmd":"cancel","profile":"x"}`), then the answer's lines, the last with `"end":true`.
 */
class ControlServer : public QObject {
    Q_OBJECT
public:
    /// Answers one request: emits lines through `reply`, the last one ends the exchange.
    using Handler = std::function<QCoro::Task<QList<QJsonObject>>(QJsonObject request)>;

    ControlServer(QString dataDir, Handler handler, QObject *parent = nullptr);
    /// Listens; call only while holding the data directory (a stale socket is replaced).
    [[nodiscard]] bool listen(QString *error);

    [[nodiscard]] static QString socketPath(const QString &dataDir);

    /// Sends `request` to the owner of `dataDir`; nothing when no process listens.
    [[nodiscard]] static std::optional<QList<QJsonObject>>
    ask(const QString &dataDir, const QJsonObject &request, int timeoutMs = 60'000);

private:
    QCoro::Task<void> serve(QLocalSocket *socket);

    QString m_dataDir;
    Handler m_handler;
    QLocalServer *m_server;
};

} // namespace ferry::cli
