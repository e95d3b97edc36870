"""Three PostgreSQL nodes under Patroni, with one etcd, on this machine's loopback: the recipe to try.

    python3 deploy/patroni/local_cluster.py up /tmp/crm-patroni     # prints the cluster (JSON), once it is ready
    python3 deploy/patroni/local_cluster.py crash /tmp/crm-patroni  # kills the leader as if its host died
    python3 deploy/patroni/local_cluster.py down /tmp/crm-patroni   # stops every process it started

Each node runs patroni.yml.in (next to this script) filled in with its own free ports under DIRECTORY/nodeN/;
etcd keeps DIRECTORY/etcd/. `up` returns once a leader and a synchronous standby stream to each other; the
processes go on in the background (logs: DIRECTORY/*/log). Only the standard library: any Python 3.11 runs it.
As root, pass --user: etcd, Patroni and PostgreSQL run as that user (PostgreSQL refuses root). The failover test
(tests/ops/test_failover.py) runs this script too.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"
NODES = ("node1", "node2", "node3")
SCOPE = "crm"
REPLICATION_USER = "replicator"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def newest_debian_binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
    return Path(found[-1]) if found else None


def fetch(url: str, timeout: float = 2) -> tuple[int, Any]:
    """GET `url`: its status and JSON body (None when it has none); 0 when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (a URL of our own)
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    except OSError:
        return 0, None
    try:
        return status, json.loads(body)
    except ValueError:
        return status, None


def wait_until(what: str, ready: Any, timeout: float, logs: list[Path]) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := ready():
            return found
        time.sleep(0.2)
    tails = "\n".join(f"--- {log}\n{log.read_text()[-2000:]}" for log in logs if log.exists())
    raise SystemExit(f"{what}: not within {timeout:.0f} s\n{tails}")


def start(command: list[str], log: Path, user: str | None) -> int:
    """Starts `command` in a session of its own (so it outlives this script), as `user` when given."""
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    identity: dict[str, Any] = {}
    if user is not None:
        account = pwd.getpwnam(user)
        identity = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        environment["HOME"] = account.pw_dir
    with log.open("ab") as output:
        process = subprocess.Popen(  # noqa: S603 (our own command line)
            command,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=environment,
            start_new_session=True,
            **identity,
        )
    return process.pid


def up(
    directory: Path, bin_dir: Path, user: str | None, superuser: str, timings: dict[str, int]
) -> dict[str, Any]:
    directory.mkdir(parents=True, exist_ok=True)
    etcd_dir = directory / "etcd"
    etcd_dir.mkdir(exist_ok=True)
    etcd_client, etcd_peer = free_port(), free_port()
    cluster: dict[str, Any] = {
        "directory": str(directory),
        "hosts": "",  # the service's DATABASE_URL lists them: host:port,host:port,host:port
        "etcd": {"client_port": etcd_client, "peer_port": etcd_peer},
        "superuser": superuser,
        "superuser_password": secrets.token_urlsafe(18),
        "replication_user": REPLICATION_USER,
        "replication_password": secrets.token_urlsafe(18),
        "nodes": [],
    }
    template = string.Template((HERE / "patroni.yml.in").read_text())
    for name in NODES:
        node_dir = directory / name
        node_dir.mkdir(mode=0o700, exist_ok=True)
        node = {
            "name": name,
            "pg_port": free_port(),
            "rest_port": free_port(),
            "data_dir": str(node_dir / "data"),
        }
        config = template.substitute(
            scope=SCOPE,
            name=name,
            host=HOST,
            etcd_hosts=f"{HOST}:{etcd_client}",
            node_dir=node_dir,
            bin_dir=bin_dir,
            superuser=superuser,
            superuser_password=cluster["superuser_password"],
            replication_user=REPLICATION_USER,
            replication_password=cluster["replication_password"],
            **{key: node[key] for key in ("pg_port", "rest_port", "data_dir")},
            **timings,
        )
        (node_dir / "patroni.yml").write_text(config)
        (node_dir / "patroni.yml").chmod(0o600)  # it holds the passwords
        cluster["nodes"].append(node)
    cluster["hosts"] = ",".join(f"{HOST}:{node['pg_port']}" for node in cluster["nodes"])
    if user is not None:
        for path in (directory, *directory.rglob("*")):
            shutil.chown(path, user, pwd.getpwnam(user).pw_gid)

    # etcd: one member, on loopback. Production: three (or five) members on hosts of their own (README).
    etcd = shutil.which("etcd") or "/usr/bin/etcd"
    cluster["etcd"]["pid"] = start(
        [
            etcd,
            *("--name", "crm-etcd", "--data-dir", str(etcd_dir / "data")),
            *("--listen-client-urls", f"http://{HOST}:{etcd_client}"),
            *("--advertise-client-urls", f"http://{HOST}:{etcd_client}"),
            *("--listen-peer-urls", f"http://{HOST}:{etcd_peer}"),
            *("--initial-advertise-peer-urls", f"http://{HOST}:{etcd_peer}"),
            *("--initial-cluster", f"crm-etcd=http://{HOST}:{etcd_peer}"),
        ],
        etcd_dir / "log",
        user,
    )
    save(directory, cluster)  # from here on, `down` stops what was started, whatever happens next
    logs = [etcd_dir / "log", *(directory / name / "log" for name in NODES)]
    wait_until(
        "etcd answering",
        lambda: fetch(f"http://{HOST}:{etcd_client}/health")[0] == 200,
        30,
        logs,
    )
    patroni = shutil.which("patroni") or "/usr/bin/patroni"
    for node in cluster["nodes"]:
        node_dir = directory / node["name"]
        node["pid"] = start([patroni, str(node_dir / "patroni.yml")], node_dir / "log", user)
    save(directory, cluster)

    def ready() -> list[dict[str, Any]] | None:
        """The members, once one leads with a synchronous standby and the other standby runs."""
        status, body = fetch(f"http://{HOST}:{cluster['nodes'][0]['rest_port']}/cluster")
        members = (body or {}).get("members", []) if status == 200 else []
        roles = sorted(m.get("role", "") for m in members if m.get("state") in ("running", "streaming"))
        return list(members) if roles == ["leader", "replica", "sync_standby"] else None

    members = wait_until("a leader, a synchronous standby and a standby", ready, 120, logs)
    cluster["leader"] = next(m["name"] for m in members if m["role"] == "leader")
    save(directory, cluster)
    return cluster


def save(directory: Path, cluster: dict[str, Any]) -> None:
    """DIRECTORY/cluster.json: what `crash` and `down` act on (readable by its owner only: the passwords)."""
    path = directory / "cluster.json"
    path.touch(mode=0o600)
    path.write_text(json.dumps(cluster, indent=2))


def leader(cluster: dict[str, Any]) -> dict[str, Any] | None:
    """The node that leads now, as its own REST API says (GET /primary: 200 on the leader only)."""
    for node in cluster["nodes"]:
        if fetch(f"http://{HOST}:{node['rest_port']}/primary", timeout=1)[0] == 200:
            return dict(node)
    return None


def crash(directory: Path) -> dict[str, Any]:
    """Kills the leader's Patroni and its PostgreSQL (the postmaster and every process it started) with
    SIGKILL, as when its host dies: nothing is shut down, nothing more is committed. Returns the node."""
    cluster = json.loads((directory / "cluster.json").read_text())
    node = leader(cluster)
    if node is None:
        raise SystemExit("No node leads: nothing to crash")
    postmaster = postmaster_pid(Path(node["data_dir"]))
    signal_ours(node["pid"], directory / node["name"] / "patroni.yml", signal.SIGKILL)
    if postmaster is not None:
        kill_server(postmaster)
    return node


def kill_server(postmaster: int) -> None:
    """SIGKILL to the postmaster and every process it started. Each backend is a session of its own
    (PostgreSQL's children call setsid), so no process group holds them all; and a backend left alive would
    notice its postmaster's death only at its next wait: meanwhile it could still commit (its walsender
    alive too), which a dead host cannot."""
    children = [pid for pid in all_pids() if parent_of(pid) == postmaster]
    with contextlib.suppress(ProcessLookupError):
        os.kill(postmaster, signal.SIGKILL)  # first: it forks no new backend after this
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def all_pids() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def parent_of(pid: int) -> int | None:
    try:  # /proc/PID/stat: "pid (command) state ppid …"; the command may hold spaces and parentheses
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def down(directory: Path) -> None:
    """Stops the nodes (Patroni stops its PostgreSQL), then etcd; kills what is still there after 15 s."""
    cluster = json.loads((directory / "cluster.json").read_text())
    # A process id is signalled only while it is still the process started here (its command line names
    # this cluster's files): a dead node's id may since have gone to someone else's process.
    nodes = [
        (node["pid"], directory / node["name"] / "patroni.yml", Path(node["data_dir"]))
        for node in cluster["nodes"]
        if "pid" in node
    ]
    for pid, config, _ in nodes:
        signal_ours(pid, config, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while any(running(pid, config) for pid, config, _ in nodes) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid, config, data_dir in nodes:
        signal_ours(pid, config, signal.SIGKILL)
        postmaster = postmaster_pid(data_dir)
        if postmaster is not None:  # Patroni could not stop it
            kill_server(postmaster)
    etcd, etcd_data = cluster["etcd"].get("pid"), directory / "etcd" / "data"
    if etcd is not None:
        signal_ours(etcd, etcd_data, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while running(etcd, etcd_data) and time.monotonic() < deadline:
            time.sleep(0.1)
        signal_ours(etcd, etcd_data, signal.SIGKILL)


def postmaster_pid(data_dir: Path) -> int | None:
    """The node's postmaster, from its postmaster.pid (its first line), if it is still running."""
    try:
        pid = int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None
    return pid if running(pid, data_dir) else None


def running(pid: int, marker: Path) -> bool:
    """Whether process `pid` is alive and its command line names `marker` (a file of this cluster's)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0]
    except (OSError, IndexError):
        return False
    return state != "Z" and str(marker) in command  # a zombie (a child of ours, unreaped) is gone


def signal_ours(pid: int, marker: Path, signum: signal.Signals) -> None:
    if running(pid, marker):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=("up", "crash", "down"))
    parser.add_argument("directory", type=Path)
    parser.add_argument(
        "--bin-dir", type=Path, default=None, help="PostgreSQL's binaries (default: Debian's newest)"
    )
    parser.add_argument(
        "--user", default=None, help="run etcd, Patroni and PostgreSQL as this user (root only)"
    )
    parser.add_argument("--superuser", default="postgres", help="the clusters' superuser (default: postgres)")
    parser.add_argument("--ttl", type=int, default=8)
    parser.add_argument("--loop-wait", type=int, default=1)
    parser.add_argument("--retry-timeout", type=int, default=3)
    args = parser.parse_args()
    directory = args.directory.resolve()
    if args.command == "down":
        down(directory)
        return
    if args.command == "crash":
        print(f"Killed {crash(directory)['name']}, the leader (Patroni and PostgreSQL, SIGKILL)")
        return
    if os.geteuid() == 0 and args.user is None:
        raise SystemExit("PostgreSQL refuses to run as root: pass --user (e.g. --user postgres)")
    bin_dir = args.bin_dir or newest_debian_binaries()
    if bin_dir is None or not (bin_dir / "postgres").exists():
        raise SystemExit("No PostgreSQL server binaries: pass --bin-dir (apt-get install postgresql)")
    if args.loop_wait + 2 * args.retry_timeout > args.ttl:
        raise SystemExit("Patroni needs loop_wait + 2 * retry_timeout <= ttl")
    timings = {"ttl": args.ttl, "loop_wait": args.loop_wait, "retry_timeout": args.retry_timeout}
    cluster = up(directory, bin_dir.resolve(), args.user, args.superuser, timings)
    json.dump(cluster, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
