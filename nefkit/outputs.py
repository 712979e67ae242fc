"""Files nefkit writes are written whole or not at all, by a renderer named if it fails.

Every output goes through :func:`written_whole`: the writer gets a path of the same name in a
new hidden folder beside the target, so side files a renderer names after it (a CSV's
``-changes.csv`` and ``-provenance.json``) are staged too; when the writer returns they are
moved into place, and when it fails (or the user presses Ctrl-C) they are removed. A reader of
the folder never sees a partial or header-only file.

Files that can hold client data from the clinic's database are written ``private``: readable
and writable by their owner only (0600), whatever the umask. The staging folder is its owner's
alone (``mkdtemp`` makes it 0700), so nobody else can open a file in it while it is written;
each file is made 0600 there, before it is moved into place. Side files a renderer adds are
covered as the main file is, with no window in which any is readable by others.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import NefkitError, blamed

if TYPE_CHECKING:
    from .documents import Document
    from .registry import Entry, Registry
    from .renderers import Renderer, RenderOptions


OWNER_ONLY = 0o600


@contextmanager
def written_whole(path: Path, private: bool = False) -> Iterator[Path]:
    """A staging path for ``path``; what is written there is moved beside ``path`` at the end,
    with ``private`` as its owner's alone (see the module's description)."""
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        raise NefkitError(
            f"{path}: the folder {folder} does not exist; create it first, or write elsewhere"
        )
    if path.is_dir():
        raise NefkitError(f"{path} is a folder; give a file name to write")
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=folder))
    except OSError as e:
        raise NefkitError(f"{path}: cannot write in {folder} ({e.strerror})") from None
    try:
        try:
            yield staging / path.name
        except OSError as e:
            if e.filename and Path(e.filename).parent == staging:
                raise NefkitError(f"{path}: cannot be written ({e.strerror})") from e
            raise
        for made in sorted(staging.iterdir()):
            try:
                if private:
                    os.chmod(made, OWNER_ONLY)
                os.replace(made, folder / made.name)
            except OSError as e:
                raise NefkitError(f"{folder / made.name}: cannot be written ({e.strerror})") from e
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def writer_for(
    registry: Registry, path: Path, format: str | None, kind: type[Document]
) -> Entry[Renderer]:
    """The renderer for ``path``'s extension (or ``format``), which must write ``kind``."""
    entry = registry.renderer_entry_for(path, format)
    if not issubclass(kind, entry.value.writes):
        kinds = ", ".join(k.noun for k in entry.value.writes)
        raise NefkitError(
            f"the {entry.value.format} format does not write {kind.noun} (it writes {kinds});"
            " choose another output file name or --format"
        )
    return entry


def write_output(
    registry: Registry,
    path: Path,
    format: str | None,
    document: Document,
    options: RenderOptions | None = None,
    write: Callable[[Renderer, Path, RenderOptions], None] | None = None,
    private: bool = False,
) -> None:
    """Write ``document`` to ``path`` whole, with the renderer for its extension (or
    ``format``), which must write that kind of document. ``write``, when given, does the
    writing instead of the renderer's ``write`` (an engine's native path for scores);
    ``private``: see :func:`written_whole`."""
    from .renderers import RenderOptions

    entry = writer_for(registry, Path(path), format, type(document))
    renderer = entry.value
    # Plugins' template directories reach every document's renderer (register_templates).
    options = (options or RenderOptions()).model_copy(
        update={"plugin_templates": tuple(e.value for e in registry.templates)}
    )
    who = f"renderer '{renderer.format}' from {entry.origin}"
    with written_whole(Path(path), private) as staged, blamed(who, f"writing {path}"):
        if write is not None:
            write(renderer, staged, options)
        else:
            renderer.write(document, staged, options)
