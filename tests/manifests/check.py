#!/usr/bin/env python3
"""Checks the Kubernetes side of the repository without a cluster.

Run through tests/manifests/check.sh (which sets up the virtual environment). What it checks:

1. Every YAML file of charts/, deploy/ and tests/manifests/ parses, with no duplicate keys.
2. charts/slinky/values.schema.json is a valid draft-07 schema; values.yaml, every example
   values file (charts/slinky/examples/*.yaml) and tests/manifests/values-full.yaml pass it,
   and every file of tests/manifests/bad-values/ fails it (or fails to render) with the
   message its `# expect:` / `# expect-render:` lines name.
3. The chart renders (Helm's own engine, through helm-python-sdk) with each of those values
   files, `helm lint --strict` passes, and the output:
   - built-in kinds validate against Kubernetes' OpenAPI schemas (kubernetes-validate,
     strict: unknown fields are errors);
   - SlurmCluster/Partition validate against the CRDs' openAPIV3Schema (crds/, else
     charts/slinky/crds/), or, before the CRDs exist, against the fields the chart knows;
   - says what the seeds mean (static/dynamic, instance types, EFA, node selection) and
     matches deploy/ (the eksctl node group's labels and taints, the Karpenter NodePool).
4. deploy/: Karpenter v1 NodePools/EC2NodeClasses and the eksctl ClusterConfig have the
   fields those APIs require (no offline schema exists for them); built-in kinds validate.
5. The CRDs (crds/*.yaml) are valid CustomResourceDefinitions, charts/slinky/crds/ is a copy
   of them, and every example resource in examples/k8s/*.yaml validates against them.

Missing CRDs or examples are skipped with a message, except under CI=true where example
resources without CRDs fail. Chart CRDs out of step with crds/ always fail.
"""

from __future__ import annotations

import copy
import json
import os
import re
import sys
from pathlib import Path

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "slinky"
DEPLOY = ROOT / "deploy"
HERE = ROOT / "tests" / "manifests"
KUBE_VERSION = "1.33.0"  # the EKS version docs/eks.md uses
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
RELEASE, NAMESPACE = "slinky", "slurm"

LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


# ---------------------------------------------------------------------------------------
# results


class Results:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0
        self.skipped = 0

    def ok(self, what: str) -> None:
        self.passed += 1
        print(f"  ok    {what}")

    def fail(self, what: str, why: str) -> None:
        self.failed += 1
        print(f"  FAIL  {what}")
        for line in str(why).rstrip().splitlines():
            print(f"          {line}")

    def skip(self, what: str, why: str) -> None:
        self.skipped += 1
        print(f"  skip  {what}: {why}")

    def check(self, what: str, problems: list[str]) -> None:
        if problems:
            self.fail(what, "\n".join(problems))
        else:
            self.ok(what)


R = Results()


def rel(p: Path) -> str:
    try:
        return str(p.relative_to(ROOT))
    except ValueError:
        return str(p)


# ---------------------------------------------------------------------------------------
# YAML without duplicate keys


class UniqueKeyLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep)


UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping
)


def load_docs(text: str) -> list:
    return [d for d in yaml.load_all(text, Loader=UniqueKeyLoader) if d is not None]


def load_one(path: Path):
    return yaml.load(path.read_text(), Loader=UniqueKeyLoader)


def expand_placeholders(text: str) -> str:
    """${VAR} placeholders of deploy/ files (filled by envsubst) -> sample values."""
    samples = {
        "CLUSTER_NAME": "slinky",
        "AWS_DEFAULT_REGION": "us-west-2",
        "K8S_VERSION": "1.33",
        "AWS_PARTITION": "aws",
        "AWS_ACCOUNT_ID": "111122223333",
        "STATIC_GPU_AZ": "us-west-2b",
        "SECOND_AZ": "us-west-2a",
    }
    return re.sub(r"\$\{([A-Z0-9_]+)\}", lambda m: samples.get(m.group(1), "sample"), text)


# ---------------------------------------------------------------------------------------
# Helm-style values: defaults coalesced with the user's values


def coalesce(defaults, user):
    if isinstance(defaults, dict) and isinstance(user, dict):
        out = copy.deepcopy(defaults)
        for k, v in user.items():
            if v is None:
                out.pop(k, None)
            elif k in out:
                out[k] = coalesce(out[k], v)
            else:
                out[k] = copy.deepcopy(v)
        return out
    return copy.deepcopy(user)


def pointer(path) -> str:
    return "/" + "/".join(str(p) for p in path)


def schema_errors(validator: jsonschema.Draft7Validator, instance) -> list[str]:
    out = []

    def walk(err):
        if err.context:
            for sub in err.context:
                walk(sub)
        out.append(f"{pointer(err.absolute_path)}: {err.message}")

    for err in sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path))):
        walk(err)
    return out


# ---------------------------------------------------------------------------------------
# CRD openAPIV3Schema -> JSON Schema


def crd_to_jsonschema(node):
    """Kubernetes structural schema -> draft-07 JSON Schema with the API server's rules
    that matter here: nullable, int-or-string, and unknown fields rejected (kubectl's
    strict field validation) unless x-kubernetes-preserve-unknown-fields."""
    if isinstance(node, list):
        return [crd_to_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for k, v in node.items():
        if k in ("properties", "patternProperties", "definitions"):
            out[k] = {name: crd_to_jsonschema(s) for name, s in v.items()}
        elif k.startswith("x-kubernetes-") or k in ("nullable", "format", "default", "example"):
            continue
        else:
            out[k] = crd_to_jsonschema(v)
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        if "anyOf" not in out:
            out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and "type" in out:
        t = out["type"]
        out["type"] = (t if isinstance(t, list) else [t]) + ["null"]
    if (
        "properties" in out
        and "additionalProperties" not in node
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


class CrdSet:
    def __init__(self, files: list[Path]):
        self.files = files
        self.schemas: dict[tuple[str, str], dict] = {}  # (apiVersion, kind) -> schema
        self.errors: list[str] = []
        for f in files:
            try:
                docs = load_docs(f.read_text())
            except yaml.YAMLError as e:
                self.errors.append(f"{rel(f)}: {e}")
                continue
            for d in docs:
                if d.get("kind") != "CustomResourceDefinition":
                    continue
                spec = d.get("spec", {})
                group, kind = spec.get("group"), spec.get("names", {}).get("kind")
                for v in spec.get("versions", []):
                    s = (v.get("schema") or {}).get("openAPIV3Schema")
                    if s is None:
                        self.errors.append(f"{rel(f)}: {kind} {v.get('name')} has no openAPIV3Schema")
                        continue
                    js = crd_to_jsonschema(s)
                    # apiVersion, kind and metadata are the API server's, whatever the CRD
                    # says (metadata: names only, checked below).
                    props = js.setdefault("properties", {})
                    props["apiVersion"] = {"const": f"{group}/{v.get('name')}"}
                    props["kind"] = {"const": kind}
                    props["metadata"] = {"type": "object"}
                    self.schemas[(f"{group}/{v.get('name')}", kind)] = js

    def validate(self, obj: dict) -> list[str] | None:
        key = (obj.get("apiVersion"), obj.get("kind"))
        schema = self.schemas.get(key)
        if schema is None:
            return None
        problems = schema_errors(jsonschema.Draft7Validator(schema), obj)
        name = (obj.get("metadata") or {}).get("name", "")
        if not DNS_SUBDOMAIN.match(str(name)) or len(str(name)) > 253:
            problems.append(f"/metadata/name: {name!r} is not a DNS-1123 subdomain")
        return problems


def find_crds() -> tuple[CrdSet | None, str]:
    for d in (ROOT / "crds", CHART / "crds"):
        files = sorted(d.glob("*.yaml")) + sorted(d.glob("*.yml"))
        if files:
            return CrdSet(files), rel(d)
    return None, ""


# Before the CRDs exist: the fields the chart knows (the operator's spec, camelCase).
KNOWN_SPEC = {
    "SlurmCluster": {
        "required": {"image", "controller", "accounting", "login"},
        "fields": {
            "clusterName", "image", "imagePullPolicy", "controller", "accounting", "login",
            "scheduler", "authKeySecret",
        },
    },
    "Partition": {
        "required": {"clusterRef", "provisioning", "nodes", "instanceTypes", "efaEnabled",
                     "nodeSelector", "tolerations", "labels"},
        "fields": {
            "clusterRef", "partitionName", "provisioning", "nodes", "instanceTypes", "nodeSize",
            "gres", "efaEnabled", "nodeSelector", "tolerations", "labels", "workerResources",
            "maxTime", "defaultTime", "priorityTier", "allowAccounts", "allowGroups", "default",
            "state", "idleScaleDownSeconds",
        },
    },
}


def known_fields_problems(obj: dict) -> list[str]:
    spec = obj.get("spec") or {}
    want = KNOWN_SPEC[obj["kind"]]
    problems = [f"/spec: missing {k}" for k in sorted(want["required"] - spec.keys())]
    problems += [f"/spec: unknown field {k}" for k in sorted(spec.keys() - want["fields"])]
    if obj["kind"] == "Partition" and spec.get("provisioning") not in ("static", "dynamic"):
        problems.append(f"/spec/provisioning: {spec.get('provisioning')!r}")
    return problems


# ---------------------------------------------------------------------------------------
# built-in kinds


def validate_builtin(obj: dict) -> list[str] | None:
    """None when kubernetes-validate has no schema for the kind (not a built-in kind)."""
    import kubernetes_validate

    try:
        kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)
        return []
    except kubernetes_validate.utils.SchemaNotFoundError:
        return None
    except kubernetes_validate.ValidationError as e:
        return [f"{pointer(e.path)}: {e.message}"]


def describe(obj: dict) -> str:
    return f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}"


# ---------------------------------------------------------------------------------------
# 1. YAML files


def check_yaml_files() -> None:
    print("== YAML files parse (no duplicate keys)")
    files = sorted(
        [p for p in CHART.rglob("*.yaml") if "templates" not in p.parts]
        + list(DEPLOY.rglob("*.yaml"))
        + list(HERE.rglob("*.yaml"))
    )
    for f in files:
        try:
            text = f.read_text()
            load_docs(expand_placeholders(text) if DEPLOY in f.parents else text)
            R.ok(rel(f))
        except yaml.YAMLError as e:
            R.fail(rel(f), str(e))


# ---------------------------------------------------------------------------------------
# 2. values.schema.json


def values_files() -> list[Path]:
    return sorted((CHART / "examples").glob("*.yaml")) + [HERE / "values-full.yaml", HERE / "values-kind.yaml"]


def check_values_schema() -> jsonschema.Draft7Validator | None:
    print("== values.schema.json")
    schema_path = CHART / "values.schema.json"
    try:
        schema = json.loads(schema_path.read_text())
        jsonschema.Draft7Validator.check_schema(schema)
        R.ok(f"{rel(schema_path)} is a valid draft-07 schema")
    except (ValueError, jsonschema.SchemaError) as e:
        R.fail(f"{rel(schema_path)} is a valid draft-07 schema", str(e))
        return None
    v = jsonschema.Draft7Validator(schema)
    defaults = load_one(CHART / "values.yaml")
    R.check("values.yaml passes the schema", schema_errors(v, defaults))
    for f in values_files():
        merged = coalesce(defaults, load_one(f) or {})
        R.check(f"{rel(f)} passes the schema", schema_errors(v, merged))
    return v


def expectations(path: Path) -> tuple[list[str], list[str]]:
    schema, render = [], []
    for line in path.read_text().splitlines():
        m = re.match(r"#\s*expect(-render)?:\s*(.+?)\s*$", line)
        if m:
            (render if m.group(1) else schema).append(m.group(2))
    return schema, render


def check_bad_values(v: jsonschema.Draft7Validator, helm) -> None:
    print("== bad values are refused with a message that names the problem")
    defaults = load_one(CHART / "values.yaml")
    for f in sorted((HERE / "bad-values").glob("*.yaml")):
        want_schema, want_render = expectations(f)
        user = load_one(f) or {}
        if not want_schema and not want_render:
            R.fail(rel(f), "no `# expect:` or `# expect-render:` line")
            continue
        problems = []
        py_errors = "\n".join(schema_errors(v, coalesce(defaults, user)))
        if want_schema:
            if not py_errors:
                problems.append("jsonschema accepted it")
            problems += [f"jsonschema's errors lack {w!r}:\n{py_errors}" for w in want_schema if w not in py_errors]
        elif py_errors:
            problems.append(f"jsonschema refused it (expected only the template to):\n{py_errors}")
        if helm is not None:
            helm_msg = ""
            with helm.Chart.load(str(CHART)) as chart:
                try:
                    chart.render(user, name=RELEASE, namespace=NAMESPACE, is_install=True)
                except helm.HelmError as e:
                    helm_msg = str(e)
            if not helm_msg:
                problems.append("Helm rendered it")
            for w in want_schema + want_render:
                if w not in helm_msg:
                    problems.append(f"Helm's message lacks {w!r}:\n{helm_msg}")
            shown = helm_msg.strip().splitlines()
            detail = shown[-1].strip() if shown else ""
        else:
            detail = py_errors.splitlines()[0] if py_errors else ""
        R.check(f"{rel(f)} refused ({detail[:110]})", problems)


# ---------------------------------------------------------------------------------------
# 3. rendering


def render(helm, values_path: Path) -> tuple[dict[str, str] | None, str]:
    user = load_one(values_path) or {}
    with helm.Chart.load(str(CHART)) as chart:
        try:
            chart.validate_schema(user)
            out = chart.render(user, name=RELEASE, namespace=NAMESPACE, is_install=True)
        except helm.HelmError as e:
            return None, str(e)
    return out, ""


def check_render(helm, crds: CrdSet | None, crd_dir: str) -> dict[str, tuple[list[dict], str]]:
    print(f"== the chart renders (Helm {helm.helm_sdk_version()}, helm-python-sdk) and its output validates")
    rendered: dict[str, tuple[list[dict], str]] = {}
    for f in values_files():
        name = rel(f)
        lint = helm.lint(str(CHART), load_one(f) or {}, strict=True, namespace=NAMESPACE,
                         kube_version=f"v{KUBE_VERSION}")
        bad = [f"{m['path']}: {m['error']}" for m in lint.get("messages", []) if m.get("severity", 0) >= 2]
        R.check(f"helm lint --strict -f {name}", bad + list(lint.get("errors", [])))
        out, err = render(helm, f)
        if out is None:
            R.fail(f"render -f {name}", err)
            continue
        objs, notes, problems = [], "", []
        for tpl, text in sorted(out.items()):
            if tpl.endswith("NOTES.txt"):
                notes = text
                continue
            try:
                objs += load_docs(text)
            except yaml.YAMLError as e:
                problems.append(f"{tpl}: {e}")
        R.check(f"render -f {name}: {len(objs)} objects, valid YAML", problems)
        rendered[name] = (objs, notes)
        for obj in objs:
            what = f"  {name}: {describe(obj)}"
            if obj.get("apiVersion") == "slinky.io/v1alpha1":
                if crds is not None:
                    res = crds.validate(obj)
                    if res is None:
                        R.fail(what, f"no CRD in {crd_dir}/ defines {obj['apiVersion']} {obj['kind']}")
                    else:
                        R.check(f"{what} (CRD schema, {crd_dir}/)", res)
                else:
                    R.check(f"{what} (fields the chart knows; no CRDs yet)", known_fields_problems(obj))
                continue
            res = validate_builtin(obj)
            if res is None:
                R.fail(what, "not a built-in kind and not slinky.io: nothing to validate it against")
            else:
                R.check(f"{what} (Kubernetes {KUBE_VERSION} schema, strict)", res)
    return rendered


def by_kind(objs: list[dict], kind: str) -> list[dict]:
    return [o for o in objs if o.get("kind") == kind]


def tolerated(taint: dict, tolerations: list[dict]) -> bool:
    for t in tolerations:
        if t.get("key") not in (None, "", taint.get("key")):
            continue
        if t.get("effect") not in (None, "", taint.get("effect")):
            continue
        if t.get("operator", "Equal") == "Exists" or t.get("value") == taint.get("value"):
            return True
    return False


def deploy_objects() -> tuple[list[dict], list[dict]]:
    karp = load_docs(expand_placeholders((DEPLOY / "karpenter" / "nodepool-p4dn.yaml").read_text()))
    eks = load_docs(expand_placeholders((DEPLOY / "eksctl" / "cluster.yaml").read_text()))
    return karp, eks


def check_semantics(rendered: dict[str, tuple[list[dict], str]]) -> None:
    print("== what the rendered seeds mean, and that they match deploy/")
    karp, eks = deploy_objects()
    nodepools = {o["metadata"]["name"]: o for o in by_kind(karp, "NodePool")}
    static_ng = next(
        (ng for c in eks for ng in c.get("managedNodeGroups", []) if ng.get("name") == "static-p4dn-group"), None
    )

    # every rendering: the operator
    for name, (objs, _) in rendered.items():
        problems = []
        deps = by_kind(objs, "Deployment")
        if len(deps) != 1:
            problems.append(f"{len(deps)} Deployments, want 1 (the operator)")
        else:
            d = deps[0]
            pod = d["spec"]["template"]
            if pod["metadata"]["labels"].get("app.kubernetes.io/name") != "slinky-controller":
                problems.append("pod label app.kubernetes.io/name is not slinky-controller")
            c = pod["spec"]["containers"][0]
            if c.get("command") != ["slinky", "operator"]:
                problems.append(f"command {c.get('command')}, want [slinky, operator]")
            sel = d["spec"]["selector"]["matchLabels"]
            if any(pod["metadata"]["labels"].get(k) != v for k, v in sel.items()):
                problems.append("selector does not match the pod labels")
            sa = pod["spec"].get("serviceAccountName")
            if sa not in {o["metadata"]["name"] for o in by_kind(objs, "ServiceAccount")}:
                problems.append(f"serviceAccountName {sa} is not rendered")
        roles = by_kind(objs, "ClusterRole")
        granted = set()
        for r in roles:
            for rule in r.get("rules", []):
                for g in rule.get("apiGroups", []):
                    for res in rule.get("resources", []):
                        granted |= {(g, res, v) for v in rule.get("verbs", [])}
        need = [("slinky.io", "slurmclusters", "watch"), ("slinky.io", "partitions", "watch"),
                ("slinky.io", "partitions/status", "patch"), ("", "pods", "create"),
                ("", "pods", "delete"), ("", "services", "create"), ("", "configmaps", "update"),
                ("", "secrets", "create"), ("", "persistentvolumeclaims", "create"),
                ("", "events", "create"), ("", "nodes", "watch"), ("apps", "statefulsets", "patch"),
                ("apps", "deployments", "patch"), ("policy", "poddisruptionbudgets", "create"),
                ("", "serviceaccounts", "create"), ("rbac.authorization.k8s.io", "roles", "create"),
                ("rbac.authorization.k8s.io", "rolebindings", "create")]
        problems += [f"ClusterRole lacks {v} {g or 'core'}/{res}" for g, res, v in need if (g, res, v) not in granted]
        R.check(f"{name}: operator Deployment (slinky-controller, `slinky operator`) and its rights", problems)

    def parts(name):
        objs, notes = rendered.get(name, ([], ""))
        return {p["spec"]["partitionName"]: p for p in by_kind(objs, "Partition")}, objs, notes

    # every partition of every example that names a NodePool or an eksctl node group's
    # labels lands there: the pool/group exists, its taints are tolerated, its instance
    # types include the partition's
    groups = [ng for c in eks for ng in c.get("managedNodeGroups", [])]
    for name, (objs, _) in rendered.items():
        if not name.startswith("charts/slinky/examples/"):
            continue
        problems = []
        for p in by_kind(objs, "Partition"):
            s, pname = p["spec"], p["spec"]["partitionName"]
            sel = s.get("nodeSelector") or {}
            if "karpenter.sh/nodepool" in sel:
                pool = nodepools.get(sel["karpenter.sh/nodepool"])
                if pool is None:
                    problems.append(f"{pname}: no NodePool {sel['karpenter.sh/nodepool']} in deploy/karpenter/")
                    continue
                tmpl = pool["spec"]["template"]["spec"]
                for t in tmpl.get("taints") or []:
                    if not tolerated(t, s.get("tolerations") or []):
                        problems.append(f"{pname}: NodePool taint {t} not tolerated")
                types = [set(r["values"]) for r in tmpl["requirements"] if r["key"] == "node.kubernetes.io/instance-type"]
                if types and not set(s.get("instanceTypes") or []) <= types[0]:
                    problems.append(f"{pname}: instance types {s.get('instanceTypes')} not all in the NodePool's {sorted(types[0])}")
            elif sel:
                match = [ng for ng in groups if all((ng.get("labels") or {}).get(k) == v for k, v in sel.items())]
                if not match:
                    problems.append(f"{pname}: nodeSelector {sel} matches no node group of deploy/eksctl/cluster.yaml")
                for ng in match:
                    for t in ng.get("taints") or []:
                        if not tolerated(t, s.get("tolerations") or []):
                            problems.append(f"{pname}: node group {ng['name']}'s taint {t} not tolerated")
                    if s["provisioning"] == "static" and s["nodes"] > ng.get("maxSize", 0):
                        problems.append(f"{pname}: {s['nodes']} nodes, node group {ng['name']} has at most {ng.get('maxSize')}")
        R.check(f"{name}: every partition's nodeSelector names a node group or NodePool of deploy/ and tolerates its taints", problems)

    # static seed
    name = "charts/slinky/examples/values-static.yaml"
    if name in rendered:
        ps, objs, _ = parts(name)
        p = ps.get("static-gpu-partition")
        problems = []
        if len(by_kind(objs, "SlurmCluster")) != 1:
            problems.append("want one SlurmCluster")
        if p is None:
            problems.append("no Partition static-gpu-partition")
        else:
            s = p["spec"]
            if (s["provisioning"], s["nodes"], s["instanceTypes"], s.get("gres")) != ("static", 1, [], "gpu:8"):
                problems.append(f"spec {s}")
            if static_ng is None:
                problems.append("deploy/eksctl/cluster.yaml has no node group static-p4dn-group")
            else:
                for k, v in s["nodeSelector"].items():
                    if (static_ng.get("labels") or {}).get(k) != v:
                        problems.append(f"nodeSelector {k}={v} is not a label of the eksctl node group")
                for t in static_ng.get("taints") or []:
                    if not tolerated(t, s["tolerations"]):
                        problems.append(f"the eksctl node group's taint {t} is not tolerated")
                if not static_ng.get("efaEnabled"):
                    problems.append("the eksctl node group has no efaEnabled")
        R.check(f"{name}: one static partition on the eksctl node group (role=slurm-static-gpu, tolerates its taint)", problems)

    # dynamic seed
    name = "charts/slinky/examples/values-dynamic.yaml"
    if name in rendered:
        ps, _, notes = parts(name)
        problems = []
        gpu, cpu = ps.get("gpu-partition"), ps.get("cpu-partition")
        if gpu is None or cpu is None:
            problems.append(f"partitions {sorted(ps)}")
        else:
            g, c = gpu["spec"], cpu["spec"]
            if (g["provisioning"], g["nodes"], g["instanceTypes"], g["efaEnabled"], g.get("gres")) != (
                "dynamic", 2, ["p4d.24xlarge"], True, "gpu:8"):
                problems.append(f"gpu-partition spec {g}")
            if g["labels"]:
                problems.append(f"gpu-partition labels {g['labels']}, want {{}} (the invalid key skipped)")
            if gpu["metadata"].get("annotations", {}).get("slinky.io/skipped-labels") != "://vpc.amazonaws.com":
                problems.append("no slinky.io/skipped-labels annotation")
            if (c["provisioning"], c["nodes"], c["instanceTypes"], c["efaEnabled"]) != (
                "dynamic", 10, ["c5.24xlarge"], False):
                problems.append(f"cpu-partition spec {c}")
            for want in ('label "://vpc.amazonaws.com" skipped', "p4dn.24xlarge -> p4d.24xlarge", "efa_enabled"):
                if want not in notes:
                    problems.append(f"the install notes do not say {want!r}")
            types = set()
            for np in nodepools.values():
                for req in np["spec"]["template"]["spec"]["requirements"]:
                    if req["key"] == "node.kubernetes.io/instance-type" and req["operator"] == "In":
                        types |= set(req["values"])
            for t in g["instanceTypes"] + c["instanceTypes"]:
                if t not in types:
                    problems.append(f"no Karpenter NodePool in deploy/ launches {t}")
        R.check(f"{name}: gpu (2 x p4d.24xlarge, EFA, gpu:8) and cpu (10 x c5.24xlarge) dynamic partitions; bad label key skipped and reported", problems)

    # Karpenter seed
    name = "charts/slinky/examples/values-karpenter.yaml"
    if name in rendered:
        ps, _, _ = parts(name)
        p = ps.get("gpu-partition")
        problems = []
        if p is None:
            problems.append("no Partition gpu-partition")
        else:
            s = p["spec"]
            if (s["provisioning"], s["instanceTypes"]) != ("dynamic", ["p4d.24xlarge"]):
                problems.append(f"spec {s}")
            pool = nodepools.get(s["nodeSelector"].get("karpenter.sh/nodepool"))
            if pool is None:
                problems.append(f"nodeSelector {s['nodeSelector']} names no NodePool of deploy/karpenter/")
            else:
                tmpl = pool["spec"]["template"]["spec"]
                for t in tmpl.get("taints") or []:
                    if not tolerated(t, s["tolerations"]):
                        problems.append(f"NodePool taint {t} is not tolerated")
                types = [r["values"] for r in tmpl["requirements"] if r["key"] == "node.kubernetes.io/instance-type"]
                if not types or not set(s["instanceTypes"]) <= set(types[0]):
                    problems.append(f"NodePool instance types {types} do not include {s['instanceTypes']}")
        R.check(f"{name}: the partition selects NodePool slurm-gpu-pool, tolerates its taint, and its instance type is the pool's", problems)

    # the full values file
    name = "tests/manifests/values-full.yaml"
    if name in rendered:
        ps, objs, _ = parts(name)
        problems = []
        clusters = {c["metadata"]["name"]: c for c in by_kind(objs, "SlurmCluster")}
        if sorted(clusters) != ["prod", "research"]:
            problems.append(f"SlurmClusters {sorted(clusters)}")
        else:
            r = clusters["research"]["spec"]
            if "storage" in r["accounting"]:
                problems.append("mysql accounting kept the sqlite storage default")
            if r["controller"]["storage"] != {"size": "20Gi", "storageClassName": "gp3"}:
                problems.append(f"controller storage {r['controller']['storage']} (clusterDefaults not merged)")
            if not r["image"].startswith("111122223333.dkr.ecr"):
                problems.append(f"image {r['image']}")
        dbg = ps.get("debug-queue")
        if dbg is None or dbg["metadata"]["name"] != "research-debug-queue":
            problems.append("partition debug-queue is not the resource research-debug-queue")
        gpu = ps.get("gpu")
        if gpu is not None:
            if gpu["spec"].get("allowAccounts") != ["physics", "chemistry"]:
                problems.append(f"allowAccounts {gpu['spec'].get('allowAccounts')}")
            if gpu["spec"].get("idleScaleDownSeconds") != 300:
                problems.append("idle_scale_down_seconds")
        cpu = ps.get("cpu")
        if cpu is None or cpu["spec"].get("idleScaleDownSeconds") != 600:
            problems.append("partitionDefaults.idle_scale_down_seconds not applied")
        R.check(f"{name}: every setting reaches the resources", problems)


# ---------------------------------------------------------------------------------------
# 4. deploy/


def check_deploy() -> None:
    print("== deploy/ manifests")
    karp, eks = deploy_objects()
    classes = {o["metadata"]["name"]: o for o in karp if o.get("kind") == "EC2NodeClass"}
    for o in karp:
        what = f"deploy/karpenter: {describe(o)}"
        problems = []
        if o.get("kind") == "NodePool":
            if o.get("apiVersion") != "karpenter.sh/v1":
                problems.append(f"apiVersion {o.get('apiVersion')}, want karpenter.sh/v1")
            spec = o["spec"]
            t = spec["template"]["spec"]
            ref = t.get("nodeClassRef") or {}
            if ref.get("group") != "karpenter.k8s.aws" or ref.get("kind") != "EC2NodeClass":
                problems.append(f"nodeClassRef {ref}: want group karpenter.k8s.aws, kind EC2NodeClass")
            if ref.get("name") not in classes:
                problems.append(f"nodeClassRef names {ref.get('name')}, not an EC2NodeClass of the file")
            for req in t.get("requirements", []):
                if req.get("operator") not in ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"):
                    problems.append(f"requirement {req}")
            for taint in t.get("taints", []):
                if taint.get("effect") not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
                    problems.append(f"taint {taint}")
            for k in (spec["template"].get("metadata") or {}).get("labels", {}):
                if not LABEL_KEY.match(k) or k.startswith("karpenter.sh/"):
                    problems.append(f"template label {k}")
            dis = spec.get("disruption") or {}
            if dis.get("consolidationPolicy") not in ("WhenEmpty", "WhenEmptyOrUnderutilized"):
                problems.append(f"consolidationPolicy {dis.get('consolidationPolicy')}")
            if not re.match(r"^(([0-9]+(s|m|h))+|Never)$", str(dis.get("consolidateAfter", ""))):
                problems.append(f"consolidateAfter {dis.get('consolidateAfter')!r} (required in v1)")
            if "expireAfter" in spec or "expireAfter" in dis:
                problems.append("expireAfter belongs in spec.template.spec in v1")
            for b in dis.get("budgets", []):
                if not re.match(r"^((100|[0-9]{1,2})%|[0-9]+)$", str(b.get("nodes"))):
                    problems.append(f"budget nodes {b.get('nodes')!r}")
        elif o.get("kind") == "EC2NodeClass":
            if o.get("apiVersion") != "karpenter.k8s.aws/v1":
                problems.append(f"apiVersion {o.get('apiVersion')}, want karpenter.k8s.aws/v1")
            spec = o["spec"]
            if not (spec.get("role") or spec.get("instanceProfile")):
                problems.append("needs role or instanceProfile")
            for f in ("amiSelectorTerms", "subnetSelectorTerms", "securityGroupSelectorTerms"):
                if not spec.get(f):
                    problems.append(f"needs {f}")
            for term in spec.get("amiSelectorTerms", []):
                if "alias" in term and not re.match(r"^(al2|al2023|bottlerocket|windows2019|windows2022)@(latest|v[0-9]+(\.[0-9]+)*)$", term["alias"]):
                    problems.append(f"ami alias {term['alias']}")
        else:
            problems.append("unexpected kind")
        R.check(what, problems)

    for c in eks:
        problems = []
        if (c.get("apiVersion"), c.get("kind")) != ("eksctl.io/v1alpha5", "ClusterConfig"):
            problems.append(f"{c.get('apiVersion')} {c.get('kind')}")
        md = c.get("metadata", {})
        for f in ("name", "region", "version"):
            if not md.get(f):
                problems.append(f"metadata.{f}")
        addons = {a["name"] for a in c.get("addons", [])}
        if c.get("iam", {}).get("podIdentityAssociations") and "eks-pod-identity-agent" not in addons:
            problems.append("podIdentityAssociations need the eks-pod-identity-agent addon")
        mng_keys = {"name", "instanceType", "instanceTypes", "minSize", "maxSize", "desiredCapacity",
                    "volumeSize", "efaEnabled", "labels", "taints", "availabilityZones",
                    "privateNetworking", "amiFamily", "spot", "iam", "tags"}
        for ng in c.get("managedNodeGroups", []):
            unknown = set(ng) - mng_keys
            if unknown:
                problems.append(f"node group {ng.get('name')}: keys {sorted(unknown)} not checked here")
            if not (ng.get("minSize", 0) <= ng.get("desiredCapacity", ng.get("minSize", 0)) <= ng.get("maxSize", 0)):
                problems.append(f"node group {ng.get('name')}: minSize <= desiredCapacity <= maxSize")
            for t in ng.get("taints", []):
                if t.get("effect") not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
                    problems.append(f"node group {ng.get('name')}: taint effect {t.get('effect')}")
            for k in (ng.get("labels") or {}):
                if not LABEL_KEY.match(k):
                    problems.append(f"node group {ng.get('name')}: label key {k}")
            if ng.get("efaEnabled") and len(ng.get("availabilityZones", [])) != 1:
                problems.append(f"node group {ng.get('name')}: an EFA node group needs exactly one availability zone")
            for az in ng.get("availabilityZones", []):
                if az not in c.get("availabilityZones", [az]):
                    problems.append(f"node group {ng.get('name')}: zone {az} is not one of the cluster's")
        R.check(f"deploy/eksctl/cluster.yaml: {md.get('name')}", problems)

    # built-in kinds anywhere under deploy/ (none today; kept for the future)
    for f in sorted(DEPLOY.rglob("*.yaml")):
        for o in load_docs(expand_placeholders(f.read_text())):
            if not isinstance(o, dict) or "apiVersion" not in o:
                continue
            res = validate_builtin(o)
            if res is not None:
                R.check(f"{rel(f)}: {describe(o)} (Kubernetes {KUBE_VERSION} schema, strict)", res)

    problems = []
    efa = load_one(DEPLOY / "device-plugins" / "efa-device-plugin.values.yaml") or {}
    gpu_pool = next((o for o in karp if o.get("kind") == "NodePool" and o["metadata"]["name"] == "slurm-gpu-pool"), None)
    if gpu_pool is None:
        problems.append("no NodePool slurm-gpu-pool")
    else:
        labels = (gpu_pool["spec"]["template"].get("metadata") or {}).get("labels", {})
        for k, v in (efa.get("nodeSelector") or {}).items():
            if labels.get(k) != v:
                problems.append(f"the EFA plugin's nodeSelector {k}={v} is not a label of slurm-gpu-pool's nodes")
        for t in gpu_pool["spec"]["template"]["spec"].get("taints", []):
            if not tolerated(t, efa.get("tolerations") or []):
                problems.append(f"the EFA plugin does not tolerate {t}")
    nv = load_one(DEPLOY / "device-plugins" / "nvidia-device-plugin.values.yaml") or {}
    if not tolerated({"key": "slinky.io/usage", "value": "gpu-task", "effect": "NoSchedule"}, nv.get("tolerations") or []):
        problems.append("the NVIDIA plugin does not tolerate slinky.io/usage=gpu-task:NoSchedule")
    R.check("deploy/device-plugins: the EFA and NVIDIA plugins run on slurm-gpu-pool's tainted nodes", problems)

    df = DEPLOY / "docker" / "Dockerfile"
    text = df.read_text()
    problems = []
    for cmd in "sbatch squeue sinfo scancel scontrol sacct sacctmgr srun salloc sstat sshare sreport".split():
        if not re.search(rf"\b{cmd}\b", text):
            problems.append(f"no {cmd} link")
    if "--features" not in text or "nvml" not in text:
        problems.append("not built with the nvml feature")
    if not re.search(r"^FROM .* AS login$", text, re.M):
        problems.append("no login stage")
    R.check("deploy/docker/Dockerfile: slinky built with nvml, command links, login stage", problems)


# ---------------------------------------------------------------------------------------
# 5. CRDs and examples/k8s


def check_crds(crds: CrdSet | None, crd_dir: str) -> None:
    print("== CRDs and examples/k8s")
    src = sorted((ROOT / "crds").glob("*.yaml"))
    if not src:
        R.skip("crds/*.yaml", "not generated yet (the operator's CRDs)")
    else:
        for f in src:
            for o in load_docs(f.read_text()):
                res = validate_builtin(o)
                if res is None:
                    res = [f"kind {o.get('kind')} has no Kubernetes schema"]
                R.check(f"{rel(f)}: {describe(o)} is a valid {o.get('kind')}", res)
        problems = []
        chart_crds = CHART / "crds"
        for f in src:
            copy_ = chart_crds / f.name
            if not copy_.exists() or copy_.read_bytes() != f.read_bytes():
                problems.append(f"{rel(copy_)} differs from {rel(f)}")
        for f in sorted(chart_crds.glob("*.yaml")):
            if not (ROOT / "crds" / f.name).exists():
                problems.append(f"{rel(f)} has no counterpart in crds/")
        if problems:
            problems.append("run: bash deploy/sync-crds.sh")
        R.check("charts/slinky/crds/ is a copy of crds/", problems)
    if crds is not None and crds.errors:
        R.fail(f"CRDs in {crd_dir}/ load", "\n".join(crds.errors))

    ex = sorted((ROOT / "examples" / "k8s").glob("*.yaml")) + sorted((ROOT / "examples" / "k8s").glob("*.yml"))
    if not ex:
        R.skip("examples/k8s/*.yaml", "none yet")
        return
    if crds is None:
        msg = "examples/k8s/ exists but no CRDs (crds/*.yaml) to validate it against"
        if IN_CI:
            R.fail("examples/k8s/*.yaml against the CRDs", msg)
        else:
            R.skip("examples/k8s/*.yaml", msg)
        return
    for f in ex:
        try:
            docs = load_docs(f.read_text())
        except yaml.YAMLError as e:
            R.fail(rel(f), str(e))
            continue
        for o in docs:
            what = f"{rel(f)}: {describe(o)}"
            res = crds.validate(o)
            if res is None:
                res = validate_builtin(o)
                if res is None:
                    R.fail(what, f"neither a CRD in {crd_dir}/ nor a built-in kind")
                    continue
                R.check(f"{what} (Kubernetes {KUBE_VERSION} schema)", res)
            else:
                R.check(f"{what} (CRD schema, {crd_dir}/)", res)


# ---------------------------------------------------------------------------------------


def main() -> int:
    try:
        import helm_python as helm  # noqa: F401
    except Exception as e:  # no wheel for this platform, or the library does not load
        if IN_CI:
            print(f"helm-python-sdk unavailable: {e}", file=sys.stderr)
            return 1
        print(f"note: helm-python-sdk unavailable ({e}): the chart is not rendered")
        helm = None

    crds, crd_dir = find_crds()
    check_yaml_files()
    v = check_values_schema()
    if v is not None:
        check_bad_values(v, helm)
    if helm is not None:
        rendered = check_render(helm, crds, crd_dir)
        check_semantics(rendered)
    else:
        R.skip("chart rendering", "helm-python-sdk unavailable")
    check_deploy()
    check_crds(crds, crd_dir)

    print()
    extra = f", {R.skipped} skipped" if R.skipped else ""
    print(f"manifests: {R.passed} passed, {R.failed} failed{extra}")
    return 1 if R.failed else 0


if __name__ == "__main__":
    sys.exit(main())
