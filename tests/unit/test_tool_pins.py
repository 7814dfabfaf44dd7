"""The bootstrap builds the tools with the sha256 that pants.toml pins; both must agree."""

from __future__ import annotations

import re
from pathlib import Path

import tomllib


def test_bootstrap_and_pants_toml_pin_the_same_tools():
    config = tomllib.loads(Path("pants.toml").read_text())
    script = Path("build-support/bootstrap/tools.sh").read_text()
    pins = dict(re.findall(r"^([A-Z0-9_]+)=(\S+)$", script, re.M))
    pex = {v.split("|")[2] for v in config["pex-cli"]["known_versions"]}
    protoc = {v.split("|")[2] for v in config["protoc"]["known_versions"]}
    plugin = {v.split("|")[2] for v in config["grpc-python-plugin"]["known_versions"]}
    assert pex == {pins["PEX_SHA256"]}
    assert protoc == {pins["PROTOC_SHA256"]}
    assert plugin == {pins["GRPC_PLUGIN_SHA256"]}
    assert config["pex-cli"]["version"] == "v" + pins["PEX_VERSION"]
    assert config["protoc"]["version"] == pins["PROTOC_VERSION"]
    for tool in ("pex-cli", "protoc", "grpc-python-plugin"):
        assert config[tool]["url_template"].startswith("file://"), f"[{tool}] url_template downloads: {config[tool]['url_template']}"
