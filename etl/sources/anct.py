"""The ANCT's files on the priority geography: the lists of QPV (2024 and 2015) and the
2015 -> 2024 correspondence. They define territories and links, not values."""

from __future__ import annotations

import numpy as np
import pandas as pd

from etl import geo
from etl.readers import RawFile, Workbook, cell_text, filled_rows
from etl.sources.base import Layout, Match, Options, data_body, find_header, sheet_label
from suivi.core.vocab import fold


def _single_sheet(raw: RawFile, accept) -> Match | None:
    if raw.headed:
        return None
    for sheet in raw.sheets:
        row = find_header(raw, sheet, accept)
        if row is not None:
            return Match(95, {sheet: row})
    return None


def _columns(raw: RawFile, match: Match) -> tuple[str, list[str], pd.DataFrame, np.ndarray]:
    sheet, row = next(iter(match.headers.items()))
    header, body, first = data_body(raw, sheet, row)
    keep = filled_rows(body)
    body = body[keep].map(cell_text)
    body.columns = [fold(h) for h in header]
    return sheet, header, body.reset_index(drop=True), first + keep.nonzero()[0]


class AnctQpv2024List(Layout):
    key = "anct_qpv2024"
    title = "liste des QPV 2024 de l'ANCT"
    hint = ("colonnes code_qp ; lib_qp ; insee_reg ; lib_reg ; insee_dep ; lib_dep ; insee_com ; "
            "lib_com ; siren_epci ; lib_epci.")
    source_label = "ANCT, liste des quartiers prioritaires 2024"

    def detect(self, raw: RawFile) -> Match | None:
        return _single_sheet(raw, lambda c: {"code qp", "lib qp", "insee com"} <= set(c))

    def build(self, raw: RawFile, match: Match, options: Options) -> Workbook:
        sheet, header, body, rows = _columns(raw, match)
        src = dict(zip([fold(h) for h in header], header))
        com = geo.register_codes(body["insee com"], "commune")
        epci = geo.register_codes(body.get("siren epci", pd.Series("", index=body.index)),
                                  "epci")
        dep = geo.register_codes(body.get("insee dep", pd.Series("", index=body.index)),
                                 "departement")
        reg = geo.register_codes(body.get("insee reg", pd.Series("", index=body.index)),
                                 "region")
        frame = pd.DataFrame({"code": body["code qp"].str.upper(), "com": com, "epci": epci,
                              "dep": dep, "reg": reg, "label": body["lib qp"], "_row": rows})
        # A quartier spread over several communes may have one line per commune: its
        # references list them all, nearest first, then the wider levels once.
        refs = []
        for code, part in frame.groupby("code", sort=False):
            items = [(c, src.get("insee com", "insee_com")) for c in part["com"].dropna().unique()]
            items += [(c, src.get("siren epci", "siren_epci")) for c in part["epci"].dropna().unique()]
            items += [(c, src.get(k, k)) for c, k in ((part["dep"].iloc[0], "insee dep"),
                                                      (part["reg"].iloc[0], "insee reg"))
                      if not pd.isna(c)]
            items.append(("FR", ""))
            refs.append((code, ";".join(i for i, _ in items), ";".join(s for _, s in items)))
        refs = pd.DataFrame(refs, columns=["code", "references", "_src_references"])
        first = frame.drop_duplicates("code").merge(refs, on="code", how="left")
        territories = pd.DataFrame({
            "code": first["code"], "libelle": first["label"], "type": "qpv",
            "geographie": "qpv2024", "references": first["references"],
            "source": f"{self.source_label} ({raw.name})", "_row": first["_row"],
            "_sheet": sheet_label(raw, sheet), "_src_references": first["_src_references"],
            "_src_code": src.get("code qp", "code_qp"),
        })
        wb = Workbook(name=raw.name, sha256=raw.sha256, notes=list(raw.notes), layout=self.key)
        wb.sheets["territoires"] = territories
        wb.meta = {"title": self.title, "sheets": [sheet] if raw.kind == "xlsx" else []}
        return wb


class AnctQpv2015List(Layout):
    key = "anct_qpv2015"
    title = "liste des QPV 2015 (décret n° 2014-1750)"
    hint = "colonnes CODE_QP ; NOM_QP ; COMMUNE_QP (noms des communes, séparés par des virgules)."
    source_label = "Liste des quartiers prioritaires 2015"

    def detect(self, raw: RawFile) -> Match | None:
        return _single_sheet(raw, lambda c: {"code qp", "nom qp", "commune qp"} <= set(c))

    def build(self, raw: RawFile, match: Match, options: Options) -> Workbook:
        sheet, header, body, rows = _columns(raw, match)
        src = dict(zip([fold(h) for h in header], header))
        code = body["code qp"].str.upper()
        territories = pd.DataFrame({
            "code": code, "libelle": body["nom qp"], "type": "qpv", "geographie": "qpv2015",
            "communes": body["commune qp"],
            "departement": code.map(lambda c: geo.department_of_qpv2015(c) or ""),
            "source": f"{self.source_label} ({raw.name})", "_row": rows,
            "_sheet": sheet_label(raw, sheet), "_src_communes": src.get("commune qp"),
            "_src_code": src.get("code qp"),
        })
        wb = Workbook(name=raw.name, sha256=raw.sha256, notes=list(raw.notes), layout=self.key)
        wb.sheets["territoires"] = territories
        wb.meta = {"title": self.title, "sheets": [sheet] if raw.kind == "xlsx" else []}
        return wb


class AnctCorrespondence(Layout):
    key = "anct_passage"
    title = "table de passage QPV 2015 → QPV 2024 de l'ANCT"
    hint = "colonnes QP2024 ; Label_QP2024 ; Statut ; QP2015_1 ; Label_QP2015_1 ; QP2015_2 ; …"
    source_label = "ANCT, correspondance QPV 2015 – 2024"

    def detect(self, raw: RawFile) -> Match | None:
        return _single_sheet(raw, lambda c: "qp2024" in c and "qp2015 1" in c)

    def build(self, raw: RawFile, match: Match, options: Options) -> Workbook:
        sheet, header, body, rows = _columns(raw, match)
        src = dict(zip([fold(h) for h in header], header))
        parts = []
        for rank in range(1, 10):
            col = f"qp2015 {rank}"
            if col not in body.columns:
                break
            parts.append(pd.DataFrame({
                "territoire": body["qp2024"].str.upper(), "predecesseur": body[col].str.upper(),
                "statut": body.get("statut", pd.Series("", index=body.index)),
                "rang": rank, "_row": rows, "_src_predecesseur": src[col]}))
        links = pd.concat(parts, ignore_index=True)
        links = links[links["predecesseur"].fillna("") != ""].reset_index(drop=True)
        links["_sheet"] = sheet_label(raw, sheet)
        links["_src_territoire"] = src["qp2024"]
        wb = Workbook(name=raw.name, sha256=raw.sha256, notes=list(raw.notes), layout=self.key)
        wb.sheets["liens_qpv"] = links
        wb.meta = {"title": self.title, "sheets": [sheet] if raw.kind == "xlsx" else []}
        return wb
