#include "app/DataDirectory.h"

#include <QCoreApplication>
#include <QTextStream>

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName("ferry");
    QTextStream(stdout) << "Ferry data directory: " << ferry::DataDirectory::resolve() << "\n";
    return 0;
}
