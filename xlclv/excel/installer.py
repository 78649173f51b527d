"""``xlclv install`` / ``xlclv install --status`` / ``xlclv uninstall``: set Excel up for xlclv.

``xlclv install`` (idempotent; ``--dry-run`` prints every action and does nothing):

1. on Windows, checks that xlwings' Excel DLL (``xlwings64-<version>.dll``) is where xlwings'
   VBA loads it from (next to ``python.exe`` or in the environment's root) -- Windows on ARM
   and some installs lack it, and without it every cell function fails;
2. runs ``xlwings addin install`` (the xlwings add-in, same version as the installed package;
   the sheet button of ``clv_report.xlsm`` runs through it);
3. builds ``xlclv.xlam`` from that xlwings (:func:`xlclv.excel.addin.build_addin`) into Excel's
   startup folder, the folder ``xlwings addin install`` uses (Excel's ``StartupPath``). It carries
   the ribbon tab *and* the wrappers of every cell function, and its own config sheet names
   the interpreter and ``UDF Modules``: the functions work in every workbook, and nothing
   is written to the user-wide ``xlwings.conf`` (which would reconfigure every other xlwings
   project on the machine);
4. builds the templates into ``Documents/xlclv`` (Windows: the Documents folder Windows
   reports, also when OneDrive moved it; existing files are kept); ``clv_report.xlsm`` gets the
   interpreter in its own ``xlwings.conf`` sheet;
5. records what it did in ``~/.xlclv/install.json`` (for ``--status`` and ``uninstall``).

On a machine without Excel (Linux) it says so and does steps 4 and 5 only. Every path comes
from :class:`Paths`, which derives them from a home folder and environment, so the tests run
against a temporary home. Installs by earlier versions wrote the user-wide ``xlwings.conf``;
``uninstall`` still restores what they changed, writing the file in the encoding xlwings'
VBA reads it in (the Windows ANSI code page, :func:`conf_encoding`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xlclv._errors import XlclvError

__all__ = ["MANUAL_STEP", "Action", "Paths", "install", "plan", "register", "status", "uninstall"]

UDF_MODULES = "xlclv.udfs"
#: Told before anything is done on macOS, so the prompts do not come as a surprise.
MAC_PROMPTS = (
    "On macOS, Excel is sandboxed: the first time you click 'Build CLV report', macOS asks "
    "once to allow Excel to run the xlwings script (xlwings-<version>.applescript) and to "
    "open files in the xlclv folders. Allow it; the report's temporary file goes inside "
    "Excel's own container (~/Library/Containers/com.microsoft.Excel/Data), which needs no "
    "prompt."
)
#: ``python -c ...``: xlwings' command line (``xlwings addin install``) with a chosen interpreter.
_XLWINGS_CLI = ("-c", "from xlwings.cli import main; main()")
#: Excel 2016+ for Mac's user startup folder, when Excel cannot be asked.
_MAC_STARTUP = (
    "Library",
    "Group Containers",
    "UBF8T346G9.Office",
    "User Content",
    "Startup",
    "Excel",
)

MANUAL_STEP = {
    "win32": (
        "Restart Excel. The xlclv functions (=CLV_MODEL(...), =CLV_PREDICTIVE(...)) and the "
        "xlclv ribbon tab are then in every workbook: they come with the xlclv add-in, no "
        "Import Functions needed. If Excel asks, enable the add-in's macros."
    ),
    "darwin": (
        "Restart Excel (Cmd-Q, then start it again) to load the add-ins. The xlclv ribbon tab "
        "builds the report; the =CLV_...() cell functions need Excel for Windows "
        "(xlwings' classic functions do not run on macOS; see xlwings Lite in docs/excel.md). "
        "The first click asks once to allow Excel to run xlwings' script and to open files "
        "in the xlclv folders: allow it."
    ),
    "linux": (
        "There is no Excel on Linux, so the Excel add-ins were skipped. Use `xlclv report` "
        "and the templates in the folder above, or run `xlclv install` on Windows or macOS."
    ),
}


def _platform(name: str) -> str:
    return "win32" if name.startswith("win") else "darwin" if name == "darwin" else "linux"


@dataclass(frozen=True)
class Paths:
    """Where everything goes, for one user: derived from a home folder and an environment."""

    home: Path
    platform: str = field(default_factory=lambda: _platform(sys.platform))
    env: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, platform: str | None = None) -> Paths:
        env = dict(os.environ if env is None else env)
        plat = _platform(platform or sys.platform)
        home = env.get("USERPROFILE") if plat == "win32" else None
        home = home or env.get("HOME") or str(Path.home())
        return cls(Path(home), plat, env)

    @property
    def has_excel(self) -> bool:
        return self.platform in ("win32", "darwin")

    @property
    def xlwings_conf(self) -> Path:
        if self.platform == "darwin":
            return self.home.joinpath(
                "Library", "Containers", "com.microsoft.Excel", "Data", "xlwings.conf"
            )
        return self.home / ".xlwings" / "xlwings.conf"

    @property
    def startup_dir(self) -> Path | None:
        """Excel's user startup folder (XLSTART), or ``XLCLV_EXCEL_STARTUP`` if set."""
        if self.env.get("XLCLV_EXCEL_STARTUP"):
            return Path(self.env["XLCLV_EXCEL_STARTUP"])
        if self.platform == "win32":
            appdata = self.env.get("APPDATA") or str(self.home / "AppData" / "Roaming")
            return Path(appdata) / "Microsoft" / "Excel" / "XLSTART"
        if self.platform == "darwin":
            return self.home.joinpath(*_MAC_STARTUP)
        return None

    @property
    def documents_dir(self) -> Path:
        """The user's Documents folder: ``XLCLV_DOCUMENTS`` (install.ps1 sets it to what
        Windows reports, also when OneDrive moved it), else on Windows the registry's
        ``User Shell Folders\\Personal``, else ``~/Documents``."""
        if self.env.get("XLCLV_DOCUMENTS"):
            return Path(self.env["XLCLV_DOCUMENTS"])
        if self.platform == "win32" and sys.platform == "win32":  # pragma: no cover - Windows
            found = _windows_documents()
            if found is not None:
                return found
        return self.home / "Documents"

    @property
    def templates_dir(self) -> Path:
        return Path(self.env.get("XLCLV_TEMPLATES_DIR") or self.documents_dir / "xlclv")

    @property
    def on_onedrive(self) -> bool:
        return "onedrive" in str(self.templates_dir).lower()

    @property
    def state_file(self) -> Path:
        return self.home / ".xlclv" / "install.json"

    @property
    def interpreter_key(self) -> str | None:
        return {"win32": "INTERPRETER_WIN", "darwin": "INTERPRETER_MAC"}.get(self.platform)

    @property
    def addin_interpreter_key(self) -> str:
        """The interpreter key of a config sheet (as xlwings' templates spell it)."""
        return "Interpreter_Win" if self.platform == "win32" else "Interpreter_Mac"


def _windows_documents() -> Path | None:  # pragma: no cover - Windows only
    """Documents as Windows has it (redirected to OneDrive on many machines)."""
    try:
        import winreg

        key = r"Software\Microsoft\Windows\CurrentVersion\Explorer\User Shell Folders"
        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key) as k:
            value, _ = winreg.QueryValueEx(k, "Personal")
        return Path(os.path.expandvars(value))
    except OSError:
        return None


def conf_encoding(platform: str) -> str:
    """The encoding xlwings' VBA reads ``xlwings.conf`` in: on Windows the ANSI code page
    (``cp1252`` on Western systems; VBA's ``Open ... For Input`` reads bytes in it), so a
    path like ``C:\\Users\\Jürgen`` must be written in it, not in UTF-8 (which VBA shows as
    ``JÃ¼rgen``). On macOS, UTF-8."""
    if platform != "win32":
        return "utf-8"
    if sys.platform == "win32":  # pragma: no cover - Windows
        import locale

        return locale.getencoding()
    return "cp1252"


def xlwings_dll_problem(python: str, platform_machine: str | None = None) -> str | None:
    """Why xlwings' VBA would not find its DLL for ``python``, or ``None`` if it would.

    xlwings' VBA (``XLPyLoadDLL``) loads ``xlwings64-<version>.dll`` (``xlwings32-`` in 32-bit
    Excel) from the interpreter's folder or, for a virtual environment, the folder above it.
    """
    import platform

    import xlwings

    exe = Path(python)
    names = [f"xlwings{bits}-{xlwings.__version__}.dll" for bits in (64, 32)]
    folders = [exe.parent, exe.parent.parent]
    if any((folder / name).is_file() for folder in folders for name in names):
        return None
    machine = (platform_machine or platform.machine()).upper()
    where = " or ".join(str(f) for f in folders)
    if machine in ("ARM64", "AARCH64"):
        return (
            f"xlwings' Excel DLL ({names[0]}) is not in {where}. This is Windows on ARM, for "
            "which xlwings publishes no DLL, so the cell functions (=CLV_MODEL...) cannot run; "
            "the ribbon button and the templates work. To use the functions, install the x64 "
            "Python from python.org and run the installer again with XLCLV_PYTHON pointing to it."
        )
    return (
        f"xlwings' Excel DLL ({names[0]}) is not in {where}, so the cell functions would fail. "
        "Reinstall xlwings in xlclv's environment: "
        f'"{python}" -m pip install --force-reinstall --no-deps xlwings=={xlwings.__version__}'
    )


@dataclass
class Action:
    """One step: what it does (printed, also by ``--dry-run``) and the function doing it."""

    text: str
    run: Callable[[], str | None]


Runner = Callable[[Sequence[str]], subprocess.CompletedProcess]


def _run(cmd: Sequence[str]) -> subprocess.CompletedProcess:
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=300)


# --------------------------------------------------------------------- xlwings.conf


def _read_conf(path: Path, encoding: str = "utf-8") -> list[str]:
    if not path.is_file():
        return []
    return path.read_text(encoding=encoding, errors="replace").splitlines()


def _conf_key(line: str) -> str:
    return line.split(",", 1)[0].strip().strip('"').upper()


def _conf_values(path: Path, encoding: str = "utf-8") -> dict[str, str]:
    out = {}
    for line in _read_conf(path, encoding):
        if "," in line:
            out[_conf_key(line)] = line.split(",", 1)[1].strip().strip('"')
    return out


def _write_conf(path: Path, values: Mapping[str, str | None], encoding: str = "utf-8") -> None:
    """Set (or with ``None`` remove) keys, keeping every other line, as xlwings' own
    ``update_user_config`` does (lines ``"KEY","value"``), in ``encoding``
    (:func:`conf_encoding`). A value the encoding cannot hold is refused, not garbled."""
    keys = {k.upper() for k in values}
    lines = [ln for ln in _read_conf(path, encoding) if ln.strip() and _conf_key(ln) not in keys]
    lines += [f'"{k}","{v}"' for k, v in values.items() if v is not None]
    text = "".join(f"{ln}\n" for ln in lines)
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError as exc:
        raise XlclvError(
            f"{path} must be written in {encoding} (what xlwings reads), which cannot hold "
            f"{exc.object[exc.start : exc.end]!r}: move xlclv's environment to a folder whose "
            "name has only such characters (set XLCLV_VENV) and run the installer again"
        ) from None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


# --------------------------------------------------------------------- state


def _load_state(paths: Paths) -> dict[str, Any]:
    try:
        return json.loads(paths.state_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------- install


def _excel_startup_dir(paths: Paths, python: str, runner: Runner) -> Path:
    """Excel's startup folder: ``XLCLV_EXCEL_STARTUP`` if set, else Excel's own answer through
    xlwings' ``get_addin_dir`` (what ``xlwings addin install`` uses), else the usual folder."""
    default = paths.startup_dir
    assert default is not None
    if paths.env.get("XLCLV_EXCEL_STARTUP"):
        return default
    code = "from xlwings.cli import get_addin_dir; print(get_addin_dir())"
    try:
        done = runner([python, "-c", code])
        answer = (done.stdout or "").strip().splitlines()
        if done.returncode == 0 and answer and Path(answer[-1]).is_dir():
            return Path(answer[-1])
    except (OSError, subprocess.SubprocessError):
        pass
    default.mkdir(parents=True, exist_ok=True)
    return default


def _templates(paths: Paths, python: str | None = None) -> dict[str, Callable[[Path], Any]]:
    """Template file name -> writer, all built from code. ``clv_report.xlsm`` gets the
    interpreter in its own ``xlwings.conf`` sheet (read by xlwings' add-in before any user
    config), on Windows and macOS."""
    from xlclv.excel import templates, xlsm

    out: dict[str, Callable[[Path], Any]] = dict(templates.TEMPLATES)
    settings = {paths.addin_interpreter_key: python} if python and paths.has_excel else {}
    out[xlsm.XLSM_NAME] = lambda p: xlsm.build_xlsm(p, settings=settings)
    out["clv_report.py"] = lambda p: p.write_text(xlsm.PAIRED_MODULE, encoding="utf-8")
    return out


def plan(
    paths: Paths, *, python: str | None = None, runner: Runner = _run, force: bool = False
) -> list[Action]:
    """The install steps for ``paths``, in order."""
    from xlclv.excel import addin

    python = python or sys.executable
    state: dict[str, Any] = _load_state(paths)
    state.setdefault("files", {})
    state.setdefault("config", {})
    actions: list[Action] = []

    if paths.platform == "win32":

        def check_dll() -> str:
            problem = xlwings_dll_problem(python)
            if problem:
                raise XlclvError(problem)
            return "found"

        actions.append(Action("check xlwings' Excel DLL next to the interpreter", check_dll))

    if paths.has_excel:
        startup = paths.startup_dir
        assert startup is not None
        cmd = [python, *_XLWINGS_CLI, "addin", "install"]

        def xlwings_addin() -> str:
            state.setdefault("xlwings_addin_preexisting", (startup / "xlwings.xlam").is_file())
            done = runner(cmd)
            output = (done.stdout or "") + (done.stderr or "")
            if done.returncode != 0 or "Error" in output or "Traceback" in output:
                raise XlclvError(f"'xlwings addin install' failed: {output.strip()}")
            return output.strip().splitlines()[-1] if output.strip() else None

        actions.append(Action("install the xlwings add-in (xlwings addin install)", xlwings_addin))

        addin_settings = {paths.addin_interpreter_key: python}

        def xlclv_addin() -> str:
            folder = _excel_startup_dir(paths, python, runner)
            target = folder / addin.ADDIN_NAME
            addin.build_addin(target, settings=addin_settings)
            state["startup_dir"] = str(folder)
            state["files"][str(target)] = _sha256(target)
            return str(target)

        actions.append(
            Action(
                f"build {addin.ADDIN_NAME} (ribbon tab 'xlclv', the cell functions, interpreter "
                f"{python} in its own config sheet) into Excel's startup folder (asked from "
                f"Excel as xlwings does; usually {startup})",
                xlclv_addin,
            )
        )

    for name, build in _templates(paths, python).items():
        target = paths.templates_dir / name

        def template(target: Path = target, build: Callable[[Path], Any] = build) -> str | None:
            if target.exists() and not force:
                return "already there, kept (use --force to replace it)"
            target.parent.mkdir(parents=True, exist_ok=True)
            build(target)
            state["files"][str(target)] = _sha256(target)
            return None

        verb = "write" if force or not target.exists() else "keep (exists)"
        what = "the Python module of the template's button" if name.endswith(".py") else "template"
        actions.append(Action(f"{verb} {what} {target}", template))

    def record() -> None:
        import xlwings

        from xlclv import __version__

        state.update(
            platform=paths.platform,
            python=python,
            xlclv=__version__,
            xlwings=xlwings.__version__,
        )
        paths.state_file.parent.mkdir(parents=True, exist_ok=True)
        paths.state_file.write_text(json.dumps(state, indent=2, sort_keys=True), encoding="utf-8")

    actions.append(Action(f"record the installation in {paths.state_file}", record))
    return actions


def install(
    paths: Paths,
    *,
    dry_run: bool = False,
    python: str | None = None,
    runner: Runner = _run,
    force: bool = False,
    echo: Callable[[str], None] = print,
) -> int:
    """Carry out (or with ``dry_run`` only print) :func:`plan`; returns an exit code."""
    if not paths.has_excel:
        echo("No Excel on this system (Linux): skipping the Excel add-ins; writing the templates.")
    if paths.platform == "darwin":
        echo(MAC_PROMPTS)
    if paths.on_onedrive:
        echo(
            f"Your Documents folder is in OneDrive: the templates go to {paths.templates_dir}. "
            "If OneDrive keeps files online-only, open them once while online (or mark the "
            "folder 'Always keep on this device')."
        )
    actions = plan(paths, python=python, runner=runner, force=force)
    for action in actions:
        if dry_run:
            echo(f"would {action.text}")
            continue
        note = action.run()
        echo(f"done: {action.text}" + (f" -- {note}" if note else ""))
    if dry_run:
        echo("Dry run: nothing was changed.")
    echo(MANUAL_STEP[paths.platform])
    return 0


# --------------------------------------------------------------------- status, uninstall


def status(paths: Paths, *, echo: Callable[[str], None] = print) -> int:
    """Report what is installed; returns 0 if everything ``xlclv install`` does is in place."""
    import xlwings

    from xlclv.excel import addin

    ok = True
    state = _load_state(paths)
    interpreter = state.get("python")
    if paths.has_excel:
        exists = bool(interpreter) and Path(interpreter).exists()
        ok &= exists
        echo(
            f"interpreter of the add-in: {interpreter or '(not recorded)'}"
            + ("" if exists else "  <- not found")
        )
        if paths.platform == "win32" and exists:
            problem = xlwings_dll_problem(interpreter)
            ok &= problem is None
            echo(problem or "xlwings' Excel DLL: found")
    if paths.has_excel:
        startup = Path(state.get("startup_dir") or paths.startup_dir)
        for name in ("xlwings.xlam", addin.ADDIN_NAME):
            present = (startup / name).is_file()
            ok &= present
            echo(f"{name}: {'installed' if present else 'NOT installed'} in {startup}")
        target = startup / addin.ADDIN_NAME
        if target.is_file():
            same = _vba(target) == addin.vba_project()
            ok &= same
            echo(
                f"  its VBA matches the installed xlwings {xlwings.__version__}"
                if same
                else f"  its VBA is from another xlwings version than {xlwings.__version__}: "
                "run `xlclv install` again"
            )
    else:
        echo("Excel add-ins: not applicable (no Excel on this system)")
    for name in _templates(paths):
        present = (paths.templates_dir / name).is_file()
        ok &= present
        echo(f"template {paths.templates_dir / name}: {'present' if present else 'missing'}")
    if state:
        echo(
            f"installed with xlclv {state.get('xlclv')}, xlwings {state.get('xlwings')}, "
            f"Python {state.get('python')}"
        )
    else:
        echo(f"no record of an installation ({paths.state_file})")
    echo("Everything is installed." if ok else "Something is missing: run `xlclv install`.")
    return 0 if ok else 1


def _vba(path: Path) -> bytes:
    import zipfile

    with zipfile.ZipFile(path) as z:
        return z.read("xl/vbaProject.bin")


def uninstall(
    paths: Paths,
    *,
    dry_run: bool = False,
    python: str | None = None,
    runner: Runner = _run,
    echo: Callable[[str], None] = print,
) -> int:
    """Undo :func:`install`: files it wrote (unless changed since), its config lines (the
    earlier values come back), and the xlwings add-in if it was not there before."""
    state = _load_state(paths)
    python = python or sys.executable
    actions: list[Action] = []
    for name, digest in sorted(state.get("files", {}).items()):
        path = Path(name)

        def remove(path: Path = path, digest: str = digest) -> str | None:
            if not path.is_file():
                return "already gone"
            if _sha256(path) != digest:
                return "changed since it was installed, kept"
            path.unlink()
            return None

        actions.append(Action(f"remove {path}", remove))

    config = state.get("config")  # what an earlier version put in the user-wide config
    if config and paths.xlwings_conf.is_file():
        encoding = conf_encoding(paths.platform)
        actions.append(
            Action(
                f"restore xlwings config {paths.xlwings_conf} ("
                + ", ".join(f"{k} = {v or '(removed)'}" for k, v in config.items())
                + ")",
                lambda: _write_conf(paths.xlwings_conf, config, encoding),
            )
        )
    if paths.has_excel and state and not state.get("xlwings_addin_preexisting", True):
        cmd = [python, *_XLWINGS_CLI, "addin", "remove"]

        def remove_xlwings_addin() -> None:
            runner(cmd)

        actions.append(
            Action("remove the xlwings add-in (xlwings addin remove)", remove_xlwings_addin)
        )

    def forget() -> None:
        paths.state_file.unlink(missing_ok=True)
        for folder in (paths.templates_dir, paths.state_file.parent):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()

    actions.append(Action(f"forget the installation record {paths.state_file}", forget))
    if not state:
        echo(f"No record of an installation ({paths.state_file}); cleaning the config only.")
    for action in actions:
        if dry_run:
            echo(f"would {action.text}")
            continue
        note = action.run()
        echo(f"done: {action.text}" + (f" -- {note}" if note else ""))
    if dry_run:
        echo("Dry run: nothing was changed.")
    return 0


# --------------------------------------------------------------------- CLI


def register(subparsers: Any) -> None:
    """Add ``install`` and ``uninstall`` to the ``xlclv`` command line."""
    p = subparsers.add_parser(
        "install",
        help="set Excel up: xlwings config and add-in, the xlclv ribbon add-in, templates",
    )
    p.add_argument("--dry-run", action="store_true", help="print every action, change nothing")
    p.add_argument("--status", action="store_true", help="report what is installed")
    p.add_argument("--force", action="store_true", help="replace existing template files")
    p.set_defaults(handler=_cmd_install)
    u = subparsers.add_parser("uninstall", help="remove what `xlclv install` installed")
    u.add_argument("--dry-run", action="store_true", help="print every action, change nothing")
    u.set_defaults(handler=_cmd_uninstall)


def _cmd_install(args: argparse.Namespace, console: Any) -> int:
    paths = Paths.from_env()
    echo = _echo(console)
    if args.status:
        return status(paths, echo=echo)
    return install(paths, dry_run=args.dry_run, force=args.force, echo=echo)


def _cmd_uninstall(args: argparse.Namespace, console: Any) -> int:
    return uninstall(Paths.from_env(), dry_run=args.dry_run, echo=_echo(console))


def _echo(console: Any) -> Callable[[str], None]:
    return lambda text: console.print(text, markup=False, highlight=False, soft_wrap=True)
