import Foundation
internal import GRDB

extension StateStore {
    /// Inserts the run, or replaces the one with the same id (a run recorded again as it finishes).
    public func record(run: StoredRun) throws(StateStoreError) {
        try Self.attempt(path, "record run \(run.id) of \(run.recipe)") {
            let row = RunRow(run)
            try pool.write { db in
                try row.upsert(db)
                try RunResultRows.fill(db, run: run.id)
            }
        }
    }

    /// A recipe's runs, oldest first.
    public func runs(recipe: String) throws(StateStoreError) -> [StoredRun] {
        try Self.attempt(path, "read the runs of \(recipe)") {
            try pool.read { db in
                try RunRow.filter(RunRow.Columns.recipe == recipe)
                    .order(RunRow.Columns.startedAt, RunRow.Columns.id).fetchAll(db)
            }.map { try $0.storedRun() }
        }
    }

    /// The newest runs first, of one recipe or of all, at most `limit`.
    public func latestRuns(recipe: String?, limit: Int) throws(StateStoreError) -> [StoredRun] {
        try Self.attempt(path, "read the latest runs") {
            try pool.read { db in
                var request = RunRow.all()
                if let recipe { request = request.filter(RunRow.Columns.recipe == recipe) }
                return try request.order(RunRow.Columns.startedAt.desc, RunRow.Columns.id.desc).limit(limit).fetchAll(db)
            }.map { try $0.storedRun() }
        }
    }

    /// One run by its id (or a unique prefix of it, as reports abbreviate ids).
    public func run(id: String) throws(StateStoreError) -> StoredRun? {
        try Self.attempt(path, "read run \(id)") {
            let rows = try pool.read { db in
                try RunRow.fetchAll(db, sql: "SELECT * FROM run WHERE substr(id, 1, length(:id)) = :id LIMIT 2", arguments: ["id": id])
            }
            if let exact = rows.first(where: { $0.id == id }) { return try exact.storedRun() }
            return rows.count == 1 ? try rows[0].storedRun() : nil
        }
    }
}
