#pragma once

namespace ferry {

class ConnectivityMonitor;
class MainWindow;
class Tray;

/**
 * Shows the ConnectivityMonitor's verdicts: the window's status bar (network and each
 * endpoint) and the tray (icon, tooltip, "offline" notifications) follow its signals from
 * now on, starting from its current state. Either view may be null.
 */
void bindConnectivity(ConnectivityMonitor *monitor, MainWindow *window, Tray *tray);

} // namespace ferry
