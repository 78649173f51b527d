"""The ``xlclv`` command line."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console
from rich.markup import escape

from xlclv._errors import XlclvError


def _cmd_functions(args: argparse.Namespace, console: Console) -> int:
    from xlclv.excel.metadata import excel_functions, signature, summary

    fns = excel_functions()
    if args.markdown:
        print(functions_markdown(), end="")
        return 0
    console.print(
        f"[bold]{len(fns)} Excel functions[/bold] in the Function Wizard category 'xlclv' "
        "(optional arguments shown as \\[name=default]):\n"
    )
    for f in fns.values():
        console.print(f"[bold cyan]{escape(signature(f))}[/bold cyan]", soft_wrap=True)
        console.print(f"    {escape(summary(f))}", highlight=False)
        if args.verbose:
            for a in f.__xlfunc__["args"]:
                console.print(
                    f"      [cyan]{escape(a['name'])}[/cyan]: {escape(a['doc'])}", highlight=False
                )
    return 0


def functions_markdown() -> str:
    """The Excel function reference as a Markdown table (README embeds it)."""
    from xlclv.excel.metadata import excel_functions, signature, summary

    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| Function | What it returns | Arguments |", "|---|---|---|"]
    for f in excel_functions().values():
        args = "<br>".join(f"`{a['name']}`: {cell(a['doc'])}" for a in f.__xlfunc__["args"])
        lines.append(f"| `{cell(signature(f))}` | {cell(summary(f))} | {args} |")
    return "\n".join(lines) + "\n"


def build_parser() -> argparse.ArgumentParser:
    from xlclv import __version__

    parser = argparse.ArgumentParser(
        prog="xlclv", description="Customer lifetime value in Excel and on the command line."
    )
    parser.add_argument("--version", action="version", version=f"xlclv {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("functions", help="list every Excel function with its signature and help")
    p.add_argument("-v", "--verbose", action="store_true", help="also print every argument's help")
    p.add_argument(
        "--markdown", action="store_true", help="print the reference as a Markdown table"
    )
    p.set_defaults(handler=_cmd_functions)
    from xlclv.report.cli import register as register_report

    register_report(sub)
    from xlclv.excel.installer import register as register_install

    register_install(sub)
    from .cli_sql import register as register_sql

    register_sql(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    console = Console()
    try:
        return args.handler(args, console)
    except XlclvError as exc:
        Console(stderr=True).print(f"[bold red]error:[/bold red] {exc}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
