/// Optional properties are written as explicit `null`s, not left out: scripts rely on every key
/// of the contract being present (`"digest": null`, `"from_version": null`).
///
/// Synthesized `Encodable` conformances call `encodeIfPresent` for optionals; these overloads,
/// visible only inside RegistryCore, take precedence there and encode the nil instead.
extension KeyedEncodingContainer {
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws { try encode(value, forKey: key) }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws { try encode(value, forKey: key) }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws { try encode(value, forKey: key) }
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws { try encode(value, forKey: key) }
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { try encode(value, forKey: key) }
}
