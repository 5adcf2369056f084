#include "support/FaultProxy.h"

#include <QHostAddress>
#include <QLoggingCategory>
#include <QPointer>
#include <QTcpServer>
#include <QTcpSocket>
#include <QThread>
#include <QTimer>

#include <sys/socket.h>

Q_LOGGING_CATEGORY(lcFaultProxy, "ferry.test.faultproxy")

namespace ferry::test {

// --- Fault ----------------------------------------------------------------------------------

Fault Fault::delay(int ms)
{
    Fault f;
    f.action = Action::Delay;
    f.delayMs = ms;
    return f;
}

Fault Fault::stall(bool forward)
{
    Fault f;
    f.action = Action::Stall;
    f.forward = forward;
    return f;
}

Fault Fault::afterForwarding() const
{
    Fault f = *this;
    f.forward = true;
    return f;
}

Fault Fault::reset()
{
    Fault f;
    f.action = Action::Reset;
    return f;
}

Fault Fault::error(int status, const QByteArray &code, const QByteArray &message)
{
    Fault f;
    f.action = Action::Status;
    f.status = status;
    f.code = code;
    f.message = message;
    return f;
}

Fault Fault::internalError()
{
    return error(500, "InternalError", "We encountered an internal error. Please try again.");
}

Fault Fault::truncate()
{
    Fault f;
    f.action = Action::Truncate;
    return f;
}

Fault Fault::garble()
{
    Fault f;
    f.action = Action::Garble;
    return f;
}

Fault Fault::htmlPage(int status)
{
    Fault f;
    f.action = Action::HtmlPage;
    f.status = status;
    return f;
}

Fault Fault::redirect(const QString &region)
{
    Fault f;
    f.action = Action::Redirect301;
    f.status = 301;
    f.region = region;
    return f;
}

QByteArray ProxiedRequest::header(const QByteArray &name) const
{
    for (const auto &[key, value] : headers)
        if (key.compare(name, Qt::CaseInsensitive) == 0)
            return value;
    return {};
}

namespace {

constexpr qsizetype MaxHeadSize = 64 * 1024;

struct ResponseHead {
    int status = 0;
    QList<QByteArray> lines; ///< Header lines after the status line.
    bool chunked = false;
    qint64 contentLength = -1;
};

ResponseHead parseResponseHead(const QByteArray &head)
{
    ResponseHead parsed;
    const QList<QByteArray> lines = head.split('\n');
    const QList<QByteArray> statusLine = lines.value(0).trimmed().split(' ');
    parsed.status = statusLine.value(1).toInt();
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QByteArray line = lines.at(i).trimmed();
        if (line.isEmpty())
            continue;
        parsed.lines.append(line);
        const qsizetype colon = line.indexOf(':');
        const QByteArray name = line.left(colon).trimmed().toLower();
        const QByteArray value = line.mid(colon + 1).trimmed();
        if (name == "content-length")
            parsed.contentLength = value.toLongLong();
        else if (name == "transfer-encoding" && value.toLower().contains("chunked"))
            parsed.chunked = true;
    }
    return parsed;
}

/// Decodes a chunked body from @p raw; false while incomplete. @p consumed: its raw size.
bool decodeChunked(const QByteArray &raw, QByteArray *body, qsizetype *consumed)
{
    qsizetype pos = 0;
    body->clear();
    for (;;) {
        const qsizetype lineEnd = raw.indexOf("\r\n", pos);
        if (lineEnd < 0)
            return false;
        bool ok = false;
        const qint64 size =
            raw.mid(pos, lineEnd - pos).split(';').value(0).trimmed().toLongLong(&ok, 16);
        if (!ok)
            return false;
        pos = lineEnd + 2;
        if (size == 0) {
            const qsizetype end = raw.indexOf("\r\n\r\n", lineEnd);
            if (raw.mid(pos, 2) == "\r\n") {
                *consumed = pos + 2;
                return true;
            }
            if (end < 0)
                return false;
            *consumed = end + 4;
            return true;
        }
        if (raw.size() < pos + size + 2)
            return false;
        body->append(raw.mid(pos, size));
        pos += size + 2;
    }
}

QByteArray reasonPhrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 301:
        return "Moved Permanently";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    default:
        return "Error";
    }
}

QByteArray buildResponse(int status, const QList<QByteArray> &headerLines, const QByteArray &body,
                         bool headRequest)
{
    QByteArray out = "HTTP/1.1 " + QByteArray::number(status) + ' ' + reasonPhrase(status) + "\r\n";
    for (const QByteArray &line : headerLines) {
        const QByteArray name = line.left(line.indexOf(':')).trimmed().toLower();
        if (name != "content-length" && name != "transfer-encoding")
            out += line + "\r\n";
    }
    out += "Content-Length: " + QByteArray::number(body.size()) + "\r\n\r\n";
    if (!headRequest)
        out += body;
    return out;
}

/// Sends RST instead of FIN when the socket is closed.
void resetSocket(QTcpSocket *socket)
{
    const qintptr fd = socket->socketDescriptor();
    if (fd >= 0) {
        linger option{1, 0};
        ::setsockopt(int(fd), SOL_SOCKET, SO_LINGER, &option, sizeof option);
    }
    socket->abort();
}

/**
 * One client connection and its server connection: requests are parsed and forwarded as they
 * arrive (bodies streamed), each answer is read whole, then sent on as the fault says.
 */
class Connection : public QObject {
public:
    Connection(FaultProxy *proxy, quint16 upstreamPort, QTcpSocket *client, QObject *parent)
        : QObject(parent), m_proxy(proxy), m_upstreamPort(upstreamPort), m_client(client)
    {
        m_client->setParent(this);
        connect(m_client, &QTcpSocket::readyRead, this, &Connection::onClientData);
        connect(m_client, &QTcpSocket::disconnected, this, &Connection::close);
    }

    /// Resets the connection when it is stalled; true when it was.
    bool resetIfStalled()
    {
        if (m_state != State::Stalled)
            return false;
        resetClient();
        return true;
    }

private:
    enum class State { Head, Body, Response, Stalled, Dead };

    void close()
    {
        if (m_state == State::Dead)
            return;
        m_state = State::Dead;
        if (m_upstream)
            m_upstream->abort();
        m_client->abort();
        deleteLater();
    }

    void resetClient()
    {
        m_state = State::Dead;
        if (m_upstream)
            m_upstream->abort();
        resetSocket(m_client);
        deleteLater();
    }

    void onClientData()
    {
        if (m_state == State::Dead)
            return;
        m_in += m_client->readAll();
        process();
    }

    bool forwards() const
    {
        if (!m_fault)
            return true;
        switch (m_fault->action) {
        case Fault::Action::Delay:
        case Fault::Action::Truncate:
        case Fault::Action::Garble:
            return true;
        case Fault::Action::Reset:
            return m_bodySize == 0;
        default:
            return m_fault->forward;
        }
    }

    void process()
    {
        // Requests are not pipelined: the next one is read once this answer went out.
        while (m_state == State::Head || m_state == State::Body) {
            if (m_state == State::Head && !startRequest())
                return;
            if (m_state == State::Body && !continueBody())
                return;
        }
        if (m_state == State::Stalled)
            m_in.clear();
    }

    /// Parses the next request head; false while incomplete.
    bool startRequest()
    {
        const qsizetype end = m_in.indexOf("\r\n\r\n");
        if (end < 0) {
            if (m_in.size() > MaxHeadSize)
                close();
            return false;
        }
        const QByteArray head = m_in.left(end + 4);
        m_in.remove(0, end + 4);
        ProxiedRequest request;
        const QList<QByteArray> lines = head.split('\n');
        const QList<QByteArray> requestLine = lines.value(0).trimmed().split(' ');
        request.method = requestLine.value(0);
        const QByteArray target = requestLine.value(1);
        const qsizetype question = target.indexOf('?');
        request.path = question < 0 ? target : target.left(question);
        request.query = question < 0 ? QByteArray() : target.mid(question + 1);
        for (qsizetype i = 1; i < lines.size(); ++i) {
            const QByteArray line = lines.at(i).trimmed();
            const qsizetype colon = line.indexOf(':');
            if (colon > 0)
                request.headers.append({line.left(colon).trimmed(), line.mid(colon + 1).trimmed()});
        }
        request.bodySize = request.header("Content-Length").toLongLong();
        m_method = request.method;
        m_bodySize = request.bodySize;
        m_bodyLeft = m_bodySize;
        m_fault = m_proxy->decide(request);
        m_response.clear();
        m_state = State::Body;
        if (forwards()) {
            ensureUpstream();
            m_upstream->write(head);
        }
        return true;
    }

    /// Streams the request body; false while more is expected.
    bool continueBody()
    {
        const qint64 n = std::min<qint64>(m_bodyLeft, m_in.size());
        if (n > 0) {
            if (forwards())
                m_upstream->write(m_in.constData(), n);
            m_in.remove(0, n);
            m_bodyLeft -= n;
        }
        const bool resetHere = m_fault && m_fault->action == Fault::Action::Reset && m_bodySize > 0;
        if (resetHere && m_bodySize - m_bodyLeft >= m_bodySize / 2) {
            resetClient();
            return false;
        }
        if (m_bodyLeft > 0)
            return false;
        m_state = State::Response;
        if (!forwards())
            answerLocally();
        return m_state == State::Head;
    }

    void ensureUpstream()
    {
        if (m_upstream && m_upstream->state() != QAbstractSocket::UnconnectedState)
            return;
        if (m_upstream)
            m_upstream->deleteLater();
        m_upstream = new QTcpSocket(this);
        connect(m_upstream, &QTcpSocket::readyRead, this, &Connection::onUpstreamData);
        QPointer<QTcpSocket> socket = m_upstream;
        connect(m_upstream, &QTcpSocket::disconnected, this, [this, socket] {
            if (socket == m_upstream)
                onUpstreamClosed();
        });
        m_upstream->connectToHost(QHostAddress::LocalHost, m_upstreamPort);
    }

    void onUpstreamData()
    {
        if (m_state == State::Dead || !m_upstream->isOpen())
            return;
        m_response += m_upstream->readAll();
        if (m_state != State::Response && m_state != State::Stalled)
            return;
        tryComplete(false);
    }

    void onUpstreamClosed()
    {
        if (m_upstream->isOpen())
            m_response += m_upstream->readAll();
        if (m_state == State::Response && !tryComplete(true))
            close(); // the server went away mid-answer: so does the client's connection
    }

    /// Delivers the response once whole; false while incomplete.
    bool tryComplete(bool upstreamClosed)
    {
        const qsizetype headEnd = m_response.indexOf("\r\n\r\n");
        if (headEnd < 0)
            return false;
        const QByteArray head = m_response.left(headEnd + 4);
        const ResponseHead parsed = parseResponseHead(head);
        const QByteArray raw = m_response.mid(headEnd + 4);
        QByteArray body;
        qsizetype consumed = 0;
        const bool noBody = m_method == "HEAD" || parsed.status == 204 || parsed.status == 304 ||
                            parsed.status / 100 == 1;
        if (noBody) {
            consumed = 0;
        } else if (parsed.chunked) {
            if (!decodeChunked(raw, &body, &consumed))
                return false;
        } else if (parsed.contentLength >= 0) {
            if (raw.size() < parsed.contentLength)
                return false;
            consumed = parsed.contentLength;
            body = raw.left(consumed);
        } else {
            if (!upstreamClosed)
                return false;
            consumed = raw.size();
            body = raw;
        }
        const QByteArray whole = m_response.left(headEnd + 4 + consumed);
        m_response.remove(0, headEnd + 4 + consumed);
        deliver(whole, parsed, body);
        return true;
    }

    void deliver(const QByteArray &whole, const ResponseHead &parsed, const QByteArray &body)
    {
        const bool head = m_method == "HEAD";
        if (!m_fault) {
            m_client->write(whole);
            nextRequest();
            return;
        }
        switch (m_fault->action) {
        case Fault::Action::Delay: {
            QPointer<QTcpSocket> client = m_client;
            QTimer::singleShot(m_fault->delayMs, this, [this, client, whole] {
                if (!client || m_state == State::Dead)
                    return;
                m_client->write(whole);
                nextRequest();
            });
            return;
        }
        case Fault::Action::Stall:
            m_state = State::Stalled;
            return;
        case Fault::Action::Reset: {
            const qsizetype headSize = whole.size() - body.size();
            m_client->write(whole.left(headSize + body.size() / 2));
            m_client->flush();
            m_state = State::Stalled;
            // The half that was written reaches the client before the reset does.
            QTimer::singleShot(50, this, [this] {
                if (m_state != State::Dead)
                    resetClient();
            });
            return;
        }
        case Fault::Action::Truncate:
            m_client->write(
                buildResponse(parsed.status, parsed.lines, body.left(body.size() / 2), head));
            nextRequest();
            return;
        case Fault::Action::Garble: {
            QByteArray scrambled = body;
            static const char junk[] = "<>&/\x01";
            for (qsizetype i = scrambled.size() / 3; i < 2 * scrambled.size() / 3; ++i)
                scrambled[i] = junk[i % 5];
            m_client->write(buildResponse(parsed.status, parsed.lines, scrambled, head));
            nextRequest();
            return;
        }
        default:
            answerLocally();
            return;
        }
    }

    void answerLocally()
    {
        const bool head = m_method == "HEAD";
        QList<QByteArray> lines;
        lines.append("x-amz-request-id: fault-proxy");
        QByteArray body;
        switch (m_fault->action) {
        case Fault::Action::Stall:
            m_state = State::Stalled;
            return;
        case Fault::Action::HtmlPage:
            lines.append("Content-Type: text/html; charset=utf-8");
            body = "<!DOCTYPE html>\n<html><head><title>" + QByteArray::number(m_fault->status) +
                   ' ' + reasonPhrase(m_fault->status) +
                   "</title></head>\n<body><h1>Gateway says no</h1><p>Please log in to the "
                   "network first.</p></body></html>\n";
            break;
        case Fault::Action::Redirect301: {
            const QByteArray region = m_fault->region.toUtf8();
            lines.append("Content-Type: application/xml");
            lines.append("x-amz-bucket-region: " + region);
            body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>PermanentRedirect"
                   "</Code><Message>The bucket you are attempting to access must be addressed "
                   "using the specified endpoint. Please send all future requests to this "
                   "endpoint.</Message><Endpoint>s3." +
                   region + ".amazonaws.com</Endpoint><RequestId>fault-proxy</RequestId></Error>";
            break;
        }
        default:
            lines.append("Content-Type: application/xml");
            body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + m_fault->code +
                   "</Code><Message>" + m_fault->message +
                   "</Message><RequestId>fault-proxy</RequestId></Error>";
            break;
        }
        m_client->write(buildResponse(m_fault->status, lines, body, head));
        nextRequest();
    }

    void nextRequest()
    {
        m_state = State::Head;
        m_fault.reset();
        QTimer::singleShot(0, this, [this] {
            if (m_state == State::Head)
                process();
        });
    }

    FaultProxy *m_proxy;
    quint16 m_upstreamPort;
    QTcpSocket *m_client;
    QTcpSocket *m_upstream = nullptr;
    State m_state = State::Head;
    QByteArray m_in;
    QByteArray m_response;
    QByteArray m_method;
    qint64 m_bodySize = 0;
    qint64 m_bodyLeft = 0;
    std::optional<Fault> m_fault;
};

} // namespace

class FaultProxy::Server : public QTcpServer {
public:
    Server(FaultProxy *proxy, quint16 upstreamPort) : m_proxy(proxy), m_upstreamPort(upstreamPort)
    {
        connect(this, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket *socket = nextPendingConnection()) {
                m_proxy->countConnection();
                new Connection(m_proxy, m_upstreamPort, socket, this);
            }
        });
    }

    int resetStalled()
    {
        int reset = 0;
        for (QObject *child : children())
            if (auto *connection = dynamic_cast<Connection *>(child);
                connection && connection->resetIfStalled())
                ++reset;
        return reset;
    }

private:
    FaultProxy *m_proxy;
    quint16 m_upstreamPort;
};

// --- FaultProxy -----------------------------------------------------------------------------

FaultProxy::FaultProxy(quint16 upstreamPort)
    : m_upstreamPort(upstreamPort), m_thread(std::make_unique<QThread>())
{
    m_thread->setObjectName(QStringLiteral("FaultProxy"));
    m_thread->start();
}

FaultProxy::~FaultProxy()
{
    // Deleted on its own thread as that thread finishes (Qt runs deferred deletes then).
    if (m_server)
        m_server->deleteLater();
    m_thread->quit();
    m_thread->wait();
}

bool FaultProxy::listen(quint16 port)
{
    m_server = new Server(this, m_upstreamPort);
    m_server->moveToThread(m_thread.get());
    bool ok = false;
    QMetaObject::invokeMethod(
        m_server,
        [this, port, &ok] {
            ok = m_server->listen(QHostAddress::LocalHost, port);
            if (ok)
                m_port = m_server->serverPort();
            else
                qCWarning(lcFaultProxy) << "listen failed:" << m_server->errorString();
        },
        Qt::BlockingQueuedConnection);
    return ok;
}

QString FaultProxy::endpoint() const
{
    return QStringLiteral("http://127.0.0.1:%1").arg(m_port);
}

int FaultProxy::addRule(FaultRule rule)
{
    QMutexLocker lock(&m_mutex);
    rule.matched = 0;
    rule.applied = 0;
    m_rules.append(std::move(rule));
    return int(m_rules.size() - 1);
}

int FaultProxy::addRule(const QByteArray &method, const QString &pathPattern, Fault fault,
                        int times, int skip)
{
    FaultRule rule;
    rule.method = method;
    rule.path = QRegularExpression(pathPattern);
    rule.fault = std::move(fault);
    rule.times = times;
    rule.skip = skip;
    return addRule(std::move(rule));
}

void FaultProxy::clearRules()
{
    QMutexLocker lock(&m_mutex);
    m_rules.clear();
}

int FaultProxy::resetStalled()
{
    int reset = 0;
    if (m_server)
        QMetaObject::invokeMethod(
            m_server, [this, &reset] { reset = m_server->resetStalled(); },
            Qt::BlockingQueuedConnection);
    return reset;
}

int FaultProxy::matched(int rule) const
{
    QMutexLocker lock(&m_mutex);
    return rule < m_rules.size() ? m_rules.at(rule).matched : 0;
}

int FaultProxy::applied(int rule) const
{
    QMutexLocker lock(&m_mutex);
    return rule < m_rules.size() ? m_rules.at(rule).applied : 0;
}

QList<ProxiedRequest> FaultProxy::requests() const
{
    QMutexLocker lock(&m_mutex);
    return m_log;
}

void FaultProxy::clearLog()
{
    QMutexLocker lock(&m_mutex);
    m_log.clear();
}

int FaultProxy::connectionsAccepted() const
{
    QMutexLocker lock(&m_mutex);
    return m_connections;
}

void FaultProxy::countConnection()
{
    QMutexLocker lock(&m_mutex);
    ++m_connections;
}

std::optional<Fault> FaultProxy::decide(ProxiedRequest request)
{
    QMutexLocker lock(&m_mutex);
    std::optional<Fault> fault;
    for (auto &rule : m_rules) {
        if (!rule.method.isEmpty() && rule.method != request.method)
            continue;
        if (!rule.path.pattern().isEmpty() &&
            !rule.path.match(QString::fromUtf8(request.path)).hasMatch())
            continue;
        if (!rule.queryContains.isEmpty() && !request.query.contains(rule.queryContains))
            continue;
        if (rule.predicate && !rule.predicate(request))
            continue;
        ++rule.matched;
        if (rule.matched <= rule.skip || (rule.times >= 0 && rule.applied >= rule.times))
            continue;
        ++rule.applied;
        fault = rule.fault;
        break;
    }
    request.faulted = fault.has_value();
    m_log.append(request);
    return fault;
}

} // namespace ferry::test
