#include "LogSink.h"

#include <atomic>

namespace ferry {

namespace {

QtMessageHandler previousHandler = nullptr;
std::atomic<bool> installed{false};

void forward(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    if (previousHandler)
        previousHandler(type, context, message);
    emit LogSink::instance()->messageLogged(
        int(type), QString::fromLatin1(context.category ? context.category : "default"), message);
}

} // namespace

LogSink *LogSink::instance()
{
    static LogSink *sink = new LogSink; // lives until exit: handlers may log at any time
    return sink;
}

void LogSink::install()
{
    instance();
    if (!installed.exchange(true))
        previousHandler = qInstallMessageHandler(forward);
}

} // namespace ferry
