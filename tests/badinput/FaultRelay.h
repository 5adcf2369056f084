#pragma once

#include <QByteArray>
#include <QHostAddress>
#include <QObject>
#include <QTcpServer>

#include <memory>

class QTcpSocket;

namespace ferry::test {

/**
 * A loopback TCP relay between Ferry and the local S3 server that injects one fault into the
 * answers to requests whose request line contains a marker (e.g. `list-type=2`, the bucket
 * listing). Every other request and answer passes through unchanged. Test code only.
 */
class FaultRelay : public QObject {
    Q_OBJECT
public:
    enum class Fault {
        None,
        TruncatedXml, ///< 200 with a listing cut off mid-element
        Garbage,      ///< 200 with binary bytes declared as XML
        HtmlPage,     ///< 200 with a web page (a captive portal or a web server)
        NotFoundHtml, ///< 404 with a web page
        WrongXml,     ///< 200 with well-formed XML that is not a listing
        Huge,         ///< 200 declaring 4 GiB, streamed until the client gives up
        Stall,        ///< the request is never answered
        Trickle,      ///< the real answer, 32 bytes every 50 ms
        Hold,         ///< the request body stops flowing until release() (once)
    };

    explicit FaultRelay(quint16 upstreamPort, QObject *parent = nullptr);

    [[nodiscard]] bool listen() { return m_server.listen(QHostAddress::LocalHost); }
    [[nodiscard]] quint16 port() const { return m_server.serverPort(); }

    /// Injects `fault` into the answer to every request whose request line holds `marker`.
    void setFault(Fault fault, const QByteArray &marker);
    /// Lets held request bodies flow again; later requests pass unchanged.
    void release();
    /// How many requests got the fault.
    [[nodiscard]] int faultsServed() const { return m_served; }
    /// Bytes of a Huge answer written so far.
    [[nodiscard]] qint64 hugeBytesSent() const { return m_hugeSent; }

private:
    struct Connection;
    void accept();
    void clientData(Connection *connection);
    void serveFault(Connection *connection);
    void feedHuge(Connection *connection);
    void trickle(Connection *connection);

    QTcpServer m_server;
    QList<std::weak_ptr<Connection>> m_held;
    quint16 m_upstreamPort;
    Fault m_fault = Fault::None;
    QByteArray m_marker;
    int m_served = 0;
    qint64 m_hugeSent = 0;
};

} // namespace ferry::test
