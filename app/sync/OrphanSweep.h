#pragma once

#include "SyncServices.h"
#include "scheduler/CancellationToken.h"
#include "scheduler/TaskSpec.h"

#include <QCoro/QCoroTask>
#include <QStringList>

#include <chrono>
#include <expected>

namespace ferry {

/// What one sweep found and did.
struct SweepReport {
    QStringList aborted;  ///< "key (upload id)" of each upload aborted (or, dry run, to abort).
    QStringList kept;     ///< Held by a live task, or foreign and younger than the age limit.
    QStringList failures; ///< Aborts that failed, with the reason.
};

/**
 * The orphan sweep of one profile: lists the multipart uploads under its prefix and aborts
 * those Ferry created (remembered in the app's table) that no live task holds, and any
 * older than `olderThan` (0: any age). Runs on the calling thread; a dry run only reports.
 */
QCoro::Task<std::expected<SweepReport, TaskError>>
sweepOrphans(std::shared_ptr<SyncServices> services, QString profile,
             std::chrono::seconds olderThan, bool dryRun, CancellationToken token);

/**
 * A multipart upload about to be created is recorded under an intent id first: should the
 * CreateMultipartUpload answer be lost, the sweep still knows that an upload under that key,
 * initiated after the intent and held by no live task, is Ferry's.
 */
[[nodiscard]] QString newUploadIntentId();
[[nodiscard]] bool isUploadIntent(const QString &uploadId);

/**
 * How long after its intent a create whose answer never came may still make its upload: the
 * request can be on its way or in the server's hands (a killed client, a lost connection)
 * up to the create's longest wait. Until then, finding no upload proves nothing, and the intent
 * is kept for the sweeps.
 */
inline constexpr std::chrono::seconds kLostCreateWindow = std::chrono::minutes(5);

/// The default age past which any in-progress upload under a profile's prefix is aborted.
inline constexpr std::chrono::seconds kDefaultOrphanAge = std::chrono::hours(24);

/// The spec of a `sweep-uploads` task for `target` (retried while the endpoint is away).
[[nodiscard]] TaskSpec sweepSpec(const SyncTarget &target);
/// The spec of a `sync-run` task for `target` (tolerates failed files, reports them).
[[nodiscard]] TaskSpec syncRunSpec(const SyncTarget &target);

} // namespace ferry
