"""``rikugame persist NAMESPACE/TUNER``: write what the Tuner decided into its workload's pod template.

What ``tortoisectl stop`` does for Tortoise: after it, the template itself asks for the resources the
operator set in place, so removing rikugame (or its webhook) changes no pod. The template change rolls the
workload out (new pods with the same resources the running ones already have).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer

from rikugame.commands import options as opts
from rikugame.core import quantities
from rikugame.core.tuner_status import TunerStatus
from rikugame.errors import InputError, RikugameError

_PATCHERS = {"Deployment": "patch_namespaced_deployment", "StatefulSet": "patch_namespaced_stateful_set",
             "DaemonSet": "patch_namespaced_daemon_set"}


def template_patch(status: TunerStatus, template_containers: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The strategic-merge patch setting each template container's existing requests/limits to the decided
    ones in the Tuner status (None when nothing changes). Never adds a request or limit the template lacks."""
    decided = {c.name: (c.decided, c.decided_limits) for c in status.containers}
    containers = []
    for c in template_containers:
        if c["name"] not in decided:
            continue
        requests, limits = decided[c["name"]]
        resources = c.get("resources") or {}
        patch: dict[str, dict[str, str]] = {}
        for section, values in (("requests", requests), ("limits", limits)):
            for resource in ("cpu", "memory"):
                value = getattr(values, resource, None) if values is not None else None
                have = (resources.get(section) or {}).get(resource)
                if value is None or have is None or _same(resource, have, value):
                    continue
                patch.setdefault(section, {})[resource] = value
        if patch:
            containers.append({"name": c["name"], "resources": patch})
    return {"spec": {"template": {"spec": {"containers": containers}}}} if containers else None


def _same(resource: str, a: str, b: str) -> bool:
    parse = quantities.cpu_millicores if resource == "cpu" else quantities.memory_bytes
    return parse(a) == parse(b)


async def _persist(kubeconfig: Path | None, namespace: str, name: str, dry_run: bool) -> str:
    from kubernetes_asyncio import client, config
    from kubernetes_asyncio.client.exceptions import ApiException

    from rikugame.cluster.names import GROUP, TUNERS, VERSION

    if kubeconfig is not None:
        api = await config.new_client_from_config(config_file=str(kubeconfig))
    else:
        await config.load_kube_config()
        api = client.ApiClient()
    async with api:
        try:
            tuner = await client.CustomObjectsApi(api).get_namespaced_custom_object(
                GROUP, VERSION, namespace, TUNERS, name)
        except ApiException as exc:
            raise InputError(f"Tuner {namespace}/{name}: {exc.reason}") from exc
        ref = tuner["spec"]["targetRef"]
        patcher = _PATCHERS.get(ref.get("kind", ""))
        if patcher is None:
            kinds = ", ".join(_PATCHERS)
            raise InputError(f"Tuner {namespace}/{name}: persist supports {kinds}, not {ref.get('kind')}")
        status = TunerStatus.model_validate(tuner.get("status") or {})
        if not status.containers:
            raise InputError(f"Tuner {namespace}/{name} has no decision in its status yet")
        apps = client.AppsV1Api(api)
        reader = getattr(apps, patcher.replace("patch_", "read_"))
        workload = await reader(ref["name"], namespace)
        containers = api.sanitize_for_serialization(workload.spec.template.spec.containers)
        patch = template_patch(status, containers)
        if patch is None:
            return f"{ref['kind']}/{ref['name']}: the pod template already asks for the decided resources"
        if not dry_run:
            await getattr(apps, patcher)(ref["name"], namespace, patch)
        return f"{'would patch' if dry_run else 'patched'} {ref['kind']}/{ref['name']}: {patch['spec']['template']}"


def persist(
    tuner: Annotated[str, typer.Argument(metavar="NAMESPACE/NAME", help="The Tuner, as NAMESPACE/NAME.")],
    kubeconfig: Annotated[Path | None, typer.Option("--kubeconfig", metavar="FILE", help="Kubeconfig file.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the patch, change nothing.")] = False,
) -> None:
    """Write the Tuner's decided requests/limits into its workload's pod template (so removing rikugame
    changes no pod)."""
    try:
        namespace, _, name = tuner.partition("/")
        if not namespace or not name:
            raise InputError(f"TUNER: expected NAMESPACE/NAME, got {tuner!r}")
        typer.echo(asyncio.run(_persist(kubeconfig, namespace, name, dry_run)))
    except RikugameError as exc:
        raise opts.fail(str(exc)) from exc
