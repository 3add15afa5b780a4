"""Peer-supplied file names: hostile input is neutralised or refused, never escapes the folder."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2pchat.transfer import (
    MAX_PART_BYTES,
    UnsafeName,
    resolve_inside,
    safe_relative_path,
    unique_path,
)
from p2pchat.transfer.names import truncate_name


def assert_safe(path: PurePosixPath) -> None:
    assert not path.is_absolute()
    assert path.parts, "empty path"
    for part in path.parts:
        assert part not in ("", ".", "..")
        assert "\\" not in part and "/" not in part and ":" not in part
        assert len(part.encode()) <= MAX_PART_BYTES
        assert not part.endswith((".", " "))
        assert not any(unicodedata.category(ch).startswith("C") for ch in part)


@pytest.mark.parametrize(
    ("offered", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("dir/sub/file", "dir/sub/file"),
        ("dir\\sub\\file", "dir/sub/file"),
        (".bashrc", ".bashrc"),
        ("../../etc/passwd", "etc/passwd"),
        ("/etc/passwd", "etc/passwd"),
        ("//server/share/x", "server/share/x"),
        ("C:\\x", "x"),
        ("c:/Windows/System32/cmd.exe", "Windows/System32/cmd.exe"),
        ("a/../../b", "a/b"),
        ("./a/./b", "a/b"),
        ("a//b", "a/b"),
        ("name.", "name"),
        ("name. . ", "name"),
        ("dir./file ", "dir/file"),
        ("CON", "_CON"),
        ("con.txt", "_con.txt"),
        ("Aux.tar.gz", "_Aux.tar.gz"),
        ("NUL ", "_NUL"),
        ("COM1", "_COM1"),
        ("lpt9.log", "_lpt9.log"),
        ("COM\u00b9", "_COM\u00b9"),
        ("dir/PRN/x", "dir/_PRN/x"),
        ("CONSOLE.txt", "CONSOLE.txt"),
        ("COM10", "COM10"),
        ("a\x1b]0;x\x07b", "a_]0;x_b"),
        ("a\x00b", "a_b"),
        ("line\nbreak", "line_break"),
        ("evil\u202etxt.exe", "evil_txt.exe"),  # right-to-left override (Cf)
        ('a<b>:c"d|e?f*g', "a_b__c_d_e_f_g"),
        ("dir/C:/x", "dir/C_/x"),  # a drive only counts at the start
    ],
)
def test_hostile_names_are_neutralised(offered, expected):
    result = safe_relative_path(offered)
    assert result == PurePosixPath(expected)
    assert_safe(result)


@pytest.mark.parametrize(
    "offered", ["", ".", "..", "/", "\\", "../..", "./.", "...", " ", ". .", "C:", "C:\\", "//"]
)
def test_names_with_nothing_usable_are_refused(offered):
    with pytest.raises(UnsafeName):
        safe_relative_path(offered)


def test_non_text_and_oversized_names_are_refused():
    with pytest.raises(UnsafeName):
        safe_relative_path(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(UnsafeName, match="4096"):
        safe_relative_path("a" * 5000)
    with pytest.raises(UnsafeName, match="deep"):
        safe_relative_path("/".join(["d"] * 100))


def test_long_names_are_cut_to_255_bytes_keeping_the_extension():
    result = safe_relative_path("a" * 300 + ".txt")
    assert len(result.name.encode()) == 255
    assert result.name.endswith("a.txt")
    wide = safe_relative_path("é" * 300 + ".pdf")  # two bytes a character
    assert len(wide.name.encode()) <= 255 and wide.name.endswith(".pdf")
    wide.name.encode().decode()  # cut on a character boundary
    no_ext = safe_relative_path("b" * 300)
    assert no_ext.name == "b" * 255
    huge_ext = safe_relative_path("x." + "e" * 300)  # not a real extension: cut like a name
    assert len(huge_ext.name.encode()) == 255
    assert safe_relative_path("d" * 300 + "/f.txt").parts[0] == "d" * 255


def test_long_name_budget_can_be_tightened():
    result = safe_relative_path("a" * 300 + ".txt", max_part_bytes=245)
    assert len(result.name.encode()) == 245 and result.name.endswith(".txt")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_refused_or_made_safe(tmp_path_factory, text):
    root = tmp_path_factory.getbasetemp()
    try:
        result = safe_relative_path(text)
    except UnsafeName:
        return
    assert_safe(result)
    assert root.resolve() in resolve_inside(root, result).parents


def test_unique_path_numbers_files_and_folders(tmp_path):
    assert unique_path(tmp_path, "report.pdf") == tmp_path / "report.pdf"
    (tmp_path / "report.pdf").write_text("x")
    assert unique_path(tmp_path, "report.pdf") == tmp_path / "report (1).pdf"
    (tmp_path / "report (1).pdf").write_text("x")
    assert unique_path(tmp_path, "report.pdf") == tmp_path / "report (2).pdf"
    (tmp_path / "photos").mkdir()
    assert unique_path(tmp_path, "photos") == tmp_path / "photos (1)"
    (tmp_path / ".bashrc").write_text("x")
    assert unique_path(tmp_path, ".bashrc") == tmp_path / ".bashrc (1)"
    os.symlink(tmp_path / "nowhere", tmp_path / "dangling")
    assert unique_path(tmp_path, "dangling") == tmp_path / "dangling (1)"


def test_unique_path_keeps_numbered_long_names_within_255_bytes(tmp_path):
    name = "n" * 251 + ".txt"
    (tmp_path / name).write_text("x")
    numbered = unique_path(tmp_path, name)
    assert numbered.name.endswith(" (1).txt") and len(numbered.name.encode()) == 255
    numbered.write_text("y")  # the file system accepts it


def test_resolve_inside_allows_plain_and_inner_symlinked_paths(tmp_path):
    root = tmp_path / "downloads"
    (root / "real").mkdir(parents=True)
    os.symlink(root / "real", root / "alias")
    assert resolve_inside(root, "new/file.txt") == root.resolve() / "new" / "file.txt"
    assert resolve_inside(root, "alias/file.txt") == root.resolve() / "real" / "file.txt"


def test_resolve_inside_refuses_symlinks_pointing_outside(tmp_path):
    root, outside = tmp_path / "downloads", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    os.symlink(outside, root / "escape")
    os.symlink("../outside/x", root / "relative-escape")
    os.symlink("/etc/passwd", root / "passwd")
    for rel in ("escape/file", "escape", "relative-escape", "passwd"):
        with pytest.raises(UnsafeName, match="outside"):
            resolve_inside(root, rel)
    for rel in ("../x", "/etc/passwd", "a/../b"):
        with pytest.raises(UnsafeName):
            resolve_inside(root, rel)


def test_resolve_inside_follows_a_symlinked_download_folder(tmp_path):
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "link")
    assert resolve_inside(Path(tmp_path / "link"), "f") == (tmp_path / "real" / "f")


# -- limits and edges found by mutation testing ---------------------------------------------


def test_limits_are_inclusive():
    assert safe_relative_path("a" * 4096) == PurePosixPath(truncate_name("a" * 4096, 255))
    deepest = "/".join(["d"] * 64)
    assert len(safe_relative_path(deepest).parts) == 64
    with pytest.raises(UnsafeName, match="64 folders deep"):
        safe_relative_path(deepest + "/d")
    exact = "é" * 127 + "x"  # 255 bytes: kept whole
    assert truncate_name(exact, 255) == exact
    assert truncate_name(exact + "y", 255) != exact + "y"


def test_device_names_are_caught_with_trailing_spaces_and_double_extensions():
    assert safe_relative_path("CON .txt") == PurePosixPath("_CON .txt")
    assert safe_relative_path("nul.tar.gz") == PurePosixPath("_nul.tar.gz")
    assert safe_relative_path(" CON.txt") == PurePosixPath(" CON.txt")  # a leading space is another name


def test_truncation_keeps_only_the_last_extension_and_short_ones():
    name = "a" * 300 + ".tar.gz"
    assert truncate_name(name, 255) == "a" * 252 + ".gz"  # ".tar" is cut with the stem
    long_ext = "b" * 40 + "." + "c" * 33  # a 34-byte "extension" is part of the name
    assert truncate_name(long_ext, 70) == long_ext[:70]
    within = "b" * 40 + "." + "c" * 31  # 32 bytes: an extension, kept
    assert truncate_name(within, 70) == "b" * 38 + "." + "c" * 31  # 32 of 70 bytes: kept
    assert truncate_name("x" * 10 + ".abcdef", 14) == "x" * 7 + ".abcdef"  # ext up to half the budget
    assert truncate_name("x" * 10 + ".abcdefg", 14) == "x" * 10 + ".abc"
    assert truncate_name("." * 300 + "z", 10) == "_.z"  # only dots before the extension: a placeholder
    assert truncate_name("..ab" + "c" * 300, 10) == "..abcccccc"  # leading dots stay
