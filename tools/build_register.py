"""Extract the official territorial register from the npm package
`@etalab/decoupage-administratif` into `data/referentiel/territoires.parquet`.

    python tools/build_register.py                 # npm pack the pinned version into a temp dir
    python tools/build_register.py --package DIR   # an already unpacked package (its data/)

The output is a `territoires` sheet in the project's own format (code, libelle, type,
population, annee_population, references, anciens_codes, source), so that `init` loads it
through the same ETL as any workbook, as a batch of its own. Codes: `COM-37003`,
`EPCI-243700754`, `DEP-37`, `REG-24`, `FR`; a commune references its EPCI, département,
région and France, nearest first (an arrondissement municipal its commune first).

Run by hand when the package's yearly version changes (update VERSION); the Parquet file and
its README are committed, the package is not.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

PACKAGE = "@etalab/decoupage-administratif"
VERSION = "6.0.0"
# Populations légales millésime 2023 (Insee, in force on 1 January 2026): the package's
# README names https://www.insee.fr/fr/statistiques/8680726 as its population source.
POPULATION_YEAR = 2023
SOURCE = (f"Référentiel territorial : {PACKAGE} {VERSION} (COG 2026, EPCI DGCL 2026, "
          f"populations légales {POPULATION_YEAR}) ; données Licence Ouverte, code MIT")
ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "data" / "referentiel"

COLUMNS = ["code", "libelle", "type", "population", "annee_population", "references",
           "anciens_codes", "source"]


def unpack(dest: Path) -> tuple[Path, str]:
    """`npm pack` the pinned version (the registry is the only network the machine needs)."""
    subprocess.run(["npm", "pack", f"{PACKAGE}@{VERSION}", "--silent"], cwd=dest, check=True,
                   stdout=subprocess.DEVNULL)
    tgz = next(dest.glob("*.tgz"))
    digest = hashlib.sha256(tgz.read_bytes()).hexdigest()
    with tarfile.open(tgz) as tar:
        tar.extractall(dest, filter="data")
    return dest / "package", digest


def _load(package: Path, name: str) -> list[dict]:
    return json.loads((package / "data" / f"{name}.json").read_text(encoding="utf-8"))


def _label(name: str) -> str:
    """The DGCL writes quoted names with doubled apostrophes (CA de Blois ''Agglopolys'')."""
    import re

    return re.sub(r"''(.+?)''", r"« \1 »", name)


def build_rows(package: Path) -> list[dict]:
    communes = _load(package, "communes")
    epcis = _load(package, "epci")
    departements = _load(package, "departements")
    regions = _load(package, "regions")

    current = [c for c in communes if c["type"] == "commune-actuelle"]
    districts = [c for c in communes if c["type"] == "arrondissement-municipal"]
    epci_of = {m["code"]: e["code"] for e in epcis for m in e["membres"]}
    by_code = {c["code"]: c for c in current}
    territory_codes = {c["code"] for c in current} | {d["code"] for d in districts}
    claimed = Counter(o for c in current for o in c.get("anciensCodes", []))

    def refs(*codes) -> str:
        return ";".join(c for c in codes if c)

    rows = []
    dep_pop: dict[str, float] = defaultdict(float)
    reg_pop: dict[str, float] = defaultdict(float)
    for c in current:
        pop = c.get("population")
        if pop is not None:
            dep_pop[c["departement"]] += pop
            reg_pop[c["region"]] += pop
        epci = epci_of.get(c["code"])
        aliases = [f"COM-{o}" for o in c.get("anciensCodes", [])
                   if o not in territory_codes and claimed[o] == 1]
        rows.append({
            "code": f"COM-{c['code']}", "libelle": c["nom"], "type": "commune",
            "population": pop, "annee_population": POPULATION_YEAR if pop is not None else None,
            "references": refs(f"EPCI-{epci}" if epci else None, f"DEP-{c['departement']}",
                               f"REG-{c['region']}", "FR"),
            "anciens_codes": ";".join(aliases) or None,
        })
    for d in districts:
        parent = by_code[d["commune"]]
        epci = epci_of.get(parent["code"])
        pop = d.get("population")
        rows.append({
            "code": f"COM-{d['code']}", "libelle": d["nom"], "type": "arrondissement_municipal",
            "population": pop, "annee_population": POPULATION_YEAR if pop is not None else None,
            "references": refs(f"COM-{parent['code']}", f"EPCI-{epci}" if epci else None,
                               f"DEP-{d['departement']}", f"REG-{d['region']}", "FR"),
        })
    for e in epcis:
        # An EPCI may straddle départements: it is attached to the one holding most of its
        # members' population (its région follows).
        weight: Counter = Counter()
        for m in e["membres"]:
            member = by_code.get(m["code"])
            if member is not None:
                weight[(member["departement"], member["region"])] += m.get(
                    "populationMunicipale") or 0
        dep, reg = weight.most_common(1)[0][0] if weight else (None, None)
        rows.append({
            "code": f"EPCI-{e['code']}", "libelle": _label(e["nom"]), "type": "epci",
            "population": e.get("populationMunicipale"),
            "annee_population": POPULATION_YEAR if e.get("populationMunicipale") else None,
            "references": refs(f"DEP-{dep}" if dep else None, f"REG-{reg}" if reg else None, "FR"),
        })
    for d in departements:
        rows.append({
            "code": f"DEP-{d['code']}", "libelle": d["nom"], "type": "departement",
            "population": dep_pop.get(d["code"]),
            "annee_population": POPULATION_YEAR if d["code"] in dep_pop else None,
            "references": refs(f"REG-{d['region']}", "FR"),
        })
    for r in regions:
        rows.append({
            "code": f"REG-{r['code']}", "libelle": r["nom"], "type": "region",
            "population": reg_pop.get(r["code"]),
            "annee_population": POPULATION_YEAR if r["code"] in reg_pop else None,
            "references": "FR",
        })
    rows.append({"code": "FR", "libelle": "France", "type": "france",
                 "population": sum(dep_pop.values()), "annee_population": POPULATION_YEAR,
                 "references": None})
    for row in rows:
        row.setdefault("anciens_codes", None)
        row["source"] = SOURCE
    return rows


def write(rows: list[dict], out_dir: Path, digest: str | None) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    columns = {c: [r.get(c) for r in rows] for c in COLUMNS}
    table = pa.table({
        **{c: pa.array(columns[c], pa.string()) for c in COLUMNS
           if c not in ("population", "annee_population")},
        "population": pa.array(columns["population"], pa.float64()),
        "annee_population": pa.array(columns["annee_population"], pa.int32()),
    }).select(COLUMNS)
    table = table.replace_schema_metadata({"package": f"{PACKAGE}@{VERSION}",
                                           "licence": "Licence Ouverte 2.0 (données), MIT (code)",
                                           "sha256": digest or ""})
    path = out_dir / "territoires.parquet"
    pq.write_table(table, path, compression="zstd", compression_level=19)
    counts = Counter(r["type"] for r in rows)
    return {"path": path, "counts": dict(counts), "size": path.stat().st_size,
            "aliases": sum(len(r["anciens_codes"].split(";")) for r in rows if r["anciens_codes"])}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--package", type=Path, help="unpacked package (folder holding data/)")
    p.add_argument("--out", type=Path, default=OUT_DIR)
    args = p.parse_args(argv)
    digest = None
    with tempfile.TemporaryDirectory() as tmp:
        package = args.package
        if package is None:
            package, digest = unpack(Path(tmp))
        info = write(build_rows(package), args.out, digest)
    print(json.dumps({**info, "path": str(info["path"])}, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
