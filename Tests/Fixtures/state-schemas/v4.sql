-- A state database as cchost made it at schema 'v4 locks': the SQL of migrations 'v1', 'v2', 'v3 run results', 'v4 locks'
-- exactly as they were written (cchost of dbfac6c (v3, v4 and v5 shipped together)), GRDB's own table of applied migrations,
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
-- v2
CREATE TRIGGER promotion_no_update BEFORE UPDATE ON promotion
BEGIN SELECT RAISE(ABORT, 'the promotion history is append-only'); END;
CREATE TRIGGER promotion_no_delete BEFORE DELETE ON promotion
BEGIN SELECT RAISE(ABORT, 'the promotion history is append-only'); END;
INSERT INTO grdb_migrations VALUES ('v2');
-- v3 run results
CREATE TABLE run_tier (
    run_id TEXT NOT NULL REFERENCES run(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    tier TEXT NOT NULL,
    verdict TEXT NOT NULL,
    op TEXT NOT NULL,
    op_verdict TEXT NOT NULL,
    op_detail TEXT NOT NULL,
    seconds REAL NOT NULL,
    not_applicable TEXT,
    PRIMARY KEY (run_id, position)
);
CREATE TABLE run_check (
    run_id TEXT NOT NULL REFERENCES run(id) ON DELETE CASCADE,
    tier TEXT NOT NULL,
    position INTEGER NOT NULL,
    plugin TEXT NOT NULL,
    name TEXT NOT NULL,
    verdict TEXT NOT NULL,
    detail TEXT NOT NULL,
    cause TEXT,
    seconds REAL NOT NULL,
    PRIMARY KEY (run_id, tier, position)
);
CREATE INDEX run_check_by_check ON run_check(plugin, name, verdict);
-- (v3 filled its tables from the records already stored; there were none yet.)
INSERT INTO grdb_migrations VALUES ('v3 run results');
-- v4 locks
CREATE TABLE lock (
    name TEXT PRIMARY KEY NOT NULL,
    token TEXT NOT NULL,
    host TEXT NOT NULL,
    boot_id TEXT NOT NULL,
    pid INTEGER NOT NULL,
    process_start TEXT NOT NULL,
    acquired_at DATETIME NOT NULL,
    expires_at DATETIME NOT NULL
);
INSERT INTO grdb_migrations VALUES ('v4 locks');
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
INSERT INTO run (id, recipe, "trigger", head_ref, head_commit, head_version, base_version, verdict, started_at, finished_at, quick, record) VALUES (
  'green-run', 'notes', 'sweep', '1.1.0+2.0', 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', '1.1.0+2.0', '1.0.0+2.0', 'pass', '2026-11-22T05:00:00.000Z', '2026-11-22T05:01:00.000Z', 0,
'{
  "artifacts" : [
    "/var/lib/cchost/runs/green-run/run.json"
  ],
  "backend" : "swarm",
  "base" : {
    "commit" : "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "ref" : "1.0.0+2.0",
    "version" : "1.0.0+2.0"
  },
  "deploy_count" : 1,
  "domain" : "green-.ci.example",
  "finished_at" : "2026-11-22T05:01:00Z",
  "generic" : "ran",
  "head" : {
    "commit" : "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
    "ref" : "1.1.0+2.0",
    "version" : "1.1.0+2.0"
  },
  "id" : "green-run",
  "recipe" : "notes",
  "repository" : "/var/lib/cchost/mirrors/notes",
  "retained_volumes" : [
    "warm-notes-green-run_data"
  ],
  "schema" : "cchost.run/1",
  "stages" : [
    "lint",
    "install",
    "upgrade",
    "backup",
    "restore",
    "custom"
  ],
  "start" : "cold",
  "started_at" : "2026-11-22T05:00:00Z",
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
      "op_detail" : "0 error(s), 2 warning(s)",
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
INSERT INTO run (id, recipe, "trigger", head_ref, head_commit, head_version, base_version, verdict, started_at, finished_at, quick, record) VALUES (
  'red-run', 'notes', 'sweep', '1.1.0+2.0', 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', '1.1.0+2.0', '1.0.0+2.0', 'fail', '2026-11-22T05:10:00.000Z', '2026-11-22T05:11:00.000Z', 0,
'{
  "artifacts" : [
    "/var/lib/cchost/runs/red-run/run.json"
  ],
  "backend" : "swarm",
  "base" : {
    "commit" : "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "ref" : "1.0.0+2.0",
    "version" : "1.0.0+2.0"
  },
  "deploy_count" : 1,
  "domain" : "red-ru.ci.example",
  "finished_at" : "2026-11-22T05:11:00Z",
  "generic" : "ran",
  "head" : {
    "commit" : "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
    "ref" : "1.1.0+2.0",
    "version" : "1.1.0+2.0"
  },
  "id" : "red-run",
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
  "start" : "cold",
  "started_at" : "2026-11-22T05:10:00Z",
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
          "detail" : "''Notes'' not in the page",
          "name" : "index-served",
          "plugin" : "notes-overlay",
          "seconds" : 0.25,
          "verdict" : "fail"
        }
      ],
      "op" : "none (custom checks only)",
      "op_detail" : "",
      "op_verdict" : "pass",
      "seconds" : 0.25,
      "tier" : "custom",
      "verdict" : "fail"
    }
  ],
  "trigger" : "sweep",
  "verdict" : "fail"
}');
INSERT INTO run (id, recipe, "trigger", head_ref, head_commit, head_version, base_version, verdict, started_at, finished_at, quick, record) VALUES (
  'quick-run', 'notes', 'manual', '1.1.0+2.0', 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', '1.1.0+2.0', NULL, 'pass', '2026-11-22T05:20:00.000Z', '2026-11-22T05:20:40.000Z', 1,
'{
  "artifacts" : [
    "/var/lib/cchost/runs/quick-run/run.json"
  ],
  "backend" : "swarm",
  "deploy_count" : 1,
  "domain" : "quick-.ci.example",
  "finished_at" : "2026-11-22T05:20:40Z",
  "generic" : "ran",
  "head" : {
    "commit" : "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
    "ref" : "1.1.0+2.0",
    "version" : "1.1.0+2.0"
  },
  "id" : "quick-run",
  "recipe" : "notes",
  "repository" : "/var/lib/cchost/mirrors/notes",
  "schema" : "cchost.run/1",
  "stages" : [
    "install",
    "custom"
  ],
  "start" : "quick",
  "started_at" : "2026-11-22T05:20:00Z",
  "started_from" : {
    "commit" : "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "run_id" : "green-run",
    "version" : "1.0.0+2.0",
    "volumes" : [
      "warm-notes-green-run_data"
    ]
  },
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
          "detail" : "200 from https://notes.ci.example/",
          "name" : "readiness",
          "plugin" : "generic",
          "seconds" : 0.5,
          "verdict" : "pass"
        }
      ],
      "op" : "deploy 1.1.0+2.0",
      "op_detail" : "converged in 5 s",
      "op_verdict" : "pass",
      "seconds" : 6,
      "tier" : "install",
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
  "trigger" : "manual",
  "verdict" : "pass"
}');
INSERT INTO run (id, recipe, "trigger", head_ref, head_commit, head_version, base_version, verdict, started_at, finished_at, quick, record) VALUES (
  'aborted-run', 'notes', 'sweep', '1.1.0+2.0', 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', '1.1.0+2.0', '1.0.0+2.0', 'unverified', '2026-11-22T05:30:00.000Z', NULL, 0,
'{
  "aborted" : "interrupted by SIGTERM",
  "artifacts" : [
    "/var/lib/cchost/runs/aborted-run/run.json"
  ],
  "backend" : "swarm",
  "base" : {
    "commit" : "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "ref" : "1.0.0+2.0",
    "version" : "1.0.0+2.0"
  },
  "deploy_count" : 1,
  "domain" : "aborte.ci.example",
  "generic" : "ran",
  "head" : {
    "commit" : "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
    "ref" : "1.1.0+2.0",
    "version" : "1.1.0+2.0"
  },
  "id" : "aborted-run",
  "recipe" : "notes",
  "repository" : "/var/lib/cchost/mirrors/notes",
  "schema" : "cchost.run/1",
  "stages" : [
    "install",
    "upgrade",
    "backup",
    "restore",
    "custom"
  ],
  "start" : "cold",
  "started_at" : "2026-11-22T05:30:00Z",
  "tiers" : [
    {
      "checks" : [],
      "op" : "deploy 1.0.0+2.0",
      "op_detail" : "converged in 12 s",
      "op_verdict" : "pass",
      "seconds" : 13,
      "tier" : "install",
      "verdict" : "pass"
    },
    {
      "checks" : [],
      "not_applicable" : "only one release",
      "not_applicable_expected" : false,
      "op" : "none",
      "op_detail" : "only one release",
      "op_verdict" : "skip",
      "seconds" : 0,
      "tier" : "upgrade",
      "verdict" : "skip"
    },
    {
      "checks" : [],
      "op" : "backup",
      "op_detail" : "the backup stopped",
      "op_verdict" : "unverified",
      "seconds" : 30,
      "tier" : "backup",
      "verdict" : "unverified"
    }
  ],
  "trigger" : "sweep",
  "verdict" : "unverified"
}');
INSERT INTO run (id, recipe, "trigger", head_ref, head_commit, head_version, base_version, verdict, started_at, finished_at, quick, record) VALUES (
  'odd-run', 'notes', 'sweep', '1.1.0+2.0', 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', '1.1.0+2.0', NULL, 'pass', '2026-11-22T05:40:00.000Z', '2026-11-22T05:41:00.000Z', 0,
'{
  "artifacts" : [
    "/var/lib/cchost/runs/odd-run/run.json"
  ],
  "backend" : "swarm",
  "deploy_count" : 1,
  "domain" : "odd-ru.ci.example",
  "finished_at" : "2026-11-22T05:41:00Z",
  "generic" : "ran",
  "head" : {
    "commit" : "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
    "ref" : "1.1.0+2.0",
    "version" : "1.1.0+2.0"
  },
  "id" : "odd-run",
  "recipe" : "notes",
  "repository" : "/var/lib/cchost/mirrors/notes",
  "schema" : "cchost.run/1",
  "stages" : [
    "install"
  ],
  "start" : "cold",
  "started_at" : "2026-11-22T05:40:00Z",
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
      "checks" : [],
      "op" : "frobnicate 1.0.0+2.0",
      "op_detail" : "",
      "op_verdict" : "pass",
      "seconds" : 1,
      "tier" : "install",
      "verdict" : "pass"
    }
  ],
  "trigger" : "sweep",
  "verdict" : "pass"
}');
-- The rows of run_tier and run_check, as each run's recording filled them (the SQL of v3).
INSERT INTO run_tier (run_id, position, tier, verdict, op, op_verdict, op_detail, seconds, not_applicable)
SELECT run.id, t.key, json_extract(t.value, '$.tier'), json_extract(t.value, '$.verdict'),
       COALESCE(json_extract(t.value, '$.op'), ''), COALESCE(json_extract(t.value, '$.op_verdict'), ''),
       COALESCE(json_extract(t.value, '$.op_detail'), ''), COALESCE(json_extract(t.value, '$.seconds'), 0),
       json_extract(t.value, '$.not_applicable')
FROM run, json_each(run.record, '$.tiers') AS t;
INSERT INTO run_check (run_id, tier, position, plugin, name, verdict, detail, cause, seconds)
SELECT run.id, json_extract(t.value, '$.tier'), c.key, json_extract(c.value, '$.plugin'),
       json_extract(c.value, '$.name'), json_extract(c.value, '$.verdict'),
       COALESCE(json_extract(c.value, '$.detail'), ''), json_extract(c.value, '$.cause'),
       COALESCE(json_extract(c.value, '$.seconds'), 0)
FROM run, json_each(run.record, '$.tiers') AS t, json_each(t.value, '$.checks') AS c;
INSERT INTO lock VALUES ('recipe:notes', 'token-1', 'ci-host', 'boot-1', 4242, '123456', '2026-11-22T06:40:00.000Z', '2026-11-22T07:40:00.000Z');
COMMIT;
