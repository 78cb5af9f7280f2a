"""Keeping TensorFlow's C++ start-up lines (absl, "failed call to cuInit", oneDNN notices) off the user's console.

They must be silenced through the environment *before* TensorFlow is first imported, in the main process and in every
worker (workers inherit the environment). Python warnings and musiclust's own log messages are untouched.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile


def quiet_tensorflow() -> None:
    """Set TensorFlow's and absl's C++ log thresholds to errors-that-stop-the-program only (a user can override)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # 3: no INFO, WARNING or ERROR lines from the C++ runtime
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")


# The C++ runtime's lines: absl/glog format "I0000 00:00:1712.. 123 file.cc:31] ...", the older
# "2024-01-01 12:00:00.000000: E external/...] ...", and absl's note about logging before its initialization.
_CPP_LINE = re.compile(
    r"^(?:[IWEF]\d{4} \d\d:\d\d:[\d.]+\s+\d+ \S+:\d+\]"
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] \S+:\d+\]"
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|To enable the following instructions: .*rebuild TensorFlow with the appropriate compiler)"
)


def without_cpp_log_lines(text: str) -> list[str]:
    """The non-empty lines of ``text`` that are not TensorFlow/absl C++ log lines (Python warnings are kept)."""
    return [ln for ln in text.splitlines() if ln.strip() and not _CPP_LINE.match(ln)]


def import_tensorflow():
    """Import TensorFlow (and discover its devices) with the C++ runtime's start-up lines held back.

    TensorFlow >= 2.16 writes some lines ("Could not find cuda drivers", oneDNN notices, "failed call to cuInit")
    through absl before its log level applies, so the environment alone cannot silence them. While TensorFlow loads,
    file descriptor 2 goes to a temporary file; afterwards every line that is not such a C++ log line (a Python
    warning, say) is written to stderr, so real warnings still reach the user.
    """
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    quiet_tensorflow()
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            import tensorflow as tf

            try:
                tf.config.list_physical_devices()  # device discovery (where cuInit is called) happens here
            except Exception:  # noqa: BLE001 - a machine without drivers is normal; the error line is noise
                pass
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        kept = without_cpp_log_lines(tmp.read().decode(errors="replace"))
    if kept:
        print("\n".join(kept), file=sys.stderr)
    return tf


def import_umap():
    """``import umap`` -- which imports TensorFlow when it is installed (for its parametric variant), so TensorFlow is
    imported first through `import_tensorflow`, with its start-up lines held back."""
    import_tensorflow()
    import umap

    if not _KERNELS_CACHED:
        _cache_compiled_kernels(("umap", "pynndescent"))
        _KERNELS_CACHED.append(True)
    return umap


_KERNELS_CACHED: list = []  # non-empty once `_cache_compiled_kernels` ran in this process


def _cache_compiled_kernels(packages: tuple[str, ...]) -> None:
    """Let numba keep the machine code of ``packages``' jitted functions on disk (what ``cache=True`` does).

    umap-learn leaves about half of its kernels uncached, so every process compiled them again on its first UMAP:
    about 8-13 s of one core per run, for a 0.3-s embedding of a few hundred tracks. Cached, a later process loads
    them in well under a second; the results are the same (numba keys the cache by the function's source and
    signature, and recompiles when either changes)."""
    try:
        from numba.core.caching import NullCache
        from numba.core.registry import CPUDispatcher
    except ImportError:  # another numba layout: compiling each time is slower, not wrong
        return
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] not in packages or module is None:
            continue
        for obj in list(vars(module).values()):
            if isinstance(obj, CPUDispatcher) and isinstance(obj._cache, NullCache):
                try:
                    obj.enable_caching()
                except Exception:  # noqa: BLE001 - e.g. an unwritable cache location: compile as before
                    pass
