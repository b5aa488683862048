"""llama.cpp built with -march=native refuses to load on a CPU without those instructions.

`setup.sh` records the features it built for in `<venv>/.llama-cpu`; a venv carried to a
machine that lacks one of them gets a one-line error that says to run ./setup.sh, instead
of dying on an illegal instruction in the middle of an answer.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from rag.llamacpp_chat import BuiltForOtherCPUError, check_build_cpu

CPUINFO = Path("/proc/cpuinfo")
pytestmark = pytest.mark.skipif(not CPUINFO.exists(), reason="needs /proc/cpuinfo (Linux)")


def _flags() -> list[str]:
    return re.search(r"^(?:flags|Features)\s*:(.*)$", CPUINFO.read_text(), re.M).group(1).split()


def test_a_build_for_this_cpu_loads(tmp_path: Path) -> None:
    marker = tmp_path / ".llama-cpu"
    marker.write_text("x86_64-0123456789 " + " ".join(_flags()[:5]) + "\n")
    check_build_cpu(marker)


def test_a_build_for_another_cpu_is_refused_with_what_to_do(tmp_path: Path) -> None:
    marker = tmp_path / ".llama-cpu"
    marker.write_text("x86_64-0123456789 " + _flags()[0] + " avx1024_imaginary\n")
    with pytest.raises(BuiltForOtherCPUError, match=r"avx1024_imaginary.*run \./setup\.sh"):
        check_build_cpu(marker)


def test_no_marker_means_a_portable_build(tmp_path: Path) -> None:
    check_build_cpu(tmp_path / "absent")


def test_this_venv_matches_this_machine() -> None:
    """The venv the tests run in was set up for this machine (setup.sh rebuilds otherwise)."""
    check_build_cpu(Path(sys.prefix) / ".llama-cpu")
