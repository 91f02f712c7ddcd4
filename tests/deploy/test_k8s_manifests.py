"""The Kubernetes example in deploy/k8s, linted without a cluster.

Three layers: yamllint (syntax, style), the Kubernetes JSON schemas shipped inside the
PyPI package `kubernetes-validate` (strict: unknown fields are errors, as kubectl's
server-side validation would report them), and the checks no schema can make: the
Service reaches the Deployment's pods, probes hit our endpoints, every setting is one
tagungsbot knows, and the API pods mount no volume that could hold state.
"""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
KUBERNETES_VERSION = "1.33.0"
YAMLLINT_CONFIG = "{extends: default, rules: {line-length: {max: 120}, document-start: disable}}"


def manifests() -> dict[str, dict]:
    """Every resource in deploy/k8s, by kind."""
    out: dict[str, dict] = {}
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            assert doc["kind"] not in out, f"two {doc['kind']} resources"
            out[doc["kind"]] = doc
    return out


def pod_spec(resource: dict) -> dict:
    return resource["spec"]["template"]["spec"]


def test_the_example_has_the_four_resources() -> None:
    assert set(manifests()) == {"ConfigMap", "Deployment", "Service", "Job"}


def test_yamllint_finds_nothing() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "yamllint", "-f", "parsable", "-d", YAMLLINT_CONFIG, str(K8S)],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("kind", ["ConfigMap", "Deployment", "Service", "Job"])
def test_resources_match_the_kubernetes_schema(kind: str) -> None:
    kubernetes_validate.validate(manifests()[kind], KUBERNETES_VERSION, strict=True)


def test_the_schema_check_catches_mistakes() -> None:
    broken = copy.deepcopy(manifests()["Deployment"])
    broken["spec"]["replicas"] = "three"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)
    typo = copy.deepcopy(manifests()["Job"])
    typo["spec"]["template"]["spec"]["restartPolicyy"] = "Never"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(typo, KUBERNETES_VERSION, strict=True)


def test_service_reaches_the_api_pods_on_their_http_port() -> None:
    m = manifests()
    deployment, service = m["Deployment"], m["Service"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert service["spec"]["selector"].items() <= pod_labels.items()
    container = pod_spec(deployment)["containers"][0]
    port_names = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert all(p["targetPort"] in port_names for p in service["spec"]["ports"])
    assert port_names["http"] == int(m["ConfigMap"]["data"]["TAGUNGSBOT_PORT"])
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert deployment["spec"]["replicas"] >= 2


def known_settings() -> set[str]:
    source = (REPO / "vectorstore" / "settings.py").read_text(encoding="utf-8")
    return set(re.findall(r'"(TAGUNGSBOT_[A-Z0-9_]+)"', source))


def test_every_setting_is_one_tagungsbot_reads() -> None:
    m = manifests()
    known = known_settings() | {"HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"}
    assert set(m["ConfigMap"]["data"]) <= known, set(m["ConfigMap"]["data"]) - known
    assert m["ConfigMap"]["data"]["TAGUNGSBOT_VECTOR_BACKEND"] == "milvus"
    for kind in ("Deployment", "Job"):
        container = pod_spec(m[kind])["containers"][0]
        assert {e["name"] for e in container.get("env", [])} <= known
        assert [r["configMapRef"]["name"] for r in container["envFrom"]] == [m["ConfigMap"]["metadata"]["name"]]
        for entry in container.get("env", []):
            assert entry["valueFrom"]["secretKeyRef"]["name"] == "tagungsbot-secrets"


def test_api_pods_are_stateless_and_the_job_runs_one_ingest() -> None:
    m = manifests()
    api, job = pod_spec(m["Deployment"]), pod_spec(m["Job"])
    assert all("persistentVolumeClaim" not in v for v in api.get("volumes", [])), "API pods must keep no state"
    assert api["containers"][0]["image"] == job["containers"][0]["image"]
    assert job["containers"][0]["command"][:2] == ["tagungsbot", "ingest"]
    assert job["restartPolicy"] == "Never" and m["Job"]["spec"]["parallelism"] == 1
    corpus_dir = m["ConfigMap"]["data"]["TAGUNGSBOT_CORPUS_DIR"]
    assert any(v["mountPath"] == corpus_dir for v in job["containers"][0]["volumeMounts"])
    for spec in (api, job):
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["containers"][0]["securityContext"]["allowPrivilegeEscalation"] is False
