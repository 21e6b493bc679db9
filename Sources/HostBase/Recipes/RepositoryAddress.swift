import Foundation

/// A recipe repository's address as people see it and as git fetches it. A URL may carry a
/// credential (`https://user:token@host/…`): git gets the address whole, in memory; everything
/// written for people (console, reports, the database) gets `display`, and the credential is
/// redacted wherever else it turns up (a git error quoting the URL).
public enum RepositoryAddress {
    /// The address without the user and password of a URL; a path is itself.
    public static func display(_ address: String) -> String {
        guard let (range, _) = userInfo(of: address) else { return address }
        var shown = address
        shown.removeSubrange(range)
        return shown
    }

    /// What of the address is a credential: the whole `user:password` part and the password, as
    /// written and percent-decoded. Empty for an address without one.
    public static func credentials(_ address: String) -> [String] {
        guard let (_, info) = userInfo(of: address) else { return [] }
        let userAndPassword = String(info.dropLast())  // the `@`
        var values = [userAndPassword]
        if let colon = userAndPassword.firstIndex(of: ":") { values.append(String(userAndPassword[userAndPassword.index(after: colon)...])) }
        values += values.compactMap { $0.removingPercentEncoding }.filter { !values.contains($0) }
        return values
    }

    /// The `user:password@` part of a URL's authority (between `://` and the host), if any.
    static func userInfo(of address: String) -> (Range<String.Index>, Substring)? {
        guard let scheme = address.range(of: "://") else { return nil }
        let authorityEnd = address[scheme.upperBound...].firstIndex { "/?#".contains($0) } ?? address.endIndex
        guard let at = address[scheme.upperBound..<authorityEnd].lastIndex(of: "@") else { return nil }
        let range = scheme.upperBound..<address.index(after: at)
        return (range, address[range])
    }
}
