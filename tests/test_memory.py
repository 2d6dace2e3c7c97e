"""engine/memory.py: Arrow's buffers from the system allocator for a run over columns, unless the
user chose Arrow's allocator. Each check runs in a fresh process: the setting is process-wide."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pa = pytest.importorskip("pyarrow")

ROOT = Path(__file__).resolve().parent.parent


def python(code: str, **env) -> str:
    environ = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    environ.update(env)
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env=environ,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def other_backend() -> str:
    """An Arrow allocator other than the system's that this pyarrow was built with."""
    for name in ("jemalloc", "mimalloc"):
        try:
            getattr(pa, f"{name}_memory_pool")()
            return name
        except (NotImplementedError, AttributeError):
            continue
    pytest.skip("this pyarrow has no allocator but the system's")


def test_a_batch_run_puts_arrow_on_the_system_allocator(tmp_path):
    source = tmp_path / "cases.csv"
    source.write_text("specialty,sector,optam,patients_mt,file_active\n"
                      "medecine_generale,1,false,1200,1500\n", encoding="utf-8")
    out = python(f"""
        import datetime as dt
        import pyarrow as pa
        from engine.batch import run_file
        run_file({str(source)!r}, dt.date(2025, 6, 1), {str(tmp_path / 'out.parquet')!r}, progress=False)
        print(pa.default_memory_pool().backend_name)
    """)
    assert out == "system"
    assert (tmp_path / "out.parquet").exists()


def test_the_setting_is_made_once_and_says_so():
    assert python("""
        from engine import memory
        print(memory.arrow_on_system_allocator(), memory.arrow_on_system_allocator())
    """) == "True True"


def test_a_user_s_choice_of_arrow_allocator_stands():
    chosen = other_backend()
    out = python("""
        import pyarrow as pa
        from engine import memory
        memory.tune()
        print(memory.arrow_on_system_allocator(), pa.default_memory_pool().backend_name)
    """, ARROW_DEFAULT_MEMORY_POOL=chosen)
    assert out == f"False {chosen}"


@pytest.mark.skipif(not hasattr(os, "confstr") or "glibc" not in (os.confstr("CS_GNU_LIBC_VERSION") or ""),
                    reason="malloc_trim is glibc's")
def test_the_free_pages_kept_for_the_next_chunk_are_given_back_between_chunks():
    # with the thresholds tune() sets, 200 MiB freed stay in the process (reused by the next
    # chunk's columns); give_back(), called between chunks, returns them to the system
    out = python("""
        from engine import memory
        def rss():
            return int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0]) // 1024
        memory.tune()
        before = rss()
        blocks = [bytearray(b"x" * (1 << 20)) for _ in range(200)]
        del blocks
        kept = rss() - before
        print(kept >= 150, memory.give_back(), rss() - before < kept - 150)
    """)
    assert out == "True True True"
