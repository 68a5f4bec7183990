"""docker-compose.yml and the Dockerfile hold together (Docker itself cannot run here):
every command they start exists in the app, every long-running service has a health
check, every volume and dependency is declared."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from launchpad_web.settings import WebSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = sorted(name for name, service in SERVICES.items() if "build" in service)


def launchpad_help(command: list[str]) -> str:
    """``launchpad <sub-commands> --help``: fails when a sub-command does not exist."""
    words = [word for word in command[1:] if not word.startswith("-")]
    result = subprocess.run(["launchpad", *words, "--help"], check=False, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_services_are_the_documented_ones():
    assert {"api", "worker", "postgres", "redis"} <= set(SERVICES)
    assert set(APP_SERVICES) == {"api", "worker", "migrate"}


@pytest.mark.parametrize("name", APP_SERVICES)
def test_every_app_command_exists_with_its_options(name):
    command = SERVICES[name]["command"]
    assert command[0] == "launchpad"
    usage = launchpad_help(command)
    for option in (word for word in command if word.startswith("--")):
        assert option in usage, f"{name}: {option} is not an option of {command}"


def test_the_dockerfile_default_command_exists():
    dockerfile = (ROOT / "Dockerfile").read_text()
    [cmd] = re.findall(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE)
    launchpad_help(yaml.safe_load(cmd))


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_long_running_services_have_health_checks(name):
    service = SERVICES[name]
    if service.get("restart") == "no":
        return
    test = service["healthcheck"]["test"]
    assert test[0] in ("CMD", "CMD-SHELL") and len(test) > 1


def test_dependencies_and_volumes_are_declared():
    declared = set(COMPOSE["volumes"])
    for name, service in SERVICES.items():
        for dependency, rule in service.get("depends_on", {}).items():
            assert dependency in SERVICES, (name, dependency)
            wanted = ("service_completed_successfully" if SERVICES[dependency].get("restart")
                      == "no" else "service_healthy")
            assert rule["condition"] == wanted, (name, dependency)
        for volume in service.get("volumes", []):
            assert volume.split(":")[0] in declared, (name, volume)


def test_the_app_services_share_the_database_redis_and_artifacts():
    for name in APP_SERVICES:
        environment = SERVICES[name]["environment"]
        assert "@postgres:5432/" in environment["LAUNCHPAD_DATABASE_URL"]
        assert environment["LAUNCHPAD_REDIS_URL"].startswith("redis://redis:6379/")
        assert f"launchpad-data:{environment['LAUNCHPAD_DATA_DIR']}" in SERVICES[name]["volumes"]
    assert "--no-worker" in SERVICES["api"]["command"]


def test_the_app_services_keep_artifacts_in_the_minio_bucket_the_init_service_makes():
    minio = SERVICES["minio"]["environment"]
    init = " ".join(SERVICES["minio-init"]["command"])
    assert SERVICES["minio-init"]["restart"] == "no"
    for name in APP_SERVICES:
        settings = WebSettings.from_env(SERVICES[name]["environment"]).jobs.bucket
        assert settings.endpoint_url == "http://minio:9000" and settings.downloads == "stream"
        assert (settings.access_key_id, settings.secret_access_key) == (
            minio["MINIO_ROOT_USER"], minio["MINIO_ROOT_PASSWORD"])
        assert f"mc mb --ignore-existing local/{settings.bucket}" in init
        assert (f"http://minio:9000 {settings.access_key_id} {settings.secret_access_key}"
                in init)
    for name in ("api", "worker"):  # they read and write the bucket
        assert "minio-init" in SERVICES[name]["depends_on"]
    assert SERVICES["minio"]["healthcheck"]["test"] == ["CMD", "mc", "ready", "local"]


def test_the_dockerfile_installs_the_s3_extra():
    assert 'pip install ".[s3]"' in (ROOT / "Dockerfile").read_text()


def test_the_dockerfile_copies_what_exists_and_is_not_ignored():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    copies = re.findall(r"^COPY (.+) \S+$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    sources = [source for line in copies for source in line.split()]
    assert {"pyproject.toml", "README.md", "src", "plugins"} <= set(sources)
    for source in sources:
        assert (ROOT / source).exists(), source
        assert source not in ignored, source


KUBERNETES = list(yaml.safe_load_all((ROOT / "deploy" / "kubernetes.yml").read_text()))


@pytest.mark.parametrize("deployment", KUBERNETES, ids=lambda d: d["metadata"]["name"])
def test_the_kubernetes_example_runs_real_commands_with_probes_on_their_ports(deployment):
    assert deployment["kind"] == "Deployment"
    spec = deployment["spec"]
    assert spec["selector"]["matchLabels"] == spec["template"]["metadata"]["labels"]
    [container] = spec["template"]["spec"]["containers"]
    usage = launchpad_help(container["command"])
    for option in (word for word in container["command"] if word.startswith("--")):
        assert option in usage
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    for probe in ("readinessProbe", "livenessProbe"):
        check = container[probe]["httpGet"]
        assert check["port"] in ports
        assert check["path"] in ("/api/health", "/livez", "/readyz")
    if "--probe-port" in container["command"]:
        port = int(container["command"][container["command"].index("--probe-port") + 1])
        assert ports[container["livenessProbe"]["httpGet"]["port"]] == port
        assert {"name": "LAUNCHPAD_WORKER_PROBE_HOST", "value": "0.0.0.0"} in container["env"]
    assert container["resources"]["limits"]["memory"]


def test_the_compose_worker_checks_its_probes_on_its_probe_port():
    worker = SERVICES["worker"]
    port = worker["command"][worker["command"].index("--probe-port") + 1]
    check = " ".join(worker["healthcheck"]["test"])
    assert f"127.0.0.1:{port}/" in check and "livez" in check and "readyz" in check


def test_the_kubernetes_pods_share_no_volume():
    """Archives are in the bucket: each pod's /data is its own (emptyDir)."""
    for deployment in KUBERNETES:
        volumes = deployment["spec"]["template"]["spec"].get("volumes", [])
        assert all("emptyDir" in volume for volume in volumes), volumes


def test_the_image_has_git():
    """Templates from repositories, updates and publishing run the git command line."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"apt-get install -y --no-install-recommends[^\n]*\bgit\b", dockerfile)
