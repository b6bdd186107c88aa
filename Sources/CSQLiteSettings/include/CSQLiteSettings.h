#ifndef HYGIE_CSQLITE_SETTINGS_H
#define HYGIE_CSQLITE_SETTINGS_H

/// Connection settings of the SQLite copy sqlite-nio vendors that only `sqlite3_db_config`
/// reaches: a C variadic function, which Swift cannot call.

/// Turns on the query planner stability guarantee: a statement's plan no longer depends on the
/// values bound to it, so a kept statement is not prepared again when they change. Returns an
/// SQLite result code.
int hygie_sqlite_enable_stable_plans(void *connection);

/// 1 when the guarantee is on for this connection, 0 when off, -1 on error.
int hygie_sqlite_stable_plans_enabled(void *connection);

#endif
