"""The throwaway script people write instead of a cache: list every Deployment, print the ones
that run IMAGE. The baseline for `myctl select`/`myctl check` whole-process figures.

    .venv/bin/python -m bench.live_scan_script KUBECONFIG IMAGE
"""

from __future__ import annotations

import sys

from kubernetes import client, config


def main(kubeconfig: str, image: str) -> int:
    config.load_kube_config(config_file=kubeconfig)
    apps = client.AppsV1Api()
    token = None
    found = 0
    while True:
        page = apps.list_deployment_for_all_namespaces(limit=500, _continue=token)
        for item in page.items:
            if any(c.image == image for c in item.spec.template.spec.containers):
                print(f"{item.metadata.namespace}/{item.metadata.name}")
                found += 1
        token = page.metadata._continue
        if not token:
            return 0 if found else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
