import Foundation
import Hummingbird
import RegistryCore

/// Models, versions, reports and branches.
struct ModelRoutes {
    let registry: Registry

    var routes: [Route] {
        [
            Route(.get, "/v1/models", role: .reader) { request in
                .json(try registry.models(limit: try request.intQuery("limit", default: 100), cursor: request.query("cursor")))
            },
            Route(.post, "/v1/models", role: .engineer, idempotent: true) { request in
                struct Body: Decodable { let name: String; let description: String? }
                let body = try request.decode(Body.self, allowedKeys: ["name", "description"])
                let change = try registry.creatingModel(name: body.name, description: body.description ?? "", by: try request.caller)
                return try await registry.answer(request, applying: change) { model in
                    .json(model, status: .created, headers: [.location: "/v1/models/\(model.name)"])
                }
            },
            Route(.get, "/v1/models/{name}", role: .reader) { request in
                .json(try registry.model(named: try request.parameter("name")))
            },
            Route(.get, "/v1/models/{name}/versions", role: .reader) { request in
                .json(bytes: try registry.versionsJSON(
                    model: try request.parameter("name"), limit: try request.intQuery("limit", default: 50), cursor: request.query("cursor")))
            },
            Route(.post, "/v1/models/{name}/versions", role: .engineer, idempotent: true) { request in
                let body = try request.decode(RegisterRequest.self, allowedKeys: RegisterRequest.allowedKeys)
                let change = try registry.registering(model: try request.parameter("name"), body, by: try request.caller)
                return try await registry.answer(request, applying: change) { version in
                    .json(version, status: .created, headers: [.location: "/v1/models/\(version.model)/versions/\(version.version)"])
                }
            },
            Route(.get, "/v1/models/{name}/versions/{ref}", role: .reader) { request in
                .json(try registry.version(model: try request.parameter("name"), try VersionRef(parsing: try request.parameter("ref"))))
            },
            Route(.post, "/v1/models/{name}/versions/{ref}/deprecate", role: .engineer) { request in
                struct Body: Decodable { let reason: String }
                let body = try request.decode(Body.self, allowedKeys: ["reason"])
                return .json(try await registry.deprecate(
                    model: try request.parameter("name"), version: try request.intParameter("ref"), reason: body.reason, by: try request.caller))
            },
            Route(.get, "/v1/models/{name}/versions/{ref}/reports", role: .reader) { request in
                // One page: a version has few reports.
                .json(Page(items: try registry.reports(model: try request.parameter("name"), version: try request.intParameter("ref")), nextCursor: nil))
            },
            // Up to 10 MiB of JUnit XML, parsed here: only the parsed report goes into the write.
            Route(.post, "/v1/models/{name}/versions/{ref}/reports", role: .engineer, idempotent: true, maxBodyBytes: 10 << 20) { request in
                let isXML = request.header(.contentType).map { $0.contains("xml") } ?? false
                let upload = ReportUpload(
                    document: request.body, format: isXML ? .junit : .json, suite: request.query("suite"),
                    metrics: try request.metricQueries())
                let change = try registry.addingReport(
                    model: try request.parameter("name"), version: try request.intParameter("ref"), upload, what: "the request body",
                    by: try request.caller)
                return try await registry.answer(request, applying: change) { .json($0, status: .created) }
            },
            Route(.get, "/v1/models/{name}/branches", role: .reader) { request in
                let name = try request.parameter("name")
                return .json(Page(
                    items: try Branch.allCases.map { (branch: Branch) throws(RegistryError) in try registry.branch(model: name, branch) },
                    nextCursor: nil))
            },
            Route(.get, "/v1/models/{name}/branches/{branch}", role: .reader) { request in
                let state = try registry.branch(model: try request.parameter("name"), try Branch.parse(try request.parameter("branch")))
                return .json(state, headers: [.eTag: state.etag])
            },
        ]
    }
}
