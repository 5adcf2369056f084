#include "LogView.h"

#include "LogSink.h"

#include <QComboBox>
#include <QDateTime>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QVBoxLayout>

namespace ferry {

namespace {

constexpr int kMaxLines = 5000;

QString levelText(int type)
{
    switch (QtMsgType(type)) {
    case QtDebugMsg:
        return QStringLiteral("debug");
    case QtInfoMsg:
        return QStringLiteral("info");
    case QtWarningMsg:
        return QStringLiteral("warning");
    case QtCriticalMsg:
        return QStringLiteral("critical");
    case QtFatalMsg:
        return QStringLiteral("fatal");
    }
    return {};
}

} // namespace

LogView::LogView(QWidget *parent) : QWidget(parent)
{
    setObjectName(QStringLiteral("logView"));
    m_category = new QComboBox(this);
    m_category->setObjectName(QStringLiteral("categoryFilter"));
    m_category->setAccessibleName(tr("Filter the log by category"));
    m_category->addItem(tr("All categories"), QString());
    m_text = new QPlainTextEdit(this);
    m_text->setObjectName(QStringLiteral("logText"));
    m_text->setAccessibleName(tr("Log"));
    m_text->setReadOnly(true);
    m_text->setMaximumBlockCount(kMaxLines);
    m_text->setLineWrapMode(QPlainTextEdit::NoWrap);
    m_text->setFont(QFont(QStringLiteral("monospace")));

    auto *filters = new QHBoxLayout;
    auto *label = new QLabel(tr("&Category:"), this);
    label->setBuddy(m_category);
    filters->addWidget(label);
    filters->addWidget(m_category);
    filters->addStretch(1);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(filters);
    layout->addWidget(m_text);

    connect(m_category, &QComboBox::currentIndexChanged, this, &LogView::refilter);
    connect(LogSink::instance(), &LogSink::messageLogged, this, &LogView::append,
            Qt::QueuedConnection);
}

void LogView::append(int type, const QString &category, const QString &message)
{
    const QString line = QStringLiteral("%1 %2 %3: %4")
                             .arg(QTime::currentTime().toString(QStringLiteral("HH:mm:ss.zzz")),
                                  levelText(type).leftJustified(8), category, message);
    m_lines.append({category, line});
    if (m_lines.size() > kMaxLines)
        m_lines.removeFirst();
    if (!m_categories.contains(category)) {
        m_categories.insert(category);
        m_category->addItem(category, category);
    }
    const QString filter = m_category->currentData().toString();
    if (filter.isEmpty() || filter == category)
        m_text->appendPlainText(line);
}

void LogView::refilter()
{
    const QString filter = m_category->currentData().toString();
    QStringList shown;
    for (const auto &line : std::as_const(m_lines))
        if (filter.isEmpty() || filter == line.category)
            shown.append(line.text);
    m_text->setPlainText(shown.join(QLatin1Char('\n')));
}

} // namespace ferry
