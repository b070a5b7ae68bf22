"""Make `dvc plots show` render offline. DVC's HTML page loads Vega, Vega-Lite and Vega-Embed
from a CDN (dvc_render's VegaRenderer.SCRIPTS), so offline it is blank. This fetches exactly
those versions from the npm registry (`npm pack`, once, into .dvc/tmp/plots/; BSD-3-Clause,
never committed), writes an HTML template with the three scripts inline and no `{scripts}`
placeholder (so DVC adds no CDN tags), and points this clone's DVC at it
(`plots.html_template` in .dvc/config.local). Then every `dvc plots show` writes a page that
needs no network.

    python tools/dvc_plots.py           # `make plots` runs it, then `dvc plots show`
    python tools/dvc_plots.py --check PAGE   # exit 1 if PAGE loads any script over http(s)
"""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".dvc" / "tmp" / "plots"  # ignored by git (.dvc/.gitignore: /tmp)
TEMPLATE = CACHE / "offline.html"
REMOTE_SCRIPT = re.compile(r"<script[^>]*\bsrc\s*=\s*[\"']?(https?:)?//", re.IGNORECASE)

PAGE = """<!DOCTYPE html>
<html>
<head>
    {{refresh_tag}}
    <meta charset="utf-8">
    <title>SOLID: DVC plots</title>
    <!-- {names}, inline (BSD-3-Clause; tools/dvc_plots.py): no network needed -->
{scripts}
    <style>
        body {{ font-family: sans-serif; }}
        body > div {{ display: inline-block; vertical-align: top; margin: 8px; }}
    </style>
</head>
<body>
    {{plot_divs}}
</body>
</html>
"""


def cdn_packages() -> list[tuple[str, str]]:
    """(package, version) of each script DVC's own page would load from the CDN."""
    from dvc_render.vega import VegaRenderer

    return re.findall(r"/npm/([\w-]+)@([\d.]+)", VegaRenderer.SCRIPTS)


def script(name: str, version: str) -> str:
    """The package's minified browser build, from its npm tarball (fetched once)."""
    tgz = CACHE / f"{name}-{version}.tgz"
    if not tgz.is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "pack", "--silent", f"{name}@{version}", "--pack-destination",
                        str(CACHE)], check=True, stdout=subprocess.DEVNULL)
    with tarfile.open(tgz) as tar:
        js = tar.extractfile(f"package/build/{name}.min.js").read().decode("utf-8")
    return js.replace("</script", "<\\/script")


def write_template(path: Path = TEMPLATE, configure: bool = True) -> Path:
    """The offline template at `path`; `configure`: make it this clone's default."""
    packages = cdn_packages()
    scripts = "\n".join(f"    <script>\n{script(n, v)}\n    </script>" for n, v in packages)
    names = ", ".join(f"{n} {v}" for n, v in packages)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(PAGE.format(names=names, scripts=scripts), encoding="utf-8")
    if configure:
        subprocess.run([sys.executable, "-m", "dvc", "config", "--local", "plots.html_template",
                        path.relative_to(REPO / ".dvc").as_posix()], cwd=REPO, check=True)
    return path


def main(argv: list[str]) -> int:
    if argv[:1] == ["--check"]:
        page = Path(argv[1]).read_text(encoding="utf-8")
        remote = REMOTE_SCRIPT.findall(page)
        print(f"{argv[1]}: {len(remote)} script(s) loaded over the network", file=sys.stderr)
        return 1 if remote else 0
    print(write_template().relative_to(REPO))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
