#include "CSQLiteSettings.h"

#include <stddef.h>

// Declared here rather than through the vendored header, which is not a product of its package.
// The symbol is linked from sqlite-nio's VaporCSQLite target (sqlite3_db_config, prefixed).
extern int sqlite_nio_sqlite3_db_config(void *connection, int option, ...);

// SQLITE_DBCONFIG_ENABLE_QPSG (sqlite3.h).
enum { hygie_dbconfig_enable_qpsg = 1007 };

int hygie_sqlite_enable_stable_plans(void *connection) {
    int now = -1;
    return sqlite_nio_sqlite3_db_config(connection, hygie_dbconfig_enable_qpsg, 1, &now);
}

int hygie_sqlite_stable_plans_enabled(void *connection) {
    int now = -1;
    if (sqlite_nio_sqlite3_db_config(connection, hygie_dbconfig_enable_qpsg, -1, &now) != 0) return -1;
    return now;
}
