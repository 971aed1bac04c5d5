import Foundation

extension StringProtocol {
    /// Whether the text is empty or only spaces and tabs (`CharacterSet.whitespaces`): what a
    /// reason or an artifact URI must not be. `trimmingCharacters(in:)` bridges to NSString
    /// and was a fifth of a registration's CPU time (perf); this stops at the first other
    /// character.
    var isBlank: Bool { unicodeScalars.allSatisfy { CharacterSet.whitespaces.contains($0) } }
}
