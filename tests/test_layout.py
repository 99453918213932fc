"""chainer_vc's stages: imports run down them, never up and never in a circle.

The graph is read from the source (``ast``), so a lazy import inside a function counts too.
"""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / 'chainer_vc'
# Lowest first: a module may import its own stage and the stages before it.
STAGES = ('common', 'corpus', 'features', 'networks', 'conversion', 'judging', 'training')


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix('').parts)
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def imported_modules(path: Path, root: Path, modules: set) -> set:
    """The package's modules ``path`` imports (``from a import b`` counts ``a.b`` when that
    is a module, else ``a``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f'{path}: relative import; the graph reads absolute ones')
        if isinstance(node, ast.ImportFrom) and (node.module or '').split('.')[0] == root.name:
            for alias in node.names:
                full = f'{node.module}.{alias.name}'
                found.add(full if full in modules else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split('.')[0] == root.name}
    return found


def import_graph(root: Path = PACKAGE) -> dict:
    """``{module: {modules it imports}}`` over every module of the package at ``root``."""
    paths = {module_name(p, root): p for p in root.rglob('*.py')}
    modules = set(paths)
    return {name: imported_modules(path, root, modules) - {name}
            for name, path in paths.items()}


def find_cycle(graph: dict):
    """A list of modules that import each other in a circle, or None."""
    visiting, done = [], set()

    def visit(node):
        if node in visiting:
            return visiting[visiting.index(node):] + [node]
        if node in done:
            return None
        visiting.append(node)
        for successor in sorted(graph.get(node, ())):
            cycle = visit(successor)
            if cycle:
                return cycle
        visiting.pop()
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start)
        if cycle:
            return cycle
    return None


def stage(module: str):
    """The stage index of a module; None for the package itself (the public API, on top)."""
    parts = module.split('.')
    return None if len(parts) == 1 else STAGES.index(parts[1])


def upward_imports(graph: dict) -> list:
    """``(importer, imported)`` where a stage reaches a later one, or the public API."""
    wrong = []
    for importer, imported in sorted(graph.items()):
        if stage(importer) is None:
            continue
        for module in sorted(imported):
            if stage(module) is None or stage(module) > stage(importer):
                wrong.append((importer, module))
    return wrong


def test_every_module_is_in_a_stage_with_a_docstring():
    graph = import_graph()
    assert {m.split('.')[1] for m in graph if '.' in m} == set(STAGES)
    for name in STAGES:
        init = PACKAGE / name / '__init__.py'
        assert ast.get_docstring(ast.parse(init.read_text())), f'{init}: no docstring'


def test_the_package_has_no_import_cycle_and_no_upward_import():
    graph = import_graph()
    assert find_cycle(graph) is None, f'import cycle: {" -> ".join(find_cycle(graph))}'
    assert upward_imports(graph) == []


def write_package(root: Path, sources: dict) -> Path:
    for name, text in sources.items():
        path = root / 'chainer_vc' / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / 'chainer_vc'


def test_a_cycle_and_an_upward_import_are_found(tmp_path):
    package = write_package(tmp_path, {
        '__init__.py': '',
        'common/__init__.py': '',
        'common/a.py': 'from chainer_vc.features import b\n',
        'features/__init__.py': '',
        'features/b.py': 'def f():\n    from chainer_vc.common import a\n',
        'features/c.py': 'import chainer_vc.common.a\n',
    })
    graph = import_graph(package)
    assert graph['chainer_vc.features.c'] == {'chainer_vc.common.a'}
    assert find_cycle(graph) == ['chainer_vc.common.a', 'chainer_vc.features.b',
                                 'chainer_vc.common.a']
    assert upward_imports(graph) == [('chainer_vc.common.a', 'chainer_vc.features.b')]


def test_a_stage_importing_the_public_api_is_upward(tmp_path):
    package = write_package(tmp_path, {
        '__init__.py': 'from chainer_vc.common import a\n',
        'common/__init__.py': '',
        'common/a.py': 'import chainer_vc\n',
    })
    graph = import_graph(package)
    assert upward_imports(graph) == [('chainer_vc.common.a', 'chainer_vc')]
    assert find_cycle(graph) == ['chainer_vc', 'chainer_vc.common.a', 'chainer_vc']


def test_relative_imports_are_refused(tmp_path):
    package = write_package(tmp_path, {'__init__.py': '', 'common/a.py': 'from . import b\n'})
    with pytest.raises(AssertionError, match='relative import'):
        import_graph(package)
