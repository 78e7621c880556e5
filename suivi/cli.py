"""Command line: `python -m etl COMMAND`. Exit 0 on success, 1 on rejected input."""

from __future__ import annotations

import argparse
import json
import sys
import time

from etl.sources import LAYOUTS
from suivi.core.config import CONTRACTS_DIR, SettingError, is_postgres, load_memory_bytes
from suivi.store import open_store


def _session(args):
    """A session on the store of --db / $SUIVI_DB."""
    return open_store(args.db).session()


def _missing(args) -> bool:
    """Reading commands on a store that does not exist: say so instead of creating it; one
    built by an earlier version is first brought to the current schema."""
    from suivi.store.schema import upgrade

    store = open_store(args.db)
    if store.exists():
        upgrade(store)
        return False
    print(f"Base introuvable : {store.describe()}. Construisez-la : python -m etl init")
    return True


def _print_check(checked) -> None:
    print(checked.report.render())


class StageLog:
    """Progress callback (suivi/core/steps.py) printing stages and counts to stderr, in
    French, so that standard output keeps only the results:
    « [2/5] blois.xlsx », then « · Contrôle des valeurs : 1 234 / 1 234 ligne(s) contrôlée(s) »."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.file: str | None = None
        self.last: tuple | None = None
        self.started = time.monotonic()

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        from suivi.core.steps import describe

        if stage == "files":
            if total and done < total:
                print(f"[{done + 1}/{total}] {self.file or ''}".rstrip(), file=self.stream,
                      flush=True)
            return
        if stage != "lock" and (total is None or done < total):
            return  # a stage's start: its end line gives the count
        if (stage, done, total) == self.last:
            return
        self.last = (stage, done, total)
        elapsed = time.monotonic() - self.started
        print(f"  · {describe(stage, done, total)} ({elapsed:.1f} s)", file=self.stream,
              flush=True)


def cmd_init(args) -> int:
    from etl.pipeline import init

    store = open_store(args.db)
    if args.if_absent and store.exists():  # a deployment's step after an update
        from suivi.store.schema import upgrade

        upgrade(store)
        print(f"Base déjà construite, schéma à jour : {store.describe()}")
        return 0
    if args.reset and store.exists():
        store.drop_all()
    failed = False
    folder = args.dossier or CONTRACTS_DIR
    for name, checked, result in init(store, demo=not args.no_demo, contracts_dir=folder,
                                      progress=StageLog()):
        if not checked.ok:
            failed = True
            print(f"{name} : REJETÉ")
            _print_check(checked)
        else:
            print(f"{name} : {result.summary() if result else 'rejeté'}")
    print(f"Base : {store.describe()}")
    return 1 if failed else 0


def _options(args):
    """--format, --annee, --contrat, --correspondance: what a public file may need."""
    from etl.pipeline import mapping_from_file
    from etl.sources import Options

    mapping = mapping_from_file(args.correspondance) if args.correspondance else {}
    return Options(layout=args.format, year=args.annee, contract=args.contrat, mapping=mapping)


def cmd_check(args) -> int:
    from etl.pipeline import check
    from etl.sources import ReadError

    try:
        options = _options(args)
    except ReadError as exc:
        print(str(exc))
        return 1
    checked = check(args.file, db=args.db, options=options)
    _print_check(checked)
    if checked.ok:
        n = checked.staged.n_observations
        print(f"Fichier valide : {n} valeur(s) prête(s) à charger"
              + (f", {checked.staged.skipped_rows} ligne(s) vide(s) ignorée(s)."
                 if checked.staged.skipped_rows else "."))
    return 0 if checked.ok else 1


def cmd_load(args) -> int:
    from etl.pipeline import load
    from etl.sources import ReadError

    try:
        options = _options(args)
    except ReadError as exc:
        print(str(exc))
        return 1
    checked, result = load(args.file, db=args.db, user=args.user, options=options,
                           progress=StageLog())
    _print_check(checked)
    if result is None:
        print("Fichier rejeté : rien n'a été écrit dans la base.")
        return 1
    print(result.summary())
    return 0


def cmd_template(args) -> int:
    from etl.template import write_template

    if _missing(args):
        return 1
    with _session(args) as s:
        try:
            out = write_template(s, args.contract, args.year, args.out)
        except ValueError as exc:
            print(str(exc))
            return 1
    print(f"Modèle écrit : {out}")
    return 0


def cmd_history(args) -> int:
    from suivi.store.history import batches
    from suivi.views.imports import history_frame

    if _missing(args):
        return 1
    with _session(args) as s:
        table = batches(s)
    print(history_frame(table).to_string(index=False) if len(table) else "Aucun lot.")
    return 0


def cmd_rollback(args) -> int:
    from suivi.store.history import RollbackError, rollback

    if _missing(args):
        return 1
    store = open_store(args.db)
    with store.write_lock(), store.session() as s:
        try:
            new_id = rollback(s, args.batch, args.user)
        except RollbackError as exc:
            print(str(exc))
            return 1
    print(f"Lot {args.batch} annulé (opération enregistrée comme lot {new_id}).")
    return 0


def cmd_stats(args) -> int:
    from suivi.store.stats import contract_stats

    if _missing(args):
        return 1
    with _session(args) as s:
        stats = contract_stats(s)
    if args.json:
        print(json.dumps(stats, ensure_ascii=False, indent=2))
    else:
        for c in stats:
            print(f"{c['code']} : {c['objectives']} objectifs, {c['actions']} actions, "
                  f"{c['indicators']} indicateurs, {c['territories']} territoires, "
                  f"valeurs {c['observations']}, dont démonstration {c['demo_observations']}")
    return 0


def cmd_export(args) -> int:
    from etl.export import write_table
    from suivi.store.export import export_frame

    if _missing(args):
        return 1
    with _session(args) as s:
        df = export_frame(s, args.contract)
    try:
        out = write_table(df, args.out)
    except ValueError as exc:
        print(str(exc))
        return 1
    print(f"{len(df)} valeur(s) exportée(s) dans {out}")
    return 0


def cmd_rapport(args) -> int:
    from suivi.views.report.docx import write_report

    if _missing(args):
        return 1
    with _session(args) as s:
        try:
            out = write_report(s, args.contract, args.year, args.quartier, args.out)
        except ValueError as exc:
            print(str(exc))
            return 1
    print(f"Rapport écrit : {out} (document Word modifiable ; complétez les paragraphes "
          "« À compléter »).")
    return 0


def cmd_demo(args) -> int:
    from suivi.store.history import remove_demo

    if _missing(args):
        return 1
    store = open_store(args.db)
    with store.write_lock(), store.session() as s:
        n = remove_demo(s, args.user)
    print(f"{n} valeur(s) de démonstration supprimée(s).")
    return 0


class FrenchHelp(argparse.HelpFormatter):
    """argparse's own words (usage, options, help) in French, like the rest of the CLI."""

    def add_usage(self, usage, actions, groups, prefix=None):
        return super().add_usage(usage, actions, groups,
                                 "utilisation : " if prefix is None else prefix)


def _parser(*args, **kwargs) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(*args, formatter_class=FrenchHelp, add_help=False, **kwargs)
    p.add_argument("-h", "--help", action="help", help="afficher cette aide et quitter")
    p._positionals.title = "arguments"
    p._optionals.title = "options"
    return p


def _read_password(args, confirm: bool = True) -> str:
    """From stdin (scripts) or typed twice without echo; never from the command line, where
    it would show in the process list and the shell history."""
    import getpass

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Mot de passe : ")
    if confirm and getpass.getpass("Mot de passe (confirmation) : ") != first:
        raise SystemExit("Les deux saisies diffèrent : rien n'a été modifié.")
    return first


def cmd_users(args) -> int:
    import getpass

    from suivi.accounts import users

    by = args.user or users.normalise_name(getpass.getuser())
    try:
        if args.action == "add":
            name = users.add_user(args.name, _read_password(args), args.role, args.db, by)
            print(f"Compte « {name} » créé avec le rôle {users.normalise_name(args.role)}.")
        elif args.action == "passwd":
            users.set_password(args.name, _read_password(args), args.db, by)
            print(f"Mot de passe de « {users.normalise_name(args.name)} » changé.")
        elif args.action == "role":
            users.set_role(args.name, args.role, args.db, by)
            print(f"Rôle de « {users.normalise_name(args.name)} » : {args.role}.")
        elif args.action == "remove":
            users.remove_user(args.name, args.db, by)
            print(f"Compte « {users.normalise_name(args.name)} » supprimé.")
        elif args.action == "unlock":
            users.unlock(args.name, args.db, by)
            print(f"Compte « {users.normalise_name(args.name)} » débloqué.")
        elif args.action == "list":
            rows = users.list_users(args.db)
            if not rows:
                print("Aucun compte. Créez-en un : python -m etl users add NOM --role "
                      "administrateur")
            for r in rows:
                print(f"{r['nom']:<24} {r['role']:<15} dernière connexion : "
                      f"{r['derniere_connexion'] or 'jamais'}"
                      + ("  [BLOQUÉ : trop d'échecs]" if r["bloque"] else ""))
        elif args.action == "journal":
            for e in users.events(args.db, args.limit):
                print(f"{e['date']}  {e['nom']:<24} {e['evenement']:<20} {e['detail'] or ''}")
    except users.AccountError as exc:
        print(str(exc))
        return 1
    return 0


def cmd_backup(args) -> int:
    from suivi.store.backup import BackupError, backup

    try:
        result = backup(args.out, args.db)
    except BackupError as exc:
        print(str(exc))
        return 1
    print(f"Sauvegarde écrite et vérifiée : {result.path} ({result.summary()}).")
    if result.accounts:
        print(f"Comptes sauvegardés : {result.accounts}")
    return 0


def cmd_restore(args) -> int:
    from suivi.store.backup import BackupError, restore

    try:
        result = restore(args.file, args.db, with_accounts=args.comptes)
    except BackupError as exc:
        print(str(exc))
        return 1
    print(f"Base restaurée depuis {args.file} : {result.path} ({result.summary()}).")
    if result.previous:
        print(f"L'ancienne base est conservée dans {result.previous}")
    if result.accounts:
        print(f"Comptes restaurés : {result.accounts}")
    print("Redémarrez l'application (make run) pour repartir de la base restaurée.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = _parser(prog="python -m etl",
                description="Suivi QPV : chargement et contrôle des classeurs.")
    p.add_argument("--db", help="base : fichier DuckDB ou adresse postgresql://utilisateur@hôte"
                                ":5432/base (défaut : $SUIVI_DB ou data/suivi.duckdb)")
    p.add_argument("--user", help="nom de l'utilisateur enregistré dans l'historique")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMANDE",
                         parser_class=_parser, title="commandes")

    s = sub.add_parser("init", help="construire la base à partir des classeurs de data/contrats")
    s.add_argument("--no-demo", action="store_true", help="sans les valeurs de démonstration")
    s.add_argument("--reset", action="store_true", help="repartir d'une base vide")
    s.add_argument("--si-absente", dest="if_absent", action="store_true",
                   help="si la base existe déjà, seulement mettre son schéma à jour")
    s.add_argument("--dossier", help="dossier à charger à la place de data/contrats : classeurs "
                   ".xlsx d'abord, puis fichiers de valeurs .parquet ou .csv")
    s.set_defaults(func=cmd_init)

    for name, func, text in (("check", cmd_check, "contrôler un fichier sans rien écrire"),
                             ("load", cmd_load, "contrôler puis charger un fichier (tout ou "
                                                "rien)")):
        s = sub.add_parser(name, help=text)
        s.add_argument("file", help="classeur .xlsx, fichier .csv ou .parquet (classeur de "
                                    "contrat ou fichier public : base QPV de l'Insee, "
                                    "statistiques locales, Observatoire des territoires, listes "
                                    "de l'ANCT), ou contours des quartiers (.geojson de l'ANCT, "
                                    ".gpkg, shapefile en .zip)")
        s.add_argument("--format", choices=[layout.key for layout in LAYOUTS],
                       help="forcer la disposition du fichier au lieu de la reconnaître")
        s.add_argument("--annee", type=int,
                       help="année des colonnes dont le nom n'en porte pas (POP_MUN…)")
        s.add_argument("--contrat", help="contrat dont les indicateurs reçoivent les valeurs "
                                         "(par défaut : celui dont le catalogue reconnaît les "
                                         "colonnes)")
        s.add_argument("--correspondance", metavar="FICHIER",
                       help="table colonne ; indicateur pour les colonnes que le catalogue ne "
                            "reconnaît pas encore (enregistrée dans le catalogue au chargement)")
        s.set_defaults(func=func)

    s = sub.add_parser("template", help="écrire le modèle de saisie d'un contrat pour une année")
    s.add_argument("--contract", required=True, help="code du contrat, p. ex. AMBOISE-2015")
    s.add_argument("--year", required=True, type=int, help="année à saisir")
    s.add_argument("--out", required=True, help="fichier .xlsx à écrire")
    s.set_defaults(func=cmd_template)

    s = sub.add_parser("history", help="lister les lots chargés")
    s.set_defaults(func=cmd_history)

    s = sub.add_parser("rollback", help="annuler un lot (rétablit l'état précédent)")
    s.add_argument("batch", type=int, help="numéro du lot")
    s.set_defaults(func=cmd_rollback)

    s = sub.add_parser("stats", help="compter objectifs, indicateurs et valeurs par contrat")
    s.add_argument("--json", action="store_true", help="sortie JSON")
    s.set_defaults(func=cmd_stats)

    s = sub.add_parser("export", help="exporter toutes les valeurs au format long")
    s.add_argument("--contract", help="limiter à un contrat")
    s.add_argument("--out", required=True, help="fichier .csv ou .xlsx")
    s.set_defaults(func=cmd_export)

    s = sub.add_parser("rapport", help="écrire le rapport annuel politique de la ville "
                                       "(document Word modifiable)")
    s.add_argument("--contract", required=True, help="code du contrat, p. ex. AMBOISE-2015")
    s.add_argument("--year", required=True, type=int,
                   help="année du rapport (les valeurs postérieures sont ignorées)")
    s.add_argument("--quartier", help="code d'un quartier : rapport de ce seul quartier et de "
                                      "ses territoires de référence")
    s.add_argument("--out", required=True, help="fichier .docx à écrire")
    s.set_defaults(func=cmd_rapport)

    s = sub.add_parser("demo", help="gérer les valeurs de démonstration")
    s.add_argument("action", choices=["remove"], help="remove : supprimer toutes les valeurs de démonstration")
    s.set_defaults(func=cmd_demo)

    s = sub.add_parser("users", help="gérer les comptes locaux (lecteur, contributeur, "
                                     "administrateur)")
    acts = s.add_subparsers(dest="action", required=True, metavar="ACTION",
                            parser_class=_parser, title="actions")
    a = acts.add_parser("add", help="créer un compte (mot de passe demandé deux fois)")
    a.add_argument("name", help="identifiant, p. ex. prenom.nom")
    a.add_argument("--role", required=True, choices=["lecteur", "contributeur", "administrateur"],
                   help="lecteur, contributeur ou administrateur")
    a.add_argument("--password-stdin", action="store_true",
                   help="lire le mot de passe sur l'entrée standard (scripts)")
    a = acts.add_parser("passwd", help="changer le mot de passe d'un compte")
    a.add_argument("name", help="identifiant du compte")
    a.add_argument("--password-stdin", action="store_true",
                   help="lire le mot de passe sur l'entrée standard (scripts)")
    a = acts.add_parser("role", help="changer le rôle d'un compte")
    a.add_argument("name", help="identifiant du compte")
    a.add_argument("role", choices=["lecteur", "contributeur", "administrateur"],
                   help="nouveau rôle")
    a = acts.add_parser("remove", help="supprimer un compte")
    a.add_argument("name", help="identifiant du compte")
    a = acts.add_parser("unlock", help="débloquer un compte après trop d'échecs de connexion")
    a.add_argument("name", help="identifiant du compte")
    acts.add_parser("list", help="lister les comptes (sans les mots de passe)")
    a = acts.add_parser("journal", help="dernières connexions et modifications de comptes")
    a.add_argument("--limit", type=int, default=50, help="nombre de lignes (défaut : 50)")
    s.set_defaults(func=cmd_users)

    s = sub.add_parser("backup", help="sauvegarder la base et son historique (copie cohérente)")
    s.add_argument("--out", required=True, help="fichier de sauvegarde à écrire")
    s.set_defaults(func=cmd_backup)

    s = sub.add_parser("restore", help="remplacer la base par une sauvegarde (l'ancienne est "
                                       "conservée)")
    s.add_argument("file", help="fichier de sauvegarde")
    s.add_argument("--comptes", action="store_true",
                   help="restaurer aussi les comptes sauvegardés avec la base")
    s.set_defaults(func=cmd_restore)
    return p


WRITERS = ("init", "load", "rollback", "demo", "restore")  # commands that load or write


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command in WRITERS and not is_postgres(args.db):
            load_memory_bytes()  # DuckDB's load budget, read before anything is opened
        return args.func(args)
    except SettingError as exc:
        print(f"Erreur de configuration : {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
