#!/usr/bin/env python3
"""Checks that every module a target imports is declared in Package.swift, and that the cores stay socket-free.

SwiftPM lets a target import a module it reaches only transitively; then the module
graph in the manifest no longer tells the truth. Reads `swift package dump-package`
and the `import` lines of each target's sources; prints each undeclared import, and
each socket-free module that reaches a socket, process or process-wide module through
its dependencies (docs/ARCHITECTURE.md), and exits 1 if there is any.
Usage: scripts/tools/check-imports.py [package dir]
"""
import json
import os
import re
import subprocess
import sys

# Modules every Swift target may import without declaring them.
SYSTEM = {"Foundation", "FoundationEssentials", "Glibc", "Darwin", "Dispatch", "Synchronization",
          "FoundationNetworking", "FoundationXML", "Testing", "XCTest", "PackageDescription", "Musl"}
MULTILINE_STRING = re.compile(r'""".*?"""', re.S)
# The decisions: modules that must not reach sockets, signals or the command line, even transitively.
SOCKET_FREE = {"Specs", "Tensors", "Settings", "Clocks", "Randomness", "NeuralNetwork", "Adders", "Replay", "Policy", "Agents",
               "WireProtocol", "Ingest", "Transport", "RunRecords", "RunConfiguration", "Evaluation", "Learning", "Acting"}
SHELLS = {"ZeroMQ", "CZeroMQ", "ProcessSupport", "Learner", "Worker", "ddpg", "MetricsServer", "KernelSelection"}
IMPORT = re.compile(r"^\s*(?:@[A-Za-z_]+(?:\([^)]*\))?\s+)*import\s+(?:(?:struct|class|enum|protocol|func|var|typealias)\s+)?([A-Za-z_][A-Za-z0-9_]*)", re.M)


def main() -> int:
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", ".."))
    manifest = json.loads(subprocess.run(["swift", "package", "dump-package"], cwd=root, check=True,
                                         capture_output=True, text=True).stdout)
    local = {t["name"] for t in manifest["targets"]}
    problems = 0
    for target in manifest["targets"]:
        if target["type"] in ("system", "binary"):
            continue
        declared = set()
        for dependency in target["dependencies"]:
            for kind in ("byName", "target", "product"):
                if kind in dependency:
                    declared.add(dependency[kind][0])
        path = target.get("path") or os.path.join("Tests" if target["type"] == "test" else "Sources", target["name"])
        imported = {}
        for directory, _, files in os.walk(os.path.join(root, path)):
            for name in files:
                if name.endswith(".swift"):
                    file = os.path.join(directory, name)
                    # Multi-line string literals may hold other languages' imports (a Python script in a test).
                    text = MULTILINE_STRING.sub("", open(file, encoding="utf-8").read())
                    for module in IMPORT.findall(text):
                        imported.setdefault(module, os.path.relpath(file, root))
        for module, file in sorted(imported.items()):
            if module in SYSTEM or module in declared or module == target["name"]:
                continue
            print(f"{target['name']}: imports {module} ({file}) without declaring it"
                  + ("" if module in local else " (a product of a dependency?)"))
            problems += 1
    problems += check_socket_free(manifest)
    print(f"check-imports: {problems} problem(s) in {len(manifest['targets'])} targets")
    return 1 if problems else 0


def check_socket_free(manifest: dict) -> int:
    dependencies = {}
    for target in manifest["targets"]:
        dependencies[target["name"]] = {d[kind][0] for d in target["dependencies"] for kind in ("byName", "target", "product") if kind in d}
    problems = 0
    for name in sorted(SOCKET_FREE):
        if name not in dependencies:
            print(f"{name}: listed as socket-free but not a target")
            problems += 1
            continue
        path, seen, stack = {name: [name]}, {name}, [name]
        while stack:
            current = stack.pop()
            for dependency in sorted(dependencies.get(current, ())):
                if dependency not in seen:
                    seen.add(dependency)
                    path[dependency] = path[current] + [dependency]
                    stack.append(dependency)
        for shell in sorted(seen & SHELLS):
            print(f"{name}: socket-free, but reaches {shell} ({' -> '.join(path[shell])})")
            problems += 1
    return problems


if __name__ == "__main__":
    sys.exit(main())
