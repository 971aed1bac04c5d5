import Foundation

extension StringProtocol {
    /// Whether the text is empty or only spaces and tabs (`CharacterSet.whitespaces`): what a
    /// reason or an artifact URI must not be. `trimmingCharacters(in:)` bridges to NSString,
    /// a large share of a registration's CPU time (BENCHMARKS.md); this stops at the first other
    /// character.
    var isBlank: Bool { unicodeScalars.allSatisfy { CharacterSet.whitespaces.contains($0) } }
}
