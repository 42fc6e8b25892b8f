"""Record what a model computes inside a ``with`` block, without changing how it computes it.

The distillation detector runs the student's own MMDetection loss code unchanged and records the pieces
the distillation terms need (feature maps, head outputs, sampled targets), so that the baseline and the
distilled student share one code path.
"""
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional

from torch import nn

_ABSENT = object()


def get_submodule(model: nn.Module, path: str, owner: str = 'model') -> nn.Module:
    """Returns ``model``'s submodule at a dotted ``path`` (``''`` is the model itself).

    Args:
        model (nn.Module): The root module.
        path (str): Dotted module path, e.g. ``'backbone.features.28'``.
        owner (str): Name used in the error message (``'student'``, ``'teacher'``). Defaults to 'model'.

    Raises:
        KeyError: Naming the path, the first missing component and the children that do exist there.
    """
    module = model
    walked = []
    for name in filter(None, path.split('.')):
        children = dict(module.named_children())
        if name not in children:
            where = '.'.join(walked) or '<root>'
            raise KeyError(f'{owner} has no module {path!r}: {where!r} has no child {name!r} '
                           f'(children: {sorted(children) or "none"})')
        module = children[name]
        walked.append(name)
    return module


class ModuleOutputRecorder:
    """Records the outputs of named submodules with forward hooks, only inside a ``with`` block.

    Args:
        model (nn.Module): The root module.
        paths (Iterable[str]): Dotted paths of the submodules to record.
        owner (str): Name used in error messages. Defaults to 'model'.

    Example:
        >>> with ModuleOutputRecorder(model, ['backbone.layer3']) as rec:
        ...     model.extract_feat(x)
        >>> rec.outputs['backbone.layer3']
    """

    def __init__(self, model: nn.Module, paths: Iterable[str], owner: str = 'model') -> None:
        self.modules = {path: get_submodule(model, path, owner) for path in paths}
        self.outputs: Dict[str, Any] = {}
        self._handles: List[Any] = []

    def __enter__(self) -> 'ModuleOutputRecorder':
        self.outputs = {}
        for path, module in self.modules.items():
            self._handles.append(module.register_forward_hook(self._make_hook(path)))
        return self

    def _make_hook(self, path: str) -> Callable:

        def hook(module: nn.Module, inputs: Any, output: Any) -> None:
            self.outputs[path] = output

        return hook

    def __exit__(self, *exc_info: Any) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []


@contextmanager
def shadowed_method(obj: Any, name: str, make_wrapper: Callable[[Callable], Callable]) -> Iterator[None]:
    """Within the ``with`` block, ``obj.<name>`` is ``make_wrapper(<the method as it was>)``.

    The wrapper is set on the instance (the class is untouched) and what the instance held before is restored
    on exit, also after an error: nested shadows of the same method unwind in order.

    Raises:
        AttributeError: If ``obj`` has no method ``name``.
    """
    original = getattr(obj, name, None)
    if not callable(original):
        raise AttributeError(f'{type(obj).__name__} has no method {name!r} to wrap')
    shadowed = vars(obj).get(name, _ABSENT)
    # object.__setattr__: an nn.Module's own __setattr__ would refuse or register a module-typed value
    object.__setattr__(obj, name, make_wrapper(original))
    try:
        yield
    finally:
        if shadowed is _ABSENT:
            object.__delattr__(obj, name)
        else:
            object.__setattr__(obj, name, shadowed)


class MethodCallRecorder:
    """Records the arguments and the return value of an object's method, only inside a ``with`` block.

    The method is wrapped on the instance (:func:`shadowed_method`) and restored on exit. Only the last
    call is kept.

    Args:
        obj (Any): The object whose method is recorded.
        name (str): The method name.
    """

    def __init__(self, obj: Any, name: str) -> None:
        if not callable(getattr(obj, name, None)):
            raise AttributeError(f'{type(obj).__name__} has no method {name!r} to record')
        self.obj = obj
        self.name = name
        self.args: tuple = ()
        self.kwargs: dict = {}
        self.result: Optional[Any] = None
        self.called = False

    def _recording(self, original: Callable) -> Callable:

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            self.args, self.kwargs, self.result, self.called = args, kwargs, result, True
            return result

        return wrapper

    def __enter__(self) -> 'MethodCallRecorder':
        self.called = False
        self._shadow = shadowed_method(self.obj, self.name, self._recording)
        self._shadow.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._shadow.__exit__(*exc_info)
