import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import RegistryCore

/// Turns anything thrown below it (unknown routes, oversized bodies, handler errors) into a
/// problem document, so no error leaves the server as an empty 500 or a stack trace.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = ServerContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            var problem = Problem(error)
            if problem.status >= 500 {
                context.logger.error("request failed", metadata: ["error": "\(String(reflecting: error))"])
            }
            problem.requestID = context.requestID
            var response = problem.response.hummingbird
            // What an HTTPError says besides its status goes out with the problem: a 405's `Allow`.
            if let error = error as? HTTPError { response.headers.append(contentsOf: error.headers) }
            return response
        }
    }
}
