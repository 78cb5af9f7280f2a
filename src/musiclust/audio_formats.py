"""Why an audio file cannot be decoded, in words a user can act on (a leaf module: datasets and features use it).

libsndfile's own messages are misleading for common cases: a file of random bytes or a renamed document can come back
as "does not exist or is not a regular file" or "System error". The file's first bytes say more.
"""

from __future__ import annotations

import os
from pathlib import Path

# Leading bytes of the formats libsndfile decodes here.
_MAGIC = (
    (b"RIFF", "WAV"),
    (b"RIFX", "WAV"),
    (b"RF64", "WAV"),
    (b"FORM", "AIFF"),
    (b".snd", "AU"),
    (b"fLaC", "FLAC"),
    (b"OggS", "OGG"),
    (b"ID3", "MP3"),
)


def sniff_format(head: bytes) -> str | None:
    """The container a file's first bytes announce (``"WAV"``, ``"MP3"``, ...), or None."""
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0:  # an MPEG audio frame sync word
        return "MP3"
    return None


def unreadable_reason(path: str | Path, error: Exception | None = None) -> str:
    """One line saying why ``path`` could not be decoded (``error``: what the decoder raised, if anything)."""
    path = Path(path)
    detail = str(error).splitlines()[0][:160] if error is not None else ""
    if not path.exists():
        return "file does not exist"
    if not path.is_file():
        return "not a regular file"
    if not os.access(path, os.R_OK):
        return "cannot read file (permission denied)"
    size = path.stat().st_size
    if size == 0:
        return "empty file (0 bytes)"
    with open(path, "rb") as f:
        head = f.read(16)
    fmt = sniff_format(head)
    if fmt is None:
        return (
            f"not a recognised audio format: its first bytes match no WAV, AIFF, AU, FLAC, OGG or MP3 header "
            f"({size} bytes)"
        )
    return f"damaged or truncated {fmt} file" + (f" ({detail})" if detail else "")
