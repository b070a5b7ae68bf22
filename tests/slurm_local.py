"""A real SLURM cluster on this machine for the tests and the benchmark: munged, slurmctld
and three slurmd (nodes n1-n3 of one CPU each) on 127.0.0.1, from Debian's `slurm-wlm` and
`munge`, with a minimal config (no accounting: `solidcli.executors` watches the queue itself),
every file under one folder. `LocalSlurm.start(folder)` starts them (SLURM_CONF set in this
process, so sbatch, squeue and submitit find them); `.stop()` stops every daemon by PID.

    python tests/slurm_local.py start <folder>   # prints the SLURM_CONF to export
    python tests/slurm_local.py stop <folder>
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

NODES = ("n1", "n2", "n3")
DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue")


class SlurmUnavailable(RuntimeError):
    """The daemons could not start here (the reason is the message)."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(root: Path, host: str) -> str:
    ctld, slurmd = _free_port(), _free_port()
    nodes = "\n".join(f"NodeName={n} NodeHostname={host} NodeAddr=127.0.0.1 Port={slurmd + i} "
                      "CPUs=1 RealMemory=1000 State=UNKNOWN" for i, n in enumerate(NODES))
    return f"""ClusterName=solidtest
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={root}/munge.sock
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool/%n
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd-%n.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
MpiDefault=none
ReturnToService=2
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
SlurmdParameters=config_overrides
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MinJobAge=300
MaxArraySize=10000
{nodes}
PartitionName=debug Nodes={','.join(NODES)} Default=YES MaxTime=INFINITE State=UP
"""


class LocalSlurm:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.conf = root / "slurm.conf"
        self.pids: dict[str, int] = {}
        self._env_before: str | None = None

    @classmethod
    def start(cls, root: Path | str, timeout: float = 60.0) -> LocalSlurm:
        missing = [d for d in DAEMONS if shutil.which(d) is None
                   and not Path(f"/usr/sbin/{d}").exists()]
        if missing:
            raise SlurmUnavailable(f"{', '.join(missing)} not installed (Debian: apt-get install "
                                   "slurm-wlm munge)")
        if os.geteuid() != 0:
            raise SlurmUnavailable("the SLURM daemons of the tests run as root")
        self = cls(Path(root).resolve())
        try:
            self._start(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _run_daemon(self, name: str, args: list[str], pidfile: Path) -> None:
        out = subprocess.run(args, capture_output=True, text=True, timeout=30, check=False,
                             env={**os.environ, "SLURM_CONF": str(self.conf)})
        deadline = time.monotonic() + 10
        while not pidfile.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        if not pidfile.exists() or out.returncode != 0:
            raise SlurmUnavailable(f"{name} did not start (exit {out.returncode}): "
                                   f"{(out.stderr or out.stdout).strip()[-300:]}; "
                                   f"logs in {self.root}")
        time.sleep(0.2)  # the pid file is written before it is complete, on some versions
        self.pids[name] = int(pidfile.read_text().split()[0])

    def _start(self, timeout: float) -> None:
        root = self.root
        for sub in ("state", "spool", *(f"spool/{n}" for n in NODES)):
            (root / sub).mkdir(parents=True, exist_ok=True)
        root.chmod(0o700)
        key = root / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        self.conf.write_text(_config(root, socket.gethostname()))
        munged = shutil.which("munged") or "/usr/sbin/munged"
        self._run_daemon("munged", [munged, "--force", f"--socket={root}/munge.sock",
                                    f"--key-file={key}", f"--pid-file={root}/munged.pid",
                                    f"--log-file={root}/munged.log",
                                    f"--seed-file={root}/munged.seed"], root / "munged.pid")
        self._run_daemon("slurmctld", [shutil.which("slurmctld") or "/usr/sbin/slurmctld",
                                       "-f", str(self.conf), "-i"], root / "slurmctld.pid")
        for n in NODES:
            self._run_daemon(f"slurmd {n}", [shutil.which("slurmd") or "/usr/sbin/slurmd",
                                             "-f", str(self.conf), "-N", n],
                             root / f"slurmd-{n}.pid")
        self._env_before = os.environ.get("SLURM_CONF")
        os.environ["SLURM_CONF"] = str(self.conf)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = subprocess.run(["sinfo", "-h", "-N", "-o", "%N %t"], capture_output=True,
                                 text=True, timeout=30, check=False)
            states = dict(line.split() for line in out.stdout.splitlines() if line.strip())
            if len(states) == len(NODES) and all(s.startswith("idle") for s in states.values()):
                return
            time.sleep(0.5)
        raise SlurmUnavailable(f"the nodes did not come up within {timeout:.0f} s "
                               f"(sinfo: {out.stdout.strip() or out.stderr.strip()}); logs in "
                               f"{root}")

    def _ours(self) -> set[int]:
        """Every process this cluster started: its daemons and their children, and the job
        steps and jobs (slurmstepd detaches from slurmd; they all carry its SLURM_CONF)."""
        from cluster_support import descendants

        pids = set(self.pids.values())
        pids |= {d for p in pids for d in descendants(p)}
        mark = f"SLURM_CONF={self.conf}".encode()
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                if mark in proc.joinpath("environ").read_bytes().split(b"\0"):
                    pids.add(int(proc.name))
            except OSError:
                continue
        pids.discard(os.getpid())
        return pids

    def stop(self) -> None:
        """Every job cancelled, then every process of the cluster stopped by PID: SIGTERM,
        then SIGKILL."""
        from cluster_support import stop_pids

        if self.pids:
            subprocess.run(["scancel", "--full", "--user=root"], capture_output=True,
                           timeout=30, check=False, env={**os.environ,
                                                         "SLURM_CONF": str(self.conf)})
            stop_pids(self._ours(), grace=3.0)
            self.pids.clear()
        if self._env_before is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = self._env_before


def main(argv: list[str]) -> int:
    action, root = argv[1], Path(argv[2])
    sys.path.insert(0, str(Path(__file__).parent))
    if action == "start":
        slurm = LocalSlurm.start(root)
        (root / "pids").write_text(" ".join(map(str, slurm.pids.values())))
        print(f"export SLURM_CONF={slurm.conf}")
        return 0
    for pid in map(int, (root / "pids").read_text().split()):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
