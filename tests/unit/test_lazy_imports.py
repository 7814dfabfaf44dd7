"""The SDK's stand-in modules (prism_plugin.lazy): nothing imported until an attribute is asked
for, a warm-up on a thread of its own, and threads that ask during that import wait for it."""

from __future__ import annotations

import sys
import threading

from prism_plugin import lazy

# Importing it takes a while, so other threads meet it half-imported unless they wait.
SLOW_MODULE = "import time\ntime.sleep(0.2)\nVALUE = 42\n"


def test_a_stand_in_imports_its_module_on_first_attribute_access(tmp_path, monkeypatch):
    (tmp_path / "prism_lazy_probe_a.py").write_text("VALUE = 7\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    stand_in = lazy.module("prism_lazy_probe_a")
    assert "prism_lazy_probe_a" not in sys.modules, "module(): got imported at once, want imported on first use"
    assert stand_in.VALUE == 7
    assert "prism_lazy_probe_a" in sys.modules


def counted_threads(monkeypatch) -> list[str]:
    """The names of the threads prism_plugin.lazy starts from now on."""
    started: list[str] = []
    real = threading.Thread

    def thread(*args, **kwargs):
        started.append(kwargs.get("name", ""))
        return real(*args, **kwargs)

    monkeypatch.setattr(lazy.threading, "Thread", thread)
    return started


def test_threads_asking_during_a_warm_up_get_the_whole_module(tmp_path, monkeypatch):
    (tmp_path / "prism_lazy_probe_b.py").write_text(SLOW_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    started = counted_threads(monkeypatch)
    stand_in = lazy.module("prism_lazy_probe_b")
    lazy.warm(stand_in)
    lazy.warm(stand_in)  # once: a second call starts nothing
    assert started == ["import-prism_lazy_probe_b"], f"warm() twice: got threads {started}, want one import thread"
    got: list[object] = []
    readers = [threading.Thread(target=lambda: got.append(stand_in.VALUE)) for _ in range(4)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join(timeout=10)
    assert got == [42] * 4, f"attribute read during the import: got {got}, want [42, 42, 42, 42] (no AttributeError)"


def test_warm_leaves_real_modules_alone(monkeypatch):
    started = counted_threads(monkeypatch)
    lazy.warm(sys)  # not a stand-in: already imported, nothing to do
    assert started == [], f"warm(a real module): got threads {started}, want none"
