"""Progress of long work (init, load, the Import page's check and load): a callback protocol.

A callback is any `progress(stage, done, total)`: `stage` a key of STAGES (or a file name for
`init`), `done` how many items are done, `total` how many there are (None: unknown). The ETL
calls it at the start and end of each stage; the CLI prints the stages to stderr, the Import
page shows them in an st.status box with an st.progress bar. Passing no callback costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from suivi.core import fmt

Progress = Callable[[str, int, "int | None"], None]

# Stage keys and how they read in French, with the unit they count.
STAGES: dict[str, tuple[str, str]] = {
    "files": ("Fichiers", "fichier(s)"),
    "read": ("Lecture du fichier", "ligne(s) lue(s)"),
    "lock": ("Attente de l'accès en écriture", ""),
    "check": ("Contrôle des valeurs", "ligne(s) contrôlée(s)"),
    "preview": ("Comparaison avec la base", "valeur(s) comparée(s)"),
    "write": ("Écriture en base", "ligne(s) traitée(s)"),
}


def step(progress: Progress | None, stage: str, done: int = 0, total: int | None = None) -> None:
    """Report a stage to `progress` when there is one."""
    if progress is not None:
        progress(stage, int(done), None if total is None else int(total))


def describe(stage: str, done: int, total: int | None) -> str:
    """« Contrôle des valeurs : 1 234 / 5 678 ligne(s) contrôlée(s) »."""
    title, unit = STAGES.get(stage, (stage, ""))
    if total is None and not done:
        return f"{title}…"
    count = fmt.number(done) if total is None else f"{fmt.number(done)} / {fmt.number(total)}"
    return f"{title} : {count} {unit}".rstrip()


def fraction(done: int, total: int | None) -> float:
    return 0.0 if not total else max(0.0, min(1.0, done / total))
