// Widgets that need no server: the profile dialog validates as the user types and saves
// through its saver (a refused save keeps it open with the error on the field), and the
// profile texts the window and the tray show.

#include "ui/ProfileDialog.h"
#include "ui/ProfilePresentation.h"

#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QTest>

using namespace ferry;

namespace {

using SaveResult = std::expected<void, ProfileError>;

void retype(QLineEdit *edit, const QString &text)
{
    edit->selectAll();
    QTest::keyClick(edit, Qt::Key_Delete);
    QTest::keyClicks(edit, text);
}

QLineEdit *lineEdit(ProfileDialog &dialog, ProfileError::Field field)
{
    return qobject_cast<QLineEdit *>(dialog.editorFor(field));
}

} // namespace

class TestUiWidgets : public QObject {
    Q_OBJECT

private slots:
    void dialogValidatesAsYouType()
    {
        QTemporaryDir folder;
        int saves = 0;
        Profile saved;
        QString savedSecret;
        ProfileDialog dialog(
            [&](Profile profile, QString secret) {
                ++saves;
                saved = profile;
                savedSecret = secret;
                return QtFuture::makeReadyFuture(SaveResult());
            },
            nullptr);
        dialog.show();
        auto *message = dialog.findChild<QLabel *>(QStringLiteral("validationLabel"));
        QVERIFY(message);
        // A fresh form shows a hint, not an error, and cannot be saved.
        QVERIFY(!dialog.saveButton()->isEnabled());
        QVERIFY(!dialog.editorFor(ProfileError::Field::Name)->property("invalid").toBool());

        QTest::keyClicks(lineEdit(dialog, ProfileError::Field::Name), QStringLiteral("-bad"));
        QCOMPARE(dialog.errorField(), ProfileError::Field::Name);
        QVERIFY(dialog.editorFor(ProfileError::Field::Name)->property("invalid").toBool());
        QCOMPARE(message->text(), dialog.errorText());
        retype(lineEdit(dialog, ProfileError::Field::Name), QStringLiteral("dr-backup"));
        QCOMPARE(dialog.errorField(), ProfileError::Field::Local);
        QVERIFY(!dialog.editorFor(ProfileError::Field::Name)->property("invalid").toBool());

        QTest::keyClicks(lineEdit(dialog, ProfileError::Field::Local), folder.path());
        QCOMPARE(dialog.errorField(), ProfileError::Field::Remote);
        QTest::keyClicks(lineEdit(dialog, ProfileError::Field::Remote),
                         QStringLiteral("s3://play.min.io"));
        QCOMPARE(dialog.errorField(), ProfileError::Field::Remote);
        QVERIFY(message->text().contains(QStringLiteral("names no bucket")));
        QTest::keyClicks(lineEdit(dialog, ProfileError::Field::Remote),
                         QStringLiteral("/backups/dr"));
        QVERIFY2(dialog.errorText().isEmpty(), qPrintable(dialog.errorText()));
        QVERIFY(dialog.saveButton()->isEnabled());

        // A part size below S3's minimum.
        auto *partSize = qobject_cast<QSpinBox *>(dialog.editorFor(ProfileError::Field::PartSize));
        partSize->setFocus();
        partSize->selectAll();
        QTest::keyClicks(partSize, QStringLiteral("2"));
        QCOMPARE(partSize->value(), 2);
        QCOMPARE(dialog.errorField(), ProfileError::Field::PartSize);
        QVERIFY(message->text().contains(QStringLiteral("5 MiB")));
        QVERIFY(!dialog.saveButton()->isEnabled());
        partSize->selectAll();
        QTest::keyClicks(partSize, QStringLiteral("8"));
        QVERIFY(dialog.errorText().isEmpty());

        QTest::keyClicks(dialog.findChild<QLineEdit *>(QStringLiteral("secretEdit")),
                         QStringLiteral("s3cr3t"));
        QSignalSpy accepted(&dialog, &QDialog::accepted);
        QTest::mouseClick(dialog.saveButton(), Qt::LeftButton);
        QTRY_COMPARE(accepted.size(), 1);
        QCOMPARE(saves, 1);
        QCOMPARE(saved.name, QStringLiteral("dr-backup"));
        QCOMPARE(saved.localFolder, folder.path());
        QCOMPARE(saved.remote, QStringLiteral("s3://play.min.io/backups/dr"));
        QCOMPARE(saved.partSize, qint64(8) * 1024 * 1024);
        QCOMPARE(savedSecret, QStringLiteral("s3cr3t"));
    }

    void refusedSaveKeepsTheDialogOpen()
    {
        QTemporaryDir folder;
        Profile existing;
        existing.name = QStringLiteral("photos");
        existing.localFolder = folder.path();
        existing.remote = QStringLiteral("s3://play.min.io/photos");
        ProfileDialog dialog(
            [](Profile, QString) {
                return QtFuture::makeReadyFuture(SaveResult(std::unexpected(ProfileError{
                    ProfileError::Field::Name, QStringLiteral("A profile named `photos` already "
                                                              "exists.")})));
            },
            nullptr, existing);
        dialog.show();
        QVERIFY(dialog.saveButton()->isEnabled());
        QVERIFY(lineEdit(dialog, ProfileError::Field::Name)->isReadOnly());
        QSignalSpy failed(&dialog, &ProfileDialog::saveFailed);
        QTest::mouseClick(dialog.saveButton(), Qt::LeftButton);
        QVERIFY(failed.wait(5000));
        QVERIFY(dialog.isVisible());
        QCOMPARE(dialog.errorField(), ProfileError::Field::Name);
        QVERIFY(dialog.errorText().contains(QStringLiteral("already exists")));
        QVERIFY(dialog.editorFor(ProfileError::Field::Name)->property("invalid").toBool());
    }

    void profileTexts()
    {
        ProfileStatus status;
        status.profile.name = QStringLiteral("dr-backup");
        QCOMPARE(presentation::stateText(status), QStringLiteral("idle"));
        QCOMPARE(presentation::lastRunText(status), QStringLiteral("never run"));

        status.activity = ProfileActivity::Syncing;
        status.bytesTotal = 400;
        status.bytesDone = 100;
        QCOMPARE(presentation::percent(status), 25);
        QCOMPARE(presentation::stateText(status), QStringLiteral("syncing 25 %"));

        status.activity = ProfileActivity::Cancelling;
        QCOMPARE(presentation::percent(status), -1);
        QVERIFY(presentation::stateText(status).startsWith(QStringLiteral("cancelling")));

        status.activity = ProfileActivity::Idle;
        status.lastResult = HistoryStatus::Failed;
        status.lastFinished = QDateTime::currentDateTimeUtc();
        status.lastError = QStringLiteral("Bucket `x` does not exist");
        QVERIFY(presentation::isError(status));
        QCOMPARE(presentation::stateText(status), QStringLiteral("error"));
        QVERIFY(presentation::lastRunText(status).contains(status.lastError));

        status.lastResult = HistoryStatus::Cancelled;
        status.lastStopReason = CancelReason::Offline;
        QVERIFY(
            presentation::lastRunText(status).startsWith(QStringLiteral("Cancelled (offline)")));
        QCOMPARE(presentation::iconName(OverallState::Offline), QStringLiteral("offline"));
    }
};

QTEST_MAIN(TestUiWidgets)
#include "tst_ui_widgets.moc"
