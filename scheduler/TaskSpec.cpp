#include "TaskSpec.h"

#include <QJsonDocument>
#include <QJsonParseError>

namespace ferry {

SchedulerResult<QJsonObject> TaskSpec::parsePayload(const QByteArray &json)
{
    if (json.trimmed().isEmpty())
        return QJsonObject{};
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(json, &error);
    if (error.error != QJsonParseError::NoError)
        return schedulerError(SchedulerError::Code::InvalidArgument,
                              QStringLiteral("the payload is not valid JSON (%1 at offset %2): "
                                             "give a JSON object such as {\"key\": \"value\"}")
                                  .arg(error.errorString())
                                  .arg(error.offset));
    if (!document.isObject())
        return schedulerError(
            SchedulerError::Code::InvalidArgument,
            QStringLiteral("the payload must be a JSON object, not %1: wrap it, "
                           "e.g. {\"value\": ...}")
                .arg(document.isArray() ? QStringLiteral("an array") : QStringLiteral("a scalar")));
    return document.object();
}

} // namespace ferry
