@testable import SQLite

/// Everything a database holds that a test can compare: its schema and every table's rows.
struct DatabaseSnapshot: Equatable {
    let schema: [Row]
    let contents: [String: [Row]]

    init(_ connection: Connection) throws {
        schema = try connection.query("SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name")
        var contents: [String: [Row]] = [:]
        let tables = try connection.query(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")
        for table in tables {
            let name = try table.string(0)
            contents[name] = try connection.query("SELECT * FROM \"\(name)\" ORDER BY rowid")
        }
        self.contents = contents
    }
}
