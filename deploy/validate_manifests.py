"""Offline checks of deploy/: YAML parses, Kubernetes objects are hardened and consistent,
compose and Distribution settings agree, and every REGAUTH_* variable is a real setting.

Run by deploy/validate_test.sh with Debian's /usr/bin/python3 (python3-yaml):
  validate_manifests.py DEPLOY_DIR CONFIG_CC HELPFULL_FILE
Prints one line per problem and exits 1 if there is any.
"""
import glob
import os
import re
import sys

import yaml

problems = []


def problem(where, what):
    problems.append(f"{where}: {what}")


def load_all(path):
    try:
        with open(path) as f:
            return [d for d in yaml.safe_load_all(f) if d is not None]
    except yaml.YAMLError as e:
        problem(path, f"YAML does not parse: {e}")
        return []


def env_var_names(text):
    return set(re.findall(r"\bREGAUTH_[A-Z0-9_]+\b", text))


def main():
    deploy, config_cc, helpfull_file = sys.argv[1:4]
    rel = lambda p: os.path.relpath(p, os.path.dirname(deploy))

    # ---- Settings that exist: config.cc's variables, cross-checked with --helpfull ----------
    known = set(re.findall(r'"(REGAUTH_[A-Z0-9_]+)"', open(config_cc).read()))
    helpfull = set(re.findall(r"env\s+(REGAUTH_[A-Z0-9_]+)", open(helpfull_file).read()))
    if len(known) < 20 or len(helpfull) < 20:
        problem(config_cc, f"found too few settings ({len(known)} in config.cc, {len(helpfull)} "
                "in --helpfull): the parser of this test is out of date")
    for name in sorted(helpfull - known):
        problem("registry-authd --helpfull", f"{name} is not read in server/config.cc")
    for name in sorted(known - helpfull - {"REGAUTH_KEYS"}):
        problem("registry-authd --helpfull", f"{name} (server/config.cc) is not documented")

    # Every REGAUTH_* named in deployment material must be a setting.
    material = (glob.glob(f"{deploy}/kubernetes/*.yaml") + glob.glob(f"{deploy}/compose/*.y*ml")
                + glob.glob(f"{deploy}/systemd/*") + glob.glob(f"{deploy}/distribution/*.yml")
                + [f"{deploy}/registry-authd.env.example", f"{deploy}/Dockerfile"])
    for path in material:
        for name in sorted(env_var_names(open(path).read()) - known):
            problem(rel(path), f"{name} is not a registry-authd setting (server/config.cc)")

    # ---- Kubernetes ------------------------------------------------------------------------
    k8s_dir = f"{deploy}/kubernetes"
    objects = {}  # (kind, name) -> object
    for path in sorted(glob.glob(f"{k8s_dir}/*.yaml")):
        for doc in load_all(path):
            if not isinstance(doc, dict):
                problem(rel(path), "a document is not a mapping")
                continue
            kind = doc.get("kind")
            if kind == "Kustomization":
                continue
            name = (doc.get("metadata") or {}).get("name")
            if not doc.get("apiVersion") or not kind or not name:
                problem(rel(path), "object without apiVersion, kind or metadata.name")
                continue
            if "namespace" in doc["metadata"]:
                problem(rel(path), f"{kind}/{name} sets a namespace (the set is namespace-agnostic)")
            if kind == "Secret":
                problem(rel(path), f"Secret/{name}: secrets are created by the operator, "
                        "never kept in the manifests")
            objects[(kind, name)] = doc
            doc["_file"] = rel(path)
    kustomization = load_all(f"{k8s_dir}/kustomization.yaml")
    listed = set(kustomization[0].get("resources", [])) if kustomization else set()
    present = {os.path.basename(p) for p in glob.glob(f"{k8s_dir}/*.yaml")} - {"kustomization.yaml"}
    if listed != present:
        problem("kubernetes/kustomization.yaml",
                f"resources {sorted(listed)} differ from the files {sorted(present)}")
    for kind in ("ConfigMap", "Deployment", "Service", "Job", "PodDisruptionBudget"):
        if not any(k == kind for k, _ in objects):
            problem("kubernetes", f"no {kind}")

    configmaps = {n: o.get("data", {}) for (k, n), o in objects.items() if k == "ConfigMap"}

    def check_pod(where, pod, is_server):
        ctx = pod.get("securityContext") or {}
        if ctx.get("runAsNonRoot") is not True or not ctx.get("runAsUser"):
            problem(where, "pod securityContext needs runAsNonRoot: true and a runAsUser")
        if (ctx.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            problem(where, "pod seccompProfile must be RuntimeDefault")
        if pod.get("automountServiceAccountToken") is not False:
            problem(where, "automountServiceAccountToken must be false")
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for v in volumes.values():
            mode = (v.get("secret") or {}).get("defaultMode")
            if "secret" in v and mode not in (0o400, 0o440):
                problem(where, f"secret volume {v['name']} needs defaultMode 0400 or 0440")
        containers = pod.get("containers", [])
        for c in pod.get("initContainers", []) + containers:
            cw = f"{where} container {c.get('name')}"
            sc = c.get("securityContext") or {}
            if sc.get("readOnlyRootFilesystem") is not True:
                problem(cw, "needs readOnlyRootFilesystem: true")
            if sc.get("allowPrivilegeEscalation") is not False:
                problem(cw, "needs allowPrivilegeEscalation: false")
            if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
                problem(cw, "must drop ALL capabilities")
            if sc.get("privileged"):
                problem(cw, "must not be privileged")
            if not (c.get("resources") or {}).get("requests") or \
                    not (c.get("resources") or {}).get("limits"):
                problem(cw, "needs resource requests and limits")
            mounts = {m["mountPath"]: m for m in c.get("volumeMounts", [])}
            for m in mounts.values():
                if m["name"] not in volumes:
                    problem(cw, f"mounts undefined volume {m['name']}")
            # Environment: names must be settings, file paths must be mounted.
            env = {}
            for e in c.get("env", []):
                name = e["name"]
                env[name] = e.get("value")
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if ref and (not ref.get("name") or not ref.get("key")):
                    problem(cw, f"{name}: secretKeyRef needs name and key")
            for src in c.get("envFrom", []):
                cm = (src.get("configMapRef") or {}).get("name")
                if cm is not None:
                    if cm not in configmaps:
                        problem(cw, f"envFrom names ConfigMap {cm}, which is not in the set")
                    env.update(configmaps.get(cm, {}))
            for name, value in env.items():
                if name.startswith("REGAUTH_") and name not in known:
                    problem(cw, f"{name} is not a registry-authd setting")
                if name == "REGAUTH_DATABASE_URL" and value is not None:
                    problem(cw, "REGAUTH_DATABASE_URL must come from a Secret (secretKeyRef)")
                if not isinstance(value, str) or not value.startswith("/"):
                    continue
                mount = [p for p in mounts if value.startswith(p.rstrip("/") + "/")]
                if not mount:
                    problem(cw, f"{name}={value} is not under any volume mount")
                    continue
                vol = volumes.get(mounts[mount[0]]["name"], {})
                src = vol.get("secret") or vol.get("configMap") or {}
                items = src.get("items")
                relpath = value[len(mount[0].rstrip("/")) + 1:]
                if items is not None and relpath not in [i["path"] for i in items]:
                    problem(cw, f"{name}={value}: {relpath} is not an item of volume {vol['name']}")
                if "configMap" in vol and items is None:
                    data = configmaps.get(src.get("name"), {})
                    if relpath not in data:
                        problem(cw, f"{name}={value}: ConfigMap {src.get('name')} has no {relpath}")
                if "emptyDir" in vol:
                    script = " ".join(" ".join(i.get("command", []) + i.get("args", []))
                                      for i in pod.get("initContainers", []))
                    if os.path.dirname(value) not in script:
                        problem(cw, f"{name}={value}: no init container fills {mount[0]}")
        return containers

    deployments = [o for (k, _), o in objects.items() if k == "Deployment"]
    for d in deployments:
        where = f"{d['_file']} Deployment/{d['metadata']['name']}"
        spec = d["spec"]
        if spec.get("replicas", 1) < 2:
            problem(where, "needs 2 or more replicas")
        pod = spec["template"]["spec"]
        pod_labels = spec["template"]["metadata"].get("labels", {})
        if any(pod_labels.get(k) != v for k, v in spec["selector"]["matchLabels"].items()):
            problem(where, "selector does not match the pod labels")
        for c in check_pod(where, pod, True):
            cw = f"{where} container {c['name']}"
            ready = ((c.get("readinessProbe") or {}).get("httpGet") or {}).get("path")
            live = ((c.get("livenessProbe") or {}).get("httpGet") or {}).get("path")
            if ready != "/readyz":
                problem(cw, "readinessProbe must be an HTTP GET of /readyz")
            if live != "/healthz":
                problem(cw, "livenessProbe must be an HTTP GET of /healthz")
            if "--migrate=false" not in c.get("args", []):
                problem(cw, "must run with --migrate=false (the migration Job migrates)")
            ports = {p["name"] for p in c.get("ports", [])}
            for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                port = ((c.get(probe) or {}).get("httpGet") or {}).get("port")
                if port is not None and isinstance(port, str) and port not in ports:
                    problem(cw, f"{probe} uses unknown port {port}")
        grace = pod.get("terminationGracePeriodSeconds", 30)
        cm_env = {}
        for c in pod["containers"]:
            for src in c.get("envFrom", []):
                cm_env.update(configmaps.get((src.get("configMapRef") or {}).get("name"), {}))
        m = re.fullmatch(r"(\d+)s", str(cm_env.get("REGAUTH_SHUTDOWN_GRACE", "10s")))
        if m and grace <= int(m.group(1)):
            problem(where, "terminationGracePeriodSeconds must exceed REGAUTH_SHUTDOWN_GRACE")
        # The metrics listener is a declared container port, and no Service exposes it (it
        # tells request rates, routes and error counts; scrapers reach pods directly).
        metrics_port_name = None
        metrics_listen = str(cm_env.get("REGAUTH_METRICS_LISTEN", ""))
        if metrics_listen:
            by_number = {p.get("containerPort"): p.get("name")
                         for c in pod["containers"] for p in c.get("ports", [])}
            number = metrics_listen.rsplit(":", 1)[-1]
            metrics_port_name = by_number.get(int(number)) if number.isdigit() else None
            if metrics_port_name is None:
                problem(where, f"REGAUTH_METRICS_LISTEN={metrics_listen}: its port is not a "
                        "named containerPort")
        for (kind, name), o in objects.items():
            if kind in ("Service", "PodDisruptionBudget"):
                sel = o["spec"]["selector"]
                sel = sel.get("matchLabels", sel) if kind == "PodDisruptionBudget" else sel
                if all(pod_labels.get(k) == v for k, v in sel.items()):
                    o["_matched"] = True
                    if kind == "Service":
                        ports = {p["name"] for c in pod["containers"] for p in c.get("ports", [])}
                        for p in o["spec"]["ports"]:
                            if p.get("targetPort") not in ports:
                                problem(o["_file"], f"Service port {p['name']} targets unknown "
                                        f"port {p.get('targetPort')}")
                            if metrics_port_name and p.get("targetPort") in (
                                    metrics_port_name, int(metrics_listen.rsplit(":", 1)[-1])):
                                problem(o["_file"], f"Service port {p['name']} exposes the "
                                        "metrics listener")
    for (kind, name), o in objects.items():
        if kind in ("Service", "PodDisruptionBudget") and not o.get("_matched"):
            problem(o["_file"], f"{kind}/{name} selects no Deployment's pods")
    for (kind, name), o in objects.items():
        if kind != "Job":
            continue
        where = f"{o['_file']} Job/{name}"
        pod = o["spec"]["template"]["spec"]
        containers = check_pod(where, pod, False)
        if not any(c.get("args", [])[:1] == ["migrate"] for c in containers):
            problem(where, "the migration Job must run `registry-authd migrate`")

    # ---- Compose -----------------------------------------------------------------------------
    compose_path = f"{deploy}/compose/compose.yaml"
    compose = (load_all(compose_path) or [{}])[0]
    services = compose.get("services", {})
    for s in ("postgres", "registry", "registry-authd", "migrate"):
        if s not in services:
            problem("compose/compose.yaml", f"no service {s}")
    if not str(services.get("postgres", {}).get("image", "")).startswith("postgres:15"):
        problem("compose/compose.yaml", "postgres must be the postgres:15 image")
    if services.get("registry", {}).get("image") != "registry:2":
        problem("compose/compose.yaml", "registry must be the registry:2 image")
    compose_dir = os.path.dirname(compose_path)
    for name, s in services.items():
        build = s.get("build")
        if build:
            dockerfile = os.path.join(compose_dir, build["context"], build["dockerfile"])
            if not os.path.exists(dockerfile):
                problem("compose/compose.yaml", f"{name}: {build['dockerfile']} does not exist")
        env = s.get("environment") or {}
        for var, value in env.items():
            if var.startswith("REGAUTH_") and var not in known:
                problem("compose/compose.yaml", f"{name}: {var} is not a registry-authd setting")
            if re.search(r"password=(?!\$\{)", str(value)):
                problem("compose/compose.yaml", f"{name}: {var} holds a literal password")
        targets = []
        for v in s.get("volumes", []):
            source, target = v.split(":")[:2]
            targets.append(target)
            if source.startswith("./") and not source.startswith("./secrets"):
                if not os.path.exists(os.path.join(compose_dir, source)):
                    problem("compose/compose.yaml", f"{name}: volume source {source} is missing")
        for var, value in env.items():
            if var.startswith("REGAUTH_") and str(value).startswith("/") and not any(
                    str(value).startswith(t.rstrip("/") + "/") for t in targets):
                problem("compose/compose.yaml", f"{name}: {var}={value} is not under a volume")
    authd_env = services.get("registry-authd", {}).get("environment") or {}
    reg = (load_all(f"{compose_dir}/registry-config.yml") or [{}])[0]
    token = (reg.get("auth") or {}).get("token") or {}
    if token.get("service") != authd_env.get("REGAUTH_TOKEN_SERVICE"):
        problem("compose/registry-config.yml", "auth.token.service != REGAUTH_TOKEN_SERVICE")
    if token.get("issuer") != authd_env.get("REGAUTH_TOKEN_ISSUER"):
        problem("compose/registry-config.yml", "auth.token.issuer != REGAUTH_TOKEN_ISSUER")
    if "--migrate=false" not in (services.get("registry-authd", {}).get("command") or []):
        problem("compose/compose.yaml", "registry-authd must run --migrate=false after migrate")

    # ---- Distribution examples ------------------------------------------------------------
    for path in glob.glob(f"{deploy}/distribution/*.yml"):
        doc = (load_all(path) or [{}])[0]
        token = (doc.get("auth") or {}).get("token") or {}
        for key in ("realm", "service", "issuer", "rootcertbundle"):
            if not token.get(key):
                problem(rel(path), f"auth.token.{key} missing")
    cm_env = configmaps.get("registry-authd-env", {})
    if cm_env.get("REGAUTH_TOKEN_ISSUER") != "registry-auth":
        problem("kubernetes/configmap.yaml", "REGAUTH_TOKEN_ISSUER differs from the "
                "issuer of deploy/distribution/config-2.x.yml")

    # ---- The kubelet's CredentialProviderConfig for regauth-credential-helper ---------------
    # A node file, not part of the kustomize set (so not under the object checks above).
    cpc_path = f"{k8s_dir}/kubelet/credential-provider-config.yaml"
    material.append(cpc_path)
    cpc = (load_all(cpc_path) or [{}])[0]
    if cpc.get("apiVersion") != "kubelet.config.k8s.io/v1" or \
            cpc.get("kind") != "CredentialProviderConfig":
        problem(rel(cpc_path), "must be a kubelet.config.k8s.io/v1 CredentialProviderConfig")
    providers = cpc.get("providers") or []
    if len(providers) != 1:
        problem(rel(cpc_path), "must configure exactly one provider")
    for provider in providers:
        if provider.get("name") != "regauth-credential-helper":
            problem(rel(cpc_path), "the provider's name must be the binary, regauth-credential-helper")
        if provider.get("apiVersion") != "credentialprovider.kubelet.k8s.io/v1":
            problem(rel(cpc_path), "provider apiVersion must be credentialprovider.kubelet.k8s.io/v1")
        if not provider.get("matchImages") or not provider.get("defaultCacheDuration"):
            problem(rel(cpc_path), "matchImages and defaultCacheDuration are required")
        args = provider.get("args") or []
        if not args or args[0] != "kubelet":
            problem(rel(cpc_path), "args must start with `kubelet` (the helper's mode)")

    # ---- No secret material anywhere -------------------------------------------------------
    for path in material:
        text = open(path).read()
        if re.search(r"BEGIN [A-Z ]*PRIVATE KEY", text):
            problem(rel(path), "holds a private key")
        if re.search(r"^\s*key \d+ [A-Za-z0-9+/]{40,}={0,2}\s*$", text, re.M):
            problem(rel(path), "holds key-ring material")

    for p in problems:
        print(f"FAIL {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
