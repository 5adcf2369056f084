#pragma once

#include <QFuture>
#include <QMetaObject>
#include <QObject>

#include <memory>

namespace ferry {

/**
 * Runs `handler(result)` on `context`'s thread once `future` has its result, always from the
 * event loop: `future.then(context, ...)` calls at once when the future is already finished,
 * which would emit model signals from inside the caller (e.g. in the middle of a view's
 * fetchMore or another signal's handler). Never blocks; nothing runs if `context` is gone.
 */
template <typename T, typename Handler>
void whenReady(QFuture<T> future, QObject *context, Handler handler)
{
    auto calling = std::make_shared<bool>(true); // only touched on context's thread
    future.then(context, [context, calling, handler = std::move(handler)](T result) mutable {
        if (*calling) {
            QMetaObject::invokeMethod(
                context,
                [handler = std::move(handler), result = std::move(result)]() mutable {
                    handler(std::move(result));
                },
                Qt::QueuedConnection);
            return;
        }
        handler(std::move(result));
    });
    *calling = false;
}

} // namespace ferry
