import Foundation

/// Where a webhook may send (contract section 10): never to link-local or cloud-metadata
/// addresses, and to loopback and private ranges only when the server allows it
/// (`mreg serve --allow-private-webhooks`), so that a subscription cannot make the server reach
/// into the network it runs in.
public enum WebhookTarget {
    /// The URL, checked for its form: `http` or `https`, a host, no credentials.
    /// - Throws: `INVALID_ARGUMENT` naming what is wrong.
    public static func parse(_ text: String) throws(RegistryError) -> URLComponents {
        guard (1...2048).contains(text.utf8.count), let url = URLComponents(string: text),
            let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty
        else {
            throw RegistryError(.invalidArgument, "a webhook url must be an absolute http or https URL, not \"\(text)\"")
        }
        guard scheme == "http" || scheme == "https" else {
            throw RegistryError(.invalidArgument, "a webhook url must use http or https, not \(scheme)")
        }
        guard url.user == nil, url.password == nil else {
            throw RegistryError(.invalidArgument, "a webhook url must not carry credentials; every delivery is signed instead")
        }
        return url
    }

    /// `scheme://host[:port]` of a URL: what the audit log keeps of a target, since a path or
    /// query may carry a token of the receiver's (chat webhooks do).
    public static func origin(_ text: String) -> String {
        guard let url = URLComponents(string: text), let scheme = url.scheme, let host = url.host else { return "" }
        return "\(scheme)://\(url.percentEncodedHost ?? host)" + (url.port.map { ":\($0)" } ?? "")
    }

    /// Resolves the URL's host and refuses it when any of its addresses may not be reached.
    /// The resolver may wait on the network: it runs on a thread of its own, not on one of the
    /// few that run Swift tasks.
    /// - Parameter resolved: whether a host that does not resolve is refused too (when
    ///   sending); when a subscription is added it passes, and sending checks again.
    /// - Throws: `INVALID_ARGUMENT` naming the address and why.
    public static func check(_ text: String, allowPrivate: Bool, resolved: Bool = false) async throws(RegistryError) {
        let outcome = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Void, RegistryError>, Never>) in
            DispatchQueue.global().async {
                do throws(RegistryError) {
                    try checkNow(text, allowPrivate: allowPrivate, resolved: resolved)
                    continuation.resume(returning: .success(()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        try outcome.get()
    }

    private static func checkNow(_ text: String, allowPrivate: Bool, resolved: Bool) throws(RegistryError) {
        let url = try parse(text)
        let host = url.host!.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        let found = addresses(of: host)
        if resolved, found.isEmpty { throw RegistryError(.invalidArgument, "webhook host \(host) does not resolve") }
        for address in found {
            if let reason = refusal(address, allowPrivate: allowPrivate) {
                throw RegistryError(.invalidArgument, "webhook host \(host) is \(Self.text(address)), \(reason)")
            }
        }
    }

    /// Why `address` (4 or 16 bytes) may not be sent to, or nil when it may.
    public static func refusal(_ address: [UInt8], allowPrivate: Bool) -> String? {
        if address.count == 16 {
            // An IPv6 address that carries an IPv4 one is judged as that: mapped (::ffff:a.b.c.d),
            // compatible (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d) and 6to4 (2002:aabb:ccdd::).
            let zeroPrefix = address[0..<10].allSatisfy { $0 == 0 }
            if zeroPrefix, address[10] == 0xff, address[11] == 0xff { return refusal(Array(address[12...]), allowPrivate: allowPrivate) }
            if zeroPrefix, address[10] == 0, address[11] == 0, address[12...14].contains(where: { $0 != 0 }) {
                return refusal(Array(address[12...]), allowPrivate: allowPrivate)
            }
            if address[0..<12] == [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0] { return refusal(Array(address[12...]), allowPrivate: allowPrivate) }
            if address[0] == 0x20, address[1] == 0x02 { return refusal(Array(address[2..<6]), allowPrivate: allowPrivate) }
            if address[0] == 0xfe, address[1] & 0xc0 == 0x80 { return "a link-local address, which webhooks may not reach" }
            if address == [0xfd, 0x00, 0x0e, 0xc2] + [UInt8](repeating: 0, count: 10) + [0x02, 0x54] {
                return "a cloud metadata address, which webhooks may not reach"
            }
            if address.allSatisfy({ $0 == 0 }) { return "the unspecified address, which webhooks may not reach" }
            if address[0] == 0xff { return "a multicast address, which webhooks may not reach" }
            let loopback = address[0..<15].allSatisfy { $0 == 0 } && address[15] == 1
            let siteLocal = address[0] == 0xfe && address[1] & 0xc0 == 0xc0
            if !allowPrivate, loopback || siteLocal || address[0] & 0xfe == 0xfc {
                return "a loopback or private address; mreg serve --allow-private-webhooks allows those"
            }
            return nil
        }
        guard address.count == 4 else { return "not an IP address" }
        switch (address[0], address[1]) {
        case (169, 254): return "a link-local or cloud metadata address, which webhooks may not reach"
        case (100, 100) where address[2] == 100 && address[3] == 200, (168, 63) where address[2] == 129 && address[3] == 16:
            return "a cloud metadata address, which webhooks may not reach"
        case (0, _): return "in 0.0.0.0/8, which webhooks may not reach"
        case (224...255, _): return "a multicast or reserved address, which webhooks may not reach"
        case (127, _), (10, _), (172, 16...31), (192, 168), (100, 64...127):
            return allowPrivate ? nil : "a loopback or private address; mreg serve --allow-private-webhooks allows those"
        default: return nil
        }
    }

    /// The host's addresses: itself when it is an IP address, else what the resolver answers.
    static func addresses(of host: String) -> [[UInt8]] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var first: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &first) == 0 else { return [] }
        defer { freeaddrinfo(first) }
        var found: [[UInt8]] = []
        var next = first
        while let info = next {
            if info.pointee.ai_family == AF_INET {
                info.pointee.ai_addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                    var address = $0.pointee.sin_addr
                    found.append(withUnsafeBytes(of: &address) { Array($0) })
                }
            } else if info.pointee.ai_family == AF_INET6 {
                info.pointee.ai_addr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                    var address = $0.pointee.sin6_addr
                    found.append(withUnsafeBytes(of: &address) { Array($0) })
                }
            }
            next = info.pointee.ai_next
        }
        return found
    }

    static func text(_ address: [UInt8]) -> String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = address.count == 4 ? AF_INET : AF_INET6
        return address.withUnsafeBytes { bytes in
            inet_ntop(family, bytes.baseAddress, &buffer, socklen_t(buffer.count)) != nil ? String(cString: buffer) : "?"
        }
    }
}
