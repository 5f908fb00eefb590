"""The Kubernetes base job template renders Prefect 1 KubernetesRun settings into a valid Job."""

import asyncio
import uuid

import pytest

from meta_flows.core.deployments.kubernetes import base_job_template, merge_job_manifest
from meta_flows.core.deployments.translate import translate
from meta_flows.core.inventory.model import ComponentInfo, FlowInfo, Inventory

KUBERNETES_RUN = {
    "image": "acme/etl:1.4",
    "env": {"STAGE": "prod"},
    "cpu_request": "500m",
    "memory_limit": "2Gi",
    "service_account_name": "etl-runner",
    "image_pull_secrets": ["regcred", "other-registry"],
    "labels": ["k8s-prod"],
}


def _plan(fields):
    flow = FlowInfo(
        file="flows/etl.py",
        name="etl",
        function_name="etl",
        method="dynamic",
        run_config=ComponentInfo(type="KubernetesRun", fields=fields),
    )
    return translate(Inventory(repo="/src/etl", flows=[flow]))


def _render(template, job_variables):
    """The Job manifest a kubernetes worker would submit for a flow run of the deployment."""
    from prefect.client.schemas.objects import FlowRun
    from prefect_kubernetes.worker import KubernetesWorkerJobConfiguration

    async def render():
        config = await KubernetesWorkerJobConfiguration.from_template_and_values(
            template, job_variables
        )
        config.prepare_for_flow_run(FlowRun(id=uuid.uuid4(), flow_id=uuid.uuid4(), name="run"))
        return config.job_manifest

    return asyncio.run(render())


def _as_v1_job(manifest):
    """Deserialize with the Kubernetes client's own models (fails on an invalid shape)."""
    import importlib
    import sys

    from kubernetes.client import ApiClient

    # The deserializer looks model classes up as ``kubernetes.client.models.<name>``; after
    # prefect-kubernetes' lazy imports that attribute can be missing from the package module.
    client_module = sys.modules["kubernetes.client"]
    if not hasattr(client_module, "models"):
        client_module.models = importlib.import_module("kubernetes.client.models")

    return ApiClient()._ApiClient__deserialize(manifest, "V1Job")


def test_translated_kubernetes_run_renders_every_value_where_a_cluster_reads_it(prefect_api):
    plan = _plan(KUBERNETES_RUN)
    (deployment,) = plan.deployments
    (pool,) = plan.pools
    assert pool.name == "k8s-prod" and pool.type == "kubernetes"
    variables = deployment.work_pool["job_variables"]
    assert variables == {
        "image": "acme/etl:1.4",
        "env": {"STAGE": "prod"},
        "cpu_request": "500m",
        "memory_limit": "2Gi",
        "service_account_name": "etl-runner",
        "image_pull_secrets": [{"name": "regcred"}, {"name": "other-registry"}],
    }
    manifest = _render(pool.base_job_template, variables)
    pod = manifest["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["image"] == "acme/etl:1.4"
    assert {"name": "STAGE", "value": "prod"} in container["env"]
    assert container["resources"] == {"requests": {"cpu": "500m"}, "limits": {"memory": "2Gi"}}
    assert pod["serviceAccountName"] == "etl-runner"
    assert pod["imagePullSecrets"] == [{"name": "regcred"}, {"name": "other-registry"}]

    job = _as_v1_job(manifest)
    spec = job.spec.template.spec
    assert spec.containers[0].resources.requests == {"cpu": "500m"}
    assert spec.containers[0].resources.limits == {"memory": "2Gi"}
    assert [s.name for s in spec.image_pull_secrets] == ["regcred", "other-registry"]
    assert spec.service_account_name == "etl-runner"
    assert spec.containers[0].image == "acme/etl:1.4"


def test_unset_variables_leave_nothing_behind(prefect_api):
    template = base_job_template()
    manifest = _render(template, {"image": "acme/etl:1.4"})
    pod = manifest["spec"]["template"]["spec"]
    assert "imagePullSecrets" not in pod
    assert "serviceAccountName" not in pod
    assert pod["containers"][0]["resources"] == {"requests": {}, "limits": {}}
    _as_v1_job(manifest)


def test_template_keeps_the_default_variables_and_adds_prefect1_ones():
    from prefect_kubernetes.worker import KubernetesWorker

    default = KubernetesWorker.get_default_base_job_template()
    template = base_job_template()
    properties = template["variables"]["properties"]
    assert set(default["variables"]["properties"]) < set(properties)
    for name in ("cpu_request", "cpu_limit", "memory_request", "memory_limit"):
        assert properties[name]["type"] == "string"
    assert properties["image_pull_secrets"]["type"] == "array"
    assert default == KubernetesWorker.get_default_base_job_template()  # not mutated


def test_prefect1_job_template_is_merged_under_the_prefect_template(prefect_api):
    job_template = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"annotations": {"team": "data"}},
        "spec": {
            "template": {
                "spec": {
                    "nodeSelector": {"pool": "etl"},
                    "containers": [
                        {
                            "name": "flow",
                            "env": [{"name": "FROM_TEMPLATE", "value": "1"}],
                            "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                        },
                        {"name": "sidecar", "image": "busybox"},
                    ],
                    "volumes": [{"name": "data", "emptyDir": {}}],
                }
            }
        },
    }
    plan = _plan({**KUBERNETES_RUN, "job_template": job_template})
    (deployment,) = plan.deployments
    assert any("job_template merged" in t.message for t in deployment.todos)
    manifest = _render(plan.pools[0].base_job_template, deployment.work_pool["job_variables"])
    pod = manifest["spec"]["template"]["spec"]
    assert manifest["metadata"]["annotations"] == {"team": "data"}
    assert pod["nodeSelector"] == {"pool": "etl"}
    assert pod["volumes"] == [{"name": "data", "emptyDir": {}}]
    flow, sidecar = pod["containers"]
    assert flow["name"] == "prefect-job" and flow["image"] == "acme/etl:1.4"
    assert flow["volumeMounts"] == [{"name": "data", "mountPath": "/data"}]
    env = {e["name"]: e["value"] for e in flow["env"]}
    assert env["FROM_TEMPLATE"] == "1" and env["STAGE"] == "prod"
    assert sidecar == {"name": "sidecar", "image": "busybox"}
    _as_v1_job(manifest)


@pytest.mark.parametrize(
    ("base", "override", "merged"),
    [
        ({"a": 1}, {"b": 2}, {"a": 1, "b": 2}),
        ({"a": {"x": 1}}, {"a": {"y": 2}}, {"a": {"x": 1, "y": 2}}),
        ({"a": 1}, {"a": 2}, {"a": 2}),
        ({"env": [{"name": "A"}]}, {"env": "{{ env }}"}, {"env": [{"name": "A"}]}),
    ],
)
def test_merge_job_manifest(base, override, merged):
    assert merge_job_manifest(base, override) == merged
