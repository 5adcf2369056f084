#pragma once

#include "app/sync/SyncController.h"

#include <QFrame>

class QLabel;
class QProgressBar;
class QPushButton;
class QToolButton;
class QAction;

namespace ferry {

/**
 * One profile in the window's list: name, remote, state (with a progress bar while it
 * syncs), last run result and time, and its own Sync and Cancel buttons (Cancel enabled
 * only while the profile has work) plus a menu for edit, pause/resume and remove.
 * Accessible names carry the profile's name ("Cancel profile dr-backup").
 */
class ProfileRow : public QFrame {
    Q_OBJECT
public:
    explicit ProfileRow(const QString &name, QWidget *parent = nullptr);

    [[nodiscard]] QString name() const { return m_name; }
    /// Shows `status`; `hasWork` enables Cancel.
    void setStatus(const ProfileStatus &status, bool hasWork);

    [[nodiscard]] QPushButton *syncButton() const { return m_sync; }
    [[nodiscard]] QPushButton *cancelButton() const { return m_cancel; }
    [[nodiscard]] QLabel *stateLabel() const { return m_state; }
    [[nodiscard]] QProgressBar *progressBar() const { return m_progress; }

signals:
    void syncClicked(const QString &name);
    void cancelClicked(const QString &name);
    void editClicked(const QString &name);
    void removeClicked(const QString &name);
    void pauseClicked(const QString &name);
    void resumeClicked(const QString &name);

private:
    QString m_name;
    QLabel *m_icon;
    QLabel *m_title;
    QLabel *m_remote;
    QLabel *m_state;
    QProgressBar *m_progress;
    QLabel *m_last;
    QPushButton *m_sync;
    QPushButton *m_cancel;
    QToolButton *m_more;
    QAction *m_pause;
    QAction *m_resume;
};

} // namespace ferry
