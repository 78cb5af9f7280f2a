"""Checksummed, resumable, mirror-aware downloads and safe archive extraction (stdlib only).

Why not pooch: it downloads whole files again after an interruption; a 1.2 GB archive over a slow link needs HTTP
Range resumption, so this small module does what mirdata's ``RemoteFileMetadata`` downloads do: fetch into
``<name>.part`` (resuming with ``Range: bytes=N-`` when a partial file exists), verify the checksum, and only then
rename to the final name, so an interrupted or corrupt download never leaves a file that looks complete.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from ..errors import MusiclustError

log = logging.getLogger(__name__)
CHUNK = 1 << 16


@dataclass(frozen=True)
class RemoteFile:
    """A file to fetch: its name, candidate URLs (tried in order) and checksum (``md5:...`` or ``sha256:...``,
    or None to record the sha256 of what arrived)."""

    filename: str
    urls: tuple[str, ...]
    checksum: str | None = None


def file_hash(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _matches(path: Path, checksum: str | None) -> bool:
    if checksum is None:
        return True
    algorithm, _, expected = checksum.partition(":")
    return file_hash(path, algorithm) == expected.lower()


def _fetch(url: str, part: Path, progress: bool, timeout: float) -> None:
    """Download ``url`` into ``part``, resuming from its current size when the server honours Range."""
    from tqdm.auto import tqdm

    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "musiclust"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # the partial file is already complete
            return
        raise
    with response:
        resumed = have and response.status == 206
        if have and not resumed:
            log.info("server ignored the Range request; starting %s again", url)
            have = 0
        length = response.headers.get("Content-Length")
        total = (int(length) + have) if length is not None else None
        with (
            open(part, "ab" if resumed else "wb") as f,
            tqdm(
                total=total,
                initial=have,
                unit="B",
                unit_scale=True,
                desc=part.name.removesuffix(".part"),
                disable=not progress,
            ) as bar,
        ):
            while True:
                try:
                    chunk = response.read(CHUNK)
                except (http.client.IncompleteRead, ConnectionError, TimeoutError) as exc:
                    if isinstance(exc, http.client.IncompleteRead) and exc.partial:
                        f.write(exc.partial)
                    break
                if not chunk:
                    break
                f.write(chunk)
                bar.update(len(chunk))
        if total is not None and part.stat().st_size < total:
            raise MusiclustError(
                f"download of {url} stopped early ({part.stat().st_size} of {total} bytes); "
                f"run the same command again to resume"
            )


def download(
    remote: RemoteFile, dest_dir: str | Path, force: bool = False, progress: bool = True, timeout: float = 60.0
) -> Path:
    """Fetch ``remote`` into ``dest_dir`` and return its path; a verified existing file is kept (idempotent).

    Mirrors are tried in order; a mirror that fails (404, refused connection, wrong checksum) falls through to the
    next. A wrong checksum deletes the partial file, so nothing incomplete stays behind under the final name.
    """
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    final = dest_dir / remote.filename
    part = dest_dir / (remote.filename + ".part")
    if final.exists() and not force:
        if _matches(final, remote.checksum):
            log.info("%s is already downloaded and verified", final)
            return final
        final.unlink()
    if force and part.exists():
        part.unlink()
    errors = []
    for url in remote.urls:
        try:
            _fetch(url, part, progress, timeout)
        except (urllib.error.URLError, OSError, MusiclustError) as exc:
            reason = getattr(exc, "reason", None) or getattr(exc, "code", None) or exc
            errors.append(f"{url}: {reason}")
            log.warning("mirror failed: %s: %s", url, reason)
            if isinstance(exc, MusiclustError):  # interrupted: keep the partial file for a later resume
                raise
            continue
        if not _matches(part, remote.checksum):
            part.unlink()
            errors.append(f"{url}: checksum mismatch (expected {remote.checksum})")
            continue
        os.replace(part, final)
        return final
    raise MusiclustError(f"could not download {remote.filename} from any mirror: " + "; ".join(errors))


def _inside(root: Path, name: str) -> bool:
    target = (root / name).resolve()
    return target == root or root in target.parents


def extract(archive: str | Path, dest: str | Path) -> list[str]:
    """Extract a .tar(.gz) or .zip archive into ``dest`` -- all of it or nothing -- and return the member names.

    Entries that would land outside ``dest`` (absolute paths, ``..``, links pointing out) are refused. The archive is
    extracted into a temporary folder beside ``dest`` and every member is verified on the way (zip CRCs; a tar read to
    its end), and only then moved into ``dest``: a truncated or corrupt archive gives a one-line error and leaves
    ``dest`` as it was.
    """
    archive, dest = Path(archive), Path(dest)
    if not archive.is_file():
        raise MusiclustError(f"archive {archive} does not exist")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.extracting-", dir=dest.parent))
    try:
        names = _extract_verified(archive, staging)
        dest.mkdir(parents=True, exist_ok=True)
        for entry in sorted(staging.iterdir()):
            target = dest / entry.name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
            os.replace(entry, target)
        return names
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _extract_verified(archive: Path, staging: Path) -> list[str]:
    root = staging.resolve()
    if zipfile.is_zipfile(archive):
        try:
            with zipfile.ZipFile(archive) as zf:
                names = zf.namelist()
                bad = [n for n in names if not _inside(root, n)]
                if bad:
                    raise MusiclustError(
                        f"refusing to extract {archive.name}: entry {bad[0]!r} escapes the target folder"
                    )
                broken = zf.testzip()  # reads every member and checks its CRC
                if broken is not None:
                    raise MusiclustError(
                        f"{archive.name} is corrupt: member {broken!r} fails its CRC check; "
                        f"nothing was extracted (download or copy the archive again)"
                    )
                zf.extractall(staging)
                return names
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, zlib.error) as exc:
            raise MusiclustError(
                f"{archive.name} is damaged ({str(exc).splitlines()[0][:120]}); nothing was "
                f"extracted (download or copy the archive again)"
            ) from None
    with open(archive, "rb") as f:
        head = f.read(4)
    if archive.suffix.lower() == ".zip" or head == b"PK\x03\x04":
        raise MusiclustError(
            f"{archive.name} is a truncated or damaged zip (no central directory); nothing was "
            f"extracted (download or copy the archive again)"
        )
    try:
        is_tar = tarfile.is_tarfile(archive)
    except (OSError, EOFError):
        is_tar = False
    if not is_tar:
        if archive.name.lower().endswith((".tar", ".tar.gz", ".tgz")):
            raise MusiclustError(
                f"{archive.name} is a truncated or damaged tar archive; nothing was extracted "
                f"(download or copy the archive again)"
            )
        raise MusiclustError(f"{archive} is neither a zip nor a tar archive")
    try:
        with tarfile.open(archive) as tf:
            members = tf.getmembers()  # reads the whole (decompressed) archive: a truncated one fails here
            for m in members:
                if not _inside(root, m.name) or (
                    (m.issym() or m.islnk()) and not _inside(root, os.path.join(os.path.dirname(m.name), m.linkname))
                ):
                    raise MusiclustError(
                        f"refusing to extract {archive.name}: entry {m.name!r} escapes the target folder"
                    )
            tf.extractall(staging, filter="data")  # the stdlib's own safety filter, as a second line of defence
            return [m.name for m in members]
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise MusiclustError(
            f"{archive.name} is truncated or damaged ({str(exc).splitlines()[0][:120]}); nothing "
            f"was extracted (download or copy the archive again)"
        ) from None
