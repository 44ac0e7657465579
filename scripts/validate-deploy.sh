#!/usr/bin/env bash
# Validates deploy/ without a Docker engine: the Kubernetes manifests against the
# Kubernetes OpenAPI schemas (kubernetes-validate, strict: unknown fields and wrong
# types fail), the compose file against the Compose specification's JSON schema, and
# the compose file and Dockerfile for the structure the docs promise.
set -euo pipefail
cd "$(dirname "$0")/.."
# As a module, so that a freshly installed package works without a shell rehash (pyenv).
if ! python3 -c "import kubernetes_validate, yaml" 2>/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check kubernetes-validate pyyaml >&2
fi
python3 -m kubernetes_validate --strict deploy/kubernetes/learner.yaml deploy/kubernetes/workers.yaml deploy/kubernetes/gym/gym-workers.yaml

# The Compose specification's JSON schema, as shipped in docker-compose 1.29.2's wheel (no install: only the schema is read).
wheels=$(mktemp -d)
trap 'rm -rf "$wheels"' EXIT
python3 -m pip download --quiet --disable-pip-version-check --no-deps --dest "$wheels" docker-compose==1.29.2 >&2
python3 - "$wheels" <<'PY'
import glob, json, sys, zipfile
import jsonschema, yaml
wheel = zipfile.ZipFile(glob.glob(f"{sys.argv[1]}/docker_compose-*.whl")[0])
schema = json.loads(wheel.read("compose/config/compose_spec.json"))
failed = False
for path in ("deploy/docker-compose.yml", "deploy/docker-compose.gym.yml"):
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(yaml.safe_load(open(path))), key=str)
    for error in errors:
        print(f"{path}: {'/'.join(map(str, error.path)) or '(top)'}: {error.message}", file=sys.stderr)
    failed = failed or bool(errors)
    if not errors:
        print(f"{path} is valid against the Compose specification schema")
sys.exit(1 if failed else 0)
PY
python3 - <<'PY'
import re, yaml

compose = yaml.safe_load(open("deploy/docker-compose.yml"))
services = compose["services"]
assert set(services) == {"learner", "worker", "evaluator"}, services
learner, worker, evaluator = services["learner"], services["worker"], services["evaluator"]
assert evaluator["command"][:2] == ["worker", "--evaluator"] and "--learner=learner" in evaluator["command"], "an evaluator for the evaluations"
assert learner["command"][0] == "learner" and worker["command"][0] == "worker"
assert "--learner=learner" in worker["command"], "workers reach the learner by its service name"
assert "--worker-id=auto" in worker["command"], "replicas need distinct ids without per-replica config"
assert "deploy" not in worker or "replicas" not in worker["deploy"], "the worker count comes from --scale"
assert any(str(p).startswith("127.0.0.1:") for p in learner.get("ports", [])), "metrics published on loopback only"
assert learner["image"] == worker["image"]

kustomization = yaml.safe_load(open("deploy/kubernetes/kustomization.yaml"))
documents = [d for f in kustomization["resources"] for d in yaml.safe_load_all(open(f"deploy/kubernetes/{f}"))]
kinds = {(d["kind"], d["metadata"]["name"]) for d in documents}
assert kinds == {("Service", "ddpg-learner"), ("StatefulSet", "ddpg-learner"), ("Deployment", "ddpg-worker"),
                 ("Deployment", "ddpg-evaluator")}, kinds
statefulset = next(d for d in documents if d["kind"] == "StatefulSet")
assert statefulset["spec"]["replicas"] == 1
assert statefulset["spec"]["volumeClaimTemplates"], "a persistent volume for checkpoints"
assert statefulset["spec"]["template"]["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
service = next(d for d in documents if d["kind"] == "Service")
assert {p["port"] for p in service["spec"]["ports"]} == {5555, 5556, 9464}
deployment = next(d for d in documents if d["kind"] == "Deployment" and d["metadata"]["name"] == "ddpg-worker")
args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
assert "--learner=ddpg-learner" in args, "workers find the learner through the Service's DNS name"
evaluators = next(d for d in documents if d["metadata"]["name"] == "ddpg-evaluator")
assert evaluators["spec"]["template"]["spec"]["containers"][0]["args"][:2] == ["worker", "--evaluator"]
for d in (statefulset, deployment, evaluators):
    assert d["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"], "resource requests"

dockerfile = open("deploy/Dockerfile").read()
# The build stage, the stage the binary comes from (the build stage unless DDPG_BINARY_FROM names another
# image: scripts/container-test.sh's host-built binary), and the runtime stage on a slim Debian base.
stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", dockerfile, re.M)
assert [name for _, name in stages] == ["build", "binary", ""] and stages[1][0] == "${DDPG_BINARY_FROM}", stages
defaults = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", dockerfile, re.M))
assert defaults == {"DDPG_BINARY_FROM": "build", "RUNTIME_BASE": "debian:bookworm-slim"}, defaults
runtime = dockerfile.split("FROM ${RUNTIME_BASE}")[1]
packages = set(re.findall(r"\b(lib[a-z0-9.-]+)", runtime.split("rm -rf")[0]))
assert packages == {"libzmq5", "libopenblas0-pthread", "libcurl4"}, packages
assert "COPY --from=binary /out/ddpg" in runtime and "USER ddpg" in runtime
# Python workers: the gym compose file, the gym overlay (its patches applied here as kustomize would), the worker image.
gym = yaml.safe_load(open("deploy/docker-compose.gym.yml"))["services"]
assert set(gym) == {"learner", "gym-worker", "gym-evaluator"}, gym
assert "--env=HalfCheetah-v5" in gym["learner"]["command"] and gym["learner"]["image"] == learner["image"]
for name in ("gym-worker", "gym-evaluator"):
    command = gym[name]["command"]
    assert gym[name]["image"] == "ddpg-gym-worker:latest" and "--env=HalfCheetah-v5" in command and "--learner=learner" in command, name
assert "--worker-id=auto" in gym["gym-worker"]["command"] and "--evaluator" in gym["gym-evaluator"]["command"]
overlay = yaml.safe_load(open("deploy/kubernetes/gym/kustomization.yaml"))
assert overlay["resources"] == ["..", "gym-workers.yaml"], overlay["resources"]
by_name = {(d["kind"], d["metadata"]["name"]): d for d in documents}
for patch in overlay["patches"]:
    target = by_name[(patch["target"]["kind"], patch["target"]["name"])]
    for op in yaml.safe_load(patch["patch"]):
        *parents, last = op["path"].strip("/").split("/")
        node = target
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if op["op"] == "add" and last == "-":
            node.append(op["value"])
        else:
            assert op["op"] == "replace" and last in node, op
            node[last] = op["value"]
learner_args = by_name[("StatefulSet", "ddpg-learner")]["spec"]["template"]["spec"]["containers"][0]["args"]
assert "--env=HalfCheetah-v5" in learner_args and "--samples-per-insert=256" in learner_args, learner_args
assert by_name[("Deployment", "ddpg-worker")]["spec"]["replicas"] == 0, "no Swift workers on a gymnasium environment"
gym_documents = list(yaml.safe_load_all(open("deploy/kubernetes/gym/gym-workers.yaml")))
assert {d["metadata"]["name"] for d in gym_documents} == {"ddpg-gym-worker", "ddpg-gym-evaluator"}
for d in gym_documents:
    container = d["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "ddpg-gym-worker:latest" and "--learner=ddpg-learner" in container["args"], d["metadata"]["name"]
    assert container["resources"]["requests"]
gym_dockerfile = open("deploy/Dockerfile.gym-worker").read()
assert re.search(r"^ARG PYTHON_BASE=python:3\.11-slim-bookworm$", gym_dockerfile, re.M) and "FROM ${PYTHON_BASE}" in gym_dockerfile
assert 'ENTRYPOINT ["ddpg-gym-worker"]' in gym_dockerfile and "USER ddpg" in gym_dockerfile and "[mujoco]" in gym_dockerfile
print("deploy/: compose files, kustomizations and Dockerfiles structure OK")
PY
