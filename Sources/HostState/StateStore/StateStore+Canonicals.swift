import Foundation
internal import GRDB

extension StateStore {
    public func canonical(recipe: String) throws(StateStoreError) -> Canonical? {
        try Self.attempt(path, "read the canonical of \(recipe)") {
            try pool.read { db in try CanonicalRow.fetchOne(db, key: recipe) }.map { try $0.canonical() }
        }
    }

    public func canonicals() throws(StateStoreError) -> [Canonical] {
        try Self.attempt(path, "read the canonicals") {
            try pool.read { db in try CanonicalRow.order(CanonicalRow.Columns.recipe).fetchAll(db) }
                .map { try $0.canonical() }
        }
    }

    /// A recipe's promotions, oldest first.
    public func history(recipe: String) throws(StateStoreError) -> [Promotion] {
        try Self.attempt(path, "read the promotion history of \(recipe)") {
            try pool.read { db in
                try PromotionRow.filter(PromotionRow.Columns.recipe == recipe)
                    .order(PromotionRow.Columns.id).fetchAll(db)
            }.map { try $0.promotion() }
        }
    }

    /// Replaces the canonical and appends to the history in ONE transaction: after a crash at any
    /// point the database holds either the old canonical or the new one, whole.
    ///
    /// `previous` is the canonical version the caller decided against (nil: none). If another
    /// writer promoted the recipe in between, nothing is written and the error says so.
    public func promote(_ canonical: Canonical, previous: String?) throws(StateStoreError) {
        try promote(canonical, previous: previous, betweenWrites: {})
    }

    /// `betweenWrites` runs inside the transaction, after the canonical's upsert and before the
    /// history's insert: tests throw there to prove both roll back.
    func promote(_ canonical: Canonical, previous: String?,
                 betweenWrites: () throws -> Void) throws(StateStoreError) {
        try Self.attempt(path, "promote \(canonical.recipe) \(canonical.version)") {
            let row = try CanonicalRow(canonical)
            let history = try PromotionRow(canonical, previous: previous)
            try pool.writeWithoutTransaction { db in
                // IMMEDIATE: take the write lock before reading the current canonical, so the
                // comparison below and the writes see the same state.
                try db.inTransaction(.immediate) {
                    let current = try CanonicalRow.fetchOne(db, key: canonical.recipe)?.version
                    guard current == previous else {
                        throw StaleCanonical(recipe: canonical.recipe, current: current, expected: previous)
                    }
                    try row.upsert(db)
                    try betweenWrites()
                    try history.insert(db)
                    return .commit
                }
            }
        }
    }
}

/// Another writer promoted the recipe after the caller read its canonical.
private struct StaleCanonical: Error, CustomStringConvertible {
    var recipe: String
    var current: String?
    var expected: String?
    var description: String {
        "the canonical of \(recipe) is now \(current ?? "absent"), not \(expected ?? "absent") as this promotion expected"
    }
}
