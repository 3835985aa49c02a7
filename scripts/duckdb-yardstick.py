#!/usr/bin/env python3
"""DuckDB yardstick for the audit benchmark.

Runs the same shape of work as palaudit's verdict engine as one SQL query in DuckDB over
a snapshot's Parquet tables: role assignments joined to their resource, to Dataverse
systemusers and to Graph principals (by object id, and by UPN key for Power BI
publishers), matched against the roster by object id, app id and UPN, then per resource
the number of holders, of roster matches and the latest activity. It is not an audit:
it is the join work palaudit must do, timed by an engine built for it, so that the
benchmark can be read as palaudit's time ÷ DuckDB's.

    python3 scripts/duckdb-yardstick.py SNAPSHOT_DIR ROSTER_CSV

Prints one line: `duckdb <seconds> s peak RSS <MiB> MiB rows <n>`. `duckdb` (the PyPI
package) is installed by this script into a virtual environment under
`target/duckdb-yardstick/` on first use; palaudit itself and CI never need it.
"""

import os
import pathlib
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
VENV = HERE.parent / "target" / "duckdb-yardstick"


def ensure_duckdb():
    """Re-runs this script inside a virtual environment that has `duckdb`."""
    try:
        import duckdb  # noqa: F401
        return
    except ImportError:
        pass
    python = VENV / "bin" / "python3"
    if os.environ.get("PALAUDIT_YARDSTICK_IN_VENV"):
        sys.exit("duckdb is missing from the yardstick's virtual environment")
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "duckdb"], check=True
        )
    env = dict(os.environ, PALAUDIT_YARDSTICK_IN_VENV="1")
    os.execve(str(python), [str(python), *sys.argv], env)


# The UPN match key as palaudit computes it (`ids::upn_match_key`): a guest UPN
# `pat_fabrikam.com#EXT#@…` is keyed by `pat@fabrikam.com`.
def upn_key(expr):
    return (
        f"regexp_replace(lower(trim({expr})), '^(.+)_([^_#]+)#ext#.*$', '\\1@\\2')"
    )


QUERY = f"""
WITH
res AS (
  SELECT row_number() OVER () AS ridx, resource_type AS rt, lower(resource_id) AS rid,
         lower(environment_id) AS env, created_time, modified_time, published_time,
         lower(trim(created_by)) AS created_by, lower(trim(modified_by)) AS modified_by
  FROM read_parquet('{{snap}}/resources.parquet')
),
su AS (
  SELECT DISTINCT ON (env, su_pid) lower(environment_id) AS env,
         lower(systemuser_id) AS su_pid, lower(azure_ad_object_id) AS su_oid,
         lower(application_id) AS su_app, domain_name AS su_upn, is_disabled
  FROM read_parquet('{{snap}}/systemusers.parquet')
),
p AS (
  SELECT DISTINCT ON (oid) lower(object_id) AS oid, lower(app_id) AS p_app, upn AS p_upn,
         enabled, deleted, external_user_state
  FROM read_parquet('{{snap}}/principals.parquet')
  WHERE length(object_id) > 0
  ORDER BY oid, deleted
),
q AS (
  SELECT DISTINCT ON (k) {upn_key('upn')} AS k, lower(object_id) AS q_oid,
         enabled AS q_enabled, deleted AS q_deleted
  FROM read_parquet('{{snap}}/principals.parquet')
  WHERE upn IS NOT NULL
  ORDER BY k, deleted
),
ra AS (
  SELECT res.ridx, res.created_by, res.modified_by,
         greatest(res.created_time, res.modified_time, res.published_time) AS res_at,
         a.role, a.principal_id_kind AS kind, a.assigned_on,
         lower(trim(a.principal_id)) AS pid, res.env
  FROM read_parquet('{{snap}}/role_assignments.parquet') a
  JOIN res ON res.rt = a.resource_type AND res.rid = lower(a.resource_id)
),
resolved AS (
  SELECT ra.*,
         coalesce(CASE WHEN kind = 'entra_object_id' THEN pid END, su.su_oid, q.q_oid) AS oid,
         coalesce(su.su_app, p.p_app) AS app,
         {upn_key("coalesce(CASE WHEN kind = 'upn' THEN pid END, p.p_upn, su.su_upn)")} AS upn_key,
         coalesce(p.deleted, q.q_deleted) AS deleted,
         coalesce(p.enabled, q.q_enabled) AS enabled,
         su.is_disabled
  FROM ra
  LEFT JOIN su ON su.env = ra.env AND kind = 'dataverse_systemuser' AND su.su_pid = ra.pid
  LEFT JOIN p ON p.oid = coalesce(CASE WHEN kind = 'entra_object_id' THEN pid END, su.su_oid)
  LEFT JOIN q ON kind = 'upn' AND q.k = {upn_key('ra.pid')}
),
roster AS (
  SELECT row_number() OVER () AS pos, lower(object_id) AS r_oid, lower(app_id) AS r_app,
         {upn_key('upn')} AS r_upn
  FROM read_csv('{{roster}}', all_varchar = true)
),
resolved_n AS (SELECT row_number() OVER () AS aidx, * FROM resolved),
-- One equi-join per roster key (as palaudit does), not one join on an OR of them.
hits AS (
  SELECT r.aidx, ro.pos FROM resolved_n r JOIN roster ro ON ro.r_oid = r.oid
  UNION SELECT r.aidx, ro.pos FROM resolved_n r JOIN roster ro ON ro.r_app = r.app
  UNION SELECT r.aidx, ro.pos FROM resolved_n r JOIN roster ro ON ro.r_upn = r.upn_key
),
matched AS (
  SELECT r.ridx, r.role, r.deleted, r.enabled, r.is_disabled, r.res_at, r.assigned_on,
         h.pos
  FROM resolved_n r
  LEFT JOIN hits h ON h.aidx = r.aidx
)
SELECT ridx, count(*) AS holders, count(pos) AS roster_matches,
       count(pos) FILTER (WHERE NOT coalesce(deleted, false)
                            AND coalesce(enabled, true)
                            AND NOT coalesce(is_disabled, false)) AS healthy,
       max(greatest(res_at, assigned_on)) AS latest
FROM matched
GROUP BY ridx
ORDER BY ridx
"""


def peak_rss_mib():
    """This process's own peak resident memory (`VmHWM`; `ru_maxrss` would include the
    process that started it, which Linux carries over a fork and exec)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    ensure_duckdb()
    import duckdb

    snap, roster = sys.argv[1], sys.argv[2]
    con = duckdb.connect()
    started = time.perf_counter()
    rows = con.execute(QUERY.format(snap=snap, roster=roster)).fetchall()
    elapsed = time.perf_counter() - started
    peak = peak_rss_mib()
    print(f"duckdb {elapsed:.3f} s peak RSS {peak:.1f} MiB rows {len(rows)}")


if __name__ == "__main__":
    main()
