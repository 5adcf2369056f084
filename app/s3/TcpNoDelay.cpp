#include "TcpNoDelay.h"

#include <QtGlobal>

#ifdef Q_OS_LINUX
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cstdlib>
#endif

namespace ferry::s3 {

#ifdef Q_OS_LINUX

namespace {

bool intOption(int fd, int level, int name, int *value)
{
    socklen_t length = sizeof *value;
    return ::getsockopt(fd, level, name, value, &length) == 0;
}

/// A connected or connecting TCP socket that still delays small segments.
bool isNaglingTcpSocket(int fd)
{
    struct stat info {};
    if (::fstat(fd, &info) != 0 || !S_ISSOCK(info.st_mode))
        return false;
    int domain = 0;
    int type = 0;
    int listening = 0;
    int noDelay = 0;
    return intOption(fd, SOL_SOCKET, SO_DOMAIN, &domain) &&
           (domain == AF_INET || domain == AF_INET6) && intOption(fd, SOL_SOCKET, SO_TYPE, &type) &&
           type == SOCK_STREAM && intOption(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening) &&
           !listening && intOption(fd, IPPROTO_TCP, TCP_NODELAY, &noDelay) && !noDelay;
}

} // namespace

int disableNagleOnTcpSockets()
{
    DIR *directory = ::opendir("/proc/self/fd");
    if (!directory)
        return 0;
    const int own = ::dirfd(directory);
    int changed = 0;
    while (const dirent *entry = ::readdir(directory)) {
        char *end = nullptr;
        const long fd = std::strtol(entry->d_name, &end, 10);
        if (end == entry->d_name || *end != '\0' || fd == own)
            continue;
        // Another thread may close (or reuse) the descriptor meanwhile: the checks and the
        // option then fail harmlessly, or apply to a new TCP socket, which wants it too.
        if (!isNaglingTcpSocket(int(fd)))
            continue;
        const int on = 1;
        if (::setsockopt(int(fd), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) == 0)
            ++changed;
    }
    ::closedir(directory);
    return changed;
}

#else

int disableNagleOnTcpSockets()
{
    return 0;
}

#endif

} // namespace ferry::s3
