"""What BGT1xx messages say: the costliest witness, the cost class, awaited helpers, the library call."""

from __future__ import annotations

from pathlib import Path

import pytest

from bgtask_lint.config import Config
from bgtask_lint.pipeline.run import run

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _messages(path: Path) -> dict[int, tuple[str, str, str | None]]:
    result = run([str(path)], Config(), use_cache=False)
    return {d.location.row: (d.code, d.message, d.no_fix_reason) for d in result.diagnostics}


@pytest.fixture(scope="module")
def metadata() -> dict[int, tuple[str, str, str | None]]:
    return _messages(FIXTURES / "blocking_call_in_async_path" / "not_file_metadata_through_helpers.py")


def test_the_witness_is_the_costliest_call_the_path_reaches(metadata) -> None:
    (code, message, _), = [m for m in metadata.values() if "publish" in m[1]]
    # ``publish`` also reaches ``os.path.exists``/``os.makedirs`` first, in fewer steps
    assert code == "BGT102"
    assert message == (
        "async handler `publish_album` makes blocking call `publish(...)` (file): publish -> shutil.copyfile; "
        "it blocks the event loop while it runs"
    )


def test_file_metadata_standing_in_the_async_def_is_named_so(metadata) -> None:
    (code, message, _), = [m for m in metadata.values() if "is_dir" in m[1]]
    assert code == "BGT102" and "(file metadata)" in message


def test_open_and_its_read_are_one_finding_naming_the_read() -> None:
    found = _messages(FIXTURES / "blocking_call_in_async_path" / "open_file_read.py")
    assert [m[1] for m in found.values()] == [
        "async handler `motd` makes blocking call `open(...)` (file): open -> open.read; it blocks the event loop while it runs",
        # work of another kind on the opened file is a finding of its own
        "async handler `publish_motd` makes blocking call `open(...)` (file); it blocks the event loop while it runs",
        "async handler `publish_motd` makes blocking call `requests.post(...)` (network); it blocks the event loop while it runs",
    ]


def test_an_awaited_helper_is_said_to_block_and_gets_fitting_advice() -> None:
    found = _messages(FIXTURES / "project_wide" / "async_helper_wraps_sync_call")
    awaited = [m for m in found.values() if "ping_geo" in m[1]]
    assert awaited and awaited[0][1].startswith("async handler `locate` awaits `ping_geo(...)`, which makes a blocking call")
    # no "make the function a plain `def`": the handler is not where it blocks
    assert all("make the function a plain `def`" not in (m[2] or "") for m in awaited)


def test_a_chain_names_the_library_call_not_the_result_methods(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "from fastapi import Depends, FastAPI\n"
        "from sqlalchemy.orm import Session\n"
        "\n"
        "app = FastAPI()\n"
        "\n"
        "\n"
        "def count_users(db: Session) -> int:\n"
        "    return len(db.execute('SELECT 1').scalars().all())\n"
        "\n"
        "\n"
        "@app.get('/users/count')\n"
        "async def users(db: Session = Depends()):\n"
        "    return count_users(db)\n"
    )
    (message,) = [m[1] for m in _messages(tmp_path).values()]
    assert "count_users -> sqlalchemy.orm.Session.execute;" in message, message
