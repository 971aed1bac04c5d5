/// The one error type of the registry: a stable code and one sentence naming what was wrong.
///
/// The codes are the contract's (`NOT_FOUND`, `INVALID_ARGUMENT`, …); the CLI maps them to
/// exit codes and the server to HTTP statuses, each in one place.
public struct RegistryError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, Codable, CaseIterable {
        case notFound = "NOT_FOUND"
        case invalidArgument = "INVALID_ARGUMENT"
        case alreadyExists = "ALREADY_EXISTS"
        case conflict = "CONFLICT"
        case preconditionFailed = "PRECONDITION_FAILED"
        case gateFailed = "GATE_FAILED"
        case unauthenticated = "UNAUTHENTICATED"
        case permissionDenied = "PERMISSION_DENIED"
        case payloadTooLarge = "PAYLOAD_TOO_LARGE"
        /// The audit chain or a checkpoint does not verify.
        case integrity = "INTEGRITY"
        /// The database could not be used (not a database, unreadable, schema too new, …).
        case unavailable = "UNAVAILABLE"
        case `internal` = "INTERNAL"
    }

    public let code: Code
    public let message: String
    /// For `gateFailed`: the evaluation that refused the change.
    public let gates: [GateResult]?

    public init(_ code: Code, _ message: String, gates: [GateResult]? = nil) {
        self.code = code
        self.message = message
        self.gates = gates
    }

    public var description: String { message }
}
