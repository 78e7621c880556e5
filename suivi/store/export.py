"""Long-form export of every current observation, with labels (`python -m etl export`)."""

from __future__ import annotations

import pandas as pd

_EXPORT_SQL = """
SELECT i.contract_code AS contrat, o.indicator_code AS indicateur, i.label AS indicateur_libelle,
       o.territory_code AS territoire, t.label AS territoire_libelle, o.year AS annee,
       o.nature, o.breakdown AS ventilation, o.modality AS modalite, o.value AS valeur,
       o.status AS statut, o.source, o.wording AS formulation, o.comment AS commentaire,
       o.created_batch AS lot
FROM observation o
JOIN indicator i ON i.code = o.indicator_code
LEFT JOIN territory t ON t.code = o.territory_code
{where}
ORDER BY {order}
"""


def export_frame(s, contract: str | None = None) -> pd.DataFrame:
    """Every current value (of one contract), in the same order on every engine."""
    keys = ["i.contract_code", "o.indicator_code", "o.territory_code"]
    order = ", ".join([*(s.dialect.binary(k) for k in keys), "o.year",
                       *(s.dialect.binary(k) for k in ("o.nature", "o.breakdown",
                                                        "o.modality"))])
    where, params = ("WHERE i.contract_code = ?", [contract]) if contract else ("", [])
    return s.df(_EXPORT_SQL.format(where=where, order=order), params)
