"""safe_extract refuses every kind of member that could escape the destination."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from orchestrator.packaging import UnsafeArchiveError, safe_extract


def craft(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
    return path


def member(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info


def test_extracts_plain_files_and_dirs(tmp_path: Path) -> None:
    archive = craft(
        tmp_path / "ok.tar.gz",
        [(member("code", tarfile.DIRTYPE), None), (member("code/a.py"), b"x = 1\n"), (member("w.bin"), b"\0\1")],
    )
    written = safe_extract(archive, tmp_path / "out")
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in written) == ["code/a.py", "w.bin"]
    assert (tmp_path / "out" / "code" / "a.py").read_text() == "x = 1\n"
    assert (tmp_path / "out" / "w.bin").stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        ((member("/etc/evil"), b"x"), "/etc/evil: absolute path"),
        ((member("../evil"), b"x"), "../evil: path with '..'"),
        ((member("code/../../evil"), b"x"), "code/../../evil: path with '..'"),
        ((member("link", tarfile.SYMTYPE, "/etc/passwd"), None), "link: symbolic link (to /etc/passwd)"),
        ((member("hard", tarfile.LNKTYPE, "code/a.py"), None), "hard: hard link (to code/a.py)"),
        ((member("dev", tarfile.CHRTYPE), None), "dev: device file"),
        ((member("blk", tarfile.BLKTYPE), None), "blk: device file"),
        ((member("fifo", tarfile.FIFOTYPE), None), "fifo: FIFO"),
    ],
    ids=["absolute", "dotdot", "nested-dotdot", "symlink", "hardlink", "chardev", "blockdev", "fifo"],
)
def test_refuses_each_kind_of_bad_member(
    tmp_path: Path, bad: tuple[tarfile.TarInfo, bytes | None], expected: str
) -> None:
    archive = craft(tmp_path / "bad.tar.gz", [(member("code/a.py"), b"x"), bad])
    with pytest.raises(UnsafeArchiveError) as info:
        safe_extract(archive, tmp_path / "out")
    assert info.value.problems == [expected]
    assert not (tmp_path / "out" / "code").exists()  # nothing written


def test_lists_every_bad_member(tmp_path: Path) -> None:
    archive = craft(tmp_path / "bad.tar", [(member("../a"), b"x"), (member("l", tarfile.SYMTYPE, "x"), None)])
    with pytest.raises(UnsafeArchiveError) as info:
        safe_extract(archive, tmp_path / "out")
    assert len(info.value.problems) == 2
    assert str(info.value).startswith(f"refusing to extract {archive}: ../a: path with '..'; l: symbolic link")


def test_size_limit(tmp_path: Path) -> None:
    archive = craft(tmp_path / "big.tar.gz", [(member("a"), b"x" * 100)])
    with pytest.raises(UnsafeArchiveError, match="exceeds the limit of 10"):
        safe_extract(archive, tmp_path / "out", max_bytes=10)


def test_not_a_tar(tmp_path: Path) -> None:
    path = tmp_path / "x.tar.gz"
    path.write_bytes(b"not a tar")
    with pytest.raises(UnsafeArchiveError, match="not a readable tar archive"):
        safe_extract(path, tmp_path / "out")


def test_dot_slash_names_from_tar_czf_dot(tmp_path: Path) -> None:
    """`tar czf model.tar.gz .` writes "./code/..." names: they are safe."""
    archive = craft(tmp_path / "dot.tar.gz", [(member(".", tarfile.DIRTYPE), None), (member("./code/a.py"), b"x")])
    safe_extract(archive, tmp_path / "out")
    assert (tmp_path / "out" / "code" / "a.py").read_bytes() == b"x"


def test_refuses_writing_through_a_symlink_already_in_dest(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "code").symlink_to(tmp_path)
    archive = craft(tmp_path / "a.tar.gz", [(member("code/evil.py"), b"x")])
    with pytest.raises(UnsafeArchiveError, match="code/evil.py: would be written outside the destination"):
        safe_extract(archive, dest)
    assert not (tmp_path / "evil.py").exists()
