#pragma once

#include <QWidget>

class QComboBox;
class QSortFilterProxyModel;
class QTableView;

namespace ferry {

class HistoryModel;
class Scheduler;

/**
 * Finished tasks, newest first, with filters by profile, status (Completed, Failed,
 * Cancelled) and time. Cancelled rows show their reason and clean-up outcome, failed rows
 * their error. Rows load lazily as the view scrolls; a click on a header sorts what is
 * loaded.
 */
class HistoryPanel : public QWidget {
    Q_OBJECT
public:
    HistoryPanel(Scheduler *scheduler, QWidget *parent = nullptr);

    [[nodiscard]] HistoryModel *model() const { return m_model; }
    [[nodiscard]] QTableView *view() const { return m_view; }
    [[nodiscard]] QComboBox *profileFilter() const { return m_profile; }
    [[nodiscard]] QComboBox *statusFilter() const { return m_status; }
    [[nodiscard]] QComboBox *timeFilter() const { return m_time; }

    /// The profile names the profile filter offers (besides "All profiles").
    void setProfiles(const QStringList &names);

private:
    void applyFilter();

    HistoryModel *m_model;
    QSortFilterProxyModel *m_sorted;
    QTableView *m_view;
    QComboBox *m_profile;
    QComboBox *m_status;
    QComboBox *m_time;
};

} // namespace ferry
