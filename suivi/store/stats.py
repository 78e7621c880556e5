"""Per-contract counts: what `stats --json` prints and what the seed tests check."""

from __future__ import annotations

STATS_SQL = """
WITH obs AS (
    SELECT i.contract_code, o.nature, o.status
    FROM observation o JOIN indicator i ON i.code = o.indicator_code
)
SELECT c.code, c.name,
    (SELECT count(*) FROM node n WHERE n.contract_code = c.code AND n.category = 'objectif')
        AS objectives,
    (SELECT count(*) FROM node n WHERE n.contract_code = c.code AND n.category = 'action')
        AS actions,
    (SELECT count(*) FROM indicator i WHERE i.contract_code = c.code) AS indicators,
    (SELECT count(*) FROM contract_territory t WHERE t.contract_code = c.code) AS territories,
    (SELECT count(*) FROM obs WHERE obs.contract_code = c.code AND nature = 'reference')
        AS reference,
    (SELECT count(*) FROM obs WHERE obs.contract_code = c.code AND nature = 'cible') AS cible,
    (SELECT count(*) FROM obs WHERE obs.contract_code = c.code AND nature = 'realise')
        AS realise,
    (SELECT count(*) FROM obs WHERE obs.contract_code = c.code AND status = 'demo') AS demo
FROM contract c ORDER BY c.code
"""

LEVELS_SQL = """
SELECT contract_code, level, count(*) AS n FROM node GROUP BY contract_code, level
ORDER BY contract_code, level
"""


def contract_stats(s) -> list[dict]:
    rows = s.df(STATS_SQL)
    levels = s.df(LEVELS_SQL)
    out = []
    for rec in rows.to_dict("records"):
        lv = levels[levels["contract_code"] == rec["code"]]
        out.append({
            "code": rec["code"], "name": rec["name"],
            "objectives": int(rec["objectives"]), "actions": int(rec["actions"]),
            "levels": {r.level: int(r.n) for r in lv.itertuples()},
            "indicators": int(rec["indicators"]), "territories": int(rec["territories"]),
            "observations": {"reference": int(rec["reference"]), "cible": int(rec["cible"]),
                             "realise": int(rec["realise"])},
            "demo_observations": int(rec["demo"]),
        })
    return out
