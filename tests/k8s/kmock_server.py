"""A Kubernetes API server for the operator's end-to-end scenarios: kmock's emulator
(https://pypi.org/project/kmock/) with what slinky's operator needs and kmock 0.8 lacks.

kmock stores objects, serves lists and watches and accepts declared resources (CRDs).
This subclass adds, for the operator's requests:

- server-side apply (PATCH application/apply-patch+yaml) that creates a missing object
  (kmock 404s a patch of a missing object), JSON patches (kube's finalizer helper) and
  merge patches where null deletes a key;
- label selectors on lists and watches (kmock returns every object: the operator lists
  worker pods with selectors, and its pod watch has one);
- uid, creationTimestamp, a growing resourceVersion, and generation bumped on spec
  changes (kmock has none of these);
- pods deleted gracefully as a kubelet would: DELETE sets deletionTimestamp and
  deletionGracePeriodSeconds, and the pod goes away POD_GRACE seconds later; new pods
  get status.phase Running, StatefulSets and Deployments their replicas as ready (there
  is no scheduler, kubelet or workload controller behind it).

What it still does not do: schema validation, CEL rules, defaulting, field ownership of
server-side apply (an apply merges into the object; fields it leaves out stay), garbage
collection by ownerReferences, or authentication.
"""

from __future__ import annotations

import asyncio
import copy
import datetime
import itertools
import json
import re
import uuid
from typing import Any

import aiohttp.web
import jsonpatch
import kmock
import yaml
from kmock._internal import enums, k8s, references, rendering

# Built-in resources the operator reads or writes: group/version/plural -> (kind, namespaced).
BUILTIN = {
    "v1/pods": ("Pod", True),
    "v1/configmaps": ("ConfigMap", True),
    "v1/secrets": ("Secret", True),
    "v1/services": ("Service", True),
    "v1/serviceaccounts": ("ServiceAccount", True),
    "v1/persistentvolumeclaims": ("PersistentVolumeClaim", True),
    "v1/namespaces": ("Namespace", False),
    "v1/nodes": ("Node", False),
    "v1/events": ("Event", True),
    "events.k8s.io/v1/events": ("Event", True),
    "apps/v1/statefulsets": ("StatefulSet", True),
    "apps/v1/deployments": ("Deployment", True),
    "policy/v1/poddisruptionbudgets": ("PodDisruptionBudget", True),
    "rbac.authorization.k8s.io/v1/roles": ("Role", True),
    "rbac.authorization.k8s.io/v1/rolebindings": ("RoleBinding", True),
    "apiextensions.k8s.io/v1/customresourcedefinitions": ("CustomResourceDefinition", False),
}


def now() -> str:
    return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def merge(base: Any, patch: Any) -> Any:
    """RFC 7386 merge patch: dicts merge, null deletes, everything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(base) if isinstance(base, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge(out.get(key), value)
    return out


_SELECTOR_TERM = re.compile(
    r"^\s*(?P<neg>!)?\s*(?P<key>[^\s!=,()]+)\s*"
    r"(?:(?P<op>==|=|!=)\s*(?P<value>[^\s,()]*)|\s+(?P<set>in|notin)\s*\((?P<values>[^)]*)\))?\s*$"
)


def split_selector(selector: str) -> list[str]:
    """Splits on commas outside parentheses."""
    terms, depth, current = [], 0, ""
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += ch
    if current.strip():
        terms.append(current)
    return terms


def matches_labels(labels: dict[str, str], selector: str | None) -> bool:
    """Kubernetes label selector semantics (=, ==, !=, in, notin, key, !key)."""
    if not selector:
        return True
    for term in split_selector(selector):
        m = _SELECTOR_TERM.match(term)
        if m is None:
            raise ValueError(f"unparsable label selector term {term!r}")
        key = m["key"]
        if m["op"] in ("=", "=="):
            ok = labels.get(key) == m["value"]
        elif m["op"] == "!=":
            ok = labels.get(key) != m["value"]
        elif m["set"]:
            values = {v.strip() for v in m["values"].split(",")}
            ok = (labels.get(key) in values) if m["set"] == "in" else (labels.get(key) not in values)
        else:
            ok = (key not in labels) if m["neg"] else (key in labels)
        if not ok:
            return False
    return True


def matches_fields(obj: dict[str, Any], selector: str | None) -> bool:
    """Only metadata.name and metadata.namespace (what kube's clients use)."""
    if not selector:
        return True
    for term in split_selector(selector):
        key, op, value = re.match(r"^([^!=]+)(==|=|!=)(.*)$", term.strip()).groups()
        field = obj.get("metadata", {}).get(key.removeprefix("metadata."))
        if (field == value) != (op != "!="):
            return False
    return True


def tolerant_tests(obj: dict[str, Any], ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """As the API server's JSON patch does, a `test` for null passes on a missing path (kube's
    finalizer helper sends one before adding the first finalizer)."""
    out = []
    for op in ops:
        if op.get("op") == "test" and op.get("value") is None:
            try:
                jsonpatch.JsonPointer(op["path"]).resolve(obj)
            except jsonpatch.JsonPointerException:
                continue
        out.append(op)
    return out


class SlinkyKubernetes(k8s.KubernetesEmulator):
    """The emulator with the additions listed in the module's docstring."""

    pod_grace: float = 3.0

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self._rv = itertools.count(1)
        self._tasks: set[asyncio.Task] = set()
        for key, (kind, namespaced) in BUILTIN.items():
            self.resources[key] = {"kind": kind, "namespaced": namespaced, "subresources": ["status"]}

    # ----- declarations -----

    def declare_crds(self, documents: list[dict[str, Any]]) -> None:
        """Declares every version of these CustomResourceDefinitions and stores them."""
        for crd in documents:
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            spec = crd["spec"]
            for version in spec["versions"]:
                key = f"{spec['group']}/{version['name']}/{spec['names']['plural']}"
                self.resources[key] = {
                    "kind": spec["names"]["kind"],
                    "singular": spec["names"].get("singular"),
                    "shortnames": spec["names"].get("shortNames", []),
                    "namespaced": spec["scope"] == "Namespaced",
                    "subresources": list((version.get("subresources") or {}).keys()),
                    "verbs": ["get", "list", "watch", "create", "patch", "delete"],
                }
            name = crd["metadata"]["name"]
            res = references.resource("apiextensions.k8s.io/v1/customresourcedefinitions")
            self.objects[res, None, name] = self._fresh(crd)

    # ----- helpers -----

    def _next_rv(self) -> str:
        return str(next(self._rv))

    def _fresh(self, obj: dict[str, Any]) -> dict[str, Any]:
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", now())
        meta["resourceVersion"] = self._next_rv()
        meta.setdefault("generation", 1)
        kind = obj.get("kind")
        if kind == "Pod":
            obj.setdefault("status", {})
            obj["status"].setdefault("phase", "Running")
            obj["status"].setdefault("conditions", [{"type": "Ready", "status": "True"}])
        elif kind in ("StatefulSet", "Deployment"):
            replicas = (obj.get("spec") or {}).get("replicas", 1)
            obj["status"] = {
                "replicas": replicas,
                "readyReplicas": replicas,
                "availableReplicas": replicas,
                "observedGeneration": 1,
            }
        return obj

    def _key(self, request: rendering.Request, name: str | None = None) -> tuple:
        info = self.resources[request.resource] if request.resource in self.resources else None
        namespace = request.namespace if info is None or info.namespaced is not False else None
        return (request.resource, namespace, name or request.name)

    def _current(self, key: tuple) -> dict[str, Any] | None:
        if key not in self.objects or self.objects[key].deleted:
            return None
        return copy.deepcopy(self.objects[key].raw)

    async def _store(self, key: tuple, obj: dict[str, Any], event: str) -> dict[str, Any]:
        """Stores `obj` as the object's newest version and tells the watchers."""
        if event == "ADDED" and key in self.objects:
            self.objects[key].create(obj)
        elif event == "ADDED":
            self.objects[key] = obj
        else:
            self.objects[key].create(obj)  # a whole new version (not a merge)
        raw = self.objects[key].raw
        await self._buses[key[0]].put({"type": event, "object": raw})
        return raw

    async def _remove(self, key: tuple) -> dict[str, Any]:
        raw = self.objects[key].raw
        raw["metadata"]["resourceVersion"] = self._next_rv()
        self.objects[key].delete()
        await self._buses[key[0]].put({"type": "DELETED", "object": raw})
        return raw

    @staticmethod
    def _error(code: int, reason: str, message: str) -> aiohttp.web.StreamResponse:
        return aiohttp.web.json_response(
            {"apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Failure",
             "code": code, "reason": reason, "message": message},
            status=code,
        )

    # ----- requests -----

    async def _handle(self, request: rendering.Request) -> aiohttp.web.StreamResponse:
        if request.resource is None or request.action not in (
            enums.action.CREATE, enums.action.UPDATE, enums.action.DELETE
        ):
            return await super()._handle(request)
        if request.resource not in self.resources:
            return self._error(404, "NotFound", f"the server could not find the requested resource {request.resource}")
        try:
            async with self._lock:
                if request.action == enums.action.CREATE:
                    return await self._create(request)
                if request.action == enums.action.UPDATE:
                    return await self._patch(request)
                return await self._delete(request)
        except jsonpatch.JsonPatchException as e:
            return self._error(422, "Invalid", f"the JSON patch could not be applied: {e}")

    async def _create(self, request: rendering.Request) -> aiohttp.web.StreamResponse:
        body = request.data if isinstance(request.data, dict) else yaml.safe_load(request.text)
        meta = body.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        if request.namespace:
            meta["namespace"] = request.namespace
        key = self._key(request, meta.get("name"))
        if self._current(key) is not None:
            return self._error(409, "AlreadyExists", f"{key[0].plural} \"{key[2]}\" already exists")
        raw = await self._store(key, self._fresh(body), "ADDED")
        return aiohttp.web.json_response(raw, status=201)

    async def _patch(self, request: rendering.Request) -> aiohttp.web.StreamResponse:
        key = self._key(request)
        ctype = request.headers.get("Content-Type", "").split(";")[0].strip()
        current = self._current(key)
        status_only = request.subresource == "status"
        if ctype == "application/apply-patch+yaml":
            body = yaml.safe_load(request.text) or {}
            if current is None:
                if status_only:
                    return self._error(404, "NotFound", f"{key[0].plural} \"{key[2]}\" not found")
                body.setdefault("metadata", {})["name"] = key[2]
                if key[1]:
                    body["metadata"]["namespace"] = key[1]
                raw = await self._store(key, self._fresh(body), "ADDED")
                return aiohttp.web.json_response(raw, status=201)
            body.pop("apiVersion", None)
            body.pop("kind", None)
            if status_only:
                body = {"status": body.get("status", {})}
            new = merge(current, body)
        else:
            if current is None:
                return self._error(404, "NotFound", f"{key[0].plural} \"{key[2]}\" not found")
            if ctype == "application/json-patch+json":
                new = jsonpatch.apply_patch(current, tolerant_tests(current, json.loads(request.text)))
            else:  # merge-patch+json, strategic-merge-patch+json (treated as a merge patch)
                body = json.loads(request.text or "{}")
                if status_only:
                    body = {"status": body.get("status", {})}
                new = merge(current, body)
        new_meta = new.setdefault("metadata", {})
        for field in ("uid", "creationTimestamp", "name", "namespace"):
            if field in current.get("metadata", {}):
                new_meta[field] = current["metadata"][field]
        if not status_only and new.get("spec") != current.get("spec"):
            new_meta["generation"] = current["metadata"].get("generation", 1) + 1
        new_meta["resourceVersion"] = self._next_rv()
        raw = await self._store(key, new, "MODIFIED")
        if new_meta.get("deletionTimestamp") and not new_meta.get("finalizers"):
            if new.get("kind") != "Pod":
                await self._remove(key)
        return aiohttp.web.json_response(raw)

    async def _delete(self, request: rendering.Request) -> aiohttp.web.StreamResponse:
        key = self._key(request)
        current = self._current(key)
        if current is None:
            return self._error(404, "NotFound", f"{key[0].plural} \"{key[2]}\" not found")
        meta = current["metadata"]
        if meta.get("deletionTimestamp"):
            return aiohttp.web.json_response(current)
        body = request.data if isinstance(request.data, dict) else {}
        is_pod = current.get("kind") == "Pod" or key[0].plural == "pods"
        grace = body.get("gracePeriodSeconds")
        if is_pod and grace is None:
            grace = (current.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
        if is_pod and grace and grace > 0:
            # As the API server does: the deletion deadline and the grace period; the "kubelet"
            # below removes the pod after a short emulated shutdown.
            deadline = datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(seconds=grace)
            meta["deletionTimestamp"] = deadline.strftime("%Y-%m-%dT%H:%M:%SZ")
            meta["deletionGracePeriodSeconds"] = grace
            meta["resourceVersion"] = self._next_rv()
            raw = await self._store(key, current, "MODIFIED")
            task = asyncio.get_running_loop().create_task(self._kubelet_stops(key))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return aiohttp.web.json_response(raw)
        if meta.get("finalizers"):
            meta["deletionTimestamp"] = now()
            meta["resourceVersion"] = self._next_rv()
            raw = await self._store(key, current, "MODIFIED")
            return aiohttp.web.json_response(raw)
        raw = await self._remove(key)
        return aiohttp.web.json_response(raw)

    async def _kubelet_stops(self, key: tuple) -> None:
        await asyncio.sleep(self.pod_grace)
        async with self._lock:
            current = self._current(key)
            if current is not None and not current["metadata"].get("finalizers"):
                await self._remove(key)

    # ----- reads: kmock's, with selectors -----

    def _selected(self, request: rendering.Request, obj: dict[str, Any]) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return matches_labels(labels, request.params.get("labelSelector")) and matches_fields(
            obj, request.params.get("fieldSelector")
        )

    async def _serve_list(self, request: rendering.Request) -> rendering.Payload:
        listing = await super()._serve_list(request)
        listing["items"] = [o for o in listing["items"] if self._selected(request, o)]
        listing["metadata"] = {"resourceVersion": self._next_rv()}
        info = self.resources[request.resource] if request.resource in self.resources else None
        if info is not None and info.kind:
            group, version = request.resource.group, request.resource.version
            listing["apiVersion"] = f"{group}/{version}" if group else version
            listing["kind"] = f"{info.kind}List"
        return listing

    async def _serve_watch(self, request: rendering.Request):
        async for event in super()._serve_watch(request):
            if isinstance(event, dict) and "object" in event:
                if not self._selected(request, event["object"]):
                    continue
            yield event

    async def _serve_fetch(self, request: rendering.Request) -> rendering.Payload:
        key = self._key(request)
        current = self._current(key)
        if current is None:
            raise k8s.KubernetesError(status=404, reason="NotFound", message=f"{key[0].plural} \"{key[2]}\" not found")
        return current


async def serve(host: str = "127.0.0.1", port: int = 0, crds: list[dict] | None = None,
                pod_grace: float = 3.0):
    """Starts the server; returns (emulator, server) entered (exit them to stop)."""
    emulator = SlinkyKubernetes()
    emulator.pod_grace = pod_grace
    await emulator.__aenter__()
    if crds:
        emulator.declare_crds(crds)
    server = kmock.Server(emulator, host=host, port=port)
    await server.__aenter__()
    return emulator, server
