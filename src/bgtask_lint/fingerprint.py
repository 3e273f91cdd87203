"""What the caches are keyed on besides their inputs: this copy of the tool's own code.

The version alone is not enough: a checkout between releases, or a patched install, computes
different facts under the same version number, and a cache must never answer for other code.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

from bgtask_lint import __version__

#: A file modified this close to the time its identity (size, mtime, ctime, inode) is recorded is not
#: trusted by that record: it could change again within the same timestamp, unseen (git calls such
#: entries "racily clean"). Whole seconds where the file system keeps whole-second timestamps (FAT
#: keeps two), else a margin over the kernel's timestamp clock tick (1-10 ms).
RACY_NS = 2_000_000_000
RACY_FINE_NS = 100_000_000


def racy(st: os.stat_result, now_ns: int) -> bool:
    """The file changed too recently for its identity to tell it apart from a later change."""
    coarse = st.st_mtime_ns % 1_000_000_000 == 0 and st.st_ctime_ns % 1_000_000_000 == 0
    return max(st.st_mtime_ns, st.st_ctime_ns) > now_ns - (RACY_NS if coarse else RACY_FINE_NS)


#: The modules that per-file facts are computed by (what ``summarize`` imports from the package,
#: and the worker that runs it): facts stay valid while these are unchanged.
FACTS_MODULES = (
    "facts/summarize.py", "facts/walk.py", "models.py", "codec.py", "analysis/vocabulary.py", "pipeline/parse.py", "store.py",
    "fingerprint.py",
)  # fmt: skip


@lru_cache(maxsize=2)
def code_digest(facts_only: bool = False) -> str:
    """The version and a digest of the package's modules (all of them, or those computing facts);
    a few hundred KB are hashed: about a millisecond."""
    h = hashlib.sha256(__version__.encode())
    package = Path(__file__).resolve().parent
    paths = [package / name for name in FACTS_MODULES] if facts_only else sorted(package.rglob("*.py"))
    for path in paths:
        h.update(path.relative_to(package).as_posix().encode() + b"\0")
        try:
            h.update(path.read_bytes())
        except OSError:
            h.update(b"<missing>")
    return f"{__version__}-{h.hexdigest()[:16]}"
