#!/usr/bin/env python3
"""A recording stand-in for the `helm` v3 binary, for driving kubernetes.core.helm (6.2.0) for real.

Every call appends one JSON line to $HELM_RECORDER_LOG: the argv, the environment the module sets
(KUBECONFIG, HELM_NAMESPACE, HELM_KUBECONTEXT), the kubeconfig's content, and the content of every values
file passed with -f/--values (the module writes the values to a temporary file and deletes it afterwards).

Releases live in $HELM_RECORDER_STATE (JSON: {"releases": [{name, namespace, chart, app_version, revision,
values}]}); no file means no release. `upgrade` stores the new config the way Helm computes it.

Output formats follow helm/helm v3.21.4, the newest v3 tag in the stored snapshot; the files cited are
unchanged on branch dev-v3 (HEAD 2026-08-20), from which v3.22.0 (pinned in roles/helm) was released.
"""
import json
import os
import sys

import yaml

VERSION = "v3.22.0"
# Flags whose value can be the next argument (cmd/helm/flags.go addValueOptionsFlags -f/--values,
# addChartPathOptionsFlags --version/--repo; cmd/helm/upgrade.go --timeout; cmd/helm/list.go --filter;
# cmd/helm/root.go -n/--namespace, --kube-context; pkg/cli/output bindOutputFlag -o/--output).
VALUE_FLAGS = {"-f", "--values", "--version", "--repo", "--timeout", "--filter", "-n", "--namespace",
               "--kube-context", "-o", "--output"}


def parse(argv):
    """Positional arguments and {flag: [values]} as pflag reads them (`--x=v`, `--x v`, `-f=v`, `-f v`)."""
    args, flags, i = [], {}, 0
    while i < len(argv):
        a = argv[i]
        if a.startswith("-"):
            name, eq, value = a.partition("=")
            if not eq and name in VALUE_FLAGS and i + 1 < len(argv):
                i, value = i + 1, argv[i + 1]
            flags.setdefault(name, []).append(value if (eq or name in VALUE_FLAGS) else "true")
        else:
            args.append(a)
        i += 1
    return args, flags


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def load_state():
    text = read(os.environ.get("HELM_RECORDER_STATE", ""))
    return json.loads(text) if text else {"releases": []}


def find(state, name):
    return next((r for r in state["releases"] if r["name"] == name), None)


def merge(new, old):
    """pkg/action/upgrade.go reuseValues: chartutil.CoalesceTables(newVals, current.Config): new wins."""
    out = dict(old)
    for k, v in new.items():
        out[k] = merge(v, old[k]) if isinstance(v, dict) and isinstance(old.get(k), dict) else v
    return out


def truthy(values):
    # pflag bool flags parse with strconv.ParseBool: "True" and "true" are both true.
    return bool(values) and values[-1].lower() in ("1", "t", "true")


def upgrade(state, args, flags, values_files):
    """cmd/helm/upgrade.go: `Release %q has been upgraded. Happy Helming!` + statusPrinter (cmd/helm/status.go)."""
    name = args[1]
    new = {}
    for text in values_files.values():
        new = merge(yaml.safe_load(text) or {}, new)
    rel = find(state, name)
    if rel is None:
        rel = {"name": name, "namespace": os.environ.get("HELM_NAMESPACE", "default"), "revision": 0, "values": {}}
        state["releases"].append(rel)
        head = f'Release "{name}" does not exist. Installing it now.\n'  # cmd/helm/upgrade.go, `-i`
    else:
        head = f'Release "{name}" has been upgraded. Happy Helming!\n'
    # pkg/action/upgrade.go reuseValues: --reset-values wins over --reuse-values.
    if truthy(flags.get("--reuse-values")) and not truthy(flags.get("--reset-values")):
        new = merge(new, rel["values"])
    version = (flags.get("--version") or ["0.0.0"])[-1]
    rel.update(values=new, revision=rel["revision"] + 1, status="deployed", chart=f"{args[2]}-{version}")
    with open(os.environ["HELM_RECORDER_STATE"], "w") as f:
        json.dump(state, f)
    # cmd/helm/status.go statusPrinter.WriteTable (LAST DEPLOYED is time.ANSIC)
    return (f"{head}NAME: {name}\nLAST DEPLOYED: Mon Jan  5 10:00:00 2026\nNAMESPACE: {rel['namespace']}\n"
            f"STATUS: deployed\nREVISION: {rel['revision']}\nTEST SUITE: None\n")


def answer(argv, values_files):
    args, flags = parse(argv)
    state = load_state()
    cmd = " ".join(args[:2])
    if args[:1] == ["version"]:
        # cmd/helm/version.go formatVersion: fmt.Sprintf("%#v", version.BuildInfo) (internal/version/version.go)
        return ('version.BuildInfo{Version:"%s", GitCommit:"0000000000000000000000000000000000000000", '
                'GitTreeState:"clean", GoVersion:"go1.24.6"}\n' % VERSION)
    if args[:1] == ["list"]:
        # cmd/helm/list.go releaseElement (json tags name..app_version; revision is a string), printed
        # by pkg/cli/output EncodeYAML; `--filter` is a regular expression on the name (here: exact name).
        wanted = (flags.get("--filter") or [""])[-1]
        rows = [{"name": r["name"], "namespace": r["namespace"], "revision": str(r["revision"]),
                 "updated": "2026-01-05 10:00:00.000000000 +0000 UTC", "status": r.get("status", "deployed"),
                 "chart": r["chart"], "app_version": r.get("app_version", "")}
                for r in state["releases"] if not wanted or r["name"] == wanted]
        return yaml.safe_dump(rows)
    if cmd == "get values":
        # cmd/helm/get_values.go valuesWriter.WriteYAML: output.EncodeYAML(release.Config); empty -> "null"
        rel = find(state, args[2])
        if rel is None:
            sys.stderr.write("Error: release: not found\n")
            sys.exit(1)
        return yaml.safe_dump(rel["values"]) if rel["values"] else "null\n"
    if cmd in ("get manifest", "get notes", "get hooks"):
        # cmd/helm/get_manifest.go Fprintln(release.Manifest); get_notes.go prints "NOTES:..." only when there
        # are notes, get_hooks.go one "---" document per hook: the double keeps no manifest, notes or hooks.
        return "\n" if args[1] == "manifest" else ""
    if cmd == "show chart":
        # pkg/action/show.go Show.Run: yaml.Marshal(chart.Metadata) + "\n" (Chart.yaml fields)
        version = (flags.get("--version") or ["0.0.0"])[-1]
        return yaml.safe_dump({"apiVersion": "v2", "name": os.path.basename(args[2]), "version": version}) + "\n"
    if cmd == "plugin list":
        # cmd/helm/plugin_list.go: a uitable with the header row NAME VERSION DESCRIPTION; no plugins here
        return "NAME\tVERSION\tDESCRIPTION\n"
    if cmd == "repo update":
        # cmd/helm/repo_update.go
        return ("Hang tight while we grab the latest from your chart repositories...\n"
                "Update Complete. ⎈Happy Helming!⎈\n")
    if cmd == "repo add":
        return f'"{args[2]}" has been added to your repositories\n'  # cmd/helm/repo_add.go
    if args[:1] in (["upgrade"], ["install"]):
        return upgrade(state, args, flags, values_files)
    sys.stderr.write(f"helm_recorder: unsupported command {argv}\n")
    sys.exit(2)


def main():
    argv = sys.argv[1:]
    _, flags = parse(argv)
    values_files = {p: read(p) for p in flags.get("-f", []) + flags.get("--values", [])}
    kubeconfig = os.environ.get("KUBECONFIG")
    record = {"argv": argv, "KUBECONFIG": kubeconfig, "kubeconfig": read(kubeconfig) if kubeconfig else None,
              "HELM_NAMESPACE": os.environ.get("HELM_NAMESPACE"),
              "HELM_KUBECONTEXT": os.environ.get("HELM_KUBECONTEXT"), "values_files": values_files}
    with open(os.environ["HELM_RECORDER_LOG"], "a") as log:
        log.write(json.dumps(record) + "\n")
    sys.stdout.write(answer(argv, values_files))


if __name__ == "__main__":
    main()
