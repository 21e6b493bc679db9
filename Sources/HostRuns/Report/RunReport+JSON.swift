import Foundation

/// The JSON record (`cchost.run/2`) and its decoder.
extension RunReport {
    /// The run record as JSON, schema `cchost.run/2` (judged: verdict and level are the judgement's): pretty-printed, keys sorted and in
    /// snake_case, dates in ISO 8601 (UTC, whole seconds). Optional fields are absent when unset.
    ///
    /// - `schema`: always `"cchost.run/2"`; a new version is a breaking change of this layout.
    ///   (`cchost.run/1` had `op` as free text with the ref in it and no level; it still decodes.)
    /// - `id`: the run id.
    /// - `trigger`: what started the run: `manual`, `sweep` or `webhook`.
    /// - `recipe`: the recipe name; `repository`: where its git repository was fetched from.
    /// - `backend`: the deploy backend (`swarm`, `abra`); `backendVersion` (optional): the version of
    ///   the tool it drives (abra's); `domain`: the test domain of the app.
    /// - `base` (absent for an install-only run) and `head`: the versions deployed, each
    ///   `{ "ref": as given (tag, branch, commit), "commit": full sha, "version": release version when
    ///   the ref is a release tag (optional) }`. Install deploys the base (the head when there is no
    ///   base); upgrade redeploys in place to the head.
    /// - `start`: where the app's data came from: `cold` (fresh volumes), `warm` or `quick` (a copy of
    ///   the canonical's data); `started_from` (warm and quick only): the canonical, `{ "version",
    ///   "commit", "run_id": the run that earned it, "volumes": its retained volumes }`.
    /// - `retained_volumes`: the volumes the run kept for a promotion (sweep runs that passed every
    ///   tier); `retention_problem`: why they could not be kept. Both absent otherwise.
    /// - `stages`: the tiers the run planned, in order (`lint`, `install`, `upgrade`, `backup`,
    ///   `restore`, `custom`).
    /// - `started_at`, `finished_at` (absent while the run is unfinished).
    /// - `tiers`: one object per tier that has a record, in order:
    ///   - `tier`: the tier name; `verdict`: the tier's verdict, the worst of its op and checks.
    ///   - `op`: what the host ran for the tier, once: `lint`, `deploy`, `chaos_redeploy`, `backup`,
    ///     `restore`, or `none` (n/a, never started, or the custom tier's checks only); `op_ref`: the
    ///     ref a `deploy` or `chaos_redeploy` deployed; `op_verdict`; `op_detail`: what the op found.
    ///   - `lint_warnings` (lint tier only): warnings found; they cost level 5, not the verdict.
    ///   - `checks`: one object per check: `plugin` (`generic` for the generic suite), `name`,
    ///     `verdict`, `detail` (what the check found), `cause` (why an `unverified` check gave no
    ///     verdict; optional), `seconds`.
    ///   - `seconds`: the tier's wall time, op and checks.
    ///   - `not_applicable`: why the recipe cannot have this tier (the tier is a skip), and
    ///     `not_applicable_expected`: whether the recipe declared that n/a; both absent otherwise.
    /// - `deploy_count`: fresh deploys of the app in this run; must be exactly 1 when a deploy tier ran.
    /// - `generic`: the generic suite's status (`ran`, or `skipped: <why>`).
    /// - `teardown` (absent when teardown did not run): `removed` (objects removed), `leftovers`
    ///   (objects teardown could not remove; non-empty makes the run red), `unknown` (what could not
    ///   be listed or waited for; non-empty with no leftovers makes teardown unverified), `seconds`.
    /// - `artifacts`: paths of files the run kept (logs, diagnostics).
    /// - `verdict`: the run's verdict; green is `pass` or `skip`.
    /// - `level`: 0–5 (L0 install failed, L1 installs healthy, L2 upgrades in place, L3 data
    ///   proven through backup and restore, L4 recipe checks pass, L5 lint clean), absent for warm
    ///   and quick runs; `level_reason`: why it stopped where it did.
    /// - `aborted`: why the run stopped early, when it did.
    /// - `allowances`: what the operator's allowance let the recipe do that the content policy
    ///   refuses, each `option: finding (file:line)`; absent when it let nothing through.
    /// - `rendered_stacks`: each deploy's rendered stack, `{ref, file, sha256, copies}` (the file
    ///   docker was handed, relative to the run folder, and the recipe files copied beside it).
    ///
    /// Verdicts are one of `pass`, `fail`, `skip` (intentional: declared or structural) and
    /// `unverified` (should have run and did not). No field ever holds a secret; values passed as
    /// `secrets` are replaced with `[redacted]` in every free-text field.
    public static func json(_ record: RunRecord, secrets: [String] = []) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        var judged = redacted(record, secrets: secrets)
        judged.judge()
        return try encoder.encode(Envelope(record: judged))
    }

    /// A record from its JSON: `cchost.run/2`, or `cchost.run/1` as written before.
    public static func decode(_ data: Data) throws -> RunRecord {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(RunRecord.self, from: data)
    }

    /// The record's own keys plus `schema`, in one object.
    private struct Envelope: Encodable {
        let record: RunRecord
        enum Keys: String, CodingKey { case schema }

        func encode(to encoder: any Encoder) throws {
            try record.encode(to: encoder)
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(RunReport.schema, forKey: .schema)
        }
    }
}
