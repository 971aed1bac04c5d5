#include <sqlite3.h>

// sqlite3_db_config is variadic, which Swift cannot call; this fixes its arguments for the
// integer options (https://www.sqlite.org/c3ref/db_config.html).
static inline int csqlite_db_config_int(sqlite3 *db, int op, int value) {
    int current = 0;
    return sqlite3_db_config(db, op, value, &current);
}
