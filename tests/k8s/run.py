#!/usr/bin/env python3
"""End-to-end scenarios of the real operator binary (`slinky operator`) against a Kubernetes
API: kmock (default; tests/k8s/kmock_server.py, in this process) or a real cluster (kind,
EKS) through kubectl and a kubeconfig.

    tests/k8s/run.sh                                 # kmock, the operator as a local process
    tests/k8s/run.py --kubeconfig ~/.kube/config     # a real cluster (see real-cluster.sh)

The scenarios only talk to a `Cluster` (apply, get, list, patch, delete); `KmockCluster` and
`KubectlCluster` implement it, so the same scenarios run on both. Each prints one line
(`ok`/`FAIL`) and the run ends with `k8s: N passed, M failed`; the operator's log is printed
when something failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable, Protocol

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
NS = "slurm"
CLUSTER = "slinky-cluster"


@dataclass(frozen=True)
class Res:
    """A resource: group ('' for core), version, plural."""

    group: str
    version: str
    plural: str

    def path(self, namespace: str | None, name: str | None = None) -> str:
        base = f"/api/{self.version}" if not self.group else f"/apis/{self.group}/{self.version}"
        if namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        return base + (f"/{name}" if name else "")

    def kubectl(self) -> str:
        return self.plural if not self.group else f"{self.plural}.{self.group}"


PODS = Res("", "v1", "pods")
CONFIGMAPS = Res("", "v1", "configmaps")
SECRETS = Res("", "v1", "secrets")
SERVICES = Res("", "v1", "services")
NAMESPACES = Res("", "v1", "namespaces")
STATEFULSETS = Res("apps", "v1", "statefulsets")
DEPLOYMENTS = Res("apps", "v1", "deployments")
CLUSTERS = Res("slinky.io", "v1alpha1", "slurmclusters")
PARTITIONS = Res("slinky.io", "v1alpha1", "partitions")
EVENTS = Res("events.k8s.io", "v1", "events")


def res_of(obj: dict[str, Any]) -> Res:
    api = obj["apiVersion"]
    group, _, version = api.rpartition("/")
    plural = {
        "SlurmCluster": "slurmclusters",
        "Partition": "partitions",
        "Namespace": "namespaces",
        "CustomResourceDefinition": "customresourcedefinitions",
    }.get(obj["kind"]) or obj["kind"].lower() + "s"
    return Res(group, version, plural)


class Cluster(Protocol):
    """What the scenarios need of a Kubernetes API."""

    kubeconfig: str

    def apply(self, obj: dict[str, Any]) -> None: ...
    def get(self, res: Res, namespace: str | None, name: str) -> dict[str, Any] | None: ...
    def list(self, res: Res, namespace: str | None, selector: str | None = None) -> list[dict[str, Any]]: ...
    def merge_patch(self, res: Res, namespace: str | None, name: str, patch: dict[str, Any]) -> None: ...
    def delete(self, res: Res, namespace: str | None, name: str) -> None: ...
    def close(self) -> None: ...


class KmockCluster:
    """kmock in a background thread of this process, spoken to over HTTP."""

    def __init__(self, crds: list[dict[str, Any]], workdir: pathlib.Path, pod_grace: float):
        sys.path.insert(0, str(pathlib.Path(__file__).parent))
        import kmock_server

        self._loop = asyncio.new_event_loop()
        started = threading.Event()
        box: dict[str, Any] = {}

        def run() -> None:
            asyncio.set_event_loop(self._loop)

            async def start() -> None:
                box["emulator"], box["server"] = await kmock_server.serve(crds=crds, pod_grace=pod_grace)
                started.set()

            self._loop.run_until_complete(start())
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="kmock", daemon=True)
        self._thread.start()
        if not started.wait(30):
            raise RuntimeError("kmock did not start")
        self._box = box
        server = box["server"]
        self.url = f"http://{server.host}:{server.port}"
        self.kubeconfig = str(workdir / "kubeconfig")
        pathlib.Path(self.kubeconfig).write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "kmock", "cluster": {"server": self.url}}],
                    "users": [{"name": "kmock", "user": {}}],
                    "contexts": [{"name": "kmock", "context": {"cluster": "kmock", "user": "kmock"}}],
                    "current-context": "kmock",
                }
            )
        )

    def _call(self, method: str, path: str, body: Any = None, ctype: str = "application/json") -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method, headers={"Content-Type": ctype})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def apply(self, obj: dict[str, Any]) -> None:
        if obj["kind"] == "Namespace":
            return  # kmock has no namespace objects (its paths parse /api/v1/namespaces/X as a namespace)
        res = res_of(obj)
        meta = obj["metadata"]
        path = res.path(meta.get("namespace"), meta["name"]) + "?fieldManager=slinky-e2e&force=true"
        code, reply = self._call("PATCH", path, obj, "application/apply-patch+yaml")
        if code >= 300:
            raise RuntimeError(f"apply {res.plural}/{meta['name']}: {code} {reply}")

    def get(self, res: Res, namespace: str | None, name: str) -> dict[str, Any] | None:
        code, reply = self._call("GET", res.path(namespace, name))
        if code == 404:
            return None
        if code >= 300:
            raise RuntimeError(f"get {res.plural}/{name}: {code} {reply}")
        return reply

    def list(self, res: Res, namespace: str | None, selector: str | None = None) -> list[dict[str, Any]]:
        path = res.path(namespace)
        if selector:
            path += "?" + urllib.parse.urlencode({"labelSelector": selector})
        code, reply = self._call("GET", path)
        if code >= 300:
            raise RuntimeError(f"list {res.plural}: {code} {reply}")
        return reply["items"]

    def merge_patch(self, res: Res, namespace: str | None, name: str, patch: dict[str, Any]) -> None:
        code, reply = self._call("PATCH", res.path(namespace, name), patch, "application/merge-patch+json")
        if code >= 300:
            raise RuntimeError(f"patch {res.plural}/{name}: {code} {reply}")

    def delete(self, res: Res, namespace: str | None, name: str) -> None:
        code, reply = self._call("DELETE", res.path(namespace, name), {})
        if code >= 300 and code != 404:
            raise RuntimeError(f"delete {res.plural}/{name}: {code} {reply}")

    def close(self) -> None:
        async def stop() -> None:
            await self._box["server"].__aexit__(None, None, None)
            await self._box["emulator"].__aexit__(None, None, None)

        try:
            asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        except Exception as e:  # noqa: BLE001 - stopping anyway
            print(f"k8s: stopping kmock: {e}", file=sys.stderr)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


class KubectlCluster:
    """A real cluster through kubectl and the given kubeconfig."""

    def __init__(self, kubeconfig: str, kubectl: str = "kubectl"):
        self.kubeconfig = kubeconfig
        self.kubectl = kubectl

    def _run(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [self.kubectl, "--kubeconfig", self.kubeconfig, *args]
        out = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=60)
        if check and out.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)}: {out.stderr.strip()}")
        return out

    @staticmethod
    def _ns(namespace: str | None) -> list[str]:
        return ["-n", namespace] if namespace else []

    def apply(self, obj: dict[str, Any]) -> None:
        self._run("apply", "--server-side", "--force-conflicts", "--field-manager=slinky-e2e", "-f", "-",
                  input=json.dumps(obj))

    def get(self, res: Res, namespace: str | None, name: str) -> dict[str, Any] | None:
        out = self._run("get", res.kubectl(), name, *self._ns(namespace), "-o", "json", check=False)
        if out.returncode != 0:
            if "NotFound" in out.stderr or "not found" in out.stderr:
                return None
            raise RuntimeError(out.stderr.strip())
        return json.loads(out.stdout)

    def list(self, res: Res, namespace: str | None, selector: str | None = None) -> list[dict[str, Any]]:
        args = ["get", res.kubectl(), *self._ns(namespace), "-o", "json"]
        if selector:
            args += ["-l", selector]
        return json.loads(self._run(*args).stdout)["items"]

    def merge_patch(self, res: Res, namespace: str | None, name: str, patch: dict[str, Any]) -> None:
        self._run("patch", res.kubectl(), name, *self._ns(namespace), "--type=merge", "-p", json.dumps(patch))

    def delete(self, res: Res, namespace: str | None, name: str) -> None:
        self._run("delete", res.kubectl(), name, *self._ns(namespace), "--wait=false", "--ignore-not-found")

    def close(self) -> None:
        pass


# ----- scenarios -----


@dataclass
class Ctx:
    cluster: Cluster
    timeout: float
    image: str | None
    operator_log: pathlib.Path | None


def wait_for(what: str, check: Callable[[], Any], timeout: float, interval: float = 0.5) -> Any:
    """Polls `check` until it returns something truthy; raises with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - keep polling, report the last one
            last_error = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}" + (f" (last error: {last_error})" if last_error else ""))


def examples() -> list[dict[str, Any]]:
    docs = []
    for name in ["slurmcluster.yaml", "partition-gpu-static.yaml", "partition-gpu-dynamic.yaml", "partition-cpu.yaml"]:
        docs += [d for d in yaml.safe_load_all((ROOT / "examples/k8s" / name).read_text()) if d]
    return docs


def scenario_cluster_comes_up(ctx: Ctx) -> None:
    """crds/ + the example SlurmCluster and Partitions in → every object of the cluster out."""
    c = ctx.cluster
    c.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    for doc in examples():
        if ctx.image and doc["kind"] == "SlurmCluster":
            doc["spec"]["image"] = ctx.image
        c.apply(doc)

    def config() -> str | None:
        cm = c.get(CONFIGMAPS, NS, f"{CLUSTER}-config")
        return cm and cm.get("data", {}).get("slurm.conf")

    slurm_conf = wait_for("ConfigMap slinky-cluster-config with slurm.conf", config, ctx.timeout)
    for line in [
        "PartitionName=static-gpu-partition Nodes=static-gpu-partition-[0-1]",
        "PartitionName=gpu-partition Nodes=gpu-partition-[0-1]",
        "PartitionName=cpu-partition Nodes=cpu-partition-[0-9]",
        "NodeName=gpu-partition-[0-1] ",
    ]:
        assert line in slurm_conf, f"slurm.conf lacks {line!r}:\n{slurm_conf}"
    expected = [
        (STATEFULSETS, f"{CLUSTER}-controller"),
        (DEPLOYMENTS, f"{CLUSTER}-dbd"),
        (DEPLOYMENTS, f"{CLUSTER}-login"),
        (SERVICES, f"{CLUSTER}-controller"),
        (SERVICES, f"{CLUSTER}-controller-hl"),
        (SERVICES, f"{CLUSTER}-dbd"),
        (SERVICES, f"{CLUSTER}-workers"),
        (SECRETS, f"{CLUSTER}-auth-key"),
        (PODS, f"{CLUSTER}-static-gpu-partition-0"),
        (PODS, f"{CLUSTER}-static-gpu-partition-1"),
    ]
    for res, name in expected:
        wait_for(f"{res.plural}/{name}", lambda: c.get(res, NS, name), ctx.timeout)
    sts = c.get(STATEFULSETS, NS, f"{CLUSTER}-controller")
    args = sts["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[:1] == ["slurmctld"], args
    key = c.get(SECRETS, NS, f"{CLUSTER}-auth-key")
    assert key.get("data", {}).get("slurm.key"), "the auth key Secret has no slurm.key"
    pod = c.get(PODS, NS, f"{CLUSTER}-static-gpu-partition-0")
    assert pod["spec"]["containers"][0]["args"][:2] == ["slurmd", "-D"], pod["spec"]["containers"][0]["args"]
    assert pod["spec"].get("nodeSelector") == {"role": "slurm-static-gpu"}, pod["spec"].get("nodeSelector")
    # Dynamic partitions have no pods until the controller resumes their nodes.
    dynamic = c.list(PODS, NS, f"slinky.io/cluster={CLUSTER},slinky.io/partition=gpu-partition")
    assert dynamic == [], [p["metadata"]["name"] for p in dynamic]
    # Both kinds carry the drain finalizer.
    for res, name in [(CLUSTERS, CLUSTER), (PARTITIONS, "static-gpu-partition")]:
        wait_for(f"finalizer on {res.plural}/{name}",
                 lambda: "slinky.io/drain" in (c.get(res, NS, name)["metadata"].get("finalizers") or []),
                 ctx.timeout)
    wait_for("SlurmCluster status", lambda: (c.get(CLUSTERS, NS, CLUSTER).get("status") or {}).get("phase"),
             ctx.timeout)


def scenario_static_pod_recreated(ctx: Ctx) -> None:
    """Deleting a static worker pod → the operator creates it again."""
    c = ctx.cluster
    name = f"{CLUSTER}-static-gpu-partition-1"
    before = c.get(PODS, NS, name)
    assert before, f"pod {name} missing"
    c.delete(PODS, NS, name)

    def replaced() -> bool:
        pod = c.get(PODS, NS, name)
        return bool(pod and pod["metadata"]["uid"] != before["metadata"]["uid"]
                    and not pod["metadata"].get("deletionTimestamp"))

    wait_for(f"pod {name} recreated", replaced, ctx.timeout)


def scenario_partition_change_rerenders(ctx: Ctx) -> None:
    """A Partition change (cpu-partition nodes 10 → 12) re-renders slurm.conf."""
    c = ctx.cluster
    c.merge_patch(PARTITIONS, NS, "cpu-partition", {"spec": {"nodes": 12}})

    def rerendered() -> bool:
        cm = c.get(CONFIGMAPS, NS, f"{CLUSTER}-config")
        return "PartitionName=cpu-partition Nodes=cpu-partition-[0-11]" in cm["data"]["slurm.conf"]

    wait_for("slurm.conf with cpu-partition-[0-11]", rerendered, ctx.timeout)
    sts = c.get(STATEFULSETS, NS, f"{CLUSTER}-controller")
    cm = c.get(CONFIGMAPS, NS, f"{CLUSTER}-config")
    assert sts["spec"]["template"]["metadata"]["annotations"].get("slinky.io/config-hash"), "no config hash"
    assert "cpu-partition-[0-11]" in cm["data"]["slurm.conf"]


def scenario_terminating_pod_is_drained(ctx: Ctx) -> None:
    """A worker pod being deleted → the operator drains its Slurm node first (event
    PodTerminating on the SlurmCluster). Needs a running Slurm controller the operator can
    reach: a real cluster with the operator in it."""
    c = ctx.cluster
    name = f"{CLUSTER}-static-gpu-partition-0"
    c.delete(PODS, NS, name)

    def drain_event() -> str | None:
        for e in c.list(EVENTS, NS):
            note = e.get("note") or e.get("message") or ""
            if e.get("reason") in ("PodTerminating", "DrainFailed") and "static-gpu-partition-0" in note:
                return f"{e['reason']}: {note}"
        return None

    seen = wait_for("an event about draining static-gpu-partition-0", drain_event, ctx.timeout)
    print(f"       {seen}")


# (name, scenario, needs a Slurm controller: kmock has none behind it, so these are skipped
# there and run on a real cluster whose operator runs in the cluster).
SCENARIOS: list[tuple[str, Callable[[Ctx], None], bool]] = [
    ("cluster comes up", scenario_cluster_comes_up, False),
    ("deleted static pod is recreated", scenario_static_pod_recreated, False),
    ("partition change re-renders slurm.conf", scenario_partition_change_rerenders, False),
    ("terminating worker pod is drained", scenario_terminating_pod_is_drained, True),
]


# ----- the operator process -----


def start_operator(binary: str, kubeconfig: str, log: pathlib.Path) -> subprocess.Popen:
    env = dict(os.environ, KUBECONFIG=kubeconfig, RUST_LOG=os.environ.get("RUST_LOG", "info"))
    env.pop("KUBERNETES_SERVICE_HOST", None)
    out = open(log, "w")
    return subprocess.Popen([binary, "operator"], env=env, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop_operator(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kubeconfig", help="a real cluster's kubeconfig (default: start kmock)")
    ap.add_argument("--slinky", default=os.environ.get("SLINKY_BIN"), help="the slinky binary (for `slinky operator`)")
    ap.add_argument("--no-operator", action="store_true",
                    help="do not start `slinky operator` (one already runs in the cluster)")
    ap.add_argument("--skip-crds", action="store_true", help="do not apply crds/ (real cluster)")
    ap.add_argument("--image", help="the slinky image for the SlurmCluster (real cluster)")
    ap.add_argument("--timeout", type=float, default=60, help="seconds each wait may take")
    ap.add_argument("--pod-grace", type=float, default=3, help="kmock: seconds a deleted pod takes to go")
    ap.add_argument("--only", action="append", default=[], help="run only scenarios whose name contains this")
    args = ap.parse_args()

    workdir = pathlib.Path(tempfile.mkdtemp(prefix="slinky-k8s-"))
    crds = [d for d in yaml.safe_load_all((ROOT / "crds/slinky.io_crds.yaml").read_text()) if d]
    if args.kubeconfig:
        cluster: Cluster = KubectlCluster(args.kubeconfig)
        if not args.skip_crds:
            for crd in crds:
                cluster.apply(crd)
        print(f"k8s: real cluster ({args.kubeconfig})")
    else:
        cluster = KmockCluster(crds, workdir, args.pod_grace)
        print(f"k8s: kmock at {cluster.url}")

    proc = None
    log = workdir / "operator.log"
    if not args.no_operator:
        if not args.slinky or not os.access(args.slinky, os.X_OK):
            print(f"k8s: no slinky binary (--slinky or SLINKY_BIN): {args.slinky}", file=sys.stderr)
            return 2
        proc = start_operator(args.slinky, cluster.kubeconfig, log)
    ctx = Ctx(cluster=cluster, timeout=args.timeout, image=args.image, operator_log=log if proc else None)

    passed = failed = skipped = 0
    slurm_reachable = bool(args.kubeconfig and args.no_operator)
    try:
        for name, scenario, needs_slurm in SCENARIOS:
            if args.only and not any(o in name for o in args.only):
                continue
            if needs_slurm and not slurm_reachable:
                skipped += 1
                why = "kmock" if not args.kubeconfig else "the operator runs outside the cluster"
                print(f"  skip {name} (needs a reachable Slurm controller; {why})")
                continue
            start = time.monotonic()
            try:
                scenario(ctx)
                passed += 1
                print(f"  ok   {name} ({time.monotonic() - start:.1f}s)")
            except Exception as e:  # noqa: BLE001
                failed += 1
                print(f"  FAIL {name} ({time.monotonic() - start:.1f}s): {e}")
                if not isinstance(e, AssertionError):
                    traceback.print_exc()
                if proc is not None and proc.poll() is not None:
                    print(f"  the operator exited with {proc.returncode}")
                    break
    finally:
        if proc is not None:
            stop_operator(proc)
        cluster.close()
    if failed and proc is not None:
        print("---- operator log (last 80 lines) ----")
        print("\n".join(log.read_text(errors="replace").splitlines()[-80:]))
    print(f"k8s: {passed} passed, {failed} failed, {skipped} skipped")
    if not failed:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
