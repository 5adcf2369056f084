#pragma once

#include "app/profiles/Profile.h"

#include <QFuture>
#include <QString>

#include <expected>
#include <memory>

namespace ferry {

class SecretStore;

/**
 * Tries a profile's bucket before it is saved: resolves its credentials (the typed secret,
 * else the stored one, else the environment) and sends HeadBucket.
 *
 * Runs on a worker thread with its own event loop (the client's network objects live there),
 * so the UI thread never waits: the future yields nothing on success, else a message naming
 * the cause and the fix.
 */
[[nodiscard]] QFuture<std::expected<void, QString>>
testConnection(Profile profile, QString secret, std::shared_ptr<SecretStore> secrets,
               int timeoutMs = 10'000);

} // namespace ferry
