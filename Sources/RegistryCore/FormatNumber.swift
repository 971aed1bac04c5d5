/// A number as people write it: `0.9`, `50`, not `50.0` (gate messages, policy errors, JSON).
func formatNumber(_ value: Double) -> String {
    if value.rounded() == value, abs(value) < 1e15 { return String(Int64(value)) }
    return String(value)
}
