import Foundation
import RegistryCore

/// Writing to the terminal: JSON, errors, aligned tables, and colour only on a terminal.
enum Terminal {
    static let isColorful = isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil

    static func printJSON<T: Encodable>(_ value: T) {
        let data = (try? JSONCoding.encoder(pretty: true).encode(value)) ?? Data("null".utf8)
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }

    static func printError(_ message: String) {
        FileHandle.standardError.write(Data((message.hasSuffix("\n") ? message : message + "\n").utf8))
    }

    /// Prints a registry error as one sentence (and a failing gate report) and exits with the
    /// contract's code for it.
    static func fail(_ error: RegistryError) -> Never {
        printError("error: \(error.message)")
        if let gates = error.gates, !gates.isEmpty {
            printError(gateTable(gates))
        }
        exit(ExitStatus.code(for: error))
    }

    static func green(_ text: String) -> String { isColorful ? "\u{1B}[32m\(text)\u{1B}[0m" : text }
    static func red(_ text: String) -> String { isColorful ? "\u{1B}[31m\(text)\u{1B}[0m" : text }
    static func bold(_ text: String) -> String { isColorful ? "\u{1B}[1m\(text)\u{1B}[0m" : text }

    static func gateTable(_ gates: [GateResult]) -> String {
        table(
            header: ["GATE", "RESULT", "OBSERVED", "REQUIRED", "WHY"],
            rows: gates.map { [$0.name, $0.passed ? green("pass") : red("FAIL"), text($0.observed), text($0.required), $0.message] })
    }

    static func text(_ value: JSONValue) -> String {
        switch value {
        case .null: "-"
        case .bool(let v): String(v)
        case .number(let v): number(v)
        case .string(let v): v
        case .array(let v): v.map(text).joined(separator: ", ")
        case .object: JSONCoding.text(value)
        }
    }

    static func number(_ value: Double) -> String {
        if value.rounded() == value, abs(value) < 1e15 { return String(Int64(value)) }
        return String(format: "%.6g", value)
    }

    static func signed(_ value: Double) -> String { (value > 0 ? "+" : "") + number(value) }

    /// Columns padded to the widest cell; ANSI colour codes do not count towards width.
    static func table(header: [String], rows: [[String]]) -> String {
        let all = [header.map(bold)] + rows
        var widths = [Int](repeating: 0, count: header.count)
        for row in all { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], visibleWidth(cell)) } }
        return all.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - visibleWidth(cell))
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// `key: value` lines with the values aligned.
    static func fields(_ pairs: [(String, String)]) -> String {
        let width = pairs.map(\.0.count).max() ?? 0
        return pairs.map { $0.0 + ":" + String(repeating: " ", count: width - $0.0.count + 1) + $0.1 }.joined(separator: "\n")
    }

    private static func visibleWidth(_ text: String) -> Int {
        var count = 0
        var inEscape = false
        for scalar in text.unicodeScalars {
            if inEscape {
                if scalar == "m" { inEscape = false }
            } else if scalar == "\u{1B}" {
                inEscape = true
            } else {
                count += 1
            }
        }
        return count
    }

    /// `2026-11-22T16:48:55.123Z (3m ago)`.
    static func time(_ timestamp: Timestamp) -> String {
        "\(timestamp) (\(relative(timestamp)))"
    }

    static func relative(_ timestamp: Timestamp) -> String {
        let seconds = (Timestamp.now().millisecondsSinceEpoch - timestamp.millisecondsSinceEpoch) / 1000
        let future = seconds < 0
        let s = abs(seconds)
        let amount = switch s {
        case ..<60: "\(s)s"
        case ..<3600: "\(s / 60)m"
        case ..<86_400: "\(s / 3600)h"
        default: "\(s / 86_400)d"
        }
        return future ? "in \(amount)" : "\(amount) ago"
    }

    static func version(_ number: Int?) -> String { number.map { "v\($0)" } ?? "-" }

    static func map(_ values: [String: String]) -> String {
        values.isEmpty ? "-" : values.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }

    static func metrics(_ values: [String: Double]) -> String {
        values.isEmpty ? "-" : values.sorted { $0.key < $1.key }.map { "\($0.key)=\(number($0.value))" }.joined(separator: " ")
    }
}
