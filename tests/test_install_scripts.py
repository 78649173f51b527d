"""install/install.sh runs here (Linux, temporary HOME, no package index): from a clone, from
the unzipped release that scripts/release builds (a real pip install of the wheel, then a real
``xlclv install``), and with stand-ins for pip's failures. install/install.ps1 is parsed by a
real PowerShell grammar (tree-sitter-powershell) and checked statically: there is no
PowerShell on this system (Debian has no package for it), so it is NOT executed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SH = ROOT / "install" / "install.sh"
PS1 = ROOT / "install" / "install.ps1"


def run_sh(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("XLCLV_")}
    base.update({"HOME": str(home), "XLCLV_PYTHON": sys.executable, **env})
    return subprocess.run(
        ["bash", str(SH), *args], env=base, capture_output=True, text=True, timeout=120
    )


def linked_venv(path: Path) -> Path:
    """A new venv (no pip of its own) that sees this environment's packages and this clone."""
    subprocess.run(
        [sys._base_executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=60
    )
    python = path / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(purelib, "xlclv-test.pth").write_text(f"{sysconfig.get_path('purelib')}\n{ROOT}\n")
    return path


def test_install_sh_dry_run_with_a_temporary_home(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    venv = linked_venv(tmp_path / "venv")
    done = run_sh(home, "--dry-run", XLCLV_VENV=str(venv), XLCLV_SKIP_PIP="1")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for step in ("1/4", "2/4", "3/4", "4/4"):
        assert f"==> {step}" in out
    assert "already there, reused" in out and "skipped (XLCLV_SKIP_PIP=1)" in out
    assert "No Excel on this system" in out
    assert "xlwings.conf" not in out  # no user-wide config any more
    assert f"would write template {home}/Documents/xlclv/clv_report.xlsm" in out
    assert "Dry run: nothing was changed." in out
    assert list(home.iterdir()) == []  # nothing written to the (temporary) home


def stub_venv(path: Path) -> Path:
    """A venv whose python logs its arguments: shows the pip and xlclv command lines."""
    bin_ = path / "bin"
    bin_.mkdir(parents=True)
    log = path / "calls.log"
    (bin_ / "python").write_text(f'#!/bin/sh\necho "$*" >> "{log}"\n')
    (bin_ / "python").chmod(0o755)
    return log


def test_install_sh_pip_and_install_command_lines(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    log = stub_venv(tmp_path / "venv")
    done = run_sh(
        home,
        "--status",
        XLCLV_VENV=str(tmp_path / "venv"),
        XLCLV_SOURCE=str(ROOT),
        XLCLV_PIP_OPTIONS="--no-deps --no-index",
    )
    assert done.returncode == 0, done.stderr
    assert log.read_text().splitlines() == [
        f"-m pip install --disable-pip-version-check --upgrade --no-deps --no-index {ROOT}",
        "-m xlclv install --status",
    ]


def test_install_sh_creates_the_venv_when_missing(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    fake = tmp_path / "python3"
    calls = tmp_path / "calls.log"
    fake.write_text(
        f'#!/bin/sh\necho "$*" >> "{calls}"\n'
        'if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then mkdir -p "$3/bin"; '
        f'printf \'#!/bin/sh\\necho "venv $*" >> "{calls}"\\n\' > "$3/bin/python"; '
        'chmod +x "$3/bin/python"; fi\n'
    )
    fake.chmod(0o755)
    done = run_sh(home, "--dry-run", XLCLV_PYTHON=str(fake))
    assert done.returncode == 0, done.stderr
    venv = home / ".xlclv" / "venv"
    assert "created" in done.stdout
    assert calls.read_text().splitlines()[-3:] == [
        f"-m venv {venv}",
        # no package-index name: the clone this script sits in
        f"venv -m pip install --disable-pip-version-check --upgrade {ROOT}",
        "venv -m xlclv install --dry-run",
    ]


def test_install_sh_explains_a_missing_or_old_python(tmp_path):
    done = run_sh(tmp_path, XLCLV_PYTHON="no-such-python-xyz")
    assert done.returncode == 1
    assert "Python 3 was not found" in done.stderr and "python.org" in done.stderr
    old = tmp_path / "python3"
    old.write_text('#!/bin/sh\n[ "$1" = "--version" ] && echo "Python 3.8.10"\nexit 1\n')
    old.chmod(0o755)
    done = run_sh(tmp_path, XLCLV_PYTHON=str(old))
    assert done.returncode == 1 and "Python 3.8.10 is too old" in done.stderr


def test_install_sh_passes_shellcheck():
    exe = shutil.which("shellcheck")
    if exe is None:
        message = "shellcheck is not installed (apt-get install shellcheck)"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI must install it")
        pytest.skip(message)
    done = subprocess.run([exe, str(SH)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout


# --------------------------------------------------------------------- install.ps1, static


def _strip_ps_strings_and_comments(text: str) -> str:
    text = re.sub(r"#.*", "", text)
    text = re.sub(r'"(?:`.|[^"`])*"', '""', text)
    return re.sub(r"'[^']*'", "''", text)


def test_install_ps1_is_balanced():
    code = _strip_ps_strings_and_comments(PS1.read_text())
    for line in PS1.read_text().splitlines():
        if not line.lstrip().startswith("#"):
            assert line.count('"') % 2 == 0, line
    stack = []
    pairs = {")": "(", "]": "[", "}": "{"}
    for ch in code:
        if ch in "([{":
            stack.append(ch)
        elif ch in pairs:
            assert stack and stack.pop() == pairs[ch], "unbalanced brackets in install.ps1"
    assert stack == []


def test_install_ps1_does_the_same_steps_as_install_sh():
    ps = PS1.read_text()
    for needle in (
        '$ErrorActionPreference = "Stop"',
        "sys.version_info >= (3, 11)",
        "-m venv $Venv",
        'Join-Path $Venv "Scripts\\python.exe"',
        "-m pip install --disable-pip-version-check --upgrade @PipOptions $Source 2>&1",
        "-m xlclv install @Rest",
        "$env:XLCLV_SKIP_PIP",
        "$env:XLCLV_SOURCE",
        "$env:XLCLV_VENV",
        "$env:XLCLV_PYTHON",
        "$env:XLCLV_PIP_OPTIONS",
        "exit $LASTEXITCODE",
    ):
        assert needle in ps, needle
    # every native call is followed by an exit-code check before the next step
    assert ps.count("$LASTEXITCODE") >= 4
    sh = SH.read_text()
    for name in (
        "XLCLV_SKIP_PIP",
        "XLCLV_SOURCE",
        "XLCLV_VENV",
        "XLCLV_PYTHON",
        "XLCLV_PIP_OPTIONS",
    ):
        assert name in sh


# --------------------------------------------------------------------- where xlclv comes from


def release_folder(tmp_path: Path, wheels: list[str]) -> Path:
    """An unzipped release: install.sh with wheels (empty stand-ins) next to it."""
    folder = tmp_path / "xlclv-release"
    folder.mkdir()
    shutil.copy(SH, folder / "install.sh")
    for name in wheels:
        (folder / name).write_bytes(b"")
    return folder


def run_script(script: Path, home: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("XLCLV_")}
    base.update({"HOME": str(home), "XLCLV_PYTHON": sys.executable, **env})
    # run from the home folder: python -m puts the current folder first on sys.path
    return subprocess.run(
        ["bash", str(script), *args],
        env=base,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=home,
    )


def test_install_sh_installs_the_newest_wheel_next_to_it(tmp_path):
    folder = release_folder(
        tmp_path, ["xlclv-0.9.0-py3-none-any.whl", "xlclv-0.10.0-py3-none-any.whl"]
    )
    log = stub_venv(tmp_path / "venv")
    done = run_script(
        folder / "install.sh", tmp_path, "--dry-run", XLCLV_VENV=str(tmp_path / "venv")
    )
    assert done.returncode == 0, done.stderr
    wheel = folder / "xlclv-0.10.0-py3-none-any.whl"  # 0.10 is newer than 0.9
    assert log.read_text().splitlines()[0].endswith(f"--upgrade {wheel}")


def test_install_sh_source_option_and_nothing_to_install(tmp_path):
    folder = release_folder(tmp_path, [])
    log = stub_venv(tmp_path / "venv")
    done = run_script(folder / "install.sh", tmp_path, XLCLV_VENV=str(tmp_path / "venv"))
    assert done.returncode == 1
    assert "there is no xlclv next to this script" in done.stderr and "--source" in done.stderr
    url = "https://example.org/xlclv-0.1.0-py3-none-any.whl"
    done = run_script(
        folder / "install.sh",
        tmp_path,
        "--source",
        url,
        "--status",
        XLCLV_VENV=str(tmp_path / "venv"),
    )
    assert done.returncode == 0, done.stderr
    assert log.read_text().splitlines() == [
        f"-m pip install --disable-pip-version-check --upgrade {url}",
        "-m xlclv install --status",
    ]
    done = run_script(folder / "install.sh", tmp_path, "--source", str(tmp_path / "nope.whl"))
    assert done.returncode == 1 and "does not exist" in done.stderr


PIP_NO_NETWORK = (
    "WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) "
    "after connection broken by 'NewConnectionError('<pip._vendor.urllib3.connection."
    "HTTPSConnection object at 0x7f>: Failed to establish a new connection: [Errno -3] "
    "Temporary failure in name resolution')': /simple/numpy/\n"
    "ERROR: Could not find a version that satisfies the requirement numpy>=1.26 (from xlclv) "
    "(from versions: none)\nERROR: No matching distribution found for numpy>=1.26"
)
PIP_NOT_FOUND = (
    "ERROR: Could not find a version that satisfies the requirement scipy>=1.11 (from xlclv) "
    "(from versions: 0.9)\nERROR: No matching distribution found for scipy>=1.11"
)


@pytest.mark.parametrize(
    ("pip_says", "expected", "not_expected"),
    [
        (PIP_NO_NETWORK, "no network: pip could not reach the package index", "package not found"),
        (
            PIP_NOT_FOUND,
            "package not found: ERROR: No matching distribution found for scipy",
            "no network",
        ),
    ],
)
def test_install_sh_tells_no_network_from_package_not_found(
    tmp_path, pip_says, expected, not_expected
):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "--version" ]; then echo "Python 3.11.9"; exit 0; fi\n'
        f"printf '%b\\n' \"{pip_says}\" >&2\nexit 1\n"
    )
    (venv / "bin" / "python").chmod(0o755)
    done = run_script(SH, tmp_path, XLCLV_VENV=str(venv))
    assert done.returncode == 1
    assert expected in done.stderr and not_expected not in done.stderr


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    """scripts/release's zip, unzipped: the wheel, the install scripts, the templates."""
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "release"), str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    import zipfile

    [archive] = out.glob("xlclv-*-excel.zip")
    with zipfile.ZipFile(archive) as z:
        z.extractall(out / "unzipped")
    [folder] = (out / "unzipped").iterdir()
    return folder


@pytest.mark.slow
def test_release_zip_has_the_wheel_scripts_and_templates(release):
    names = sorted(p.relative_to(release).as_posix() for p in release.rglob("*") if p.is_file())
    [wheel] = [n for n in names if n.endswith(".whl")]
    assert {"install.sh", "install.ps1", "README.md"} <= set(names)
    assert {"templates/clv_report.xlsm", "templates/clv_report.xlsx"} <= set(names)
    import zipfile

    with zipfile.ZipFile(release / wheel) as z:
        [meta] = [n for n in z.namelist() if n.endswith(".dist-info/METADATA")]
        requires = [
            ln for ln in z.read(meta).decode().splitlines() if ln.startswith("Requires-Dist:")
        ]
        assert "xlclv/excel/customUI.xml" in z.namelist()
    # xlwings Lite (Pyodide) skips python-calamine: the built metadata carries the marker
    [calamine] = [r for r in requires if "python-calamine" in r]
    assert calamine.replace("'", '"').endswith('; sys_platform != "emscripten"'), calamine


@pytest.mark.slow
def test_install_sh_from_the_unzipped_release_with_a_temporary_home(release, tmp_path):
    """A real pip install of the release's wheel (--no-index: no package index at all; the
    dependencies come from a venv that sees this environment) and a real `xlclv install`."""
    home = tmp_path / "home"
    home.mkdir()
    venv = tmp_path / "venv"
    subprocess.run([sys._base_executable, "-m", "venv", str(venv)], check=True, timeout=120)
    purelib = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import sysconfig; print(sysconfig.get_path('purelib'))",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # this environment's packages (numpy, pandas, xlwings...), but not this clone
    Path(purelib, "deps.pth").write_text(f"{sysconfig.get_path('purelib')}\n")
    done = run_script(
        release / "install.sh",
        home,
        XLCLV_VENV=str(venv),
        XLCLV_PIP_OPTIONS="--no-index --no-deps",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Installing xlclv from {next(release.glob('xlclv-*.whl'))}" in done.stdout
    installed = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import xlclv; print(xlclv.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=home,
    ).stdout.strip()
    assert installed.startswith(purelib), installed  # the wheel, not the clone
    templates = home / "Documents" / "xlclv"
    assert {"clv_report.xlsx", "clv_report.xlsm", "clv_report.py"} <= {
        p.name for p in templates.iterdir()
    }
    assert not (home / ".xlwings").exists()


# --------------------------------------------------------------------- install.ps1, parsed


def _ps1_tree():
    import tree_sitter
    import tree_sitter_powershell

    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
    source = PS1.read_bytes()
    return parser.parse(source), source


def _nodes(node):
    yield node
    for child in node.children:
        yield from _nodes(child)


def test_install_ps1_parses_with_the_powershell_grammar():
    tree, source = _ps1_tree()
    bad = [
        (n.start_point, source[n.start_byte : n.end_byte][:60])
        for n in _nodes(tree.root_node)
        if n.type == "ERROR" or n.is_missing
    ]
    assert bad == [] and not tree.root_node.has_error
    # the grammar does catch a broken script
    import tree_sitter
    import tree_sitter_powershell

    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
    assert parser.parse(b'if ($x -eq 1 { Write-Host "a" }').root_node.has_error


def test_install_ps1_commands_as_the_grammar_sees_them():
    tree, source = _ps1_tree()
    commands = [
        source[n.start_byte : n.end_byte].decode()
        for n in _nodes(tree.root_node)
        if n.type == "command"
    ]
    assert any(c.startswith("& $VenvPython -m pip install") and "$Source" in c for c in commands)
    assert "& $VenvPython -m xlclv install @Rest" in commands
    assert any(c.startswith("Fail ") and "no network" in c for c in commands)
    assert any(c.startswith("Fail ") and "package not found" in c for c in commands)
    assert any(c.startswith("Fail ") and "Microsoft Store placeholder" in c for c in commands)
    # no param block (it would bind or reject --dry-run); -Source is picked out of $args
    assert not [n for n in _nodes(tree.root_node) if n.type == "param_block"]
    loops = [
        source[n.start_byte : n.end_byte].decode()
        for n in _nodes(tree.root_node)
        if n.type == "for_statement"
    ]
    assert len(loops) == 1 and '$args[$i] -eq "-Source"' in loops[0] and "$Rest +=" in loops[0]


def fake_macos(tmp_path: Path, has_command_line_tools: bool) -> str:
    """A PATH on which `uname -s` says Darwin and `xcode-select -p` fails or succeeds."""
    bin_ = tmp_path / "fakebin"
    bin_.mkdir()
    (bin_ / "uname").write_text("#!/bin/sh\necho Darwin\n")
    (bin_ / "xcode-select").write_text(f"#!/bin/sh\nexit {0 if has_command_line_tools else 2}\n")
    for f in bin_.iterdir():
        f.chmod(0o755)
    return f"{bin_}:/usr/bin:/bin"


@pytest.mark.skipif(not Path("/usr/bin/python3").exists(), reason="needs /usr/bin/python3")
def test_install_sh_detects_apples_python3_placeholder(tmp_path):
    path = fake_macos(tmp_path, has_command_line_tools=False)
    done = run_script(SH, tmp_path, XLCLV_PYTHON="python3", PATH=path, XLCLV_SKIP_PIP="1")
    assert done.returncode == 1
    assert "Apple's placeholder" in done.stderr and "python.org" in done.stderr


def test_install_sh_announces_the_macos_permission_prompts(tmp_path):
    path = fake_macos(tmp_path, has_command_line_tools=True)
    log = stub_venv(tmp_path / "venv")
    done = run_script(
        SH, tmp_path, "--status", PATH=path, XLCLV_VENV=str(tmp_path / "venv"), XLCLV_SKIP_PIP="1"
    )
    assert done.returncode == 0, done.stderr
    notice = done.stdout.index("macOS asks once to let Excel run the xlwings")
    assert notice < done.stdout.index("==> 2/4")  # before anything is installed
    assert log.read_text().splitlines() == ["-m xlclv install --status"]
