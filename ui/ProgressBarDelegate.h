#pragma once

#include <QStyledItemDelegate>

namespace ferry {

/**
 * Paints a progress bar (QStyleOptionProgressBar, the style's own look) for a column whose
 * `role` holds a percent 0..100; a negative value paints the ordinary item (empty text).
 * Defaults to TaskTreeModel::ProgressRole.
 */
class ProgressBarDelegate : public QStyledItemDelegate {
    Q_OBJECT
public:
    explicit ProgressBarDelegate(QObject *parent = nullptr);
    ProgressBarDelegate(int role, QObject *parent);

    void paint(QPainter *painter, const QStyleOptionViewItem &option,
               const QModelIndex &index) const override;
    QSize sizeHint(const QStyleOptionViewItem &option, const QModelIndex &index) const override;

private:
    int m_role;
};

} // namespace ferry
