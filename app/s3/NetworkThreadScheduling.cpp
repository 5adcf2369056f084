#include "NetworkThreadScheduling.h"

#include <QtGlobal>

#ifdef Q_OS_LINUX
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#endif

namespace ferry::s3 {

#ifdef Q_OS_LINUX

namespace {

// What Linux keeps of "QNetworkAccessManager thread": 15 characters.
constexpr char kQtNetworkThreadName[] = "QNetworkAccessM";

bool isQtNetworkThread(long tid)
{
    char path[64];
    std::snprintf(path, sizeof path, "/proc/self/task/%ld/comm", tid);
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    char name[32] = {};
    const ssize_t length = ::read(fd, name, sizeof name - 1);
    ::close(fd);
    return length > 0 &&
           std::strncmp(name, kQtNetworkThreadName, sizeof kQtNetworkThreadName - 1) == 0;
}

} // namespace

int runNetworkThreadsAsBatch()
{
    DIR *directory = ::opendir("/proc/self/task");
    if (!directory)
        return 0;
    int changed = 0;
    while (const dirent *entry = ::readdir(directory)) {
        char *end = nullptr;
        const long tid = std::strtol(entry->d_name, &end, 10);
        if (end == entry->d_name || *end != '\0')
            continue;
        // Only threads at the normal policy: one a user or Qt gave a real-time or idle policy
        // keeps it. A thread that ended meanwhile makes the calls fail harmlessly.
        if (::sched_getscheduler(pid_t(tid)) != SCHED_OTHER || !isQtNetworkThread(tid))
            continue;
        const sched_param none{};
        if (::sched_setscheduler(pid_t(tid), SCHED_BATCH, &none) == 0)
            ++changed;
    }
    ::closedir(directory);
    return changed;
}

#else

int runNetworkThreadsAsBatch()
{
    return 0;
}

#endif

} // namespace ferry::s3
