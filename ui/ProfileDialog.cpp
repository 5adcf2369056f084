#include "ProfileDialog.h"

#include "ConnectionTest.h"
#include "WhenReady.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QStyle>
#include <QVBoxLayout>

namespace ferry {

namespace {

constexpr qint64 kMiB = 1024 * 1024;

QSpinBox *mibBox(int minimum, int maximum, QWidget *parent)
{
    auto *box = new QSpinBox(parent);
    box->setRange(minimum, maximum);
    box->setSuffix(ProfileDialog::tr(" MiB"));
    return box;
}

} // namespace

ProfileDialog::ProfileDialog(Saver saver, std::shared_ptr<SecretStore> secrets,
                             const std::optional<Profile> &existing, QWidget *parent)
    : QDialog(parent), m_saver(std::move(saver)), m_secrets(std::move(secrets)),
      m_editing(existing.has_value())
{
    setObjectName(QStringLiteral("profileDialog"));
    setWindowTitle(m_editing ? tr("Edit profile %1").arg(existing->name) : tr("Add profile"));
    buildForm();
    setProfile(existing.value_or(Profile()));
    if (m_editing)
        m_name->setReadOnly(true);
    m_dirty = m_editing; // an existing profile's problems show at once
    revalidate();
}

void ProfileDialog::buildForm()
{
    auto *layout = new QVBoxLayout(this);
    auto *form = new QFormLayout;
    layout->addLayout(form);

    m_name = new QLineEdit(this);
    m_name->setObjectName(QStringLiteral("nameEdit"));
    m_name->setAccessibleName(tr("Profile name"));
    m_name->setToolTip(tr("1 to 64 letters, digits, '.', '_' or '-'"));
    form->addRow(tr("&Name:"), m_name);

    m_local = new QLineEdit(this);
    m_local->setObjectName(QStringLiteral("localEdit"));
    m_local->setAccessibleName(tr("Local folder"));
    m_local->setToolTip(tr("The folder whose files are uploaded"));
    m_browse = new QPushButton(tr("&Browse…"), this);
    m_browse->setObjectName(QStringLiteral("browseButton"));
    m_browse->setAccessibleName(tr("Choose the local folder"));
    m_browse->setToolTip(tr("Pick the folder to upload"));
    auto *folderRow = new QHBoxLayout;
    folderRow->addWidget(m_local, 1);
    folderRow->addWidget(m_browse);
    auto *folderLabel = new QLabel(tr("&Folder:"), this);
    folderLabel->setBuddy(m_local);
    form->addRow(folderLabel, folderRow);

    m_remote = new QLineEdit(this);
    m_remote->setObjectName(QStringLiteral("remoteEdit"));
    m_remote->setAccessibleName(tr("Remote URL"));
    m_remote->setPlaceholderText(QStringLiteral("s3://host[:port]/bucket[/prefix]"));
    m_remote->setToolTip(tr("s3://HOST[:PORT]/BUCKET[/PREFIX] (HTTPS) or http(s)://..."));
    form->addRow(tr("&Remote:"), m_remote);

    m_accessKey = new QLineEdit(this);
    m_accessKey->setObjectName(QStringLiteral("accessKeyEdit"));
    m_accessKey->setAccessibleName(tr("Access key ID"));
    m_accessKey->setToolTip(tr("Empty: AWS_ACCESS_KEY_ID from the environment"));
    form->addRow(tr("&Access key ID:"), m_accessKey);

    m_secret = new QLineEdit(this);
    m_secret->setObjectName(QStringLiteral("secretEdit"));
    m_secret->setAccessibleName(tr("Secret access key"));
    m_secret->setEchoMode(QLineEdit::Password);
    m_secret->setToolTip(tr("Kept in the system keychain (or a file only you can read), never "
                            "in the database"));
    if (m_editing)
        m_secret->setPlaceholderText(tr("unchanged"));
    form->addRow(tr("&Secret key:"), m_secret);

    auto *advanced = new QGroupBox(tr("Advanced options"), this);
    advanced->setObjectName(QStringLiteral("advancedGroup"));
    auto *advancedForm = new QFormLayout(advanced);
    m_region = new QLineEdit(advanced);
    m_region->setObjectName(QStringLiteral("regionEdit"));
    m_region->setAccessibleName(tr("Region"));
    m_region->setPlaceholderText(tr("endpoint default"));
    advancedForm->addRow(tr("Re&gion:"), m_region);
    m_excludes = new QPlainTextEdit(advanced);
    m_excludes->setObjectName(QStringLiteral("excludesEdit"));
    m_excludes->setAccessibleName(tr("Exclude patterns"));
    m_excludes->setToolTip(tr("One glob per line, matched against the relative path and the "
                              "file name (e.g. *.tmp)"));
    m_excludes->setMaximumHeight(fontMetrics().lineSpacing() * 4);
    advancedForm->addRow(tr("E&xclude:"), m_excludes);
    m_threshold = mibBox(0, 5 * 1024, advanced);
    m_threshold->setObjectName(QStringLiteral("thresholdEdit"));
    m_threshold->setAccessibleName(tr("Multipart threshold"));
    m_threshold->setToolTip(tr("Files from this size on are uploaded in parts"));
    advancedForm->addRow(tr("&Multipart from:"), m_threshold);
    m_partSize = mibBox(1, 10 * 1024, advanced);
    m_partSize->setObjectName(QStringLiteral("partSizeEdit"));
    m_partSize->setAccessibleName(tr("Part size"));
    m_partSize->setToolTip(tr("5 MiB to 5 GiB"));
    advancedForm->addRow(tr("&Part size:"), m_partSize);
    m_concurrency = new QSpinBox(advanced);
    m_concurrency->setObjectName(QStringLiteral("concurrencyEdit"));
    m_concurrency->setAccessibleName(tr("Concurrent transfers"));
    m_concurrency->setRange(0, 128);
    advancedForm->addRow(tr("&Transfers at once:"), m_concurrency);
    m_mirror = new QCheckBox(tr("&Delete remote files deleted locally"), advanced);
    m_mirror->setObjectName(QStringLiteral("mirrorCheck"));
    advancedForm->addRow(m_mirror);
    m_onOffline = new QComboBox(advanced);
    m_onOffline->setObjectName(QStringLiteral("onOfflineCombo"));
    m_onOffline->setAccessibleName(tr("When the endpoint goes offline"));
    m_onOffline->addItem(tr("Cancel the sync"), int(OfflineReaction::Cancel));
    m_onOffline->addItem(tr("Pause the sync"), int(OfflineReaction::Pause));
    advancedForm->addRow(tr("When &offline:"), m_onOffline);
    m_metered = new QCheckBox(tr("Pause on &metered connections"), advanced);
    m_metered->setObjectName(QStringLiteral("meteredCheck"));
    advancedForm->addRow(m_metered);
    layout->addWidget(advanced);

    m_message = new QLabel(this);
    m_message->setObjectName(QStringLiteral("validationLabel"));
    m_message->setAccessibleName(tr("Validation message"));
    m_message->setWordWrap(true);
    m_message->setTextFormat(Qt::PlainText);
    layout->addWidget(m_message);

    auto *testRow = new QHBoxLayout;
    m_test = new QPushButton(tr("&Test connection"), this);
    m_test->setObjectName(QStringLiteral("testButton"));
    m_test->setAccessibleName(tr("Test connection"));
    m_test->setToolTip(tr("Check that the bucket answers with these credentials"));
    m_testResult = new QLabel(this);
    m_testResult->setObjectName(QStringLiteral("testResultLabel"));
    m_testResult->setWordWrap(true);
    m_testResult->setTextFormat(Qt::PlainText);
    testRow->addWidget(m_test);
    testRow->addWidget(m_testResult, 1);
    layout->addLayout(testRow);

    m_buttons = new QDialogButtonBox(QDialogButtonBox::Save | QDialogButtonBox::Cancel, this);
    m_save = m_buttons->button(QDialogButtonBox::Save);
    m_save->setObjectName(QStringLiteral("saveButton"));
    m_save->setAccessibleName(tr("Save profile"));
    m_buttons->button(QDialogButtonBox::Cancel)->setAccessibleName(tr("Discard changes"));
    layout->addWidget(m_buttons);

    connect(m_buttons, &QDialogButtonBox::accepted, this, &ProfileDialog::accept);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &ProfileDialog::reject);
    connect(m_browse, &QPushButton::clicked, this, &ProfileDialog::browseFolder);
    connect(m_test, &QPushButton::clicked, this, &ProfileDialog::runConnectionTest);
    const auto edited = [this] {
        m_dirty = true;
        revalidate();
    };
    for (QLineEdit *edit : {m_name, m_local, m_remote, m_accessKey, m_secret, m_region})
        connect(edit, &QLineEdit::textChanged, this, edited);
    connect(m_excludes, &QPlainTextEdit::textChanged, this, edited);
    for (QSpinBox *box : {m_threshold, m_partSize, m_concurrency})
        connect(box, &QSpinBox::valueChanged, this, edited);
}

void ProfileDialog::setProfile(const Profile &profile)
{
    const QSignalBlocker blockers[] = {
        QSignalBlocker(m_name),      QSignalBlocker(m_local),    QSignalBlocker(m_remote),
        QSignalBlocker(m_accessKey), QSignalBlocker(m_region),   QSignalBlocker(m_excludes),
        QSignalBlocker(m_threshold), QSignalBlocker(m_partSize), QSignalBlocker(m_concurrency)};
    m_name->setText(profile.name);
    m_local->setText(profile.localFolder);
    m_remote->setText(profile.remote);
    m_accessKey->setText(profile.accessKeyId);
    m_region->setText(profile.region);
    m_excludes->setPlainText(profile.excludes.join(QLatin1Char('\n')));
    m_threshold->setValue(int(profile.multipartThreshold / kMiB));
    m_partSize->setValue(int(profile.partSize / kMiB));
    m_concurrency->setValue(profile.concurrency);
    m_mirror->setChecked(profile.mirrorDeletes);
    m_onOffline->setCurrentIndex(m_onOffline->findData(int(profile.onOffline)));
    m_metered->setChecked(profile.pauseOnMetered);
    revalidate();
}

Profile ProfileDialog::profile() const
{
    Profile p;
    p.name = m_name->text().trimmed();
    p.localFolder = m_local->text().trimmed();
    p.remote = m_remote->text().trimmed();
    p.region = m_region->text().trimmed();
    p.accessKeyId = m_accessKey->text().trimmed();
    for (const QString &line : m_excludes->toPlainText().split(QLatin1Char('\n')))
        if (!line.trimmed().isEmpty())
            p.excludes.append(line.trimmed());
    p.multipartThreshold = m_threshold->value() * kMiB;
    p.partSize = m_partSize->value() * kMiB;
    p.concurrency = m_concurrency->value();
    p.mirrorDeletes = m_mirror->isChecked();
    p.onOffline = OfflineReaction(m_onOffline->currentData().toInt());
    p.pauseOnMetered = m_metered->isChecked();
    return p;
}

QString ProfileDialog::secret() const
{
    return m_secret->text();
}

QString ProfileDialog::errorText() const
{
    return m_error;
}

QWidget *ProfileDialog::editorFor(ProfileError::Field field) const
{
    using F = ProfileError::Field;
    switch (field) {
    case F::Name:
        return m_name;
    case F::Local:
        return m_local;
    case F::Remote:
        return m_remote;
    case F::Region:
        return m_region;
    case F::PartSize:
        return m_partSize;
    case F::Threshold:
        return m_threshold;
    case F::Concurrency:
        return m_concurrency;
    case F::Storage:
        return m_secret;
    }
    return m_name;
}

void ProfileDialog::revalidate()
{
    if (m_saving)
        return;
    const auto valid = profile().validate();
    m_save->setEnabled(valid.has_value());
    if (valid) {
        clearError();
        return;
    }
    if (!m_dirty) {
        // A fresh form: no red marks before the user typed anything.
        for (QWidget *editor : findChildren<QWidget *>())
            editor->setProperty("invalid", false);
        m_error = valid.error().message;
        m_errorField = valid.error().field;
        m_message->setText(tr("Enter a name, the folder to upload and the bucket's URL."));
        return;
    }
    showError(valid.error().field, valid.error().message);
}

void ProfileDialog::showError(ProfileError::Field field, const QString &message)
{
    clearError();
    m_error = message;
    m_errorField = field;
    m_message->setText(message);
    m_message->setStyleSheet(QStringLiteral("QLabel { color: #b3261e; }"));
    QWidget *editor = editorFor(field);
    editor->setProperty("invalid", true);
    editor->setStyleSheet(QStringLiteral("border: 1px solid #b3261e;"));
    editor->setToolTip(message);
}

void ProfileDialog::clearError()
{
    m_error.clear();
    m_message->clear();
    m_message->setStyleSheet({});
    for (auto field : {ProfileError::Field::Name, ProfileError::Field::Local,
                       ProfileError::Field::Remote, ProfileError::Field::Region,
                       ProfileError::Field::PartSize, ProfileError::Field::Threshold,
                       ProfileError::Field::Concurrency, ProfileError::Field::Storage}) {
        QWidget *editor = editorFor(field);
        if (editor->property("invalid").toBool()) {
            editor->setProperty("invalid", false);
            editor->setStyleSheet({});
            editor->setToolTip({});
        }
    }
}

void ProfileDialog::browseFolder()
{
    const QString folder =
        QFileDialog::getExistingDirectory(this, tr("Folder to upload"), m_local->text());
    if (!folder.isEmpty())
        m_local->setText(folder);
}

void ProfileDialog::runConnectionTest()
{
    m_test->setEnabled(false);
    m_testResult->setText(tr("Testing…"));
    whenReady(testConnection(profile(), secret(), m_secrets), this,
              [this](std::expected<void, QString> result) {
                  m_test->setEnabled(true);
                  const QString error = result ? QString() : result.error();
                  m_testResult->setText(error.isEmpty() ? tr("Connection OK: the bucket answers.")
                                                        : error);
                  emit connectionTested(error);
              });
}

void ProfileDialog::accept()
{
    m_dirty = true;
    revalidate();
    if (!m_error.isEmpty() || m_saving)
        return;
    if (!m_saver) {
        QDialog::accept();
        return;
    }
    m_saving = true;
    m_save->setEnabled(false);
    m_message->setText(tr("Saving…"));
    whenReady(m_saver(profile(), secret()), this, [this](std::expected<void, ProfileError> saved) {
        m_saving = false;
        if (saved) {
            QDialog::accept();
            return;
        }
        m_save->setEnabled(true);
        showError(saved.error().field, saved.error().message);
        emit saveFailed(saved.error().message);
    });
}

} // namespace ferry
