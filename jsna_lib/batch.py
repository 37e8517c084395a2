"""Run one parameterised notebook for many areas, in parallel: plan, execute, resume, report.

``jsna batch`` renders ``notebooks/area_profile.ipynb`` (or any notebook with a ``parameters``
cell) once per local authority and writes, under ``OUT``::

    OUT/index.html                every area: status, headline, link (sortable, searchable, offline)
    OUT/manifest.json             versions, store checksum, parameters, notebook hash, per-area
                                  status, timings, attempts, errors, kernel peak memory
    OUT/areas/<code>.html         the report: no code cells, renders offline, data footer/banner
    OUT/areas/<code>.ipynb        the executed notebook (papermill metadata and injected parameters)
    OUT/areas/<code>.failed.ipynb the executed notebook of an area that failed (for debugging)
    OUT/assets/                   report-<hash>.css and, for interactive charts,
                                  vega-bundle-<version>.js, shared by the reports and written
                                  once (``--self-contained`` inlines them into every report)
    OUT/batch.log                 the kernels' own stderr (start-up warnings, crashes)

Usage::

    jsna batch --data-dir data/demo_store --out output/profiles             # all 153 upper-tier LAs
    jsna batch --data-dir DIR --out OUT --areas "North East" --workers 4     # a region's UTLAs
    jsna batch --data-dir DIR --out OUT --areas E06000001,E06000002 -p show_trends False
    jsna batch --data-dir DIR --out OUT --areas ltla --timeout 300 --retries 2 --force

``--areas``: ``all`` or ``utla`` (the 153 upper-tier authorities), ``ltla`` (the 296 lower-tier),
``region`` (the 9 regions), a region name or E12 code (its UTLAs), or a comma list of codes or
names. Unknown codes stop the run before any work, with suggestions.

Each notebook receives ``area_code``, ``data_dir`` (absolute), ``comparator``, ``period``,
``output_format`` and any ``-p NAME VALUE`` pairs (values typed like papermill's ``-p``).

How it runs
-----------
* **One fresh kernel per area** on a pool of ``--workers`` threads (default: the cores). Each
  kernel talks to the batch over ZeroMQ's **IPC transport** (Unix sockets named in a private
  temporary folder), so parallel kernels never race for TCP ports (jupyter_client picks "free"
  TCP ports by binding and releasing them, which two processes can both do at once) and
  ipykernel's unencrypted-TCP warning does not apply.
* **Warm kernels**: while an area runs, the next kernel of that worker is already starting, so
  start-up latency is hidden; each kernel is still used for one area only.
* **Kernel template (fork)**: on Linux the kernels are forked from a template process that has
  already imported ipykernel (IPython, zmq, tornado, debugpy: ~0.5 s of imports per kernel) and,
  with ``--preload auto`` (default), the modules the notebook imports at top level (pandas,
  altair, ``jsna_lib`` modules...). A forked kernel is a new process with a fresh namespace; it
  shares the template's imported modules copy-on-write, and NumPy's global random state is
  re-seeded. ``--kernel-start spawn`` starts every kernel with ``python -m ipykernel_launcher``
  instead (the default off Linux, and for kernelspecs other than this Python's ipykernel);
  ``--preload none`` forks a template that has imported ipykernel only. After the first area,
  the template also imports what that kernel imported lazily (``pandas.read_csv``'s parsers,
  ``IPython.display.SVG``'s XML parser...), restricted to submodules of packages it already
  holds and to the standard library: a new third-party package might start threads, which a
  fork does not copy. When the notebook uses ``jsna_lib.geography``, the template also loads the
  reference geography (committed CSV files) once, so no kernel parses it again.
* Kernels get ``OMP/OPENBLAS/MKL_NUM_THREADS=1`` unless set (the pool is the parallelism) and an
  in-memory IPython history (no shared ``history.sqlite`` between parallel kernels).
* **Failures**: an exception in a cell, a dying kernel or ``--timeout`` (seconds per area) is
  retried ``--retries`` times with a new kernel, then recorded (error, cell index in the source
  notebook and its first line); the other areas go on; the exit code is 1 if any area failed.
* **Resume**: an area is skipped when its notebook (hash of its cells), the data store
  (``Store(data_dir).checksum()``), its parameters and the report form (format version,
  ``--self-contained``, ``--charts``) are unchanged, it succeeded last time and its outputs
  exist; ``--force`` re-runs all. Failed and interrupted areas always run again.
* **Ctrl-C / SIGTERM** stops cleanly: the kernels are killed, areas in flight write nothing
  (every file is written to a temporary file and renamed), the manifest says ``interrupted``,
  and the exit code is 130. A second Ctrl-C aborts at once.

Running on a Dask cluster
-------------------------
``--scheduler ADDRESS`` runs the same plan on a Dask distributed cluster: one task per area
(``client.submit(execute_area, ..., retries=N)``), each running its kernel on a worker and
returning the executed notebook and report to the machine running ``jsna batch``, which writes
``OUT``. Workers need the same environment (``pip install jsna-workbench``) and must see the data
store at the same ``--data-dir`` path (a shared drive)::

    # on the scheduler machine
    dask scheduler                                  # listens on tcp://<host>:8786
    # on each worker machine (one kernel per worker thread at a time)
    dask worker tcp://analytics-01.council.local:8786 --nthreads 4 --nworkers 1
    # from an analyst's machine
    jsna batch --data-dir /shared/jsna/store --out /shared/jsna/profiles \\
        --scheduler tcp://analytics-01.council.local:8786

Python API: :func:`run_batch` (what the CLI calls), :func:`plan_areas`, :func:`execute_area`.
"""

from __future__ import annotations

import ast
import concurrent.futures as cf
import contextlib
import copy
import datetime as dt
import hashlib
import importlib.util
import json
import logging
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from . import report

__all__ = [
    "AREAS_DIR",
    "ASSETS_DIR",
    "DEFAULT_NOTEBOOK",
    "AreaJob",
    "AreaOutcome",
    "BatchConfig",
    "BatchError",
    "BatchResult",
    "PlannedArea",
    "RunSpec",
    "execute_area",
    "notebook_hash",
    "notebook_imports",
    "parse_parameter",
    "plan_areas",
    "run_batch",
]

DEFAULT_NOTEBOOK = Path("notebooks/area_profile.ipynb")
AREAS_DIR = "areas"
ASSETS_DIR = "assets"
MANIFEST = "manifest.json"
INDEX = "index.html"
LOG = "batch.log"
MANIFEST_FORMAT = 1
#: The parameters every notebook receives (besides any ``-p NAME VALUE``).
STANDARD_PARAMETERS = ("area_code", "data_dir", "comparator", "period", "output_format")
_MANIFEST_EVERY_S = 2.0
_HIST = "--HistoryManager.hist_file=:memory:"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

log = logging.getLogger("jsna_lib.batch")
#: nbclient's own messages ("Kernel died while waiting for execute reply") are reported per area instead.
_client_log = logging.getLogger("jsna_lib.batch.nbclient")
_client_log.setLevel(logging.CRITICAL)


class BatchError(ValueError):
    """A batch that cannot start (missing notebook, bad option...); the message says what to do."""


# ============================================================================ planning
@dataclass(frozen=True)
class PlannedArea:
    area_code: str
    area_name: str
    area_type: str


_AREA_SETS = {"all": "utla", "utla": "utla", "ltla": "ltla", "region": "region", "regions": "region",
              "england": "england"}


def _rows(table: Any) -> list[PlannedArea]:
    return [PlannedArea(str(r.area_code), str(r.area_name), str(r.area_type))
            for r in table.itertuples(index=False)]


def plan_areas(spec: str = "all") -> list[PlannedArea]:
    """The areas an ``--areas`` value stands for, in a stable order, without duplicates.

    ``all``/``utla``: the 153 upper-tier authorities; ``ltla``: the 296 lower-tier ones;
    ``region``: the 9 regions; a region name or E12 code: its UTLAs; otherwise a comma list of
    area codes or names (a unitary is planned as its UTLA). Raises
    :class:`~jsna_lib.geography.UnknownAreaError` naming every unknown item with suggestions.
    """
    from . import geography
    from .geography import UnknownAreaError

    text = (spec or "").strip()
    if not text:
        raise BatchError("--areas is empty: give all, utla, ltla, a region, or a comma list of area codes")
    if text.casefold() in _AREA_SETS:
        return _rows(geography.areas(_AREA_SETS[text.casefold()]))
    try:  # the whole value as one name first: "Bristol, City of" contains a comma
        items = [geography.area(text)]
    except UnknownAreaError:
        items = []
        problems = []
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            try:
                items.append(geography.area(part))
            except UnknownAreaError as exc:
                problems.append(str(exc))
        if problems:
            raise UnknownAreaError(f"--areas: {len(problems)} unknown item(s); nothing was run. "
                                   + "; ".join(problems), query=text) from None
    planned: dict[str, PlannedArea] = {}
    for row in items:
        if row["area_type"] == "region":
            for area in _rows(geography.children(str(row["area_code"]), "utla")):
                planned.setdefault(area.area_code, area)
        else:
            planned.setdefault(str(row["area_code"]),
                               PlannedArea(str(row["area_code"]), str(row["area_name"]), str(row["area_type"])))
    return list(planned.values())


# ============================================================================ notebooks and parameters
def parse_parameter(value: str) -> Any:
    """A ``-p NAME VALUE`` value typed as papermill's CLI does: True/False/None, int, float, else text."""
    if value in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[value]
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def _source(cell: Mapping[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def notebook_hash(nb: Mapping[str, Any]) -> str:
    """SHA-256 of what a notebook *does*: its cells' types, sources and tags, and its kernel.

    Outputs, execution counts and other metadata are ignored, so re-saving a notebook in
    JupyterLab does not force a re-run.
    """
    cells = [[c.get("cell_type"), _source(c), sorted(c.get("metadata", {}).get("tags") or [])]
             for c in nb.get("cells", [])]
    kernel = (nb.get("metadata", {}).get("kernelspec") or {}).get("name", "")
    return hashlib.sha256(json.dumps({"cells": cells, "kernel": kernel}, sort_keys=True).encode()).hexdigest()


def _code_lines(source: str) -> str:
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def notebook_parameters(nb: Mapping[str, Any]) -> list[str] | None:
    """Names assigned in the cell tagged ``parameters`` (None when there is no such cell)."""
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code" and "parameters" in (cell.get("metadata", {}).get("tags") or []):
            try:
                tree = ast.parse(_code_lines(_source(cell)))
            except SyntaxError:
                return []
            names = []
            for node in tree.body:
                targets = node.targets if isinstance(node, ast.Assign) else \
                    [node.target] if isinstance(node, ast.AnnAssign) else []
                names += [t.id for t in targets if isinstance(t, ast.Name)]
            return names
    return None


def notebook_imports(nb: Mapping[str, Any]) -> list[str]:
    """Modules imported at the top level of the notebook's code cells (for ``--preload auto``).

    Only absolute imports outside ``if``/``try``/functions, and only packages that exist here.
    ``from a.b import c, d`` gives ``"a.b:c,d"`` (the template runs ``__import__("a.b",
    fromlist=["c", "d"])``, which imports submodules ``a.b.c``/``a.b.d`` when they are modules).
    """
    names: list[str] = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        try:
            tree = ast.parse(_code_lines(_source(cell)))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                names += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module != "__future__":
                fromlist = ",".join(a.name for a in node.names if a.name != "*")
                names.append(f"{node.module}:{fromlist}" if fromlist else node.module)
    found = []
    for name in dict.fromkeys(names):
        try:
            if importlib.util.find_spec(name.split(".")[0].split(":")[0]) is not None:
                found.append(name)
        except (ImportError, ValueError):
            continue
    return found


def _input_key(*, notebook_sha: str, store_checksum: str, parameters: Mapping[str, Any],
               self_contained: bool, charts: str) -> str:
    """What an area's outputs depend on: notebook, data, parameters and the form of the report."""
    payload = {"notebook": notebook_sha, "data": store_checksum, "parameters": parameters,
               "report": [report.REPORT_FORMAT, bool(self_contained), charts]}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


# ============================================================================ kernels
_ZYGOTE = r'''# jsna batch: kernel template (forks one fresh kernel per area)
import json, os, signal, sys
os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
import ipykernel.kernelapp, ipykernel.ipkernel, ipykernel.zmqshell, ipykernel.debugger


def _preload(names, quiet=False):
    for _name in names:
        try:
            _module, _, _names = _name.partition(":")
            __import__(_module, fromlist=[n for n in _names.split(",") if n])
        except BaseException as _exc:
            if not quiet:
                print(f"jsna batch: kernel template could not preload {_name}: {_exc!r}", file=sys.stderr)


_preload(json.loads(sys.argv[1]))
for _module, _code in json.loads(sys.argv[2]).items():  # fill caches of reference data every kernel reads
    if _module in sys.modules:
        try:
            exec(_code, {})
        except BaseException as _exc:
            print(f"jsna batch: kernel template could not warm {_module}: {_exc!r}", file=sys.stderr)
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernels are reaped automatically
import gc
gc.collect()
gc.freeze()  # what the template holds is never collected in a kernel: no garbage-collector pass walks
             # (and so copies) the pages shared with the template
_reply = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
_reply.write(json.dumps({"ready": os.getpid()}) + "\n")
_reply.flush()
while True:
    _line = sys.stdin.readline()
    if not _line:
        break
    _req = json.loads(_line)
    if "learn" in _req:  # modules a kernel imported: take those of packages already here, and the stdlib
        _known = set(sys.modules)
        _safe = [m for m in _req["learn"] if m not in _known and not m.startswith("__")
                 and (m.split(".")[0] in _known or m.split(".")[0] in sys.stdlib_module_names)]
        _preload(_safe, quiet=True)
        gc.collect()
        gc.freeze()
        _reply.write(json.dumps({"learned": len(set(sys.modules) - _known)}) + "\n")
        _reply.flush()
        continue
    _pid = os.fork()
    if _pid == 0:
        _code = 1
        try:
            _reply.close()
            os.setsid()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            _fd = os.open(os.devnull, os.O_RDONLY)
            os.dup2(_fd, 0)
            os.close(_fd)
            os.chdir(_req["cwd"])
            os.environ.clear()
            os.environ.update(_req["env"])
            if "numpy" in sys.modules:
                sys.modules["numpy"].random.seed()
            sys.argv = ["ipykernel_launcher", *_req["argv"]]
            from ipykernel.kernelapp import launch_new_instance
            launch_new_instance()
            _code = 0
        except SystemExit as _exit:
            _code = _exit.code if isinstance(_exit.code, int) else 0 if _exit.code is None else 1
        except BaseException:
            import traceback
            traceback.print_exc()
        finally:
            import atexit
            try:
                atexit._run_exitfuncs()
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(_code)
    _reply.write(json.dumps({"pid": _pid}) + "\n")
    _reply.flush()
'''


#: Caches of immutable reference data that every area notebook fills the same way: when the
#: module is preloaded, the template fills them once and the kernels inherit them.
_WARM_UPS = {
    "jsna_lib.geography": "from jsna_lib import geography\ngeography.area('E92000001')",
    # the batch's data store, read once here: every kernel then reads its area's rows from memory
    "jsna_lib": "from jsna_lib import store\nstore.preload_from_environment()",
    # what every area's profile of that store shares (England's breakdowns and SII, the areas...)
    "jsna_lib.profile": "from jsna_lib import profile\nprofile.warm_from_environment()",
}


class _Zygote:
    """A template process that forks ready-imported kernels on request (one JSON line each way)."""

    def __init__(self, preload: Sequence[str], *, env: Mapping[str, str], stderr: Any, cwd: str) -> None:
        self.preload = list(preload)
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(  # in the kernels' folder, so that imports resolve as in a kernel
            [sys.executable, "-c", _ZYGOTE, json.dumps(self.preload), json.dumps(_WARM_UPS)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True, env=dict(env),
            start_new_session=True, cwd=cwd,
        )
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line:
            self.proc.wait(timeout=10)
            raise RuntimeError(f"the kernel template process exited with code {self.proc.returncode}")
        self.pid = int(json.loads(line)["ready"])

    def fork(self, argv: Sequence[str], *, cwd: str, env: Mapping[str, str]) -> int:
        request = json.dumps({"argv": list(argv), "cwd": cwd, "env": dict(env)}) + "\n"
        with self._lock:
            if self.proc.poll() is not None or self.proc.stdin is None or self.proc.stdout is None:
                raise RuntimeError("the kernel template process has exited")
            self.proc.stdin.write(request)
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the kernel template process has exited")
        return int(json.loads(line)["pid"])

    def learn(self, modules: Sequence[str]) -> int:
        """Import in the template the modules a kernel ended up importing (see ``KernelPool.learn``)."""
        with self._lock:
            if self.proc.poll() is not None or self.proc.stdin is None or self.proc.stdout is None:
                return 0
            self.proc.stdin.write(json.dumps({"learn": list(modules)}) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        return int(json.loads(line)["learned"]) if line else 0

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            if self.proc.stdin:
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()


def _own_peak_rss_mb() -> float | None:
    try:
        import resource
    except ImportError:  # Windows
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024**2 if sys.platform == "darwin" else 1024)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead (the template reaps its kernels, but be safe)
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


class _ForkedKernel:
    """The ``subprocess.Popen`` surface jupyter_client uses, for a kernel forked by the template."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None and not _pid_alive(self.pid):
            self.returncode = -1  # exit status unknown: the template reaped it
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0)
            time.sleep(0.02)
        return self.returncode if self.returncode is not None else -1

    def send_signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


def _kernel_classes() -> tuple[type, type]:
    """(kernel manager class, provisioner class), defined lazily (jupyter_client is slow to import)."""
    global _KERNEL_CLASSES
    if _KERNEL_CLASSES is not None:
        return _KERNEL_CLASSES
    from queue import Empty

    from jupyter_client.asynchronous import AsyncKernelClient
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_client.provisioning.local_provisioner import LocalProvisioner

    class ReadyClient(AsyncKernelClient):  # type: ignore[misc]
        """A kernel client whose ``wait_for_ready`` returns as soon as the kernel is ready.

        jupyter_client's version ends by draining IOPub until it has been silent for 0.2 s: a
        fixed 0.2 s per kernel, a tenth of a short area. Here the wait ends at the ``idle``
        status of the answered ``kernel_info`` request, which also proves IOPub is connected.
        Later stray status messages are harmless: nbclient matches every message to its request.
        """

        async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
            deadline = time.monotonic() + (timeout if timeout is not None else float("inf"))
            while True:
                self.kernel_info()
                try:
                    reply = await self.shell_channel.get_msg(timeout=1)
                except Empty:
                    reply = None
                if reply is not None and reply["msg_type"] == "kernel_info_reply":
                    request = reply["parent_header"].get("msg_id")
                    until = time.monotonic() + 0.5
                    while time.monotonic() < until:
                        try:
                            msg = await self.iopub_channel.get_msg(timeout=max(0.01, until - time.monotonic()))
                        except Empty:
                            break
                        if (msg["msg_type"] == "status" and msg["parent_header"].get("msg_id") == request
                                and msg["content"].get("execution_state") == "idle"):
                            self._handle_kernel_info_reply(reply)
                            return
                if not await self._async_is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")

        wait_for_ready = _async_wait_for_ready  # the base class binds its own function to this name

    class ForkProvisioner(LocalProvisioner):  # type: ignore[misc]
        """Launch through the kernel template when the command is this Python's ipykernel."""

        zygote: _Zygote | None = None

        async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
            zygote = self.zygote
            if zygote is None or cmd[:3] != [sys.executable, "-m", "ipykernel_launcher"]:
                return await super().launch_kernel(cmd, **kwargs)
            env = dict(kwargs.get("env") or os.environ)
            env["JPY_PARENT_PID"] = str(zygote.pid)
            argv = [*cmd[3:], f"--IPKernelApp.parent_handle={zygote.pid}"]
            pid = zygote.fork(argv, cwd=str(kwargs.get("cwd") or os.getcwd()), env=env)
            self.process = _ForkedKernel(pid)
            self.pid = self.pgid = pid
            self.cwd = kwargs.get("cwd")
            return self.connection_info

    class BatchKernelManager(AsyncKernelManager):  # type: ignore[misc]
        """An AsyncKernelManager that can hand its launch to the kernel template; quick clients."""

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.client_factory = ReadyClient

        async def _async_pre_start_kernel(self, **kw: Any) -> Any:
            zygote = getattr(self, "jsna_zygote", None)
            if self.provisioner is None and zygote is not None:
                self.kernel_id = self.kernel_id or str(uuid.uuid4())
                provisioner = ForkProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self)
                provisioner.zygote = zygote
                self.provisioner = provisioner
            return await super()._async_pre_start_kernel(**kw)

    _KERNEL_CLASSES = (BatchKernelManager, ForkProvisioner)
    return _KERNEL_CLASSES


_KERNEL_CLASSES: tuple[type, type] | None = None


def _kernel_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, "1")
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # debugpy's frozen-modules warning
    env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    env["JSNA_BATCH"] = "1"
    env.update(extra or {})
    return env


def _fork_supported() -> bool:
    return sys.platform.startswith("linux") and hasattr(os, "fork")


class KernelPool:
    """Starts one fresh kernel per area, over IPC, optionally forked from a template, optionally warm.

    Thread-safe. ``take()`` returns a started kernel manager (and, when ``warm``, starts the
    calling thread's next kernel at once); ``release()`` kills and cleans up a kernel;
    ``kill_all()`` (any thread) kills every kernel; ``close()`` ends everything.
    """

    def __init__(self, *, kernel_name: str, cwd: str, start: str = "auto", preload: Sequence[str] = (),
                 warm: bool = True, log_path: str | None = None, env: Mapping[str, str] | None = None) -> None:
        self.kernel_name = kernel_name
        self.cwd = cwd
        self.warm = warm
        self.preload = list(preload)
        self.env = _kernel_env(env)
        self.start = start if start != "auto" else ("fork" if _fork_supported() else "spawn")
        if self.start == "fork" and not hasattr(os, "fork"):
            raise BatchError("--kernel-start fork needs a POSIX system; use spawn")
        self._dir = tempfile.mkdtemp(prefix="jsna-k-")  # short: Unix socket paths are limited to ~100 chars
        self._lock = threading.Lock()
        self._live: dict[int, Any] = {}
        self._local = threading.local()
        self._zygote: _Zygote | None = None
        self._zygote_failed = False
        self._log = open(log_path, "a", encoding="utf-8") if log_path else None
        self._context: Any = None  # one ZeroMQ context for every kernel's sockets
        self.learning = self.start == "fork"  # until the first area has taught the template its imports
        self.stopping = False
        self.closed = False

    # ---------------------------------------------------------------- launching
    def _zygote_for_launch(self) -> _Zygote | None:
        if self.start != "fork" or self._zygote_failed:
            return None
        with self._lock:
            if self._zygote is None and not self._zygote_failed:
                try:
                    self._zygote = _Zygote(self.preload, env=self.env, stderr=self._log,
                                           cwd=self.cwd)
                except (OSError, RuntimeError, ValueError) as exc:
                    log.warning("kernel template failed to start (%s); starting kernels one by one", exc)
                    self._zygote_failed = True
            return self._zygote

    def _launch(self) -> Any:
        from jupyter_core.utils import run_sync

        if self.closed:
            raise RuntimeError("kernel pool is closed")
        manager_class, _ = _kernel_classes()
        name = uuid.uuid4().hex[:12]
        with self._lock:
            if self._context is None:
                import zmq.asyncio

                self._context = zmq.asyncio.Context()
        km = manager_class(kernel_name=self.kernel_name, transport="ipc", context=self._context)
        km.ip = os.path.join(self._dir, name)
        km.connection_file = os.path.join(self._dir, f"{name}.json")
        km.jsna_zygote = self._zygote_for_launch()
        kwargs: dict[str, Any] = {"extra_arguments": [_HIST], "cwd": self.cwd, "env": dict(self.env)}
        if self._log is not None:
            kwargs.update(stdout=self._log, stderr=self._log)
        run_sync(km.start_kernel)(**kwargs)
        with self._lock:
            self._live[id(km)] = km
        if self.closed or self.stopping:  # stopped while it was starting
            self.release(km)
            raise RuntimeError("the batch is stopping")
        return km

    def take(self, *, prelaunch: bool = True) -> Any:
        """A started kernel for one area; starts this thread's next kernel when ``prelaunch``."""
        km = getattr(self._local, "next", None)
        self._local.next = None
        if km is not None and not self._alive(km):
            self.release(km)
            km = None
        if km is None:
            km = self._launch()
        if self.warm and prelaunch:
            try:
                self._local.next = self._launch()
            except Exception as exc:  # the next area will start its own
                log.debug("could not pre-start a kernel: %s", exc)
        return km

    def learn(self, modules: Sequence[str]) -> None:
        """Teach the template the modules a finished kernel had imported (once, after the first area).

        ``import pandas`` does not import what ``pandas.read_csv`` imports on first call, nor
        ``IPython.display`` what ``SVG()`` does: every kernel would pay those lazy imports again.
        The template imports them too, but only submodules of packages it already holds and
        standard-library modules (never a new third-party package, which might start threads
        that a fork would not copy).
        """
        self.learning = False
        zygote = self._zygote
        if zygote is not None:
            try:
                count = zygote.learn(modules)
                log.debug("kernel template learned %d modules", count)
            except (OSError, ValueError, RuntimeError) as exc:
                log.debug("kernel template could not learn modules: %s", exc)

    @staticmethod
    def _alive(km: Any) -> bool:
        process = getattr(km.provisioner, "process", None)
        return process is not None and process.poll() is None

    # ---------------------------------------------------------------- stopping
    @staticmethod
    def pid(km: Any) -> int | None:
        return getattr(km.provisioner, "pid", None) if km.provisioner is not None else None

    def kill(self, km: Any) -> None:
        """Kill one kernel (and its process group) from any thread; its manager notices the death."""
        pid = self.pid(km)
        if pid and hasattr(os, "killpg"):
            try:
                os.killpg(pid, signal.SIGKILL)  # the kernel is a session leader: this takes its children too
                return
            except OSError:
                pass
        process = getattr(km.provisioner, "process", None) if km.provisioner is not None else None
        if process is not None:
            with contextlib.suppress(OSError):
                process.kill()

    def release(self, km: Any) -> None:
        """Stop a kernel now (SIGKILL to its process group) and remove its connection and socket files.

        The same end as jupyter_client's ``shutdown_kernel(now=True)`` without its 0.1 s polling
        of the dead process: forked kernels are reaped by the template, spawned ones here.
        """
        with self._lock:
            self._live.pop(id(km), None)
        self.kill(km)
        process = getattr(km.provisioner, "process", None) if km.provisioner is not None else None
        if isinstance(process, subprocess.Popen):
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                log.warning("kernel %s did not stop after SIGKILL", process.pid)
        with contextlib.suppress(Exception):
            km._close_control_socket()
        with contextlib.suppress(Exception):
            km.cleanup_connection_file()
            km.cleanup_ipc_files()
        km.provisioner = None

    def stop(self) -> None:
        """Ctrl-C: kill every kernel, and every kernel that is still being started."""
        self.stopping = True
        self.kill_all()

    def kill_all(self) -> None:
        with self._lock:
            live = list(self._live.values())
        for km in live:
            self.kill(km)

    def release_thread_kernel(self) -> None:
        """Release the calling thread's pre-started kernel, if any."""
        km = getattr(self._local, "next", None)
        self._local.next = None
        if km is not None:
            self.release(km)

    def close(self) -> None:
        self.closed = True
        self.kill_all()
        with self._lock:
            live = list(self._live.values())
            self._live.clear()
            zygote, self._zygote = self._zygote, None
        for km in live:  # pre-started kernels never used
            self.release(km)
        if self._context is not None:
            self._context.destroy(linger=0)
            self._context = None
        if zygote is not None:
            zygote.close()
        shutil.rmtree(self._dir, ignore_errors=True)
        if self._log is not None:
            self._log.close()
            self._log = None


def _kernel_cpu_s(pid: int | None) -> float | None:
    """CPU seconds (user + system) the kernel process has used, on Linux; None elsewhere."""
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 2)
    except (OSError, ValueError, IndexError):
        return None


def _peak_rss_mb(pid: int | None) -> float | None:
    """The kernel's peak resident memory (VmHWM) in MB, on Linux; None elsewhere."""
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError):
        return None
    return None


def _private_mb(pid: int | None) -> float | None:
    """The kernel's own memory (private pages, MB; Linux): what it costs beyond the pages it still
    shares with the kernel template (imports, the preloaded store). None where not available."""
    if not pid:
        return None
    try:
        total = 0
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    total += int(line.split()[1])
        return round(total / 1024, 1)
    except (OSError, ValueError):
        return None


# ============================================================================ one area
@dataclass(frozen=True)
class AreaJob:
    """One area to run: its identity, its notebook parameters and the key of its inputs."""

    area_code: str
    area_name: str
    area_type: str
    parameters: Mapping[str, Any]
    input_key: str


@dataclass(frozen=True)
class RunSpec:
    """Everything a worker needs to run any area of a batch (picklable, sent to Dask workers)."""

    notebook_json: str
    notebook_path: str
    kernel_name: str
    cwd: str
    timeout: float | None
    retries: int
    provenance: report.Provenance
    title: str = "Area profile"
    kernel_start: str = "auto"
    preload: tuple[str, ...] = ()
    store_checksum: str = ""
    notebook_sha256: str = ""
    charts: str = "interactive"
    data_dir: str = ""  # the store the kernel template holds in memory (``store.preload``)

    def kernel_env(self) -> dict[str, str]:
        """Environment of the kernels (and their template): the store to preload."""
        from .store import PRELOAD_ENV

        return {PRELOAD_ENV: self.data_dir} if self.data_dir else {}


@dataclass
class AreaOutcome:
    """What happened to one area. ``ipynb`` and ``page`` (portable HTML) are texts, not files."""

    area_code: str
    status: str  # ok | failed | interrupted | not_run
    attempts: int = 0
    seconds: float = 0.0
    started_at: str = ""
    finished_at: str = ""
    headline: str | None = None
    error: dict[str, Any] | None = None
    attempt_errors: list[dict[str, Any]] = field(default_factory=list)
    kernel_peak_rss_mb: float | None = None
    kernel_private_mb: float | None = None
    kernel_cpu_s: float | None = None
    ipynb: str | None = None
    page: str | None = None
    worker: str = ""


class _Interrupted(Exception):
    pass


def _first_line(source: str) -> str:
    for line in source.splitlines():
        if line.strip():
            return line.strip()[:160]
    return ""


def _cell_location(nb: Any, executed_index: int | None) -> dict[str, Any]:
    """Cell index in the *source* notebook (papermill's injected cell removed) and its first line."""
    if executed_index is None or executed_index >= len(nb.cells):
        return {"cell_index": None, "cell_source": ""}
    injected = next((i for i, c in enumerate(nb.cells)
                     if "injected-parameters" in (c.get("metadata", {}).get("tags") or [])), None)
    cell = nb.cells[executed_index]
    if injected is not None and executed_index == injected:
        return {"cell_index": None, "cell_source": "(injected parameters)"}
    index = executed_index - 1 if injected is not None and executed_index > injected else executed_index
    return {"cell_index": index, "cell_source": _first_line(_source(cell))}


def _cell_error(nb: Any) -> tuple[int, dict[str, Any]] | None:
    """The first cell error of an executed notebook, as papermill finds it (SystemExit(0) is not one)."""
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            if output.get("output_type") == "error":
                if output.get("ename") == "SystemExit" and output.get("evalue") in ("", "0"):
                    continue
                trace = [_ANSI.sub("", line) for line in output.get("traceback", [])]
                return index, {"ename": output.get("ename", ""), "evalue": output.get("evalue", ""),
                               "traceback": "\n".join(trace)[-4000:]}
        if (cell.get("metadata", {}).get("papermill") or {}).get("exception") is True:
            return index, {"ename": "CellExecutionError", "evalue": "", "traceback": ""}
    return None


def _describe_error(error: Mapping[str, Any]) -> str:
    kind = error.get("kind")
    where = ""
    if error.get("cell_index") is not None:
        where = f" in cell {error['cell_index']}"
        if error.get("cell_source"):
            where += f" ({error['cell_source'][:60]})"
    if kind == "exception":
        return f"{error.get('ename')}: {str(error.get('evalue', ''))[:200]}{where}"
    if kind == "timeout":
        return f"timed out after {error.get('timeout_s')} s{where}"
    if kind == "kernel_died":
        return f"the kernel died{where}"
    return f"{kind}: {str(error.get('message', ''))[:200]}{where}"


def _papermill_node(nb: Any) -> Any:
    """What ``papermill.iorw.load_notebook_node`` does after reading: v4 upgrade and papermill metadata."""
    import nbformat
    from papermill import __version__ as papermill_version

    nb = nbformat.v4.upgrade(nb) or nb
    nb.metadata.setdefault("papermill", {"default_parameters": {}, "parameters": {}, "environment_variables": {},
                                         "version": papermill_version})
    for cell in nb.cells:
        cell.metadata.setdefault("tags", [])
        cell.metadata.setdefault("papermill", {})
    return nb


def _parameterize(nb_source: Any, job: AreaJob, run: RunSpec) -> Any:
    from papermill.execute import prepare_notebook_metadata, remove_error_markers
    from papermill.parameterize import parameterize_notebook

    nb = parameterize_notebook(copy.deepcopy(nb_source), dict(job.parameters), report_mode=False,
                               kernel_name=run.kernel_name)
    nb = prepare_notebook_metadata(nb, run.notebook_path, f"{AREAS_DIR}/{job.area_code}.ipynb")
    return remove_error_markers(nb)


_CLIENT_CLASS: type | None = None


def _client_class() -> type:
    """papermill's notebook client, keeping each JSON output (a chart's Vega-Lite spec) as the dict
    the kernel sent.

    nbclient turns every output into a ``NotebookNode`` tree and validates it against the
    notebook schema, walking every key of a spec of hundreds of rows: about a fifth of the
    batch process's CPU per area profile, spent on data nobody reads as a node. Here the JSON
    payloads (which the schema allows to be anything) are set aside while nbclient builds the
    output, then put back as they came; everything else about the output is unchanged.
    """
    global _CLIENT_CLASS
    if _CLIENT_CLASS is None:
        from papermill.clientwrap import PapermillNotebookClient

        class Client(PapermillNotebookClient):  # type: ignore[misc]
            def output(self, outs: list[Any], msg: dict[str, Any], display_id: str | None,
                       cell_index: int) -> Any:
                data = msg.get("content", {}).get("data")
                if self.output_hook_stack[msg["parent_header"].get("msg_id")]:  # an Output widget's: its
                    return super().output(outs, msg, display_id, cell_index)  # hook keeps the message itself
                held = {mime: value for mime, value in data.items()
                        if isinstance(value, dict) and mime.endswith("json")} if isinstance(data, dict) else {}
                for mime in held:
                    data[mime] = {}
                try:
                    out = super().output(outs, msg, display_id, cell_index)
                finally:
                    if held:  # the message as it came (nothing else reads it, but leave it whole)
                        data.update(held)
                if held and out is not None and isinstance(out.get("data"), dict):
                    for mime, value in held.items():
                        dict.__setitem__(out["data"], mime, value)  # NotebookNode's own would convert it
                return out

        _CLIENT_CLASS = Client
    return _CLIENT_CLASS


def _attempt(nb_source: Any, job: AreaJob, run: RunSpec, pool: KernelPool, cancel: Any,
             prelaunch: bool) -> tuple[Any, dict[str, Any] | None, dict[str, float | None]]:
    """Run the notebook once for ``job`` on a fresh kernel: (executed nb, error or None, kernel usage)."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.engines import NotebookExecutionManager

    nb = _parameterize(nb_source, job, run)
    nb_man = NotebookExecutionManager(nb, output_path=None, progress_bar=False, autosave_cell_every=0)
    current: dict[str, int | None] = {"index": None}
    flags = {"timeout": False, "cancelled": False}

    def on_cell_start(cell: Any = None, cell_index: int | None = None, **_: Any) -> None:
        current["index"] = cell_index

    try:
        km = pool.take(prelaunch=prelaunch)
    except Exception as exc:
        error = {"kind": "kernel_start", "message": f"{type(exc).__name__}: {exc}"}
        error["summary"] = _describe_error(error)
        return nb, error, {}
    pid = pool.pid(km)

    def on_timeout() -> None:
        flags["timeout"] = True
        pool.kill(km)

    timer = threading.Timer(run.timeout, on_timeout) if run.timeout else None
    stop_watch = threading.Event()

    def watch_cancel() -> None:  # Dask tasks: poll the cluster-wide cancel flag
        while not stop_watch.wait(0.5):
            if cancel is not None and cancel():
                flags["cancelled"] = True
                pool.kill(km)
                return

    watcher = threading.Thread(target=watch_cancel, daemon=True) if callable(cancel) else None
    error: dict[str, Any] | None = None
    usage: dict[str, float | None] = {}
    client = None
    try:
        # nbclient's own per-cell timeout (whole seconds) is a backstop: the watchdog above is exact
        client = _client_class()(
            nb_man, km=km, kernel_name=run.kernel_name, startup_timeout=60, log=_client_log,
            timeout=math.ceil(run.timeout) + 5 if run.timeout else None,
            on_cell_start=on_cell_start, allow_errors=False,
        )
        if timer:
            timer.daemon = True
            timer.start()
        if watcher:
            watcher.start()
        nb_man.notebook_start()
        try:
            client.execute()
        finally:
            nb_man.notebook_complete()
        found = _cell_error(nb_man.nb)
        if found:
            index, details = found
            error = {"kind": "exception", **details, **_cell_location(nb_man.nb, index)}
        elif pool.learning and client.kc is not None:
            pool.learn(_kernel_modules(client.kc))
    except (DeadKernelError, CellTimeoutError, RuntimeError, TimeoutError, OSError) as exc:
        location = _cell_location(nb_man.nb, current["index"])
        if flags["cancelled"] or (hasattr(cancel, "is_set") and cancel.is_set()):
            error = {"kind": "interrupted", "message": "stopped by the user", **location}
        elif flags["timeout"] or isinstance(exc, CellTimeoutError):
            error = {"kind": "timeout", "timeout_s": run.timeout, "message": str(exc)[:300], **location}
        elif isinstance(exc, DeadKernelError):
            error = {"kind": "kernel_died", "message": str(exc)[:300], **location}
        else:
            error = {"kind": "kernel_error", "message": f"{type(exc).__name__}: {str(exc)[:300]}", **location}
    except Exception as exc:  # anything else (a bug here, a broken notebook file): fail this attempt only
        log.debug("area %s", job.area_code, exc_info=True)
        error = {"kind": "batch_error", "message": f"{type(exc).__name__}: {str(exc)[:300]}",
                 **_cell_location(nb_man.nb, current["index"])}
    finally:
        if timer:
            timer.cancel()
        stop_watch.set()
        usage = {"peak_rss_mb": _peak_rss_mb(pid), "private_mb": _private_mb(pid), "cpu_s": _kernel_cpu_s(pid)}
        kc = getattr(client, "kc", None)
        if kc is not None:
            with contextlib.suppress(Exception):
                kc.stop_channels()
        pool.release(km)
    if error is not None:
        error["message"] = error.get("message") or _describe_error(error)
        error["summary"] = _describe_error(error)
    return nb_man.nb, error, usage


def _kernel_modules(kc: Any) -> list[str]:
    """The modules a kernel has imported (a silent request: no output, no history)."""
    from jupyter_core.utils import run_sync

    async def ask() -> list[str]:
        msg_id = kc.execute("", silent=True, store_history=False,
                            user_expressions={"modules": "' '.join(sorted(__import__('sys').modules))"})
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            reply = await kc.shell_channel.get_msg(timeout=deadline - time.monotonic())
            if reply["parent_header"].get("msg_id") == msg_id:
                value = reply["content"].get("user_expressions", {}).get("modules", {})
                text = (value.get("data") or {}).get("text/plain", "")
                return str(ast.literal_eval(text)).split() if text else []
        return []

    try:
        return run_sync(ask)()
    except Exception as exc:  # only an optimisation
        log.debug("could not list the kernel's modules: %s", exc)
        return []


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


_process_pools: dict[tuple[Any, ...], KernelPool] = {}
_process_pools_lock = threading.Lock()


def _shared_pool(run: RunSpec) -> KernelPool:
    """This process's kernel pool for ``run`` (Dask workers: one kernel template per process)."""
    key = (run.kernel_name, run.cwd, run.kernel_start, run.preload, run.data_dir)
    with _process_pools_lock:
        pool = _process_pools.get(key)
        if pool is None or pool.closed:
            pool = KernelPool(kernel_name=run.kernel_name, cwd=run.cwd, start=run.kernel_start,
                              preload=run.preload, warm=False, env=run.kernel_env())
            _process_pools[key] = pool
        return pool


def close_process_pools() -> int:
    """Close this process's shared kernel pools (run on Dask workers at the end of a batch)."""
    with _process_pools_lock:
        pools = list(_process_pools.values())
        _process_pools.clear()
    for pool in pools:
        pool.close()
    return len(pools)


def kill_process_kernels() -> int:
    """Kill every kernel of this process's shared pools (Dask workers, on Ctrl-C)."""
    with _process_pools_lock:
        pools = list(_process_pools.values())
    for pool in pools:
        pool.kill_all()
    return len(pools)


_thread_loops = threading.local()


def _own_event_loop() -> None:
    """Give the calling thread its own asyncio event loop (kept for the thread's later areas).

    Kernel start and execution go through ``jupyter_core.utils.run_sync``, which keeps "the
    thread's loop" in a context variable. A Dask in-process worker runs each task in a copy of the
    submitting context, so once papermill had run in the process, every worker thread inherited
    the main thread's loop, and the second area to start a kernel failed with "This event loop
    is already running". Each thread now sets its own.
    """
    import asyncio

    loop = getattr(_thread_loops, "loop", None)
    if loop is None or loop.is_closed():
        loop = asyncio.new_event_loop()
        _thread_loops.loop = loop
    asyncio.set_event_loop(loop)
    try:
        from jupyter_core.utils import _loop as jupyter_loop  # private: run_sync's "loop of this thread"
    except ImportError:  # pragma: no cover - other jupyter_core versions
        return
    jupyter_loop.set(loop)


def notebook_json(nb: Any) -> str:
    """The executed notebook as .ipynb text (nbformat 4), fast.

    What ``nbformat.writes`` writes (transient metadata removed, multi-line strings as lists of
    lines), without its indentation: nbformat's indented writer runs Python's pure-Python JSON
    encoder (~0.2 s per area profile, half the batch process's time once). Encoded with orjson
    (what jupyter_client already uses for every kernel message); a value orjson cannot encode (an
    integer beyond 64 bits...) sends the whole notebook to the standard library's C encoder.
    Jupyter reads the compact file the same. The notebook given is not changed.
    """
    from nbformat.v4.rwbase import split_lines, strip_transient

    copy_ = report.light_copy(nb)
    for cell in copy_.cells:
        cell["metadata"] = dict(cell.get("metadata", {}))
    plain = strip_transient(split_lines(copy_))
    try:
        return orjson.dumps(plain, option=orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE).decode()
    except TypeError:  # a value orjson cannot encode
        return json.dumps(plain, sort_keys=True, ensure_ascii=False) + "\n"


def execute_area(job: AreaJob, run: RunSpec, pool: KernelPool | None = None, cancel: Any = None,
                 prelaunch: bool = True) -> AreaOutcome:
    """Run the batch notebook for one area, with retries, and render its report.

    Returns an :class:`AreaOutcome` holding the executed notebook and the portable HTML page
    (texts: the caller writes them). Never raises for a failing notebook: the error (kind
    ``exception``, ``timeout``, ``kernel_died``, ``kernel_start``...), the cell and every
    attempt's error are in the outcome. ``cancel`` is a ``threading.Event`` or a callable
    returning True when the batch is being stopped. Without ``pool`` (a Dask task) the process's
    shared pool is used.
    """
    import nbformat

    _own_event_loop()
    pool = pool or _shared_pool(run)
    started = time.perf_counter()
    outcome = AreaOutcome(area_code=job.area_code, status="failed", started_at=_now())
    try:
        import socket

        outcome.worker = f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"
    except OSError:
        pass

    def cancelled() -> bool:
        if cancel is None:
            return False
        return bool(cancel.is_set() if hasattr(cancel, "is_set") else cancel())

    nb_source = _papermill_node(nbformat.reads(run.notebook_json, as_version=4))
    nb = None
    for attempt in range(1, max(0, run.retries) + 2):
        if cancelled():
            outcome.status = "interrupted" if attempt > 1 else "not_run"
            break
        outcome.attempts = attempt
        nb, error, usage = _attempt(nb_source, job, run, pool, cancel, prelaunch)
        outcome.kernel_peak_rss_mb = usage.get("peak_rss_mb")
        outcome.kernel_private_mb = usage.get("private_mb")
        outcome.kernel_cpu_s = usage.get("cpu_s")
        if error is None:
            outcome.status = "ok"
            outcome.error = None
            break
        error["attempt"] = attempt
        outcome.attempt_errors.append(error)
        outcome.error = error
        if error["kind"] == "interrupted" or cancelled():
            outcome.status = "interrupted"
            break
    if outcome.status in ("ok", "failed") and nb is not None:
        metadata = nb.metadata.setdefault("jsna", {})
        metadata.update({"area_code": job.area_code, "area_name": job.area_name, "input_key": job.input_key,
                         "notebook_sha256": run.notebook_sha256, "store_checksum": run.store_checksum})
        if outcome.status == "ok":
            outcome.headline = report.headline(nb)
            if outcome.headline:
                metadata["headline"] = outcome.headline
            try:
                outcome.page = report.render_report(nb, title=f"{job.area_name} ({job.area_code}): {run.title}",
                                                    provenance=run.provenance, charts=run.charts)
            except Exception as exc:  # a report that cannot be rendered fails the area, not the batch
                outcome.status = "failed"
                outcome.error = {"kind": "report", "message": f"{type(exc).__name__}: {exc}",
                                 "summary": f"report rendering failed: {type(exc).__name__}: {exc}",
                                 "cell_index": None, "cell_source": ""}
        outcome.ipynb = notebook_json(nb)
    outcome.seconds = round(time.perf_counter() - started, 3)
    outcome.finished_at = _now()
    return outcome


# ============================================================================ the batch
@dataclass
class BatchConfig:
    """Options of one batch run (the ``jsna batch`` flags)."""

    data_dir: str | os.PathLike[str]
    out_dir: str | os.PathLike[str]
    notebook: str | os.PathLike[str] = DEFAULT_NOTEBOOK
    areas: str | Sequence[PlannedArea] = "all"
    comparator: str = "england"
    period: str = "latest"
    output_format: str = "html"
    parameters: Mapping[str, Any] = field(default_factory=dict)
    workers: int | None = None
    scheduler: Any = None  # an address ("tcp://host:8786") or a dask.distributed.Client
    timeout: float | None = 600.0
    retries: int = 1
    force: bool = False
    self_contained: bool = False
    charts: str = "interactive"  # interactive | svg: how Vega-Lite outputs are drawn (see jsna_lib.report)
    kernel_start: str = "auto"  # auto | fork | spawn
    preload: str | Sequence[str] = "auto"  # auto | none | modules
    refresh_comparisons: bool = True  # compute the all-areas comparison table first when it is stale
    progress: bool = True
    title: str = "Area profile"


@dataclass
class BatchResult:
    """The outcome of :func:`run_batch`: the manifest written, the counts and the exit code."""

    manifest: dict[str, Any]
    out_dir: Path
    exit_code: int

    @property
    def counts(self) -> dict[str, int]:
        return dict(self.manifest["counts"])

    def summary(self) -> str:
        """One line for the terminal."""
        m = self.manifest
        c = m["counts"]
        parts = [f"{c.get('ok', 0) + c.get('skipped', 0)} ok"
                 + (f" ({c['skipped']} unchanged, not re-run)" if c.get("skipped") else "")]
        if c.get("failed"):
            failed = [f"{code} {a['area_name']}: {a['error']['summary']}" for code, a in m["areas"].items()
                      if a["status"] == "failed" and a.get("error")]
            shown = "; ".join(failed[:3]) + (f"; and {len(failed) - 3} more" if len(failed) > 3 else "")
            parts.append(f"{c['failed']} failed ({shown})")
        if c.get("interrupted") or c.get("not_run"):
            parts.append(f"{c.get('interrupted', 0) + c.get('not_run', 0)} not finished (interrupted)")
        return (f"jsna batch: {len(m['areas'])} areas: " + ", ".join(parts)
                + f" in {m['elapsed_s']:.1f} s; index {self.out_dir / INDEX}")


def _versions(dask: bool) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    from . import __version__

    out = {"jsna-workbench": __version__, "python": sys.version.split()[0]}
    names = ["papermill", "nbclient", "nbconvert", "nbformat", "ipykernel", "jupyter_client", "pyzmq",
             "vl-convert-python"] + (["dask", "distributed"] if dask else [])
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


def _previous_manifest(out_dir: Path) -> dict[str, Any]:
    path = out_dir / MANIFEST
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) and data.get("format") == MANIFEST_FORMAT else {}


def _clean_temporaries(out_dir: Path) -> None:
    """Remove temporary files left by a run that was killed (SIGKILL, power cut)."""
    for folder in (out_dir, out_dir / AREAS_DIR, out_dir / ASSETS_DIR):
        if folder.is_dir():
            for tmp in folder.glob(".*.tmp"):
                with contextlib.suppress(OSError):
                    tmp.unlink()


class _Batch:
    """The state of one run: plan, outcomes, files (used by :func:`run_batch`)."""

    def __init__(self, config: BatchConfig, cancel: threading.Event) -> None:
        self.config = config
        self.cancel = cancel
        self.out = Path(config.out_dir).resolve()
        self.areas_dir = self.out / AREAS_DIR
        self.assets_dir = self.out / ASSETS_DIR
        self.entries: dict[str, dict[str, Any]] = {}
        self.started = time.time()
        self._last_manifest = 0.0
        self.header: dict[str, Any] = {}

    # ---------------------------------------------------------------- files
    def write_text(self, path: Path, text: str) -> None:
        report.write_text_atomic(path, text)

    def store_outcome(self, job: AreaJob, outcome: AreaOutcome) -> None:
        """Write an area's files (atomically) and record it; in-flight work after Ctrl-C is dropped."""
        code = job.area_code
        html_path = self.areas_dir / f"{code}.html"
        ipynb_path = self.areas_dir / f"{code}.ipynb"
        failed_path = self.areas_dir / f"{code}.failed.ipynb"
        if outcome.status == "ok" and outcome.page is not None and outcome.ipynb is not None:
            if self.config.self_contained:
                page = report.inline_assets(outcome.page)
            else:
                page = report.externalize_assets(outcome.page, assets_dir=self.assets_dir,
                                                 href_prefix=f"../{ASSETS_DIR}/")
            self.write_text(ipynb_path, outcome.ipynb)
            self.write_text(html_path, page)
            failed_path.unlink(missing_ok=True)
        elif outcome.status == "failed":
            html_path.unlink(missing_ok=True)  # a stale report must not look current
            ipynb_path.unlink(missing_ok=True)
            if outcome.ipynb is not None:
                self.write_text(failed_path, outcome.ipynb)
        entry = self.entries[code]
        entry.update({
            "status": outcome.status, "attempts": outcome.attempts, "seconds": outcome.seconds,
            "started_at": outcome.started_at, "finished_at": outcome.finished_at, "headline": outcome.headline,
            "kernel_peak_rss_mb": outcome.kernel_peak_rss_mb, "kernel_private_mb": outcome.kernel_private_mb,
            "kernel_cpu_s": outcome.kernel_cpu_s,
            "error": outcome.error,
            "attempt_errors": outcome.attempt_errors if len(outcome.attempt_errors) > 1 or
            (outcome.attempt_errors and outcome.status == "ok") else [],
            "worker": outcome.worker, "skipped": False,
            "outputs": ({"html": f"{AREAS_DIR}/{code}.html", "ipynb": f"{AREAS_DIR}/{code}.ipynb"}
                        if outcome.status == "ok" else
                        {"ipynb": f"{AREAS_DIR}/{code}.failed.ipynb"} if outcome.status == "failed" and outcome.ipynb
                        else {}),
        })

    def manifest(self, status: str) -> dict[str, Any]:
        counts = {k: 0 for k in ("ok", "skipped", "failed", "interrupted", "not_run")}
        for entry in self.entries.values():
            key = "skipped" if entry.get("skipped") and entry["status"] == "ok" else entry["status"]
            counts[key] = counts.get(key, 0) + 1
        peak_self = _own_peak_rss_mb()
        peaks = [e["kernel_peak_rss_mb"] for e in self.entries.values()
                 if e.get("kernel_peak_rss_mb") is not None and not e.get("skipped")]
        return {
            **self.header,
            "status": status,
            "finished_at": _now() if status != "running" else None,
            "elapsed_s": round(time.time() - self.started, 2),
            "counts": counts,
            "memory": {"batch_peak_rss_mb": round(peak_self, 1) if peak_self is not None else None,
                       "kernel_peak_rss_mb_max": max(peaks) if peaks else None,
                       "kernel_peak_rss_mb_median": sorted(peaks)[len(peaks) // 2] if peaks else None},
            "areas": self.entries,
        }

    def write_manifest(self, status: str, *, force: bool = False) -> dict[str, Any]:
        manifest = self.manifest(status)
        now = time.monotonic()
        if force or now - self._last_manifest >= _MANIFEST_EVERY_S:
            self.write_text(self.out / MANIFEST, json.dumps(manifest, indent=2, default=str) + "\n")
            self._last_manifest = now
        return manifest

    def write_index(self, manifest: Mapping[str, Any], provenance: report.Provenance) -> None:
        rows = []
        for code, entry in self.entries.items():
            ok = entry["status"] == "ok" and (self.areas_dir / f"{code}.html").exists()
            status = "skipped" if entry.get("skipped") and entry["status"] == "ok" else entry["status"]
            note = entry["error"]["summary"] if entry.get("error") and entry["status"] != "ok" else ""
            rows.append(report.IndexRow(
                area_code=code, area_name=entry["area_name"], area_type=entry["area_type"], status=status,
                headline=entry.get("headline") or "", href=f"{AREAS_DIR}/{code}.html" if ok else None,
                seconds=entry.get("seconds"), note=note))
        nb_name = Path(str(self.config.notebook)).name
        subtitle = (f"Notebook {nb_name}; data {self.config.data_dir}; run {manifest['status']} "
                    f"at {manifest.get('finished_at') or _now()}.")
        page = report.index_html(rows, title=f"{self.config.title}s", provenance=provenance,
                                 summary=manifest["counts"], subtitle=subtitle)
        self.write_text(self.out / INDEX, page)


def _resolve_preload(preload: str | Sequence[str], nb: Mapping[str, Any]) -> tuple[str, ...]:
    if isinstance(preload, str):
        text = preload.strip()
        if text.casefold() == "auto":
            return tuple(notebook_imports(nb))
        if text.casefold() in ("", "none"):
            return ()
        return tuple(p.strip() for p in text.split(",") if p.strip())
    return tuple(preload)


@contextlib.contextmanager
def _signals_set(cancel: threading.Event) -> Iterator[None]:
    """In the main thread: Ctrl-C / SIGTERM set ``cancel`` (a second one raises KeyboardInterrupt)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}

    def handler(signum: int, frame: Any) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError, OSError):
            previous[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            with contextlib.suppress(ValueError, OSError):
                signal.signal(sig, old)


def refresh_comparisons(data_dir: str | os.PathLike[str]) -> bool:
    """Compute the store's all-areas comparison table (:func:`jsna_lib.compare.compare_all`) if it
    has values and the table is missing or older than them; True when it was computed.

    Done once, before any kernel starts: without it every area's profile would compare its own
    rows with England and the region again (~1 s more kernel time per area on the demo store).
    """
    from . import compare
    from .store import Store

    store = Store(data_dir)
    if not store.has("values") or compare.comparisons_current(store):
        return False
    print("computing the all-areas comparison table once...", file=sys.stderr)
    compare.compare_all(store)
    return True


def run_batch(config: BatchConfig, *, cancel: threading.Event | None = None) -> BatchResult:
    """Plan and run a batch (see the module docstring); returns the manifest and the exit code.

    After the plan is checked (a typo in the areas fails at once) and before the data store is
    read, a stale comparisons table is refreshed (:func:`refresh_comparisons`, unless
    ``config.refresh_comparisons`` is off). ``cancel``: set it (from any thread) to stop the run as
    Ctrl-C does. Exit codes: 0 all areas OK, 1 some failed,
    130 interrupted.
    """
    import nbformat

    from .store import Store

    cancel = cancel or threading.Event()
    notebook = Path(config.notebook)
    if not notebook.is_file():
        hint = (" (the area-profile notebook is not in this checkout yet; pass --notebook)"
                if notebook == DEFAULT_NOTEBOOK else "")
        raise BatchError(f"notebook {notebook} not found{hint}")
    data_dir = Path(config.data_dir).resolve()
    if not data_dir.is_dir():
        raise BatchError(f"no data store at {data_dir}: build one with `jsna demo --data-dir {config.data_dir}`")
    if config.retries < 0:
        raise BatchError("--retries must be 0 or more")
    if config.timeout is not None and config.timeout <= 0:
        raise BatchError("--timeout must be a positive number of seconds")
    if config.kernel_start not in ("auto", "fork", "spawn"):
        raise BatchError("--kernel-start must be auto, fork or spawn")
    if config.charts not in report.CHART_MODES:
        raise BatchError(f"--charts must be one of {', '.join(report.CHART_MODES)}")
    planned = list(config.areas) if not isinstance(config.areas, str) else plan_areas(config.areas)
    if not planned:
        raise BatchError(f"--areas {config.areas!r} selects no areas")

    nb_text = notebook.read_text("utf-8")
    try:
        nb = nbformat.reads(nb_text, as_version=4)
    except Exception as exc:
        raise BatchError(f"{notebook} is not a readable notebook: {exc}") from exc
    declared = notebook_parameters(nb)
    extra = dict(config.parameters)
    clash = sorted(set(extra) & set(STANDARD_PARAMETERS))
    if clash:
        raise BatchError(f"-p {', '.join(clash)}: use the dedicated options (--areas, --data-dir, --comparator, "
                         "--period, --output-format) for these")
    if declared is None:
        log.warning("%s has no cell tagged 'parameters': papermill injects the parameters at the top", notebook)
    else:
        unknown = sorted((set(extra) | set(STANDARD_PARAMETERS)) - set(declared))
        if unknown:
            log.warning("parameters not in the notebook's parameters cell: %s", ", ".join(unknown))

    if config.refresh_comparisons:
        refresh_comparisons(data_dir)
    store = Store(data_dir)
    checksum = store.checksum()
    from . import __version__

    provenance = report.provenance_from_store(store.manifest, checksum=checksum, tool_version=__version__)
    nb_sha = notebook_hash(nb)
    kernel_name = (nb.metadata.get("kernelspec") or {}).get("name") or "python3"
    preload = _resolve_preload(config.preload, nb)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    workers = max(1, int(config.workers or cores))

    batch = _Batch(config, cancel)
    batch.out.mkdir(parents=True, exist_ok=True)
    batch.areas_dir.mkdir(exist_ok=True)
    _clean_temporaries(batch.out)
    previous = _previous_manifest(batch.out).get("areas", {})

    common = {"data_dir": str(data_dir), "comparator": config.comparator, "period": config.period,
              "output_format": config.output_format, **extra}
    jobs: list[AreaJob] = []
    for area in planned:
        parameters = {"area_code": area.area_code, **common}
        key = _input_key(notebook_sha=nb_sha, store_checksum=checksum, parameters=parameters,
                         self_contained=config.self_contained, charts=config.charts)
        job = AreaJob(area.area_code, area.area_name, area.area_type, parameters, key)
        entry = {"area_name": area.area_name, "area_type": area.area_type, "input_key": key,
                 "status": "not_run", "skipped": False, "attempts": 0, "seconds": None, "headline": None,
                 "error": None, "outputs": {}}
        old = previous.get(area.area_code) or {}
        unchanged = (not config.force and old.get("status") == "ok" and old.get("input_key") == key
                     and (batch.areas_dir / f"{area.area_code}.html").is_file()
                     and (batch.areas_dir / f"{area.area_code}.ipynb").is_file())
        if unchanged:
            entry.update({k: old.get(k) for k in ("attempts", "seconds", "started_at", "finished_at", "headline",
                                                  "kernel_peak_rss_mb", "kernel_private_mb", "kernel_cpu_s", "worker", "outputs")})
            entry.update(status="ok", skipped=True)
        else:
            jobs.append(job)
        batch.entries[area.area_code] = entry

    run = RunSpec(notebook_json=nb_text, notebook_path=str(notebook), kernel_name=kernel_name,
                  cwd=str(notebook.resolve().parent), timeout=config.timeout, retries=config.retries,
                  provenance=provenance, title=config.title, kernel_start=config.kernel_start, preload=preload,
                  store_checksum=checksum, notebook_sha256=nb_sha, charts=config.charts,
                  data_dir=str(Path(data_dir).resolve()))
    dask = config.scheduler is not None
    batch.header = {
        "format": MANIFEST_FORMAT,
        "tool": "jsna batch",
        "versions": _versions(dask),
        "started_at": dt.datetime.fromtimestamp(batch.started, dt.UTC).isoformat(timespec="seconds"),
        "notebook": {"path": str(notebook), "sha256": nb_sha, "kernel": kernel_name},
        "data": {"dir": str(data_dir), "checksum": checksum, "demonstration": provenance.demonstration,
                 "sources": list(provenance.sources), "updated": provenance.data_updated,
                 "tables": {name: {k: t.get(k) for k in ("rows", "sha256", "source", "written_at")}
                            for name, t in sorted(store.manifest.get("tables", {}).items())},
                 "info": store.manifest.get("info", {})},
        "parameters": common,
        "options": {"areas": config.areas if isinstance(config.areas, str) else "list", "workers": workers,
                    "scheduler": (config.scheduler if isinstance(config.scheduler, str) else
                                  "dask client" if dask else None),
                    "timeout_s": config.timeout, "retries": config.retries, "force": config.force,
                    "self_contained": config.self_contained, "charts": config.charts,
                    "kernel_start": config.kernel_start,
                    "preload": list(preload), "transport": "ipc"},
    }
    batch.write_manifest("running", force=True)

    skipped = len(planned) - len(jobs)
    if skipped and config.progress:
        print(f"jsna batch: {skipped} of {len(planned)} areas unchanged since the last run (skipped; "
              "--force re-runs them)", file=sys.stderr)

    status = "complete"
    with _signals_set(cancel):
        try:
            if jobs:
                if dask:
                    _run_dask(batch, jobs, run, config)
                else:
                    _run_local(batch, jobs, run, config, workers)
        except KeyboardInterrupt:
            cancel.set()
        if cancel.is_set():
            status = "interrupted"
    manifest = batch.write_manifest(status, force=True)
    batch.write_index(manifest, provenance)
    counts = manifest["counts"]
    exit_code = 130 if status == "interrupted" else 1 if counts.get("failed") else 0
    return BatchResult(manifest=manifest, out_dir=batch.out, exit_code=exit_code)


def _progress(total: int, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="area", desc="jsna batch", disable=not enabled, dynamic_ncols=True,
                file=sys.stderr, smoothing=0.1)


def _record(batch: _Batch, job: AreaJob, outcome: AreaOutcome, bar: Any) -> None:
    if batch.cancel.is_set() and outcome.status != "ok":
        outcome.status = "interrupted" if outcome.attempts else "not_run"
        outcome.page = outcome.ipynb = None
    batch.store_outcome(job, outcome)
    if outcome.status == "failed" and outcome.error:
        bar.write(f"  {job.area_code} {job.area_name}: failed after {outcome.attempts} attempt(s): "
                  f"{outcome.error.get('summary') or _describe_error(outcome.error)}", file=sys.stderr)
    if outcome.status in ("ok", "failed"):
        bar.update(1)
    counts = {"ok": 0, "failed": 0}
    for entry in batch.entries.values():
        if entry["status"] in counts and not entry.get("skipped"):
            counts[entry["status"]] += 1
    bar.set_postfix(counts, refresh=False)
    batch.write_manifest("running")


def _run_local(batch: _Batch, jobs: list[AreaJob], run: RunSpec, config: BatchConfig, workers: int) -> None:
    """A thread per worker, each driving one kernel at a time (the kernels do the work)."""
    pool = KernelPool(kernel_name=run.kernel_name, cwd=run.cwd, start=run.kernel_start, preload=run.preload,
                      warm=True, log_path=str(batch.out / LOG), env=run.kernel_env())
    unstarted = [len(jobs)]
    lock = threading.Lock()
    cancel = batch.cancel

    def work(job: AreaJob) -> AreaOutcome:
        with lock:
            unstarted[0] -= 1
            more = unstarted[0] > 0  # another area is waiting: pre-start a kernel for it
        if cancel.is_set():
            return AreaOutcome(area_code=job.area_code, status="not_run")
        try:
            return execute_area(job, run, pool=pool, cancel=cancel, prelaunch=more)
        finally:
            if not more:
                pool.release_thread_kernel()

    bar = _progress(len(jobs), config.progress)
    executor = cf.ThreadPoolExecutor(max_workers=min(workers, len(jobs)), thread_name_prefix="jsna-area")
    try:
        futures = {executor.submit(work, job): job for job in jobs}
        pending = set(futures)
        killed = False
        while pending:
            done, pending = cf.wait(pending, timeout=0.2, return_when=cf.FIRST_COMPLETED)
            for future in done:
                job = futures[future]
                try:
                    outcome = future.result()
                except cf.CancelledError:
                    outcome = AreaOutcome(area_code=job.area_code, status="not_run")
                except Exception as exc:  # a bug in our code, not the notebook's: record, go on
                    log.exception("area %s", job.area_code)
                    outcome = AreaOutcome(area_code=job.area_code, status="failed", attempts=1, error={
                        "kind": "batch_error", "message": f"{type(exc).__name__}: {exc}",
                        "summary": f"batch error: {type(exc).__name__}: {exc}", "cell_index": None,
                        "cell_source": ""})
                _record(batch, job, outcome, bar)
            if cancel.is_set():
                if not killed:
                    killed = True
                    for future in pending:
                        future.cancel()
                pool.stop()
    finally:
        if cancel.is_set():
            pool.stop()
        executor.shutdown(wait=True, cancel_futures=True)
        pool.close()
        bar.close()


def _run_dask(batch: _Batch, jobs: list[AreaJob], run: RunSpec, config: BatchConfig) -> None:
    """One Dask task per area; outcomes come back here and are written by this process."""
    from dask.distributed import Client, as_completed

    own_client = isinstance(config.scheduler, str)
    client = Client(config.scheduler, timeout="30s") if own_client else config.scheduler
    bar = _progress(len(jobs), config.progress)
    token = uuid.uuid4().hex[:8]
    try:
        by_key = {}
        futures = []
        for job in jobs:
            future = client.submit(execute_area, job, run, key=f"jsna-area-{job.area_code}-{token}", pure=False,
                                   retries=config.retries)
            by_key[future.key] = job
            futures.append(future)
        completed = as_completed(futures, with_results=False)
        remaining = set(by_key)
        while remaining:
            if batch.cancel.is_set():
                client.cancel(futures)
                with contextlib.suppress(Exception):
                    client.run(kill_process_kernels)
                break
            batch_done = completed.next_batch(block=False)
            if not batch_done:
                time.sleep(0.1)
                continue
            for future in batch_done:
                job = by_key[future.key]
                remaining.discard(future.key)
                try:
                    outcome = future.result()
                except Exception as exc:
                    outcome = AreaOutcome(area_code=job.area_code, status="failed", attempts=config.retries + 1,
                                          error={"kind": "dask_error", "message": f"{type(exc).__name__}: {exc}",
                                                 "summary": f"Dask task failed: {type(exc).__name__}: {exc}",
                                                 "cell_index": None, "cell_source": ""})
                _record(batch, job, outcome, bar)
    finally:
        with contextlib.suppress(Exception):
            client.run(close_process_pools)
        if own_client:
            client.close()
        bar.close()

