import Foundation
import HostBase
import PluginChannel

/// What a run will do, fixed before anything is deployed: its id and folder, the head and base
/// checked out, the test domain, and the record it starts with. Everything here can fail with a
/// `PlanError`; nothing here touches Docker.
struct RunPlan {
    let runID: String
    /// `<runs>/<id>`: the record, the artifacts, the app's generated files; checkouts while it runs.
    let work: URL
    let artifacts: URL
    let head: Checkout
    let base: Checkout?
    /// The head's release version, when the head is a release tag.
    let headVersion: String?
    /// The base's release version, when the base is a release tag.
    let baseVersion: String?
    let domain: String
    let record: RunRecord

    init(_ request: RunRequest, runsDirectory: URL, backend: String) throws(PlanError) {
        runID = String(UUID().uuidString.lowercased().prefix(8))
        work = runsDirectory.appendingPathComponent(runID)
        artifacts = work.appendingPathComponent("artifacts")
        let artifacts = artifacts, work = work
        // A plan that fails leaves the run's folder without checkouts, as a finished run does.
        func givingUp(_ description: String) -> PlanError {
            Self.removeCheckouts(in: work)
            return PlanError(description: description)
        }
        func planned<T>(_ what: String = "", _ body: () throws -> T) throws(PlanError) -> T {
            do { return try body() } catch { throw givingUp(what + "\(error)") }
        }
        try planned("the run's folder \(artifacts.path) cannot be created: ") {
            try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
        }

        let source = try planned { try RecipeSource.open(request.repository, scratch: work.appendingPathComponent("source").path) }
        let releases = try planned { try ReleaseListing(source: request.repository, repository: source) }
        guard let headRef = request.headRef ?? releases.latest else {
            throw givingUp("\(RepositoryAddress.display(request.repository)) has no release tag; give --ref to test a branch or commit")
        }
        // A warm run's data is the canonical's, so its base is the canonical's version.
        if let canonical = request.warmFrom, let base = request.base, base != canonical.version {
            throw givingUp("a warm or quick run starts from the canonical's data, which is at \(canonical.version); it cannot use base \(base)")
        }
        let baseRef = request.warmFrom?.version ?? request.base
            ?? RunEngine.defaultBase(head: headRef, canonical: request.canonicalVersion,
                                     releases: releases.releases.filter { !$0.prerelease }.map(\.tag))
        let head = try planned { try source.checkout(headRef, into: work.appendingPathComponent("head").path) }
        let base = try planned { try baseRef.map { try source.checkout($0, into: work.appendingPathComponent("base").path) } }
        self.head = head
        self.base = base
        headVersion = releases.releases.first { $0.tag == headRef }?.tag
        let baseVersion = baseRef.flatMap { ref in releases.releases.first { $0.tag == ref }?.tag }
        self.baseVersion = baseVersion
        let runID = runID
        domain = try planned {
            let objects = try AppNaming.objects(in: try Recipe.load(directory: head.directory).compose)
            return try TestDomain.make(recipe: request.recipe, runID: runID, baseDomain: request.baseDomain,
                                       longestObjectName: AppNaming.longestObjectName(in: objects) ?? "x")
        }

        var record = RunRecord(
            id: runID, trigger: request.trigger, recipe: request.recipe, repository: RepositoryAddress.display(request.repository), backend: backend,
            domain: domain, base: base.map { RunRecord.Ref(ref: $0.ref, commit: $0.commit, version: baseVersion) },
            head: RunRecord.Ref(ref: headRef, commit: head.commit, version: headVersion), stages: request.stages,
            startedAt: Date(), finishedAt: nil, tiers: [], deployCount: 0, generic: "", teardown: nil, artifacts: [],
            verdict: .unverified, aborted: nil)
        if let canonical = request.warmFrom {
            record.start = request.quick ? .quick : .warm
            record.startedFrom = canonical
        }
        self.record = record
    }

    /// The checkouts and mirror go with the run; the record and artifacts stay.
    func removeCheckouts() { Self.removeCheckouts(in: work) }

    /// The run folder's checkouts: they go with the run.
    static let checkoutFolders: Set<String> = ["base", "head", "source"]

    static func removeCheckouts(in work: URL) {
        // Kept: checkouts are read before the app deploys and never after; one left behind costs
        // disk (retention removes the folder later), never a verdict.
        for folder in checkoutFolders { try? FileManager.default.removeItem(at: work.appendingPathComponent(folder)) }
    }
}
