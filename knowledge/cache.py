"""A cache of validated content between starts, so a restart does not validate it again.

Loading and validating every content file takes about a second; the bot restarts far more
often than its content changes. The cache is a pickle of what a successful load built, in a
file named by a key: a hash of every source file's path and bytes (the content files and the
code that reads them) and of the Python and library versions. So:

- a cached result exists only for exactly those bytes, and is written only after the load
  succeeded: content that fails validation is never read from the cache, it fails at load
  with its file and line as before;
- any change to a content file, to the loading code or to a library changes the key, so the
  cache is stale and the content is loaded, validated and cached again;
- a cache file that cannot be read or unpickled is ignored (and replaced by a new load).

The file is written to a temporary name and renamed, so a crash never leaves half a file
under the key's name. Only the folder's owner should be able to write to it: unpickling
runs code, as loading the bot's own modules does.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import sys
import tempfile
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
# Bumped when the cache's own file layout changes.
CACHE_FORMAT = 1
PREFIX = "content-"
SUFFIX = ".pickle"
# Cache files kept in the folder (newest first): the shipped content and a test set or two.
KEEP = 4
# Libraries whose behaviour or pickled layout is baked into a loaded knowledge base.
LIBRARIES = ("pydantic", "pydantic-core", "PyYAML", "snowballstemmer", "text2num", "rapidfuzz")


def source_key(sources: Iterable[Path], libraries: Iterable[str] = LIBRARIES) -> str:
    """A hash of every file under the source folders (or of a source file): its absolute path
    and bytes, in a fixed order; and of the Python and library versions."""
    digest = hashlib.sha256(f"format {CACHE_FORMAT}\n{sys.version}\n".encode())
    for library in libraries:
        try:
            version = metadata.version(library)
        except metadata.PackageNotFoundError:
            version = "absent"
        digest.update(f"{library} {version}\n".encode())
    for source in sources:
        root = source.resolve()
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for path in files:
            if "__pycache__" in path.parts:
                continue
            data = path.read_bytes()
            digest.update(f"{path} {len(data)}\n".encode())
            digest.update(data)
    return digest.hexdigest()


def cache_file(folder: Path, key: str) -> Path:
    return folder / f"{PREFIX}{key}{SUFFIX}"


def load_cached(folder: Path | None, key: str, build: Callable[[], T], kind: type[T]) -> T:
    """What `build()` returns, read from the cache in `folder` if it holds one for `key`, else
    built and then cached (best effort: a folder that cannot be written only costs the next
    start a new build). `folder=None` always builds. Whatever `build` raises is raised."""
    if folder is None:
        return build()
    path = cache_file(folder, key)
    cached = _read(path, key, kind)
    if cached is not None:
        return cached
    value = build()
    _write(folder, path, key, value)
    return value


def _read(path: Path, key: str, kind: type[T]) -> T | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        log.warning("content cache %s unreadable, loading the content: %s", path, error)
        return None
    try:
        # Our own file, named by the hash of what it was built from (see the module docstring).
        stored_key, value = pickle.loads(data)  # noqa: S301
    # A damaged or foreign pickle can fail in many ways (EOFError, UnpicklingError, a missing
    # class, a bad tuple…); any of them means: build anew.
    except Exception as error:  # noqa: BLE001
        log.warning("content cache %s damaged, loading the content: %r", path, error)
        return None
    if stored_key != key or not isinstance(value, kind):
        log.warning("content cache %s holds something else, loading the content", path)
        return None
    return value


def _write(folder: Path, path: Path, key: str, value: object) -> None:
    temporary: Path | None = None
    try:
        # Not its parents: beside the database, a missing folder is for the database to report.
        folder.mkdir(exist_ok=True)
        data = pickle.dumps((key, value), protocol=pickle.HIGHEST_PROTOCOL)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".tmp-", delete=False) as out:
            temporary = Path(out.name)
            out.write(data)
        temporary.replace(path)
        _prune(folder)
    except (OSError, pickle.PicklingError) as error:
        log.warning("could not write the content cache in %s: %s", folder, error)
        if temporary is not None:
            temporary.unlink(missing_ok=True)


def _prune(folder: Path) -> None:
    """Remove all but the newest cache files (each content change leaves one behind)."""
    files = sorted(
        folder.glob(f"{PREFIX}*{SUFFIX}"), key=lambda p: p.stat().st_mtime_ns, reverse=True
    )
    for old in files[KEEP:]:
        old.unlink(missing_ok=True)
