"""Import the parts of the official client myctl uses, without its ~720 model modules.

`import kubernetes` (or any `kubernetes.client.…` submodule) runs the packages' `__init__`,
which imports every generated API class and model: ~0.45 s of a CLI process that then sends
one GET. myctl sends and reads plain JSON through `ApiClient.call_api`, so it needs only
`configuration`, `api_client`, `rest`, `exceptions` and `kubernetes.config`.

`load()` registers the three packages (`kubernetes`, `kubernetes.client`,
`kubernetes.client.models`) as lazy modules whose submodules import normally; the first access
to any other attribute (`client.CoreV1Api`, `models.V1Pod`, as tests and other libraries do)
runs the real `__init__` then, so nothing that expects the full client breaks. When
`kubernetes` is already imported, `load()` changes nothing.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
import threading
import types
from pathlib import Path
from typing import Any

_PACKAGES = ("kubernetes", "kubernetes.client", "kubernetes.client.models")
_lock = threading.RLock()
_CLASSES = {
    "Configuration": "kubernetes.client.configuration",
    "ApiClient": "kubernetes.client.api_client",
}


class _LazyPackage(types.ModuleType):
    """A package whose `__init__` runs on the first access to a name it would define."""

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        if self.__name__ == "kubernetes.client" and attr in _CLASSES:
            # kubernetes.config does `from kubernetes.client import ApiClient, Configuration`;
            # resolved on use, so importing `exceptions` alone stays cheap (kube/direct.py).
            value = getattr(importlib.import_module(_CLASSES[attr]), attr)
            self.__dict__[attr] = value
            return value
        here = Path(self.__path__[0])
        if _exists(here / attr) or _exists(here / attr / "__init__"):
            return importlib.import_module(f"{self.__name__}.{attr}")
        with _lock:
            namespace = self.__dict__
            if not namespace.get("_lean_complete"):
                namespace["_lean_complete"] = True
                exec(_code(self.__name__, here / "__init__"), namespace)  # the package's own code
                return getattr(self, attr)
        raise AttributeError(f"module {self.__name__!r} has no attribute {attr!r}")


def _exists(stem: Path) -> bool:
    # Source or, as in the image (Dockerfile: bytecode only for this package), sourceless .pyc.
    return stem.with_suffix(".py").exists() or stem.with_suffix(".pyc").exists()


def _code(name: str, stem: Path) -> types.CodeType:
    source = stem.with_suffix(".py")
    if source.exists():
        return compile(source.read_text(), str(source), "exec")
    loader = importlib.machinery.SourcelessFileLoader(name, str(stem.with_suffix(".pyc")))
    code = loader.get_code(name)
    if code is None:
        raise ImportError(f"no code for {name} in {stem}")
    return code


def load() -> None:
    with _lock:
        if "kubernetes" in sys.modules:
            return
        spec = importlib.util.find_spec("kubernetes")
        if spec is None or spec.origin is None:
            return  # not installed: the import that follows raises the usual error
        root = Path(spec.origin).parent
        for name in _PACKAGES:
            path = root.joinpath(*name.split(".")[1:])
            module = _LazyPackage(name)
            module.__path__ = [str(path)]
            module.__file__ = str(path / "__init__.py")
            module.__package__ = name
            module.__spec__ = importlib.machinery.ModuleSpec(
                name, None, origin=module.__file__, is_package=True
            )
            module.__spec__.submodule_search_locations = [str(path)]
            sys.modules[name] = module
            parent, _, child = name.rpartition(".")
            if parent:
                setattr(sys.modules[parent], child, module)
