"""The registry, read through the engine and parsed by the project's own validated loader.

src/prism_accept/registry.py is the only parser of registry files: the plugin calls its pure
`parse_declaration` on file contents the engine read (so Pants knows which files a result
depends on), and an invalid file fails with the loader's message, naming file, field and fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pants.base.glob_match_error_behavior import GlobMatchErrorBehavior
from pants.engine.fs import DigestContents, PathGlobs
from pants.engine.rules import Get, MultiGet, collect_rules, rule

from prism_accept.catalog import Interface, parse_catalog
from prism_accept.registry import BackendDeclaration, RegistryError, parse_declaration
from prism_cells.layout import CATALOG, REGISTRY_DIR


class InvalidRegistryFile(Exception):
    """A registry file the loader rejects; the message is the loader's (file, field, fix)."""


@dataclass(frozen=True)
class Catalog:
    interfaces: tuple[Interface, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(i.name for i in self.interfaces)

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(i.model for i in self.interfaces))

    def model_of(self, interface: str) -> str:
        return next(i.model for i in self.interfaces if i.name == interface)


@dataclass(frozen=True)
class CatalogRequest:
    pass


@dataclass(frozen=True)
class BackendName:
    name: str


@dataclass(frozen=True)
class RegistryEntry:
    """One validated backend declaration; compared by its source text, since the declaration's
    dict fields make it unhashable."""

    path: str
    text: str
    declaration: BackendDeclaration = field(compare=False, hash=False)


@rule
async def read_catalog(_: CatalogRequest) -> Catalog:
    contents = await Get(
        DigestContents,
        PathGlobs(
            [CATALOG],
            glob_match_error_behavior=GlobMatchErrorBehavior.error,
            description_of_origin="the compliance cells (prism_cells plugin)",
        ),
    )
    return Catalog(parse_catalog(contents[0].content.decode()))


@rule
async def read_registry_entry(backend: BackendName) -> RegistryEntry:
    path = f"{REGISTRY_DIR}/{backend.name}.yaml"
    catalog, contents = await MultiGet(
        Get(Catalog, CatalogRequest()),
        Get(
            DigestContents,
            PathGlobs(
                [path],
                glob_match_error_behavior=GlobMatchErrorBehavior.error,
                description_of_origin=f"the compliance cells of backend {backend.name!r}",
            ),
        ),
    )
    text = contents[0].content.decode()
    try:
        declaration = parse_declaration(text, path, catalog.names)
    except RegistryError as e:
        raise InvalidRegistryFile(f"{e}\n(run `./pants test tests/registry::` after fixing it)") from None
    return RegistryEntry(path, text, declaration)


def rules():
    return collect_rules()
