-- A state database as cchost made it at schema 'v1': the SQL of migrations 'v1'
-- exactly as they were written (cchost of 49a8358 (v1 and v2 shipped together)), GRDB's own table of applied migrations,
-- and rows as that cchost recorded them: run records in `cchost.run/1` (`op` as free text with its ref,
-- no level), written by RunReport.json of the time. Records from before warm runs (2da0bf0) have no `start`.
-- Never edit: StateStoreUpgradeTests opens it with today's cchost and compares what it reads with literals.
PRAGMA journal_mode = WAL;
BEGIN;
CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
-- v1
CREATE TABLE canonical (
    recipe TEXT PRIMARY KEY NOT NULL,
    version TEXT NOT NULL,
    "commit" TEXT NOT NULL,
    promoted_at DATETIME NOT NULL,
    status TEXT NOT NULL,
    run_id TEXT NOT NULL,
    volumes TEXT NOT NULL CHECK (json_valid(volumes) AND json_type(volumes) = 'array')
);
CREATE TABLE promotion (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    recipe TEXT NOT NULL REFERENCES canonical(recipe),
    version TEXT NOT NULL,
    "commit" TEXT NOT NULL,
    promoted_at DATETIME NOT NULL,
    run_id TEXT NOT NULL,
    previous_version TEXT,
    volumes TEXT NOT NULL CHECK (json_valid(volumes) AND json_type(volumes) = 'array')
);
CREATE INDEX promotion_by_recipe ON promotion(recipe, id);
CREATE TABLE run (
    id TEXT PRIMARY KEY NOT NULL,
    recipe TEXT NOT NULL,
    "trigger" TEXT NOT NULL,
    head_ref TEXT NOT NULL,
    head_commit TEXT NOT NULL,
    head_version TEXT,
    base_version TEXT,
    verdict TEXT NOT NULL,
    started_at DATETIME NOT NULL,
    finished_at DATETIME,
    quick BOOLEAN NOT NULL,
    record TEXT NOT NULL CHECK (json_valid(record))
);
CREATE INDEX run_by_recipe ON run(recipe, started_at);
INSERT INTO grdb_migrations VALUES ('v1');
-- Rows
INSERT INTO canonical (recipe, version, "commit", promoted_at, status, run_id, volumes)
  VALUES ('notes', '1.0.0+2.0', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', '2026-11-22T03:52:00.000Z', 'promoted', 'early-green', '["notes_data"]');
INSERT INTO promotion (recipe, version, "commit", promoted_at, run_id, previous_version, volumes)
  VALUES ('notes', '1.0.0+2.0', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', '2026-11-22T03:52:00.000Z', 'early-green', NULL, '["notes_data"]');
INSERT INTO run (id, recipe, "trigger", head_ref, head_commit, head_version, base_version, verdict, started_at, finished_at, quick, record) VALUES (
  'early-green', 'notes', 'sweep', '1.1.0+2.0', 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', '1.1.0+2.0', '1.0.0+2.0', 'pass', '2026-11-22T03:50:00.000Z', '2026-11-22T03:51:00.000Z', 0,
'{
  "artifacts" : [
    "/var/lib/cchost/runs/early-green/run.json"
  ],
  "backend" : "swarm",
  "base" : {
    "commit" : "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "ref" : "1.0.0+2.0",
    "version" : "1.0.0+2.0"
  },
  "deploy_count" : 1,
  "domain" : "early-.ci.example",
  "finished_at" : "2026-11-22T03:51:00Z",
  "generic" : "ran",
  "head" : {
    "commit" : "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
    "ref" : "1.1.0+2.0",
    "version" : "1.1.0+2.0"
  },
  "id" : "early-green",
  "recipe" : "notes",
  "repository" : "/var/lib/cchost/mirrors/notes",
  "schema" : "cchost.run/1",
  "stages" : [
    "lint",
    "install",
    "upgrade",
    "backup",
    "restore",
    "custom"
  ],
  "started_at" : "2026-11-22T03:50:00Z",
  "teardown" : {
    "leftovers" : [],
    "removed" : [
      "notes_app",
      "notes_data"
    ],
    "seconds" : 2.5
  },
  "tiers" : [
    {
      "checks" : [
        {
          "detail" : "compose.yml exists",
          "name" : "R001",
          "plugin" : "lint",
          "seconds" : 0,
          "verdict" : "pass"
        }
      ],
      "op" : "lint",
      "op_detail" : "0 error(s), 0 warning(s)",
      "op_verdict" : "pass",
      "seconds" : 0.2,
      "tier" : "lint",
      "verdict" : "pass"
    },
    {
      "checks" : [
        {
          "detail" : "200 from https://notes.ci.example/",
          "name" : "readiness",
          "plugin" : "generic",
          "seconds" : 0.5,
          "verdict" : "pass"
        }
      ],
      "op" : "deploy 1.0.0+2.0",
      "op_detail" : "converged in 12 s",
      "op_verdict" : "pass",
      "seconds" : 14,
      "tier" : "install",
      "verdict" : "pass"
    },
    {
      "checks" : [
        {
          "detail" : "200 from https://notes.ci.example/",
          "name" : "readiness",
          "plugin" : "generic",
          "seconds" : 0.5,
          "verdict" : "pass"
        }
      ],
      "op" : "chaos redeploy to 1.1.0+2.0",
      "op_detail" : "converged in 9 s",
      "op_verdict" : "pass",
      "seconds" : 11,
      "tier" : "upgrade",
      "verdict" : "pass"
    },
    {
      "checks" : [],
      "op" : "backup",
      "op_detail" : "1 archive(s), 2 volume path(s)",
      "op_verdict" : "pass",
      "seconds" : 3,
      "tier" : "backup",
      "verdict" : "pass"
    },
    {
      "checks" : [
        {
          "detail" : "dump matches the backup",
          "name" : "data-continuity",
          "plugin" : "generic",
          "seconds" : 0.5,
          "verdict" : "pass"
        }
      ],
      "op" : "restore",
      "op_detail" : "restored 2 volume path(s)",
      "op_verdict" : "pass",
      "seconds" : 4,
      "tier" : "restore",
      "verdict" : "pass"
    },
    {
      "checks" : [
        {
          "detail" : "found ''Notes''",
          "name" : "index-served",
          "plugin" : "notes-overlay",
          "seconds" : 0.25,
          "verdict" : "pass"
        }
      ],
      "op" : "none (custom checks only)",
      "op_detail" : "",
      "op_verdict" : "pass",
      "seconds" : 0.25,
      "tier" : "custom",
      "verdict" : "pass"
    }
  ],
  "trigger" : "sweep",
  "verdict" : "pass"
}');
COMMIT;
