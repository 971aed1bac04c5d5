import Foundation
import MregTestSupport
import RegistryCore
import Testing

/// The server against its own OpenAPI document, fuzzed by schemathesis (scripts/schemathesis.sh).
@Suite struct SchemathesisTests {
    static let installed = FileManager.default.isExecutableFile(atPath: PackagePaths.schemathesis)

    @Test(
        .enabled(if: installed, "schemathesis is not installed at .build/venv/bin/schemathesis; `make test-tools` installs it"),
        .timeLimit(.minutes(5)))
    func theServerConformsToItsOpenAPIDocument() async throws {
        try await withTemporaryDirectory { temporary in
            let directory = temporary.path
            let database = "\(directory)/registry.db"
            // With a signing key, so that POST /v1/audit/checkpoint is exercised rather than 503.
            let keyFile = "\(directory)/audit.key"
            try Data(CheckpointKeys.generate().privateKey.utf8).write(to: URL(fileURLWithPath: keyFile))
            let server = try await ServeProcess(database: database, directory: directory, options: ["--checkpoint-key", keyFile])
            defer { server.stop() }
            let issued = try await runProgram(
                PackagePaths.mreg, ["token", "create", "--name", "schemathesis", "--role", "admin", "--db", database, "--json"], in: directory)
            try #require(issued.status == 0, "\(issued)")
            let token = try #require(issued.json["token"] as? String, "\(issued)")

            let script = PackagePaths.root.appendingPathComponent("scripts/schemathesis.sh").path
            // Not revokeToken: the fuzzer finds its own token in GET /v1/tokens and revokes it,
            // after which every other operation only ever gets 401 (TokenAndAuditExportRouteTests covers it).
            let outcome = try await runProgram(
                "/bin/bash", [script, "http://127.0.0.1:\(server.port)", token, "--exclude-operation-id", "revokeToken"], in: directory,
                timeout: .seconds(280))
            #expect(outcome.status == 0, "schemathesis found problems (or did not finish):\n\(outcome.stdout.suffix(12_000))\n\(outcome.stderr.suffix(2_000))")
            #expect(server.isRunning, "the server died under the fuzzer:\n\(server.stderr)")
        }
    }
}
