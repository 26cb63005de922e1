"""Build the course's small colour-photo dataset from Debian's package tuxpaint-stamps-default.

``python tools/build_photos.py`` reads the Tux Paint "stamps" that the package installs
under ``/usr/share/tuxpaint/stamps`` (most are real photographs cut out on a transparent
background) and writes, under ``helpers/photos_data/``:

* ``images/<class>/<name>.jpg``: every kept stamp of the five classes, composited on
  white, cropped to the visible object, padded to a white square and resized to
  224 x 224 (Pillow, LANCZOS), saved as RGB JPEG (quality 90, 4:2:0, baseline, no
  metadata);
* ``MANIFEST.csv``: one row per JPEG (file, class, source path inside the package, and
  the sha256 of the JPEG and of its source PNG), sorted;
* ``LICENSE-tuxpaint-stamps.txt``: the package's copyright file and the GPL-2 text;
* ``CREDITS-tuxpaint-stamps.txt``: the upstream change log, which names who made or
  photographed each stamp (the package ships no other list of contributors);
* ``README.md``: what this is, the licence, the exclusion rule, how to regenerate.

These files are committed, so learners on macOS or Windows (no apt) have them. Running
the builder again changes nothing: a file is rewritten only when its bytes differ, and
JPEGs of stamps that are no longer kept are removed.

On Debian or Ubuntu: ``sudo apt-get install tuxpaint-stamps-default`` (161 MB), or
``apt-get download tuxpaint-stamps-default && dpkg -x tuxpaint-stamps-default_*.deb DIR``
and ``--stamps DIR/usr/share/tuxpaint/stamps --doc DIR/usr/share/doc/tuxpaint-stamps-default``.

Which stamps are kept (the exclusion rule, also written into README.md):

1. PNG files only: the ``.svg`` stamps are vector drawings;
2. nothing under a folder named ``cartoon`` (drawings), ``toys`` (a teddy bear is not a
   mammal) or ``plastic`` (an artificial flower);
3. no ``*_mirror*`` file: those are left-right flipped copies of another stamp;
4. the few files listed in ``EXCLUDED_FILES``, each with its reason (drawings that sit
   outside a ``cartoon`` folder, and vehicle stamps that show no vehicle).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import os
import re
import sys
import tempfile
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STAMPS = Path("/usr/share/tuxpaint/stamps")
DEFAULT_DOC = Path("/usr/share/doc/tuxpaint-stamps-default")
DEFAULT_GPL = Path("/usr/share/common-licenses/GPL-2")
DEFAULT_OUT = ROOT / "helpers" / "photos_data"

SIZE = 224
JPEG_SETTINGS = {"quality": 90, "subsampling": 2, "optimize": False, "progressive": False}
WHITE = (255, 255, 255)

# class -> the package's folders whose PNG stamps make up that class (sorted by class name)
CLASS_FOLDERS: dict[str, tuple[str, ...]] = {
    "bird": ("animals/birds",),
    "flower": ("plants/flowers",),
    "fruit": ("food/fruit",),
    "mammal": ("animals/mammals",),
    # military/vehicles adds four photographed vehicles (two armoured carriers, a tank
    # destroyer, a jet): without them the smallest class would have 14 photos, too few
    # for 5 test + 3 validation + 10 training photos per class
    "vehicle": ("vehicles", "military/vehicles"),
}
# folders (at any depth) whose stamps are not photographs of the real thing
EXCLUDED_FOLDERS = ("cartoon", "toys", "plastic")
# single files the folder rule does not catch, checked by eye: path -> reason
EXCLUDED_FILES: dict[str, str] = {
    "animals/mammals/echidna.png": "a black silhouette (one colour, grey with alpha), not a photo",
    "animals/mammals/hedgehog.png": "a cartoon drawing kept outside a cartoon folder",
    "vehicles/7spoke256.png": "a drawn wheel in grey levels, and a wheel is not a vehicle",
    "vehicles/emergency/sedan_police.png": (
        "only the police livery (stripes and lettering) meant to be stamped over sedan.png; no car"
    ),
    "vehicles/wheel_tractor.png": "a photo of a tractor tyre alone, a part rather than a vehicle",
}
MANIFEST_FIELDS = ("file", "class", "source", "sha256", "source_sha256")


def kept_stamps(stamps: Path) -> dict[str, list[Path]]:
    """Return ``{class: [PNG path, ...]}`` of the stamps the rule keeps, sorted by path."""
    if not stamps.is_dir():
        raise ValueError(
            f"no stamps folder at {stamps}: install Debian's package tuxpaint-stamps-default "
            "(sudo apt-get install tuxpaint-stamps-default) or pass --stamps"
        )
    kept: dict[str, list[Path]] = {}
    for name, folders in CLASS_FOLDERS.items():
        files = []
        for folder in folders:
            base = stamps / folder
            if not base.is_dir():
                raise ValueError(f"{base} is missing: is this the tuxpaint-stamps-default package?")
            for path in base.rglob("*"):
                relative = path.relative_to(stamps)
                if not path.is_file() or path.suffix.lower() != ".png":
                    continue
                if any(part in EXCLUDED_FOLDERS for part in relative.parts[:-1]):
                    continue
                if "_mirror" in path.stem or relative.as_posix() in EXCLUDED_FILES:
                    continue
                files.append(path)
        kept[name] = sorted(files, key=lambda p: p.relative_to(stamps).as_posix())
    return kept


def output_name(source: Path) -> str:
    """The JPEG's file name: the stamp's stem in lower case (portable to case-blind file systems)."""
    stem = source.stem.lower()
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", stem):
        raise ValueError(f"{source}: the name {stem!r} is not a plain portable file name")
    return f"{stem}.jpg"


def to_photo(source: Path) -> Image.Image:
    """Open a stamp; return it composited on white, cropped, padded square, 224 x 224 RGB."""
    with Image.open(source) as opened:
        opened.load()
        rgba = opened.convert("RGBA")  # palette and grey stamps carry their transparency along
    box = rgba.getchannel("A").getbbox()  # the visible object; None when fully transparent
    if box is None:
        raise ValueError(f"{source} is fully transparent")
    rgba = rgba.crop(box)
    flat = Image.new("RGBA", rgba.size, WHITE + (255,))
    flat.alpha_composite(rgba)
    width, height = flat.size
    side = max(width, height)
    square = Image.new("RGB", (side, side), WHITE)
    square.paste(flat.convert("RGB"), ((side - width) // 2, (side - height) // 2))
    return square.resize((SIZE, SIZE), Image.Resampling.LANCZOS)


def jpeg_bytes(image: Image.Image) -> bytes:
    """Encode with fixed settings and no metadata, so the bytes depend on the pixels only."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", **JPEG_SETTINGS)
    return buffer.getvalue()


def package_version(doc: Path) -> str:
    """The Debian version, read from the first line of changelog.Debian.gz ("unknown" if absent)."""
    path = doc / "changelog.Debian.gz"
    if not path.is_file():
        return "unknown"
    first = gzip.decompress(path.read_bytes()).decode("utf-8", "replace").splitlines()[0]
    found = re.match(r"\S+ \(([^)]+)\)", first)
    return found.group(1) if found else "unknown"


def write_if_changed(path: Path, payload: bytes) -> bool:
    """Write ``payload`` atomically unless ``path`` already holds exactly it; return whether written."""
    if path.is_file() and path.read_bytes() == payload:
        if path.stat().st_mode & 0o444 != 0o444:
            os.chmod(path, 0o644)
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files; these are data for everyone to read
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def license_text(doc: Path, gpl: Path) -> str:
    copyright_file = doc / "copyright"
    if not copyright_file.is_file():
        raise ValueError(f"{copyright_file} is missing: is tuxpaint-stamps-default installed?")
    parts = [
        "The images under images/ are derived from the stamps of Tux Paint, as packaged by\n"
        "Debian (tuxpaint-stamps-default). They are distributed under the GNU General Public\n"
        "License, version 2 or (at your option) any later version, like the stamps themselves.\n"
        "Below: the package's copyright file (/usr/share/doc/tuxpaint-stamps-default/copyright),\n"
        "then the full text of the GPL, version 2.\n",
        "=" * 78 + "\n",
        copyright_file.read_text(encoding="utf-8"),
    ]
    if gpl.is_file():
        parts += ["=" * 78 + "\n", gpl.read_text(encoding="utf-8")]
    else:
        parts += ["=" * 78 + "\n", "The GPL-2 text: https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt\n"]
    return "\n".join(parts)


def credits_text(doc: Path) -> str:
    changes = doc / "changelog.gz"
    if not changes.is_file():
        raise ValueError(f"{changes} is missing: is tuxpaint-stamps-default installed?")
    body = gzip.decompress(changes.read_bytes()).decode("utf-8", "replace")
    return (
        "Credits for the Tux Paint stamps: the upstream change log (CHANGES.txt) as shipped by\n"
        "Debian in /usr/share/doc/tuxpaint-stamps-default/changelog.gz. It names who drew or\n"
        "photographed each stamp when it was added; the package ships no CONTRIBUTORS.txt.\n"
        + "=" * 78 + "\n\n" + body
    )


def readme_text(rows: list[dict[str, str]], version: str) -> str:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["class"]] = counts.get(row["class"], 0) + 1
    table = "\n".join(
        f"| `{name}` | {counts.get(name, 0)} | {', '.join(f'`{f}/`' for f in folders)} |"
        for name, folders in CLASS_FOLDERS.items()
    )
    files = "\n".join(f"| `{path}` | {reason} |" for path, reason in sorted(EXCLUDED_FILES.items()))
    return f"""# Photos: five classes of real colour photographs (derived from Tux Paint's stamps)

Generated by `python tools/build_photos.py`; do not edit by hand. {len(rows)} photographs of
birds, flowers, fruit, mammals and vehicles, each cut out on a white background and stored
as a 224 x 224 RGB JPEG in `images/<class>/`. Lesson 07 and assignment A2 use them through
`helpers.photos` (fixed test and validation photos, seeded k-shot training draws).

| Class | Photos | From the package's folders |
|---|---|---|
{table}

## Source and licence
The stamps of [Tux Paint](https://tuxpaint.org/) (Bill Kendrick and contributors), as
packaged by Debian: `tuxpaint-stamps-default` version {version}, folder
`/usr/share/tuxpaint/stamps/`. Licence: **GNU GPL, version 2 or later** (GPL-2), the licence
of the stamps; these derived images are under the same licence, not under the course's MIT
licence. `LICENSE-tuxpaint-stamps.txt` holds the package's copyright file and the GPL-2 text.
Credits: `CREDITS-tuxpaint-stamps.txt` is the upstream change log, which names who drew or
photographed each stamp (for example the San Francisco Zoo birds and animals by Bill Kendrick).
The original PNG files (the preferred form for modifying them) are in Debian's package and
its source package `tuxpaint-stamps`; `MANIFEST.csv` gives, for every JPEG, the source path
inside the package and the sha256 of both files.

## What was kept (the exclusion rule)
1. PNG stamps only: the `.svg` stamps are vector drawings.
2. Nothing under a folder named {', '.join(f'`{f}`' for f in EXCLUDED_FOLDERS)}: drawings, a
   teddy bear (not a mammal) and an artificial flower.
3. No `*_mirror*` file: those are left-right flipped copies of another stamp.
4. These files, checked by eye:

| File | Why it is left out |
|---|---|
{files}

`military/vehicles/` joins `vehicles/` so that the smallest class still has 18 photos:
5 test + 3 validation + up to 10 training photos per class.

## How each image is made
Alpha composited on white, cropped to the visible object, padded to a square with white,
resized to 224 x 224 with Pillow's LANCZOS filter, saved as baseline JPEG (quality 90,
4:2:0 chroma subsampling, no EXIF or other metadata). The file name is the stamp's name in
lower case. Small stamps (the apples are about 50 pixels wide) are enlarged and look soft.

## Regenerate
On Debian or Ubuntu: `sudo apt-get install tuxpaint-stamps-default`, then
`python tools/build_photos.py` from the course's folder. Running it again changes nothing;
`tests/test_photos.py` checks that it reproduces the committed files. Elsewhere, restore
damaged files with `git checkout helpers/photos_data`; `helpers.photos.verify_photos()` checks them.
"""


def build(
    stamps: Path = DEFAULT_STAMPS,
    out: Path = DEFAULT_OUT,
    doc: Path = DEFAULT_DOC,
    gpl: Path = DEFAULT_GPL,
) -> dict[str, int]:
    """Write (or confirm) the dataset under ``out``; return ``{"written": n, "removed": m, "kept": k}``."""
    stamps, out = Path(stamps), Path(out)
    kept = kept_stamps(stamps)
    rows: list[dict[str, str]] = []
    written = removed = 0
    wanted: set[Path] = set()
    for name, sources in kept.items():
        seen: dict[str, Path] = {}
        for source in sources:
            file_name = output_name(source)
            if file_name in seen:
                raise ValueError(f"{source} and {seen[file_name]} would both become {name}/{file_name}")
            seen[file_name] = source
            payload = jpeg_bytes(to_photo(source))
            target = out / "images" / name / file_name
            wanted.add(target)
            written += write_if_changed(target, payload)
            rows.append({
                "file": f"images/{name}/{file_name}",
                "class": name,
                "source": source.relative_to(stamps).as_posix(),
                "sha256": hashlib.sha256(payload).hexdigest(),
                "source_sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
            })
    images = out / "images"
    for stale in sorted(images.glob("*/*.jpg")):
        if stale not in wanted:
            stale.unlink()
            removed += 1
    for folder in sorted(images.iterdir()):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    rows.sort(key=lambda row: row["file"])
    manifest = io.StringIO(newline="")
    writer = csv.DictWriter(manifest, fieldnames=MANIFEST_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    doc = Path(doc)
    texts = {
        "MANIFEST.csv": manifest.getvalue(),
        "LICENSE-tuxpaint-stamps.txt": license_text(doc, Path(gpl)),
        "CREDITS-tuxpaint-stamps.txt": credits_text(doc),
        "README.md": readme_text(rows, package_version(doc)),
    }
    for file_name, text in texts.items():
        written += write_if_changed(out / file_name, text.encode("utf-8"))
    return {"written": written, "removed": removed, "kept": len(rows)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stamps", type=Path, default=DEFAULT_STAMPS, help="the package's stamps folder")
    parser.add_argument("--doc", type=Path, default=DEFAULT_DOC, help="the package's doc folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write (default helpers/photos_data)")
    args = parser.parse_args(argv)
    try:
        result = build(args.stamps, args.out, args.doc)
    except ValueError as err:
        print(f"build_photos: {err}", file=sys.stderr)
        return 1
    print(
        f"{result['kept']} photos in {args.out}: {result['written']} files written, "
        f"{result['removed']} removed" + (" (already up to date)" if not result["written"] + result["removed"] else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
