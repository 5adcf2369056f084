#pragma once

#include "CancellationToken.h"

#include <QCoro/QCoroTask>
#include <QList>
#include <QObject>

#include <chrono>

namespace ferry {

/// Receives a token's callback in the awaiting coroutine's thread (see untilCancelled).
class CancellationNotifier : public QObject {
    Q_OBJECT
signals:
    void fired();
};

/**
 * Suspends the calling coroutine until `token` fires, or `timeout` passes (-1: never).
 * Yields true when the token fired. Resumes on the caller's own thread, so an executor
 * can `co_await untilCancelled(ctx.token())` as a cooperative "wait for stop".
 */
QCoro::Task<bool> untilCancelled(CancellationToken token,
                                 std::chrono::milliseconds timeout = std::chrono::milliseconds{-1});

/// Like untilCancelled, for whichever of several tokens fires first.
QCoro::Task<bool> untilAnyCancelled(QList<CancellationToken> tokens,
                                    std::chrono::milliseconds timeout = std::chrono::milliseconds{
                                        -1});

} // namespace ferry
