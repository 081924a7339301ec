"""Checks a rendered overlay for what the Kubernetes schemas cannot see: objects that select the pods or name each
other must match, and the shutdown sequence must fit in the pod's grace period (deploy/kubernetes/base).

    python3 check_references.py RENDERED.yaml      (exit 1 and one line per problem)
"""
import re
import sys

import yaml


def seconds(duration):
    """Seconds in an Abseil duration flag value such as 5s, 500ms or 1m30s."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
    parts = re.findall(r"([0-9.]+)(h|ms|us|ns|m|s)", duration)
    if not parts or "".join(n + u for n, u in parts) != duration:
        raise ValueError(f"not a duration: {duration!r}")
    return sum(float(n) * units[u] for n, u in parts)


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def main(path):
    with open(path) as f:
        objects = [o for o in yaml.safe_load_all(f) if o]
    by_kind = {}
    for o in objects:
        by_kind.setdefault(o["kind"], []).append(o)
    problems = []

    def check(condition, message):
        if not condition:
            problems.append(message)

    deployments = by_kind.get("Deployment", [])
    check(len(deployments) == 1, f"expected one Deployment, found {len(deployments)}")
    if problems:
        return problems
    deployment = deployments[0]
    namespace = deployment["metadata"].get("namespace")
    pod = deployment["spec"]["template"]
    pod_labels = pod["metadata"]["labels"]
    container = pod["spec"]["containers"][0]
    container_ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}

    for o in objects:
        if o["kind"] != "Namespace":
            check(o["metadata"].get("namespace") == namespace,
                  f'{o["kind"]}/{o["metadata"]["name"]} is not in namespace {namespace}')
    check(selects(deployment["spec"]["selector"]["matchLabels"], pod_labels),
          "the Deployment's selector does not match its pod template")
    for service in by_kind.get("Service", []):
        name = service["metadata"]["name"]
        check(selects(service["spec"].get("selector"), pod_labels), f"Service/{name} does not select the pods")
        for port in service["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            check(target in container_ports or target in container_ports.values(),
                  f"Service/{name} port {port['name']} targets {target}, which the container does not expose")
    for pdb in by_kind.get("PodDisruptionBudget", []):
        check(selects(pdb["spec"].get("selector", {}).get("matchLabels"), pod_labels),
              f'PodDisruptionBudget/{pdb["metadata"]["name"]} does not select the pods')
    for policy in by_kind.get("NetworkPolicy", []):
        check(selects(policy["spec"]["podSelector"].get("matchLabels"), pod_labels),
              f'NetworkPolicy/{policy["metadata"]["name"]} does not select the pods')
        for rule in policy["spec"].get("ingress", []):
            for port in rule.get("ports", []):
                check(port["port"] in container_ports.values(),
                      f"NetworkPolicy admits port {port['port']}, which the container does not expose")
    for hpa in by_kind.get("HorizontalPodAutoscaler", []):
        ref = hpa["spec"]["scaleTargetRef"]
        check(ref["kind"] == "Deployment" and ref["name"] == deployment["metadata"]["name"],
              f'HorizontalPodAutoscaler/{hpa["metadata"]["name"]} scales {ref["kind"]}/{ref["name"]}')
    services = by_kind.get("Service", [])
    for monitor in by_kind.get("ServiceMonitor", []):
        matched = [s for s in services if selects(monitor["spec"]["selector"]["matchLabels"], s["metadata"]["labels"])]
        check(matched, f'ServiceMonitor/{monitor["metadata"]["name"]} selects no Service')
        for endpoint in monitor["spec"]["endpoints"]:
            check(all(endpoint["port"] in [p["name"] for p in s["spec"]["ports"]] for s in matched),
                  f"ServiceMonitor scrapes port {endpoint['port']}, which its Service does not name")
    for constraint in pod["spec"].get("topologySpreadConstraints", []):
        check(selects(constraint["labelSelector"]["matchLabels"], pod_labels),
              f"a topology spread constraint ({constraint['topologyKey']}) does not select the pods")

    # Probes reach the gRPC port; the shutdown (drain, then in-flight requests) fits in the grace period, and the
    # liveness probe, which fails while the server drains (health NOT_SERVING), does not kill it first.
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        check(probe in container, f"the container has no {probe}")
        grpc = container.get(probe, {}).get("grpc", {})
        check(grpc.get("port") == container_ports.get("grpc"), f"the {probe} does not probe the gRPC port")
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    # The server exits within its grace plus 2 s (README, "Shutdown").
    shutdown = seconds(env.get("IMGPROC_DRAIN_DELAY", "0s")) + seconds(env.get("IMGPROC_SHUTDOWN_GRACE", "10s")) + 2
    grace = pod["spec"].get("terminationGracePeriodSeconds", 30)
    check(shutdown < grace, f"drain + shutdown grace + 2 s ({shutdown:g} s) do not fit in "
                            f"terminationGracePeriodSeconds ({grace} s): the kubelet would kill in-flight requests")
    # The admission budgets derive from the container's memory limit (README, "Memory budgets").
    check("memory" in container.get("resources", {}).get("limits", {}),
          "the container has no memory limit, from which the server derives its memory budgets")
    liveness = container.get("livenessProbe", {})
    tolerated = liveness.get("periodSeconds", 10) * liveness.get("failureThreshold", 3)
    check(tolerated > shutdown, f"the liveness probe gives up after {tolerated} s of NOT_SERVING, before the "
                                f"shutdown ends ({shutdown:g} s)")
    return problems


if __name__ == "__main__":
    found = main(sys.argv[1])
    for problem in found:
        print(f"check_references: {sys.argv[1]}: {problem}", file=sys.stderr)
    sys.exit(1 if found else 0)
