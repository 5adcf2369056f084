#pragma once

#include "app/profiles/Profile.h"

#include <QDialog>
#include <QFuture>
#include <QHash>

#include <expected>
#include <functional>
#include <memory>

class QCheckBox;
class QComboBox;
class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;

namespace ferry {

class SecretStore;

/**
 * Adds or edits a sync profile. Validates as the user types (Profile::validate(): the field
 * at fault is marked and its message shown, Save stays disabled), picks the folder with a
 * folder dialog, and can try the bucket (Test connection) before saving.
 *
 * Saving goes through the `Saver` (SyncController::saveProfile in the app): the dialog stays
 * open and shows the error when the save is refused, and accepts once it succeeded. The
 * secret is handed to the saver only; the dialog never writes it anywhere.
 */
class ProfileDialog : public QDialog {
    Q_OBJECT
public:
    using Saver =
        std::function<QFuture<std::expected<void, ProfileError>>(Profile profile, QString secret)>;

    /// A dialog for a new profile (`existing` empty) or for editing `existing` (name fixed).
    ProfileDialog(Saver saver, std::shared_ptr<SecretStore> secrets,
                  const std::optional<Profile> &existing = std::nullopt, QWidget *parent = nullptr);

    /// The profile as the fields describe it now.
    [[nodiscard]] Profile profile() const;
    /// The typed secret (empty: keep the stored one).
    [[nodiscard]] QString secret() const;
    /// The validation or save message shown, empty when the input is valid.
    [[nodiscard]] QString errorText() const;
    /// The field the message is about (when errorText() is not empty).
    [[nodiscard]] ProfileError::Field errorField() const { return m_errorField; }
    /// The widget editing `field`, e.g. to type into it in tests.
    [[nodiscard]] QWidget *editorFor(ProfileError::Field field) const;
    [[nodiscard]] QPushButton *saveButton() const { return m_save; }
    [[nodiscard]] QPushButton *testButton() const { return m_test; }
    [[nodiscard]] QLabel *testResultLabel() const { return m_testResult; }

    /// Fills the fields from `profile`.
    void setProfile(const Profile &profile);

public slots:
    void accept() override;

signals:
    /// Test connection finished; `error` is empty on success.
    void connectionTested(const QString &error);
    /// The save was refused; the message is shown.
    void saveFailed(const QString &error);

private:
    void buildForm();
    void revalidate();
    void showError(ProfileError::Field field, const QString &message);
    void clearError();
    void browseFolder();
    void runConnectionTest();

    Saver m_saver;
    std::shared_ptr<SecretStore> m_secrets;
    bool m_editing = false;
    bool m_dirty = false; ///< The user changed a field: errors are shown from now on.
    bool m_saving = false;
    ProfileError::Field m_errorField = ProfileError::Field::Name;
    QString m_error;

    QLineEdit *m_name = nullptr;
    QLineEdit *m_local = nullptr;
    QPushButton *m_browse = nullptr;
    QLineEdit *m_remote = nullptr;
    QLineEdit *m_accessKey = nullptr;
    QLineEdit *m_secret = nullptr;
    QLineEdit *m_region = nullptr;
    QPlainTextEdit *m_excludes = nullptr;
    QSpinBox *m_threshold = nullptr;
    QSpinBox *m_partSize = nullptr;
    QSpinBox *m_concurrency = nullptr;
    QCheckBox *m_mirror = nullptr;
    QComboBox *m_onOffline = nullptr;
    QCheckBox *m_metered = nullptr;
    QLabel *m_message = nullptr;
    QPushButton *m_test = nullptr;
    QLabel *m_testResult = nullptr;
    QDialogButtonBox *m_buttons = nullptr;
    QPushButton *m_save = nullptr;
};

} // namespace ferry
