#include <sqlite3.h>

// sqlite3_db_config is variadic, which Swift cannot call; this fixes its arguments for the
// integer options (https://www.sqlite.org/c3ref/db_config.html).
static inline int csqlite_db_config_int(sqlite3 *db, int op, int value) {
    int current = 0;
    return sqlite3_db_config(db, op, value, &current);
}

// sqlite3_config is variadic as well; this fixes its arguments for the integer options. It only
// works before the library initialises (https://www.sqlite.org/c3ref/config.html).
static inline int csqlite_config_int(int op, int value) {
    return sqlite3_config(op, value);
}
