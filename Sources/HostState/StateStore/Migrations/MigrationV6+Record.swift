import Foundation

/// A frozen copy of the run record as v6 read and wrote it (RunRecord, RunReport.decode and
/// RunReport.json of cchost.run/2 when v6 shipped). Same property names, order and coding
/// strategies, so it reads, fails to read, and writes exactly as they did then. Never edit it to
/// follow RunRecord: it is what v6 *was*, not what the record *is*.
extension MigrationV6 {
    enum Verdict: String, Codable {
        case pass, fail, skip, unverified
        var isGreen: Bool { self == .pass || self == .skip }
    }

    enum Tier: String, Codable, CaseIterable, Comparable {
        case lint, install, upgrade, backup, restore, custom
        private var order: Int { Self.allCases.firstIndex(of: self) ?? 0 }
        static func < (a: Tier, b: Tier) -> Bool { a.order < b.order }
    }

    enum Op: String, Codable, CaseIterable {
        case none, lint, deploy, chaosRedeploy = "chaos_redeploy", backup, restore
    }

    struct Record: Codable {
        enum Trigger: String, Codable { case manual, sweep, webhook }

        struct Ref: Codable {
            var ref: String
            var commit: String
            var version: String?
        }

        struct CheckRecord: Codable {
            var plugin: String
            var name: String
            var verdict: Verdict
            var detail: String
            var cause: String?
            var seconds: Double
        }

        struct TierRecord: Codable {
            var tier: Tier
            var verdict: Verdict
            var op: Op
            var opRef: String?
            var opVerdict: Verdict
            var opDetail: String
            var checks: [CheckRecord]
            var seconds: Double
            var notApplicable: String?
            var notApplicableExpected: Bool?
            var lintWarnings: Int?

            enum CodingKeys: String, CodingKey {
                case tier, verdict, op, opRef, opVerdict, opDetail, checks, seconds, notApplicable, notApplicableExpected, lintWarnings
            }

            /// Reads `cchost.run/2` and `cchost.run/1` (`op` free text such as `deploy 1.0.0` or
            /// `none (custom checks only)`, lint warnings only in the detail).
            init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: CodingKeys.self)
                tier = try container.decode(Tier.self, forKey: .tier)
                verdict = try container.decode(Verdict.self, forKey: .verdict)
                opVerdict = try container.decode(Verdict.self, forKey: .opVerdict)
                opDetail = try container.decode(String.self, forKey: .opDetail)
                checks = try container.decode([CheckRecord].self, forKey: .checks)
                seconds = try container.decode(Double.self, forKey: .seconds)
                notApplicable = try container.decodeIfPresent(String.self, forKey: .notApplicable)
                notApplicableExpected = try container.decodeIfPresent(Bool.self, forKey: .notApplicableExpected)
                lintWarnings = try container.decodeIfPresent(Int.self, forKey: .lintWarnings)
                let text = try container.decode(String.self, forKey: .op)
                if let op = Op(rawValue: text) {
                    self.op = op
                    opRef = try container.decodeIfPresent(String.self, forKey: .opRef)
                } else if let legacy = Self.legacyOp(text) {
                    (op, opRef) = legacy
                } else {
                    throw DecodingError.dataCorruptedError(forKey: .op, in: container,
                                                           debugDescription: "'\(text)' is not an op (\(Op.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                if tier == .lint, lintWarnings == nil { lintWarnings = Self.legacyLintWarnings(opDetail) }
            }

            /// A `cchost.run/1` op: `deploy REF`, `chaos redeploy to REF`, `chaos redeploy`, `none (…)`, or empty.
            static func legacyOp(_ text: String) -> (Op, String?)? {
                if text.isEmpty || text.hasPrefix("none") { return (.none, nil) }
                if text.hasPrefix("chaos redeploy") {
                    let ref = text.dropFirst("chaos redeploy".count).trimmingCharacters(in: .whitespaces)
                    let bare = ref.hasPrefix("to ") ? String(ref.dropFirst(3)) : ref
                    return (.chaosRedeploy, bare.isEmpty ? nil : bare)
                }
                if text.hasPrefix("deploy") {
                    let ref = text.dropFirst("deploy".count).trimmingCharacters(in: .whitespaces)
                    return (.deploy, ref.isEmpty ? nil : ref)
                }
                return nil
            }

            /// The warnings of a `cchost.run/1` lint tier, from its detail `N error(s), M warning(s)`.
            static func legacyLintWarnings(_ detail: String) -> Int? {
                guard let range = detail.range(of: " warning(s)") else { return nil }
                return Int(detail[..<range.lowerBound].split(separator: " ").last ?? "")
            }

            /// The op as people read it: `deploy 1.2.0`, `chaos redeploy to main`, `backup`.
            var opDescription: String {
                switch op {
                case .deploy: opRef.map { "deploy \($0)" } ?? "deploy"
                case .chaosRedeploy: opRef.map { "chaos redeploy to \($0)" } ?? "chaos redeploy"
                case .none, .lint, .backup, .restore: op.rawValue
                }
            }
        }

        struct Teardown: Codable {
            var removed: [String]
            var leftovers: [String]
            var seconds: Double
            var isClean: Bool { leftovers.isEmpty }
        }

        enum Start: String, Codable { case cold, warm, quick }

        struct CanonicalStart: Codable {
            var version: String
            var commit: String
            var runID: String
            var volumes: [String]
        }

        // The properties in RunRecord's order: a record missing several keys fails on the same one.
        var id: String
        var trigger: Trigger
        var recipe: String
        var repository: String
        var backend: String
        var backendVersion: String? = nil
        var domain: String
        var base: Ref?
        var head: Ref
        var stages: [Tier]
        var startedAt: Date
        var finishedAt: Date?
        var tiers: [TierRecord]
        var deployCount: Int
        var generic: String
        static let genericMissing = "missing"
        var teardown: Teardown?
        var artifacts: [String]
        var start: Start = .cold
        var startedFrom: CanonicalStart?
        var retainedVolumes: [String]?
        var retentionProblem: String?
        var allowances: [String]?
        var verdict: Verdict
        var aborted: String?
        var level: Int?
        var levelReason: String?

        /// RunReport.decode: snake_case keys, ISO-8601 dates.
        static func decode(_ data: Data) throws -> Record {
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            decoder.dateDecodingStrategy = .iso8601
            return try decoder.decode(Record.self, from: data)
        }

        /// RunReport.json without secrets: pretty-printed, keys sorted and in snake_case, ISO-8601
        /// dates, `schema` `cchost.run/2`. The caller judges the record first.
        func json() throws -> Data {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            encoder.dateEncodingStrategy = .iso8601
            return try encoder.encode(Envelope(record: self))
        }

        private struct Envelope: Encodable {
            let record: Record
            enum Keys: String, CodingKey { case schema }

            func encode(to encoder: any Encoder) throws {
                try record.encode(to: encoder)
                var container = encoder.container(keyedBy: Keys.self)
                try container.encode("cchost.run/2", forKey: .schema)
            }
        }
    }
}
