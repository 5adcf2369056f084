#pragma once

#include <QSet>
#include <QWidget>

class QComboBox;
class QPlainTextEdit;

namespace ferry {

/**
 * The app's log (LogSink): one line per message with time, level and category, filtered by
 * category; keeps the last few thousand lines.
 */
class LogView : public QWidget {
    Q_OBJECT
public:
    explicit LogView(QWidget *parent = nullptr);

    [[nodiscard]] QPlainTextEdit *text() const { return m_text; }

public slots:
    void append(int type, const QString &category, const QString &message);

private:
    struct Line {
        QString category;
        QString text;
    };
    void refilter();

    QComboBox *m_category;
    QPlainTextEdit *m_text;
    QList<Line> m_lines;
    QSet<QString> m_categories;
};

} // namespace ferry
